"""Operations on the organisation tree."""

import re

import peewee as pw
from flask_babel import gettext as _

from ..db import database, nfc
from ..errors import Conflict, DomainError
from . import audit
from .models import RoleGrant, Unit, User

CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")


def _clean(code, name, kind, declared_members):
    code = nfc(code or "")
    name = nfc(name or "")
    if not CODE_RE.match(code):
        raise DomainError(_("Code: use 1-32 letters without accents, digits, '.', '-' or '_'."), field="code")
    if not name:
        raise DomainError(_("Name: this field is required."), field="name")
    if kind not in Unit.KINDS:
        raise DomainError(_("Kind: choose committee or cell."), field="kind")
    try:
        declared_members = int(declared_members or 0)
    except (TypeError, ValueError):
        raise DomainError(_("Declared members: enter a whole number."), field="declared_members") from None
    if declared_members < 0:
        raise DomainError(_("Declared members: enter a whole number."), field="declared_members")
    return code, name, kind, declared_members


def _check_parent(parent):
    if parent is not None and parent.kind == "cell":
        raise DomainError(_("A cell cannot contain other units."), field="parent")


def create_unit(actor, code, name, kind, parent=None, declared_members=0, address="", sort_order=0):
    code, name, kind, declared_members = _clean(code, name, kind, declared_members)
    _check_parent(parent)
    try:
        with database.atomic():
            unit = Unit.create(code=code, name=name, kind=kind, parent=parent,
                               declared_members=declared_members, sort_order=sort_order)
            unit.path = f"{parent.path if parent else '/'}{unit.id}/"
            unit.save(only=[Unit.path])
            audit.record(actor, "unit.create", f"unit:{unit.id} {code}",
                         {"name": name, "kind": kind, "parent": parent.code if parent else None,
                          "declared_members": declared_members}, address)
    except pw.IntegrityError:
        raise Conflict(_("Code: the code %(code)s is already used by another unit.", code=code),
                       field="code") from None
    return unit


def update_unit(actor, unit, code, name, kind, parent, declared_members, address=""):
    """Change a unit; moving it carries its whole subtree along."""
    code, name, kind, declared_members = _clean(code, name, kind, declared_members)
    _check_parent(parent)
    if parent is not None and parent.is_within(unit):
        raise DomainError(_("A unit cannot be placed inside itself or its own sub-units."), field="parent")
    if kind == "cell" and Unit.select().where(Unit.parent == unit).exists():
        raise DomainError(_("This unit has sub-units, so it cannot be a cell."), field="kind")
    before = {"code": unit.code, "name": unit.name, "kind": unit.kind,
              "parent": unit.parent.code if unit.parent_id else None,
              "declared_members": unit.declared_members}
    old_path = unit.path
    new_path = f"{parent.path if parent else '/'}{unit.id}/"
    try:
        with database.atomic():
            unit.code, unit.name, unit.kind = code, name, kind
            unit.parent, unit.declared_members, unit.path = parent, declared_members, new_path
            unit.save()
            if new_path != old_path:
                descendants = Unit.select().where(Unit.path.startswith(old_path), Unit.id != unit.id)
                for d in descendants:
                    Unit.update(path=new_path + d.path[len(old_path):]).where(Unit.id == d.id).execute()
            after = {"code": code, "name": name, "kind": kind,
                     "parent": parent.code if parent else None, "declared_members": declared_members}
            changes = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
            if changes:
                audit.record(actor, "unit.update", f"unit:{unit.id} {code}", changes, address)
    except pw.IntegrityError:
        raise Conflict(_("Code: the code %(code)s is already used by another unit.", code=code),
                       field="code") from None
    return unit


def delete_unit(actor, unit, address=""):
    """Delete an empty unit: no sub-units and no accounts."""
    if Unit.select().where(Unit.parent == unit).exists():
        raise DomainError(_("Move or delete the sub-units of %(name)s first.", name=unit.name))
    if User.select().where(User.unit == unit).exists():
        raise DomainError(_("%(name)s still has accounts; move them to another unit first.", name=unit.name))
    with database.atomic():
        RoleGrant.delete().where(RoleGrant.unit == unit).execute()
        audit.record(actor, "unit.delete", f"unit:{unit.id} {unit.code}", {"name": unit.name}, address)
        unit.delete_instance()


def member_counts():
    """Accounts per unit id (direct members only)."""
    rows = (User.select(User.unit, pw.fn.COUNT(User.id).alias("n"))
            .where(User.unit.is_null(False)).group_by(User.unit).tuples())
    return {unit_id: n for unit_id, n in rows}


def subtree_totals(units, counts):
    """{unit id: (declared members, accounts)} summed over each unit and everything under it.

    ``units`` is the whole tree (Unit.in_tree_order()), ``counts`` member_counts().
    """
    totals = {u.id: [0, 0] for u in units}
    for u in units:
        for ancestor_id in (int(i) for i in u.path.strip("/").split("/") if i):
            if ancestor_id in totals:
                totals[ancestor_id][0] += u.declared_members
                totals[ancestor_id][1] += counts.get(u.id, 0)
    return {k: tuple(v) for k, v in totals.items()}
