"""Quiz set-up: settings, audience, the questions (draws or a fixed list), publishing.

``check_quiz`` cleans a QuizInput or raises a DomainError naming the field,
the draw row or the question; ``create_quiz`` and ``update_quiz`` store it
with its audience and questions in one transaction.
"""

import dataclasses
import datetime as dt

import peewee as pw

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..accounts import audit, permissions
from ..accounts.models import Unit
from ..db import database, nfc
from ..errors import DomainError
from .models import Attempt, Question, Quiz, QuizAudience, QuizDraw, QuizQuestion, Topic, utcnow
from .questions import CHOICE_KINDS, DIFFICULTY_LABELS
from .topics import question_counts

KIND_LABELS = {"exam": _l("Graded quiz"), "practice": _l("Practice"), "survey": _l("Survey")}
GRADING_METHOD_LABELS = {"highest": _l("Highest score"), "first": _l("First attempt"),
                         "last": _l("Last attempt"), "average": _l("Average")}
REVIEW_LABELS = {"score": _l("Score only"), "correctness": _l("Which answers were right"),
                 "answers": _l("Right answers and explanations")}
MAX_DRAWS = 20
MAX_QUESTIONS = 200
MAX_MINUTES = 24 * 60
MAX_ATTEMPTS = 100


def kind_of(quiz):
    return "survey" if quiz.is_survey else "practice" if quiz.is_practice else "exam"


@dataclasses.dataclass
class DrawInput:
    topic: Topic
    count: int
    difficulty: int = None


@dataclasses.dataclass
class QuizInput:
    title: str
    owner_unit: Unit
    description: str = ""
    kind: str = "exam"  # exam, practice or survey
    is_anonymous: bool = False
    audience: list = dataclasses.field(default_factory=list)  # units; none means the owner's subtree
    draws: list = dataclasses.field(default_factory=list)  # DrawInput
    fixed_questions: list = dataclasses.field(default_factory=list)  # Question (or ids), in order
    shuffle_questions: bool = True
    shuffle_options: bool = True
    time_limit_minutes: int = None
    opens_at: dt.datetime = None  # UTC, naive
    closes_at: dt.datetime = None
    attempts_allowed: int = 1  # 0: unlimited
    grading_method: str = "highest"
    review_after_submit: str = "correctness"
    review_after_close: str = "answers"

    @classmethod
    def of(cls, quiz):
        """The stored set-up of ``quiz``."""
        return cls(
            title=quiz.title, owner_unit=quiz.owner_unit, description=quiz.description, kind=kind_of(quiz),
            is_anonymous=quiz.is_anonymous,
            audience=[a.unit for a in QuizAudience.select(QuizAudience, Unit).join(Unit)
                      .where(QuizAudience.quiz == quiz).order_by(Unit.path)],
            draws=[DrawInput(d.topic, d.count, d.difficulty)
                   for d in QuizDraw.select(QuizDraw, Topic).join(Topic).where(QuizDraw.quiz == quiz)
                   .order_by(QuizDraw.position, QuizDraw.id)],
            fixed_questions=fixed_questions(quiz),
            shuffle_questions=quiz.shuffle_questions, shuffle_options=quiz.shuffle_options,
            time_limit_minutes=quiz.time_limit_seconds // 60 if quiz.time_limit_seconds else None,
            opens_at=quiz.opens_at, closes_at=quiz.closes_at, attempts_allowed=quiz.attempts_allowed,
            grading_method=quiz.grading_method, review_after_submit=quiz.review_after_submit,
            review_after_close=quiz.review_after_close)


def fixed_questions(quiz):
    return [qq.question for qq in QuizQuestion.select(QuizQuestion, Question).join(Question)
            .where(QuizQuestion.quiz == quiz).order_by(QuizQuestion.position)]


def whole_number(value, field, message, low, high):
    """``value`` as typed (a form's text) as an int within [low, high], None when empty; else DomainError(message)."""
    if value in (None, ""):
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        number = None
    if number is None or not low <= number <= high:
        raise DomainError(message, field=field)
    return number


def _may_use(actor, obj):
    return actor is None or permissions.can(actor, "quiz.manage", obj)


