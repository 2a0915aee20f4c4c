"""The quiz JSON API over HTTP, checked against its own OpenAPI description."""

import datetime as dt
import itertools
import re

import pytest

from portal.accounts.models import User, utcnow
from portal.quiz.models import Attempt, AttemptQuestion, Option, Question, Quiz, QuizAudience, QuizQuestion, Topic
from portal.quiz.openapi import openapi_document
from tests.conftest import PASSWORD

_n = itertools.count(1)
SECRETS = ("Giải thích", "weight", "correct", "mark", "outcome", "explanation")


# Factories -----------------------------------------------------------------------------------

def make_quiz(unit, questions=3, kind="single", title="Kiểm tra chuyên đề năm 2026", **fields):
    """A published quiz of ``questions`` questions in a fixed order; option "Đúng …" is right."""
    n = next(_n)
    topic = Topic.create(code=f"CD{n}", title="Học tập và làm theo tư tưởng Hồ Chí Minh", owner_unit=unit)
    values = {"title": title, "owner_unit": unit, "is_published": True, "shuffle_questions": False,
              "shuffle_options": False, "attempts_allowed": 2, "review_after_submit": "answers"}
    values.update(fields)
    quiz = Quiz.create(**values)
    for i in range(1, questions + 1):
        text = f"Câu hỏi số {i} của chuyên đề {n}?"
        q = Question.create(topic=topic, kind="text" if kind == "text" else kind, text=text,
                            normalised_text=text.casefold(), explanation=f"Giải thích cho câu {i}.")
        if kind != "text":
            Option.create(question=q, position=1, text=f"Đúng {i}", weight=100)
            Option.create(question=q, position=2, text=f"Sai {i}", weight=0)
            Option.create(question=q, position=3, text=f"Cũng sai {i}", weight=0)
        QuizQuestion.create(quiz=quiz, question=q, position=i)
    return quiz


def token(view, position, prefix="Đúng"):
    """The opaque id of the option of question ``position`` whose text starts with ``prefix``."""
    question = next(q for q in view["questions"] if q["position"] == position)
    return next(o["id"] for o in question["options"] if o["text"].startswith(prefix))


@pytest.fixture
def member(login, make_unit):
    return login(unit=make_unit(name="Chi bộ thôn An Sơn"), full_name="Nguyễn Thị Mai")


def start(client, quiz):
    return client.post(f"/api/v1/quizzes/{quiz.id}/attempts")


def save(client, attempt_id, seq, answers, method="put"):
    return getattr(client, method)(f"/api/v1/attempts/{attempt_id}/answers", json={"seq": seq, "answers": answers})


# A small walker of the OpenAPI schemas (jsonschema is not installed) -------------------------

DOC = openapi_document()


def resolve(schema):
    while "$ref" in schema:
        schema = DOC["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}


def _is(value, kind):
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, TYPES[kind])


