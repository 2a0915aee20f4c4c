"""The JSON API of the attempt page (and of any other client), described at /api/v1/openapi.json.

Session cookie authentication; every state change carries the CSRF token in
the ``X-CSRFToken`` header (CSRFProtect checks it). Errors are
``{"error": message}`` in Vietnamese: 401 not logged in, 403 refused,
404 unknown (another member's attempt is unknown too), 409 the attempt is
over, 422 malformed input.
"""

import datetime as dt

import peewee as pw
from flask import Blueprint, current_app, g, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError

from ..accounts import permissions
from ..accounts.models import RoleGrant, Unit, User, utcnow, with_grants
from ..db import Prepared, is_sqlite
from ..errors import Conflict, DomainError, NotFound
from ..extensions import limiter, read_user_with, start_limit, user_or_address
from . import autosave, engine, review, scoring
from .models import Attempt, AttemptQuestion, Quiz
from .openapi import openapi_document

quiz_api = Blueprint("quiz_api", __name__, url_prefix="/api/v1")

MAX_TEXT_ANSWER = engine.MAX_TEXT_ANSWER


class ApiError(Exception):
    def __init__(self, message, status):
        super().__init__(message)
        self.message = message
        self.status = status


def iso(value):
    """A stored naive UTC time as ISO 8601 with a Z."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value.isoformat(timespec="milliseconds") + "Z"


def jsonable(value):
    """Times as ISO strings, everything else as it is (recursively)."""
    if isinstance(value, dt.datetime):
        return iso(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def _error(message, status):
    response = jsonify(error=str(message))
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Cookie realm="portal"'
    return response


@quiz_api.before_request
def _logged_in():
    # The description hides nothing: it is readable without logging in.
    if request.endpoint != "quiz_api.openapi" and not current_user.is_authenticated:
        return _error(_("Please log in to continue."), 401)
    return None


@quiz_api.errorhandler(ApiError)
def _api_error(exc):
    return _error(exc.message, exc.status)


@quiz_api.errorhandler(CSRFError)
def _csrf_error(exc):
    return _error(_("Your session has expired. Reload the page and try again."), 403)


def _user():
    return current_user._get_current_object()


quiz_by_id = Prepared(lambda mark: Quiz.select().where(Quiz.id == mark))  # the round page and every start
# Every save and submit: the attempt with its quiz (every endpoint reads it) in one statement.
attempt_by_id = Prepared(lambda mark: Attempt.select(Attempt, Quiz).join(Quiz).where(Attempt.id == mark))


def _attempt(attempt_id, found=None):
    """The current member's attempt (``found``: as read already); anybody else's is as unknown as a missing one."""
    attempt = found or member_attempt(attempt_id)[0] or attempt_by_id.first(attempt_id)
    if attempt is None or not permissions.can(_user(), "attempt.own", attempt):
        raise ApiError(_("Not found."), 404)
    return attempt


# An autosave's first statement: the member (whose session the user loader checks) and the attempt with its
# quiz; on PostgreSQL also the attempt's drawn questions, as one JSON value. Each round trip to PostgreSQL
# costs the app and the server more than the rows it brings back, and autosaves are most of a contest's
# requests. (SQLite runs in the process: its separate read of the questions costs less than JSON.) The other
# requests about one attempt (its page, reading it, submitting it, its result) read the member and the attempt.
def _member_and_attempt_query(user_id, attempt_id, questions=False):
    query = (User.select(User, Attempt, Quiz)
             .join(Attempt, pw.JOIN.LEFT_OUTER, on=(Attempt.id == attempt_id))
             .join(Quiz, pw.JOIN.LEFT_OUTER, on=(Quiz.id == Attempt.quiz))
             .where(User.id == user_id))
    if not questions:  # a page (its menu asks for the member's grants): a row per grant
        return (query.select_extend(RoleGrant, Unit).switch(User)
                .join(RoleGrant, pw.JOIN.LEFT_OUTER, on=(RoleGrant.user == User.id))
                .join(Unit, pw.JOIN.LEFT_OUTER, on=(Unit.id == RoleGrant.unit)))
    if is_sqlite():
        return query
    questions = (AttemptQuestion.select(pw.fn.json_agg(pw.fn.json_build_array(*scoring.ROW_FIELDS))
                                        .order_by(AttemptQuestion.position))
                 .where(AttemptQuestion.attempt == Attempt.id))
    return query.select_extend(questions)


_MEMBER_AND_ATTEMPT = Prepared(_member_and_attempt_query)
_MEMBER_AND_ATTEMPT_QUESTIONS = Prepared(lambda user_id, attempt_id: _member_and_attempt_query(
    user_id, attempt_id, questions=True))


def _read_member_and_attempt(user_id, view_args, _session_token=None, questions=False):
    """The user; the attempt named in the URL (with its quiz, and with ``questions`` its drawn questions on
    PostgreSQL, else None) kept in ``g.member_attempt`` for the view, which checks it is the member's."""
    statement = _MEMBER_AND_ATTEMPT_QUESTIONS if questions else _MEMBER_AND_ATTEMPT
    rows = statement.tuples(user_id, view_args.get("attempt_id", 0))
    if not rows:
        return None
    row = rows[0]
    user, attempt = statement.part(row, 0), statement.part(row, 1)
    if not questions:
        with_grants(user, rows, statement, 3)
    if attempt is not None:
        attempt.__rel__["quiz"] = statement.part(row, 2)
        read = None
        if questions and not is_sqlite():
            read = [scoring.Row(i, position, question, order, answer, text, None if mark is None else float(mark))
                    for i, position, question, order, answer, text, mark in row[-1] or ()]
        g.member_attempt = (attempt, read)
    return user


