"""Rosters: a unit's member list and the roster import."""

import io
import math

import peewee as pw
from flask import (Blueprint, abort, current_app, flash, redirect, render_template, request, send_file,
                   url_for)
from flask_babel import gettext as _
from flask_babel import to_user_timezone
from flask_login import current_user, login_required

from ..errors import DomainError
from ..extensions import client_address
from . import credentials, permissions, roster, units, users
from .models import RosterImport, Unit, User, utcnow
from .roster_forms import ConfirmImportForm, PostForm, RosterFilterForm, UploadForm

members = Blueprint("members", __name__, url_prefix="/members")

PER_PAGE = 50
XLSX = credentials.MIMETYPES["xlsx"]


@members.before_request
@login_required
def _login_first():
    """Every page here is for logged-in users."""


def _actor():
    return current_user._get_current_object()


def _today():
    return to_user_timezone(utcnow()).date()


def _sheets_root():
    return credentials.root(current_app.instance_path)


def _uploads():
    return roster.uploads_folder(current_app.instance_path)


# The member list ----------------------------------------------------------------------------

def _filtered_members(user, form):
    """(units the user may view in tree order with relative depth, selected unit, member query)."""
    allowed = permissions.units_for(user, "members.view")
    allowed_ids = {u.id for u in allowed}
    tree = [u for u in Unit.in_tree_order() if u.id in allowed_ids]
    top = min((u.depth for u in tree), default=0)
    form.unit.choices = [(0, _("All units I can see"))] + [
        (u.id, "\u00a0\u00a0\u00a0" * (u.depth - top) + u.name) for u in tree]
    selected = next((u for u in tree if u.id == form.unit.data), None)
    scope = allowed.where(Unit.path.startswith(selected.path)) if selected else allowed
    query = users.search(form.q.data, units=scope)
    if tree:
        position = pw.Case(User.unit, [(u.id, i) for i, u in enumerate(tree)], len(tree))
        query = query.order_by(position, User.full_name, User.id)
    return tree, selected, query


@members.route("/", endpoint="roster")
def member_list():
    user = _actor()
    permissions.require(user, "members.view")
    form = RosterFilterForm(request.args)
    form.validate()
    tree, selected, query = _filtered_members(user, form)
    total = query.count()
    pages = max(1, math.ceil(total / PER_PAGE))
    page = min(max(1, form.page.data or 1), pages)
    people = list(query.paginate(page, PER_PAGE))
    users.load_grants(people)
    groups = []
    for person in people:
        if not groups or groups[-1][0].id != person.unit_id:
            groups.append((person.unit, []))
        groups[-1][1].append(person)
    args = {k: v for k, v in (("unit", form.unit.data or None), ("q", form.q.data or None)) if v}
    return render_template("accounts/roster/list.html", form=form, groups=groups, total=total, page=page, pages=pages,
                           counts=units.member_counts(), selected=selected, args=args, has_units=bool(tree))


@members.route("/export.xlsx")
def export():
    user = _actor()
    permissions.require(user, "members.view")
    form = RosterFilterForm(request.args)
    form.validate()
    _tree, selected, query = _filtered_members(user, form)
    title = _("Member list") + (f" – {selected.name}" if selected else "")
    content = roster.members_xlsx(list(query), title)
    name = f"danh-sach-{selected.code if selected else 'dang-vien'}-{_today():%Y%m%d}.xlsx"
    return send_file(io.BytesIO(content), mimetype=XLSX, as_attachment=True, download_name=name)


@members.route("/<int:user_id>/reset-password", methods=["POST"])
def reset_password(user_id):
    actor = _actor()
    member = User.get_or_none(User.id == user_id) or abort(404)
    permissions.require(actor, "user.manage", member)
    if not PostForm().validate_on_submit():
        abort(400)
    password = users.reset_password(actor, member, client_address(), utcnow())
    # Shown once, in this response only: it is never stored in the session or a redirect.
    return render_template("accounts/roster/password.html", member=member, password=password)


# The import ---------------------------------------------------------------------------------

def _import_page(form):
    return render_template("accounts/roster/import.html", form=form, recent=roster.recent_imports(_actor()),
                           max_rows=current_app.config["ROSTER_MAX_ROWS"],
                           max_mb=(current_app.config.get("MAX_CONTENT_LENGTH") or 0) // (1024 * 1024),
                           lifetime_days=credentials.LIFETIME.days)


