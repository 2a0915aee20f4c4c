"""Reading the spreadsheets people upload: CSV or XLSX into numbered rows of cells, and their headers.

Shared by every import from a table (the member roster, question banks). Rows
are numbered as in the spreadsheet, the first being 1. CSV must be UTF-8 (with
or without BOM), separated by commas or semicolons. Errors about the file as a
whole are raised as ``error`` (a DomainError subclass the caller chooses), with
a Vietnamese message telling the person how to save the file properly.
"""

import codecs
import csv
import io
import logging
import re
from pathlib import Path

from flask_babel import gettext as _

from .accounts.users import ascii_fold
from .errors import DomainError

log = logging.getLogger(__name__)

# Zero-width characters and the BOM: invisible in a cell, but they break matching.
INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))


class PlanCounts:
    """Counts per action and the all-or-nothing check of an import plan (roster, question bank).

    Subclasses are dataclasses with ``rows`` (each with an ``action``) and set ACTIONS.
    """

    ACTIONS = ()

    @property
    def counts(self):
        counts = dict.fromkeys(self.ACTIONS, 0)
        for row in self.rows:
            counts[row.action] += 1
        return counts

    @property
    def rejected(self):
        return any(row.action == "reject" for row in self.rows)


class TableFileError(DomainError):
    """The file as a whole cannot be read: nothing in it was looked at row by row."""


def header_key(text):
    """'  ĐƠN VỊ  (Mã) ' and its NFD form -> 'don vi ma'."""
    folded = ascii_fold(str(text or "").translate(INVISIBLE)).lower()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", folded).split())


def read_records(data, filename, error=TableFileError):
    """A generator of (row number, list of cell values) from a CSV or XLSX file (by its extension)."""
    if not data:
        raise error(_("The file is empty."))
    ext = Path(filename).suffix.lower()
    is_zip = data[:4] == b"PK\x03\x04"
    if ext == ".xlsx":
        if not is_zip:
            raise error(_("%(name)s is not a real Excel (.xlsx) file. Open it in Excel and save it "
                          "again as \"Excel Workbook (.xlsx)\", or as \"CSV UTF-8\".", name=filename))
        return _xlsx_records(data, filename, error)
    if ext == ".csv":
        if is_zip or (b"\x00" in data[:4096] and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))):
            raise error(_("%(name)s is not a CSV text file. Save it from Excel as \"CSV UTF-8\" "
                          "or upload the .xlsx file itself.", name=filename))
        return _csv_records(data, filename, error)
    if ext in (".xls", ".ods", ".numbers"):
        raise error(_("The portal reads .xlsx and .csv files only. Open %(name)s in Excel and save it "
                      "as \"Excel Workbook (.xlsx)\".", name=filename))
    raise error(_("%(name)s is neither a CSV nor an Excel (.xlsx) file. Use the template.", name=filename))


def _csv_records(data, filename, error):
    try:
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            raise UnicodeDecodeError("utf-16", data[:2], 0, 2, "UTF-16, not UTF-8")
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise error(_("%(name)s is not in UTF-8, so its Vietnamese letters would be garbled. In Excel "
                      "choose File > Save As > \"CSV UTF-8 (Comma delimited)\" and upload it again.",
                      name=filename)) from None
    if not text.strip():
        raise error(_("The file is empty."))
    sample = "\n".join(text.lstrip().splitlines()[:10])
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    return _csv_rows(text, delimiter, filename, error)


def _csv_rows(text, delimiter, filename, error):
    try:
        yield from enumerate(csv.reader(io.StringIO(text), delimiter=delimiter), start=1)
    except csv.Error as exc:
        raise error(_("%(name)s cannot be read as CSV: %(error)s", name=filename, error=exc)) from None


def _xlsx_records(data, filename, error):
    from openpyxl import load_workbook

    damaged = error(_("%(name)s is not a real Excel (.xlsx) file or it is damaged. Open it in Excel "
                      "and save it again as \"Excel Workbook (.xlsx)\".", name=filename))
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds of errors on a file that is not an XLSX
        log.info("unreadable xlsx %s: %r", filename, exc)
        raise damaged from None
    return _xlsx_rows(workbook, damaged, filename, error)


def _xlsx_rows(workbook, damaged, filename, error):
    try:
        rows = workbook.worksheets[0].iter_rows(values_only=True)
        yield from ((n, list(row)) for n, row in enumerate(rows, start=1))
    except error:
        raise
    except Exception as exc:  # a damaged sheet inside a valid zip
        log.info("unreadable xlsx sheet %s: %r", filename, exc)
        raise damaged from None
    finally:
        workbook.close()


def _filled(cell):
    return cell is not None and str(cell).translate(INVISIBLE).strip() != ""


def find_header(records, is_header, error=TableFileError, look=10):
    """The header row: the first for which ``is_header(cells)`` holds among the first ``look`` non-empty rows,
    else the first non-empty row.

    Returns (row number, cells, data rows already read past the header).
    """
    seen = []
    for number, cells in records:
        if any(_filled(c) for c in cells):
            seen.append((number, cells))
            if is_header(cells) or len(seen) == look:
                break
    if not seen:
        raise error(_("The file is empty."))
    for i, (number, cells) in enumerate(seen):
        if is_header(cells):
            return number, cells, seen[i + 1:]
    return seen[0][0], seen[0][1], seen[1:]
