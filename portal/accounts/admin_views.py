"""Admin pages: the organisation tree, accounts and roles, the audit log.

Each handler loads, checks the permission, makes one domain call with the
current user as actor, then flashes and redirects (or renders the form again
with the domain's message next to the field it names).
"""

import datetime as dt
import json
import math

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from ..errors import DomainError
from ..extensions import client_address
from ..formatting import GENDER_LABELS, format_date_vi
from . import audit as audit_ops
from . import permissions
from . import units as unit_ops
from . import users as user_ops
from .admin_forms import GrantForm, NewUserForm, UnitForm, UserForm, unit_choices
from .models import RoleGrant, Unit, User

admin = Blueprint("admin", __name__, url_prefix="/admin")

PER_PAGE = 50

KIND_LABELS = {"committee": _l("Committee"), "cell": _l("Cell")}
ROLE_LABELS = {"admin": _l("Admin"), "organiser": _l("Organiser"), "secretary": _l("Secretary")}
# The role filter of the accounts list; "member" means no role beyond membership.
ROLE_FILTERS = {**ROLE_LABELS, "member": _l("Members only (no role)")}
STATUS_FILTERS = {"active": _l("Active"), "locked": _l("Locked")}

# Every audit action in Vietnamese, in one place; an unknown code shows as itself.
ACTION_LABELS = {
    "unit.create": _l("Created a unit"),
    "unit.update": _l("Changed a unit"),
    "unit.delete": _l("Deleted a unit"),
    "user.create": _l("Created an account"),
    "user.update": _l("Changed an account"),
    "user.lock": _l("Locked an account"),
    "user.unlock": _l("Unlocked an account"),
    "user.reset_password": _l("Reset a password"),
    "role.grant": _l("Granted a role"),
    "role.revoke": _l("Revoked a role"),
    "roster.import": _l("Imported a roster"),
    "roster.credentials_delete": _l("Deleted a credentials sheet"),
    "topic.create": _l("Created a study topic"),
    "topic.update": _l("Changed a study topic"),
    "question.create": _l("Added a question"),
    "question.update": _l("Changed a question"),
    "question.new_version": _l("Made a new version of a question"),
    "question.retire": _l("Retired a question"),
    "question.restore": _l("Restored a question"),
    "questions.import": _l("Imported questions"),
    "quiz.create": _l("Created a quiz"),
    "quiz.update": _l("Changed a quiz"),
    "quiz.publish": _l("Published a quiz"),
    "quiz.unpublish": _l("Unpublished a quiz"),
    "contest.create": _l("Created a contest"),
    "contest.update": _l("Changed a contest"),
    "contest.publish": _l("Published a contest"),
    "contest.unpublish": _l("Unpublished a contest"),
    "contest.banner": _l("Changed a contest's banner"),
    "round.create": _l("Added a contest round"),
    "round.update": _l("Changed a contest round"),
    "prizes.update": _l("Changed the prize tiers"),
    "contest.register": _l("Registered for a public contest"),
    "contest.round_ranked": _l("Recomputed a round's ranking"),
    "contest.round_confirmed": _l("Confirmed a round's results"),
    "contest.round_awarded": _l("Gave a round's prizes"),
    "contest.round_published": _l("Published a round's results"),
    "contest.live_leaderboard": _l("Turned the live leaderboard on or off"),
    "contest.prize_adjusted": _l("Adjusted a prize by hand"),
    "contest.ranked": _l("Recomputed the contest-wide ranking"),
    "contest.awarded": _l("Gave the contest-wide prizes"),
    "contest.results_published": _l("Published the contest's results"),
    "contest.collective_awarded": _l("Gave the collective prizes"),
    "contest.collective_adjusted": _l("Adjusted a collective prize by hand"),
    "certificate.issue": _l("Issued certificates"),
    "certificate.replace": _l("Corrected a certificate (new version)"),
    "certificate.revoke": _l("Revoked a certificate"),
    "pledge.period_open": _l("Opened a pledge period"),
    "pledge.period_update": _l("Changed a pledge period"),
    "certificate.design": _l("Changed a certificate design"),
    "certificate.image": _l("Uploaded a certificate image"),
}

