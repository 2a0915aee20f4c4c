"""The member's pledge pages (on the ``pledges`` blueprint): the periods of their unit, and one period's pledge:
fill and submit it, add progress notes, file the self-reports, read and accept the collective's evaluation.

Handlers load, let the workflow check the permission (it asks ``pledge.file``), make one domain call with the
current user as actor, then flash and redirect, or render the page again with the errors next to the fields.
CSRF is checked for every POST by the app's CSRFProtect.
"""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..accounts import permissions
from ..accounts.models import utcnow
from ..errors import DomainError
from ..extensions import client_address
from . import exemplary, workflow
from .blueprints import pledges
from .forms import NoteForm, PledgeForm, place_error, pledge_form_data, report_input
from .models import Evaluation, Pledge, PledgePeriod, ProgressNote, SelfReport


def _actor():
    return current_user._get_current_object()


STATE_BADGES = {"not_started": "warn", "draft": "", "submitted": "info", "returned": "bad", "acknowledged": "ok",
                "reported": "ok", "evaluated": "info", "closed": "ok"}


STATE_LABELS = workflow.STATE_LABELS


def labels():
    """The labels every pledge page uses; passed to render_template (not a context processor, whose keys another
    module's processor on the same blueprint could override)."""
    return {"event_labels": workflow.EVENT_LABELS, "state_badges": STATE_BADGES, "state_labels": STATE_LABELS,
            "level_labels": workflow.LEVEL_LABELS,
            "commitment_labels": workflow.COMMITMENT_LABELS, "stage_labels": workflow.STAGE_LABELS,
            "kind_labels": workflow.KIND_LABELS, "commitment_keys": Pledge.COMMITMENTS}



def own_pledge(period, user):
    return Pledge.get_or_none(Pledge.period == period.id, Pledge.kind == "member", Pledge.user == user.id)


def _period(period_id):
    """The period, if it covers the member's unit (404 otherwise: it is not theirs to see)."""
    period = PledgePeriod.get_or_none(PledgePeriod.id == period_id) or abort(404)
    if not workflow.covers(period, current_user.unit):
        abort(404)
    return period


def record(pledge):
    """What every pledge page shows read-only: items, reports, notes, evaluations, history."""
    items = workflow.items_of(pledge) if pledge else []
    evaluations = []
    if pledge is not None:  # newest first, as workflow.current_evaluation orders them
        evaluations = list(Evaluation.select().where(Evaluation.pledge == pledge.id)
                           .order_by(Evaluation.recorded_at.desc(), Evaluation.id.desc()))
    return {
        "items": items,
        "reports": workflow.reports_of(pledge) if pledge else {stage: {} for stage in SelfReport.STAGES},
        "notes": list(pledge.notes.order_by(ProgressNote.at.desc(), ProgressNote.id.desc())) if pledge else [],
        "evaluation": evaluations[0] if evaluations else None,
        "previous_evaluations": evaluations[1:],
        "events": workflow.history(pledge) if pledge else [],
        "cell": pledge.unit if pledge else current_user.unit,
    }


@pledges.route("")
def index():
    user = _actor()
    periods = workflow.periods_for(user.unit)
    mine = {p.period_id: p for p in Pledge.select().where(Pledge.kind == "member", Pledge.user == user.id,
                                                          Pledge.period.in_([p.id for p in periods]))}
    return render_template("pledges/index.html", periods=periods, mine=mine, **labels(),
                           today=workflow.local_today(utcnow()), showcases=exemplary.showcase_periods(user))


def _render(period, pledge, form=None, note_form=None, report_errors=None, report_values=None, status=200):
    if form is None:
        form = PledgeForm(data=pledge_form_data(pledge, workflow.items_of(pledge)) if pledge else None)
    return render_template(
        "pledges/pledge.html", period=period, pledge=pledge, form=form, note_form=note_form or NoteForm(),
        report_errors=report_errors or {}, report_values=report_values or {}, today=workflow.local_today(utcnow()),
        editable=pledge is None or pledge.state in workflow.EDITABLE,
        reportable=pledge is not None and pledge.state in workflow.REPORTABLE,
        can_note=pledge is not None and pledge.state in workflow.REPORTABLE + ("evaluated",),
        **record(pledge), **labels()), status


