"""The attempt engine: drawing, deadlines, refusals, saving, submitting, finalising, and racing requests."""

import contextlib
import datetime as dt
import random
import threading

import pytest

from portal import db as dbmod
from portal.errors import Conflict, DomainError, NotFound
from portal.quiz import cache, engine, review
from portal.quiz.models import Attempt, AttemptQuestion, Question, SurveyResponse
from tests.conftest import reload
from tests.quiz.conftest import NOW, right_tokens

MINUTE = dt.timedelta(minutes=1)


def refused(fn, *args):
    with pytest.raises(DomainError) as exc:
        fn(*args)
    return str(exc.value)


def rows(attempt):
    return list(AttemptQuestion.select().where(AttemptQuestion.attempt == attempt).order_by(AttemptQuestion.position))


@contextlib.contextmanager
def counting_queries():
    """Count the SQL statements run inside the block (BEGIN/COMMIT not included, nor PostgreSQL's PREPARE of a
    statement, which each connection runs once: the first request would otherwise count one more)."""
    db = dbmod.database.obj
    seen = []
    original = db.execute_sql

    def execute_sql(sql, params=None, *args, **kwargs):
        if not sql.startswith("PREPARE "):
            seen.append(sql)
        return original(sql, params, *args, **kwargs)

    db.execute_sql = execute_sql
    try:
        yield seen
    finally:
        del db.execute_sql


# -- start: drawing and deadlines ---------------------------------------------------------------

def test_start_draws_the_fixed_list_once_and_stores_it(make_quiz, member):
    quiz = make_quiz()
    attempt = engine.start_attempt(quiz, member, NOW)
    assert (attempt.number, attempt.state, attempt.started_at) == (1, "in_progress", NOW)
    stored = rows(attempt)
    assert [r.question_id for r in stored] == [qq.question_id for qq in quiz.fixed_questions]
    assert [r.position for r in stored] == [1, 2, 3]
    first = stored[0].question
    assert stored[0].option_order == ",".join(str(o.id) for o in sorted(first.options, key=lambda o: o.position))


def test_resume_returns_the_same_attempt_with_its_answers_and_deadline(make_quiz, member):
    quiz = make_quiz(shuffle_questions=True, shuffle_options=True, time_limit_seconds=1800)
    attempt = engine.start_attempt(quiz, member, NOW)
    view = review.attempt_view(attempt, NOW, member)
    engine.save_answers(attempt, member, {2: [view["questions"][1]["options"][3]["id"]]}, 1, NOW)
    again = engine.start_attempt(quiz, member, NOW + 5 * MINUTE)  # another device, later
    assert again.id == attempt.id and again.deadline_at == NOW + 30 * MINUTE
    assert [(r.question_id, r.option_order) for r in rows(again)] == [(r.question_id, r.option_order)
                                                                       for r in rows(attempt)]
    assert review.attempt_view(again, NOW + 5 * MINUTE, member)["answers"][2] == ["3"]
    assert Attempt.select().count() == 1


@pytest.mark.parametrize("limit, closes_in, deadline", [
    (1800, dt.timedelta(days=1), NOW + 30 * MINUTE),
    (1800, 10 * MINUTE, NOW + 10 * MINUTE),  # the close comes first
    (None, 10 * MINUTE, NOW + 10 * MINUTE),
    (None, None, None),
])
def test_deadline_is_the_earlier_of_limit_and_close(make_quiz, member, limit, closes_in, deadline):
    quiz = make_quiz(time_limit_seconds=limit, closes_at=NOW + closes_in if closes_in else None)
    assert engine.start_attempt(quiz, member, NOW).deadline_at == deadline


def test_draws_take_active_questions_of_the_topic_and_difficulty(make_quiz, make_topic, make_question, member):
    topic, other = make_topic(), make_topic()
    easy = {make_question(topic=topic, difficulty=1).id for _ in range(3)}
    hard = {make_question(topic=topic, difficulty=3).id for _ in range(4)}
    make_question(topic=topic, difficulty=1, active=False)
    make_question(topic=other, difficulty=1)
    make_question("text", topic=topic, difficulty=1)  # surveys only
    quiz = make_quiz(draws=[(topic, 3, None), (topic, 2, 1)], shuffle_questions=True)
    for seed in range(5):
        Attempt.delete().execute()
        drawn = [r.question_id for r in rows(engine.start_attempt(quiz, member, NOW, random.Random(seed)))]
        assert len(drawn) == len(set(drawn)) == 5
        assert set(drawn) <= easy | hard and len(set(drawn) & easy) >= 2


