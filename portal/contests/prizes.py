"""Individual prizes from the ranking, the organiser's adjustments, and the results workflow.

A round goes: ranked (provisional while its quiz is open; contestants see it
only when the organiser turns the live leaderboard on) → confirmed after the
quiz closes (the ranking is frozen and the prizes are given) → published.
The contest-wide ranking and prizes follow once every round is confirmed.

Prizes are given in rank order by the tiers (Giải Nhất, Nhì, Ba, Khuyến khích…),
each with ``count`` places, capped at ``max_share`` percent of the participants.
Contestants who share a rank are never split by a hidden order: a group that
does not fit in what is left of a tier gets none of it, is reported to the
organiser as a decision to make, and awarding goes on in the next tier starting
with that same group. The organiser settles it by hand (``adjust``), with a
reason; hand-made awards (and withdrawals, kept as awards without a tier) stay
when the prizes are given again, and take their places from the tiers.
"""

import dataclasses
import datetime as dt
from collections import Counter

import peewee as pw
from flask_babel import gettext as _

from ..accounts import audit
from ..accounts.models import Unit, User
from ..db import database
from ..errors import Conflict, DomainError
from ..formatting import format_datetime_vi
from ..quiz import scoring
from ..quiz.models import Attempt
from . import ranking
from .models import Award, ContestEntry, PrizeTier, Registration, Round, RoundEntry

LIVE_REFRESH = dt.timedelta(minutes=2)  # a live leaderboard is re-ranked at most this often


# -- the rule, as a pure function ---------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Decision:
    """Contestants sharing ``rank`` who do not all fit in the ``remaining`` places of ``tier``."""

    rank: int
    user_ids: tuple
    tier: object
    remaining: int

    @property
    def text(self):
        return _("%(n)s contestants tie at rank %(rank)s; %(tier)s has %(k)s places left: the organisers decide.",
                 n=len(self.user_ids), rank=self.rank, tier=self.tier.name, k=self.remaining)


