"""What a member sees of an attempt: nothing of the truth before the review policy allows it."""

import datetime as dt
import json

import pytest

from portal.errors import NotFound
from portal.quiz import engine, review
from portal.quiz.models import AttemptQuestion, Option
from tests.conftest import reload
from tests.quiz.conftest import NOW, right_tokens

MINUTE = dt.timedelta(minutes=1)
EXPLANATION = "Ngày 3/2/1930, Đảng Cộng sản Việt Nam ra đời."
SECRETS = ('"correct"', '"weight"', '"explanation"', '"feedback"', '"mark"', '"outcome"', "Nhận xét", EXPLANATION)


def leaks(view):
    text = json.dumps(view, default=str, ensure_ascii=False)
    return [s for s in SECRETS if s in text]


@pytest.fixture
def quiz(make_quiz, make_question):
    """Three questions (single, partial multiple, true/false), shuffled, reviewable in full after closing."""
    return make_quiz(questions=[make_question(explanation=EXPLANATION), make_question("multiple"),
                                make_question("truefalse", explanation="Giải thích câu đúng sai.")],
                     shuffle_options=True, review_after_submit="score", review_after_close="answers")


def test_an_attempt_in_progress_shows_questions_and_answers_but_no_truth(quiz, member):
    attempt = engine.start_attempt(quiz, member, NOW)
    view = review.attempt_view(attempt, NOW, member)
    engine.save_answers(attempt, member, {1: right_tokens(view, 1), 2: right_tokens(view, 2)}, 1, NOW)
    view = review.attempt_view(reload(attempt), NOW, member)
    assert leaks(view) == []
    assert (view["state"], view["review"], view["score"], view["seq"]) == ("in_progress", None, None, 1)
    assert [q["position"] for q in view["questions"]] == [1, 2, 3] and view["unanswered"] == [3]
    assert view["answers"][2] == right_tokens(view, 2)


def test_option_ids_are_places_in_the_attempts_own_order(quiz, member):
    attempt = engine.start_attempt(quiz, member, NOW)
    view = review.attempt_view(attempt, NOW, member)
    for question, row in zip(view["questions"], AttemptQuestion.select().where(AttemptQuestion.attempt == attempt)
                             .order_by(AttemptQuestion.position)):
        ids = [int(i) for i in row.option_order.split(",")]
        assert [o["id"] for o in question["options"]] == [str(i) for i in range(len(ids))]
        assert [o["text"] for o in question["options"]] == [Option.get_by_id(i).text for i in ids]


def test_score_level_shows_the_score_only(quiz, member):
    attempt = engine.start_attempt(quiz, member, NOW)
    view = review.attempt_view(attempt, NOW, member)
    engine.save_answers(attempt, member, {1: right_tokens(view, 1)}, 1, NOW)
    engine.submit_attempt(attempt, member, NOW)
    view = review.attempt_view(attempt, NOW + MINUTE, member)
    assert (view["state"], view["review"], view["score"], view["max_score"]) == ("finished", "score", 1.0, 3.0)
    assert leaks(view) == []
    assert view["answers"][1] == right_tokens(view, 1)  # the member's own answers are theirs to see


def test_correctness_level_shows_marks_but_not_the_right_options(make_quiz, make_question, member):
    quiz = make_quiz(questions=[make_question(explanation=EXPLANATION), make_question("multiple")],
                     review_after_submit="correctness")
    attempt = engine.start_attempt(quiz, member, NOW)
    engine.save_answers(attempt, member, {1: ["1"], 2: ["0"]}, 1, NOW)
    engine.submit_attempt(attempt, member, NOW)
    view = review.attempt_view(attempt, NOW, member)
    assert [(q["mark"], q["outcome"], q["correct"]) for q in view["questions"]] \
        == [(0.0, "wrong", False), (0.5, "partial", False)]
    assert [s for s in leaks(view) if s not in ('"correct"', '"mark"', '"outcome"')] == []
    assert all("correct" not in o for q in view["questions"] for o in q["options"])


