"""The hand-written OpenAPI 3.1 description of the quiz API (portal/quiz/api.py), served at /api/v1/openapi.json."""

import copy

_TIME = {"type": "string", "format": "date-time", "description": "UTC, ISO 8601 with Z"}
_NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time", "description": "UTC, ISO 8601 with Z"}
_ANSWER = {
    "description": "The chosen option ids (choice questions) or the text (free-text survey questions).",
    "oneOf": [{"type": "array", "items": {"type": "string"}}, {"type": "string"}],
}


def _error_response(description, headers=None):
    response = {"description": description,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    if headers:
        response["headers"] = headers
    return response


def _json(schema_name, description, headers=None):
    response = {"description": description,
                "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_name}"}}}}
    if headers:
        response["headers"] = headers
    return response


def _not_logged_in():
    return _error_response("Not logged in", {"WWW-Authenticate": {
        "description": "How to authenticate: the session cookie", "required": True,
        "schema": {"type": "string", "const": 'Cookie realm="portal"'}}})


_PREDICTION_IN = {
    "type": ["integer", "string", "null"],
    "description": "The answer to the quiz's prediction prompt (a contest's tie-break): a whole number from 0 "
                   "to 1,000,000,000, as a number or as typed (\"1.250\"); null clears it. Ignored when the "
                   "quiz asks no prediction.",
}

# Ids and question places are 32-bit in the database: a larger number in a URL names nothing (404).
_ID = {"type": "integer", "minimum": 1, "maximum": 2147483647}
_ATTEMPT_ID = {"name": "attempt_id", "in": "path", "required": True, "schema": _ID}
_CSRF = {"name": "X-CSRFToken", "in": "header", "required": True, "schema": {"type": "string"},
         "description": "The CSRF token of the session (the page has it in <meta name=\"csrf-token\">)."}
_CSRF_REFUSED = "The CSRF token is missing or not this session's"
_UNREADABLE = "A query argument or form field holds U+0000, which can be neither stored nor looked up"
_LOCATION = {"Location": {"description": "The attempt's URL", "required": True,
                          "schema": {"type": "string", "pattern": "^/api/v1/attempts/[1-9][0-9]*$"}}}

SCHEMAS = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {"error": {"type": "string", "description": "What went wrong, in Vietnamese"}},
    },
    "Answers": {
        "type": "object",
        "description": "Answers by question position (\"1\", \"2\"…).",
        "propertyNames": {"pattern": "^[1-9][0-9]*$"},
        "additionalProperties": _ANSWER,
    },
    "SaveRequest": {
        "type": "object",
        "required": ["seq", "answers"],
        "properties": {
            "seq": {"type": "integer", "minimum": 0, "maximum": 2147483647,
                    "description": "Increases with every save; a save whose seq is not above the last "
                                   "one applied changes nothing (a stale tab or a replayed request)."},
            "answers": {"$ref": "#/components/schemas/Answers",
                        "description": "The answers to store: those changed since the last save the server "
                                       "took are enough (a question left out keeps its stored answer)."},
            "prediction": _PREDICTION_IN,
        },
    },
    "SubmitRequest": {
        "type": "object",
        "description": "Optional: the answer to the quiz's prediction prompt, sent with the submission.",
        "properties": {"prediction": _PREDICTION_IN},
    },
    "SaveResult": {
        "type": "object",
        "required": ["applied", "seq", "deadline_at", "server_now"],
        "properties": {
            "applied": {"type": "boolean", "description": "False when the seq was stale: answers are the newer ones"},
            "seq": {"type": "integer", "description": "The last seq applied"},
            "answers": {"$ref": "#/components/schemas/Answers",
                        "description": "Only when the save was not applied: every answer stored now, from "
                                       "the tab or device that saved after this one"},
            "prediction": {"type": ["integer", "null"], "description": "The prediction now stored"},
            "deadline_at": _NULLABLE_TIME,
            "server_now": _TIME,
        },
    },
}

_OUTCOME = {"type": ["string", "null"], "enum": ["right", "partial", "wrong", None]}

