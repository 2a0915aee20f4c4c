"""Quiz set-up: validation, draws the banks can fill, fixed lists, publishing."""

import dataclasses
import datetime as dt

import pytest

from portal.accounts.models import AuditLog
from portal.errors import DomainError
from portal.quiz import questions as q_ops
from portal.quiz import setup
from portal.quiz.models import Attempt, Question, QuizAudience, QuizDraw, QuizQuestion
from portal.quiz.questions import OptionInput, QuestionInput
from portal.quiz.setup import DrawInput, QuizInput
from tests.conftest import reload
from tests.quiz.test_topics_questions import district, make_question, make_topic, single  # noqa: F401

NOW = dt.datetime(2025, 3, 1, 1, 0)  # UTC


@pytest.fixture
def bank(make_topic, make_question):
    """A topic with 3 easy and 2 hard questions."""
    topic = make_topic(code="CD2025")
    for level in (1, 1, 1, 3, 3):
        make_question(topic, difficulty=level)
    return topic


def quiz_input(owner, **kw):
    return QuizInput(**{"title": "Thi tìm hiểu Nghị quyết", "owner_unit": owner, **kw})


def refused(actor, data):
    with pytest.raises(DomainError) as exc:
        setup.create_quiz(actor, data)
    return exc.value


def test_create_quiz_with_audience_and_draws(district, make_unit, bank, make_user):
    cell = make_unit("HU-T1", "Chi bộ thôn Một", parent=district)
    organiser = make_user(role="organiser", scope=district)
    quiz = setup.create_quiz(organiser, quiz_input(
        district, audience=[cell, cell], draws=[DrawInput(bank, "2", 1), DrawInput(bank, 2)],
        time_limit_minutes="15", opens_at=NOW, closes_at=NOW + dt.timedelta(days=7), attempts_allowed="3",
        grading_method="last"), address="10.0.0.2", now=NOW)
    assert quiz.time_limit_seconds == 900 and quiz.attempts_allowed == 3 and not quiz.is_published
    assert [a.unit_id for a in QuizAudience.select().where(QuizAudience.quiz == quiz)] == [cell.id]
    assert [(d.count, d.difficulty) for d in QuizDraw.select().where(QuizDraw.quiz == quiz).order_by(QuizDraw.position)] \
        == [(2, 1), (2, None)]
    entry = AuditLog.get(AuditLog.action == "quiz.create")
    assert entry.actor_id == organiser.id and "CD2025 × 2 (1)" in entry.details
    assert setup.question_total(QuizInput.of(quiz)) == 4


@pytest.mark.parametrize("overrides, field, text", [
    ({"title": "  "}, "title", "Tên bài thi: "),
    ({"time_limit_minutes": "0"}, "time_limit_minutes", "Thời gian làm bài: "),
    ({"time_limit_minutes": "mười"}, "time_limit_minutes", "Thời gian làm bài: "),
    ({"attempts_allowed": "-1"}, "attempts_allowed", "Số lần được làm: "),
    ({"opens_at": NOW, "closes_at": NOW}, "closes_at", "thời điểm đóng phải sau thời điểm mở"),
    ({"review_after_submit": "answers", "review_after_close": "score"}, "review_after_close", "ít nhất bằng"),
    ({"grading_method": "best"}, "grading_method", "Cách tính điểm: "),
    ({"kind": "contest"}, "kind", "Loại: "),
])
def test_settings_are_checked_with_the_field_named(district, bank, overrides, field, text):
    error = refused(None, quiz_input(district, draws=[DrawInput(bank, 1)], **overrides))
    assert error.field == field and text in str(error)


def test_audience_must_lie_under_the_owner(district, make_unit, bank):
    elsewhere = make_unit("X1", "Chi bộ nơi khác")
    error = refused(None, quiz_input(district, audience=[elsewhere]))
    assert error.field == "audience" and "Chi bộ nơi khác không thuộc đơn vị chủ quản" in str(error)


def test_organiser_cannot_use_units_or_topics_outside_scope(district, make_unit, make_topic, make_user, bank):
    other = make_unit("HV", "Đảng bộ huyện khác", "committee")
    organiser = make_user(role="organiser", scope=other)
    assert refused(organiser, quiz_input(district)).field == "owner_unit"
    error = refused(organiser, quiz_input(other, draws=[DrawInput(bank, 1)]))
    assert error.field == "draws" and "Dòng rút câu hỏi 1: hãy chọn chuyên đề" in str(error)


@pytest.mark.parametrize("draws, ok", [
    ([(3, 1), (2, 3)], True),
    ([(5, None)], True),
    ([(4, 1)], False),
    ([(3, None), (3, 3)], False),  # hard questions suffice, the whole topic does not
    ([(2, 1), (2, 1)], False),  # two rows of the same level add up
    ([(1, 2)], False),
])
def test_draws_must_be_fillable_from_active_questions(district, bank, draws, ok):
    data = quiz_input(district, draws=[DrawInput(bank, n, level) for n, level in draws])
    if ok:
        setup.create_quiz(None, data)
    else:
        error = refused(None, data)
        assert error.field == "draws" and "chuyên đề chỉ có" in str(error)


def test_draw_message_names_row_topic_and_level(district, bank):
    error = refused(None, quiz_input(district, draws=[DrawInput(bank, 1), DrawInput(bank, 4, 1)]))
    assert str(error) == ("Dòng rút câu hỏi 2 (CD2025, Dễ): chuyên đề chỉ có 3 câu hỏi đang dùng phù hợp, "
                          "cần 4 câu.")


