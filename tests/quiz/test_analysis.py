"""Organiser results and item analysis, on small attempt sets whose statistics are worked out by hand."""

import dataclasses
import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from portal.quiz import analysis, engine
from portal.quiz import questions as question_ops
from portal.quiz.models import Attempt
from tests.quiz.conftest import NOW

MINUTE = dt.timedelta(minutes=1)
A, B, C = "0", "1", "2"  # option tokens; options are not shuffled, so "0" is the author's A


def sit(quiz, user, answers, start=NOW, minutes=5):
    """Start, answer ({position: [tokens]}) and submit an attempt taking ``minutes``."""
    attempt = engine.start_attempt(quiz, user, start)
    if answers:
        engine.save_answers(attempt, user, answers, attempt.last_seq + 1, start + MINUTE)
    engine.submit_attempt(attempt, user, start + minutes * MINUTE)
    return attempt


@pytest.fixture
def cells(make_unit, committee):
    return make_unit("HV-A", "Chi bộ thôn A", parent=committee), make_unit("HV-B", "Chi bộ thôn B", parent=committee)


@pytest.fixture
def people(make_user, cells):
    """Four members, two per cell, named so that they sort in order."""
    a, b = cells
    return [make_user(unit=unit, full_name=f"Đảng viên {n}") for n, unit in zip("1234", (a, a, b, b))]


@pytest.fixture
def guttman(make_question, make_quiz, people):
    """Three questions; member 1 gets all three right, member 2 two, member 3 one, member 4 none.

        marks      Q1 Q2 Q3  total
        member 1    1  1  1    3
        member 2    1  1  0    2
        member 3    1  0  0    1
        member 4    0  0  0    0   (leaves Q3 blank)

    Member 1 then makes a second attempt with everything wrong, which the
    item analysis must ignore (first attempts only).
    """
    quiz = make_quiz(questions=[make_question("single"), make_question("truefalse"), make_question("single")],
                     attempts_allowed=0, grading_method="highest")
    m1, m2, m3, m4 = people
    sit(quiz, m1, {1: [A], 2: [A], 3: [A]}, minutes=4)
    sit(quiz, m2, {1: [A], 2: [A], 3: [B]}, minutes=6)
    sit(quiz, m3, {1: [A], 2: [B], 3: [C]}, minutes=8)
    sit(quiz, m4, {1: [B], 2: [B]}, minutes=10)
    sit(quiz, m1, {1: [B], 2: [B], 3: [B]}, start=NOW + 60 * MINUTE, minutes=3)
    return quiz


# -- item analysis ------------------------------------------------------------------------------

def test_item_statistics_match_the_hand_computation(guttman):
    stats = analysis.item_analysis(guttman)
    assert stats.attempts == 4  # member 1's second attempt is not counted
    q1, q2, q3 = stats.questions
    assert [q.number for q in stats.questions] == [1, 2, 3]
    assert [q.attempts for q in stats.questions] == [4, 4, 4]
    assert [q.answered for q in stats.questions] == [4, 4, 3]
    # Facility: the mean mark. Q1 3/4, Q2 2/4, Q3 1/4.
    assert (q1.facility, q2.facility, q3.facility) == pytest.approx((75, 50, 25))
    # SD (n - 1): Q1 marks 1,1,1,0: squared deviations 3 × 1/16 + 9/16 = 3/4, / 3 = 1/4, sd 1/2.
    # Q2 1,1,0,0: 4 × 1/4 = 1, / 3, sd = 0.57735. Q3 1,0,0,0: like Q1, sd 1/2.
    assert (q1.sd, q2.sd, q3.sd) == pytest.approx((50, 57.735, 50), abs=1e-3)
    # Discrimination: correlation of the mark with the rest of the attempt.
    # Q1 rest 2,1,0,0: Sxy = 3/4, Sxx = 3/4, Syy = 11/4, r = 0.75 / sqrt(0.75 × 2.75) = 0.52223.
    # Q2 rest 2,1,1,0: Sxy = 1, Sxx = 1, Syy = 2, r = 1 / sqrt(2) = 0.70711.
    # Q3 rest 2,2,1,0: Sxy = 3/4, Sxx = 3/4, Syy = 11/4, r = 0.52223.
    assert (q1.discrimination, q2.discrimination, q3.discrimination) == pytest.approx((52.223, 70.711, 52.223),
                                                                                      abs=1e-3)
    assert [q.flags for q in stats.questions] == [[], [], []]
    assert q1.discrimination_band.key == "very_good" and q2.facility_band.key == "about_right"