def test_after_closing_the_answers_and_explanations_are_shown(quiz, member):
    attempt = engine.start_attempt(quiz, member, NOW)
    engine.save_answers(attempt, member, {3: ["1"]}, 1, NOW)
    engine.submit_attempt(attempt, member, NOW)
    view = review.attempt_view(attempt, quiz.closes_at, member)
    assert view["review"] == "answers"
    first, _, truefalse = view["questions"]
    assert first["explanation"] == EXPLANATION and first["correct"] is False
    assert [o["text"] for o in first["options"] if o["correct"]] == ["Năm 1930"]
    assert [(o["text"], o["chosen"], o["correct"]) for o in truefalse["options"]] \
        == [("Đúng", False, True), ("Sai", True, False)]


def test_an_organiser_sees_a_finished_attempt_in_full_and_a_stranger_nothing(quiz, member, make_user, committee, cell):
    attempt = engine.start_attempt(quiz, member, NOW)
    organiser = make_user(role="organiser", scope=committee)
    assert leaks(review.attempt_view(attempt, NOW, organiser)) == []  # in progress: nobody
    engine.submit_attempt(attempt, member, NOW)
    assert review.attempt_view(attempt, NOW, organiser)["review"] == "answers"
    with pytest.raises(NotFound):
        review.attempt_view(attempt, NOW, make_user(unit=cell))


def test_reading_an_overdue_attempt_finalises_it(make_quiz, member):
    quiz = make_quiz(time_limit_seconds=600)
    attempt = engine.start_attempt(quiz, member, NOW)
    engine.save_answers(attempt, member, {1: ["0"]}, 1, NOW)
    assert review.attempt_view(reload(attempt), NOW + 10 * MINUTE + engine.GRACE, member)["state"] == "in_progress"
    view = review.attempt_view(reload(attempt), NOW + 11 * MINUTE, member)
    assert (view["state"], view["score"], view["finished_at"]) == ("finished", 1.0, NOW + 10 * MINUTE)
    assert reload(attempt).state == "finished"


def test_a_survey_shows_answers_and_no_score(make_quiz, make_question, member):
    survey = make_quiz(questions=[make_question(explanation=EXPLANATION), make_question("text")], is_survey=True)
    attempt = engine.start_attempt(survey, member, NOW)
    engine.save_answers(attempt, member, {1: ["0"], 2: "Tốt"}, 1, NOW)
    engine.submit_attempt(attempt, member, NOW)
    view = review.attempt_view(attempt, NOW, member)
    assert (view["kind"], view["score"], view["answers"]) == ("survey", None, {1: ["0"], 2: "Tốt"})
    assert leaks(view) == []


def test_practice_feedback_is_only_for_the_question_checked(make_quiz, make_question, member):
    quiz = make_quiz(questions=[make_question(explanation=EXPLANATION), make_question("multiple")],
                     is_practice=True, shuffle_options=True)
    attempt = engine.start_attempt(quiz, member, NOW)
    view = review.attempt_view(attempt, NOW, member)
    engine.save_answers(attempt, member, {2: right_tokens(view, 2)}, 1, NOW)
    feedback = engine.check_answer(attempt, 2)
    assert (feedback["correct"], sorted(feedback["correct_options"])) == (True, sorted(right_tokens(view, 2)))
    view = review.attempt_view(attempt, NOW, member)
    # A reload shows the checked question's feedback again (its answer is now locked), and nothing else.
    assert view["questions"][1].pop("checked") == feedback
    assert leaks(view) == []


def test_a_submitted_anonymous_response_shows_nobody_its_answers(make_quiz, make_question, member):
    survey = make_quiz(questions=[make_question("text")], is_survey=True, is_anonymous=True)
    attempt = engine.start_attempt(survey, member, NOW)
    engine.save_answers(attempt, member, {1: "Cần thêm tài liệu"}, 1, NOW)
    assert review.attempt_view(attempt, NOW, member)["answers"] == {1: "Cần thêm tài liệu"}  # until submitted
    engine.submit_attempt(attempt, member, NOW)
    view = review.attempt_view(reload(attempt), NOW, member)
    assert (view["state"], view["anonymous"], view["questions"], view["answers"]) == ("finished", True, [], {})
    assert "Cần thêm tài liệu" not in json.dumps(view, default=str, ensure_ascii=False)