def test_draw_is_random_but_repeatable_with_a_seed(make_quiz, make_topic, make_question, member, make_user, cell):
    topic = make_topic()
    for _ in range(12):
        make_question(topic=topic)
    quiz = make_quiz(draws=[(topic, 5, None)], shuffle_questions=True, shuffle_options=True)
    other = make_user(unit=cell)
    first = rows(engine.start_attempt(quiz, member, NOW, random.Random(7)))
    same = rows(engine.start_attempt(quiz, other, NOW, random.Random(7)))
    assert [(r.question_id, r.option_order) for r in first] == [(r.question_id, r.option_order) for r in same]
    third = rows(engine.start_attempt(quiz, make_user(unit=cell), NOW, random.Random(8)))
    assert [r.question_id for r in third] != [r.question_id for r in first]


def test_true_false_keeps_its_order_when_options_are_shuffled(make_quiz, make_question, member):
    question = make_question("truefalse")
    quiz = make_quiz(questions=[question], shuffle_options=True)
    for seed in range(6):
        Attempt.delete().execute()
        row = rows(engine.start_attempt(quiz, member, NOW, random.Random(seed)))[0]
        assert [o.text for o in sorted(question.options, key=lambda o: row.option_order.split(",").index(str(o.id)))] \
            == ["Đúng", "Sai"]


def test_a_bank_too_small_for_the_draw_is_refused(make_quiz, make_topic, make_question, member):
    topic = make_topic()
    make_question(topic=topic)
    quiz = make_quiz(draws=[(topic, 2, None)])
    assert "không đủ câu hỏi" in refused(engine.start_attempt, quiz, member, NOW)
    assert Attempt.select().count() == 0


# -- start: who and when ------------------------------------------------------------------------

@pytest.mark.parametrize("fields, message", [
    ({"is_published": False}, "Bài thi hiện không mở."),
    ({"opens_at": NOW + MINUTE}, "Bài thi chưa mở."),
    ({"closes_at": NOW}, "Bài thi đã đóng."),
])
def test_start_is_refused_outside_the_window(make_quiz, member, fields, message):
    assert refused(engine.start_attempt, make_quiz(**fields), member, NOW) == message


def test_start_is_refused_outside_the_audience(make_quiz, make_unit, make_user, committee, cell, member):
    neighbour = make_unit("HV-DL", "Chi bộ thôn Đông Lâm", parent=committee)
    quiz = make_quiz(audience=[cell])
    assert engine.start_attempt(quiz, member, NOW).user_id == member.id
    outsider = make_user(unit=neighbour)
    assert refused(engine.start_attempt, quiz, outsider, NOW) == "Bài thi này không dành cho đơn vị của đồng chí."
    assert refused(engine.start_attempt, make_quiz(owner_unit=neighbour), member, NOW) \
        == "Bài thi này không dành cho đơn vị của đồng chí."


def test_attempts_allowed_are_counted(make_quiz, member):
    quiz = make_quiz(attempts_allowed=2)
    for number in (1, 2):
        attempt = engine.start_attempt(quiz, member, NOW)
        assert attempt.number == number
        engine.submit_attempt(attempt, member, NOW)
    assert refused(engine.start_attempt, quiz, member, NOW) == "Đồng chí đã dùng hết 2 lượt làm bài thi này."


@pytest.mark.parametrize("fields", [{"is_practice": True, "attempts_allowed": 1}, {"attempts_allowed": 0}])
def test_practice_and_unlimited_quizzes_never_run_out(make_quiz, member, fields):
    quiz = make_quiz(**fields)
    for _ in range(4):
        engine.submit_attempt(engine.start_attempt(quiz, member, NOW), member, NOW)
    assert engine.start_attempt(quiz, member, NOW).number == 5


def test_starting_after_an_overdue_attempt_finalises_it_first(make_quiz, member):
    quiz = make_quiz(attempts_allowed=2, time_limit_seconds=600)
    first = engine.start_attempt(quiz, member, NOW)
    later = NOW + 11 * MINUTE
    second = engine.start_attempt(quiz, member, later)
    assert second.number == 2 and reload(first).state == "finished"
    assert reload(first).finished_at == NOW + 10 * MINUTE