def test_test_statistics_match_the_hand_computation(guttman):
    stats = analysis.item_analysis(guttman)
    # Scores 3, 2, 1, 0 of 3: 100, 66.7, 33.3, 0 percent.
    assert stats.mean == pytest.approx(50)
    assert stats.median == pytest.approx(50)
    # Totals: mean 1.5, squared deviations 2.25 + 0.25 + 0.25 + 2.25 = 5, / 3, sd 1.29099 of 3 = 43.033%.
    assert stats.sd == pytest.approx(43.033, abs=1e-3)
    # Alpha: item variances 1/4 + 1/3 + 1/4 = 5/6, total variance 5/3: 3/2 × (1 − 1/2) = 75%.
    assert stats.cic == pytest.approx(75)
    assert stats.cic_band.key == "satisfactory"


def test_option_distribution_counts_choices_and_marks_the_right_ones(guttman):
    q1, q2, q3 = analysis.item_analysis(guttman).questions
    assert [(o.letter, o.count, o.correct) for o in q1.options] == [
        ("A", 3, True), ("B", 1, False), ("C", 0, False), ("D", 0, False)]
    assert [o.share for o in q1.options] == [0.75, 0.25, 0, 0]
    assert [(o.text, o.count) for o in q2.options] == [("Đúng", 2), ("Sai", 2)]
    assert [o.count for o in q3.options] == [1, 1, 1, 0] and q3.unanswered == 1


def test_a_question_that_weaker_members_get_right_is_flagged(make_question, make_quiz, people):
    # Members 1 and 2 get Q1 right and Q2 wrong, members 3 and 4 the other way round:
    # Q1's rest is Q2, and the two go exactly against each other: r = −1.
    quiz = make_quiz(questions=[make_question("truefalse"), make_question("truefalse")])
    for member, (first, second) in zip(people, [(A, B), (A, B), (B, A), (B, A)]):
        sit(quiz, member, {1: [first], 2: [second]})
    q1, q2 = analysis.item_analysis(quiz).questions
    assert q1.discrimination == pytest.approx(-100) and q2.discrimination == pytest.approx(-100)
    assert [b.key for b in q1.flags] == ["negative"] and q1.flags[0].level == "bad"
    # Every score is 1 of 2: the totals do not vary, so there is no consistency to speak of.
    assert analysis.item_analysis(quiz).cic is None


def test_questions_nobody_or_everybody_knows_are_flagged(make_question, make_quiz, people):
    quiz = make_quiz(questions=[make_question("truefalse"), make_question("truefalse"), make_question("truefalse")])
    for member, third in zip(people, [A, A, B, B]):
        sit(quiz, member, {1: [A], 2: [B], 3: [third]})
    everybody, nobody, half = analysis.item_analysis(quiz).questions
    assert (everybody.facility, nobody.facility) == (100, 0)
    # No variation in the mark: no standard deviation worth the name, no correlation.
    assert everybody.sd == 0 and everybody.discrimination is None
    assert [b.key for b in everybody.flags] == ["extremely_easy"]
    assert [b.key for b in nobody.flags] == ["extremely_difficult"] and nobody.flags[0].level == "bad"
    assert half.facility == 50 and half.discrimination is None  # the rest (Q1 + Q2) is 1 for everyone


def test_tiny_samples_give_dashes_not_errors(make_quiz, member):
    quiz = make_quiz()
    empty = analysis.item_analysis(quiz)
    assert (empty.attempts, empty.questions, empty.mean, empty.sd, empty.cic) == (0, [], None, None, None)
    sit(quiz, member, {1: [A], 2: [B]})
    one = analysis.item_analysis(quiz)
    assert one.attempts == 1 and one.few
    assert one.mean == pytest.approx(100 / 3) and one.median == pytest.approx(100 / 3)
    assert (one.sd, one.cic) == (None, None)
    assert [(q.facility, q.sd, q.discrimination) for q in one.questions] == [
        (100, None, None), (0, None, None), (0, None, None)]


