"""Contest set-up: the contest, its rounds (each one a quiz), prize tiers and the banner.

``create_contest`` and ``update_contest`` check a ContestInput and raise a
DomainError naming the field. A round is a quiz set up through ``quiz.setup``
(so the quiz rules are checked once, in one place): unlisted, aimed at the
contest's eligible units, asking the round's prediction question when
submitting. Once members have taken a round, what would change its grading or
ranking is refused; a confirmed round keeps everything but its wording.
"""

import dataclasses
import datetime as dt
import os

import peewee as pw
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..accounts import audit, permissions
from ..accounts.models import Unit, utcnow
from ..db import Prepared, database, nfc
from ..errors import Conflict, DomainError
from ..formatting import format_datetime_vi, format_number_vi
from ..quiz import setup as quiz_setup
from ..quiz.grading import Finished, combine
from ..quiz.models import Attempt, Quiz, QuizAudience
from .models import Award, Contest, ContestUnit, PrizeTier, Round, RoundEntry
from .ranking import DEFAULT_RULES, clean_rules

AGGREGATE_LABELS = {"sum": _l("Sum of the rounds' scores"), "average": _l("Average of the rounds' scores")}
COLLECTIVE_LABELS = {
    "participants": _l("Most participants"),
    "rate": _l("Highest participation rate (participants ÷ declared members)"),
    "average": _l("Best average score"),
    "points": _l("Points: participation rate averaged over the rounds, plus points per prize won"),
}
COUNTING_LABELS = {"highest": _l("The best score (the earliest if equal)"), "last": _l("The last attempt"),
                   "first": _l("The first attempt")}
STATE_LABELS = {"scheduled": _l("Not open yet"), "open": _l("Open now"), "closed": _l("Closed")}
PREDICTION_SHORT = {"perfect": _l("Prediction: how many answer everything right"),
                    "participants": _l("Prediction: how many take part")}

# Stored text in the contestants' language: the question they answer when submitting.
PREDICTION_PROMPTS = {
    "perfect": "Theo đồng chí, có bao nhiêu người trả lời đúng tất cả các câu hỏi của vòng thi này?",
    "participants": "Theo đồng chí, có bao nhiêu người tham gia dự thi vòng thi này?",
}
# The tiers a round or contest starts with (names, counts); organisers rename and recount them.
DEFAULT_TIERS = (("Giải Nhất", 1), ("Giải Nhì", 2), ("Giải Ba", 3), ("Giải Khuyến khích", 5))
DEFAULT_COLLECTIVE_TIERS = (("Giải Nhất", 1), ("Giải Nhì", 2), ("Giải Ba", 3))
MAX_RULES_TEXT = 20000
MAX_POINTS = 1000
MAX_TIERS = 10
MAX_PRIZES = 100000

BANNER_MAX_BYTES = 2 * 1024 * 1024
BANNER_TYPES = {"png": "image/png", "jpg": "image/jpeg"}


def _may_manage(actor, obj):
    return actor is None or permissions.can(actor, "contest.manage", obj)


def _changes(before, after):
    return {k: [before[k], after[k]] for k in after if before.get(k) != after[k]}


def _when(value):
    return value.isoformat(" ", "minutes") if value else None


# -- the contest ---------------------------------------------------------------------------------

@dataclasses.dataclass
class ContestInput:
    title: str
    owner_unit: Unit
    rules_text: str = ""  # thể lệ, plain text; blank lines separate paragraphs
    starts_at: dt.datetime = None  # UTC, naive
    ends_at: dt.datetime = None
    is_public: bool = False
    units: list = dataclasses.field(default_factory=list)  # eligible units; none means the owner's subtree
    ranking_rules: tuple = DEFAULT_RULES  # keys in order (a list or "score,prediction,…")
    aggregate: str = "sum"
    collective_measure: str = "rate"
    collective_points_per_prize: int = 5

    @classmethod
    def of(cls, contest):
        """The stored set-up of ``contest``."""
        return cls(title=contest.title, owner_unit=contest.owner_unit, rules_text=contest.rules_text,
                   starts_at=contest.starts_at, ends_at=contest.ends_at, is_public=contest.is_public,
                   units=eligible_units(contest), ranking_rules=clean_rules(contest.ranking_rules),
                   aggregate=contest.aggregate, collective_measure=contest.collective_measure,
                   collective_points_per_prize=contest.collective_points_per_prize)


