"""The committee board: members' pledges of a period counted per unit and rolled up through the tree.

A member counts in the cell they are in now (the record follows the member), and only active
accounts count, so no unit ever shows more pledges than members. Each measure is one GROUP BY in the
database per unit; the roll-up to the committees above is done in Python over the units (as
``contests.stats`` does), so the work in Python is bounded by the size of the tree, not the number
of members. The proposed levels are those of the evaluations in force: a correction supersedes the
entry before it, which then no longer counts.
"""

import dataclasses
import operator

import peewee as pw

from ..accounts import permissions
from ..accounts.models import Unit, User
from ..formatting import vi_key
from .models import Evaluation, Pledge
from .workflow import covers

LEVELS = Evaluation.LEVELS
# A pledge's state, and the measures it counts in (each measure counts the states at or beyond it).
REACHED = {
    "draft": ("started",),
    "returned": ("started", "returned"),
    "submitted": ("started", "registered"),
    "acknowledged": ("started", "registered", "acknowledged"),
    "reported": ("started", "registered", "acknowledged", "reported"),
    "evaluated": ("started", "registered", "acknowledged", "reported", "evaluated"),
    "closed": ("started", "registered", "acknowledged", "reported", "evaluated", "closed"),
}
SORT_COLUMNS = ("name", "members", "registered", "acknowledged", "reported", "evaluated", "closed", "excellent_share")
LEVEL_COLOURS = {"excellent": "#1e7d32", "good": "#0b57d0", "fulfilled": "#8a9bb0", "not_fulfilled": "#b3261e"}


@dataclasses.dataclass(eq=False)
class Row:
    """One unit's numbers, its whole subtree included."""

    unit_id: int
    name: str
    code: str = ""
    kind: str = "cell"
    depth: int = 0  # below the board's roots
    parent_id: int = None
    parent_name: str = ""
    chain: tuple = ()  # the ids of the rows this one adds to: itself and its ancestors on the board
    members: int = 0  # active accounts
    started: int = 0  # any pledge, a draft included
    returned: int = 0  # sent back to the member, not resubmitted yet
    registered: int = 0  # submitted or beyond
    acknowledged: int = 0
    reported: int = 0  # reported, evaluated or closed: past the self-report step
    evaluated: int = 0  # evaluated or closed
    closed: int = 0
    excellent: int = 0
    good: int = 0
    fulfilled: int = 0
    not_fulfilled: int = 0

    MEASURES = ("members", "started", "returned", "registered", "acknowledged", "reported", "evaluated",
                "closed") + LEVELS

    @property
    def levels(self):
        return {level: getattr(self, level) for level in LEVELS}

    @property
    def rated(self):
        """Members with an evaluation in force (the denominator of the shares of levels)."""
        return sum(self.levels.values())

    @property
    def excellent_share(self):
        """The share of "excellent" among the evaluated members; None before any evaluation."""
        return self.excellent / self.rated if self.rated else None

    @property
    def registered_share(self):
        return self.registered / self.members if self.members else None

    def over_cap(self, cap):
        """More "excellent" than ``cap`` percent of the evaluated members."""
        return self.rated > 0 and self.excellent * 100 > cap * self.rated

    def add(self, values):
        for name, value in values.items():
            setattr(self, name, getattr(self, name) + (value or 0))


@dataclasses.dataclass
class Board:
    period: object
    rows: list  # parents before children
    roots: list
    total: Row

    @property
    def by_id(self):
        return {row.unit_id: row for row in self.rows}

    def children(self, row):
        return [r for r in self.rows if r.parent_id == row.unit_id]

    def focus(self):
        """The rows a chart compares: the units right under the roots (the roots themselves when none)."""
        return [child for root in self.roots for child in self.children(root)] or list(self.roots)

    def over_cap(self):
        """The rows whose share of "excellent" exceeds the period's cap, in tree order."""
        return [row for row in self.rows if row.over_cap(self.period.excellent_cap)]

    def sorted_rows(self, column, descending):
        """The rows ordered by ``column`` (one of SORT_COLUMNS); empty values last either way."""
        if column not in SORT_COLUMNS:
            return list(self.rows)
        if column == "name":
            return sorted(self.rows, key=lambda r: vi_key(r.name), reverse=descending)
        present = [r for r in self.rows if getattr(r, column) is not None]
        missing = [r for r in self.rows if getattr(r, column) is None]
        return sorted(present, key=operator.attrgetter(column), reverse=descending) + missing


def board_roots(user, period):
    """The units whose subtrees ``user`` sees on the period's board: the owner unit for who manages the
    period; otherwise the organiser's own committees inside the period's tree (none: no access)."""
    if permissions.can(user, "pledge.manage", period):
        return [period.owner_unit]
    return [scope for scope in permissions.organiser_scopes(user) if covers(period, scope)]


