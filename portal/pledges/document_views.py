"""Pledge PDFs: one pledge for whoever may read it, and a cell's filed pledges for its board.

A pledge nobody may read answers 404, like one that does not exist, so an id says nothing about who
pledged; the cell's file answers 403 to those without the board.
"""

import io

from flask import abort, flash, redirect, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..accounts import permissions
from ..accounts.models import Unit
from . import documents
from .blueprints import pledge_admin, pledges
from .models import Pledge, PledgePeriod
from .workflow import covers


def _send(content, name):
    return send_file(io.BytesIO(content), mimetype="application/pdf", as_attachment=True, download_name=name)


@pledges.route("/<int:pledge_id>.pdf")
def pledge_pdf(pledge_id):
    pledge = Pledge.get_or_none(Pledge.id == pledge_id)
    if pledge is None or not permissions.can(current_user, "pledge.view", pledge):
        abort(404)
    data = documents.pledge_data(pledge)
    return _send(documents.render_pledge(data), documents.file_name(data))


@pledge_admin.route("/<int:period_id>/cells/<int:cell_id>.pdf")
def cell_pdf(period_id, cell_id):
    """Every filed pledge of the cell's members, a page break before each, in name order."""
    period = PledgePeriod.get_or_none(PledgePeriod.id == period_id)
    cell = Unit.get_or_none(Unit.id == cell_id)
    if period is None or cell is None or cell.kind != "cell" or not covers(period, cell):
        abort(404)
    permissions.require(current_user, "pledge.board", cell)
    datas = documents.cell_data(period, cell)
    if not datas:
        flash(_("No member of %(cell)s has submitted a pledge yet, so there is nothing to print.", cell=cell.name),
              "info")
        return redirect(url_for("auth.home"))
    content = documents.render_cell(datas, title=f"Bản cam kết năm {period.year} - {cell.name}", author=cell.name)
    return _send(content, documents.cell_file_name(period, cell))