def test_an_edited_question_is_analysed_as_a_new_question(make_question, make_quiz, people):
    old, other = make_question("truefalse"), make_question("truefalse")
    quiz = make_quiz(questions=[old, other])
    sit(quiz, people[0], {1: [A], 2: [A]})
    new = question_ops.update_question(None, old, dataclasses.replace(question_ops.QuestionInput.of(old),
                                                                      text="Câu hỏi đã sửa?"))
    assert new.id != old.id
    sit(quiz, people[1], {1: [B], 2: [A]})
    by_id = {q.question_id: q for q in analysis.item_analysis(quiz).questions}
    assert set(by_id) == {old.id, new.id, other.id} and by_id[other.id].attempts == 2
    assert (by_id[old.id].attempts, by_id[old.id].facility, by_id[old.id].replaced_by_id) == (1, 100, new.id)
    assert (by_id[new.id].attempts, by_id[new.id].facility, by_id[new.id].replaced_by_id) == (1, 0, None)
    assert by_id[new.id].text == "Câu hỏi đã sửa?"


def test_random_draws_use_places_for_internal_consistency(make_topic, make_question, make_quiz, people):
    # Each member draws 2 of 4 questions; alpha then treats place 1 and place 2 as the items.
    topic = make_topic()
    for _ in range(4):
        make_question("truefalse", topic=topic)
    quiz = make_quiz(draws=[(topic, 2, None)], shuffle_questions=False)
    for member, answers in zip(people, [(A, A), (A, B), (B, B), (B, B)]):
        sit(quiz, member, {1: [answers[0]], 2: [answers[1]]})
    stats = analysis.item_analysis(quiz)
    right = {q.question_id: q for q in stats.questions}
    assert sum(q.attempts for q in right.values()) == 8
    # Whichever questions were drawn, the Đúng option is right: places 1,1,0,0 and 1,0,0,0 as in
    # the three-question table above without Q2: item variances 1/3 + 1/4, totals 2,1,0,0 (variance 11/12):
    # 2 × (1 − (7/12) / (11/12)) = 8/11 = 72.73%.
    assert stats.cic == pytest.approx(800 / 11)


@pytest.mark.parametrize("value, key", [
    (0, "extremely_difficult"), (5, "extremely_difficult"), (5.01, "very_difficult"), (10, "very_difficult"),
    (20, "difficult"), (34.9, "moderately_difficult"), (35, "about_right"), (64.9, "about_right"),
    (65, "fairly_easy"), (80, "fairly_easy"), (89.9, "easy"), (90, "very_easy"), (94.9, "very_easy"),
    (95, "extremely_easy"), (100, "extremely_easy"), (100 * 0.05, "extremely_difficult"),
])
def test_facility_bands_follow_moodle(value, key):
    assert analysis.facility_band(value).key == key


@pytest.mark.parametrize("value, key", [
    (-0.1, "negative"), (0, "very_weak"), (19.9, "very_weak"), (20, "weak"), (29.9, "weak"), (30, "adequate"),
    (49.9, "adequate"), (50, "very_good"), (100, "very_good"),
])
def test_discrimination_bands_follow_moodle(value, key):
    assert analysis.discrimination_band(value).key == key
    assert analysis.discrimination_band(None) is None


# -- results --------------------------------------------------------------------------------------