def _tree(roots):
    """The rows of the roots' subtrees, in tree order, with no numbers yet."""
    rows = []
    seen = set()
    for root in roots:
        if root.id in seen:
            continue
        units = list(Unit.select(Unit.id, Unit.name, Unit.code, Unit.kind, Unit.parent, Unit.path, Unit.sort_order)
                     .where(Unit.path.startswith(root.path)))
        children = {}
        for unit in units:
            children.setdefault(unit.parent_id, []).append(unit)

        def walk(unit, depth, chain, parent_name):
            row = Row(unit_id=unit.id, name=unit.name, code=unit.code, kind=unit.kind, depth=depth,
                      parent_id=unit.parent_id if depth else None, parent_name=parent_name, chain=chain + (unit.id,))
            rows.append(row)
            seen.add(unit.id)
            for child in sorted(children.get(unit.id, []), key=lambda u: (u.sort_order, u.name)):
                walk(child, depth + 1, row.chain, unit.name)

        walk(root, 0, (), "")
    return rows


def _any_prefix(roots):
    condition = Unit.path.startswith(roots[0].path)
    for root in roots[1:]:
        condition |= Unit.path.startswith(root.path)
    return condition


def _member_counts(roots):
    query = (User.select(User.unit, pw.fn.COUNT(User.id)).join(Unit, on=(User.unit == Unit.id))
             .where(User.is_active == True, _any_prefix(roots)).group_by(User.unit).tuples())  # noqa: E712
    return {unit_id: {"members": n} for unit_id, n in query}


def _state_counts(period, roots):
    query = (Pledge.select(User.unit, Pledge.state, pw.fn.COUNT(Pledge.id))
             .join(User, on=(Pledge.user == User.id)).join(Unit, on=(User.unit == Unit.id))
             .where(Pledge.period == period.id, Pledge.kind == "member", User.is_active == True,  # noqa: E712
                    _any_prefix(roots))
             .group_by(User.unit, Pledge.state).tuples())
    counts = {}
    for unit_id, state, n in query:
        values = counts.setdefault(unit_id, {})
        for measure in REACHED.get(state, ()):
            values[measure] = values.get(measure, 0) + n
    return counts


def in_force():
    """The evaluations no correction has superseded."""
    superseded = Evaluation.select(Evaluation.supersedes).where(Evaluation.supersedes.is_null(False))
    return Evaluation.id.not_in(superseded)


def _level_counts(period, roots):
    query = (Evaluation.select(User.unit, Evaluation.level, pw.fn.COUNT(Evaluation.id))
             .join(Pledge, on=(Evaluation.pledge == Pledge.id)).join(User, on=(Pledge.user == User.id))
             .join(Unit, on=(User.unit == Unit.id))
             .where(Pledge.period == period.id, Pledge.kind == "member", Pledge.state.in_(("evaluated", "closed")),
                    User.is_active == True, _any_prefix(roots), in_force())  # noqa: E712
             .group_by(User.unit, Evaluation.level).tuples())
    counts = {}
    for unit_id, level, n in query:
        if level in LEVELS:
            counts.setdefault(unit_id, {})[level] = n
    return counts


def board(period, roots):
    """The period's numbers per unit of the roots' subtrees, rolled up, with the total of the roots."""
    rows = _tree(roots)
    by_id = {row.unit_id: row for row in rows}
    if rows:
        for counts in (_member_counts(roots), _state_counts(period, roots), _level_counts(period, roots)):
            for unit_id, values in counts.items():
                row = by_id.get(unit_id)
                for ancestor in (row.chain if row is not None else ()):
                    by_id[ancestor].add(values)
    top = [row for row in rows if row.depth == 0]
    total = Row(unit_id=None, name="")
    for row in top:
        total.add({name: getattr(row, name) for name in Row.MEASURES})
    return Board(period=period, rows=rows, roots=top, total=total)


# -- the chart ---------------------------------------------------------------------------------------

@dataclasses.dataclass
class Segment:
    level: str
    count: int
    x: float  # percent of the chart's width
    width: float
    colour: str


@dataclasses.dataclass
class Bar:
    row: Row
    y: int
    segments: list
    registered_width: float  # the registered members, percent of the width (a thin bar under the levels)
    over_cap: bool


@dataclasses.dataclass
class Chart:
    bars: list
    height: int
    row_height: int = 52


def level_chart(rows, cap):
    """One bar per row, as wide as its members: the proposed levels stacked from the left, the rest
    (not evaluated yet) empty; under it, a thin bar of the registered members."""
    chart = Chart(bars=[], height=0)
    for i, row in enumerate(rows):
        x, segments = 0.0, []
        for level in LEVELS:
            count = getattr(row, level)
            if count and row.members:
                width = round(100 * count / row.members, 3)
                segments.append(Segment(level=level, count=count, x=round(x, 3), width=width,
                                        colour=LEVEL_COLOURS[level]))
                x += width
        registered = round(100 * row.registered / row.members, 3) if row.members else 0.0
        chart.bars.append(Bar(row=row, y=i * chart.row_height, segments=segments, registered_width=registered,
                              over_cap=row.over_cap(cap)))
    chart.height = len(rows) * chart.row_height
    return chart