def test_an_overdue_last_attempt_is_finalised_and_no_other_starts(make_quiz, member):
    quiz = make_quiz(time_limit_seconds=600)
    first = engine.start_attempt(quiz, member, NOW)
    assert "hết 1 lượt" in refused(engine.start_attempt, quiz, member, NOW + 11 * MINUTE)
    assert reload(first).state == "finished" and reload(first).score == 0


# -- save ---------------------------------------------------------------------------------------

def test_save_applies_a_higher_seq_and_ignores_a_stale_one(make_quiz, member):
    quiz = make_quiz()
    attempt = engine.start_attempt(quiz, member, NOW)
    saved = engine.save_answers(attempt, member, {1: ["0"], 2: ["1"]}, 5, NOW)
    assert (saved.applied, saved.seq, saved.answers) == (True, 5, {1: ["0"], 2: ["1"], 3: []})
    stale = engine.save_answers(reload(attempt), member, {1: ["2"]}, 4, NOW)  # an old tab
    assert (stale.applied, stale.seq, stale.answers[1]) == (False, 5, ["0"])
    replay = engine.save_answers(reload(attempt), member, {1: ["3"]}, 5, NOW)
    assert not replay.applied and review.attempt_view(reload(attempt), NOW, member)["answers"][1] == ["0"]


def test_a_stale_object_cannot_apply_an_old_seq(make_quiz, member):
    """Two requests loaded the attempt at seq 0; the one with seq 7 lands first."""
    attempt = engine.start_attempt(make_quiz(), member, NOW)
    tab_a, tab_b = reload(attempt), reload(attempt)
    assert engine.save_answers(tab_b, member, {1: ["1"]}, 7, NOW).applied
    result = engine.save_answers(tab_a, member, {1: ["2"]}, 6, NOW)
    assert (result.applied, result.seq, result.answers[1]) == (False, 7, ["1"])


def test_a_higher_seq_read_before_another_save_landed_rereads_and_wins(make_quiz, member):
    """Tab A read the attempt at seq 0; tab B's seq 3 lands; A's seq 5 must still set every answer it sends,
    even one equal to what A would have seen (the rows are read again inside the write lock)."""
    attempt = engine.start_attempt(make_quiz(), member, NOW)
    tab_a = reload(attempt)
    assert engine.save_answers(reload(attempt), member, {1: ["1"], 2: ["2"]}, 3, NOW).applied
    result = engine.save_answers(tab_a, member, {1: [], 2: ["2"]}, 5, NOW)
    assert (result.applied, result.seq, result.answers[1], result.answers[2]) == (True, 5, [], ["2"])
    assert review.attempt_view(reload(attempt), NOW, member)["answers"][1] == []


def test_save_writes_only_changed_answers_in_few_queries(make_quiz, make_question, member):
    quiz = make_quiz(questions=[make_question() for _ in range(30)])
    attempt = engine.start_attempt(quiz, member, NOW)
    everything = {p: ["0"] for p in range(1, 31)}
    engine.save_answers(attempt, member, everything, 1, NOW)
    with counting_queries() as queries:
        engine.save_answers(attempt, member, {**everything, 7: ["2"]}, 2, NOW)
    # read the rows; claim the seq and store the changed answer (on PostgreSQL in one statement)
    assert len(queries) == (3 if dbmod.is_sqlite() else 2), queries
    assert rows(attempt)[6].answer == rows(attempt)[6].option_order.split(",")[2]


def test_save_refuses_options_that_are_not_the_questions(make_quiz, make_question, member):
    multiple = make_question("multiple")
    attempt = engine.start_attempt(make_quiz(questions=[make_question(), multiple]), member, NOW)
    db_id = str(rows(attempt)[0].option_order.split(",")[0])
    assert refused(engine.save_answers, attempt, member, {1: ["4"]}, 1, NOW) \
        == "Câu 1: 4 không phải là một phương án của câu này."
    assert "không phải là một phương án" in refused(engine.save_answers, attempt, member, {1: [db_id]}, 1, NOW)
    assert refused(engine.save_answers, attempt, member, {1: ["0", "1"]}, 1, NOW) \
        == "Câu 1: chỉ được chọn một phương án."
    assert refused(engine.save_answers, attempt, member, {3: ["0"]}, 1, NOW) == "Bài làm không có câu 3."
    assert reload(attempt).last_seq == 0 and rows(attempt)[0].answer == ""  # nothing half-written
    assert engine.save_answers(attempt, member, {2: ["1", "0"]}, 1, NOW).answers[2] == ["0", "1"]