@read_user_with("quiz_api.save_answers")
def _read_for_save(user_id, view_args, session_token):
    """An autosave: on PostgreSQL first tried in one statement (``autosave``: the session checked, the answers
    stored), its outcome kept in ``g.autosaved`` for the view; else, or when it stored nothing, the member and
    the attempt with its rows, for the usual save to say why."""
    body = None if is_sqlite() else request.get_json(silent=True)
    if isinstance(body, dict):
        try:
            seq, answers = parse_answers(body)
            prediction = parse_prediction(body)
        except ApiError:  # the view refuses it, naming the field
            seq = None
        if seq is not None:
            now = utcnow()
            attempt_id = view_args.get("attempt_id", 0)
            stored = autosave.save(user_id, session_token, attempt_id, seq, answers, prediction, now)
            if stored is not None:
                user, saved = stored
                g.autosaved = (attempt_id, saved, now)
                return user
    return _read_member_and_attempt(user_id, view_args, questions=True)


for _endpoint in ("quiz_api.get_attempt", "quiz_api.submit_attempt", "quiz.attempt", "quiz.submit", "quiz.result"):
    read_user_with(_endpoint)(_read_member_and_attempt)


def member_attempt(attempt_id):
    """(attempt, its questions or None) as the user loader read them for this request, if it did."""
    found = g.pop("member_attempt", None)
    return found if found is not None and found[0].id == attempt_id else (None, None)


def _attempt_and_rows(attempt_id):
    """The current member's attempt and its drawn questions (``scoring.rows``) as read with the member when the
    session was checked; otherwise the attempt as ``_attempt`` reads it. The questions are None when not read."""
    attempt, rows = member_attempt(attempt_id)
    return _attempt(attempt_id, attempt), rows


def _domain_status(exc, default):
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, Conflict):
        return 409
    return default


