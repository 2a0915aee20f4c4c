"""An attempt's stored answers, and closing it: grade what was saved, once.

Both the engine (submit, the periodic job) and the review (reading an overdue
attempt finalises it first) close attempts through ``finish``, so an attempt
is scored in one place, from its saved answers only.
"""

import datetime as dt

import peewee as pw

from ..db import Prepared, database, is_sqlite, write_together
from . import cache, grading
from .models import Attempt, AttemptQuestion, SurveyResponse

# Answers may still arrive this long after the deadline (the network is slow);
# after it they are refused and the attempt is finalised on what was saved.
GRACE = dt.timedelta(seconds=15)


def parse_ids(text):
    """'12,9,10' -> [12, 9, 10]."""
    return [int(i) for i in text.split(",") if i] if text else []


ROW_FIELDS = (AttemptQuestion.id, AttemptQuestion.position, AttemptQuestion.question, AttemptQuestion.option_order,
              AttemptQuestion.answer, AttemptQuestion.answer_text, AttemptQuestion.mark)
_ROWS = Prepared(lambda mark: AttemptQuestion.select(*ROW_FIELDS)
                 .where(AttemptQuestion.attempt == mark).order_by(AttemptQuestion.position))


class Row:
    """A drawn question of an attempt as the engine reads it (a plain object: read on every save)."""

    __slots__ = ("id", "position", "question_id", "option_order", "answer", "answer_text", "mark", "answered_at")

    def __init__(self, id, position, question_id, option_order, answer, answer_text, mark):  # noqa: A002
        self.id, self.position, self.question_id = id, position, question_id
        self.option_order, self.answer, self.answer_text, self.mark = option_order, answer, answer_text, mark
        self.answered_at = None  # not read; set when a save changes the answer


def rows(attempt):
    """The attempt's drawn questions in the order shown (read on every save: the SQL is prepared once); those
    ``finish`` graded in this request, when it did, as it stored them."""
    graded = attempt.__dict__.get("_graded_rows")
    if graded is not None:
        return graded
    return [Row(*values) for values in _ROWS.tuples(attempt.id)]


def is_overdue(attempt, now):
    """In progress and past its deadline plus the grace: to be finalised, no more answers taken."""
    return (attempt.state == "in_progress" and attempt.deadline_at is not None
            and now > attempt.deadline_at + GRACE)


def _day(value):
    return dt.datetime(value.year, value.month, value.day) if value else None


def refresh(attempt):
    """Reload the attempt's state from the database (another request may have moved it on)."""
    fresh = Attempt.get_by_id(attempt.id)
    for name in ("user_id", "unit_id", "state", "started_at", "deadline_at", "finished_at", "last_seq", "score",
                 "max_score", "time_used_ms", "prediction"):
        setattr(attempt, name, getattr(fresh, name))


KEEP = object()  # finish(prediction=KEEP): the prediction stays as saved


def finish(attempt, now, prediction=KEEP):
    """Grade the saved answers and close the attempt; False when it was already closed (nothing changes).

    The ``WHERE state = 'in_progress'`` guard comes first, so of two concurrent
    submits one scores and the other finds it done; on PostgreSQL it also waits
    for a save in flight, whose answers it then reads. A survey records the
    member's response; an anonymous one then forgets whose answers they were.
    ``prediction``: the answer to the quiz's prediction prompt sent with the submission (None: cleared), stored
    by the same UPDATE that closes the attempt.
    """
    finished_at = now if attempt.deadline_at is None else min(now, attempt.deadline_at)
    quiz = attempt.quiz
    closing = {"state": "finished", "finished_at": finished_at}
    if prediction is not KEEP:
        closing["prediction"] = prediction
    with database.atomic():
        closed = (Attempt.update(**closing)
                  .where(Attempt.id == attempt.id, Attempt.state == "in_progress").execute())
        if not closed:
            done = False
        else:
            done = True
            values = {"finished_at": finished_at,
                      "time_used_ms": max(0, round((finished_at - attempt.started_at).total_seconds() * 1000))}
            writes = []
            if quiz.is_survey:
                score = max_score = None
                if attempt.user_id is not None:
                    writes.append(SurveyResponse.insert(quiz=quiz.id, user=attempt.user_id,
                                                        responded_at=_day(now) if quiz.is_anonymous else now)
                                  .on_conflict_ignore())
                if quiz.is_anonymous:
                    # No account, and no times or counters to match against logs.
                    values.update(user=None, unit=None, started_at=_day(attempt.started_at),
                                  finished_at=_day(finished_at), deadline_at=None, last_seq=0, time_used_ms=None)
                    writes.append(AttemptQuestion.update(answered_at=None)
                                  .where(AttemptQuestion.attempt == attempt.id))
            else:
                score, max_score, graded, writes = _grade(attempt)
            values.update(score=score, max_score=max_score)
            # The marks and the score in one statement on PostgreSQL (it reads the rows above in this transaction).
            write_together(*writes, Attempt.update(**values).where(Attempt.id == attempt.id))
    if done:
        attempt.state = "finished"
        if prediction is not KEEP:
            attempt.prediction = prediction
        for name, value in values.items():
            setattr(attempt, f"{name}_id" if name in ("user", "unit") else name, value)
        if not quiz.is_survey:
            attempt._graded_rows = graded  # the view after a submit shows them without reading them again
    else:
        refresh(attempt)
    return done


def _grade(attempt):
    """(score, max score, the rows with their marks, the UPDATEs storing the marks)."""
    saved = rows(attempt)
    questions = cache.load([r.question_id for r in saved])
    by_mark = {}
    marks = []
    for row in saved:
        value = row.mark = grading.mark_question(questions[row.question_id], parse_ids(row.answer))
        marks.append(value)
        if value is not None:
            by_mark.setdefault(value, []).append(row.id)
    return (*grading.total(marks), saved, _store_marks(by_mark))


def _store_marks(by_mark):
    """The UPDATEs storing {mark: [row id, ...]}: on PostgreSQL one, the same statement whatever the marks
    (prepared once, where one per distinct mark would make a new statement for each mix of right and wrong);
    on SQLite one per distinct mark."""
    if not by_mark:
        return []
    if is_sqlite():
        return [AttemptQuestion.update(mark=value).where(AttemptQuestion.id.in_(ids)) for value, ids in by_mark.items()]
    ids = [i for value, row_ids in by_mark.items() for i in row_ids]
    marks = [float(value) for value, row_ids in by_mark.items() for _i in row_ids]
    given = pw.SQL('unnest(CAST(%s AS integer[]), CAST(%s AS double precision[])) AS "given"("id", "mark")',
                   [ids, marks])
    return [AttemptQuestion.update(mark=pw.SQL('"given"."mark"')).from_(given)
            .where(AttemptQuestion.id == pw.SQL('"given"."id"'))]


def finalise_if_overdue(attempt, now):
    """Finish an attempt whose time (and grace) ran out; True when this call finished it."""
    return is_overdue(attempt, now) and finish(attempt, now)
