"""Marks of each kind of question, scores, and grading methods across attempts (pure, no database)."""

import pytest

from portal.quiz.grading import Finished, combine, mark, outcome, total

SINGLE = {1: 100, 2: 0, 3: 0, 4: 0}
PARTIAL_SINGLE = {1: 100, 2: 50, 3: 0, 4: -50}
TRUEFALSE = {7: 0, 8: 100}
MULTI = {1: 50, 2: 50, 3: 0, 4: 0}
PENALTY = {1: 50, 2: 50, 3: -100, 4: -50}
THIRDS = {1: 33, 2: 33, 3: 34, 4: -100}


@pytest.mark.parametrize("kind, grading, weights, chosen, expected", [
    ("single", "all_or_nothing", SINGLE, [1], 1.0),
    ("single", "all_or_nothing", SINGLE, [2], 0.0),
    ("single", "all_or_nothing", SINGLE, [], 0.0),
    ("single", "all_or_nothing", SINGLE, [1, 2], 0.0),  # two ticks in a single choice earn nothing
    ("single", "all_or_nothing", SINGLE, [99], 0.0),
    ("single", "all_or_nothing", PARTIAL_SINGLE, [2], 0.5),  # GIFT ~%50%
    ("single", "all_or_nothing", PARTIAL_SINGLE, [4], 0.0),  # a penalty never goes below 0
    ("truefalse", "all_or_nothing", TRUEFALSE, [8], 1.0),
    ("truefalse", "all_or_nothing", TRUEFALSE, [7], 0.0),
    ("multiple", "all_or_nothing", MULTI, [1, 2], 1.0),
    ("multiple", "all_or_nothing", MULTI, [2, 1], 1.0),
    ("multiple", "all_or_nothing", MULTI, [1], 0.0),
    ("multiple", "all_or_nothing", MULTI, [1, 2, 3], 0.0),
    ("multiple", "partial", MULTI, [1], 0.5),
    ("multiple", "partial", MULTI, [1, 2], 1.0),
    ("multiple", "partial", MULTI, [1, 1], 0.5),  # a repeated option counts once
    ("multiple", "partial", PENALTY, [1, 2, 4], 0.5),
    ("multiple", "partial", PENALTY, [1, 3], 0.0),  # floored at 0 per question
    ("multiple", "partial", PENALTY, [1, 2, 3, 4], 0.0),
    ("multiple", "partial", THIRDS, [1, 2, 3], 1.0),
    ("multiple", "partial", THIRDS, [1], 0.33),
    ("multiple", "partial", MULTI, [], 0.0),
])
def test_mark_of_one_answer(kind, grading, weights, chosen, expected):
    assert mark(kind, grading, weights, chosen) == expected


def test_free_text_is_not_graded():
    assert mark("text", "all_or_nothing", {}, []) is None


@pytest.mark.parametrize("value, expected", [(1.0, "right"), (0.5, "partial"), (0.0, "wrong"), (None, None)])
def test_outcome(value, expected):
    assert outcome(value) == expected


def test_total_counts_graded_questions_only():
    assert total([1.0, 0.5, 0.0, None]) == (1.5, 3.0)
    assert total([None, None]) == (None, None)  # a survey has no score
    assert total([0.1] * 3) == (0.3, 3.0)  # no 0.30000000000000004


ATTEMPTS = [Finished(11, 1, 6.0, 10.0), Finished(12, 2, 9.0, 10.0), Finished(13, 3, 7.5, 10.0)]


@pytest.mark.parametrize("method, score, attempt_id", [
    ("highest", 9.0, 12),
    ("first", 6.0, 11),
    ("last", 7.5, 13),
    ("average", 7.5, None),
])
def test_grading_methods(method, score, attempt_id):
    result = combine(method, list(reversed(ATTEMPTS)))
    assert (result.score, result.max_score, result.attempts, result.attempt_id) == (score, 10.0, 3, attempt_id)


def test_highest_prefers_the_earlier_of_equal_scores():
    assert combine("highest", [Finished(2, 2, 8.0, 10.0), Finished(1, 1, 8.0, 10.0)]).attempt_id == 1


def test_average_of_different_lengths_averages_fractions():
    result = combine("average", [Finished(1, 1, 5.0, 10.0), Finished(2, 2, 20.0, 20.0)])
    assert (result.score, result.max_score, result.fraction) == (15.0, 20.0, 0.75)


def test_no_finished_attempt_no_result():
    assert combine("highest", []) is None
    with pytest.raises(ValueError):
        combine("median", ATTEMPTS)
