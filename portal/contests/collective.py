"""Collective prizes (giải tập thể): units ranked by the contest's chosen measure, awarded from its collective tiers.

Who competes: the direct children of the contest's owner unit (a district's
grassroots committees, say), each with its whole subtree's numbers rolled up
(``stats``). A unit without any participant does not compete, nor one whose
measure cannot be computed (a rate without declared members).

The measures (``Contest.collective_measure``):

    participants  the most distinct contestants
    rate          the highest participation rate (participants ÷ declared members; may exceed 100%, flagged)
    average       the best average result, in percent
    points        the participation rate in percent, averaged over the contest's rounds held so far,
                  + ``Contest.collective_points_per_prize`` × the individual prizes won in the unit's subtree

Contest-wide tiers (``PrizeTier.round`` None) use the whole contest; a round's
collective tiers use that round alone (its rate, its prizes).

Measures are compared at two decimals: equal ones share the rank and are
flagged for the organiser. Awarding is the individual prizes' rule, by the same
code (``prizes.plan``): the tiers in position order, ``count`` places each
(capped at ``max_share`` percent of the competing units); units sharing a rank
are never split: a group that does not fit in what is left of a tier gets none
of it, is reported as a decision for the organiser, and goes on, whole, to the
next tier. Awarding again replaces the automatic awards and keeps the manual
ones, which take their places from their tier (a unit holding a manual award
gets no automatic one besides). Collective prizes are given from confirmed
numbers (the round's, or every round's for the contest) and not once the
results are published; each awarding is in the audit log.
"""

import dataclasses

import peewee as pw
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..accounts import audit
from ..db import database
from ..errors import Conflict, DomainError
from ..formatting import vi_key
from . import prizes
from . import stats as unit_stats
from .models import Award, PrizeTier, Round, RoundEntry

MEASURE_LABELS = {
    "participants": _l("Most participants"),
    "rate": _l("Highest participation rate"),
    "average": _l("Best average score"),
    "points": _l("Points: average participation rate over the rounds + points per individual prize"),
}
PRECISION = 2  # measures are compared (and shown) at two decimals


@dataclasses.dataclass(eq=False)
class Standing:
    """A competing unit's measure, its place, and the prize the rule gives it."""

    row: object  # stats.Row, rolled up
    value: float = None  # None: does not compete
    rank: int = None
    tied: bool = False  # another unit has the same measure
    tier: object = None  # the PrizeTier the rule gives, if any
    # prizes.Decision: a group of equals that did not fit in what was left of a tier (the organiser decides)
    decisions: list = dataclasses.field(default_factory=list)
    awards: list = dataclasses.field(default_factory=list)  # the Award rows it holds now
    round_rates: list = dataclasses.field(default_factory=list)  # points: the rate (%) of each round held

    @property
    def competes(self):
        return self.value is not None

    @property
    def pending(self):
        return bool(self.decisions)

    @property
    def has_manual_award(self):
        return any(a.is_manual for a in self.awards)


@dataclasses.dataclass
class Standings:
    contest: object
    round: object  # None: the contest-wide collective prizes
    measure: str
    tiers: list
    standings: list  # competing units best first, then the others
    rounds_held: int = 0  # points: the rounds the rates are averaged over

    @property
    def competing(self):
        return [s for s in self.standings if s.competes]

    @property
    def ties(self):
        return [s for s in self.standings if s.tied]

    @property
    def pending(self):
        return [s for s in self.standings if s.pending]

    @property
    def awarded(self):
        return any(s.awards for s in self.standings)

    @property
    def last_awarded_at(self):
        times = [a.created_at for s in self.standings for a in s.awards if not a.is_manual]
        return max(times) if times else None


# -- the rule as pure functions --------------------------------------------------------------------

def rank_values(values):
    """[(key, value)] -> [(key, value, rank, tied)] best (highest) first: "1, 2, 2, 4", ties flagged."""
    ordered = sorted(values, key=lambda kv: -kv[1])
    ranked, i = [], 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1][1] == ordered[i][1]:
            j += 1
        ranked += [(key, value, i + 1, j > i) for key, value in ordered[i:j + 1]]
        i = j + 1
    return ranked


