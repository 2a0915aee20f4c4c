"""Unit pledges: a cell's (or a committee's) breakthrough task and its exemplary-model registration.

The secretary of a cell files for the cell, an organiser for their own committee; the organiser of
the committee above reviews: acknowledges, returns with a comment, evaluates. The steps are the
member pledge's (``workflow``), which asks ``permissions`` who may take them; a unit pledge has
items only (its commitments stay empty).
"""

import datetime as dt

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..accounts import permissions
from ..accounts.models import Unit, utcnow
from ..db import database
from ..errors import DomainError
from ..extensions import client_address
from . import workflow
from .blueprints import pledges
from .models import Evaluation, Pledge, PledgePeriod, SelfReport

UNIT_KINDS = ("breakthrough", "model")
ITEM_FIELDS = ("content", "measure", "deadline", "evidence")
REPORT_FIELDS = ("done", "not_done", "next_steps")


def _labels():
    return {"state_labels": workflow.STATE_LABELS, "kind_labels": workflow.KIND_LABELS,
            "level_labels": workflow.LEVEL_LABELS, "stage_labels": workflow.STAGE_LABELS,
            "unit_kinds": UNIT_KINDS, "max_items": workflow.MAX_ITEMS, "event_labels": workflow.EVENT_LABELS}


pledges.context_processor(_labels)


def _actor():
    return current_user._get_current_object()


# -- what the pages show (plain functions of models and the user) ---------------------------------------

def filing_units(user, period):
    """The units ``user`` files unit pledges for under ``period``: the cells they are secretary of and the
    units they organise (their own committee), in tree order."""
    mine = {u.id for u in permissions.secretary_cells(user)} | {u.id for u in permissions.organiser_scopes(user)}
    if permissions.is_admin(user):
        return []  # an admin files for nobody: a unit's words are its secretary's or organiser's
    return [u for u in Unit.in_tree_order() if u.id in mine and workflow.covers(period, u)]


def to_review(user, period):
    """The unit pledges of ``period`` that ``user`` reviews, filed ones first (drafts are the filer's own)."""
    rows = (Pledge.select(Pledge, Unit).join(Unit, on=(Pledge.unit == Unit.id))
            .where(Pledge.period == period.id, Pledge.kind.in_(UNIT_KINDS), Pledge.state != "draft")
            .order_by(Unit.path, Pledge.kind))
    return [p for p in rows if permissions.can(user, "pledge.review", p)]


def unit_pledges(period, units):
    """{(unit id, kind): Pledge} for ``units``."""
    if not units:
        return {}
    return {(p.unit_id, p.kind): p for p in Pledge.select().where(
        Pledge.period == period.id, Pledge.kind.in_(UNIT_KINDS), Pledge.unit.in_([u.id for u in units]))}


def file_unit_pledge(actor, period, unit, kind, items, now, address="", submit=False):
    """Start (the first time), save the items and, with ``submit``, submit: all or nothing."""
    with database.atomic():
        pledge = workflow.start(actor, period, now, address, kind=kind, unit=unit)
        workflow.save_draft(actor, pledge, {}, items, now, address)
        if submit:
            workflow.submit(actor, pledge, now, address)
    return pledge


def _details(pledge):
    """The items, their self-reports and the evaluation in force, for the pages."""
    return {"items": workflow.items_of(pledge), "reports": workflow.reports_of(pledge),
            "evaluation": workflow.current_evaluation(pledge), "events": workflow.history(pledge)}


# -- request parsing ---------------------------------------------------------------------------------------

def _posted_items():
    return [{key: request.form.get(f"items-{n}-{key}", "") for key in ITEM_FIELDS}
            for n in range(workflow.MAX_ITEMS)]


def _posted_reports(items):
    return {item.id: {key: request.form.get(f"reports-{item.id}-{key}", "") for key in REPORT_FIELDS}
            for item in items}


def _posted_date(name):
    text = (request.form.get(name) or "").strip()
    for parse in (dt.date.fromisoformat, lambda t: dt.datetime.strptime(t, "%d/%m/%Y").date()):
        try:
            return parse(text)
        except ValueError:
            continue
    return None