def check_quiz(actor, data):
    """Return a cleaned copy of ``data`` or raise DomainError naming what is wrong."""
    title = " ".join(nfc(data.title or "").split())
    if not title:
        raise DomainError(_("Quiz title: this field is required."), field="title")
    if len(title) > 255:
        raise DomainError(_("Quiz title: at most 255 characters."), field="title")
    owner = data.owner_unit
    if owner is None or not _may_use(actor, owner):
        raise DomainError(_("Owner unit: choose one of the units you manage."), field="owner_unit")
    if data.kind not in KIND_LABELS:
        raise DomainError(_("Kind: choose quiz, practice or survey."), field="kind")
    survey, practice = data.kind == "survey", data.kind == "practice"
    audience, seen = [], set()
    for unit in data.audience:
        if not unit.is_within(owner):
            raise DomainError(_("Audience: %(unit)s is not part of the owner unit %(owner)s.",
                                unit=unit.name, owner=owner.name), field="audience")
        if unit.id not in seen:
            seen.add(unit.id)
            audience.append(unit)
    minutes = whole_number(data.time_limit_minutes, "time_limit_minutes",
                   _("Time limit: enter a number of minutes from 1 to %(n)s, or leave it empty for no limit.",
                     n=MAX_MINUTES), 1, MAX_MINUTES)
    if data.opens_at and data.closes_at and data.closes_at <= data.opens_at:
        raise DomainError(_("Closes: the closing time must be after the opening time."), field="closes_at")
    if practice:
        attempts = 0  # practice is unlimited by definition
    elif survey:
        attempts = 1  # one response per member
    else:
        attempts = whole_number(data.attempts_allowed, "attempts_allowed",
                        _("Attempts allowed: enter a number from 1 to %(n)s, or 0 for unlimited.", n=MAX_ATTEMPTS),
                        0, MAX_ATTEMPTS)
        attempts = 1 if attempts is None else attempts
    if data.grading_method not in GRADING_METHOD_LABELS:
        raise DomainError(_("Grading method: choose one from the list."), field="grading_method")
    levels = Quiz.REVIEW_LEVELS
    if data.review_after_submit not in levels:
        raise DomainError(_("Review after submitting: choose one from the list."), field="review_after_submit")
    if data.review_after_close not in levels:
        raise DomainError(_("Review after closing: choose one from the list."), field="review_after_close")
    if levels.index(data.review_after_close) < levels.index(data.review_after_submit):
        raise DomainError(_("Review after closing: show at least as much as right after submitting."),
                          field="review_after_close")
    if data.draws and data.fixed_questions:
        raise DomainError(_("Questions: either draw questions from topics or give a fixed list, not both."),
                          field="draws")
    kinds = Question.KINDS if survey else CHOICE_KINDS
    draws = _check_draws(actor, data.draws, kinds)
    fixed = _check_fixed(actor, data.fixed_questions, kinds)
    return dataclasses.replace(
        data, title=title, description=nfc(data.description or ""), is_anonymous=bool(survey and data.is_anonymous),
        audience=audience, draws=draws, fixed_questions=fixed, time_limit_minutes=minutes,
        attempts_allowed=attempts, shuffle_questions=bool(data.shuffle_questions),
        shuffle_options=bool(data.shuffle_options))


def _draw_label(index, draw):
    level = DIFFICULTY_LABELS.get(draw.difficulty)
    if level:
        return _("Draw %(n)s (%(topic)s, %(level)s)", n=index + 1, topic=draw.topic.code, level=level)
    return _("Draw %(n)s (%(topic)s)", n=index + 1, topic=draw.topic.code)


def _check_draws(actor, draws, kinds):
    if len(draws) > MAX_DRAWS:
        raise DomainError(_("Draws: at most %(n)s rows.", n=MAX_DRAWS), field="draws")
    cleaned = []
    for i, draw in enumerate(draws):
        if draw.topic is None or not _may_use(actor, draw.topic):
            raise DomainError(_("Draw %(n)s: choose a topic from the list.", n=i + 1), field="draws")
        label = _draw_label(i, draw)
        count = whole_number(draw.count, "draws", _("%(draw)s: enter how many questions to draw, from 1 to %(max)s.",
                                            draw=label, max=MAX_QUESTIONS), 1, MAX_QUESTIONS)
        if count is None:
            raise DomainError(_("%(draw)s: enter how many questions to draw, from 1 to %(max)s.",
                                draw=label, max=MAX_QUESTIONS), field="draws")
        difficulty = None if draw.difficulty in (None, "", 0, "0") else draw.difficulty
        if difficulty is not None and difficulty not in DIFFICULTY_LABELS:
            raise DomainError(_("%(draw)s: choose a difficulty from the list.", draw=label), field="draws")
        cleaned.append(DrawInput(draw.topic, count, difficulty))
    if sum(d.count for d in cleaned) > MAX_QUESTIONS:
        raise DomainError(_("Draws: at most %(n)s questions in all.", n=MAX_QUESTIONS), field="draws")
    check_draws_available(cleaned, kinds)
    return cleaned