def allocate(ranked, tiers, competitors=None, taken=None):
    """{key: (tier or None, [decisions])} for ``rank_values`` output, by the individual prizes' rule.

    ``prizes.plan`` does the work, so that units and people are awarded alike:
    ``competitors`` (for ``max_share``; default: the ranked) and ``taken``
    ({tier id: places already given by hand}) size the tiers.
    """
    groups = []
    for key, _value, rank, _tied in ranked:
        if groups and groups[-1][0] == rank:
            groups[-1][1].append(key)
        else:
            groups.append((rank, [key]))
    competitors = len(ranked) if competitors is None else competitors
    taken = taken or {}
    places = [(tier, max(0, prizes.slots(tier, competitors) - taken.get(tier.id, 0))) for tier in tiers]
    given, decisions = prizes.plan(groups, places)
    result = {key: (None, []) for key, _value, _rank, _tied in ranked}
    for key, tier, _rank in given:
        result[key] = (tier, result[key][1])
    for decision in decisions:
        for key in decision.user_ids:
            result[key][1].append(decision)
    return result


def measure(name, row, points_per_prize=0, round_rates=None):
    """A unit's measure (rounded to PRECISION), or None when it does not compete."""
    if row.participants <= 0:
        return None
    if name == "participants":
        value = row.participants
    elif name == "rate":
        value = None if row.rate is None else 100 * row.rate
    elif name == "average":
        value = row.average
    elif name == "points":
        if not round_rates or any(r is None for r in round_rates):
            return None
        value = sum(round_rates) / len(round_rates) + points_per_prize * row.prizes
    else:
        raise ValueError(name)
    return None if value is None else round(value, PRECISION)


# -- in the database -------------------------------------------------------------------------------

def collective_tiers(contest, round_=None):
    scope = PrizeTier.round.is_null() if round_ is None else PrizeTier.round == round_.id
    return list(PrizeTier.select().where(PrizeTier.contest == contest.id, PrizeTier.collective == True,  # noqa: E712
                                         scope).order_by(PrizeTier.position, PrizeTier.id))


def _held_rounds(contest):
    """The contest's rounds with at least one contestant, in order."""
    entered = RoundEntry.select(RoundEntry.id).where(RoundEntry.round == Round.id).limit(1)
    return list(Round.select().where(Round.contest == contest.id, pw.fn.EXISTS(entered)).order_by(Round.number))


def standings(contest, round_, now, stats=None):
    """The competing units with their measure, rank and prize by the rule, and the awards they hold now."""
    if stats is None:
        stats = (unit_stats.round_stats(round_, now) if round_ is not None
                 else unit_stats.contest_stats(contest, now))
    tiers = collective_tiers(contest, round_)
    name = contest.collective_measure if contest.collective_measure in MEASURE_LABELS else "rate"
    rows = [r for r in stats.rows if r.parent_id == contest.owner_unit_id]
    result = [Standing(row=r) for r in rows]
    rounds_held = 0
    if name == "points":
        if round_ is None:
            held = _held_rounds(contest)
            per_round = unit_stats.participants_by_round(stats, held)
            rounds_held = len(held)
        else:
            per_round = {r.unit_id: [r.participants] for r in rows}
            rounds_held = 1
        for s in result:
            s.round_rates = [100 * n / s.row.declared if s.row.declared > 0 else None
                             for n in per_round.get(s.row.unit_id, [])]
    for s in result:
        s.value = measure(name, s.row, contest.collective_points_per_prize, s.round_rates)
    holding = _awards(contest, round_, tiers)
    for s in result:
        s.awards = holding.get(s.row.unit_id, [])
    ranked = rank_values([(s, s.value) for s in result if s.value is not None])
    # As for people: a unit given a prize by hand keeps it, and takes its place from the tier.
    taken = {}
    for s in result:
        for a in s.awards:
            if a.is_manual and a.tier_id is not None:
                taken[a.tier_id] = taken.get(a.tier_id, 0) + 1
    given = allocate([r for r in ranked if not r[0].has_manual_award], tiers, len(ranked), taken)
    for s, _value, rank, tied in ranked:
        s.rank, s.tied = rank, tied
        s.tier, s.decisions = given.get(s, (None, []))
    result.sort(key=lambda s: (s.rank is None, s.rank or 0, vi_key(s.row.name)))
    return Standings(contest=contest, round=round_, measure=name, tiers=tiers, standings=result,
                     rounds_held=rounds_held)


def _awards(contest, round_, tiers):
    """{unit_id: [Award]} of the collective awards among ``tiers`` (and withdrawals), with their tier."""
    by_id = {t.id: t for t in tiers}
    found = {}
    for award in _scope(Award.select(), contest, round_, tiers).order_by(Award.id):
        award.tier = by_id.get(award.tier_id)
        found.setdefault(award.unit_id, []).append(award)
    return found


def _scope(query, contest, round_, tiers):
    """Awards to units in this scope: of ``tiers``, or withdrawn by hand (no tier)."""
    return query.where(Award.contest == contest.id,
                       Award.round.is_null() if round_ is None else Award.round == round_.id,
                       Award.tier.is_null() | Award.tier.in_([t.id for t in tiers]), Award.unit.is_null(False))