def test_save_is_refused_after_the_deadline_and_grace(make_quiz, member):
    quiz = make_quiz(time_limit_seconds=600)
    attempt = engine.start_attempt(quiz, member, NOW)
    deadline = NOW + 10 * MINUTE
    assert engine.save_answers(attempt, member, {1: ["0"]}, 1, deadline + engine.GRACE).applied  # in the grace
    with pytest.raises(Conflict) as exc:
        engine.save_answers(attempt, member, {2: ["0"]}, 2, deadline + engine.GRACE + dt.timedelta(seconds=1))
    assert "Đã hết giờ làm bài" in str(exc.value)
    finished = reload(attempt)
    assert (finished.state, finished.score, finished.finished_at) == ("finished", 1.0, deadline)
    assert rows(attempt)[1].answer == ""  # the late answer was never stored


def test_save_is_refused_on_a_finished_attempt_or_by_someone_else(make_quiz, member, make_user, cell):
    attempt = engine.start_attempt(make_quiz(), member, NOW)
    with pytest.raises(NotFound):
        engine.save_answers(attempt, make_user(unit=cell), {1: ["0"]}, 1, NOW)
    engine.submit_attempt(attempt, member, NOW)
    assert refused(engine.save_answers, attempt, member, {1: ["0"]}, 9, NOW) \
        == "Bài làm đã nộp; không thể thay đổi câu trả lời nữa."
    stale_tab = Attempt.get_by_id(attempt.id)
    stale_tab.state = "in_progress"  # loaded before the submit
    with pytest.raises(Conflict):
        engine.save_answers(stale_tab, member, {1: ["1"]}, 10, NOW)
    assert reload(attempt).last_seq == 0


# -- submit and finalise ------------------------------------------------------------------------

def test_submit_grades_saved_answers_once(make_quiz, make_question, member):
    quiz = make_quiz(questions=[make_question(), make_question("multiple"), make_question("truefalse")])
    attempt = engine.start_attempt(quiz, member, NOW)
    view = review.attempt_view(attempt, NOW, member)
    engine.save_answers(attempt, member, {1: right_tokens(view, 1), 2: right_tokens(view, 2)[:1], 3: ["1"]}, 1, NOW)
    engine.submit_attempt(attempt, member, NOW + MINUTE)
    done = reload(attempt)
    assert (done.state, done.score, done.max_score, done.finished_at) == ("finished", 1.5, 3.0, NOW + MINUTE)
    assert [r.mark for r in rows(attempt)] == [1.0, 0.5, 0.0]
    again = engine.submit_attempt(reload(attempt), member, NOW + 2 * MINUTE)
    assert (again.score, reload(attempt).finished_at) == (1.5, NOW + MINUTE)


def test_two_concurrent_submits_score_once(make_quiz, member):
    attempt = engine.start_attempt(make_quiz(), member, NOW)
    engine.save_answers(attempt, member, {1: ["0"]}, 1, NOW)
    tab_a, tab_b = reload(attempt), reload(attempt)
    engine.submit_attempt(tab_a, member, NOW)
    AttemptQuestion.update(answer="").execute()  # had tab_b graded again it would now score 0
    result = engine.submit_attempt(tab_b, member, NOW + MINUTE)
    assert (result.state, result.score, result.finished_at) == ("finished", 1.0, NOW)


def test_submit_after_the_grace_finalises_on_the_saved_answers(make_quiz, member):
    attempt = engine.start_attempt(make_quiz(time_limit_seconds=300), member, NOW)
    engine.save_answers(attempt, member, {1: ["0"], 2: ["0"]}, 1, NOW + MINUTE)
    late = NOW + dt.timedelta(hours=1)
    done = engine.submit_attempt(attempt, member, late)
    assert (done.state, done.score, done.finished_at) == ("finished", 2.0, NOW + 5 * MINUTE)


