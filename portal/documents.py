"""Low-level document helpers: PDF from HTML, and spreadsheets safe to open in Excel.

PDFs are rendered by WeasyPrint behind a fetcher that reads nothing but
``data:`` URIs and files under ``portal/static/`` (the bundled fonts), so a
document can never pull in a local file or reach the network: ``file:`` URLs
elsewhere, every other scheme (http, https, ftp...) and so every host, loopback
and link-local addresses included, are refused before anything is opened, and
nothing is ever redirected.

Spreadsheet cells that Excel would read as a formula (text starting with
``= + - @``, a tab or a carriage return) are written with a leading apostrophe.
"""

import csv
import datetime as dt
import io
import logging
import mimetypes
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

STATIC_DIR = (Path(__file__).parent / "static").resolve()

log = logging.getLogger(__name__)

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class FetchRefused(ValueError):
    """A document asked for a resource outside data: URIs and portal/static/."""


class DocumentError(RuntimeError):
    """A document could not be rendered."""


def _fetcher_class():
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticOnlyFetcher(URLFetcher):
        """Serve data: URIs and files under ``root``; refuse everything else.

        With ``fail_on_errors`` (the default) a refused URL stops the rendering: for the sheets a
        refused URL is a bug in a template, never something to skip quietly. Without it the
        document renders without the resource and the refusal is logged as a warning.
        """

        def __init__(self, root=STATIC_DIR, fail_on_errors=True):
            # No redirect handler: nothing this fetcher opens can answer with a redirect anyway.
            super().__init__(fail_on_errors=fail_on_errors, allowed_protocols={"data", "file"},
                             allow_redirects=False)
            self.root = Path(root).resolve()

        def fetch(self, url, headers=None):
            try:
                return self._fetch(url, headers)
            except FetchRefused as exc:
                if not self._fail_on_errors:
                    log.warning("%s", exc)
                raise

        def _fetch(self, url, headers):
            scheme = url.split(":", 1)[0].lower() if ":" in url else ""
            if scheme == "data":
                return super().fetch(url, headers)
            if scheme == "file":
                parts = urlsplit(url)
                if parts.netloc not in ("", "localhost"):
                    raise FetchRefused(f"refused to fetch {url!r}: remote file URL")
                path = Path(url2pathname(parts.path)).resolve()
                if path.is_relative_to(self.root) and path.is_file():
                    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                    return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": mime})
            raise FetchRefused(f"refused to fetch {url!r}: only data: URIs and files under {self.root}")

    return StaticOnlyFetcher


def url_fetcher(root=STATIC_DIR, fail_on_errors=True):
    """A WeasyPrint URL fetcher limited to data: URIs and files under ``root``.

    ``fail_on_errors=False``: a refused URL is left out of the document (with a warning in the log)
    instead of stopping the rendering.
    """
    return _fetcher_class()(root, fail_on_errors)


def render_pdf(html, base_dir=STATIC_DIR):
    """Render an HTML document to PDF bytes; relative URLs resolve against ``base_dir``.

    The document's <title> and <meta name="author"> become the PDF's metadata.
    """
    from weasyprint import HTML
    from weasyprint.urls import FatalURLFetchingError

    base_url = Path(base_dir).resolve().as_uri() + "/"
    try:
        return HTML(string=html, base_url=base_url, url_fetcher=url_fetcher()).write_pdf()
    except FatalURLFetchingError as exc:  # a BaseException: turn it into an ordinary error
        raise DocumentError(str(exc.__cause__ or exc)) from exc.__cause__


def safe_cell(value):
    """Return ``value`` so that a spreadsheet shows it as text, never runs it as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


@dataclass
class Sheet:
    """One worksheet: optional lines above the table, a styled header row, rows, lines below."""

    title: str
    headers: list
    rows: list
    widths: list = field(default_factory=list)
    preamble: list = field(default_factory=list)  # first line bold and larger
    footer: list = field(default_factory=list)
    text_columns: list = field(default_factory=list)  # 0-based; formatted as text so Excel keeps "01/02/1980"
    wrap_columns: list = field(default_factory=list)  # 0-based; multi-line text shown wrapped, top-aligned
    autofilter: bool = True


_HEADER_FILL = PatternFill("solid", fgColor="F1E4C3")
_THIN = Side(style="thin", color="9E9E9E")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_WRAP = Alignment(wrap_text=True, vertical="top")


def _write_sheet(ws, sheet):
    ws.title = sheet.title[:31]
    row = 1
    for i, line in enumerate(sheet.preamble):
        cell = ws.cell(row=row, column=1, value=safe_cell(line))
        cell.font = Font(bold=True, size=13 if i == 0 else 11)
        row += 1
    if sheet.preamble:
        row += 1
    header_row = row
    for col, text in enumerate(sheet.headers, start=1):
        cell = ws.cell(row=row, column=col, value=safe_cell(text))
        cell.font = Font(bold=True)
        cell.fill = _HEADER_FILL
        cell.border = _BORDER
        cell.alignment = Alignment(vertical="center", wrap_text=True)
    for values in sheet.rows:
        row += 1
        for col, value in enumerate(values, start=1):
            cell = ws.cell(row=row, column=col, value=safe_cell(value))
            cell.border = _BORDER
            if isinstance(value, (dt.date, dt.datetime)):
                cell.number_format = "dd/mm/yyyy"
            elif col - 1 in sheet.text_columns:
                cell.number_format = "@"
            if col - 1 in sheet.wrap_columns:
                cell.alignment = _WRAP
    for i, line in enumerate(sheet.footer):
        ws.cell(row=row + 2 + i, column=1, value=safe_cell(line)).font = Font(italic=True)
    for col in range(1, len(sheet.headers) + 1):
        letter = get_column_letter(col)
        if col - 1 < len(sheet.widths):
            ws.column_dimensions[letter].width = sheet.widths[col - 1]
        if col - 1 in sheet.text_columns:
            ws.column_dimensions[letter].number_format = "@"
    ws.freeze_panes = ws.cell(row=header_row + 1, column=1)
    if sheet.autofilter and sheet.headers and row > header_row:
        ws.auto_filter.ref = f"A{header_row}:{get_column_letter(len(sheet.headers))}{row}"
    ws.print_title_rows = f"{header_row}:{header_row}"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True


def xlsx_bytes(sheets, title="", author=""):
    """An .xlsx workbook of ``sheets`` (Sheet objects), every cell safe from formula injection."""
    wb = Workbook()
    wb.remove(wb.active)
    for sheet in sheets:
        _write_sheet(wb.create_sheet(), sheet)
    wb.properties.title = title or None
    wb.properties.creator = author or None
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def csv_bytes(headers, rows):
    """CSV in UTF-8 with a BOM (so Excel reads the accents), cells safe from formula injection."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in headers])
    for values in rows:
        writer.writerow(["" if v is None else safe_cell(v) for v in values])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