@pytest.mark.parametrize("kind", ["text", "survey_single", "survey_multiple"])
def test_retired_and_survey_questions_do_not_count_for_a_graded_quiz(district, bank, kind):
    options = [] if kind == "text" else [OptionInput("Rất bổ ích"), OptionInput("Bổ ích")]
    q_ops.create_question(None, bank, QuestionInput(kind=kind, text="Góp ý của đồng chí?", options=options,
                                                    difficulty=1))
    q_ops.retire_question(None, Question.get(Question.topic == bank, Question.difficulty == 3))
    assert refused(None, quiz_input(district, draws=[DrawInput(bank, 5)])).field == "draws"
    setup.create_quiz(None, quiz_input(district, kind="survey", draws=[DrawInput(bank, 5)]))


def test_draws_and_a_fixed_list_are_exclusive(district, bank, make_question):
    question = make_question(bank)
    error = refused(None, quiz_input(district, draws=[DrawInput(bank, 1)], fixed_questions=[question.id]))
    assert error.field == "draws" and "không dùng cả hai" in str(error)


def test_fixed_list_keeps_its_order(district, bank, make_question):
    a, b = make_question(bank), make_question(bank)
    quiz = setup.create_quiz(None, quiz_input(district, fixed_questions=[b.id, a.id]))
    assert [q.id for q in setup.fixed_questions(quiz)] == [b.id, a.id]


@pytest.mark.parametrize("problem, text", [
    ("retired", "đã ngừng dùng"),
    ("twice", "bị ghi hai lần"),
    ("missing", "không có câu hỏi số 99999"),
])
def test_fixed_list_problems_name_the_question(district, bank, make_question, problem, text):
    question = make_question(bank)
    ids = {"retired": [question.id], "twice": [question.id, question.id], "missing": [99999]}[problem]
    if problem == "retired":
        q_ops.retire_question(None, question)
    error = refused(None, quiz_input(district, fixed_questions=ids))
    assert error.field == "fixed_questions" and text in str(error)


def test_practice_is_unlimited_and_a_survey_takes_one_response(district, bank):
    practice = setup.create_quiz(None, quiz_input(district, kind="practice", attempts_allowed="3",
                                                  draws=[DrawInput(bank, 1)], is_anonymous=True))
    survey = setup.create_quiz(None, quiz_input(district, kind="survey", attempts_allowed="5", is_anonymous=True,
                                                draws=[DrawInput(bank, 1)]))
    assert (practice.is_practice, practice.attempts_allowed, practice.is_anonymous) == (True, 0, False)
    assert (survey.is_survey, survey.attempts_allowed, survey.is_anonymous) == (True, 1, True)


def test_update_returns_changes_and_keeps_the_kind_once_started(district, bank, make_user):
    quiz = setup.create_quiz(None, quiz_input(district, draws=[DrawInput(bank, 2)]))
    stored = QuizInput.of(quiz)
    assert setup.update_quiz(None, quiz, stored) == {}
    changes = setup.update_quiz(None, quiz, dataclasses.replace(stored, title="Tên mới"))
    assert changes == {"title": ["Thi tìm hiểu Nghị quyết", "Tên mới"]}
    Attempt.create(quiz=quiz, user=make_user(), number=1, started_at=NOW)
    with pytest.raises(DomainError, match="không đổi loại được nữa"):
        setup.update_quiz(None, quiz, dataclasses.replace(QuizInput.of(quiz), kind="practice"))
    setup.update_quiz(None, quiz, dataclasses.replace(QuizInput.of(quiz), time_limit_minutes=20))
    assert reload(quiz).time_limit_seconds == 1200


def test_publish_needs_questions_and_a_closing_time_ahead(district, bank):
    empty = setup.create_quiz(None, quiz_input(district))
    with pytest.raises(DomainError, match="hãy thêm dòng rút câu hỏi"):
        setup.publish(None, empty, now=NOW)
    closed = setup.create_quiz(None, quiz_input(district, draws=[DrawInput(bank, 1)],
                                                closes_at=NOW - dt.timedelta(minutes=1)))
    with pytest.raises(DomainError, match="thời điểm đóng đã qua"):
        setup.publish(None, closed, now=NOW)
    assert not reload(closed).is_published


def test_publish_rechecks_the_banks(district, bank):
    quiz = setup.create_quiz(None, quiz_input(district, draws=[DrawInput(bank, 2, 3)]))
    q_ops.retire_question(None, Question.get(Question.topic == bank, Question.difficulty == 3))
    with pytest.raises(DomainError, match="chỉ có 1 câu hỏi"):
        setup.publish(None, quiz, now=NOW)


def test_publish_and_unpublish_are_audited(district, bank, make_user):
    organiser = make_user(role="organiser", scope=district)
    quiz = setup.create_quiz(organiser, quiz_input(district, draws=[DrawInput(bank, 1)]))
    setup.publish(organiser, quiz, now=NOW)
    assert reload(quiz).is_published and reload(quiz).is_open(NOW)
    setup.unpublish(organiser, quiz)
    assert not reload(quiz).is_published
    actions = [e.action for e in AuditLog.select().where(AuditLog.actor == organiser).order_by(AuditLog.id)]
    assert actions == ["quiz.create", "quiz.publish", "quiz.unpublish"]


def test_a_fixed_question_cannot_be_retired_but_a_new_version_takes_its_place(district, bank, make_question):
    question = make_question(bank)
    quiz = setup.create_quiz(None, quiz_input(district, fixed_questions=[question.id]))
    with pytest.raises(DomainError):
        q_ops.retire_question(None, question)
    assert [qq.question_id for qq in QuizQuestion.select().where(QuizQuestion.quiz == quiz)] == [question.id]