def test_finalise_overdue_finishes_only_attempts_past_deadline_and_grace(make_quiz, member, make_user, cell):
    timed = make_quiz(time_limit_seconds=600)
    untimed = make_quiz(closes_at=None)
    overdue = engine.start_attempt(timed, member, NOW)
    engine.save_answers(overdue, member, {3: ["0"]}, 1, NOW)
    in_grace = engine.start_attempt(timed, make_user(unit=cell), NOW + 5 * dt.timedelta(seconds=1))
    endless = engine.start_attempt(untimed, member, NOW)
    check = NOW + 10 * MINUTE + engine.GRACE + dt.timedelta(seconds=1)
    assert engine.finalise_overdue(check) == 1
    assert (reload(overdue).state, reload(overdue).score) == ("finished", 1.0)
    assert reload(in_grace).state == reload(endless).state == "in_progress"
    assert engine.finalise_overdue(check) == 0


def test_start_save_submit_are_a_few_queries(make_quiz, make_topic, make_question, member):
    topic = make_topic()
    for _ in range(30):
        make_question(topic=topic)
    quiz = make_quiz(draws=[(topic, 30, None)], shuffle_questions=True, shuffle_options=True)
    engine.start_attempt(quiz, member, NOW)  # warms the question cache
    Attempt.delete().execute()
    with counting_queries() as start:
        attempt = engine.start_attempt(quiz, member, NOW)
    with counting_queries() as save:
        engine.save_answers(attempt, member, {p: ["0"] for p in range(1, 31)}, 1, NOW)
    with counting_queries() as submit:
        engine.submit_attempt(attempt, member, NOW)
    assert len(start) <= 9, start
    # every answer changed: read the rows, claim the seq, 30 updates (on PostgreSQL the last 31 in one statement)
    assert len(save) == (32 if dbmod.is_sqlite() else 2), save
    assert len(submit) <= 6, submit


# -- surveys ------------------------------------------------------------------------------------

def test_a_survey_takes_one_response_per_member(make_quiz, make_question, member):
    survey = make_quiz(questions=[make_question(), make_question("text")], is_survey=True, attempts_allowed=5)
    attempt = engine.start_attempt(survey, member, NOW)
    engine.save_answers(attempt, member, {1: ["2"], 2: "  Nên tổ chức  sinh hoạt chuyên đề hằng quý. "}, 1, NOW)
    engine.submit_attempt(attempt, member, NOW)
    done = reload(attempt)
    assert (done.user_id, done.score, done.max_score) == (member.id, None, None)
    assert rows(attempt)[1].answer_text == "Nên tổ chức  sinh hoạt chuyên đề hằng quý."
    assert SurveyResponse.select().where(SurveyResponse.user == member).count() == 1
    assert refused(engine.start_attempt, survey, member, NOW) == "Đồng chí đã trả lời khảo sát này."


def test_an_anonymous_survey_forgets_whose_answers_they_are(make_quiz, make_question, member):
    survey = make_quiz(questions=[make_question("text")], is_survey=True, is_anonymous=True)
    attempt = engine.start_attempt(survey, member, NOW + dt.timedelta(hours=3, minutes=7))
    assert attempt.user_id == member.id  # resumable while in progress
    engine.save_answers(attempt, member, {1: "Rất bổ ích"}, 99, NOW + dt.timedelta(hours=3, minutes=8))
    engine.submit_attempt(attempt, member, NOW + dt.timedelta(hours=3, minutes=9))
    done = reload(attempt)
    assert (done.user_id, done.started_at, done.finished_at, done.last_seq) == (None, dt.datetime(2025, 3, 1),
                                                                               dt.datetime(2025, 3, 1), 0)
    assert rows(attempt)[0].answered_at is None and rows(attempt)[0].answer_text == "Rất bổ ích"
    response = SurveyResponse.get(SurveyResponse.quiz == survey)
    assert (response.user_id, response.responded_at) == (member.id, dt.datetime(2025, 3, 1))
    assert refused(engine.start_attempt, survey, member, NOW) == "Đồng chí đã trả lời khảo sát này."