@pytest.mark.parametrize("method, score, attempt_number, minutes", [
    ("highest", 3, 1, 4), ("first", 3, 1, 4), ("last", 0, 2, 3), ("average", 1.5, None, None),
])
def test_results_follow_the_grading_method(guttman, people, method, score, attempt_number, minutes):
    guttman.grading_method = method
    guttman.save()
    results = analysis.quiz_results(guttman)
    mine = next(r for r in results.rows if r.user_id == people[0].id)
    assert (mine.score, mine.max_score, mine.finished, mine.in_progress) == (score, 3, 2, 0)
    attempts = {a.number: a.id for a in Attempt.select().where(Attempt.user == people[0].id)}
    assert mine.attempt_id == attempts.get(attempt_number)
    assert mine.review_attempt_id == attempts[attempt_number or 2]  # an average opens the last attempt
    assert mine.seconds == (minutes * 60 if minutes else None)
    assert mine.last_finished_at == NOW + 63 * MINUTE


def test_results_summary_and_order(guttman, people, make_user, cells):
    waiting = make_user(unit=cells[0], full_name="Đảng viên 5")
    engine.start_attempt(guttman, waiting, NOW)  # not submitted
    results = analysis.quiz_results(guttman)
    assert [r.full_name for r in results.rows] == [f"Đảng viên {n}" for n in "12345"]
    assert [(r.score, r.unit_name) for r in results.rows] == [
        (3, "Chi bộ thôn A"), (2, "Chi bộ thôn A"), (1, "Chi bộ thôn B"), (0, "Chi bộ thôn B"), (None, "Chi bộ thôn A")]
    assert results.rows[-1].in_progress == 1 and results.rows[-1].review_attempt_id is None
    assert (results.participants, results.attempts, results.in_progress) == (4, 5, 1)
    assert results.mean == pytest.approx(50) and results.median == pytest.approx(50)
    assert results.full_marks_share == 0.25
    assert results.rows[1].seconds == 6 * 60


def test_results_and_analysis_filter_by_unit_subtree(guttman, cells, committee):
    cell_a, cell_b = cells
    assert [r.full_name for r in analysis.quiz_results(guttman, [cell_a]).rows] == ["Đảng viên 1", "Đảng viên 2"]
    assert [r.full_name for r in analysis.quiz_results(guttman, [cell_b]).rows] == ["Đảng viên 3", "Đảng viên 4"]
    assert len(analysis.quiz_results(guttman, [committee]).rows) == 4
    assert analysis.quiz_results(guttman, []).rows == []
    only_b = analysis.item_analysis(guttman, [cell_b])
    assert only_b.attempts == 2 and [q.facility for q in only_b.questions] == [50, 0, 0]


def test_results_finish_attempts_whose_time_ran_out(make_quiz, member):
    quiz = make_quiz(time_limit_seconds=600)
    attempt = engine.start_attempt(quiz, member, NOW)
    engine.save_answers(attempt, member, {1: [A]}, 1, NOW + MINUTE)
    assert analysis.quiz_results(quiz).rows[0].in_progress == 1
    row = analysis.quiz_results(quiz, now=NOW + 60 * MINUTE).rows[0]
    assert (row.finished, row.in_progress, row.score, row.seconds) == (1, 0, 1, 600)


def test_surveys_have_no_results_here(make_quiz):
    survey = make_quiz(is_survey=True)
    with pytest.raises(ValueError):
        analysis.quiz_results(survey)
    with pytest.raises(ValueError):
        analysis.item_analysis(survey)


def test_results_sheet_has_both_sheets_and_neutralises_formulas(guttman, people):
    people[0].full_name = "=cmd|' /C calc'!A0"
    people[0].save()
    content = analysis.results_xlsx(guttman, analysis.quiz_results(guttman).rows, analysis.item_analysis(guttman))
    book = load_workbook(io.BytesIO(content))
    assert len(book.sheetnames) == 2
    results, items = book.worksheets
    values = [[c.value for c in row] for row in results.iter_rows()]
    header = next(row for row in values if row[0] is not None and row[1] is not None)
    assert len(header) == 10
    names = [row[1] for row in values[values.index(header) + 1:]]
    assert names[0] == "'=cmd|' /C calc'!A0" and results["A1"].value == guttman.title
    assert all(cell.data_type != "f" for row in results.iter_rows() for cell in row)
    rows = [[c.value for c in row] for row in items.iter_rows()]
    first = next(row for row in rows if row[0] == 1)
    assert first[3] == 4 and first[5] == 75.0 and first[9].startswith("A ✓: 3")