def eligible_units(contest):
    """The units named as eligible (their subtrees take part); empty: the owner's whole subtree."""
    return list(Unit.select().join(ContestUnit, on=(ContestUnit.unit == Unit.id))
                .where(ContestUnit.contest == contest.id).order_by(Unit.path))


def check_contest(actor, data):
    """Return a cleaned copy of ``data`` or raise DomainError naming what is wrong."""
    title = " ".join(nfc(data.title or "").split())
    if not title:
        raise DomainError(_("Contest title: this field is required."), field="title")
    if len(title) > 255:
        raise DomainError(_("Contest title: at most 255 characters."), field="title")
    owner = data.owner_unit
    if owner is None or not _may_manage(actor, owner):
        raise DomainError(_("Organising unit: choose one of the units you manage."), field="owner_unit")
    units, seen = [], set()
    for unit in data.units:
        if not unit.is_within(owner):
            raise DomainError(_("Eligible units: %(unit)s is not part of the organising unit %(owner)s.",
                                unit=unit.name, owner=owner.name), field="units")
        if unit.id not in seen:
            seen.add(unit.id)
            units.append(unit)
    rules_text = nfc(data.rules_text or "").strip()
    if len(rules_text) > MAX_RULES_TEXT:
        raise DomainError(_("Rules: at most %(n)s characters.", n=format_number_vi(MAX_RULES_TEXT)), field="rules_text")
    if data.starts_at is None:
        raise DomainError(_("Starts: enter when the contest starts."), field="starts_at")
    if data.ends_at is None:
        raise DomainError(_("Ends: enter when the contest ends."), field="ends_at")
    if data.ends_at <= data.starts_at:
        raise DomainError(_("Ends: the end must be after the start."), field="ends_at")
    keys = data.ranking_rules.split(",") if isinstance(data.ranking_rules, str) else list(data.ranking_rules)
    if any(k not in DEFAULT_RULES for k in keys if k):
        raise DomainError(_("Ranking rules: choose the criteria from the list."), field="ranking_rules")
    if data.aggregate not in Contest.AGGREGATES:
        raise DomainError(_("Contest-wide ranking: choose the sum or the average of the rounds."), field="aggregate")
    if data.collective_measure not in Contest.COLLECTIVE_MEASURES:
        raise DomainError(_("Collective prizes: choose a measure from the list."), field="collective_measure")
    points = quiz_setup.whole_number(data.collective_points_per_prize, "collective_points_per_prize",
                  _("Points per individual prize won: enter a whole number from 0 to %(n)s.", n=MAX_POINTS),
                  0, MAX_POINTS)
    return dataclasses.replace(data, title=title, units=units, rules_text=rules_text, is_public=bool(data.is_public),
                               ranking_rules=clean_rules(keys), collective_points_per_prize=points or 0)


def _audit_contest(data):
    return {
        "title": data.title, "owner_unit": data.owner_unit.code, "units": ", ".join(u.code for u in data.units),
        "starts_at": _when(data.starts_at), "ends_at": _when(data.ends_at), "is_public": data.is_public,
        "rules_text": data.rules_text, "ranking_rules": ",".join(data.ranking_rules), "aggregate": data.aggregate,
        "collective_measure": data.collective_measure,
        "collective_points_per_prize": data.collective_points_per_prize,
    }


def _store_contest(contest, data):
    contest.title, contest.owner_unit, contest.rules_text = data.title, data.owner_unit, data.rules_text
    contest.starts_at, contest.ends_at, contest.is_public = data.starts_at, data.ends_at, data.is_public
    contest.ranking_rules = ",".join(data.ranking_rules)
    contest.aggregate, contest.collective_measure = data.aggregate, data.collective_measure
    contest.collective_points_per_prize = data.collective_points_per_prize
    contest.save()
    ContestUnit.delete().where(ContestUnit.contest == contest.id).execute()
    if data.units:
        ContestUnit.insert_many([{"contest": contest.id, "unit": u.id} for u in data.units]).execute()


def _target(contest):
    return f"contest:{contest.id} {contest.title}"


def create_contest(actor, data, address="", now=None):
    """Create an unpublished contest from a ContestInput, with the default contest-wide prize tiers."""
    data = check_contest(actor, data)
    with database.atomic():
        contest = Contest(created_by=actor, created_at=now or utcnow())
        _store_contest(contest, data)
        _default_tiers(contest, None)
        audit.record(actor, "contest.create", _target(contest), _audit_contest(data), address)
    return contest


