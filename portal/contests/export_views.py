"""Downloads of the results sheets: a round's or a contest's, as XLSX, CSV or PDF (organisers only).

The XLSX is written to a temporary file (XlsxWriter's constant-memory mode
keeps only a row in memory) and sent from it; the CSV streams straight from
the database cursor; the PDF (the first ranks and the prize winners) is small.
"""

import io
import tempfile

from flask import Response, abort, send_file, stream_with_context
from flask_babel import get_timezone

from ..accounts.models import utcnow
from . import exports
from .manage_views import contest_admin, get_contest, get_round


def _download(target, fmt):
    if fmt not in exports.FORMATS:
        abort(404)
    name = exports.download_name(target, fmt)
    mimetype = exports.MIMETYPES[fmt]
    if fmt == "csv":
        response = Response(stream_with_context(exports.csv_stream(target, get_timezone())), mimetype=mimetype)
        response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
    if fmt == "xlsx":
        sheet = tempfile.TemporaryFile(prefix="portal-results-")
        try:
            exports.write_xlsx(target, sheet, utcnow(), get_timezone())
        except BaseException:
            sheet.close()
            raise
        sheet.seek(0)
        return send_file(sheet, mimetype=mimetype, as_attachment=True, download_name=name)
    content = exports.pdf_bytes(target, utcnow(), get_timezone())
    return send_file(io.BytesIO(content), mimetype=mimetype, as_attachment=True, download_name=name)


@contest_admin.route("/<int:contest_id>/rounds/<int:round_id>/results.<fmt>")
def round_results_download(contest_id, round_id, fmt):
    return _download(get_round(contest_id, round_id), fmt)


@contest_admin.route("/<int:contest_id>/results.<fmt>")
def contest_results_download(contest_id, fmt):
    return _download(get_contest(contest_id), fmt)
