"""Participation and results per unit, for a round or a whole contest, rolled up through the tree.

Each measure is one GROUP BY in the database over the unit a contestant was
in when attempting (``RoundEntry.unit``: the member's unit at the start of the
attempt, or the unit a public registrant picked); the roll-up to the
committees above is then done in Python over the units, never over
contestants, so the work in Python is bounded by the size of the tree (a few
thousand units) whatever the number of contestants.

The tree is the contest's: the owner unit's subtree, or only the subtrees the
contest is narrowed to (with the committees above them, for the roll-up).
Declared members (``Unit.declared_members``) are summed over the eligible
units of a subtree. Contestants whose unit is not in that tree (a public
registrant who chose "other") are counted in a separate "Khác" row, so the
totals always add up.

Freshness: the numbers of a round come from its ranking (``RoundEntry``).
``round_stats`` and ``contest_stats`` re-rank an unconfirmed round whose
ranking is missing or older than ``REFRESH_AFTER`` (a minute) before counting:
the organiser's page is live during a round at the cost of at most one
ranking per round a minute, and callers need not remember to do it. A
confirmed round is frozen and read as it is; ``refresh=False`` reads what is
there (the published results, an export).
"""

import dataclasses
import datetime as dt
import functools
import operator

import peewee as pw
from flask_babel import lazy_gettext as _l

from ..accounts.models import Unit, User
from ..formatting import vi_key
from ..db import database
from ..errors import Conflict
from ..quiz.models import Attempt, Quiz
from . import ranking
from .models import Award, ContestEntry, ContestUnit, Registration, Round, RoundEntry

REFRESH_AFTER = dt.timedelta(minutes=1)
VIETNAM = dt.timedelta(hours=7)  # no daylight saving: a Vietnam day is a fixed offset from UTC
MAX_DAYS = 400  # days shown in the attempts-per-day chart, whatever the data says

BANDS = ("perfect", "high", "middle", "low")
BAND_LABELS = {"perfect": "100%", "high": "75–<100%", "middle": "25–<75%", "low": "<25%"}
# The score histogram: ten bins of 10 points (0–9%, …, 90–99%), then 100% on its own.
HISTOGRAM_BINS = 11

SORT_COLUMNS = ("name", "declared", "participants", "rate", "attempts", "average", "perfect", "prizes")
OTHER_NAME = _l("Other (no unit in the tree)")


@dataclasses.dataclass(eq=False)
class Row:
    """One unit's numbers, its whole subtree included (or the "Khác" row when ``unit_id`` is None)."""

    unit_id: int = None
    name: str = ""
    code: str = ""
    depth: int = 0  # below the root of the contest's tree
    parent_id: int = None
    parent_name: str = ""
    kind: str = ""
    eligible: bool = True  # the unit itself may take part (its declared members count)
    declared: int = 0
    participants: int = 0
    attempts: int = 0  # finished attempts
    results: int = 0  # scored results: one per contestant of a round (of each round, for a contest)
    score_sum: float = 0.0  # sum of the results as fractions of their maximum
    perfect: int = 0
    high: int = 0  # 75% or more, below 100%
    middle: int = 0  # 25% or more, below 75%
    prizes: int = 0  # individual prizes won
    chain: tuple = ()  # the ids of the rows this one adds to: itself and its ancestors in the tree

    MEASURES = ("declared", "participants", "attempts", "results", "score_sum", "perfect", "high", "middle", "prizes")

    @property
    def is_other(self):
        return self.unit_id is None

    @property
    def low(self):
        return self.results - self.perfect - self.high - self.middle

    @property
    def rate(self):
        """Participants ÷ declared members (may exceed 1); None without declared members."""
        return self.participants / self.declared if self.declared > 0 else None

    @property
    def over_declared(self):
        """More participants than declared members: the declared count is probably out of date."""
        return self.declared > 0 and self.participants > self.declared

    @property
    def undeclared(self):
        """Participants but no declared members: no rate can be given."""
        return self.declared <= 0 and self.participants > 0 and not self.is_other

    @property
    def average(self):
        """The average result, in percent; None without results."""
        return 100 * self.score_sum / self.results if self.results else None

    @property
    def bands(self):
        return {"perfect": self.perfect, "high": self.high, "middle": self.middle, "low": self.low}

    def add(self, values):
        for name, value in values.items():
            setattr(self, name, getattr(self, name) + (value or 0))


