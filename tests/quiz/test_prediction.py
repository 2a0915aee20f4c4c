"""The prediction asked when submitting (a contest's tie-break), the time used and the unit kept by an attempt."""

import datetime as dt

import pytest

from portal.errors import DomainError
from portal.quiz import engine, review
from portal.quiz.models import Attempt
from tests.conftest import reload
from tests.quiz.conftest import NOW
from tests.quiz.test_api import conforms, make_quiz as api_quiz, start

PROMPT = "Theo đồng chí, có bao nhiêu người trả lời đúng tất cả các câu hỏi của vòng thi này?"


@pytest.mark.parametrize("typed, stored", [
    ("1250", 1250), (" 1.250 ", 1250), ("1,250", 1250), ("1 250", 1250), (0, 0), (None, None), ("", None),
    ("  ", None), (1_000_000_000, 1_000_000_000), (7.0, 7),
])
def test_a_prediction_is_a_whole_number_as_people_type_it(typed, stored):
    assert engine.clean_prediction(typed) == stored


@pytest.mark.parametrize("typed, message", [
    ("-5", "Dự đoán: hãy nhập một số nguyên, ví dụ 1250."),
    (-5, "Dự đoán: hãy nhập một số từ 0 đến 1.000.000.000."),
    (10 ** 12, "Dự đoán: hãy nhập một số từ 0 đến 1.000.000.000."),
    ("1e6", "Dự đoán: hãy nhập một số nguyên, ví dụ 1250."),
    ("mười", "Dự đoán: hãy nhập một số nguyên, ví dụ 1250."),
    ("١٢٣", "Dự đoán: hãy nhập một số nguyên, ví dụ 1250."),  # digits, but not ours
    (True, "Dự đoán: hãy nhập một số nguyên, ví dụ 1250."),
    (2.5, "Dự đoán: hãy nhập một số nguyên, ví dụ 1250."),
])
def test_a_bad_prediction_is_refused_naming_the_field(app, typed, message):
    with pytest.raises(DomainError) as exc:
        engine.clean_prediction(typed)
    assert (str(exc.value), exc.value.field) == (message, "prediction")


def test_the_prediction_is_saved_with_answers_and_kept_at_submit(make_quiz, member):
    quiz = make_quiz(prediction_prompt=PROMPT, time_limit_seconds=600)
    attempt = engine.start_attempt(quiz, member, NOW)
    assert (attempt.unit_id, attempt.prediction) == (member.unit_id, None)
    engine.save_answers(attempt, member, {1: ["0"]}, 1, NOW, prediction="1.250")
    assert reload(attempt).prediction == 1250
    engine.save_answers(attempt, member, {2: ["0"]}, 2, NOW)  # not sent: unchanged
    assert reload(attempt).prediction == 1250
    view = review.attempt_view(reload(attempt), NOW, member)
    assert (view["prediction_prompt"], view["prediction"]) == (PROMPT, 1250)
    engine.submit_attempt(attempt, member, NOW + dt.timedelta(seconds=95, milliseconds=250), prediction="1300")
    done = reload(attempt)
    assert (done.prediction, done.time_used_ms, done.score) == (1300, 95_250, 2.0)


def test_a_late_prediction_does_not_count(make_quiz, member):
    quiz = make_quiz(prediction_prompt=PROMPT, time_limit_seconds=60)
    attempt = engine.start_attempt(quiz, member, NOW)
    engine.save_answers(attempt, member, {}, 1, NOW, prediction=40)
    engine.submit_attempt(attempt, member, NOW + dt.timedelta(minutes=5), prediction=41)
    done = reload(attempt)
    assert (done.prediction, done.time_used_ms) == (40, 60_000)  # finished at the deadline, on what was saved


def test_a_quiz_without_a_prompt_ignores_a_prediction(make_quiz, member):
    attempt = engine.start_attempt(make_quiz(), member, NOW)
    engine.save_answers(attempt, member, {}, 1, NOW, prediction="abc")
    engine.submit_attempt(attempt, member, NOW, prediction=5)
    assert reload(attempt).prediction is None


def test_the_unit_of_the_attempt_stays_when_the_member_moves(make_quiz, member, make_unit, committee):
    quiz = make_quiz(attempts_allowed=2)
    first = engine.start_attempt(quiz, member, NOW)
    engine.submit_attempt(first, member, NOW)
    member.unit = make_unit("HV-DL", "Chi bộ thôn Đông Lâm", parent=committee)
    member.save()
    second = engine.start_attempt(quiz, member, NOW)
    assert (reload(first).unit_id, second.unit_id) == (first.unit_id, member.unit_id)
    assert first.unit_id != member.unit_id


@pytest.fixture
def contestant(login, cell):
    return login(unit=cell, full_name="Nguyễn Thị Mai")


def test_the_api_takes_the_prediction_and_describes_it(client, contestant):
    quiz = api_quiz(contestant.unit, prediction_prompt=PROMPT)
    body = conforms(start(client, quiz), "/quizzes/{quiz_id}/attempts", "post")
    assert (body["prediction_prompt"], body["prediction"]) == (PROMPT, None)
    path = f"/api/v1/attempts/{body['id']}"
    saved = client.put(f"{path}/answers", json={"seq": 1, "answers": {}, "prediction": "2.026"})
    assert conforms(saved, "/attempts/{attempt_id}/answers", "put")["prediction"] == 2026
    bad = client.put(f"{path}/answers", json={"seq": 2, "answers": {}, "prediction": "-3"})
    assert conforms(bad, "/attempts/{attempt_id}/answers", "put") == {
        "error": "Dự đoán: hãy nhập một số nguyên, ví dụ 1250."}
    assert conforms(client.put(f"{path}/answers", json={"seq": 3, "answers": {}, "prediction": [1]}),
                    "/attempts/{attempt_id}/answers", "put")["error"].startswith("Dự đoán")
    done = client.post(f"{path}/submit", json={"prediction": 2030})
    assert conforms(done, "/attempts/{attempt_id}/submit", "post")["prediction"] == 2030
    assert Attempt.get_by_id(body["id"]).prediction == 2030


def test_the_page_without_javascript_submits_the_prediction(client, contestant):
    quiz = api_quiz(contestant.unit, prediction_prompt=PROMPT)
    attempt_id = start(client, quiz).get_json()["id"]
    page = client.get(f"/quiz/attempts/{attempt_id}").get_data(as_text=True)
    assert PROMPT in page and 'name="prediction"' in page
    client.post(f"/quiz/attempts/{attempt_id}/submit", data={"prediction": "15"})
    done = Attempt.get_by_id(attempt_id)
    assert (done.state, done.prediction) == ("finished", 15)