def test_a_survey_choice_question_takes_opinions_and_grades_nothing(make_quiz, make_question, member):
    opinions = [("Sinh hoạt chuyên đề", 0), ("Tài liệu", 0), ("Thi trực tuyến", 0)]
    survey = make_quiz(questions=[make_question("survey_single", [("Rất bổ ích", 0), ("Bổ ích", 0)]),
                                  make_question("survey_multiple", opinions)], is_survey=True)
    attempt = engine.start_attempt(survey, member, NOW)
    assert refused(engine.save_answers, attempt, member, {1: ["0", "1"]}, 1, NOW) == "Câu 1: chỉ được chọn một phương án."
    engine.save_answers(attempt, member, {1: ["0"], 2: ["0", "2"]}, 2, NOW)
    engine.submit_attempt(attempt, member, NOW)
    assert [r.mark for r in rows(attempt)] == [None, None] and reload(attempt).score is None
    view = review.attempt_view(reload(attempt), NOW, member)
    assert view["questions"][1]["multiple"] and view["questions"][1]["answer"] == ["0", "2"]
    assert "correct" not in view["questions"][0]


def test_a_quiz_refuses_text_for_a_choice_and_a_list_for_text(make_quiz, make_question, member):
    survey = make_quiz(questions=[make_question(), make_question("text")], is_survey=True)
    attempt = engine.start_attempt(survey, member, NOW)
    assert refused(engine.save_answers, attempt, member, {1: "Năm 1930"}, 1, NOW) \
        == "Câu 1: hãy chọn trong các phương án."
    assert refused(engine.save_answers, attempt, member, {2: ["0"]}, 1, NOW) == "Câu 2: hãy viết câu trả lời."


# -- practice and results -----------------------------------------------------------------------

def test_check_answer_only_in_practice_and_after_answering(make_quiz, make_question, member):
    question = make_question(explanation="Đảng ra đời ngày 3/2/1930.")
    practice = make_quiz(questions=[question, make_question()], is_practice=True)
    attempt = engine.start_attempt(practice, member, NOW)
    assert refused(engine.check_answer, attempt, 1) == "Hãy trả lời câu 1 trước."
    engine.save_answers(attempt, member, {1: ["1"]}, 1, NOW)
    feedback = engine.check_answer(attempt, 1)
    assert (feedback["correct"], feedback["correct_options"]) == (False, ["0"])
    assert feedback["explanation"] == "Đảng ra đời ngày 3/2/1930."
    assert feedback["feedback"] == {"1": "Nhận xét Năm 1945"}
    exam = make_quiz()
    assert refused(engine.check_answer, engine.start_attempt(exam, member, NOW), 1) \
        == "Chỉ bài ôn tập mới được kiểm tra đáp án từng câu."


def test_a_checked_practice_answer_is_locked(make_quiz, make_question, member):
    practice = make_quiz(questions=[make_question(), make_question()], is_practice=True)
    attempt = engine.start_attempt(practice, member, NOW)
    engine.save_answers(attempt, member, {1: ["1"]}, 1, NOW)
    assert engine.check_answer(attempt, 1)["correct"] is False
    # Now knowing the right option, the member tries to change to it: the checked answer stays.
    saved = engine.save_answers(attempt, member, {1: ["0"], 2: ["0"]}, 2, NOW)
    assert saved.answers == {1: ["1"], 2: ["0"]}
    assert engine.check_answer(attempt, 1)["correct"] is False  # checking again changes nothing
    view = review.attempt_view(reload(attempt), NOW, member)
    assert view["questions"][0]["checked"]["correct_options"] == ["0"] and "checked" not in view["questions"][1]
    engine.submit_attempt(attempt, member, NOW)
    assert [r.mark for r in rows(attempt)] == [0.0, 1.0]


def test_best_result_follows_the_grading_method(make_quiz, member):
    quiz = make_quiz(attempts_allowed=0, grading_method="first")
    for answers in ({1: ["0"]}, {1: ["0"], 2: ["0"], 3: ["0"]}, {}):
        attempt = engine.start_attempt(quiz, member, NOW)
        engine.save_answers(attempt, member, answers, 1, NOW)
        engine.submit_attempt(attempt, member, NOW)
    engine.start_attempt(quiz, member, NOW)  # in progress: not counted
    scores = {}
    for method in ("highest", "first", "last", "average"):
        quiz.grading_method = method
        scores[method] = engine.best_result(quiz, member).score
    assert scores == {"highest": 3.0, "first": 1.0, "last": 0.0, "average": 1.3333}


# -- racing requests ----------------------------------------------------------------------------

