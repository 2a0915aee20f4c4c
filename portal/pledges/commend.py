"""Commendations: from a period's evaluated pledges, an organiser picks exemplary members or units and
issues them a giấy khen (certificate of merit) through ``certificates.issue``.

A pledge counts where its member is now (the record follows the member; a unit pledge, at its unit),
with the evaluation in force (a correction supersedes the entry before it). Each certificate names
its pledge as its source ("pledge:{id}"), so issuing the same selection again skips what is issued.
"""

import dataclasses

import peewee as pw
from flask_babel import gettext as _

from ..accounts import permissions
from ..accounts.models import Unit, User
from ..certificates import issue as certificates
from ..certificates.models import Certificate
from ..errors import DomainError
from ..formatting import name_key
from .documents import LEVELS as LEVEL_TEXTS  # the levels' official wording, printed whatever the reader's language
from .models import Evaluation, Pledge
from .overview import board_roots, in_force

COMMENDABLE = ("evaluated", "closed")
DEFAULT_LEVEL = "excellent"
SOURCE_PREFIX = "pledge:"


def source_of(pledge_id):
    return f"{SOURCE_PREFIX}{pledge_id}"


@dataclasses.dataclass
class Candidate:
    """An evaluated pledge, as the commendation page lists it."""

    pledge: Pledge
    name: str  # the member's name now, or the unit's
    cell: Unit  # where the pledge counts now: the member's cell, or the pledging unit
    parent_name: str
    level: str
    comment: str  # the collective's comment in force
    certificate: Certificate = None  # the valid certificate already issued for it

    @property
    def is_member(self):
        return self.pledge.kind == "member"

    @property
    def unit_line(self):
        """ "Chi bộ …, Đảng bộ …": the cell and the unit above it."""
        return f"{self.cell.name}, {self.parent_name}" if self.parent_name else self.cell.name


def _roots(units):
    return [units] if isinstance(units, Unit) else list(units)


def _rows(period, roots, level=None, pledge_ids=None):
    """The evaluated or closed pledges of ``period`` counting under ``roots``, in tree order."""
    if not roots:
        return []
    cell_id = pw.fn.COALESCE(User.unit, Pledge.unit)  # a member counts in their cell now
    inside = Unit.path.startswith(roots[0].path)
    for root in roots[1:]:
        inside |= Unit.path.startswith(root.path)
    query = (Pledge.select(Pledge, Evaluation.level.alias("level"), Evaluation.comment.alias("evaluation_comment"),
                           User.full_name.alias("user_name"), Unit.id.alias("cell_id"))
             .join(Evaluation, on=(Evaluation.pledge == Pledge.id))
             .switch(Pledge).join(User, pw.JOIN.LEFT_OUTER, on=(Pledge.user == User.id))
             .switch(Pledge).join(Unit, on=(Unit.id == cell_id))
             .where(Pledge.period == period.id, Pledge.state.in_(COMMENDABLE), in_force(), inside,
                    User.id.is_null() | (User.is_active == True))  # noqa: E712
             .order_by(Unit.path, Pledge.kind.desc(), User.full_name, Pledge.id))  # "member" before unit kinds
    if level:
        query = query.where(Evaluation.level == level)
    if pledge_ids is not None:
        query = query.where(Pledge.id.in_(sorted(pledge_ids)))
    rows = list(query.objects())
    units = {u.id: u for u in Unit.select().where(Unit.id.in_({r.cell_id for r in rows}))} if rows else {}
    parent_ids = {u.parent_id for u in units.values() if u.parent_id is not None}
    parents = dict(Unit.select(Unit.id, Unit.name).where(Unit.id.in_(parent_ids)).tuples()) if parent_ids else {}
    sources = [source_of(r.id) for r in rows]
    issued = {c.source: c for c in Certificate.select().where(Certificate.source.in_(sources),
                                                              Certificate.status == "valid")} if sources else {}
    out, seen = [], set()
    for row in rows:
        if row.id in seen:  # one evaluation in force per pledge; never list a pledge twice
            continue
        seen.add(row.id)
        cell = units[row.cell_id]
        name = (row.user_name or row.full_name) if row.kind == "member" else cell.name
        out.append(Candidate(pledge=row, name=name, cell=cell, parent_name=parents.get(cell.parent_id, ""),
                             level=row.level, comment=row.evaluation_comment,
                             certificate=issued.get(source_of(row.id))))
    out.sort(key=lambda c: (c.cell.path, not c.is_member, name_key(c.name), c.pledge.id))
    return out