def rounds_of(contest):
    """The contest's rounds in order, each with its quiz."""
    rounds = list(Round.select(Round, Quiz).join(Quiz, on=(Round.quiz == Quiz.id))
                  .where(Round.contest == contest.id).order_by(Round.number))
    for round_ in rounds:
        round_.contest = contest
    return rounds


def _taken(quiz_ids):
    """Whether any of these quizzes has an attempt (started or finished)."""
    return bool(quiz_ids) and Attempt.select().where(Attempt.quiz.in_(list(quiz_ids))).exists()


def update_contest(actor, contest, data, address="", now=None):
    """Save a changed set-up; returns the changes as {field: [old, new]}.

    The rounds' quizzes follow the owner and the eligible units. Once members
    have taken part, the organising unit and the ranking rules stay; the dates
    must keep every round inside the contest.
    """
    data = check_contest(actor, data)
    changes = _changes(_audit_contest(ContestInput.of(contest)), _audit_contest(data))
    if not changes:
        return changes
    rounds = rounds_of(contest)
    if {"owner_unit", "ranking_rules", "aggregate"} & changes.keys() and _taken([r.quiz_id for r in rounds]):
        if "owner_unit" in changes:
            raise DomainError(_("Organising unit: members have already taken part, so it can no longer change."),
                              field="owner_unit")
        field = "ranking_rules" if "ranking_rules" in changes else "aggregate"
        raise DomainError(_("Ranking rules: members have already taken part, so the rules that rank them can no "
                            "longer change."), field=field)
    if contest.results_published_at is not None and \
            {"collective_measure", "collective_points_per_prize"} & changes.keys():
        raise DomainError(_("Collective prizes: the contest's results are published, so the measure can no longer "
                            "change."), field="collective_measure")
    for round_ in rounds:
        quiz = round_.quiz
        if quiz.opens_at and quiz.opens_at < data.starts_at:
            raise DomainError(_("Starts: %(round)s opens before this, at %(time)s.", round=quiz.title,
                                time=format_datetime_vi(quiz.opens_at)), field="starts_at")
        if quiz.closes_at and quiz.closes_at > data.ends_at:
            raise DomainError(_("Ends: %(round)s closes after this, at %(time)s.", round=quiz.title,
                                time=format_datetime_vi(quiz.closes_at)), field="ends_at")
    with database.atomic():
        _store_contest(contest, data)
        if {"owner_unit", "units"} & changes.keys():
            _sync_audience(contest, data.units, [r.quiz_id for r in rounds])
        audit.record(actor, "contest.update", _target(contest), changes, address)
    return changes


def _sync_audience(contest, units, quiz_ids):
    """The rounds' quizzes belong to the contest's owner and are aimed at its eligible units."""
    if not quiz_ids:
        return
    Quiz.update(owner_unit=contest.owner_unit).where(Quiz.id.in_(quiz_ids)).execute()
    QuizAudience.delete().where(QuizAudience.quiz.in_(quiz_ids)).execute()
    if units:
        QuizAudience.insert_many([{"quiz": q, "unit": u.id} for q in quiz_ids for u in units]).execute()


def publish_contest(actor, contest, address="", now=None):
    """Show the contest to those who may take part, and open its rounds (each within its window)."""
    if contest.is_published:
        return contest
    now = now or utcnow()
    with database.atomic():
        for round_ in rounds_of(contest):
            quiz = round_.quiz
            if quiz.is_published or (quiz.closes_at is not None and quiz.closes_at <= now):
                continue  # a round already over stays as it was
            try:
                quiz_setup.publish(actor, quiz, address, now)
            except DomainError as exc:
                raise DomainError(_("%(round)s: %(reason)s", round=quiz.title, reason=str(exc)),
                                  field=exc.field) from None
        Contest.update(is_published=True).where(Contest.id == contest.id).execute()
        audit.record(actor, "contest.publish", _target(contest), None, address)
    contest.is_published = True
    return contest


def unpublish_contest(actor, contest, address=""):
    """Hide the contest and its rounds: nobody can start a round; attempts made are kept."""
    if not contest.is_published:
        return contest
    with database.atomic():
        for round_ in rounds_of(contest):
            quiz_setup.unpublish(actor, round_.quiz, address)
        Contest.update(is_published=False).where(Contest.id == contest.id).execute()
        audit.record(actor, "contest.unpublish", _target(contest), None, address)
    contest.is_published = False
    return contest