# -- the filer's pages --------------------------------------------------------------------------------------

def _period(period_id):
    period = PledgePeriod.get_or_none(PledgePeriod.id == period_id)
    if period is None:
        abort(404)
    return period


@pledges.route("/units")
def units_home():
    """The newest period covering a unit the user files for or reviews."""
    scopes = permissions.secretary_cells(current_user) + permissions.organiser_scopes(current_user)
    for unit in scopes:
        for period in workflow.periods_for(unit):
            return redirect(url_for(".units", period_id=period.id))
    for unit in permissions.organiser_scopes(current_user):  # an organiser reviews the periods of units below
        below = PledgePeriod.select().join(Unit).where(Unit.path.startswith(unit.path)) \
            .order_by(PledgePeriod.year.desc()).first()
        if below is not None:
            return redirect(url_for(".units", period_id=below.id))
    return render_template("pledges/unit/index.html", period=None, rows=[], review=[])


@pledges.route("/units/<int:period_id>")
def units(period_id):
    period = _period(period_id)
    actor = _actor()
    mine = filing_units(actor, period)
    review = to_review(actor, period)
    if not mine and not review and not permissions.is_admin(actor) and not any(
            workflow.covers(period, scope) or period.owner_unit.is_within(scope)
            for scope in permissions.organiser_scopes(actor)):
        abort(403)
    found = unit_pledges(period, mine)
    rows = [(unit, [(kind, found.get((unit.id, kind))) for kind in UNIT_KINDS]) for unit in mine]
    return render_template("pledges/unit/index.html", period=period, rows=rows, review=review)


def _load_unit(period_id, unit_id, kind):
    """The period, the unit, its pledge of ``kind`` (or None), after checking the user may file it."""
    period = _period(period_id)
    unit = Unit.get_or_none(Unit.id == unit_id)
    if unit is None or kind not in UNIT_KINDS or not workflow.covers(period, unit):
        abort(404)
    pledge = Pledge.get_or_none(Pledge.period == period.id, Pledge.kind == kind, Pledge.unit == unit.id)
    permissions.require(current_user, "pledge.file", pledge or Pledge(period=period, kind=kind, unit=unit))
    return period, unit, pledge


def _render_form(period, unit, kind, pledge, posted=None, error_field=None, status=200):
    details = _details(pledge) if pledge is not None else {"items": [], "reports": {}, "evaluation": None,
                                                           "events": []}
    if posted is None:
        posted = [{key: getattr(item, key) for key in ITEM_FIELDS} for item in details["items"]]
    posted = (posted + [{key: "" for key in ITEM_FIELDS}] * workflow.MAX_ITEMS)[:workflow.MAX_ITEMS]
    return render_template("pledges/unit/form.html", period=period, unit=unit, kind=kind, pledge=pledge,
                           posted=posted, error_field=error_field, editable=pledge is None or
                           pledge.state in workflow.EDITABLE, reportable=pledge is not None and
                           pledge.state in workflow.REPORTABLE, stages=SelfReport.STAGES, **details), status


@pledges.route("/units/<int:period_id>/<int:unit_id>/<kind>", methods=["GET", "POST"])
def unit_pledge(period_id, unit_id, kind):
    period, unit, pledge = _load_unit(period_id, unit_id, kind)
    if request.method == "GET":
        return _render_form(period, unit, kind, pledge)
    submit = request.form.get("action") == "submit"
    items = _posted_items()
    try:
        pledge = file_unit_pledge(_actor(), period, unit, kind, items, utcnow(), client_address(), submit=submit)
    except DomainError as exc:
        flash(str(exc), "error")
        return _render_form(period, unit, kind, pledge, posted=items, error_field=exc.field, status=422)
    if submit:
        flash(_("Submitted to the committee above for review.") if not pledge.submitted_late else
              _("Submitted after the registration deadline: it is accepted and marked late."),
              "success" if not pledge.submitted_late else "warning")
    else:
        flash(_("Draft saved."), "success")
    return redirect(url_for(".unit_pledge", period_id=period.id, unit_id=unit.id, kind=kind))