def candidates(period, unit, level=DEFAULT_LEVEL):
    """The member and unit pledges of ``period`` under ``unit`` (a unit, or a list: the organiser's part of
    the period) that are evaluated or closed, with the level in force (``level`` None: any level)."""
    return _rows(period, _roots(unit), level if level in Evaluation.LEVELS else None)


def scope(actor, period):
    """The units under which ``actor`` commends in ``period``: the period's unit for who manages it, else
    their own committees inside it; a DomainError when none."""
    if actor is None:  # the command line
        return [period.owner_unit]
    roots = board_roots(actor, period)
    if not roots:
        raise DomainError(_("You do not manage this pledge period."))
    return roots


def _cell(pledge):
    if pledge.kind == "member" and pledge.user_id is not None and pledge.user.unit_id is not None:
        return pledge.user.unit
    return pledge.unit


def recipient(candidate, period):
    """The certificate's recipient for a candidate: the member (named as their account reads now, with their
    cell and the unit above) or the unit."""
    pledge = candidate.pledge
    person = candidate.is_member
    values = {"ho_ten": candidate.name, "don_vi": candidate.unit_line if person else candidate.cell.name,
              "giai": LEVEL_TEXTS[candidate.level], "vong": "", "hoi_thi": period.title, "nam": str(period.year)}
    if person:
        return certificates.Recipient(kind="merit", source=source_of(pledge.id), user=pledge.user,
                                      name=candidate.name, unit_line=candidate.unit_line, values=values)
    return certificates.Recipient(kind="merit", source=source_of(pledge.id), unit=candidate.cell,
                                  name=candidate.name, unit_line=candidate.parent_name, values=values)


def issue(actor, period, pledge_ids, design, now, public_url, address=""):
    """Issue a certificate of merit for each chosen pledge of ``period`` with ``design``: (issued, skipped).

    Only evaluated or closed pledges in the actor's part of the period; the design must be one the actor
    manages. A pledge that already has a valid certificate is skipped. One transaction (``issue_many``).
    """
    roots = scope(actor, period)
    if design is None:
        raise DomainError(_("Choose a certificate design."), field="design")
    if actor is not None and not permissions.can(actor, "certificate.manage", design):
        raise DomainError(_("You do not manage the certificate design %(name)s.", name=design.name), field="design")
    ids = {int(i) for i in pledge_ids or ()}
    if not ids:
        raise DomainError(_("Tick at least one member or unit to commend."), field="pledge")
    pledges = list(Pledge.select().where(Pledge.id.in_(sorted(ids)), Pledge.period == period.id))
    if len(pledges) != len(ids):
        raise DomainError(_("Some of the ticked pledges are not in this period; reload the page and try again."),
                          field="pledge")
    for pledge in sorted(pledges, key=lambda p: p.id):
        name = pledge.user.full_name if pledge.kind == "member" and pledge.user_id else pledge.unit.name
        if pledge.state not in COMMENDABLE:
            raise DomainError(_("%(name)s: the pledge has not been evaluated yet; only evaluated pledges are "
                                "commended.", name=name), field="pledge")
        if not any(_cell(pledge).is_within(root) for root in roots):
            raise DomainError(_("%(name)s is not in the units you manage in this period.", name=name),
                              field="pledge")
    chosen = _rows(period, roots, pledge_ids=ids)
    if len(chosen) != len(ids):  # e.g. a member whose account was closed: the lists leave them out
        raise DomainError(_("Some of the ticked pledges cannot be commended; reload the page and try again."),
                          field="pledge")
    return certificates.issue_many(actor, design, [recipient(c, period) for c in chosen], now, public_url,
                                   address=address)