@dataclasses.dataclass
class Stats:
    """A round's (or a contest's) numbers per unit, in tree order, with what the charts need."""

    rows: list  # the tree's units, parents before children
    other: Row  # contestants without a unit in the tree
    total: Row
    days: list  # [(date, finished attempts)] in Vietnam days, gaps filled
    histogram: list  # HISTOGRAM_BINS counts of results
    roots: list  # the top rows (the owner unit, normally)
    ranked_at: dt.datetime = None  # the oldest ranking the numbers come from
    provisional: bool = False  # a round is not confirmed yet
    rounds: int = 1

    @functools.cached_property
    def by_id(self):
        return {row.unit_id: row for row in self.rows}

    def children(self, row):
        return [r for r in self.rows if r.parent_id == row.unit_id]

    def sorted_rows(self, column, descending):
        """The rows ordered by ``column`` (one of SORT_COLUMNS); empty values last either way."""
        if column not in SORT_COLUMNS:
            return list(self.rows)
        if column == "name":
            return sorted(self.rows, key=lambda r: vi_key(r.name), reverse=descending)
        present = [r for r in self.rows if getattr(r, column) is not None]
        missing = [r for r in self.rows if getattr(r, column) is None]
        return sorted(present, key=operator.attrgetter(column), reverse=descending) + missing


# -- freshness -----------------------------------------------------------------------------------

def refresh(round_, now, max_age=REFRESH_AFTER):
    """Re-rank an unconfirmed round whose ranking is missing or older than ``max_age``; True when done."""
    if round_.confirmed_at is not None:
        return False
    if round_.ranked_at is not None and now - round_.ranked_at < max_age:
        return False
    # Several organisers may look at once: a conditional update lets one request of the moment do the
    # ranking (as prizes.refresh_live does); the others count from the ranking as it is.
    claimed = (Round.update(ranked_at=now)
               .where(Round.id == round_.id, Round.confirmed_at.is_null(),
                      Round.ranked_at.is_null() | (Round.ranked_at < now - max_age)).execute())
    if not claimed:
        return False
    try:
        ranking.rank_round(round_, now)
    except Conflict:  # confirmed meanwhile
        return False
    return True


# -- the tree ------------------------------------------------------------------------------------

_UNIT_FIELDS = (Unit.id, Unit.name, Unit.code, Unit.kind, Unit.parent, Unit.path, Unit.declared_members,
                Unit.sort_order)


def contest_tree(contest):
    """The rows of the contest's tree (no numbers but declared members yet), in tree order, and the roots."""
    owner = contest.owner_unit
    narrowed = list(Unit.select(*_UNIT_FIELDS).join(ContestUnit, on=(ContestUnit.unit == Unit.id))
                    .where(ContestUnit.contest == contest.id))
    eligible_paths = [u.path for u in narrowed] or [owner.path]
    prefixes = [owner.path] + [p for p in eligible_paths if not p.startswith(owner.path)]
    units = list(Unit.select(*_UNIT_FIELDS)
                 .where(functools.reduce(operator.or_, [Unit.path.startswith(p) for p in prefixes])))
    by_id = {u.id: u for u in units}
    eligible = {u.id for u in units if any(u.path.startswith(p) for p in eligible_paths)}
    shown = set(eligible)
    for unit_id in eligible:  # the committees above an eligible unit, for the roll-up
        shown.update(a for a in _path_ids(by_id[unit_id].path) if a in by_id)
    children = {}
    for u in units:
        if u.id in shown:
            children.setdefault(u.parent_id if u.parent_id in shown else None, []).append(u)
    rows = []

    def walk(parent_id, depth, chain, parent_name):
        for u in sorted(children.get(parent_id, []), key=lambda u: (u.sort_order, u.name)):
            row = Row(unit_id=u.id, name=u.name, code=u.code, kind=u.kind, depth=depth, parent_id=parent_id,
                      parent_name=parent_name, eligible=u.id in eligible,
                      declared=0, chain=chain + (u.id,))
            rows.append(row)
            walk(u.id, depth + 1, row.chain, u.name)

    walk(None, 0, (), "")
    by_row = {r.unit_id: r for r in rows}
    for r in rows:
        if r.eligible:
            for unit_id in r.chain:
                by_row[unit_id].declared += by_id[r.unit_id].declared_members
    return rows, [r for r in rows if r.parent_id is None]


