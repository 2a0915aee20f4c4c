"""The secretary's pledge pages (on the ``pledges`` blueprint): the cell board with its filter, reminder list and
bulk acknowledge, and one member's pledge to acknowledge, return, evaluate or correct.

Organisers above a cell open the same pages read-only: the action forms appear only for ``pledge.review``
(the secretary of the member's cell now), and the workflow refuses anyone else whatever they post.
"""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..accounts import permissions
from ..accounts.models import Unit, utcnow
from ..errors import DomainError
from ..extensions import client_address
from ..formatting import format_date_vi
from . import workflow
from .blueprints import pledges
from .forms import EvaluationForm, ReturnForm, place_error
from .models import Pledge, PledgePeriod, SelfReport
from .views import labels, record


def _actor():
    return current_user._get_current_object()


def board_periods(user):
    """The periods with a board ``user`` may open: those covering their cells and organised subtrees, and the
    periods opened inside those subtrees; newest first."""
    if permissions.is_admin(user):
        return list(PledgePeriod.select().order_by(PledgePeriod.year.desc(), PledgePeriod.id.desc()))
    found = {}
    scopes = permissions.organiser_scopes(user)
    for unit in permissions.secretary_cells(user) + scopes:
        found.update({p.id: p for p in workflow.periods_for(unit)})
    for scope in scopes:
        query = PledgePeriod.select().join(Unit).where(Unit.path.startswith(scope.path))
        found.update({p.id: p for p in query})
    return sorted(found.values(), key=lambda p: (-p.year, -p.id))


def reminders(period, rows, today):
    """The members to remind, each with what is missing: [(member, pledge, text)]."""
    due = [pledge.id for _m, pledge, state, overdue in rows if overdue and pledge and state in workflow.REPORTABLE]
    stages = {}
    for pledge_id, stage in (SelfReport.select(SelfReport.pledge, SelfReport.stage)
                             .where(SelfReport.pledge.in_(due)).distinct().tuples()):
        stages.setdefault(pledge_id, set()).add(stage)
    out = []
    for member, pledge, state, overdue in rows:
        if not overdue:
            continue
        if state in ("not_started", "draft", "returned"):
            text = _("has not submitted a pledge (deadline %(date)s)", date=format_date_vi(period.register_by))
        elif today > period.year_end_by and "year_end" not in stages.get(pledge.id, set()):
            text = _("has not filed the year-end self-report (deadline %(date)s)",
                     date=format_date_vi(period.year_end_by))
        else:
            text = _("has not filed the mid-year self-report (deadline %(date)s)",
                     date=format_date_vi(period.mid_year_by))
        out.append((member, pledge, text))
    return out


def reminder_text(period, cell, reminders_):
    lines = [_("%(cell)s – reminder about the pledges of %(year)s:", cell=cell.name, year=period.year)]
    lines += ["- " + _("Comrade %(name)s %(missing)s.", name=member.full_name, missing=text)
              for member, _p, text in reminders_]
    return "\n".join(lines)


@pledges.route("/board")
def boards():
    """The periods whose boards the user may open (straight to the one when there is one)."""
    permissions.require(current_user, "pledge.board")
    periods = board_periods(_actor())
    if len(periods) == 1:
        return redirect(url_for(".board", period_id=periods[0].id))
    return render_template("pledges/boards.html", periods=periods, period=None, cells=[], **labels())


@pledges.route("/board/<int:period_id>")
def board(period_id):
    """The cells of the period the user may open; a secretary of one cell goes straight to its board."""
    period = PledgePeriod.get_or_none(PledgePeriod.id == period_id) or abort(404)
    cells = workflow.cells_for_board(_actor(), period)
    if not cells:
        abort(403)
    if len(cells) == 1:
        return redirect(url_for(".cell_board", period_id=period.id, cell_id=cells[0].id))
    return render_template("pledges/boards.html", periods=[], period=period, cells=cells, **labels())


def _period_and_cell(period_id, cell_id):
    period = PledgePeriod.get_or_none(PledgePeriod.id == period_id) or abort(404)
    cell = Unit.get_or_none(Unit.id == cell_id, Unit.kind == "cell") or abort(404)
    if not workflow.covers(period, cell):
        abort(404)
    permissions.require(current_user, "pledge.board", cell)
    return period, cell


@pledges.route("/board/<int:period_id>/<int:cell_id>")
def cell_board(period_id, cell_id):
    period, cell = _period_and_cell(period_id, cell_id)
    today = workflow.local_today(utcnow())
    rows = workflow.cell_board(period, cell, today)
    for member, pledge, _state, _overdue in rows:
        if pledge is not None:
            pledge.user = member  # the permission check below asks for the member's cell: no query per row
    counts = {state: 0 for state in workflow.STATE_LABELS}
    for _m, _p, state, _o in rows:
        counts[state] += 1
    state = request.args.get("state", "")
    shown = [row for row in rows if row[2] == state] if state in workflow.STATE_LABELS else rows
    due = reminders(period, rows, today)
    reviewable = {p.id for _m, p, s, _o in rows if p is not None and s == "submitted"
                  and permissions.can(current_user, "pledge.review", p)}
    return render_template("pledges/board.html", period=period, cell=cell, rows=shown, counts=counts, state=state,
                           total=len(rows), reminders=due, reminder_text=reminder_text(period, cell, due),
                           reviewable=reviewable, today=today, **labels())