# The fields that audit details name, in Vietnamese.
FIELD_LABELS = {
    "code": _l("Code"),
    "name": _l("Name"),
    "kind": _l("Kind"),
    "parent": _l("Parent unit"),
    "declared_members": _l("Declared members"),
    "full_name": _l("Full name"),
    "username": _l("Username"),
    "birth_date": _l("Date of birth"),
    "gender": _l("Gender"),
    "unit": _l("Unit"),
    "position": _l("Position"),
    "phone": _l("Phone number"),
    "email": _l("Email"),
    "role": _l("Role"),
    "filename": _l("File"),
    "created": _l("Created"),
    "updated": _l("Updated"),
    "unchanged": _l("Unchanged"),
    "rows": _l("Rows"),
    "sha256": _l("File checksum"),
}

_NEW_PASSWORD = "admin_new_password"


@admin.before_request
@login_required
def _logged_in():
    """Anonymous visitors go to the login page; each view then checks its own permission."""


@admin.context_processor
def _labels():
    return {"kind_labels": KIND_LABELS, "role_labels": ROLE_LABELS}


def _actor():
    return current_user._get_current_object()


def _get(model, id_):
    return model.get_or_none(model.id == id_) or abort(404)


def _paginate(query):
    """(rows on the requested page, page, pages, total)."""
    total = query.count()
    pages = max(1, math.ceil(total / PER_PAGE))
    page = min(max(request.args.get("page", 1, type=int), 1), pages)
    return list(query.paginate(page, PER_PAGE)), page, pages, total


def _field_error(form, exc):
    """Show a domain error next to its field, or at the top of the page."""
    field = getattr(form, exc.field, None) if exc.field else None
    if field is not None and hasattr(field, "errors"):
        field.errors = list(field.errors) + [str(exc)]
    else:
        flash(str(exc), "error")


def _unit_from(field):
    """The unit picked in a select, None for the blank option."""
    if not field.data:
        return None
    unit = Unit.get_or_none(Unit.id == field.data) if str(field.data).isdigit() else None
    if unit is None:
        raise DomainError(_("Choose a unit from the list."), field=field.short_name)
    return unit


# ---------------------------------------------------------------- units


@admin.route("/units")
def units():
    permissions.require(current_user, "units.manage")
    tree = Unit.in_tree_order()
    counts = unit_ops.member_counts()
    return render_template("accounts/admin/units.html", tree=tree, counts=counts,
                           totals=unit_ops.subtree_totals(tree, counts))


def _unit_form(unit=None):
    if unit is None:
        form = UnitForm()
    else:
        form = UnitForm(data={"code": unit.code, "name": unit.name, "kind": unit.kind,
                              "parent": str(unit.parent_id or ""), "declared_members": str(unit.declared_members)})
    # A unit can go under any committee outside its own subtree.
    parents = [u for u in Unit.in_tree_order()
               if u.kind == "committee" and (unit is None or not u.is_within(unit))]
    form.parent.choices = unit_choices(parents, _("— None (top of the tree) —"))
    return form


@admin.route("/units/new", methods=["GET", "POST"])
def new_unit():
    permissions.require(current_user, "units.manage")
    form = _unit_form()
    if request.method == "GET":
        form.parent.data = request.args.get("parent", "")
        form.kind.data = "cell" if form.parent.data else "committee"
    if form.validate_on_submit():
        try:
            unit = unit_ops.create_unit(_actor(), form.code.data, form.name.data, form.kind.data,
                                        parent=_unit_from(form.parent),
                                        declared_members=form.declared_members.data, address=client_address())
        except DomainError as exc:
            _field_error(form, exc)
        else:
            flash(_("Unit %(name)s created.", name=unit.name), "success")
            return redirect(url_for("admin.units", _anchor=f"unit-{unit.id}"))
    return render_template("accounts/admin/unit_form.html", form=form, unit=None)