_ATTEMPT_SCHEMAS = {
    "Option": {
        "type": "object",
        "description": "An option, named by its place in this attempt's order: the id reveals neither the "
                       "author's order nor correctness. correct, weight and feedback appear only when the "
                       "review policy shows the right answers.",
        "required": ["id", "text", "chosen"],
        "additionalProperties": False,
        "properties": {
            "id": {"type": "string"},
            "text": {"type": "string"},
            "chosen": {"type": "boolean"},
            "correct": {"type": "boolean"},
            "weight": {"type": "integer", "description": "Percent of the mark the option earns"},
            "feedback": {"type": "string"},
        },
    },
    "Question": {
        "type": "object",
        "description": "A question of the attempt. mark, outcome and correct appear when the review policy "
                       "shows which answers were right; explanation when it shows the right answers.",
        "required": ["position", "kind", "text", "multiple", "options", "answer", "answered"],
        "additionalProperties": False,
        "properties": {
            "position": {"type": "integer", "minimum": 1},
            "kind": {"type": "string",
                     "enum": ["single", "multiple", "truefalse", "survey_single", "survey_multiple", "text"]},
            "text": {"type": "string"},
            "multiple": {"type": "boolean", "description": "More than one option may be chosen"},
            "options": {"type": "array", "items": {"$ref": "#/components/schemas/Option"}},
            "answer": _ANSWER,
            "answered": {"type": "boolean"},
            "mark": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
            "outcome": _OUTCOME,
            "correct": {"type": "boolean"},
            "explanation": {"type": "string"},
            "checked": {"$ref": "#/components/schemas/CheckResult",
                        "description": "Practice: the question was checked, so its answer is locked"},
        },
    },
    "Attempt": {
        "type": "object",
        "description": "An attempt as its member may see it now. While it is in progress it carries no "
                       "marks, right answers, weights or explanations.",
        "required": ["id", "quiz_id", "title", "kind", "anonymous", "number", "state", "started_at",
                     "deadline_at", "finished_at", "seq", "review", "score", "max_score", "questions",
                     "answers", "unanswered", "server_now"],
        "additionalProperties": False,
        "properties": {
            "id": {"type": "integer"},
            "quiz_id": {"type": "integer"},
            "title": {"type": "string"},
            "kind": {"type": "string", "enum": ["exam", "practice", "survey"]},
            "anonymous": {"type": "boolean", "description": "An anonymous survey: no account is linked to "
                                                            "the answers once sent"},
            "number": {"type": "integer", "minimum": 1, "description": "1 for the member's first attempt"},
            "state": {"type": "string", "enum": ["in_progress", "finished"]},
            "started_at": _NULLABLE_TIME,
            "deadline_at": {**_NULLABLE_TIME, "description": "min(start + time limit, quiz close); "
                                                             "null: no limit"},
            "finished_at": _NULLABLE_TIME,
            "seq": {"type": "integer", "description": "The last save sequence applied"},
            "review": {"type": ["string", "null"], "enum": ["score", "correctness", "answers", None],
                       "description": "What the review policy shows now; null while in progress"},
            "score": {"type": ["number", "null"]},
            "max_score": {"type": ["number", "null"]},
            "questions": {"type": "array", "items": {"$ref": "#/components/schemas/Question"}},
            "answers": {"$ref": "#/components/schemas/Answers"},
            "unanswered": {"type": "array", "items": {"type": "integer"}},
            "prediction_prompt": {"type": ["string", "null"],
                                  "description": "A whole number asked when submitting (a contest's tie-break)"},
            "prediction": {"type": ["integer", "null"], "description": "The member's answer to it so far"},
            "server_now": _TIME,
        },
    },
    "CheckResult": {
        "type": "object",
        "description": "A checked practice question; from then on its answer is locked.",
        "required": ["position", "mark", "outcome", "correct", "correct_options", "feedback", "explanation"],
        "additionalProperties": False,
        "properties": {
            "position": {"type": "integer"},
            "mark": {"type": "number", "minimum": 0, "maximum": 1},
            "outcome": _OUTCOME,
            "correct": {"type": "boolean"},
            "correct_options": {"type": "array", "items": {"type": "string"}},
            "feedback": {"type": "object", "additionalProperties": {"type": "string"},
                         "description": "Feedback of the chosen options, by option id"},
            "explanation": {"type": "string"},
        },
    },
}


