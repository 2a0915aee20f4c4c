"""What a member may take now and what they took: the home page, the quiz list, the intro page, the history.

Who may take a quiz is decided by ``permissions`` ("quiz.take"); the queries
here find the same quizzes in bulk: published, open at ``now``, and aimed at
a unit above or at the member's own (a quiz without an audience is aimed at
its owner's subtree).
"""

import dataclasses
import datetime as dt

import peewee as pw
from flask_babel import lazy_gettext as _l

from ..db import Prepared
from .models import Attempt, Quiz, QuizAudience, QuizDraw, QuizQuestion, SurveyResponse

KIND_LABELS = {"exam": _l("Quiz"), "practice": _l("Practice"), "survey": _l("Survey")}
GRADING_METHOD_LABELS = {"highest": _l("Highest score"), "first": _l("First attempt"),
                         "last": _l("Last attempt"), "average": _l("Average")}
REVIEW_LABELS = {"score": _l("Score only"), "correctness": _l("Which answers were right"),
                 "answers": _l("Right answers and explanations")}


def kind_of(quiz):
    return "survey" if quiz.is_survey else "practice" if quiz.is_practice else "exam"


_QUESTION_COUNT = Prepared(lambda mark: Quiz.select(  # the fixed list's length, and what the draws take
    QuizQuestion.select(pw.fn.COUNT(QuizQuestion.id)).where(QuizQuestion.quiz == mark),
    QuizDraw.select(pw.fn.COALESCE(pw.fn.SUM(QuizDraw.count), 0)).where(QuizDraw.quiz == mark))
    .where(Quiz.id == mark))


def question_count(quiz):
    """How many questions each attempt of ``quiz`` gets (the round page: prepared SQL, one statement)."""
    found = _QUESTION_COUNT.tuples(quiz.id)
    if not found:
        return 0
    fixed, drawn = found[0]
    return fixed or drawn or 0


@dataclasses.dataclass
class QuizStatus:
    """One quiz as one member stands with it."""

    quiz: Quiz
    attempts_used: int = 0
    in_progress: Attempt = None  # the attempt to resume, if its time is not up
    responded: bool = False  # surveys: one response per member
    last_finished: Attempt = None

    @property
    def kind(self):
        return kind_of(self.quiz)

    @property
    def kind_label(self):
        return KIND_LABELS[self.kind]

    @property
    def unlimited(self):
        return self.quiz.is_practice or (self.quiz.attempts_allowed == 0 and not self.quiz.is_survey)

    @property
    def attempts_left(self):
        """Attempts the member may still start; None when unlimited."""
        if self.unlimited:
            return None
        allowed = 1 if self.quiz.is_survey else self.quiz.attempts_allowed
        return max(0, allowed - self.attempts_used)

    @property
    def can_start(self):
        if self.in_progress is not None:
            return False
        if self.quiz.is_survey and self.responded:
            return False
        return self.attempts_left is None or self.attempts_left > 0


def _ancestor_ids(unit):
    """Ids of the unit and every unit above it, from its materialised path."""
    return [int(i) for i in unit.path.strip("/").split("/") if i]


def _aimed_at(user):
    ids = _ancestor_ids(user.unit)
    targeted = QuizAudience.select(QuizAudience.quiz).where(QuizAudience.unit.in_(ids))
    untargeted = Quiz.id.not_in(QuizAudience.select(QuizAudience.quiz))
    return Quiz.id.in_(targeted) | (untargeted & Quiz.owner_unit.in_(ids))


def _open_at(now):
    return ((Quiz.is_published == True) & (Quiz.is_listed == True)  # noqa: E712 (a peewee expression)
            & (Quiz.opens_at.is_null() | (Quiz.opens_at <= now))
            & (Quiz.closes_at.is_null() | (Quiz.closes_at > now)))


def statuses(quizzes, user, now):
    """QuizStatus of each quiz for ``user``, in the same order, in three queries."""
    quizzes = list(quizzes)
    if not quizzes:
        return []
    ids = [q.id for q in quizzes]
    result = {q.id: QuizStatus(q) for q in quizzes}
    counts = (Attempt.select(Attempt.quiz, pw.fn.COUNT(Attempt.id).alias("n"))
              .where(Attempt.quiz.in_(ids), Attempt.user == user).group_by(Attempt.quiz).tuples())
    for quiz_id, n in counts:
        result[quiz_id].attempts_used = n
    latest = (Attempt.select().where(Attempt.quiz.in_(ids), Attempt.user == user)
              .order_by(Attempt.quiz, Attempt.number))
    for attempt in latest:
        _place(result[attempt.quiz_id], attempt, now)
    for quiz_id in (SurveyResponse.select(SurveyResponse.quiz)
                    .where(SurveyResponse.quiz.in_(ids), SurveyResponse.user == user).tuples()):
        result[quiz_id[0]].responded = True
    return [result[q.id] for q in quizzes]


def _place(status, attempt, now):
    """Note one of the member's attempts (in number order) on its quiz's status."""
    attempt.quiz = status.quiz
    if attempt.is_finished:
        status.last_finished = attempt
    elif attempt.deadline_at is None or attempt.deadline_at > now:
        status.in_progress = attempt
    else:
        status.last_finished = attempt  # overdue: finalised when next opened


_ATTEMPTS_AT = Prepared(lambda quiz_id, user_id: Attempt.select().where(Attempt.quiz == quiz_id,
                                                                        Attempt.user == user_id)
                        .order_by(Attempt.number))
_RESPONDED = Prepared(lambda quiz_id, user_id: SurveyResponse.select(SurveyResponse.id)
                      .where(SurveyResponse.quiz == quiz_id, SurveyResponse.user == user_id))


def attempts_at(quiz, user):
    """The member's attempts at ``quiz`` in number order (prepared SQL), for ``status`` and ``history``."""
    attempts = _ATTEMPTS_AT.objects(quiz.id, user.id)
    for attempt in attempts:
        attempt.quiz = quiz
    return attempts


def status(quiz, user, now, attempts=None):
    """One quiz's QuizStatus (the round page, opened by everybody when a round starts: prepared SQL);
    ``attempts``: ``attempts_at(quiz, user)`` when the caller read them."""
    result = QuizStatus(quiz)
    if attempts is None:
        attempts = attempts_at(quiz, user)
    result.attempts_used = len(attempts)
    for attempt in attempts:
        _place(result, attempt, now)
    result.responded = bool(quiz.is_survey and _RESPONDED.tuples(quiz.id, user.id))
    return result


def _closing_order(status):
    closes = status.quiz.closes_at or dt.datetime.max
    return (status.in_progress is None, not status.can_start, closes, status.quiz.title)


def open_quizzes(user, now):
    """Quizzes, practice quizzes and surveys open to ``user`` at ``now``, as QuizStatus.

    What the member can resume or start comes first, the soonest to close first.
    """
    if user is None or user.unit is None:
        return []
    quizzes = Quiz.select().where(_open_at(now), _aimed_at(user))
    return sorted(statuses(quizzes, user, now), key=_closing_order)


def history(user, quiz=None, attempts=None):
    """The member's own attempts (at ``quiz``, or at every quiz), newest first, with their quizzes;
    ``attempts``: ``attempts_at(quiz, user)`` when the caller read them."""
    if quiz is not None:  # the round page: prepared SQL
        if attempts is None:
            attempts = attempts_at(quiz, user)
        return sorted(attempts, key=lambda a: (a.started_at, a.id), reverse=True)
    query = Attempt.select(Attempt, Quiz).join(Quiz).where(Attempt.user == user)
    return list(query.order_by(Attempt.started_at.desc(), Attempt.id.desc()))