@pledges.route("/board/<int:period_id>/<int:cell_id>/acknowledge", methods=["POST"])
def acknowledge_many(period_id, cell_id):
    """Acknowledge the ticked submitted pledges at once (the workflow skips what the user may not review)."""
    period, cell = _period_and_cell(period_id, cell_id)
    ids = [int(v) for v in request.form.getlist("pledge") if v.isdigit()]
    chosen = list(Pledge.select().where(Pledge.id.in_(ids), Pledge.period == period.id)) if ids else []
    if not chosen:
        flash(_("Tick the pledges to acknowledge first."), "error")
        return redirect(url_for(".cell_board", period_id=period.id, cell_id=cell.id))
    try:
        done = workflow.acknowledge_many(_actor(), chosen, utcnow(), client_address())
    except DomainError as exc:
        flash(str(exc), "error")
    else:
        flash(_("Pledges acknowledged: %(n)s.", n=done), "success")
    return redirect(url_for(".cell_board", period_id=period.id, cell_id=cell.id))


def _pledge(pledge_id):
    """The pledge, if the user may read it (404 when unknown, 403 when not theirs to see)."""
    pledge = Pledge.get_or_none(Pledge.id == pledge_id) or abort(404)
    permissions.require(current_user, "pledge.view", pledge)
    return pledge


def _render_review(pledge, return_form=None, evaluation_form=None):
    can_review = permissions.can(current_user, "pledge.review", pledge)
    shown = record(pledge)
    if evaluation_form is None:
        current = shown["evaluation"]
        data = ({"meeting_date": current.meeting_date.isoformat(), "comment": current.comment, "level": current.level}
                if current else {"meeting_date": workflow.local_today(utcnow()).isoformat()})
        evaluation_form = EvaluationForm(data=data)
    # The record follows the member: the board to go back to is their cell's now.
    board_cell = pledge.user.unit if pledge.kind == "member" and pledge.user and pledge.user.unit_id else pledge.unit
    return render_template("pledges/review.html", pledge=pledge, period=pledge.period, can_review=can_review,
                           return_form=return_form or ReturnForm(), evaluation_form=evaluation_form,
                           board_cell=board_cell, today=workflow.local_today(utcnow()), **shown, **labels())


@pledges.route("/review/<int:pledge_id>")
def review(pledge_id):
    return _render_review(_pledge(pledge_id))


def _back(pledge, anchor=None):
    return redirect(url_for(".review", pledge_id=pledge.id, _anchor=anchor))


@pledges.route("/review/<int:pledge_id>/acknowledge", methods=["POST"])
def acknowledge(pledge_id):
    pledge = _pledge(pledge_id)
    try:
        workflow.acknowledge(_actor(), pledge, utcnow(), client_address())
    except DomainError as exc:
        flash(str(exc), "error")
    else:
        flash(_("The pledge of %(name)s is acknowledged; its commitments are locked.", name=pledge.full_name),
              "success")
    return _back(pledge)


@pledges.route("/review/<int:pledge_id>/return", methods=["POST"])
def return_pledge(pledge_id):
    pledge = _pledge(pledge_id)
    form = ReturnForm()
    try:
        workflow.return_pledge(_actor(), pledge, form.comment.data, utcnow(), client_address())
    except DomainError as exc:
        place_error(exc, form)
        return _render_review(pledge, return_form=form)
    flash(_("The pledge is returned to %(name)s with your comment.", name=pledge.full_name), "success")
    return _back(pledge)


@pledges.route("/review/<int:pledge_id>/evaluate", methods=["POST"])
def evaluate(pledge_id):
    """Record the collective evaluation, or (on an evaluated or closed pledge) a correction with its reason."""
    pledge = _pledge(pledge_id)
    form = EvaluationForm()
    correction = pledge.state in ("evaluated", "closed")
    try:
        workflow.evaluate(_actor(), pledge, form.meeting(), form.comment.data, form.level.data or "", utcnow(),
                          client_address(), reason=form.reason.data or "")
    except DomainError as exc:
        place_error(exc, form)
        return _render_review(pledge, evaluation_form=form)
    if correction:
        flash(_("The correction is recorded; the previous entry is kept in the record."), "success")
    else:
        flash(_("The collective evaluation of %(name)s is recorded.", name=pledge.full_name), "success")
    return _back(pledge, "evaluation")