@pledges.route("/<int:period_id>")
def pledge(period_id):
    period = _period(period_id)
    return _render(period, own_pledge(period, current_user))


@pledges.route("/<int:period_id>", methods=["POST"])
def save(period_id):
    """Save the draft; with the submit button, save then submit to the secretary."""
    period = _period(period_id)
    form = PledgeForm()
    if not form.validate():
        return _render(period, own_pledge(period, current_user), form=form)
    now, address = utcnow(), client_address()
    pledge = None
    try:
        pledge = workflow.start(_actor(), period, now, address)
        workflow.save_draft(_actor(), pledge, form.commitments(), form.item_rows(), now, address)
        if request.form.get("action") != "submit":
            flash(_("Your draft is saved. Submit it to the secretary when it is ready."), "success")
            return redirect(url_for(".pledge", period_id=period.id))
        workflow.submit(_actor(), pledge, now, address)
    except DomainError as exc:
        place_error(exc, form)
        return _render(period, pledge or own_pledge(period, current_user), form=form)
    if pledge.submitted_late:
        flash(_("Your pledge is submitted to the secretary, after the registration deadline: it is marked late."),
              "warning")
    else:
        flash(_("Your pledge is submitted to the secretary."), "success")
    return redirect(url_for(".pledge", period_id=period.id))


def _own_or_404(period):
    pledge = own_pledge(period, current_user) or abort(404)
    permissions.require(current_user, "pledge.file", pledge)
    return pledge


@pledges.route("/<int:period_id>/notes", methods=["POST"])
def add_note(period_id):
    period = _period(period_id)
    pledge = _own_or_404(period)
    form = NoteForm()
    if not form.validate():
        return _render(period, pledge, note_form=form)
    try:
        workflow.add_note(_actor(), pledge, form.text.data, utcnow(), client_address())
    except DomainError as exc:
        place_error(exc, form)
        return _render(period, pledge, note_form=form)
    flash(_("Your progress note is added."), "success")
    return redirect(url_for(".pledge", period_id=period.id, _anchor="notes"))


@pledges.route("/<int:period_id>/reports/<stage>", methods=["POST"])
def file_report(period_id, stage):
    period = _period(period_id)
    pledge = _own_or_404(period)
    if stage not in SelfReport.STAGES:
        abort(404)
    values = report_input(request.form, workflow.items_of(pledge))
    errors = {}
    try:
        workflow.file_report(_actor(), pledge, stage, values, utcnow(), client_address())
    except DomainError as exc:
        place_error(exc, errors=errors)
        return _render(period, pledge, report_errors=errors, report_values={stage: values})
    pledge = Pledge.get_by_id(pledge.id)
    report = next(iter(workflow.reports_of(pledge)[stage].values()), None)
    if report is not None and report.late:
        flash(_("%(report)s is filed, after its deadline: it is marked late.",
                report=workflow.STAGE_LABELS[stage]), "warning")
    else:
        flash(_("%(report)s is filed.", report=workflow.STAGE_LABELS[stage]), "success")
    return redirect(url_for(".pledge", period_id=period.id, _anchor=stage))


@pledges.route("/<int:period_id>/accept", methods=["POST"])
def accept(period_id):
    """The member has read the collective's evaluation: the record is closed."""
    period = _period(period_id)
    pledge = _own_or_404(period)
    try:
        workflow.accept_evaluation(_actor(), pledge, utcnow(), client_address())
    except DomainError as exc:
        flash(str(exc), "error")
    else:
        flash(_("Thank you: you have confirmed reading the evaluation. Your pledge for this year is closed."),
              "success")
    return redirect(url_for(".pledge", period_id=period.id))