def slots(tier, participants):
    """How many people a tier may reward: its count, capped at ``max_share`` percent of the participants."""
    if tier.max_share is None:
        return max(0, tier.count)
    return max(0, min(tier.count, tier.max_share * participants // 100))


def plan(groups, tiers):
    """Give ``tiers`` [(tier, places)] (highest first) to ``groups`` [(rank, user_ids)] (best first).

    Returns ([(user_id, tier, rank)], [Decision]). A group is rewarded whole or
    not at all within a tier; one that does not fit leaves the tier's last
    places to the organiser and is carried, whole, into the next tier.
    """
    awards, decisions = [], []
    tiers = [(tier, places) for tier, places in tiers if places > 0]
    t, left = 0, (tiers[0][1] if tiers else 0)
    for rank, users in groups:
        while True:
            if t >= len(tiers):
                return awards, decisions
            tier = tiers[t][0]
            if len(users) <= left:
                awards += [(user_id, tier, rank) for user_id in users]
                left -= len(users)
                if left == 0:
                    t += 1
                    left = tiers[t][1] if t < len(tiers) else 0
                break
            decisions.append(Decision(rank, tuple(users), tier, left))
            t += 1
            left = tiers[t][1] if t < len(tiers) else 0
    return awards, decisions


# -- scopes: a round, or the contest as a whole ----------------------------------------------------

class _Scope:
    """What awarding needs to know of a round or of a contest, so both share one implementation."""

    def __init__(self, contest, round_=None):
        self.contest, self.round = contest, round_
        if round_ is not None:
            self.entry, self.where = RoundEntry, (RoundEntry.round == round_.id)
        else:
            self.entry, self.where = ContestEntry, (ContestEntry.contest == contest.id)

    def award_scope(self):
        return (Award.contest == self.contest.id) & (
            Award.round == self.round.id if self.round is not None else Award.round.is_null())

    def tiers(self):
        return list(PrizeTier.select()
                    .where(PrizeTier.contest == self.contest.id, PrizeTier.collective == False,  # noqa: E712
                           PrizeTier.round == self.round.id if self.round is not None else PrizeTier.round.is_null())
                    .order_by(PrizeTier.position, PrizeTier.id))

    def participants(self):
        return self.entry.select().where(self.where).count()

    def individual(self, tier_ids):
        """Awards to people in this scope (withdrawals, whose tier is empty, included)."""
        return self.award_scope() & Award.user.is_null(False) & (Award.tier.is_null() | Award.tier.in_(tier_ids))

    def entry_of(self, user_id):
        return self.entry.get_or_none(self.where, self.entry.user == user_id)

    def label(self):
        if self.round is not None:
            return _("%(contest)s, round %(n)s", contest=self.contest.title, n=self.round.number)
        return self.contest.title

    def details(self, **extra):
        out = {"contest": self.contest.id}
        if self.round is not None:
            out["round"] = self.round.id
        out.update(extra)
        return out


def _plan(scope):
    """The automatic awards and the decisions, from the ranking, the tiers and the hand-made awards."""
    tiers = scope.tiers()
    if not tiers:
        return [], []
    manual = list(Award.select(Award.user, Award.tier)
                  .where(scope.individual([t.id for t in tiers]), Award.is_manual == True))  # noqa: E712
    decided = {a.user_id for a in manual}
    taken = Counter(a.tier_id for a in manual if a.tier_id is not None)
    participants = scope.participants()
    places = [(tier, max(0, slots(tier, participants) - taken[tier.id])) for tier in tiers]
    # Every group before the last one looked at takes places, so ranks past this bound are never reached.
    bound = sum(p for _t, p in places) + len(decided) + 1
    rows = (scope.entry.select(scope.entry.user, scope.entry.rank)
            .where(scope.where, scope.entry.rank <= bound)
            .order_by(scope.entry.rank, scope.entry.user).tuples())
    groups = []
    for user_id, rank in rows:
        if user_id in decided:
            continue
        if groups and groups[-1][0] == rank:
            groups[-1][1].append(user_id)
        else:
            groups.append((rank, [user_id]))
    return plan(groups, places)


def decisions_for(contest, round_=None):
    """The ties the organiser has to settle, as the ranking and the hand-made awards stand now."""
    return _plan(_Scope(contest, round_))[1]


@dataclasses.dataclass
class Outcome:
    awarded: int
    decisions: list


def _award(actor, scope, now, address):
    tiers = scope.tiers()
    with database.atomic():
        if tiers:
            Award.delete().where(scope.individual([t.id for t in tiers]),
                                 Award.is_manual == False).execute()  # noqa: E712
        given, decisions = _plan(scope)
        if given:
            Award.insert_many([
                {"contest": scope.contest.id, "round": scope.round.id if scope.round is not None else None,
                 "tier": tier.id, "user": user_id, "rank": rank, "is_manual": False, "reason": "",
                 "created_by": actor.id if actor is not None else None, "created_at": now}
                for user_id, tier, rank in given]).execute()
        audit.record(actor, "contest.round_awarded" if scope.round is not None else "contest.awarded",
                     scope.label(), scope.details(awarded=len(given), decisions=len(decisions)), address)
    return Outcome(len(given), decisions)


def _refuse_if_published(published_at):
    if published_at is not None:
        raise Conflict(_("The results are published: change a prize by hand, giving the reason."))


def award_round(actor, round_, now, address=""):
    """Give the round's individual prizes again from its confirmed ranking; hand-made awards stay."""
    if round_.confirmed_at is None:
        raise Conflict(_("Confirm the round's ranking before giving its prizes."))
    _refuse_if_published(round_.published_at)
    return _award(actor, _Scope(round_.contest, round_), now, address)


def award_contest(actor, contest, now, address=""):
    """Rank the contest from its confirmed rounds and give the contest-wide prizes; hand-made awards stay."""
    _require_rounds_confirmed(contest)
    _refuse_if_published(contest.results_published_at)
    with database.atomic():
        ranking.rank_contest(contest, now)
        return _award(actor, _Scope(contest), now, address)


def adjust(actor, award, tier, reason, now, *, contest=None, round_=None, user=None, address=""):
    """Give, change or withdraw (``tier`` None) a person's prize by hand, for a reason kept in the audit log.

    ``award`` is the person's current award in the round (or contest), or None
    to give one to ``user``. The result is marked hand-made: giving the prizes
    again from the ranking keeps it.
    """
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Reason: say why the prize is changed; it is kept in the audit log."), field="reason")
    if award is not None:
        if award.user_id is None:
            raise DomainError(_("Collective prizes are not adjusted here."), field="tier")
        contest, round_, user_id = award.contest, award.round, award.user_id
    else:
        contest = contest or round_.contest
        user_id = user.id if isinstance(user, User) else user
    if round_ is not None and round_.contest_id != contest.id:
        raise DomainError(_("This round is not part of the contest."), field="round")
    scope = _Scope(contest, round_)
    if round_ is not None and round_.confirmed_at is None:
        raise Conflict(_("Confirm the round's ranking before changing its prizes."))
    if round_ is None:
        _require_rounds_confirmed(contest)
    if tier is not None and (tier.contest_id != contest.id or tier.collective
                             or tier.round_id != (round_.id if round_ is not None else None)):
        raise DomainError(_("Prize: choose one of this ranking's prizes."), field="tier")
    entry = scope.entry_of(user_id)
    if entry is None:
        raise DomainError(_("This person is not in the ranking."), field="user")
    tiers = scope.tiers()
    with database.atomic():
        current = award or (Award.select().where(scope.individual([t.id for t in tiers]), Award.user == user_id)
                            .order_by(Award.id).first())
        if current is None and tier is None:
            raise DomainError(_("Prize: choose the prize to give."), field="tier")
        before = current.tier.name if current is not None and current.tier_id is not None else None
        if current is None:
            current = Award.create(contest=contest.id, round=round_.id if round_ is not None else None,
                                   tier=tier.id, user=user_id, rank=entry.rank, is_manual=True, reason=reason,
                                   created_by=actor, created_at=now)
        else:
            current.tier, current.rank, current.is_manual, current.reason = tier, entry.rank, True, reason
            current.created_by, current.created_at = actor, now
            current.save()
        name = User.get_by_id(user_id).full_name
        audit.record(actor, "contest.prize_adjusted", f"{scope.label()} · {name}",
                     scope.details(user=user_id, name=name, rank=entry.rank, before=before,
                                   after=tier.name if tier is not None else None, reason=reason), address)
    return current


# -- the round's workflow ------------------------------------------------------------------------

def state(round_, now):
    """'open' (attempts still coming), 'closed' (to be confirmed), 'confirmed' or 'published'."""
    if round_.published_at is not None:
        return "published"
    if round_.confirmed_at is not None:
        return "confirmed"
    closes_at = round_.quiz.closes_at
    return "closed" if closes_at is not None and closes_at <= now else "open"


def recompute_round(actor, round_, now, address=""):
    """Rank the round again from its finished attempts (refused once confirmed); the number of contestants."""
    count = ranking.rank_round(round_, now)
    scope = _Scope(round_.contest, round_)
    audit.record(actor, "contest.round_ranked", scope.label(), scope.details(contestants=count), address)
    return count


def confirm_round(actor, round_, now, address=""):
    """Rank the closed round a last time, freeze the ranking and give its prizes."""
    if round_.confirmed_at is not None:
        raise Conflict(_("This round's results are already confirmed."))
    closes_at = round_.quiz.closes_at
    if closes_at is None:
        raise Conflict(_("This round's quiz has no closing time: set one, and confirm once it has passed."))
    if now < closes_at:
        raise Conflict(_("The round is open until %(time)s: its results can be confirmed only after it closes.",
                         time=format_datetime_vi(closes_at)))
    _finish_overdue(round_, now)
    with database.atomic():
        count = ranking.rank_round(round_, now)
        claimed = (Round.update(confirmed_at=now, confirmed_by=actor)
                   .where(Round.id == round_.id, Round.confirmed_at.is_null()).execute())
        if not claimed:
            raise Conflict(_("This round's results are already confirmed."))
        round_.confirmed_at, round_.confirmed_by = now, actor
        scope = _Scope(round_.contest, round_)
        audit.record(actor, "contest.round_confirmed", scope.label(),
                     scope.details(contestants=count, truth=round_.prediction_truth), address)
        return award_round(actor, round_, now, address)


def _finish_overdue(round_, now):
    """Grade the attempts the quiz's close cut off; refuse while some are still within their grace."""
    pending = list(Attempt.select().where(Attempt.quiz == round_.quiz_id, Attempt.state == "in_progress",
                                          Attempt.deadline_at.is_null(False)))
    for attempt in pending:
        attempt.quiz = round_.quiz
        scoring.finalise_if_overdue(attempt, now)
    if any(a.state == "in_progress" and not scoring.is_overdue(a, now) for a in pending):
        raise Conflict(_("Some attempts are still being submitted: try again in a minute."))


def publish_round(actor, round_, now, address=""):
    """Show the confirmed results and prizes to contestants (and to the public, for a public contest)."""
    if round_.confirmed_at is None:
        raise Conflict(_("Confirm the round's results before publishing them."))
    if round_.published_at is not None:
        raise Conflict(_("This round's results are already published."))
    Round.update(published_at=now).where(Round.id == round_.id).execute()
    round_.published_at = now
    scope = _Scope(round_.contest, round_)
    audit.record(actor, "contest.round_published", scope.label(), scope.details(), address)


def set_live_leaderboard(actor, round_, on, now, address=""):
    """Let contestants see the provisional ranking while the round is open (or stop it)."""
    on = bool(on)
    if round_.live_leaderboard == on:
        return False
    with database.atomic():
        Round.update(live_leaderboard=on).where(Round.id == round_.id).execute()
        round_.live_leaderboard = on
        if on and round_.confirmed_at is None:
            ranking.rank_round(round_, now)
        scope = _Scope(round_.contest, round_)
        audit.record(actor, "contest.live_leaderboard", scope.label(), scope.details(on=on), address)
    return True


def refresh_live(round_, now):
    """Re-rank an open round with a live leaderboard when its ranking is older than ``LIVE_REFRESH``.

    Many contestants look at once: a conditional update lets one request of
    the moment do the ranking, the others show the ranking as it is.
    """
    if not round_.live_leaderboard or round_.confirmed_at is not None or state(round_, now) != "open":
        return False
    stale = now - LIVE_REFRESH
    claimed = (Round.update(ranked_at=now)
               .where(Round.id == round_.id, Round.confirmed_at.is_null(),
                      Round.ranked_at.is_null() | (Round.ranked_at < stale)).execute())
    if not claimed:
        return False
    try:
        ranking.rank_round(round_, now)
    except Conflict:  # confirmed meanwhile
        return False
    return True


# -- the contest's workflow ----------------------------------------------------------------------

def _require_rounds_confirmed(contest):
    rounds = list(Round.select(Round.number, Round.confirmed_at).where(Round.contest == contest.id))
    if not rounds:
        raise Conflict(_("The contest has no rounds yet."))
    waiting = sorted(r.number for r in rounds if r.confirmed_at is None)
    if waiting:
        raise Conflict(_("Confirm every round first (still to confirm: round %(numbers)s).",
                         numbers=", ".join(str(n) for n in waiting)))


def rounds_confirmed(contest):
    return not Round.select().where(Round.contest == contest.id, Round.confirmed_at.is_null()).exists() \
        and Round.select().where(Round.contest == contest.id).exists()


def recompute_contest(actor, contest, now, address=""):
    """Rank the contest from its rounds' rankings as they stand (provisional until every round is confirmed)."""
    _refuse_if_published(contest.results_published_at)
    count = ranking.rank_contest(contest, now)
    audit.record(actor, "contest.ranked", contest.title, {"contest": contest.id, "contestants": count}, address)
    return count


def publish_contest(actor, contest, now, address=""):
    """Publish the contest-wide ranking and prizes, once every round is confirmed and the prizes are given."""
    _require_rounds_confirmed(contest)
    if contest.results_published_at is not None:
        raise Conflict(_("The contest's results are already published."))
    scope = _Scope(contest)
    tiers = scope.tiers()
    if not ContestEntry.select().where(scope.where).exists() or (
            tiers and not Award.select().where(scope.individual([t.id for t in tiers])).exists()):
        raise Conflict(_("Give the contest's prizes from its ranking before publishing."))
    contest.results_published_at = now
    type(contest).update(results_published_at=now).where(type(contest).id == contest.id).execute()
    audit.record(actor, "contest.results_published", contest.title, {"contest": contest.id}, address)


# -- reading -------------------------------------------------------------------------------------

@dataclasses.dataclass
class Row:
    """One line of a ranking table: the entry, the person and unit, and their prize."""

    entry: object
    name: str
    unit: str
    award: object = None

    @property
    def prize(self):
        return self.award.tier.name if self.award is not None and self.award.tier_id is not None else None


def entries_count(contest, round_=None):
    """How many contestants the ranking holds."""
    return _Scope(contest, round_).participants()


def table(contest, round_=None, limit=50, offset=0):
    """A page of the ranking in rank order, with names, units and prizes."""
    scope = _Scope(contest, round_)
    e = scope.entry
    reg = Registration.alias("reg")
    query = (e.select(e, User.full_name, Unit.name, reg.other_unit)
             .join(User, on=(e.user == User.id), attr="person")
             .switch(e).join(Unit, pw.JOIN.LEFT_OUTER, on=(e.unit == Unit.id), attr="unit_row")
             .switch(e).join(reg, pw.JOIN.LEFT_OUTER, on=((reg.contest == contest.id) & (reg.user == e.user)),
                             attr="registration")
             .where(scope.where)
             .order_by(e.rank, User.full_name, e.id)
             .limit(limit).offset(offset))
    rows = [Row(x, x.person.full_name, _unit_name(x)) for x in query]
    awards = _awards_of(scope, [r.entry.user_id for r in rows])
    for row in rows:
        row.award = awards.get(row.entry.user_id)
    return rows


def _unit_name(entry):
    """The unit at the time (a registered visitor's own wording when they chose "other")."""
    unit = getattr(entry, "unit_row", None)
    if unit is not None and unit.name:
        return unit.name
    registration = getattr(entry, "registration", None)
    return registration.other_unit if registration is not None and registration.other_unit else ""


def _awards_of(scope, user_ids):
    if not user_ids:
        return {}
    query = (Award.select(Award, PrizeTier).join(PrizeTier, pw.JOIN.LEFT_OUTER, on=(Award.tier == PrizeTier.id))
             .where(scope.award_scope(), Award.user.in_(user_ids),
                    PrizeTier.id.is_null() | (PrizeTier.collective == False))  # noqa: E712
             .order_by(Award.id))
    return {a.user_id: a for a in query}


def given_counts(contest, round_=None):
    """{tier id: how many hold that prize} in the round (or the contest as a whole)."""
    return dict(Award.select(Award.tier, pw.fn.COUNT(Award.id))
                .where(_Scope(contest, round_).award_scope(), Award.tier.is_null(False))
                .group_by(Award.tier).tuples())


def position_of(contest, round_, user):
    """The visitor's own entry in the ranking, or None."""
    if user is None:
        return None
    scope = _Scope(contest, round_)
    return scope.entry.get_or_none(scope.where, scope.entry.user == user.id)


@dataclasses.dataclass
class Winners:
    """A prize tier and who won it: people as (name, unit, rank), or units as (unit name, None, None)."""

    name: str
    collective: bool
    winners: list


def winners(contest, round_=None):
    """The prize winners by tier, highest first: people's prizes, then units' (collective) prizes."""
    scope = _Scope(contest, round_)
    e = scope.entry
    person_unit = Unit.alias("pu")
    reg = Registration.alias("reg")
    query = (Award.select(PrizeTier.id, PrizeTier.name, PrizeTier.collective, Award.rank, User.full_name,
                          Unit.name, person_unit.name, reg.other_unit)
             .join(PrizeTier, on=(Award.tier == PrizeTier.id))
             .switch(Award).join(User, pw.JOIN.LEFT_OUTER, on=(Award.user == User.id))
             .switch(Award).join(Unit, pw.JOIN.LEFT_OUTER, on=(Award.unit == Unit.id))
             .switch(Award).join(e, pw.JOIN.LEFT_OUTER, on=((e.user == Award.user) & scope.where))
             .join(person_unit, pw.JOIN.LEFT_OUTER, on=(e.unit == person_unit.id))
             .switch(Award).join(reg, pw.JOIN.LEFT_OUTER,
                                 on=((reg.contest == contest.id) & (reg.user == Award.user)))
             .where(scope.award_scope())
             .order_by(PrizeTier.collective, PrizeTier.position, PrizeTier.id, Award.rank, User.full_name, Unit.name)
             .tuples())
    out, seen = [], {}
    for tier_id, name, collective, rank, person, unit, person_unit_name, other_unit in query:
        if tier_id not in seen:
            seen[tier_id] = Winners(name, bool(collective), [])
            out.append(seen[tier_id])
        if collective:
            seen[tier_id].winners.append((unit or "", None, None))
        else:
            seen[tier_id].winners.append((person or "", person_unit_name or other_unit or "", rank))
    return out