@admin.route("/units/<int:unit_id>", methods=["GET", "POST"])
def edit_unit(unit_id):
    permissions.require(current_user, "units.manage")
    unit = _get(Unit, unit_id)
    form = _unit_form(unit)
    if form.validate_on_submit():
        try:
            unit_ops.update_unit(_actor(), unit, form.code.data, form.name.data, form.kind.data,
                                 _unit_from(form.parent), form.declared_members.data, address=client_address())
        except DomainError as exc:
            _field_error(form, exc)
            unit = _get(Unit, unit_id)  # the page shows what is stored, not the refused edit
        else:
            flash(_("Unit %(name)s saved.", name=unit.name), "success")
            return redirect(url_for("admin.units", _anchor=f"unit-{unit.id}"))
    return render_template("accounts/admin/unit_form.html", form=form, unit=unit,
                           children=Unit.select().where(Unit.parent == unit).count(),
                           accounts=unit_ops.member_counts().get(unit.id, 0))


@admin.route("/units/<int:unit_id>/delete", methods=["POST"])
def delete_unit(unit_id):
    permissions.require(current_user, "units.manage")
    unit = _get(Unit, unit_id)
    try:
        unit_ops.delete_unit(_actor(), unit, address=client_address())
    except DomainError as exc:
        flash(str(exc), "error")
        return redirect(url_for("admin.edit_unit", unit_id=unit.id))
    flash(_("Unit %(name)s deleted.", name=unit.name), "success")
    return redirect(url_for("admin.units"))


# ---------------------------------------------------------------- accounts


@admin.route("/users")
def users():
    permissions.require(current_user, "users.manage_all")
    tree = Unit.in_tree_order()
    q = request.args.get("q", "").strip()
    unit_id = request.args.get("unit", type=int)
    unit = next((u for u in tree if u.id == unit_id), None)
    role = request.args.get("role", "")
    role = role if role in ROLE_FILTERS else ""
    status = request.args.get("status", "")
    status = status if status in STATUS_FILTERS else ""
    query = user_ops.search(q or None, units=Unit.subtree(unit) if unit else None,
                            active={"active": True, "locked": False}.get(status), role=role or None)
    rows, page, pages, total = _paginate(query)
    user_ops.load_grants(rows)
    filters = {k: v for k, v in {"q": q, "unit": unit.id if unit else None, "role": role,
                                 "status": status}.items() if v}
    return render_template("accounts/admin/users.html", rows=rows, page=page, pages=pages, total=total,
                           filters=filters, unit_options=unit_choices(tree, _("All units")),
                           role_filters=ROLE_FILTERS, status_filters=STATUS_FILTERS)


def _profile(form):
    return {"full_name": form.full_name.data, "birth_date": form.birth_date.data,
            "gender": form.gender.data or None, "position": form.position.data or "",
            "phone": form.phone.data or "", "email": form.email.data or ""}


def _show_password_once(user, password):
    # Kept in the (signed, HttpOnly) session for exactly one page view, so that a
    # reload of the result page cannot create a second account.
    session[_NEW_PASSWORD] = {"user": user.id, "password": password}


@admin.route("/users/new", methods=["GET", "POST"])
def new_user():
    permissions.require(current_user, "users.manage_all")
    form = NewUserForm()
    form.unit.choices = unit_choices(Unit.in_tree_order(), _("— No unit —"))
    if request.method == "GET":
        form.unit.data = request.args.get("unit", "")
    if form.validate_on_submit():
        try:
            user, password = user_ops.create_user(_actor(), form.username.data, unit=_unit_from(form.unit),
                                                  address=client_address(), **_profile(form))
        except DomainError as exc:
            _field_error(form, exc)
        else:
            _show_password_once(user, password)
            flash(_("Account %(username)s created for %(name)s.", username=user.username, name=user.full_name),
                  "success")
            return redirect(url_for("admin.user", user_id=user.id))
    suggestion = user_ops.suggest_username(form.full_name.data) if form.full_name.data else "annv"
    return render_template("accounts/admin/user_new.html", form=form, suggestion=suggestion)