def manageable(user):
    """The contests ``user`` may manage, newest first, with their owner units."""
    query = Contest.select(Contest, Unit).join(Unit, on=(Contest.owner_unit == Unit.id))
    if not permissions.is_admin(user):
        query = query.where(Contest.owner_unit.in_(permissions.units_for(user, "contest.manage").select(Unit.id)))
    return query.order_by(Contest.created_at.desc(), Contest.id.desc())


# -- rounds --------------------------------------------------------------------------------------

@dataclasses.dataclass
class RoundInput:
    title: str = ""  # empty: "Vòng <number>"
    description: str = ""
    prediction: str = "perfect"  # what the prediction question asks (Round.PREDICTIONS); None: not asked
    opens_at: dt.datetime = None  # UTC, naive; both required
    closes_at: dt.datetime = None
    attempts_allowed: int = 1  # 0: unlimited
    grading_method: str = "highest"  # which attempt counts (Round.COUNTING)
    draws: list = dataclasses.field(default_factory=list)  # quiz.setup.DrawInput
    fixed_questions: list = dataclasses.field(default_factory=list)
    time_limit_minutes: int = None
    shuffle_questions: bool = True
    shuffle_options: bool = True
    review_after_submit: str = "score"  # contestants see only their score until the round closes
    review_after_close: str = "answers"

    @classmethod
    def of(cls, round_):
        quiz = quiz_setup.QuizInput.of(round_.quiz)
        return cls(title=quiz.title, description=quiz.description, prediction=round_.prediction,
                   opens_at=quiz.opens_at, closes_at=quiz.closes_at, attempts_allowed=quiz.attempts_allowed,
                   grading_method=quiz.grading_method, draws=quiz.draws, fixed_questions=quiz.fixed_questions,
                   time_limit_minutes=quiz.time_limit_minutes, shuffle_questions=quiz.shuffle_questions,
                   shuffle_options=quiz.shuffle_options, review_after_submit=quiz.review_after_submit,
                   review_after_close=quiz.review_after_close)


def round_state(quiz, now):
    """'scheduled', 'open' or 'closed' by the round's window (publication aside)."""
    if quiz.opens_at is not None and now < quiz.opens_at:
        return "scheduled"
    if quiz.closes_at is not None and now >= quiz.closes_at:
        return "closed"
    return "open"


def _check_round(contest, data, number):
    """The contest's own rules for a round; the quiz rules are checked by quiz.setup."""
    title = " ".join(nfc(data.title or "").split()) or f"Vòng {number}"
    if len(title) > 255:
        raise DomainError(_("Round title: at most 255 characters."), field="title")
    prediction = data.prediction or None
    if prediction is not None and prediction not in Round.PREDICTIONS:
        raise DomainError(_("Prediction question: choose one from the list."), field="prediction")
    if data.grading_method not in Round.COUNTING:
        raise DomainError(_("Which attempt counts: choose one from the list."), field="grading_method")
    if data.opens_at is None:
        raise DomainError(_("Opens: enter when the round opens."), field="opens_at")
    if data.closes_at is None:
        raise DomainError(_("Closes: enter when the round closes."), field="closes_at")
    if data.closes_at <= data.opens_at:
        raise DomainError(_("Closes: the closing time must be after the opening time."), field="closes_at")
    if contest.starts_at and data.opens_at < contest.starts_at:
        raise DomainError(_("Opens: the contest starts at %(time)s; a round cannot open before.",
                            time=format_datetime_vi(contest.starts_at)), field="opens_at")
    if contest.ends_at and data.closes_at > contest.ends_at:
        raise DomainError(_("Closes: the contest ends at %(time)s; a round cannot close after.",
                            time=format_datetime_vi(contest.ends_at)), field="closes_at")
    if not data.draws and not data.fixed_questions:
        raise DomainError(_("Questions: draw questions from topics or give a fixed list."), field="draws")
    return dataclasses.replace(data, title=title, prediction=prediction)


def _quiz_input(contest, data):
    return quiz_setup.QuizInput(
        title=data.title, owner_unit=contest.owner_unit, description=data.description or "", kind="exam",
        audience=eligible_units(contest), draws=data.draws, fixed_questions=data.fixed_questions,
        shuffle_questions=data.shuffle_questions, shuffle_options=data.shuffle_options,
        time_limit_minutes=data.time_limit_minutes, opens_at=data.opens_at, closes_at=data.closes_at,
        attempts_allowed=data.attempts_allowed, grading_method=data.grading_method,
        review_after_submit=data.review_after_submit, review_after_close=data.review_after_close)