def _path_ids(path):
    return [int(i) for i in path.strip("/").split("/") if i]


def _roll_up(rows_by_id, other, counts):
    """Add each unit's counts ({unit_id: {measure: value}}) to its row and the rows above it."""
    for unit_id, values in counts.items():
        row = rows_by_id.get(unit_id)
        if row is None:
            other.add(values)
            continue
        for ancestor in row.chain:
            rows_by_id[ancestor].add(values)


def _merge(*measures):
    merged = {}
    for counts in measures:
        for unit_id, values in counts.items():
            merged.setdefault(unit_id, {}).update(values)
    return merged


# -- one GROUP BY per measure ----------------------------------------------------------------------

def _count_if(condition):
    return pw.fn.SUM(pw.Case(None, [(condition, 1)], 0))


def _bound(query):
    return query.bind(database)


def _result_measures(round_ids):
    """Per unit: results, their sum as fractions, and the score bands, from the rounds' entries."""
    e = RoundEntry
    scored = e.max_score > 0
    fraction = pw.Case(None, [(scored, e.score / e.max_score)], 0.0)
    query = (e.select(e.unit, pw.fn.COUNT(e.id), pw.fn.SUM(fraction),
                      _count_if(scored & (e.score >= e.max_score)),
                      _count_if(scored & (e.score < e.max_score) & (e.score * 4 >= e.max_score * 3)),
                      _count_if(scored & (e.score * 4 < e.max_score * 3) & (e.score * 4 >= e.max_score)))
             .where(_rounds(e, round_ids)).group_by(e.unit).tuples())
    return {unit_id: {"results": n, "score_sum": s or 0.0, "perfect": p or 0, "high": h or 0, "middle": m or 0}
            for unit_id, n, s, p, h, m in query}


def _rounds(entry_model, round_ids):
    return entry_model.round == round_ids[0] if len(round_ids) == 1 else entry_model.round.in_(round_ids)


def _participants_of_contest(round_ids):
    """Per unit: distinct contestants, each in the unit of their latest round (as the contest ranking does)."""
    e = RoundEntry
    latest = (e.select(e.unit.alias("unit_id"),
                       pw.fn.ROW_NUMBER().over(partition_by=[e.user],
                                               order_by=[e.finished_at.desc(), e.id.desc()]).alias("rn"))
              .where(_rounds(e, round_ids)).alias("l"))
    query = _bound(pw.Select(from_list=[latest], columns=[latest.c.unit_id, pw.fn.COUNT(pw.SQL("*"))])
                   .where(latest.c.rn == 1).group_by(latest.c.unit_id))
    return {unit_id: {"participants": n} for unit_id, n in query.tuples()}