def openapi_document():
    """The description as a fresh dict."""
    paths = {
        "/quizzes/{quiz_id}/attempts": {
            "post": {
                "operationId": "startAttempt",
                "summary": "Start an attempt at a quiz, or resume the one in progress",
                "parameters": [{"name": "quiz_id", "in": "path", "required": True, "schema": _ID}, _CSRF],
                "responses": {
                    "200": _json("Attempt", "The attempt in progress, resumed", _LOCATION),
                    "201": _json("Attempt", "A new attempt", _LOCATION),
                    "400": _error_response(_UNREADABLE),
                    "401": _not_logged_in(),
                    "403": _error_response("The quiz is not for the member's unit, or the CSRF token is missing "
                                           "or not this session's"),
                    "404": _error_response("No such quiz (or not published)"),
                    "409": _error_response("The quiz is closed or no attempts are left"),
                    "429": _error_response("Too many starts in a minute (RATELIMIT_QUIZ_START)"),
                },
            },
        },
        "/attempts/{attempt_id}": {
            "get": {
                "operationId": "getAttempt",
                "summary": "Read an attempt: questions in its order, answers, deadline; "
                           "marks and right answers only when the review policy allows",
                "parameters": [_ATTEMPT_ID],
                "responses": {
                    "200": _json("Attempt", "The attempt"),
                    "400": _error_response(_UNREADABLE),
                    "401": _not_logged_in(),
                    "404": _error_response("No such attempt of this member"),
                },
            },
        },
        "/attempts/{attempt_id}/answers": {
            op: {
                "operationId": "saveAnswers" if op == "put" else "saveAnswersPost",
                "summary": "Save answers (idempotent by seq)",
                "parameters": [_ATTEMPT_ID, _CSRF],
                "requestBody": {"required": True, "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/SaveRequest"}}}},
                "responses": {
                    "200": _json("SaveResult", "Saved, or ignored as stale"),
                    "400": _error_response(_UNREADABLE),
                    "401": _not_logged_in(),
                    "403": _error_response(_CSRF_REFUSED),
                    "404": _error_response("No such attempt of this member"),
                    "409": _error_response("The attempt is submitted or its time is up"),
                    "422": _error_response("Malformed request, or an answer that does not fit its question"),
                },
            } for op in ("put", "post")
        },
        "/attempts/{attempt_id}/submit": {
            "post": {
                "operationId": "submitAttempt",
                "summary": "Submit the attempt; submitting again returns the same result",
                "parameters": [_ATTEMPT_ID, _CSRF],
                "requestBody": {"required": False, "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/SubmitRequest"}}}},
                "responses": {
                    "200": _json("Attempt", "The finished attempt, as the review policy shows it (an anonymous "
                                            "survey's answers are no longer linked to the member: none are shown)"),
                    "400": _error_response(_UNREADABLE),
                    "401": _not_logged_in(),
                    "403": _error_response(_CSRF_REFUSED),
                    "404": _error_response("No such attempt of this member"),
                    "422": _error_response("The body is not a JSON object, or the prediction is not a whole number "
                                           "from 0 to 1,000,000,000"),
                },
            },
        },
        "/attempts/{attempt_id}/questions/{position}/check": {
            "post": {
                "operationId": "checkAnswer",
                "summary": "Practice quizzes: check the saved answer to one question",
                "parameters": [_ATTEMPT_ID, {"name": "position", "in": "path", "required": True, "schema": _ID},
                               _CSRF],
                "responses": {
                    "200": _json("CheckResult", "Whether the saved answer is right, with the explanation"),
                    "400": _error_response(_UNREADABLE),
                    "401": _not_logged_in(),
                    "403": _error_response("Not a practice quiz, or the CSRF token is missing or not "
                                           "this session's"),
                    "404": _error_response("No such attempt of this member, or no such question in it"),
                    "409": _error_response("The attempt is submitted or its time is up"),
                    "422": _error_response("The question has not been answered yet"),
                },
            },
        },
        "/openapi.json": {
            "get": {
                "operationId": "getOpenApi",
                "summary": "This description",
                "security": [],
                "responses": {"200": {"description": "OpenAPI 3.1 document",
                                      "content": {"application/json": {"schema": {"type": "object"}}}}},
            },
        },
    }
    return copy.deepcopy({
        "openapi": "3.1.0",
        "info": {
            "title": "Portal quiz API",
            "version": "1",
            "description": "Take quizzes: start or resume an attempt, read it, save answers, submit. "
                           "Authentication by the portal's session cookie; every POST or PUT carries the "
                           "session's CSRF token in the X-CSRFToken header. Errors are {\"error\": message} "
                           "in Vietnamese. Times are UTC. The server owns time: compare deadline_at with "
                           "server_now, not with the device's clock.",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"session": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"session": {"type": "apiKey", "in": "cookie", "name": "portal_session"}},
            "schemas": {**SCHEMAS, **_ATTEMPT_SCHEMAS},
        },
    })