def _from_quiz_input(data, quiz_input):
    """``data`` with what quiz.setup cleaned (title, numbers, questions)."""
    return dataclasses.replace(
        data, title=quiz_input.title, description=quiz_input.description, draws=quiz_input.draws,
        fixed_questions=quiz_input.fixed_questions, time_limit_minutes=quiz_input.time_limit_minutes,
        attempts_allowed=quiz_input.attempts_allowed, shuffle_questions=quiz_input.shuffle_questions,
        shuffle_options=quiz_input.shuffle_options)


def _audit_round(data):
    return {
        "title": data.title, "description": data.description, "prediction": data.prediction,
        "opens_at": _when(data.opens_at), "closes_at": _when(data.closes_at),
        "attempts_allowed": data.attempts_allowed, "grading_method": data.grading_method,
        "draws": "; ".join(f"{d.topic.code} × {d.count}" + (f" ({d.difficulty})" if d.difficulty else "")
                           for d in data.draws),
        "fixed_questions": ", ".join(str(q.id) for q in data.fixed_questions),
        "time_limit_minutes": data.time_limit_minutes, "shuffle_questions": data.shuffle_questions,
        "shuffle_options": data.shuffle_options, "review_after_submit": data.review_after_submit,
        "review_after_close": data.review_after_close,
    }


def _round_target(contest, title):
    return f"contest:{contest.id} {contest.title} – {title}"


def add_round(actor, contest, data, address="", now=None):
    """Add a round: its quiz (unlisted, for the contest's eligible units), default prize tiers, and
    opened at once when the contest is already published."""
    number = (Round.select(pw.fn.MAX(Round.number)).where(Round.contest == contest.id).scalar() or 0) + 1
    data = _check_round(contest, data, number)
    quiz_input = quiz_setup.check_quiz(actor, _quiz_input(contest, data))
    data = _from_quiz_input(data, quiz_input)
    now = now or utcnow()
    try:
        with database.atomic():
            quiz = quiz_setup.create_quiz(actor, quiz_input, address, now)
            Quiz.update(is_listed=False, prediction_prompt=PREDICTION_PROMPTS.get(data.prediction)) \
                .where(Quiz.id == quiz.id).execute()
            quiz.is_listed, quiz.prediction_prompt = False, PREDICTION_PROMPTS.get(data.prediction)
            round_ = Round.create(contest=contest, number=number, quiz=quiz, prediction=data.prediction)
            _default_tiers(contest, round_)
            if contest.is_published and (quiz.closes_at is None or quiz.closes_at > now):
                quiz_setup.publish(actor, quiz, address, now)
            audit.record(actor, "round.create", _round_target(contest, quiz.title),
                         {"number": number, **_audit_round(data)}, address)
    except pw.IntegrityError:
        raise Conflict(_("Another round was added to this contest at the same moment. Please try again.")) from None
    round_.contest, round_.quiz = contest, quiz
    return round_


# What members' attempts fix: changing it would grade or rank them differently.
_FIXED_ONCE_TAKEN = {
    "draws": _l("Questions: members have already taken this round, so its questions can no longer change."),
    "fixed_questions": _l("Questions: members have already taken this round, so its questions can no longer "
                          "change."),
    "grading_method": _l("Which attempt counts: members have already taken this round, so this can no longer "
                         "change."),
    "prediction": _l("Prediction question: members have already answered it in this round, so what it asks can "
                     "no longer change."),
    "time_limit_minutes": _l("Time limit: members have already taken this round, so the time limit can no longer "
                             "change."),
    "opens_at": _l("Opens: members have already taken this round, so its opening time can no longer change."),
}
_WORDING = {"title", "description"}


def _refuse_once_taken(before, after, changes):
    for field, message in _FIXED_ONCE_TAKEN.items():
        if field in changes:
            raise DomainError(str(message), field=field)
    if "attempts_allowed" in changes:
        old, new = before.attempts_allowed, after.attempts_allowed
        if new != 0 and (old == 0 or new < old):
            raise DomainError(_("Attempts allowed: members have already taken this round, so the number of "
                                "attempts can only go up."), field="attempts_allowed")
    if "closes_at" in changes and before.closes_at is not None and after.closes_at < before.closes_at:
        raise DomainError(_("Closes: members have already taken this round, so the closing time can only move "
                            "later."), field="closes_at")


