"""Reading the spreadsheets people upload: CSV or XLSX into numbered rows of cells, and their headers.

Shared by every import from a table (the member roster, question banks). Rows
are numbered as in the spreadsheet, the first being 1. CSV must be UTF-8 (with
or without BOM), separated by commas or semicolons. Errors about the file as a
whole are raised as ``error`` (a DomainError subclass the caller chooses), with
a Vietnamese message telling the person how to save the file properly.

An XLSX is a zip archive of XML parts, and openpyxl builds Python objects many
times the size of that XML. So before openpyxl opens a file, its parts are
measured as they stream by (``_check_xlsx``): a few megabytes that inflate to
gigabytes (a zip bomb), thousands of parts, millions of elements, a row of
millions of cells or a document type declaration (the way to XML entity
attacks, which Excel never writes) are refused. The limits are far above the
largest genuine file (20,000 rows: about 10 MB of XML and half a million
elements), and keep reading one within about 200 MB of memory.
"""

import codecs
import csv
import io
import itertools
import logging
import re
import zipfile
from pathlib import Path
from xml.parsers import expat

from flask_babel import gettext as _

from .accounts.users import ascii_fold
from .errors import DomainError

log = logging.getLogger(__name__)

# Zero-width characters and the BOM: invisible in a cell, but they break matching.
INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))

XLSX_MAX_PARTS = 1000
XLSX_MAX_EXPANDED = 32 * 1024 * 1024  # bytes of all parts once inflated
XLSX_MAX_ELEMENTS = 1_500_000  # XML elements in all parts
XLSX_MAX_LOOSE_ELEMENTS = 100_000  # elements outside rows and shared strings: openpyxl keeps each as objects
XLSX_MAX_GROUP_ELEMENTS = 100_000  # elements in one row or one shared string, which openpyxl reads at once
XLSX_LAST_ROW = 1_048_576  # Excel's last row
MAX_COLUMNS = 256  # columns read, in CSV and XLSX; the headers the importers look for are far to the left


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
    sample = "".join(itertools.islice(io.StringIO(text.lstrip(), newline=None), 10))  # not the millions of lines
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    return _csv_rows(text, delimiter, filename, error)


def _csv_rows(text, delimiter, filename, error):
    try:
        for number, row in enumerate(csv.reader(io.StringIO(text), delimiter=delimiter), start=1):
            yield number, row[:MAX_COLUMNS]
    except csv.Error as exc:
        raise error(_("%(name)s cannot be read as CSV: %(error)s", name=filename, error=exc)) from None