def _json_default(value):
    if isinstance(value, (dt.datetime, dt.date)):
        return jsonable(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def _json(body, status=200):
    """A JSON response with times as ISO strings, converted as the encoder meets them (an attempt's view is
    large: walking it first would cost more than encoding it)."""
    text = current_app.json.dumps(body, default=_json_default)
    return current_app.response_class(f"{text}\n", status=status, mimetype="application/json")


def _view(attempt, now, status=200):
    body = review.attempt_view(attempt, now, _user())
    body["server_now"] = iso(now)
    return _json(body, status)


def _json_body():
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(_("Send a JSON object."), 422)
    return body


def parse_prediction(body):
    """The prediction a save or submit carries: a number, a string as typed, None to clear; NOT_SENT if absent."""
    if "prediction" not in body:
        return engine.NOT_SENT
    value = body["prediction"]
    if value is None or isinstance(value, int) and not isinstance(value, bool) or \
            isinstance(value, str) and len(value) <= 32:
        return value
    raise ApiError(_("Prediction: enter a whole number, for example 1250."), 422)


def parse_answers(body):
    """Check the shape of a save request: ``{"seq": int, "answers": {position: [option id…] | text}}``."""
    seq = body.get("seq")
    if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq < 2**31:
        raise ApiError(_("seq: a whole number from 0 is required."), 422)
    answers = body.get("answers")
    if not isinstance(answers, dict):
        raise ApiError(_("answers: an object mapping question numbers to answers is required."), 422)
    clean = {}
    for key, value in answers.items():
        if not (str(key).isascii() and str(key).isdigit()) or int(key) < 1:
            raise ApiError(_("answers: %(key)s is not a question number.", key=str(key)[:20]), 422)
        position = int(key)
        if isinstance(value, str) and len(value) <= 2 * MAX_TEXT_ANSWER:  # the engine counts after NFC
            clean[position] = value
        elif isinstance(value, list) and all(isinstance(v, str) for v in value) and len(value) <= 16:
            clean[position] = list(value)
        else:
            raise ApiError(_("Question %(n)s: the answer must be a list of option ids or a short text.",
                             n=position), 422)
    return seq, clean


@quiz_api.route("/quizzes/<int:quiz_id>/attempts", methods=["POST"])
@limiter.limit(start_limit, key_func=user_or_address)
def start_attempt(quiz_id):
    """Start an attempt, or resume the one in progress."""
    user = _user()
    quiz = quiz_by_id.first(quiz_id)
    if quiz is None or not quiz.is_published:
        raise ApiError(_("Not found."), 404)
    if not permissions.can(user, "quiz.take", quiz):
        raise ApiError(_("This quiz is not open to your unit."), 403)
    now = utcnow()
    try:
        attempt = engine.start_attempt(quiz, user, now)
    except DomainError as exc:
        raise ApiError(str(exc), _domain_status(exc, 409)) from exc
    attempt.quiz = quiz
    started = attempt.started_at == now  # else the attempt in progress, resumed
    response = _view(attempt, now, 201 if started else 200)
    response.headers["Location"] = f"{quiz_api.url_prefix}/attempts/{attempt.id}"
    return response


@quiz_api.route("/attempts/<int:attempt_id>", methods=["GET"])
def get_attempt(attempt_id):
    """The attempt as the member may see it now."""
    attempt = _attempt(attempt_id)
    return _view(attempt, utcnow())


@quiz_api.route("/attempts/<int:attempt_id>/answers", methods=["PUT", "POST"])
def save_answers(attempt_id):
    """Save answers; a request whose seq is not above the last one applied changes nothing."""
    _user()  # the session checked (on PostgreSQL, maybe the save made with it)
    autosaved = g.pop("autosaved", None)
    if autosaved is not None and autosaved[0] == attempt_id:
        _attempt_id, saved, now = autosaved
        return jsonify({"applied": True, "seq": saved.seq, "prediction": saved.prediction,
                        "deadline_at": iso(saved.deadline_at), "server_now": iso(now)})
    attempt, rows = _attempt_and_rows(attempt_id)
    body = _json_body()
    seq, answers = parse_answers(body)
    now = utcnow()
    try:
        saved = engine.save_answers(attempt, _user(), answers, seq, now, prediction=parse_prediction(body),
                                    saved=rows)
    except DomainError as exc:
        raise ApiError(str(exc), _domain_status(exc, 422)) from exc
    reply = {"applied": saved.applied, "seq": saved.seq, "prediction": attempt.prediction,
             "deadline_at": iso(attempt.deadline_at), "server_now": iso(now)}
    if not saved.applied:  # another tab or device went first: what is stored now (lists or text)
        reply["answers"] = {str(position): answer for position, answer in saved.answers.items()}
    return jsonify(reply)


@quiz_api.route("/attempts/<int:attempt_id>/submit", methods=["POST"])
def submit_attempt(attempt_id):
    """Submit; submitting again returns the same result."""
    attempt = _attempt(attempt_id)
    prediction = parse_prediction(_json_body()) if request.get_data() else engine.NOT_SENT
    now = utcnow()
    try:
        engine.submit_attempt(attempt, _user(), now, prediction=prediction)
    except DomainError as exc:  # the prediction, checked against the quiz's prompt
        raise ApiError(str(exc), _domain_status(exc, 422)) from exc
    if attempt.user_id is None:
        return jsonify(_anonymous_view(attempt, now))
    return _view(attempt, now)  # as stored: the submit set what it wrote on it, or read it again


def _anonymous_view(attempt, now):
    """An anonymous survey's response is no longer linked to anyone, so it shows nothing of the answers."""
    quiz = attempt.quiz
    return {"id": attempt.id, "quiz_id": quiz.id, "title": quiz.title, "kind": "survey", "anonymous": True,
            "number": attempt.number, "state": "finished", "started_at": None, "deadline_at": None,
            "finished_at": None, "seq": 0, "review": None, "score": None, "max_score": None,
            "questions": [], "answers": {}, "unanswered": [], "server_now": iso(now)}


@quiz_api.route("/attempts/<int:attempt_id>/questions/<int:position>/check", methods=["POST"])
def check_answer(attempt_id, position):
    """Practice quizzes: is the saved answer to this question right, and why?"""
    attempt = _attempt(attempt_id)
    if not attempt.quiz.is_practice:
        raise ApiError(_("Answers are checked one by one only in practice quizzes."), 403)
    try:
        result = engine.check_answer(attempt, position, utcnow())
    except DomainError as exc:
        raise ApiError(str(exc), _domain_status(exc, 422)) from exc
    return jsonify(jsonable(result))


@quiz_api.route("/openapi.json", methods=["GET"])
def openapi():
    """The description of this API (OpenAPI 3.1)."""
    return jsonify(openapi_document())