def update_round(actor, round_, data, address="", now=None):
    """Save a changed round; returns the changes as {field: [old, new]}.

    Once members have taken the round, its questions, counting, prediction
    question, time limit and opening stay; attempts allowed can only go up and
    the closing time only later. A confirmed round changes only its wording.
    """
    contest, quiz = round_.contest, round_.quiz
    data = _check_round(contest, data, round_.number)
    quiz_input = quiz_setup.check_quiz(actor, _quiz_input(contest, data))
    data = _from_quiz_input(data, quiz_input)
    before = RoundInput.of(round_)
    changes = _changes(_audit_round(before), _audit_round(data))
    if not changes:
        return changes
    if round_.is_confirmed and changes.keys() - _WORDING:
        raise DomainError(_("The results of this round are confirmed: only its title and description can still "
                            "change."), field=sorted(changes.keys() - _WORDING)[0])
    if quiz_setup.has_attempts(quiz):
        _refuse_once_taken(before, data, changes)
    with database.atomic():
        quiz_setup.update_quiz(actor, quiz, quiz_input, address, now)
        Quiz.update(prediction_prompt=PREDICTION_PROMPTS.get(data.prediction)).where(Quiz.id == quiz.id).execute()
        Round.update(prediction=data.prediction).where(Round.id == round_.id).execute()
        audit.record(actor, "round.update", _round_target(contest, data.title), changes, address)
    quiz.prediction_prompt = PREDICTION_PROMPTS.get(data.prediction)
    round_.prediction = data.prediction
    return changes


def round_counts(quiz_ids):
    """{quiz id: (attempts, finished, participants)} in one query."""
    if not quiz_ids:
        return {}
    finished = pw.fn.SUM(pw.Case(None, [(Attempt.state == "finished", 1)], 0))
    rows = (Attempt.select(Attempt.quiz, pw.fn.COUNT(Attempt.id), finished, pw.fn.COUNT(Attempt.user.distinct()))
            .where(Attempt.quiz.in_(list(quiz_ids))).group_by(Attempt.quiz).tuples())
    return {quiz_id: (n, int(done or 0), people) for quiz_id, n, done, people in rows}


# -- prize tiers ---------------------------------------------------------------------------------

@dataclasses.dataclass
class TierInput:
    name: str
    count: int
    max_share: int = None  # at most this percent of the participants


def tiers(contest, round_=None, collective=False):
    """The stored tiers of the contest (``round_`` None) or of a round, highest first."""
    round_cond = PrizeTier.round.is_null() if round_ is None else PrizeTier.round == round_.id
    return list(PrizeTier.select().where(PrizeTier.contest == contest.id, round_cond,
                                         PrizeTier.collective == bool(collective))
                .order_by(PrizeTier.position))


def default_tiers(collective=False):
    return [TierInput(name, count) for name, count in (DEFAULT_COLLECTIVE_TIERS if collective else DEFAULT_TIERS)]


def _default_tiers(contest, round_):
    PrizeTier.insert_many([{"contest": contest.id, "round": round_.id if round_ else None, "collective": False,
                            "position": i, "name": t.name, "count": t.count}
                           for i, t in enumerate(default_tiers(), start=1)]).execute()


def _check_tiers(rows):
    if len(rows) > MAX_TIERS:
        raise DomainError(_("Prizes: at most %(n)s tiers.", n=MAX_TIERS), field="tiers")
    cleaned, names = [], set()
    for i, row in enumerate(rows, start=1):
        row = row if isinstance(row, TierInput) else TierInput(*row)
        name = " ".join(nfc(row.name or "").split())
        if not name:
            raise DomainError(_("Prize %(n)s: enter its name, for example Giải Nhất.", n=i), field="tiers")
        if len(name) > 64:
            raise DomainError(_("Prize %(n)s: the name has at most 64 characters.", n=i), field="tiers")
        if name.casefold() in names:
            raise DomainError(_("Prize %(n)s: %(name)s is listed twice.", n=i, name=name), field="tiers")
        names.add(name.casefold())
        how_many = _("%(name)s: enter how many prizes, from 1 to %(max)s.", name=name, max=MAX_PRIZES)
        count = quiz_setup.whole_number(row.count, "tiers", how_many, 1, MAX_PRIZES)
        if count is None:
            raise DomainError(how_many, field="tiers")
        cap = _("%(name)s: the cap is a percent of the participants, from 1 to 100, or empty for none.", name=name)
        share = quiz_setup.whole_number(row.max_share, "tiers", cap, 1, 100)
        cleaned.append(TierInput(name, count, share))
    return cleaned