def _render_user(user, form=None, grant_form=None):
    tree = Unit.in_tree_order()
    if form is None:
        form = UserForm(formdata=None, data={
            "full_name": user.full_name, "birth_date": user.birth_date, "gender": user.gender or "",
            "unit": str(user.unit_id or ""), "position": user.position, "phone": user.phone, "email": user.email})
    form.unit.choices = unit_choices(tree, _("— No unit —"))
    if grant_form is None:
        grant_form = GrantForm(formdata=None, prefix="grant")
    grant_form.unit.choices = unit_choices(tree, _("— Choose a unit —"))
    shown = session.pop(_NEW_PASSWORD, None)
    new_password = shown["password"] if shown and shown.get("user") == user.id else None
    return render_template("accounts/admin/user.html", user=user, form=form, grant_form=grant_form,
                           new_password=new_password,
                           unit_path=user.unit.ancestors() + [user.unit] if user.unit_id else [])


@admin.route("/users/<int:user_id>", methods=["GET", "POST"])
def user(user_id):
    permissions.require(current_user, "users.manage_all")
    user = _get(User, user_id)
    if request.method == "GET":
        return _render_user(user)
    form = UserForm()
    form.unit.choices = unit_choices(Unit.in_tree_order(), "")
    if form.validate_on_submit():
        try:
            changes = user_ops.update_user(_actor(), user, address=client_address(),
                                           unit=_unit_from(form.unit), **_profile(form))
        except DomainError as exc:
            _field_error(form, exc)
            user = _get(User, user_id)
        else:
            if changes:
                flash(_("Changes to %(name)s saved.", name=user.full_name), "success")
            else:
                flash(_("Nothing was changed."), "info")
            return redirect(url_for("admin.user", user_id=user.id))
    return _render_user(user, form=form)


@admin.route("/users/<int:user_id>/lock", methods=["POST"])
def lock_user(user_id):
    permissions.require(current_user, "users.manage_all")
    user = _get(User, user_id)
    try:
        user_ops.set_active(_actor(), user, False, address=client_address())
    except DomainError as exc:
        flash(str(exc), "error")
    else:
        flash(_("The account of %(name)s is locked; every session of it has ended.", name=user.full_name),
              "success")
    return redirect(url_for("admin.user", user_id=user.id))


@admin.route("/users/<int:user_id>/unlock", methods=["POST"])
def unlock_user(user_id):
    permissions.require(current_user, "users.manage_all")
    user = _get(User, user_id)
    user_ops.set_active(_actor(), user, True, address=client_address())
    flash(_("The account of %(name)s is unlocked.", name=user.full_name), "success")
    return redirect(url_for("admin.user", user_id=user.id))


@admin.route("/users/<int:user_id>/password", methods=["POST"])
def reset_password(user_id):
    permissions.require(current_user, "users.manage_all")
    user = _get(User, user_id)
    password = user_ops.reset_password(_actor(), user, address=client_address())
    _show_password_once(user, password)
    flash(_("A new password was issued to %(name)s.", name=user.full_name), "success")
    return redirect(url_for("admin.user", user_id=user.id))


@admin.route("/users/<int:user_id>/roles", methods=["POST"])
def grant_role(user_id):
    permissions.require(current_user, "roles.grant")
    user = _get(User, user_id)
    grant_form = GrantForm(prefix="grant")
    if grant_form.validate_on_submit():
        role = grant_form.role.data
        try:
            grant = user_ops.grant_role(_actor(), user, role,
                                        unit=None if role == "admin" else _unit_from(grant_form.unit),
                                        address=client_address())
        except DomainError as exc:
            _field_error(grant_form, exc)
        else:
            flash(_("%(name)s now has the role %(role)s.", name=user.full_name, role=_role_text(grant)), "success")
            return redirect(url_for("admin.user", user_id=user.id, _anchor="roles"))
    return _render_user(user, grant_form=grant_form)


