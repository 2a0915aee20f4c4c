"""The organiser's commendation page (/manage/pledges/<period>/commend): the evaluated pledges of their part
of the period, filtered by level and unit, ticked and given a certificate of merit with one of their designs.

Who sees the page is who sees the period's board (``overview.board_roots``: the organiser of the period's
unit, or of a committee inside it); ``commend.issue`` checks the rest (the pledges, the design).
"""

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..accounts import permissions
from ..accounts.models import Unit, utcnow
from ..certificates import issue as certificates
from ..certificates.models import Design
from ..errors import DomainError
from ..extensions import client_address
from . import commend, overview, workflow
from .blueprints import pledge_admin
from .models import Evaluation, PledgePeriod

EXCERPT = 140  # characters of the collective's comment shown in the table


def _load(period_id):
    """The period and the roots of the organiser's part of it (404 when missing, 403 when none)."""
    period = PledgePeriod.get_or_none(PledgePeriod.id == period_id) or abort(404)
    roots = overview.board_roots(current_user, period)
    if not roots:
        abort(403)
    return period, roots


def _filters(values, roots):
    """The level ("" for any) and the unit (one of the roots or inside them) the page shows."""
    level = values.get("level", commend.DEFAULT_LEVEL)
    level = level if level in Evaluation.LEVELS else ""
    unit_id = values.get("unit", type=int)
    unit = None
    if unit_id is not None:
        unit = Unit.get_or_none(Unit.id == unit_id) or abort(404)
        if not any(unit.is_within(root) for root in roots):
            abort(403)
    return level, unit


def _units(roots):
    """The units to filter by: the roots' subtrees (committees and cells), in tree order."""
    return [u for u in Unit.in_tree_order() if any(u.is_within(root) for root in roots)]


@pledge_admin.route("/<int:period_id>/commend")
def commend_page(period_id):
    period, roots = _load(period_id)
    level, unit = _filters(request.args, roots)
    rows = commend.candidates(period, unit or roots, level or None)
    designs = certificates.designs_for(current_user)
    top = min((r.depth for r in roots), default=0)
    return render_template(
        "pledges/manage/commend.html", period=period, rows=rows, level=level, unit=unit, units=_units(roots),
        depth_offset=top, designs=designs, level_labels=workflow.LEVEL_LABELS, kind_labels=workflow.KIND_LABELS,
        excerpt=EXCERPT, can_create_design=permissions.can(current_user, "certificate.manage"),
        source_prefix=commend.SOURCE_PREFIX)


@pledge_admin.route("/<int:period_id>/commend", methods=["POST"])
def commend_issue(period_id):
    period, roots = _load(period_id)
    level, unit = _filters(request.form, roots)
    back = redirect(url_for(".commend_page", period_id=period.id, level=level or "any",
                            unit=unit.id if unit else None))
    design_id = request.form.get("design", type=int)
    design = Design.get_or_none(Design.id == design_id) if design_id is not None else None
    try:
        issued, skipped = commend.issue(current_user._get_current_object(), period,
                                        request.form.getlist("pledge", type=int), design, utcnow(),
                                        current_app.config["PUBLIC_URL"], address=client_address())
    except DomainError as exc:
        flash(_("No certificates were issued. %(reason)s", reason=str(exc)), "error")
        return back
    flash(_("Issued %(n)s certificates of merit, skipped %(k)s already issued.", n=len(issued), k=skipped),
          "success" if issued else "info")
    return back