@pledges.route("/units/<int:period_id>/<int:unit_id>/<kind>/report/<stage>", methods=["POST"])
def unit_report(period_id, unit_id, kind, stage):
    period, unit, pledge = _load_unit(period_id, unit_id, kind)
    if pledge is None or stage not in SelfReport.STAGES:
        abort(404)
    try:
        workflow.file_report(_actor(), pledge, stage, _posted_reports(workflow.items_of(pledge)), utcnow(),
                             client_address())
    except DomainError as exc:
        flash(str(exc), "error")
    else:
        flash(_("%(report)s filed.", report=workflow.STAGE_LABELS[stage]), "success")
    return redirect(url_for(".unit_pledge", period_id=period.id, unit_id=unit.id, kind=kind))


@pledges.route("/units/<int:period_id>/<int:unit_id>/<kind>/accept", methods=["POST"])
def unit_accept(period_id, unit_id, kind):
    """The filer has read the evaluation: the record closes."""
    period, unit, pledge = _load_unit(period_id, unit_id, kind)
    if pledge is None:
        abort(404)
    try:
        workflow.accept_evaluation(_actor(), pledge, utcnow(), client_address())
    except DomainError as exc:
        flash(str(exc), "error")
    else:
        flash(_("You have confirmed the evaluation; the record is closed."), "success")
    return redirect(url_for(".unit_pledge", period_id=period.id, unit_id=unit.id, kind=kind))


# -- the reviewer's pages ------------------------------------------------------------------------------------

def _unit_pledge_or_404(pledge_id, permission):
    pledge = Pledge.get_or_none(Pledge.id == pledge_id)
    if pledge is None or pledge.kind not in UNIT_KINDS or not permissions.can(current_user, "pledge.view", pledge):
        abort(404)
    permissions.require(current_user, permission, pledge)
    return pledge


def _render_review(pledge, values=None, error_field=None, status=200):
    return render_template("pledges/unit/review.html", pledge=pledge, period=pledge.period, unit=pledge.unit,
                           can_review=permissions.can(current_user, "pledge.review", pledge),
                           levels=Evaluation.LEVELS, values=values or {}, error_field=error_field,
                           today=workflow.local_today(utcnow()), **_details(pledge)), status


@pledges.route("/units/review/<int:pledge_id>")
def unit_review(pledge_id):
    return _render_review(_unit_pledge_or_404(pledge_id, "pledge.view"))


def _back(pledge):
    return redirect(url_for(".unit_review", pledge_id=pledge.id))


@pledges.route("/units/review/<int:pledge_id>/acknowledge", methods=["POST"])
def unit_acknowledge(pledge_id):
    pledge = _unit_pledge_or_404(pledge_id, "pledge.review")
    try:
        workflow.acknowledge(_actor(), pledge, utcnow(), client_address())
    except DomainError as exc:
        flash(str(exc), "error")
    else:
        flash(_("Acknowledged: the registration is locked, and the unit can report on it."), "success")
    return _back(pledge)


@pledges.route("/units/review/<int:pledge_id>/return", methods=["POST"])
def unit_return(pledge_id):
    pledge = _unit_pledge_or_404(pledge_id, "pledge.review")
    try:
        workflow.return_pledge(_actor(), pledge, request.form.get("comment"), utcnow(), client_address())
    except DomainError as exc:
        flash(str(exc), "error")
        return _render_review(pledge, values=request.form, error_field=exc.field or "comment", status=422)
    flash(_("Returned to the unit with your comment."), "success")
    return _back(pledge)


@pledges.route("/units/review/<int:pledge_id>/evaluate", methods=["POST"])
def unit_evaluate(pledge_id):
    pledge = _unit_pledge_or_404(pledge_id, "pledge.review")
    try:
        workflow.evaluate(_actor(), pledge, _posted_date("meeting_date"), request.form.get("comment"),
                          request.form.get("level"), utcnow(), client_address(), reason=request.form.get("reason"))
    except DomainError as exc:
        flash(str(exc), "error")
        return _render_review(pledge, values=request.form, error_field=exc.field, status=422)
    flash(_("Evaluation recorded."), "success")
    return _back(pledge)