def set_prize_tiers(actor, contest, round_, collective, rows, address=""):
    """Replace the tiers of the contest (``round_`` None) or of a round, for people or (``collective``) units.

    ``rows`` are TierInput or (name, count, max_share), highest prize first.
    Tiers keep their identity by position, so prizes already awarded stay
    attached; a tier that has been awarded cannot be removed.
    """
    if round_ is not None and round_.contest_id != contest.id:
        raise DomainError(_("This round belongs to another contest."), field="tiers")
    if round_ is not None and round_.is_confirmed:
        raise DomainError(_("The results of this round are confirmed: its prizes can no longer change."),
                          field="tiers")
    if round_ is None and contest.results_published_at is not None:
        raise DomainError(_("The contest's results are published: its prizes can no longer change."), field="tiers")
    cleaned = _check_tiers(rows)
    stored = tiers(contest, round_, collective)
    before = [[t.name, t.count, t.max_share] for t in stored]
    after = [[t.name, t.count, t.max_share] for t in cleaned]
    if before == after:
        return stored
    removed = [t for t in stored[len(cleaned):]]
    awarded = {a.tier_id for a in Award.select(Award.tier).where(Award.tier.in_([t.id for t in removed]))} \
        if removed else set()
    for tier in removed:
        if tier.id in awarded:
            raise DomainError(_("%(name)s has already been awarded, so it cannot be removed.", name=tier.name),
                              field="tiers")
    with database.atomic():
        for tier, row in zip(stored, cleaned):
            PrizeTier.update(name=row.name, count=row.count, max_share=row.max_share) \
                .where(PrizeTier.id == tier.id).execute()
        if removed:
            PrizeTier.delete().where(PrizeTier.id.in_([t.id for t in removed])).execute()
        extra = cleaned[len(stored):]
        if extra:
            PrizeTier.insert_many([{"contest": contest.id, "round": round_.id if round_ else None,
                                    "collective": bool(collective), "position": len(stored) + i, "name": t.name,
                                    "count": t.count, "max_share": t.max_share}
                                   for i, t in enumerate(extra, start=1)]).execute()
        where = _round_target(contest, round_.quiz.title) if round_ is not None else _target(contest)
        audit.record(actor, "prizes.update", where, {"collective": bool(collective), "tiers": [before, after]},
                     address)
    return tiers(contest, round_, collective)


# -- the banner ----------------------------------------------------------------------------------

def banner_kind(data):
    """'png' or 'jpg' when ``data`` is such an image by its content, else None."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":
        return "png"
    if data[:3] == b"\xff\xd8\xff" and data.rstrip(b"\0")[-2:] == b"\xff\xd9":
        return "jpg"
    return None


def banner_folder(uploads, contest):
    """Where the contest's files are kept, under the instance's uploads folder."""
    return os.path.join(uploads, "contests", str(int(contest.id)))


def banner_path(uploads, contest):
    """The stored banner's path, or None."""
    if contest.banner not in {f"banner.{ext}" for ext in BANNER_TYPES}:
        return None
    path = os.path.join(banner_folder(uploads, contest), contest.banner)
    return path if os.path.isfile(path) else None


