"""Marks and scores, as pure functions of weights and choices (no database).

A question's mark runs from 0 to 1. An option's weight is the percent of the
mark it earns; negative weights are penalties, but a question never scores
below 0. An attempt's score is the sum of its marks out of the number of
graded questions (free-text survey questions are not graded).
"""

import dataclasses

EPSILON = 1e-9


def _clamp(value):
    return round(min(1.0, max(0.0, value)), 4)


def mark_single(weights, chosen):
    """Single choice and true/false: the chosen option's weight (GIFT allows ``~%50%`` here too)."""
    chosen = list(chosen)
    if len(chosen) != 1 or chosen[0] not in weights:
        return 0.0
    return _clamp(weights[chosen[0]] / 100)


def mark_all_or_nothing(weights, chosen):
    """Multiple choice, all or nothing: 1 when exactly the right options are chosen."""
    right = {o for o, w in weights.items() if w > 0}
    return 1.0 if set(chosen) == right else 0.0


def mark_partial(weights, chosen):
    """Multiple choice, partial credit: the chosen options' weights added up, between 0 and 1."""
    return _clamp(sum(weights.get(o, 0) for o in set(chosen)) / 100)


def mark(kind, grading, weights, chosen):
    """The mark of one answer: ``weights`` {option id: percent}, ``chosen`` option ids; None if ungraded."""
    if kind in ("text", "survey_single", "survey_multiple"):  # surveys: nothing to grade
        return None
    if not chosen:
        return 0.0
    if kind in ("single", "truefalse"):
        return mark_single(weights, chosen)
    if grading == "partial":
        return mark_partial(weights, chosen)
    return mark_all_or_nothing(weights, chosen)


def mark_question(question, chosen):
    """``mark`` for a cached QuestionData."""
    return mark(question.kind, question.grading, question.weights, chosen)


def is_right(value):
    return value is not None and value >= 1 - EPSILON


def outcome(value):
    """'right', 'partial' or 'wrong' for a mark; None when ungraded."""
    if value is None:
        return None
    if is_right(value):
        return "right"
    return "partial" if value > EPSILON else "wrong"


def right_options(question):
    """Ids of the options that earn something."""
    return [o.id for o in question.options if o.weight > 0]


def total(marks):
    """(score, max score) of an attempt's marks; (None, None) when nothing is graded (a survey)."""
    graded = [m for m in marks if m is not None]
    if not graded:
        return None, None
    return round(sum(graded), 4), float(len(graded))


@dataclasses.dataclass(frozen=True)
class Result:
    """A member's result at a quiz under its grading method."""

    score: float
    max_score: float
    attempts: int  # finished attempts taken into account
    attempt_id: int = None  # the attempt that gives the result; None for an average

    @property
    def fraction(self):
        return self.score / self.max_score if self.max_score else 0.0


@dataclasses.dataclass(frozen=True)
class Finished:
    """What grading methods need of a finished attempt."""

    id: int
    number: int
    score: float
    max_score: float

    @property
    def fraction(self):
        return self.score / self.max_score if self.max_score else 0.0


def combine(method, finished):
    """The Result of ``finished`` attempts under ``method`` (highest, first, last, average); None if none.

    Highest compares fractions (ties go to the earlier attempt); average
    averages the fractions and states them out of the largest max score.
    """
    finished = sorted((f for f in finished if f.score is not None), key=lambda f: f.number)
    if not finished:
        return None
    n = len(finished)
    if method == "average":
        max_score = max(f.max_score for f in finished)
        fraction = sum(f.fraction for f in finished) / n
        return Result(round(fraction * max_score, 4), max_score, n)
    if method == "first":
        chosen = finished[0]
    elif method == "last":
        chosen = finished[-1]
    elif method == "highest":
        chosen = max(finished, key=lambda f: (f.fraction, -f.number))
    else:
        raise ValueError(f"unknown grading method {method!r}")
    return Result(chosen.score, chosen.max_score, n, chosen.id)