@members.route("/import", methods=["GET", "POST"])
def import_roster():
    actor = _actor()
    permissions.require(actor, "members.manage")
    form = UploadForm()
    if not form.validate_on_submit():
        return _import_page(form)
    upload = form.file.data
    data = upload.read()
    try:
        parsed = roster.parse_roster(data, upload.filename, _today(), current_app.config["ROSTER_MAX_ROWS"])
    except DomainError as exc:
        form.file.errors = [str(exc)]
        return _import_page(form)
    plan = roster.plan_import(parsed, actor)
    confirm = None
    if not plan.rejected:
        token, digest = roster.store_upload(_uploads(), data, parsed.filename, actor.id, utcnow())
        confirm = ConfirmImportForm(formdata=None, token=token, sha256=digest)
    return render_template("accounts/roster/preview.html", plan=plan, filename=parsed.filename, confirm=confirm,
                           action_label=roster.action_label)


@members.route("/import/template.<fmt>")
def import_template(fmt):
    actor = _actor()
    permissions.require(actor, "members.manage")
    unit_list = roster.template_units(actor)
    if fmt == "xlsx":
        content, mimetype = roster.template_xlsx(unit_list), XLSX
    elif fmt == "csv":
        content, mimetype = roster.template_csv(unit_list), "text/csv; charset=utf-8"
    else:
        abort(404)
    return send_file(io.BytesIO(content), mimetype=mimetype, as_attachment=True,
                     download_name=f"mau-danh-sach-dang-vien.{fmt}")


@members.route("/import/confirm", methods=["POST"])
def confirm_import():
    actor = _actor()
    permissions.require(actor, "members.manage")
    form = ConfirmImportForm()
    if not form.validate_on_submit():
        flash(_("The confirmation is incomplete. Please upload the file again."), "error")
        return redirect(url_for(".import_roster"))
    folder, token = _uploads(), form.token.data
    config = current_app.config
    try:
        data, filename = roster.load_upload(folder, token, form.sha256.data, actor.id)
        parsed = roster.parse_roster(data, filename, _today(), config["ROSTER_MAX_ROWS"])
        result = roster.apply_import(parsed, actor, utcnow(), _sheets_root(), config["ORGANISATION_NAME"],
                                     config["PUBLIC_URL"], client_address())
    except roster.ImportRejected as exc:
        roster.discard_upload(folder, token)
        flash(_("The data changed since the preview and some rows are now rejected. Nothing was imported."),
              "error")
        return render_template("accounts/roster/preview.html", plan=exc.plan, filename=filename, confirm=None,
                               action_label=roster.action_label), 409
    except DomainError as exc:
        flash(str(exc), "error")
        return redirect(url_for(".import_roster"))
    roster.discard_upload(folder, token)
    counts = result.plan.counts
    flash(_("Import done: %(created)s new, %(updated)s updated, %(unchanged)s unchanged.",
            created=counts["create"], updated=counts["update"], unchanged=counts["unchanged"]), "success")
    return redirect(url_for(".import_result", import_id=result.roster_import.id))


def _load_import(import_id):
    roster_import = RosterImport.get_or_none(RosterImport.id == import_id) or abort(404)
    permissions.require(_actor(), "roster_import.view", roster_import)
    return roster_import


@members.route("/imports/<int:import_id>")
def import_result(import_id):
    roster_import = _load_import(import_id)
    return render_template("accounts/roster/result.html", roster_import=roster_import,
                           formats=credentials.available_formats(_sheets_root(), roster_import, utcnow()),
                           delete_form=PostForm())


@members.route("/imports/<int:import_id>/credentials.<fmt>")
def credentials_file(import_id, fmt):
    roster_import = _load_import(import_id)
    path = credentials.file_path(_sheets_root(), roster_import, fmt, utcnow())
    if path is None:
        return render_template("accounts/roster/credentials_gone.html", roster_import=roster_import,
                               lifetime_days=credentials.LIFETIME.days), 404
    with open(path, "rb") as fh:  # small; read at once so the file can be deleted any time
        content = fh.read()
    response = send_file(io.BytesIO(content), mimetype=credentials.MIMETYPES[fmt], as_attachment=True,
                         download_name=credentials.download_name(roster_import, fmt), max_age=0)
    response.headers["Cache-Control"] = "no-store"
    return response


@members.route("/imports/<int:import_id>/credentials/delete", methods=["POST"])
def delete_credentials(import_id):
    roster_import = _load_import(import_id)
    if not PostForm().validate_on_submit():
        abort(400)
    credentials.delete(_actor(), roster_import, _sheets_root(), client_address())
    flash(_("The credentials sheet has been deleted."), "success")
    return redirect(url_for(".import_result", import_id=roster_import.id))