def _xlsx_records(data, filename, error):
    from openpyxl import load_workbook

    damaged = error(_("%(name)s is not a real Excel (.xlsx) file or it is damaged. Open it in Excel "
                      "and save it again as \"Excel Workbook (.xlsx)\".", name=filename))
    too_big = error(_("%(name)s holds far more than a member list or a question bank once opened (at most "
                      "%(size)s MB of content and %(parts)s parts are read). Copy the rows you need into a new "
                      "workbook and save it as \"Excel Workbook (.xlsx)\", or as \"CSV UTF-8\".",
                      name=filename, size=XLSX_MAX_EXPANDED // (1024 * 1024), parts=XLSX_MAX_PARTS))
    _check_xlsx(data, filename, error, damaged, too_big)
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds of errors on a file that is not an XLSX
        log.info("unreadable xlsx %s: %r", filename, exc)
        raise damaged from None
    return _xlsx_rows(workbook, damaged, filename, error)


def _check_xlsx(data, filename, error, damaged, too_big):
    """Raise ``too_big`` or ``damaged`` for an XLSX openpyxl could not read within bounded memory and time.

    Sizes come from the zip's directory (zipfile never inflates a part beyond
    the size stated there); the XML is counted in a streaming pass, without
    building it. Each part is read as XML: a part that is not (a picture) stops
    the count at its first bytes.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        parts = archive.infolist()
    except Exception as exc:  # zipfile raises several kinds of errors on a damaged directory
        log.info("unreadable xlsx %s: %r", filename, exc)
        raise damaged from None
    expanded = sum(part.file_size for part in parts)
    if len(parts) > XLSX_MAX_PARTS or expanded > XLSX_MAX_EXPANDED:
        log.info("xlsx %s refused: %s parts, %s bytes inflated", filename, len(parts), expanded)
        raise too_big
    counter = _XMLCounter(damaged, too_big)
    for part in parts:
        try:
            with archive.open(part) as stream:
                counter.count(stream)
        except error as exc:
            log.info("xlsx %s refused at %s: %s elements, %s", filename, part.filename, counter.elements, exc)
            raise
        except Exception as exc:  # a bad CRC, an encrypted or unknown compression: not a file Excel wrote
            log.info("unreadable xlsx %s at %s: %r", filename, part.filename, exc)
            raise damaged from None


class _XMLCounter:
    """Counts the elements of XML parts as expat streams them, refusing a document type declaration."""

    def __init__(self, damaged, too_big):
        self.damaged, self.too_big = damaged, too_big
        self.elements = self.loose = 0

    def count(self, stream):
        parser = expat.ParserCreate()
        parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        parser.StartDoctypeDeclHandler = self._refuse
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        self.depth, self.group_depth, self.group_elements, self.rows = 0, None, 0, 0
        try:
            while chunk := stream.read(1 << 16):
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
        except expat.ExpatError:
            pass  # not XML, or not well formed: openpyxl fails on it no further than this, if it reads it at all

    def _refuse(self, *args):
        raise self.damaged

    def _start(self, name, attrs):
        self.elements += 1
        self.depth += 1
        if self.elements > XLSX_MAX_ELEMENTS:
            raise self.too_big
        if self.group_depth is not None:
            self.group_elements += 1
            if self.group_elements > XLSX_MAX_GROUP_ELEMENTS:
                raise self.too_big
            return
        local = name.rpartition(":")[2]
        if local in ("row", "si"):  # a row of a sheet or a shared string: openpyxl reads one at a time
            self.group_depth, self.group_elements = self.depth, 0
            if local == "row":
                self.rows += 1
                number = attrs.get("r", "")
                beyond = len(number) > 7 or number.isdecimal() and int(number) > XLSX_LAST_ROW
                if beyond or self.rows > XLSX_LAST_ROW:  # no row of a sheet Excel wrote
                    raise self.damaged
        else:
            self.loose += 1
            if self.loose > XLSX_MAX_LOOSE_ELEMENTS:
                raise self.too_big

    def _end(self, name):
        if self.group_depth == self.depth:
            self.group_depth = None
        self.depth -= 1


def _xlsx_rows(workbook, damaged, filename, error):
    try:
        sheet = workbook.worksheets[0]
        # openpyxl stops at the size a sheet declares, which some programs write wrong: read every row instead.
        sheet.reset_dimensions()
        rows = sheet.iter_rows(max_row=XLSX_LAST_ROW, max_col=MAX_COLUMNS, values_only=True)
        for number, row in enumerate(rows, start=1):
            if row.count(None) < len(row):  # every reader skips empty rows; skip them here cheaply
                yield number, list(row)
    except error:
        raise
    except Exception as exc:  # a damaged sheet inside a valid zip
        log.info("unreadable xlsx sheet %s: %r", filename, exc)
        raise damaged from None
    finally:
        workbook.close()


def sub_in_pieces(pattern, replacement, text, size=1 << 16):
    """``pattern.sub(replacement, text)`` for a pattern of one class of characters, a piece at a time.

    re.sub holds a string for each match and each gap between them at once:
    for millions of matches, over a hundred megabytes. No match crosses the
    end of a piece, which moves past a run of what the pattern matches.
    """
    if len(text) <= size:
        return pattern.sub(replacement, text)
    pieces, start = [], 0
    while start < len(text):
        end = min(start + size, len(text))
        if run := pattern.match(text, end):
            end = run.end()
        pieces.append(pattern.sub(replacement, text[start:end]))
        start = end
    return "".join(pieces)


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