def _attempts(contest, quiz_ids):
    """Per unit: finished attempts, by the unit at the time of the attempt (a registrant's: the one picked)."""
    finished = (Attempt.quiz.in_(quiz_ids), Attempt.state == "finished", Attempt.user.is_null(False))
    if Registration.select().where(Registration.contest == contest.id).exists():
        reg = Registration.alias("r")
        unit = pw.fn.COALESCE(Attempt.unit, reg.unit)
        query = (Attempt.select(unit, pw.fn.COUNT(Attempt.id))
                 .join(reg, pw.JOIN.LEFT_OUTER, on=(reg.contest == contest.id) & (reg.user == Attempt.user)))
    else:  # members only: no registration to look up for each attempt
        query = Attempt.select(Attempt.unit, pw.fn.COUNT(Attempt.id))
    query = query.where(*finished).group_by(pw.SQL("1")).tuples()
    return {unit_id: {"attempts": n} for unit_id, n in query}


def _prizes(contest, round_id=None):
    """Per unit: individual prizes won (of one round, or all of the contest), in the contestant's unit then."""
    re_ = RoundEntry.alias("re")
    ce = ContestEntry.alias("ce")
    unit = pw.fn.COALESCE(re_.unit, ce.unit, User.unit)
    query = (Award.select(unit, pw.fn.COUNT(Award.id))
             .join(User, on=(Award.user == User.id))
             .switch(Award).join(re_, pw.JOIN.LEFT_OUTER, on=(re_.round == Award.round) & (re_.user == Award.user))
             .switch(Award).join(ce, pw.JOIN.LEFT_OUTER, on=(ce.contest == Award.contest) & (ce.user == Award.user)
                                 & Award.round.is_null())
             .where(Award.contest == contest.id, Award.user.is_null(False), Award.tier.is_null(False),
                    *([Award.round == round_id] if round_id is not None else []))
             .group_by(pw.SQL("1")).tuples())
    return {unit_id: {"prizes": n} for unit_id, n in query}


def _local_day(column, offset):
    seconds = int(offset.total_seconds())
    if isinstance(database.obj, pw.PostgresqlDatabase):
        return pw.fn.DATE(column + pw.SQL(f"INTERVAL '{seconds} seconds'"))
    return pw.fn.DATE(column, f"{seconds:+d} seconds")


def _days(quiz_ids, offset, window):
    """Finished attempts per local day, with the days between (and the window's days so far) at zero."""
    day = _local_day(Attempt.finished_at, offset)
    query = (Attempt.select(day, pw.fn.COUNT(Attempt.id))
             .where(Attempt.quiz.in_(quiz_ids), Attempt.state == "finished", Attempt.user.is_null(False))
             .group_by(pw.SQL("1")).order_by(pw.SQL("1")).tuples())
    counts = {_as_date(d): n for d, n in query if d}
    bounds = list(counts) + [d for d in window if d is not None]
    if not bounds:
        return []
    first, last = min(bounds), max(bounds)
    if (last - first).days >= MAX_DAYS:
        return sorted(counts.items())
    return [(first + dt.timedelta(days=i), counts.get(first + dt.timedelta(days=i), 0))
            for i in range((last - first).days + 1)]


def _as_date(value):
    if isinstance(value, dt.datetime):
        return value.date()
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def _window(rounds, now, offset):
    """The local days the rounds have been open so far: (first day, last day), None when not yet open."""
    opens = [r.quiz.opens_at for r in rounds if r.quiz.opens_at is not None and r.quiz.opens_at <= now]
    if not opens:
        return (None, None)
    closes = [min(now, r.quiz.closes_at or now) for r in rounds]
    return ((min(opens) + offset).date(), (max(closes) + offset).date())


def _histogram(round_ids):
    """Results per 10-point bin (0–9%, …, 90–99%) and at 100%: one GROUP BY over the entries."""
    e = RoundEntry
    scored = e.max_score > 0
    bins = [(~scored, 0), (e.score >= e.max_score, 10)]
    bins += [(e.score * 10 >= e.max_score * k, k) for k in range(9, 0, -1)]
    query = (e.select(pw.Case(None, bins, 0), pw.fn.COUNT(e.id))
             .where(_rounds(e, round_ids)).group_by(pw.SQL("1")).tuples())
    histogram = [0] * HISTOGRAM_BINS
    for k, n in query:
        histogram[int(k)] += n
    return histogram