def check_draws_available(draws, kinds=CHOICE_KINDS):
    """Refuse draws that the topics' active questions cannot fill.

    Rows of one difficulty draw from that difficulty's questions; rows of any
    difficulty take what the others leave, so per topic each difficulty and
    the whole must suffice.
    """
    counts = question_counts({d.topic.id for d in draws}, kinds)
    for i, draw in enumerate(draws):
        available = counts[draw.topic.id]
        if draw.difficulty is not None:
            wanted = sum(d.count for d in draws if d.topic.id == draw.topic.id and d.difficulty == draw.difficulty)
            have = available.get(draw.difficulty, 0)
        else:
            wanted = sum(d.count for d in draws if d.topic.id == draw.topic.id)
            have = sum(available.values())
        if wanted > have:
            raise DomainError(_("%(draw)s: the topic has only %(have)s active questions of this kind, "
                                "%(wanted)s are needed.", draw=_draw_label(i, draw), have=have, wanted=wanted),
                              field="draws")


def _check_fixed(actor, questions, kinds):
    if len(questions) > MAX_QUESTIONS:
        raise DomainError(_("Fixed list: at most %(n)s questions.", n=MAX_QUESTIONS), field="fixed_questions")
    ids = [q if isinstance(q, int) else q.id for q in questions]
    found = {q.id: q for q in Question.select(Question, Topic).join(Topic).where(Question.id.in_(ids))} if ids else {}
    cleaned, seen = [], set()
    for id_ in ids:
        question = found.get(id_)
        if question is None or not _may_use(actor, question.topic):
            raise DomainError(_("Fixed list: there is no question no. %(id)s in the banks you manage.", id=id_),
                              field="fixed_questions")
        if not question.is_active:
            raise DomainError(_("Fixed list: question no. %(id)s was retired.", id=id_), field="fixed_questions")
        if question.kind not in kinds:
            raise DomainError(_("Fixed list: question no. %(id)s is a survey question, which only surveys take.",
                                id=id_), field="fixed_questions")
        if id_ in seen:
            raise DomainError(_("Fixed list: question no. %(id)s is listed twice.", id=id_), field="fixed_questions")
        seen.add(id_)
        cleaned.append(question)
    return cleaned


def _store(quiz, data):
    quiz.title, quiz.description, quiz.owner_unit = data.title, data.description, data.owner_unit
    quiz.is_practice, quiz.is_survey = data.kind == "practice", data.kind == "survey"
    quiz.is_anonymous = data.is_anonymous
    quiz.shuffle_questions, quiz.shuffle_options = data.shuffle_questions, data.shuffle_options
    quiz.time_limit_seconds = data.time_limit_minutes * 60 if data.time_limit_minutes else None
    quiz.opens_at, quiz.closes_at = data.opens_at, data.closes_at
    quiz.attempts_allowed, quiz.grading_method = data.attempts_allowed, data.grading_method
    quiz.review_after_submit, quiz.review_after_close = data.review_after_submit, data.review_after_close
    quiz.save()
    QuizAudience.delete().where(QuizAudience.quiz == quiz).execute()
    QuizDraw.delete().where(QuizDraw.quiz == quiz).execute()
    QuizQuestion.delete().where(QuizQuestion.quiz == quiz).execute()
    if data.audience:
        QuizAudience.insert_many([{"quiz": quiz.id, "unit": u.id} for u in data.audience]).execute()
    if data.draws:
        QuizDraw.insert_many([{"quiz": quiz.id, "topic": d.topic.id, "count": d.count, "difficulty": d.difficulty,
                               "position": i} for i, d in enumerate(data.draws)]).execute()
    if data.fixed_questions:
        QuizQuestion.insert_many([{"quiz": quiz.id, "question": q.id, "position": i}
                                  for i, q in enumerate(data.fixed_questions)]).execute()


def _audit_values(data):
    return {
        "title": data.title, "kind": data.kind, "owner_unit": data.owner_unit.code,
        "audience": ", ".join(u.code for u in data.audience),
        "draws": "; ".join(f"{d.topic.code} × {d.count}" + (f" ({d.difficulty})" if d.difficulty else "")
                           for d in data.draws),
        "fixed_questions": ", ".join(str(q.id) for q in data.fixed_questions),
        "time_limit_minutes": data.time_limit_minutes,
        "opens_at": data.opens_at.isoformat(" ", "minutes") if data.opens_at else None,
        "closes_at": data.closes_at.isoformat(" ", "minutes") if data.closes_at else None,
        "attempts_allowed": data.attempts_allowed, "grading_method": data.grading_method,
        "review_after_submit": data.review_after_submit, "review_after_close": data.review_after_close,
        "shuffle_questions": data.shuffle_questions, "shuffle_options": data.shuffle_options,
        "is_anonymous": data.is_anonymous,
    }