def _require_confirmed(contest, round_):
    if round_ is not None:
        if round_.confirmed_at is None:
            raise Conflict(_("Confirm the round's ranking before giving its collective prizes."))
    elif not prizes.rounds_confirmed(contest):
        raise Conflict(_("Confirm every round first: the collective prizes are given from the final numbers."))


def _label(contest, round_):
    return contest.title if round_ is None else _("%(contest)s, round %(n)s", contest=contest.title, n=round_.number)


def award(contest, round_, actor, now, address="", stats=None):
    """Give the collective prizes by the rule (replacing the automatic ones, keeping the manual); the standings."""
    _require_confirmed(contest, round_)
    if (round_.published_at if round_ is not None else contest.results_published_at) is not None:
        raise Conflict(_("The results are published: the collective prizes can no longer be given again."))
    result = standings(contest, round_, now, stats)
    if not result.tiers:
        raise DomainError(_("No collective prize is set up for this contest yet: add the collective prize tiers "
                            "(their names and how many) first."))
    if not result.competing:
        raise DomainError(_("No unit can be ranked yet: no unit below the organising unit has a participant "
                            "(or a declared member count, for a participation rate)."))
    manual = {s.row.unit_id for s in result.standings if s.has_manual_award}
    new = [s for s in result.competing if s.tier is not None]
    with database.atomic():
        replaced = (_scope(Award.delete(), contest, round_, result.tiers)
                    .where(Award.is_manual == False).execute())  # noqa: E712
        if new:
            Award.insert_many([{
                "contest": contest.id, "round": round_.id if round_ is not None else None, "tier": s.tier.id,
                "user": None, "unit": s.row.unit_id, "rank": s.rank, "is_manual": False, "reason": "",
                "created_by": actor.id if actor is not None else None, "created_at": now,
            } for s in new]).execute()
        audit.record(actor, "contest.collective_awarded", _label(contest, round_), {
            "contest": contest.id, "round": round_.id if round_ is not None else None, "measure": result.measure,
            "awarded": [[s.row.code, s.tier.name, s.rank, s.value] for s in new],
            "tied": [s.row.code for s in result.ties],
            "pending": [s.row.code for s in result.pending],
            "kept_manual": [s.row.code for s in result.standings if s.row.unit_id in manual], "replaced": replaced,
        }, address)
    held = _awards(contest, round_, result.tiers)
    for s in result.standings:
        s.awards = held.get(s.row.unit_id, [])
    return result


def adjust(actor, contest, round_, unit, tier, reason, now, address=""):
    """Give, change or withdraw (``tier`` None) a unit's collective prize by hand, for a reason kept in the audit log.

    The award is marked hand-made: giving the prizes again by the rule keeps it.
    Allowed from confirmed numbers, also once the results are published (as for people).
    """
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Reason: say why the prize is changed; it is kept in the audit log."), field="reason")
    _require_confirmed(contest, round_)
    if unit is None or unit.parent_id != contest.owner_unit_id:
        raise DomainError(_("Only the units directly under the organising unit compete for the collective prizes."),
                          field="unit")
    tiers = collective_tiers(contest, round_)
    if tier is not None and tier.id not in {t.id for t in tiers}:
        raise DomainError(_("Prize: choose one of this contest's collective prizes."), field="tier")
    with database.atomic():
        held = list(_scope(Award.select(), contest, round_, tiers).where(Award.unit == unit.id).order_by(Award.id))
        if not held and tier is None:
            raise DomainError(_("Prize: choose the prize to give."), field="tier")
        current = held[0] if held else None
        before = next((t.name for t in tiers if current is not None and t.id == current.tier_id), None)
        if current is None:
            current = Award.create(contest=contest.id, round=round_.id if round_ is not None else None,
                                   tier=tier.id, unit=unit.id, user=None, is_manual=True, reason=reason,
                                   created_by=actor, created_at=now)
        else:
            current.tier, current.is_manual, current.reason = tier, True, reason
            current.created_by, current.created_at = actor, now
            current.save()
            if len(held) > 1:
                Award.delete().where(Award.id.in_([a.id for a in held[1:]])).execute()
        audit.record(actor, "contest.collective_adjusted", f"{_label(contest, round_)} · {unit.name}", {
            "contest": contest.id, "round": round_.id if round_ is not None else None, "unit": unit.code,
            "before": before, "after": tier.name if tier is not None else None, "reason": reason,
        }, address)
    return current