# -- a round, a contest ----------------------------------------------------------------------------

def round_stats(round_, now, refresh_after=REFRESH_AFTER, offset=VIETNAM):
    """The round's numbers per unit (its ranking refreshed first when stale; ``refresh_after`` None: never)."""
    if refresh_after is not None:
        refresh(round_, now, refresh_after)
    contest = round_.contest
    rows, roots = contest_tree(contest)
    by_id = {r.unit_id: r for r in rows}
    other = Row(unit_id=None, name=str(OTHER_NAME), eligible=False)
    ids = [round_.id]
    results = _result_measures(ids)
    participants = {unit_id: {"participants": values["results"]} for unit_id, values in results.items()}
    _roll_up(by_id, other, _merge(results, participants, _attempts(contest, [round_.quiz_id]),
                                  _prizes(contest, round_.id)))
    return Stats(rows=rows, other=other, total=_total(roots, other),
                 days=_days([round_.quiz_id], offset, _window([round_], now, offset)),
                 histogram=_histogram(ids), roots=roots, ranked_at=round_.ranked_at,
                 provisional=round_.confirmed_at is None)


def contest_stats(contest, now, refresh_after=REFRESH_AFTER, offset=VIETNAM):
    """The contest's numbers per unit over all its rounds: distinct contestants, every round's results."""
    rounds = list(Round.select(Round, Quiz).join(Quiz).where(Round.contest == contest.id).order_by(Round.number))
    for round_ in rounds:
        round_.contest = contest
        if refresh_after is not None:
            refresh(round_, now, refresh_after)
    rows, roots = contest_tree(contest)
    by_id = {r.unit_id: r for r in rows}
    other = Row(unit_id=None, name=str(OTHER_NAME), eligible=False)
    ids = [r.id for r in rounds]
    if ids:
        quiz_ids = [r.quiz_id for r in rounds]
        results = _result_measures(ids)
        if len(ids) == 1:  # one round: its contestants are its results
            participants = {unit_id: {"participants": values["results"]} for unit_id, values in results.items()}
        else:
            participants = _participants_of_contest(ids)
        _roll_up(by_id, other, _merge(results, participants, _attempts(contest, quiz_ids), _prizes(contest)))
        days = _days(quiz_ids, offset, _window(rounds, now, offset))
        histogram = _histogram(ids)
    else:
        days, histogram = [], [0] * HISTOGRAM_BINS
    ranked = [r.ranked_at for r in rounds if r.ranked_at is not None]
    return Stats(rows=rows, other=other, total=_total(roots, other), days=days, histogram=histogram,
                 roots=roots, ranked_at=min(ranked) if ranked else None,
                 provisional=any(r.confirmed_at is None for r in rounds), rounds=len(rounds))


def _total(roots, other):
    total = Row(unit_id=None, name="", eligible=False)
    for row in roots + [other]:
        total.add({name: getattr(row, name) for name in Row.MEASURES})
    return total


def participants_by_round(stats, rounds):
    """{unit_id: [participants in each round]} for every row of ``stats``, rolled up: one GROUP BY."""
    ids = [r.id for r in rounds]
    position = {round_id: i for i, round_id in enumerate(ids)}
    found = {row.unit_id: [0] * len(ids) for row in stats.rows}
    if not ids:
        return found
    e = RoundEntry
    query = (e.select(e.round, e.unit, pw.fn.COUNT(e.id)).where(_rounds(e, ids))
             .group_by(e.round, e.unit).tuples())
    by_id = stats.by_id
    for round_id, unit_id, n in query:
        row = by_id.get(unit_id)
        for ancestor in (row.chain if row is not None else ()):
            found[ancestor][position[round_id]] += n
    return found