def has_attempts(quiz):
    return Attempt.select().where(Attempt.quiz == quiz).exists()


def create_quiz(actor, data, address="", now=None):
    """Create an unpublished quiz from a QuizInput."""
    data = check_quiz(actor, data)
    with database.atomic():
        quiz = Quiz(created_by=actor, created_at=now or utcnow())
        _store(quiz, data)
        audit.record(actor, "quiz.create", f"quiz:{quiz.id} {quiz.title}", _audit_values(data), address)
    return quiz


def update_quiz(actor, quiz, data, address="", now=None):
    """Save a changed set-up; returns the changes as {field: [old, new]}.

    Attempts already started keep their questions and deadline. Once anyone
    has started, the kind (quiz, practice, survey) and anonymity stay.
    """
    data = check_quiz(actor, data)
    before = _audit_values(QuizInput.of(quiz))
    after = _audit_values(data)
    changes = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    if not changes:
        return changes
    if ("kind" in changes or "is_anonymous" in changes) and has_attempts(quiz):
        field = "kind" if "kind" in changes else "is_anonymous"
        raise DomainError(_("Kind: members have already started this quiz, so its kind can no longer change."),
                          field=field)
    if quiz.is_published:
        _check_publishable(data, now or utcnow(), closing_may_pass=True)
    with database.atomic():
        _store(quiz, data)
        audit.record(actor, "quiz.update", f"quiz:{quiz.id} {quiz.title}", changes, address)
    return changes


def _check_publishable(data, now, closing_may_pass=False):
    if not data.draws and not data.fixed_questions:
        raise DomainError(_("Questions: add draws from topics or a fixed list of questions first."), field="draws")
    if data.draws:
        check_draws_available(data.draws, Question.KINDS if data.kind == "survey" else CHOICE_KINDS)
    for q in data.fixed_questions:
        if not q.is_active:
            raise DomainError(_("Fixed list: question no. %(id)s was retired.", id=q.id), field="fixed_questions")
    if not closing_may_pass and data.closes_at is not None and data.closes_at <= now:
        raise DomainError(_("Closes: the closing time has already passed."), field="closes_at")


def publish(actor, quiz, address="", now=None):
    """Open the quiz to its audience (within its window)."""
    if quiz.is_published:
        return quiz
    data = QuizInput.of(quiz)
    _check_publishable(data, now or utcnow())
    with database.atomic():
        Quiz.update(is_published=True).where(Quiz.id == quiz.id).execute()
        audit.record(actor, "quiz.publish", f"quiz:{quiz.id} {quiz.title}", None, address)
    quiz.is_published = True
    return quiz


def unpublish(actor, quiz, address=""):
    """Hide the quiz: nobody can start it; attempts already made are kept."""
    if not quiz.is_published:
        return quiz
    with database.atomic():
        Quiz.update(is_published=False).where(Quiz.id == quiz.id).execute()
        audit.record(actor, "quiz.unpublish", f"quiz:{quiz.id} {quiz.title}", None, address)
    quiz.is_published = False
    return quiz


def manageable(user):
    """The quizzes ``user`` may manage, newest first (contest rounds are managed with their contest)."""
    query = (Quiz.select(Quiz, Unit).join(Unit, on=(Quiz.owner_unit == Unit.id))
             .where(Quiz.is_listed == True))  # noqa: E712 (a peewee expression)
    if not permissions.is_admin(user):
        query = query.where(Quiz.owner_unit.in_(permissions.units_for(user, "quiz.manage").select(Unit.id)))
    return query.order_by(Quiz.created_at.desc(), Quiz.id.desc())


def attempt_counts(quiz_ids):
    """{quiz id: attempts (finished or not)}."""
    if not quiz_ids:
        return {}
    rows = (Attempt.select(Attempt.quiz, pw.fn.COUNT(Attempt.id)).where(Attempt.quiz.in_(list(quiz_ids)))
            .group_by(Attempt.quiz).tuples())
    return dict(rows)


def question_total(data):
    """How many questions each attempt gets."""
    return sum(d.count for d in data.draws) if data.draws else len(data.fixed_questions)
