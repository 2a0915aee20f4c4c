"""Organiser pages of pledges (/manage/pledges): the periods, opening and editing one, the committee
board rolled up through the tree, and the XLSX of a cell or a subtree.

Each handler loads, checks ``pledge.manage`` (the board and the export: the organiser of the period's
unit, or of a committee inside its tree, who then sees their own subtree), makes one domain call and
renders, or flashes and redirects. Sorting is done on the server (``?sort=column&dir=``); unsorted,
the table follows the tree with its indentation.
"""

import io

from flask import abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.routing import BuildError

from ..accounts import permissions
from ..accounts.admin_forms import indented
from ..accounts.models import Unit, utcnow
from ..errors import DomainError
from ..extensions import client_address
from . import exports, overview, workflow
from .blueprints import pledge_admin
from .models import PledgePeriod
from .period_forms import PeriodForm, new_period_data, period_data

NUMERIC_FIRST_DESCENDING = set(overview.SORT_COLUMNS) - {"name"}
# The table's column headings (the full level names are their titles).
SHORT_LEVELS = {"excellent": _l("Excellent"), "good": _l("Good"), "fulfilled": _l("Fulfilled"),
                "not_fulfilled": _l("Not fulfilled")}


def _actor():
    return current_user._get_current_object()


def _scope_units():
    """The units the current user may open periods for, in tree order."""
    allowed = {u.id for u in permissions.units_for(current_user, "pledge.manage")}
    return [u for u in Unit.in_tree_order() if u.id in allowed]


def _get_period(period_id):
    """The period and the roots of the board the current user sees (404 when missing, 403 when none)."""
    period = PledgePeriod.get_or_none(PledgePeriod.id == period_id) or abort(404)
    roots = overview.board_roots(current_user, period)
    if not roots:
        abort(403)
    return period, roots


def _cell_board_url(period, cell):
    """The cell's board (the members' area adds it), or None while that page does not exist."""
    if "pledges.cell_board" not in current_app.view_functions:
        return None
    try:
        return url_for("pledges.cell_board", period_id=period.id, cell_id=cell)
    except BuildError:
        return None


@pledge_admin.route("/")
def periods():
    permissions.require(current_user, "pledge.manage")
    own = {u.id for u in permissions.units_for(current_user, "pledge.manage")}
    scopes = permissions.organiser_scopes(current_user)
    rows = [p for p in PledgePeriod.select(PledgePeriod, Unit).join(Unit, on=(PledgePeriod.owner_unit == Unit.id))
            .order_by(PledgePeriod.year.desc(), Unit.path, PledgePeriod.id)
            if p.owner_unit_id in own or any(workflow.covers(p, s) for s in scopes)]
    return render_template("pledges/manage/periods.html", periods=rows, manages={p.id for p in rows
                                                                                  if p.owner_unit_id in own})


def _form(period=None):
    if request.method == "POST":
        form = PeriodForm()
    elif period is None:
        form = PeriodForm(data=new_period_data(workflow.local_today(utcnow())))
    else:
        form = PeriodForm(data=period_data(period))
    units = [u for u in _scope_units() if u.kind == "committee"] or _scope_units()
    if period is not None and period.owner_unit_id not in {u.id for u in units}:
        units = [period.owner_unit] + units
    top = min((u.depth for u in units), default=0)
    form.owner_unit.choices = [(str(u.id), indented(u)[4 * top:] if top else indented(u)) for u in units]
    return form, {str(u.id): u for u in units}


def _save(form, units, period):
    """Validate and save; the form again with the domain's message at its field when refused."""
    if not form.validate_on_submit():
        return None
    owner = units.get(form.owner_unit.data)
    if owner is None:
        form.owner_unit.errors = list(form.owner_unit.errors) + [_("Choose a unit from the list.")]
        return None
    try:
        return workflow.save_period(_actor(), period, owner, form.values(), utcnow(), address=client_address())
    except DomainError as exc:
        field = getattr(form, exc.field, None) if exc.field else None
        if field is not None and hasattr(field, "errors"):
            field.errors = list(field.errors) + [str(exc)]
        else:
            flash(str(exc), "error")
        return None


@pledge_admin.route("/new", methods=["GET", "POST"])
def new_period():
    permissions.require(current_user, "pledge.manage")
    form, units = _form()
    saved = _save(form, units, None)
    if saved is not None:
        flash(_("The pledge period %(title)s is open for %(unit)s.", title=saved.title, unit=saved.owner_unit.name),
              "success")
        return redirect(url_for(".board", period_id=saved.id))
    return render_template("pledges/manage/period_form.html", form=form, period=None)


@pledge_admin.route("/<int:period_id>/edit", methods=["GET", "POST"])
def edit_period(period_id):
    period = PledgePeriod.get_or_none(PledgePeriod.id == period_id) or abort(404)
    permissions.require(current_user, "pledge.manage", period)
    form, units = _form(period)
    saved = _save(form, units, period)
    if saved is not None:
        flash(_("The pledge period %(title)s is saved.", title=saved.title), "success")
        return redirect(url_for(".board", period_id=saved.id))
    return render_template("pledges/manage/period_form.html", form=form, period=period)


def _sorting():
    column = request.args.get("sort", "")
    if column not in overview.SORT_COLUMNS:
        return None, False
    direction = request.args.get("dir", "")
    descending = direction == "desc" if direction in ("asc", "desc") else column in NUMERIC_FIRST_DESCENDING
    return column, descending


@pledge_admin.route("/<int:period_id>")
def board(period_id):
    period, roots = _get_period(period_id)
    numbers = overview.board(period, roots)
    column, descending = _sorting()
    focus = numbers.focus()
    links = {row.unit_id: _cell_board_url(period, row.unit_id) for row in numbers.rows if row.kind == "cell"}
    return render_template(
        "pledges/manage/board.html", period=period, board=numbers, sort=column, descending=descending,
        rows=numbers.sorted_rows(column, descending) if column else numbers.rows,
        chart=overview.level_chart(focus, period.excellent_cap), over_cap=numbers.over_cap(), links=links,
        can_edit=permissions.can(current_user, "pledge.manage", period),
        level_labels=workflow.LEVEL_LABELS, short_levels=SHORT_LEVELS, level_colours=overview.LEVEL_COLOURS)


@pledge_admin.route("/<int:period_id>/export.xlsx")
def export(period_id):
    period, roots = _get_period(period_id)
    unit_id = request.args.get("unit", type=int)
    if unit_id is None:
        unit = roots  # every part of the period the organiser sees, one sheet each when several
    else:
        unit = Unit.get_or_none(Unit.id == unit_id) or abort(404)
        if not any(unit.is_within(root) for root in roots):
            abort(403)
    content = exports.workbook(period, unit, utcnow())
    return send_file(io.BytesIO(content), mimetype=exports.MIMETYPE, as_attachment=True,
                     download_name=exports.download_name(period, unit))