def race(app, n, fn):
    """Run fn(i) in n threads released at once; return what each returned or raised."""
    barrier = threading.Barrier(n)
    results = [None] * n

    def run(i):
        with app.app_context():
            try:
                barrier.wait()
                results[i] = fn(i)
            except Exception as exc:  # noqa: BLE001 (reported to the test)
                results[i] = exc
            finally:
                dbmod.database.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_an_edit_in_place_racing_a_start_becomes_a_new_version(app, make_quiz, make_question, member, monkeypatch):
    """The start has drawn the unused question but not committed when the organiser saves an edit."""
    from portal.quiz import questions as q_ops

    question = make_question(text="Đảng Cộng sản Việt Nam ra đời năm nào?")
    quiz = make_quiz(questions=[question])
    drawn, go = threading.Event(), threading.Event()
    real_load = cache.load

    def load_slowly(ids, **kw):
        drawn.set()
        go.wait(10)
        return real_load(ids, **kw)

    monkeypatch.setattr(cache, "load", load_slowly)
    edited = q_ops.QuestionInput.of(question)
    edited.text = "Đảng Cộng sản Việt Nam được thành lập vào năm nào?"

    def act(i):
        if i == 0:
            return engine.start_attempt(quiz, member, NOW).id
        drawn.wait(10)
        threading.Timer(0.3, go.set).start()  # the edit is under way (waiting) when the start goes on
        return q_ops.update_question(None, Question.get_by_id(question.id), edited).id

    attempt_id, version_id = race(app, 2, act)
    assert version_id != question.id  # the edit made a new version
    assert reload(question).is_active is False
    assert AttemptQuestion.get(AttemptQuestion.attempt == attempt_id).question_id == question.id
    assert reload(question).text == "Đảng Cộng sản Việt Nam ra đời năm nào?"  # as the attempt showed it


def test_ten_racing_starts_make_one_attempt(app, make_quiz, member):
    quiz = make_quiz(attempts_allowed=1)
    results = race(app, 10, lambda i: engine.start_attempt(quiz, member, NOW).id)
    assert Attempt.select().count() == 1
    assert results == [Attempt.get().id] * 10


def test_a_start_that_loses_the_race_returns_the_winners_attempt(make_quiz, member, monkeypatch):
    """On PostgreSQL a transaction may not yet see the winner's row: its insert then hits the unique index."""
    quiz = make_quiz()
    winner = engine.start_attempt(quiz, member, NOW)
    real, calls = engine._latest, []

    def not_seen_yet(quiz, user):
        calls.append(1)
        return None if len(calls) <= 2 else real(quiz, user)

    monkeypatch.setattr(engine, "_latest", not_seen_yet)
    assert engine.start_attempt(quiz, member, NOW).id == winner.id
    assert Attempt.select().count() == 1 and len(calls) == 3


def test_ten_racing_starts_are_all_refused_when_attempts_are_used(app, make_quiz, member):
    quiz = make_quiz(attempts_allowed=1)
    engine.submit_attempt(engine.start_attempt(quiz, member, NOW), member, NOW)
    results = race(app, 10, lambda i: engine.start_attempt(quiz, member, NOW))
    assert all(isinstance(r, DomainError) and "hết 1 lượt" in str(r) for r in results), results
    assert Attempt.select().count() == 1


def test_racing_submits_and_saves_score_once(app, make_quiz, member):
    attempt = engine.start_attempt(make_quiz(), member, NOW)
    engine.save_answers(attempt, member, {1: ["0"]}, 1, NOW)

    def submit_or_save(i):
        tab = Attempt.get_by_id(attempt.id)
        if i % 2:
            return engine.submit_attempt(tab, member, NOW).score
        return engine.save_answers(tab, member, {2: ["0"]}, 10 + i, NOW).applied

    results = race(app, 10, submit_or_save)
    finished = reload(attempt)
    assert finished.state == "finished"
    assert [results[i] for i in range(1, 10, 2)] == [finished.score] * 5
    assert not [r for r in results if isinstance(r, Exception) and not isinstance(r, Conflict)], results
    second = rows(attempt)[1]
    assert second.mark == (1.0 if second.answer else 0.0)  # the score is of the answers stored in time
    assert finished.score == 1.0 + second.mark
    assert cache.load([rows(attempt)[0].question_id])  # the drawn questions are cached