def save_banner(actor, contest, data, uploads, address=""):
    """Store a PNG or JPEG (at most 2 MB, recognised by its content) as the contest's banner."""
    if not data:
        raise DomainError(_("Banner: choose an image file."), field="banner")
    if len(data) > BANNER_MAX_BYTES:
        raise DomainError(_("Banner: the image is larger than 2 MB. Please make it smaller."), field="banner")
    kind = banner_kind(data)
    if kind is None:
        raise DomainError(_("Banner: the file is not a PNG or JPEG image."), field="banner")
    folder = banner_folder(uploads, contest)
    os.makedirs(folder, exist_ok=True)
    name = f"banner.{kind}"
    tmp = os.path.join(folder, f".{name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, os.path.join(folder, name))
    with database.atomic():
        Contest.update(banner=name).where(Contest.id == contest.id).execute()
        audit.record(actor, "contest.banner", _target(contest), {"banner": name, "bytes": len(data)}, address)
    for other in BANNER_TYPES:
        if other != kind:
            _remove(os.path.join(folder, f"banner.{other}"))
    contest.banner = name
    return name


def remove_banner(actor, contest, uploads, address=""):
    if not contest.banner:
        return
    with database.atomic():
        Contest.update(banner="").where(Contest.id == contest.id).execute()
        audit.record(actor, "contest.banner", _target(contest), {"banner": None}, address)
    for kind in BANNER_TYPES:
        _remove(os.path.join(banner_folder(uploads, contest), f"banner.{kind}"))
    contest.banner = ""


def _remove(path):
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


# -- what contestants see ------------------------------------------------------------------------

def _ancestor_ids(unit):
    return [int(i) for i in unit.path.strip("/").split("/") if i]


def _eligible_for(unit):
    """Contests whose eligible units include ``unit`` (or, naming none, whose owner's subtree does)."""
    ids = _ancestor_ids(unit)
    named = ContestUnit.select(ContestUnit.contest).where(ContestUnit.unit.in_(ids))
    unnamed = Contest.id.not_in(ContestUnit.select(ContestUnit.contest))
    return Contest.id.in_(named) | (unnamed & Contest.owner_unit.in_(ids))


def visible_contests(user, now, members_only=False):
    """Published contests ``user`` (None: a visitor) may see: those their unit takes part in and public ones.

    Running contests come first, then those to come, then past ones. With
    ``members_only``, public contests outside the user's units are left out.
    """
    unit = getattr(user, "unit", None) if user is not None else None
    audience = Contest.is_public == True  # noqa: E712 (a peewee expression)
    if unit is not None:
        audience = _eligible_for(unit) if members_only else (audience | _eligible_for(unit))
    elif members_only:
        return []
    contests = list(Contest.select().where(Contest.is_published == True, audience))  # noqa: E712

    def order(c):
        if c.ends_at is not None and c.ends_at <= now:
            return (2, -c.ends_at.timestamp())
        if c.starts_at is not None and c.starts_at > now:
            return (1, c.starts_at.timestamp())
        return (0, c.ends_at.timestamp() if c.ends_at else 0)

    return sorted(contests, key=lambda c: (order(c), c.title))


def running(contest, now):
    return ((contest.starts_at is None or contest.starts_at <= now)
            and (contest.ends_at is None or now < contest.ends_at))


def open_rounds(contests, now):
    """{contest id: [rounds open at ``now``]} for these contests, in one query."""
    ids = [c.id for c in contests]
    if not ids:
        return {}
    result = {}
    for round_ in (Round.select(Round, Quiz).join(Quiz, on=(Round.quiz == Quiz.id))
                   .where(Round.contest.in_(ids), Quiz.is_published == True,  # noqa: E712
                          Quiz.opens_at.is_null() | (Quiz.opens_at <= now),
                          Quiz.closes_at.is_null() | (Quiz.closes_at > now))
                   .order_by(Round.number)):
        result.setdefault(round_.contest_id, []).append(round_)
    return result


@dataclasses.dataclass
class MyRound:
    """A contestant's standing in one round."""

    attempts: int = 0  # finished
    result: object = None  # quiz.grading.Result of the attempt that counts
    in_progress: bool = False
    rank: int = None  # once the round's results are published
    tied: bool = False


def my_rounds(user, rounds):
    """{round id: MyRound} for ``user`` (None: a visitor gets nothing), in two queries."""
    if user is None or not rounds:
        return {}
    by_quiz = {r.quiz_id: r for r in rounds}
    mine = {r.id: MyRound() for r in rounds}
    finished = {}
    for a in (Attempt.select(Attempt.id, Attempt.quiz, Attempt.number, Attempt.state, Attempt.score,
                             Attempt.max_score)
              .where(Attempt.quiz.in_(list(by_quiz)), Attempt.user == user.id)):
        round_ = by_quiz[a.quiz_id]
        if a.state == "finished":
            mine[round_.id].attempts += 1
            finished.setdefault(round_.id, []).append(Finished(a.id, a.number, a.score, a.max_score))
        else:
            mine[round_.id].in_progress = True
    for round_ in rounds:
        if round_.id in finished:
            mine[round_.id].result = combine(round_.quiz.grading_method, finished[round_.id])
    published = [r.id for r in rounds if r.is_published]
    if published:
        for entry in (RoundEntry.select(RoundEntry.round, RoundEntry.rank, RoundEntry.tied)
                      .where(RoundEntry.round.in_(published), RoundEntry.user == user.id)):
            mine[entry.round_id].rank, mine[entry.round_id].tied = entry.rank, entry.tied
    return mine


_ROUND_OF_QUIZ = Prepared(lambda mark: Round.select(Round, Contest).join(Contest, on=(Round.contest == Contest.id))
                          .where(Round.quiz == mark))


def round_of_quiz(quiz):
    """The round whose quiz this is (with its contest), or None (the round page asks: prepared SQL)."""
    return _ROUND_OF_QUIZ.first(quiz.id)