@admin.route("/roles/<int:grant_id>/revoke", methods=["POST"])
def revoke_role(grant_id):
    permissions.require(current_user, "roles.grant")
    grant = _get(RoleGrant, grant_id)
    user, role = grant.user, _role_text(grant)
    try:
        user_ops.revoke_role(_actor(), grant, address=client_address())
    except DomainError as exc:
        flash(str(exc), "error")
    else:
        flash(_("The role %(role)s of %(name)s was revoked.", role=role, name=user.full_name), "success")
        if user.id == current_user.id and grant.role == "admin":
            return redirect(url_for("auth.home"))  # no longer allowed on the admin pages
    return redirect(url_for("admin.user", user_id=user.id, _anchor="roles"))


def _role_text(grant):
    label = str(ROLE_LABELS.get(grant.role, grant.role))
    return f"{label} – {grant.unit.name}" if grant.unit_id else label


# ---------------------------------------------------------------- audit log


@admin.route("/audit", endpoint="audit")
def audit_log():
    permissions.require(current_user, "audit.view")
    action = request.args.get("action", "")
    actor_id = request.args.get("actor", type=int)
    rows, page, pages, total = _paginate(audit_ops.entries(action or None, actor_id))
    filters = {k: v for k, v in {"action": action, "actor": actor_id}.items() if v}
    return render_template("accounts/admin/audit.html", rows=rows, page=page, pages=pages, total=total, filters=filters,
                           actions=[(a, action_label(a)) for a in audit_ops.actions()],
                           actors=audit_ops.actors(), describe=describe_details, links=target_links(rows),
                           action_label=action_label)


def action_label(action):
    return str(ACTION_LABELS.get(action, action))


def _shown(key, value):
    """One value of an audit detail, as an admin reads it."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if key == "kind":
        return str(KIND_LABELS.get(value, value))
    if key == "role":
        return str(ROLE_LABELS.get(value, value))
    if key == "gender":
        return GENDER_LABELS.get(value, value)
    if key == "sha256":
        return str(value)[:12] + "…"
    if key.endswith("_date") and isinstance(value, str):
        try:
            return format_date_vi(dt.date.fromisoformat(value[:10]))
        except ValueError:
            return value
    return str(value)


def describe_details(details):
    """Audit details as lines: (field label, old, new) for changes, (field label, None, value) otherwise."""
    if not details:
        return []
    try:
        data = json.loads(details)
    except ValueError:
        return [("", None, details)]
    if not isinstance(data, dict):
        return [("", None, str(data))]
    lines = []
    for key, value in data.items():
        label = str(FIELD_LABELS.get(key, key))
        if isinstance(value, list) and len(value) == 2:
            lines.append((label, _shown(key, value[0]), _shown(key, value[1])))
        else:
            lines.append((label, None, _shown(key, value)))
    return lines


_TARGETS = {"user": (User, "admin.user", "user_id"), "unit": (Unit, "admin.edit_unit", "unit_id")}


def _split_target(target):
    """'user:12 annv' -> ('user', 12, 'annv'); other targets -> (None, None, target)."""
    kind, _sep, rest = (target or "").partition(":")
    id_text, _sep, text = rest.partition(" ")
    if not id_text.isdigit():
        return None, None, target
    return kind, int(id_text), text or target


def target_links(rows):
    """{entry id: (text, url or None)}; links only to users and units that still exist."""
    parts = {row.id: _split_target(row.target) for row in rows}
    existing = {}
    for kind, (model, _endpoint, _arg) in _TARGETS.items():
        ids = {i for k, i, _t in parts.values() if k == kind}
        existing[kind] = {r.id for r in model.select(model.id).where(model.id.in_(list(ids)))} if ids else set()
    links = {}
    for row_id, (kind, id_, text) in parts.items():
        url = None
        if kind in _TARGETS and id_ in existing[kind]:
            _model, endpoint, arg = _TARGETS[kind]
            url = url_for(endpoint, **{arg: id_})
        links[row_id] = (text, url)
    return links