def check(value, schema, where="$"):
    """Raise AssertionError naming the place where ``value`` breaks ``schema``."""
    schema = resolve(schema)
    if "oneOf" in schema:
        fits = 0
        for option in schema["oneOf"]:
            try:
                check(value, option, where)
                fits += 1
            except AssertionError:
                pass
        assert fits == 1, f"{where}: {value!r} fits {fits} of oneOf"
        return
    kinds = schema.get("type")
    if kinds is not None:
        kinds = kinds if isinstance(kinds, list) else [kinds]
        assert any(_is(value, k) for k in kinds), f"{where}: {value!r} is not {kinds}"
    if "enum" in schema:
        assert value in schema["enum"], f"{where}: {value!r} not in {schema['enum']}"
    if "minimum" in schema and _is(value, "number"):
        assert value >= schema["minimum"], f"{where}: {value} < {schema['minimum']}"
    if "maximum" in schema and _is(value, "number"):
        assert value <= schema["maximum"], f"{where}: {value} > {schema['maximum']}"
    if schema.get("format") == "date-time" and isinstance(value, str):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", value), f"{where}: {value!r} is not a time"
    if isinstance(value, dict):
        for key in schema.get("required", []):
            assert key in value, f"{where}: {key!r} is missing"
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        pattern = schema.get("propertyNames", {}).get("pattern")
        for key, item in value.items():
            if pattern:
                assert re.fullmatch(pattern, key), f"{where}: key {key!r} does not match {pattern}"
            if key in properties:
                check(item, properties[key], f"{where}.{key}")
            else:
                assert extra is not False, f"{where}: unexpected {key!r}"
                if isinstance(extra, dict):
                    check(item, extra, f"{where}.{key}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            check(item, schema["items"], f"{where}[{i}]")


def conforms(response, path, method):
    """Check ``response`` against the description of ``method path`` and its status; return the JSON."""
    operation = DOC["paths"][path][method]
    described = operation["responses"].get(str(response.status_code))
    assert described is not None, f"{method.upper()} {path} is not described for {response.status_code}"
    assert response.mimetype == "application/json"
    body = response.get_json()
    check(body, described["content"]["application/json"]["schema"])
    return body


# The description ----------------------------------------------------------------------------

def test_the_description_is_public_and_lists_every_endpoint(app, client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = response.get_json()
    assert doc["openapi"].startswith("3.1")
    served = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("quiz_api."):
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule[len("/api/v1"):])
            served[path] = {m.lower() for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert {p: set(ops) for p, ops in doc["paths"].items()} == served
    for schema in doc["components"]["schemas"].values():  # every reference resolves
        check_refs(schema)


def check_refs(node):
    if isinstance(node, dict):
        if "$ref" in node:
            resolve(node)
        for value in node.values():
            check_refs(value)
    elif isinstance(node, list):
        for value in node:
            check_refs(value)


# Access -------------------------------------------------------------------------------------

@pytest.mark.parametrize("method, path", [
    ("post", "/api/v1/quizzes/1/attempts"),
    ("get", "/api/v1/attempts/1"),
    ("put", "/api/v1/attempts/1/answers"),
    ("post", "/api/v1/attempts/1/submit"),
    ("post", "/api/v1/attempts/1/questions/1/check"),
])
def test_not_logged_in_is_401_in_json(client, method, path):
    response = getattr(client, method)(path, json={})
    assert response.status_code == 401
    assert response.get_json() == {"error": "Vui lòng đăng nhập để tiếp tục."}


def test_unknown_and_unpublished_quizzes_are_not_found(client, member):
    draft = make_quiz(member.unit, is_published=False)
    for quiz_id in (draft.id, 9999):
        response = client.post(f"/api/v1/quizzes/{quiz_id}/attempts")
        assert conforms(response, "/quizzes/{quiz_id}/attempts", "post") == {"error": "Không tìm thấy."}
        assert response.status_code == 404


def test_a_quiz_for_another_unit_is_refused(client, member, make_unit):
    elsewhere = make_quiz(make_unit(name="Chi bộ thôn Đông Lâm"))
    response = start(client, elsewhere)
    assert response.status_code == 403
    assert "không dành cho đơn vị" in conforms(response, "/quizzes/{quiz_id}/attempts", "post")["error"]


def test_a_quiz_aimed_at_a_committee_above_is_open_to_its_cells(client, member, make_unit):
    committee = make_unit(name="Đảng bộ xã Hòa Ninh", kind="committee")
    member.unit.parent = committee
    member.unit.path = committee.path + f"{member.unit.id}/"
    member.unit.save()
    quiz = make_quiz(make_unit(name="Ban Tuyên giáo"))
    QuizAudience.create(quiz=quiz, unit=committee)
    assert start(client, quiz).status_code == 201


def test_another_members_attempt_does_not_exist_for_me(client, member, make_user, auth):
    quiz = make_quiz(member.unit)
    mine = start(client, quiz).get_json()
    auth.logout()
    other = make_user(unit=member.unit)
    auth.login(other.username)
    attempt_id = mine["id"]
    for response in (client.get(f"/api/v1/attempts/{attempt_id}"),
                     save(client, attempt_id, 1, {"1": ["0"]}),
                     client.post(f"/api/v1/attempts/{attempt_id}/submit"),
                     client.post(f"/api/v1/attempts/{attempt_id}/questions/1/check"),
                     client.get("/api/v1/attempts/999999")):
        assert response.status_code == 404
        assert response.get_json() == {"error": "Không tìm thấy."}
    assert Attempt.get_by_id(attempt_id).last_seq == 0


# Start, read, save ---------------------------------------------------------------------------

def test_start_then_resume_the_same_attempt(client, member):
    quiz = make_quiz(member.unit, questions=3, time_limit_seconds=600)
    first = start(client, quiz)
    assert first.status_code == 201
    body = conforms(first, "/quizzes/{quiz_id}/attempts", "post")
    assert first.headers["Location"] == f"/api/v1/attempts/{body['id']}"
    assert body["state"] == "in_progress" and body["number"] == 1
    assert [q["text"][:12] for q in body["questions"]] == ["Câu hỏi số 1", "Câu hỏi số 2", "Câu hỏi số 3"]
    assert [q["position"] for q in body["questions"]] == [1, 2, 3]
    assert body["unanswered"] == [1, 2, 3]
    deadline = dt.datetime.fromisoformat(body["deadline_at"].rstrip("Z"))
    started = dt.datetime.fromisoformat(body["started_at"].rstrip("Z"))
    assert deadline - started == dt.timedelta(minutes=10)

    again = start(client, quiz)
    assert again.status_code == 200
    assert conforms(again, "/quizzes/{quiz_id}/attempts", "post")["id"] == body["id"]
    assert Attempt.select().where(Attempt.quiz == quiz).count() == 1


def test_nothing_secret_while_in_progress(client, member):
    quiz = make_quiz(member.unit, questions=2, review_after_submit="answers")
    attempt = start(client, quiz).get_json()
    save(client, attempt["id"], 1, {"1": [token(attempt, 1)]})
    for response in (client.get(f"/api/v1/attempts/{attempt['id']}"), start(client, quiz),
                     save(client, attempt["id"], 2, {"2": [token(attempt, 2, "Sai")]})):
        raw = response.get_data(as_text=True)
        for secret in SECRETS:
            assert secret not in raw, f"{secret!r} leaked: {raw}"
    # and the option ids say nothing about which one is right: "0", "1", "2" in the order shown
    assert [o["id"] for o in attempt["questions"][0]["options"]] == ["0", "1", "2"]


def test_answers_are_saved_and_read_back(client, member):
    quiz = make_quiz(member.unit, questions=3)
    attempt = start(client, quiz).get_json()
    response = save(client, attempt["id"], 7, {"1": [token(attempt, 1)], "3": [token(attempt, 3, "Sai")]})
    body = conforms(response, "/attempts/{attempt_id}/answers", "put")
    assert body["applied"] is True and body["seq"] == 7
    assert "answers" not in body  # the client has them: an applied save does not send them back

    read = conforms(client.get(f"/api/v1/attempts/{attempt['id']}"), "/attempts/{attempt_id}", "get")
    assert read["answers"] == {"1": ["0"], "2": [], "3": ["1"]}
    assert read["unanswered"] == [2] and read["seq"] == 7
    assert [o["chosen"] for o in read["questions"][0]["options"]] == [True, False, False]

    # POST works as well as PUT (for clients that cannot PUT)
    posted = save(client, attempt["id"], 8, {"2": [token(attempt, 2)]}, method="post")
    assert conforms(posted, "/attempts/{attempt_id}/answers", "post")["applied"] is True
    # a save sends only the answers that changed: the others keep what is stored
    assert client.get(f"/api/v1/attempts/{attempt['id']}").get_json()["answers"] == {"1": ["0"], "2": ["0"], "3": ["1"]}


def test_a_stale_seq_changes_nothing(client, member):
    quiz = make_quiz(member.unit, questions=1)
    attempt = start(client, quiz).get_json()
    save(client, attempt["id"], 20, {"1": [token(attempt, 1)]})
    stale = save(client, attempt["id"], 19, {"1": [token(attempt, 1, "Sai")]})
    body = conforms(stale, "/attempts/{attempt_id}/answers", "put")
    assert body["applied"] is False and body["seq"] == 20
    assert body["answers"] == {"1": [token(attempt, 1)]}  # what the newer tab saved
    replay = save(client, attempt["id"], 20, {"1": []})
    assert replay.get_json()["applied"] is False
    assert client.get(f"/api/v1/attempts/{attempt['id']}").get_json()["answers"] == {"1": ["0"]}


@pytest.mark.parametrize("body, message", [
    (None, "Hãy gửi một đối tượng JSON."),
    ({"answers": {}}, "seq"),
    ({"seq": -1, "answers": {}}, "seq"),
    ({"seq": True, "answers": {}}, "seq"),
    ({"seq": 1, "answers": []}, "answers"),
    ({"seq": 1, "answers": {"một": ["0"]}}, "một"),
    ({"seq": 1, "answers": {"1": 0}}, "Câu 1"),
    ({"seq": 1, "answers": {"9": ["0"]}}, "Câu 9"),
    ({"seq": 1, "answers": {"1": ["7"]}}, "Câu 1"),
    ({"seq": 1, "answers": {"1": ["0", "1"]}}, "Câu 1"),
])
def test_bad_input_is_422_with_a_vietnamese_message(client, member, body, message):
    quiz = make_quiz(member.unit, questions=2)
    attempt = start(client, quiz).get_json()
    if body is None:
        response = client.put(f"/api/v1/attempts/{attempt['id']}/answers", data="seq=1",
                              content_type="application/x-www-form-urlencoded")
    else:
        response = client.put(f"/api/v1/attempts/{attempt['id']}/answers", json=body)
    assert response.status_code == 422
    assert message.lower() in conforms(response, "/attempts/{attempt_id}/answers", "put")["error"].lower()
    assert Attempt.get_by_id(attempt["id"]).last_seq == 0  # nothing half-written


def test_a_save_after_the_deadline_is_refused_and_the_attempt_finalised(client, member):
    quiz = make_quiz(member.unit, questions=2, time_limit_seconds=300)
    attempt = start(client, quiz).get_json()
    save(client, attempt["id"], 1, {"1": [token(attempt, 1)]})
    Attempt.update(deadline_at=utcnow() - dt.timedelta(minutes=2)).where(Attempt.id == attempt["id"]).execute()

    late = save(client, attempt["id"], 2, {"2": [token(attempt, 2)]})
    assert late.status_code == 409
    assert "Đã hết giờ" in conforms(late, "/attempts/{attempt_id}/answers", "put")["error"]
    finished = client.get(f"/api/v1/attempts/{attempt['id']}").get_json()
    assert finished["state"] == "finished"
    assert finished["score"] == 1 and finished["answers"] == {"1": ["0"], "2": []}


def test_double_submit_gives_the_same_score(client, member):
    quiz = make_quiz(member.unit, questions=3)
    attempt = start(client, quiz).get_json()
    save(client, attempt["id"], 1, {"1": [token(attempt, 1)], "2": [token(attempt, 2)],
                                    "3": [token(attempt, 3, "Sai")]})
    first = client.post(f"/api/v1/attempts/{attempt['id']}/submit")
    body = conforms(first, "/attempts/{attempt_id}/submit", "post")
    assert body["state"] == "finished" and (body["score"], body["max_score"]) == (2, 3)
    second = conforms(client.post(f"/api/v1/attempts/{attempt['id']}/submit"), "/attempts/{attempt_id}/submit", "post")
    assert (second["score"], second["finished_at"]) == (body["score"], body["finished_at"])

    after = save(client, attempt["id"], 5, {"3": [token(attempt, 3)]})
    assert after.status_code == 409
    assert "đã nộp" in conforms(after, "/attempts/{attempt_id}/answers", "put")["error"]
    assert client.get(f"/api/v1/attempts/{attempt['id']}").get_json()["score"] == 2


def test_the_review_follows_the_policy(client, member):
    shown = make_quiz(member.unit, questions=1, review_after_submit="answers")
    hidden = make_quiz(member.unit, questions=1, review_after_submit="score",
                       closes_at=utcnow() + dt.timedelta(days=3))
    results = {}
    for quiz in (shown, hidden):
        attempt = start(client, quiz).get_json()
        save(client, attempt["id"], 1, {"1": [token(attempt, 1, "Sai")]})
        results[quiz.id] = conforms(client.post(f"/api/v1/attempts/{attempt['id']}/submit"),
                                    "/attempts/{attempt_id}/submit", "post")
    full = results[shown.id]
    assert full["review"] == "answers"
    assert full["questions"][0]["correct"] is False
    assert full["questions"][0]["explanation"] == "Giải thích cho câu 1."
    assert [o["correct"] for o in full["questions"][0]["options"]] == [True, False, False]
    score_only = results[hidden.id]
    assert score_only["review"] == "score" and score_only["score"] == 0
    raw = str(score_only)
    assert "Giải thích" not in raw and "'correct'" not in raw


def test_no_more_attempts_than_allowed(client, member):
    quiz = make_quiz(member.unit, questions=1, attempts_allowed=1)
    attempt = start(client, quiz).get_json()
    client.post(f"/api/v1/attempts/{attempt['id']}/submit")
    refused = start(client, quiz)
    assert refused.status_code == 409
    assert "1" in conforms(refused, "/quizzes/{quiz_id}/attempts", "post")["error"]
    closed = make_quiz(member.unit, closes_at=utcnow() - dt.timedelta(hours=1))
    assert start(client, closed).status_code == 409


# Practice ------------------------------------------------------------------------------------

def test_practice_questions_are_checked_one_by_one(client, member):
    quiz = make_quiz(member.unit, questions=2, is_practice=True, attempts_allowed=0)
    attempt = start(client, quiz).get_json()
    url = f"/api/v1/attempts/{attempt['id']}/questions/%d/check"
    unanswered = client.post(url % 1)
    assert unanswered.status_code == 422
    assert "trả lời câu 1" in conforms(unanswered, "/attempts/{attempt_id}/questions/{position}/check", "post")["error"]

    save(client, attempt["id"], 1, {"1": [token(attempt, 1, "Sai")], "2": [token(attempt, 2)]})
    wrong = conforms(client.post(url % 1), "/attempts/{attempt_id}/questions/{position}/check", "post")
    assert wrong["correct"] is False and wrong["correct_options"] == [token(attempt, 1)]
    assert wrong["explanation"] == "Giải thích cho câu 1."
    right = conforms(client.post(url % 2), "/attempts/{attempt_id}/questions/{position}/check", "post")
    assert right["correct"] is True
    assert client.post(url % 9).status_code == 404


def test_checking_is_only_for_practice(client, member):
    quiz = make_quiz(member.unit, questions=1)
    attempt = start(client, quiz).get_json()
    save(client, attempt["id"], 1, {"1": [token(attempt, 1)]})
    response = client.post(f"/api/v1/attempts/{attempt['id']}/questions/1/check")
    assert response.status_code == 403
    assert "ôn tập" in conforms(response, "/attempts/{attempt_id}/questions/{position}/check", "post")["error"]


# Surveys -------------------------------------------------------------------------------------

def test_an_anonymous_survey_forgets_who_answered(client, member):
    quiz = make_quiz(member.unit, questions=1, kind="text", is_survey=True, is_anonymous=True)
    attempt = start(client, quiz).get_json()
    assert attempt["anonymous"] is True and attempt["kind"] == "survey"
    save(client, attempt["id"], 1, {"1": "Buổi sinh hoạt rất bổ ích."})
    done = conforms(client.post(f"/api/v1/attempts/{attempt['id']}/submit"), "/attempts/{attempt_id}/submit", "post")
    assert done["state"] == "finished" and done["questions"] == []
    assert Attempt.get_by_id(attempt["id"]).user_id is None
    assert client.get(f"/api/v1/attempts/{attempt['id']}").status_code == 404
    assert start(client, quiz).status_code == 409  # one response per member


# CSRF ---------------------------------------------------------------------------------------

class TestWithCsrf:
    @pytest.fixture
    def app_config(self):
        return {"WTF_CSRF_ENABLED": True}

    def test_changes_need_the_token_from_the_page(self, client, make_user, make_unit):
        user = make_user(unit=make_unit())
        login_page = client.get("/login").get_data(as_text=True)
        form_token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"|'
                               r'name="csrf_token" value="([^"]+)"', login_page)
        client.post("/login", data={"username": user.username, "password": PASSWORD,
                                    "csrf_token": form_token.group(1) or form_token.group(2)})
        quiz = make_quiz(user.unit, questions=1)
        refused = start(client, quiz)
        assert refused.status_code == 403
        assert "tải lại trang" in refused.get_json()["error"]

        intro = client.get(f"/quiz/{quiz.id}").get_data(as_text=True)
        header = {"X-CSRFToken": re.search(r'name="csrf_token" value="([^"]+)"', intro).group(1)}
        attempt = client.post(f"/api/v1/quizzes/{quiz.id}/attempts", headers=header).get_json()
        page = client.get(f"/quiz/attempts/{attempt['id']}").get_data(as_text=True)
        meta = re.search(r'<meta name="csrf-token" content="([^"]+)">', page).group(1)
        assert client.put(f"/api/v1/attempts/{attempt['id']}/answers", json={"seq": 1, "answers": {}}
                          ).status_code == 403
        saved = client.put(f"/api/v1/attempts/{attempt['id']}/answers", headers={"X-CSRFToken": meta},
                           json={"seq": 1, "answers": {"1": ["0"]}})
        assert saved.status_code == 200 and saved.get_json()["applied"] is True
        # Not after a first save either.
        assert client.put(f"/api/v1/attempts/{attempt['id']}/answers", json={"seq": 2, "answers": {"1": ["1"]}}
                          ).status_code == 403
        assert Attempt.get_by_id(attempt["id"]).last_seq == 1
        again = client.put(f"/api/v1/attempts/{attempt['id']}/answers", headers={"X-CSRFToken": meta},
                           json={"seq": 2, "answers": {"1": ["1"]}})
        assert again.get_json()["applied"] is True
        assert client.get(f"/api/v1/attempts/{attempt['id']}").get_json()["answers"] == {"1": ["1"]}


def test_a_member_who_must_change_the_password_gets_json_not_a_redirect(client, member):
    quiz = make_quiz(member.unit)
    User.update(must_change_password=True).where(User.id == member.id).execute()
    response = start(client, quiz)
    assert response.status_code == 403
    assert response.get_json() == {"error": "Vui lòng đặt mật khẩu riêng trước khi tiếp tục."}


# An autosave reads the member and the attempt in one statement ------------------------------

def _statements(app):
    """Collect the SQL run (PostgreSQL's PREPARE aside: once per connection) while the block runs."""
    import contextlib

    from portal.db import _SERVER_SIDE

    @contextlib.contextmanager
    def collect():
        db, seen = app.extensions["portal_db"], []
        original = db.execute_sql
        db.execute_sql = lambda sql, params=None, **kwargs: (seen.append(sql), original(sql, params, **kwargs))[1]
        try:
            yield seen
        finally:
            del db.execute_sql
            executes = {server[1]: sql for sql, server in _SERVER_SIDE.items() if server}
            seen[:] = [executes.get(sql, sql) for sql in seen if not sql.startswith("PREPARE ")]

    return collect()


def test_a_save_checks_the_session_and_stores_in_as_few_statements_as_the_database_allows(app, backend, client,
                                                                                          member):
    quiz = make_quiz(member.unit, questions=3)
    attempt = start(client, quiz).get_json()
    save(client, attempt["id"], 1, {"1": [token(attempt, 1)]})  # the statements are prepared by now
    with _statements(app) as seen:
        body = save(client, attempt["id"], 2, {"2": [token(attempt, 2, "Sai")]}).get_json()
    assert body["applied"] is True and body["seq"] == 2
    if backend == "postgresql":
        # one statement: the session checked, the number claimed, the answer checked against its question, stored
        assert len(seen) == 1 and seen[0].startswith("WITH given AS") and '"session_token"' in seen[0]
    else:
        reads = [sql for sql in seen if sql.startswith("SELECT")]
        assert 'FROM "user" AS "t1" LEFT OUTER JOIN "attempt"' in reads[0]
        assert not any(sql.startswith('SELECT "t1"."id", "t1"."username"') and 'JOIN' not in sql for sql in seen)
    assert client.get(f"/api/v1/attempts/{attempt['id']}").get_json()["answers"] == {"1": ["0"], "2": ["1"], "3": []}


def test_a_save_after_the_session_was_ended_elsewhere_is_401_and_stores_nothing(client, member):
    quiz = make_quiz(member.unit, questions=1)
    attempt = start(client, quiz).get_json()
    user = User.get_by_id(member.id)
    user.rotate_session_token()  # "log out everywhere", a password change, a lock
    user.save()
    response = save(client, attempt["id"], 1, {"1": [token(attempt, 1)]})
    assert response.status_code == 401
    assert Attempt.get_by_id(attempt["id"]).last_seq == 0


def test_a_save_of_an_unknown_attempt_is_404(client, member):
    response = save(client, 2**31 - 1, 1, {"1": ["0"]})
    assert response.status_code == 404 and response.get_json() == {"error": "Không tìm thấy."}


def test_a_checked_practice_question_keeps_its_answer_when_saved_again(client, member):
    """The question read with the attempt carries its mark: the save leaves a checked answer as it is."""
    quiz = make_quiz(member.unit, questions=2, is_practice=True, attempts_allowed=0)
    attempt = start(client, quiz).get_json()
    save(client, attempt["id"], 1, {"1": [token(attempt, 1, "Sai")]})
    client.post(f"/api/v1/attempts/{attempt['id']}/questions/1/check")
    body = save(client, attempt["id"], 2, {"1": [token(attempt, 1)], "2": [token(attempt, 2)]}).get_json()
    assert body["applied"] is True and body["seq"] == 2
    read = client.get(f"/api/v1/attempts/{attempt['id']}").get_json()
    assert read["answers"] == {"1": [token(attempt, 1, "Sai")], "2": [token(attempt, 2)]}


def test_a_submit_stores_its_prediction_with_the_closing_and_answers_without_reading_again(app, backend, client,
                                                                                           member):
    """The prediction goes with the UPDATE that closes the attempt; on PostgreSQL the marks and the score go in
    one statement; the reply shows what was stored without reading the attempt or its answers again."""
    quiz = make_quiz(member.unit, questions=3, prediction_prompt="Bao nhiêu người dự thi?")
    attempt = start(client, quiz).get_json()
    save(client, attempt["id"], 1, {"1": [token(attempt, 1)], "2": [token(attempt, 2, "Sai")]})
    with _statements(app) as seen:
        body = client.post(f"/api/v1/attempts/{attempt['id']}/submit", json={"prediction": "1.250"}).get_json()
    assert (body["state"], body["score"], body["max_score"], body["prediction"]) == ("finished", 1, 3, 1250)
    assert body == client.get(f"/api/v1/attempts/{attempt['id']}").get_json() | {"server_now": body["server_now"]}
    stored = Attempt.get_by_id(attempt["id"])
    assert (stored.state, stored.score, stored.prediction) == ("finished", 1, 1250)
    updates = [sql for sql in seen if sql.startswith("UPDATE")]
    assert updates[0].startswith('UPDATE "attempt" SET') and '"prediction"' in updates[0]
    reads = [sql for sql in seen if sql.startswith("SELECT")]
    assert len(reads) == 2  # the member with the attempt, then its answers (after the closing UPDATE)
    if backend == "postgresql":
        assert len(seen) == 4 and seen[-1].startswith("WITH w0 AS (UPDATE \"attempt_question\"")


def test_a_submit_clears_the_prediction_sent_empty(client, member):
    quiz = make_quiz(member.unit, questions=1, prediction_prompt="Bao nhiêu người dự thi?")
    attempt = start(client, quiz).get_json()
    client.put(f"/api/v1/attempts/{attempt['id']}/answers", json={"seq": 1, "answers": {}, "prediction": "7"})
    body = client.post(f"/api/v1/attempts/{attempt['id']}/submit", json={"prediction": ""}).get_json()
    assert body["prediction"] is None and Attempt.get_by_id(attempt["id"]).prediction is None


def test_the_round_page_reads_each_thing_once(app, backend, client, member):
    """Opened by everybody when a round starts: the member's attempts once (status and history), the audience
    with its owner in one statement, the question count in one."""
    quiz = make_quiz(member.unit, questions=3)
    attempt = start(client, quiz).get_json()
    client.post(f"/api/v1/attempts/{attempt['id']}/submit")
    client.get(f"/quiz/{quiz.id}")  # the statements are prepared by now
    with _statements(app) as seen:
        page = client.get(f"/quiz/{quiz.id}").get_data(as_text=True)
    assert "Kiểm tra chuyên đề năm 2026" in page and "Còn 1/2 lượt" in page and "0 / 3" in page
    attempts = [sql for sql in seen if sql.startswith('SELECT "t1"."id", "t1"."quiz_id", "t1"."user_id"')]
    units = [sql for sql in seen if sql.startswith('SELECT "t1"."id", "t1"."code"') and 'FROM "unit"' in sql]
    counts = [sql for sql in seen if "COUNT(" in sql and "quiz_question" in sql]
    assert len(attempts) == 1 and len(counts) == 1 and "quiz_draw" in counts[0]
    assert len(units) == 1  # the quiz's audience (here its owner's unit: it names none); the member's comes with them
    assert not any('"registration"' in sql for sql in seen)  # a member of the audience: no registration asked


# Saves after a first one: refused as they must be ---------------------------------------------------------

def _saved_once(client, quiz):
    """An attempt with one save applied."""
    attempt = start(client, quiz).get_json()
    assert save(client, attempt["id"], 1, {"1": [token(attempt, 1)]}).get_json()["applied"] is True
    return attempt


def test_a_stale_save_after_a_later_one_changes_nothing(client, member):
    attempt = _saved_once(client, make_quiz(member.unit, questions=2))
    assert save(client, attempt["id"], 3, {"2": [token(attempt, 2)]}).get_json()["applied"] is True
    stale = save(client, attempt["id"], 2, {"1": [token(attempt, 1, "Sai")], "2": []}).get_json()
    assert stale["applied"] is False and stale["seq"] == 3 and stale["answers"] == {"1": ["0"], "2": ["0"]}
    assert Attempt.get_by_id(attempt["id"]).last_seq == 3


def test_a_save_is_refused_once_the_session_ended_or_a_password_must_change(client, member):
    attempt = _saved_once(client, make_quiz(member.unit, questions=2))
    User.update(must_change_password=True).where(User.id == member.id).execute()
    assert save(client, attempt["id"], 2, {"2": [token(attempt, 2)]}).status_code == 403
    User.update(must_change_password=False).where(User.id == member.id).execute()
    user = User.get_by_id(member.id)
    user.rotate_session_token()
    user.save()
    assert save(client, attempt["id"], 3, {"2": [token(attempt, 2)]}).status_code == 401
    stored = Attempt.get_by_id(attempt["id"])
    assert stored.last_seq == 1 and [r.answer for r in stored.questions.order_by(AttemptQuestion.position)][1] == ""


def test_a_later_save_refuses_a_bad_answer_and_comes_too_late_after_submitting(client, member):
    attempt = _saved_once(client, make_quiz(member.unit, questions=2))
    bad = save(client, attempt["id"], 2, {"2": ["7"]})
    assert bad.status_code == 422 and "Câu 2" in bad.get_json()["error"]
    client.post(f"/api/v1/attempts/{attempt['id']}/submit")
    late = save(client, attempt["id"], 3, {"2": [token(attempt, 2)]})
    assert late.status_code == 409 and Attempt.get_by_id(attempt["id"]).last_seq == 1


def test_submits_with_different_mixes_of_right_and_wrong_store_their_marks_with_the_same_statement(
        app, backend, client, member):
    """PostgreSQL prepares each statement once per connection: the marks must not make a new one each time."""
    quiz = make_quiz(member.unit, questions=3, attempts_allowed=2)
    last = []
    for picks in (("Đúng", "Sai", "Sai"), ("Đúng", "Đúng", "Sai")):
        attempt = start(client, quiz).get_json()
        save(client, attempt["id"], 1, {str(p): [token(attempt, p, pick)] for p, pick in enumerate(picks, 1)})
        with _statements(app) as seen:
            body = client.post(f"/api/v1/attempts/{attempt['id']}/submit").get_json()
        assert body["score"] == picks.count("Đúng")
        marks = [r.mark for r in AttemptQuestion.select().where(AttemptQuestion.attempt == attempt["id"])
                 .order_by(AttemptQuestion.position)]
        assert marks == [1.0 if pick == "Đúng" else 0.0 for pick in picks]
        last.append(seen[-1])
    if backend == "postgresql":
        assert last[0] == last[1]


def test_the_attempt_page_reads_the_member_the_attempt_and_the_grants_at_once(app, client, login, make_unit):
    """The page's menu asks for the grants: they come with the member and the attempt."""
    organiser = login(role="organiser", unit=make_unit(name="Chi bộ thôn An Sơn"))
    quiz = make_quiz(organiser.unit, questions=2)
    attempt = start(client, quiz).get_json()
    client.get(f"/quiz/attempts/{attempt['id']}")
    with _statements(app) as seen:
        page = client.get(f"/quiz/attempts/{attempt['id']}").get_data(as_text=True)
    assert "Ngân hàng câu hỏi" in page and "Câu hỏi số 1" in page
    assert 'LEFT OUTER JOIN "role_grant"' in seen[0]
    assert not any(sql.startswith('SELECT "t1"."id", "t1"."user_id", "t1"."role"') for sql in seen)


def test_the_result_page_reads_the_members_attempts_once_for_the_status_and_the_grade(app, client, member):
    quiz = make_quiz(member.unit, questions=2, attempts_allowed=2, grading_method="highest")
    ids = []
    for picks in (("Đúng", "Đúng"), ("Sai", "Sai")):
        attempt = start(client, quiz).get_json()
        save(client, attempt["id"], 1, {str(p): [token(attempt, p, pick)] for p, pick in enumerate(picks, 1)})
        client.post(f"/api/v1/attempts/{attempt['id']}/submit")
        ids.append(attempt["id"])
    client.get(f"/quiz/attempts/{ids[1]}/result")
    with _statements(app) as seen:
        page = client.get(f"/quiz/attempts/{ids[1]}/result").get_data(as_text=True)
    assert "Điểm được tính" in page and "2 / 2" in page  # the better of the two, though this one scored 0
    assert "Làm lại" not in page  # both attempts used
    ids_first = client.get(f"/quiz/attempts/{ids[0]}/result").get_data(as_text=True)
    assert "2 / 2" in ids_first
    assert len([sql for sql in seen if 'FROM "attempt" AS "t1" WHERE' in sql]) == 1


def _rows(attempt_id):
    return list(AttemptQuestion.select().where(AttemptQuestion.attempt == attempt_id)
                .order_by(AttemptQuestion.position))


def test_a_save_stores_each_kind_of_answer_the_same_way_on_either_database(app, backend, client, member):
    """On PostgreSQL an autosave is one statement that checks and stores the answers in SQL; what it stores must
    be what the usual save (SQLite's) stores: option ids in the order shown, texts in NFC, the time answered."""
    quiz = make_quiz(member.unit, questions=2, kind="multiple")
    attempt = start(client, quiz).get_json()
    ids = [[o.id for o in Option.select().where(Option.question == r.question_id).order_by(Option.position)]
           for r in _rows(attempt["id"])]
    with _statements(app) as seen:  # two answers, given unsorted and one twice
        body = save(client, attempt["id"], 1, {"1": ["2", "0", "2"], "2": ["1"]}).get_json()
    assert body["applied"] is True and body["seq"] == 1
    if backend == "postgresql":
        assert len(seen) == 1 and seen[0].startswith("WITH given AS")
    first, second = _rows(attempt["id"])
    assert first.answer == f"{ids[0][0]},{ids[0][2]}" and second.answer == str(ids[1][1])
    assert first.answered_at is not None and second.answered_at is not None
    assert save(client, attempt["id"], 2, {"1": []}).get_json()["applied"] is True  # cleared
    first, second = _rows(attempt["id"])
    assert first.answer == "" and first.answered_at is None and second.answer == str(ids[1][1])

    survey = make_quiz(member.unit, questions=2, kind="text", is_survey=True)
    attempt = start(client, survey).get_json()
    assert save(client, attempt["id"], 1, {"1": "  Đoàn kết, đoàn kết, đại đoàn ke\u0302\u0301t.  ",
                                            "2": "Thành công"}).get_json()["applied"] is True
    first, second = _rows(attempt["id"])
    assert first.answer_text == "Đoàn kết, đoàn kết, đại đoàn kết." and first.answered_at is not None
    assert save(client, attempt["id"], 2, {"2": ""}).get_json()["applied"] is True
    assert _rows(attempt["id"])[1].answer_text == "" and _rows(attempt["id"])[1].answered_at is None


def test_a_save_with_one_bad_answer_stores_none_of_its_answers(client, member):
    quiz = make_quiz(member.unit, questions=3)
    attempt = start(client, quiz).get_json()
    for answers, message in (({"1": ["0"], "2": ["0", "1"]}, "Câu 2"),  # two options for a single choice
                             ({"1": ["0"], "3": ["3"]}, "Câu 3"),  # no fourth option
                             ({"1": ["0"], "4": ["0"]}, "câu 4"),  # no fourth question
                             ({"1": ["0"], "2": "Đúng"}, "Câu 2")):  # a text for a choice
        refused = save(client, attempt["id"], 5, answers)
        assert refused.status_code == 422 and message in refused.get_json()["error"], answers
    assert Attempt.get_by_id(attempt["id"]).last_seq == 0
    assert [r.answer for r in _rows(attempt["id"])] == ["", "", ""]


def test_a_save_takes_the_prediction_only_where_the_quiz_asks_for_one(client, member):
    asked = make_quiz(member.unit, questions=1, prediction_prompt="Có bao nhiêu người trả lời đúng tất cả?")
    attempt = start(client, asked).get_json()
    body = client.put(f"/api/v1/attempts/{attempt['id']}/answers",
                      json={"seq": 1, "answers": {}, "prediction": "1.250"}).get_json()
    assert body["applied"] is True and body["prediction"] == 1250
    bad = client.put(f"/api/v1/attempts/{attempt['id']}/answers", json={"seq": 2, "answers": {}, "prediction": "nhiều"})
    assert bad.status_code == 422 and "Dự đoán" in bad.get_json()["error"]
    assert Attempt.get_by_id(attempt["id"]).prediction == 1250

    not_asked = make_quiz(member.unit, questions=1)
    attempt = start(client, not_asked).get_json()
    body = client.put(f"/api/v1/attempts/{attempt['id']}/answers",
                      json={"seq": 1, "answers": {"1": ["0"]}, "prediction": "1250"}).get_json()
    assert body["applied"] is True and body["prediction"] is None
    assert Attempt.get_by_id(attempt["id"]).prediction is None and _rows(attempt["id"])[0].answer != ""


def test_a_stale_save_on_postgresql_tries_one_statement_then_says_what_is_stored(app, backend, client, member):
    attempt = _saved_once(client, make_quiz(member.unit, questions=2))
    with _statements(app) as seen:
        stale = save(client, attempt["id"], 1, {"2": [token(attempt, 2)]}).get_json()
    assert stale["applied"] is False and stale["answers"] == {"1": ["0"], "2": []}
    if backend == "postgresql":  # nothing stored by the one statement; the usual save read and answered
        assert seen[0].startswith("WITH given AS") and any("json_agg" in sql for sql in seen[1:])
    assert _rows(attempt["id"])[1].answer == ""
