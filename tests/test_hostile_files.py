"""Hostile uploads: each is refused with a clear Vietnamese message, in bounded memory and time.

Zip bombs (a sheet that inflates to gigabytes, thousands of parts, sizes that lie), XML entity
attacks inside an XLSX (external entities, billion laughs), files whose extension lies about their
content, text built to make parsers take quadratic time or build millions of objects, and uploads
over the size limit. The heavy cases run in a child process that reports how much its memory grew
while importing (the peak, from /proc) and the CPU seconds it used; the child also runs under a
memory and a CPU limit, so that a regression fails the test instead of exhausting the machine.
"""

import io
import json
import os
import re
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import defusedxml
import openpyxl
import pytest
from openpyxl import Workbook

from portal.accounts import roster
from portal.accounts.models import RosterImport, User
from portal.quiz import parsers
from portal.quiz.models import Question, Topic
from portal.tables import XLSX_LAST_ROW, XLSX_MAX_GROUP_ELEMENTS, XLSX_MAX_PARTS
from tests.accounts.test_roster import TODAY, csv_bytes, person, tree, xlsx_bytes  # noqa: F401 (tree: a fixture)

ROOT = Path(__file__).resolve().parents[1]
MB = 1024 * 1024
GROWTH_LIMIT_MB = 200  # what an import may add to a worker's memory, whatever the file

DAMAGED = "không phải là tệp Excel (.xlsx) thật hoặc tệp đã bị hỏng"
TOO_BIG = "32 MB"


# Building the files ----------------------------------------------------------------------------

MAIN = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
SHEET = "xl/worksheets/sheet1.xml"
HEADER_ROW = ('<row r="1"><c r="A1" t="inlineStr"><is><t>Họ và tên</t></is></c>'
              '<c r="B1" t="inlineStr"><is><t>Ngày sinh</t></is></c>'
              '<c r="C1" t="inlineStr"><is><t>Đơn vị (mã)</t></is></c></row>').encode()
MEMBER_ROW = ('<row r="2"><c r="A2" t="inlineStr"><is><t>Nguyễn Văn An</t></is></c>'
              '<c r="B2" t="inlineStr"><is><t>17/05/1985</t></is></c>'
              '<c r="C2" t="inlineStr"><is><t>CB1</t></is></c></row>').encode()


def sheet(rows=HEADER_ROW + MEMBER_ROW, before=b"", after=b"", prolog=b""):
    return (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>' + prolog + b"<worksheet " + MAIN + b">"
            + before + b"<sheetData>" + rows + b"</sheetData>" + after + b"</worksheet>")


def workbook():
    """A genuine one-sheet roster, as openpyxl writes it."""
    return xlsx_bytes(["Nguyễn Văn An", "17/05/1985", "Nam", "CB1", "Đảng viên", "0912345678", ""])


def parts_of(xlsx):
    archive = zipfile.ZipFile(io.BytesIO(xlsx))
    return {name: archive.read(name) for name in archive.namelist()}


def zip_of(parts, declared=None):
    """A zip of {name: bytes or Deflated}; ``declared`` {name: size} states sizes other than the real ones."""
    out, directory = io.BytesIO(), []
    for name, content in parts.items():
        part = content if isinstance(content, Deflated) else Deflated.of(content)
        size = (declared or {}).get(name, part.size)
        encoded = name.encode()
        offset = out.tell()
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x5A21, part.crc, len(part.data),
                              size, len(encoded), 0) + encoded + part.data)
        directory.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x5A21, part.crc,
                                     len(part.data), size, len(encoded), 0, 0, 0, 0, 0, offset) + encoded)
    start = out.tell()
    out.write(b"".join(directory))
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(directory), len(directory), out.tell() - start,
                          start, 0))
    return out.getvalue()


class Deflated:
    """A part's deflated bytes, CRC and size; ``repeated`` builds gigabytes without holding them."""

    def __init__(self, data, crc, size):
        self.data, self.crc, self.size = data, crc, size

    @classmethod
    def of(cls, content):
        compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
        return cls(compressor.compress(content) + compressor.flush(), zlib.crc32(content), len(content))

    @classmethod
    def repeated(cls, head, unit, times, tail):
        """head + unit * times + tail. After a full flush a deflate stream refers to nothing before, so the
        unit is compressed once and its bytes repeated."""
        def segment(content, mode):
            compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
            return compressor.compress(content) + compressor.flush(mode)

        crc = zlib.crc32(head)
        for _i in range(times):
            crc = zlib.crc32(unit, crc)
        crc = zlib.crc32(tail, crc)
        data = (segment(head, zlib.Z_FULL_FLUSH) + segment(unit, zlib.Z_FULL_FLUSH) * times
                + segment(tail, zlib.Z_FINISH))
        return cls(data, crc, len(head) + len(unit) * times + len(tail))


def replaced(xlsx, name, content):
    parts = parts_of(xlsx)
    parts[name] = content
    return zip_of(parts)


def spaces(gigabytes):
    """A sheet that inflates to ``gigabytes`` GB: the header, a member, then spaces."""
    head, tail = sheet().split(b"</sheetData>")
    return Deflated.repeated(head + b"</sheetData>", b" " * MB, gigabytes * 1024, tail)


def flood(xlsx, name, head, unit, times, tail):
    return replaced(xlsx, name, Deflated.repeated(head, unit, times, tail))


# Running an import in a child process ----------------------------------------------------------

CHILD = r"""
import datetime as dt, json, re, resource, sys, time
args = json.loads(sys.argv[1])
resource.setrlimit(resource.RLIMIT_AS, (args["address_space"],) * 2)
resource.setrlimit(resource.RLIMIT_CPU, (args["cpu_seconds"],) * 2)
from portal import create_app
from portal.accounts import roster
from portal.quiz import parsers

def megabytes(key):
    return int(re.search(key + r":\s+(\d+) kB", open("/proc/self/status").read())[1]) / 1024

app = create_app({"TESTING": True, "SECRET_KEY": "dev"})
data = open(args["path"], "rb").read()
with app.app_context():
    before = megabytes("VmRSS")
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")  # the peak (VmHWM) starts again from here
    except OSError:
        pass  # then VmHWM is the peak of the whole process: an overestimate
    cpu = time.process_time()
    try:
        if args["importer"] == "roster":
            parsed = roster.parse_roster(data, args["name"], dt.date(2026, 1, 1), 20_000)
            outcome = {"rows": len(parsed.rows), "problems": [str(p) for r in parsed.rows for p in r.problems][:3]}
        else:
            parsed = parsers.parse_file(data, args["name"])
            outcome = {"questions": len(parsed.questions), "problems": [str(p) for p in parsed.problems][:3],
                       "unsupported": len(parsed.unsupported)}
    except (roster.RosterFileError, parsers.ImportFileError) as exc:
        outcome = {"refused": str(exc)}
    grown = megabytes("VmHWM") - before
print(json.dumps({"outcome": outcome, "grown_mb": round(grown, 1),
                  "cpu_s": round(time.process_time() - cpu, 2)}, ensure_ascii=False))
"""


def run_import(tmp_path, data, name, importer="questions"):
    """What importing ``data`` as ``name`` does in a fresh process: its outcome, memory growth and CPU time."""
    path = tmp_path / "upload.bin"
    path.write_bytes(data)
    args = {"path": str(path), "name": name, "importer": importer,
            "address_space": 3 * 1024 * MB, "cpu_seconds": 300}  # guards against a regression, not measurements
    proc = subprocess.run([sys.executable, "-c", CHILD, json.dumps(args)], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, "PORTAL_INSTANCE_PATH": str(tmp_path / "instance")})
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"{name} ({len(data):,} bytes): {report}")
    assert report["grown_mb"] < GROWTH_LIMIT_MB, report
    return report


def refused(report, *words):
    message = report["outcome"].get("refused", "")
    assert message and all(w in message for w in words), report["outcome"]
    return message


# Zip bombs ------------------------------------------------------------------------------------

def test_a_sheet_that_inflates_to_gigabytes_is_refused_before_it_is_inflated(tmp_path):
    bomb = replaced(workbook(), SHEET, spaces(2))
    assert len(bomb) < 5 * MB  # it passes the upload limit
    assert zipfile.ZipFile(io.BytesIO(bomb)).getinfo(SHEET).file_size > 2 * 1024 * MB
    message = refused(run_import(tmp_path, bomb, "danh-sach.xlsx", "roster"), "danh-sach.xlsx", TOO_BIG)
    assert "Excel Workbook (.xlsx)" in message and "CSV UTF-8" in message  # what to do instead
    refused(run_import(tmp_path, bomb, "cau-hoi.xlsx"), TOO_BIG)


def test_a_zip_that_states_small_sizes_but_inflates_to_gigabytes_is_damaged(tmp_path):
    """zipfile never inflates a part beyond the size its directory states: the checks can trust it."""
    lying = zip_of({**parts_of(workbook()), SHEET: spaces(1)}, declared={SHEET: 4096})
    assert zipfile.ZipFile(io.BytesIO(lying)).getinfo(SHEET).file_size == 4096
    refused(run_import(tmp_path, lying, "danh-sach.xlsx", "roster"), DAMAGED)


def test_an_archive_of_thousands_of_parts_is_refused(tmp_path):
    parts = parts_of(workbook())
    parts.update({f"xl/media/image{i}.png": b"" for i in range(20_000)})
    bomb = zip_of(parts)
    assert len(bomb) < 5 * MB
    refused(run_import(tmp_path, bomb, "danh-sach.xlsx", "roster"), TOO_BIG, str(XLSX_MAX_PARTS))


@pytest.mark.parametrize("name, head, unit, times, tail", [
    # openpyxl builds an object for each style: 10 MB of them would take over a gigabyte.
    ("xl/styles.xml", b"<styleSheet " + MAIN + b"><cellXfs>", b"<xf/>" * 1000, 2_000, b"</cellXfs></styleSheet>"),
    # and for each merged range of a sheet
    (SHEET, sheet(after=b"<mergeCells>").split(b"<mergeCells>")[0] + b"<mergeCells>",
     b'<mergeCell ref="A1:B2"/>' * 1000, 400, b"</mergeCells></worksheet>"),
    # an element openpyxl does not know stays in memory
    (SHEET, sheet().split(b"</worksheet>")[0], b"<x/>" * 1000, 2_500, b"</worksheet>"),
    # a row is read whole: a million cells in one
    (SHEET, sheet(rows=HEADER_ROW + b'<row r="2">').split(b"</sheetData>")[0], b"<c/>" * 1000, 1_000,
     b"</row></sheetData></worksheet>"),
    # and the shared strings are kept in a list, two million of them here
    ("xl/sharedStrings.xml", b"<sst " + MAIN + b">", b"<si/>" * 1000, 2_000, b"</sst>"),
])
def test_parts_that_would_build_millions_of_objects_are_refused(tmp_path, name, head, unit, times, tail):
    bomb = flood(workbook(), name, head, unit, times, tail)
    assert len(bomb) < 5 * MB
    refused(run_import(tmp_path, bomb, "danh-sach.xlsx", "roster"), TOO_BIG)


def test_row_numbers_beyond_excel_are_damaged_and_a_far_row_costs_nothing(tmp_path):
    beyond = replaced(workbook(), SHEET, sheet(rows=HEADER_ROW + f'<row r="{XLSX_LAST_ROW + 1}"/>'.encode()))
    refused(run_import(tmp_path, beyond, "danh-sach.xlsx", "roster"), DAMAGED)
    huge = replaced(workbook(), SHEET, sheet(rows=HEADER_ROW + b'<row r="99999999999999"/>'))
    refused(run_import(tmp_path, huge, "danh-sach.xlsx", "roster"), DAMAGED)
    # A 4 KB file declaring the whole grid, with one cell in Excel's last row and column: openpyxl would pad
    # a million rows to 16,384 cells each (about 20 seconds here before, hours with a bigger number).
    far = replaced(workbook(), SHEET, sheet(
        before=b'<dimension ref="A1:XFD1048576"/>',
        rows=HEADER_ROW + MEMBER_ROW + b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>'))
    report = run_import(tmp_path, far, "danh-sach.xlsx", "roster")
    assert report["outcome"]["rows"] == 1 and report["outcome"]["problems"] == []


def test_rows_past_the_size_a_sheet_declares_are_read(app):
    """Some programs write a wrong <dimension>; openpyxl stopped there and the rows below were lost silently."""
    rows = HEADER_ROW + b"".join(
        f'<row r="{n}"><c r="A{n}" t="inlineStr"><is><t>Người Số {n}</t></is></c><c r="B{n}" t="inlineStr">'
        f'<is><t>01/01/1980</t></is></c><c r="C{n}" t="inlineStr"><is><t>CB1</t></is></c></row>'.encode()
        for n in range(2, 6))
    data = replaced(workbook(), SHEET, sheet(rows=rows, before=b'<dimension ref="A1:C2"/>'))
    parsed = roster.parse_roster(data, "ds.xlsx", TODAY, 100)
    assert [r.number for r in parsed.rows] == [2, 3, 4, 5]


# XML entities ---------------------------------------------------------------------------------

def xxe(path):
    return f'<!DOCTYPE x [<!ENTITY secret SYSTEM "file://{path}">]>'.encode()


LAUGHS = (b'<!DOCTYPE x [<!ENTITY a "hahahahahahahahahaha">'
          + b"".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">'.encode() for i in range(9))
          + b"]>")  # &j; is 10^10 "ha"s: 20 GB


@pytest.fixture
def secret(tmp_path):
    path = tmp_path / "secret.txt"
    path.write_text("MAT-KHAU-BI-MAT")
    return path


def entity_files(secret):
    """(what, file) pairs: entities in each kind of XML part openpyxl reads."""
    cell = b'<row r="2"><c r="A2" t="inlineStr"><is><t>&secret;</t></is></c></row>'
    genuine = parts_of(workbook())
    with_strings = parts_of(xlsx_via_shared_strings())
    return [
        ("xxe in the sheet", replaced(workbook(), SHEET, sheet(rows=HEADER_ROW + cell, prolog=xxe(secret)))),
        ("billion laughs in the sheet", replaced(workbook(), SHEET, sheet(
            rows=HEADER_ROW + b'<row r="2"><c r="A2" t="inlineStr"><is><t>&j;</t></is></c></row>', prolog=LAUGHS))),
        ("xxe in the workbook", replaced(workbook(), "xl/workbook.xml", genuine["xl/workbook.xml"].replace(
            b"<workbook", xxe(secret) + b"<workbook", 1))),
        ("billion laughs in the content types", replaced(workbook(), "[Content_Types].xml",
                                                         genuine["[Content_Types].xml"].replace(
                                                             b"<Types", LAUGHS + b"<Types", 1))),
        ("xxe in the shared strings", zip_of({**with_strings, "xl/sharedStrings.xml": with_strings[
            "xl/sharedStrings.xml"].replace(b"<sst", xxe(secret) + b"<sst", 1).replace(
            "Nguyễn Văn An".encode(), b"&secret;")})),
        ("an external DTD", replaced(workbook(), SHEET, sheet(
            prolog=b'<!DOCTYPE worksheet SYSTEM "http://127.0.0.1:9/evil.dtd">'))),
    ]


def xlsx_via_shared_strings():
    """A roster written by XlsxWriter, which keeps the text in xl/sharedStrings.xml (as Excel does)."""
    import xlsxwriter

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out)
    book.add_worksheet().write_row(0, 0, ["Họ và tên", "Ngày sinh", "Đơn vị (mã)"])
    book.worksheets()[0].write_row(1, 0, ["Nguyễn Văn An", "17/05/1985", "CB1"])
    book.close()
    return out.getvalue()


def test_openpyxl_parses_with_defusedxml():
    """openpyxl picks defusedxml when it is installed: it must be (a dependency) and must not be turned off."""
    from openpyxl.xml import functions

    assert openpyxl.DEFUSEDXML is True
    assert functions.iterparse.__module__.startswith("defusedxml")
    assert functions.fromstring.__module__.startswith("defusedxml")


def test_openpyxl_alone_refuses_entities(secret):
    """The portal refuses these files before openpyxl opens them; openpyxl would refuse them too."""
    for what, data in entity_files(secret):
        if what == "an external DTD":
            continue  # no entity: defusedxml allows a DTD, and expat never fetches it
        with pytest.raises(ValueError) as info:
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
            list(book.worksheets[0].iter_rows(values_only=True))
        assert isinstance(info.value, defusedxml.DefusedXmlException) or isinstance(
            info.value.__cause__, defusedxml.DefusedXmlException), (what, info.value)


def test_entities_are_refused_as_a_damaged_file(app, secret):
    for what, data in entity_files(secret):
        for parse in (lambda: roster.parse_roster(data, "ds.xlsx", TODAY, 100),
                      lambda: parsers.parse_file(data, "cau-hoi.xlsx")):
            with pytest.raises((roster.RosterFileError, parsers.ImportFileError)) as info:
                parse()
            assert DAMAGED in str(info.value), what
            assert "MAT-KHAU" not in str(info.value)


def test_billion_laughs_stay_small(tmp_path, secret):
    what, data = entity_files(secret)[1]
    refused(run_import(tmp_path, data, "danh-sach.xlsx", "roster"), DAMAGED)


# Files whose name lies ------------------------------------------------------------------------

PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63"
                    "f8cfc0f01f0005000201a5f6e2a30000000049454e44ae426082")


@pytest.mark.parametrize("data, name, message", [
    (csv_bytes(person()), "ds.xlsx", "ds.xlsx không phải là tệp Excel (.xlsx) thật"),
    (PNG, "ds.xlsx", "ds.xlsx không phải là tệp Excel (.xlsx) thật"),
    (PNG, "ds.csv", "ds.csv không phải là tệp CSV dạng văn bản"),
    (xlsx_bytes(person()), "ds.csv", "ds.csv không phải là tệp CSV dạng văn bản"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "ds.xls", "lưu lại dưới dạng"),
    (PNG, "ds.png", "không phải tệp CSV hay Excel (.xlsx)"),
])
def test_a_roster_whose_name_lies_gets_a_clear_message(app, data, name, message):
    with pytest.raises(roster.RosterFileError) as info:
        roster.parse_roster(data, name, TODAY, 100)
    assert message in str(info.value)


@pytest.mark.parametrize("data, name, message", [
    (PNG, "cau-hoi.gift", "cau-hoi.gift không phải là tệp văn bản"),
    (PNG, "cau-hoi.txt", "cau-hoi.txt không phải là tệp văn bản"),
    (xlsx_bytes(person()), "cau-hoi.txt", "cau-hoi.txt không phải là tệp văn bản"),
    ("Câu hỏi? {=Có ~Không}".encode(), "cau-hoi.xlsx", "cau-hoi.xlsx không phải là tệp Excel (.xlsx) thật"),
    (PNG, "cau-hoi.csv", "cau-hoi.csv không phải là tệp CSV dạng văn bản"),
    (PNG, "cau-hoi.docx", "chỉ đọc câu hỏi từ tệp GIFT"),
])
def test_a_question_file_whose_name_lies_gets_a_clear_message(app, data, name, message):
    with pytest.raises(parsers.ImportFileError) as info:
        parsers.parse_file(data, name)
    assert message in str(info.value)


# Text that used to take quadratic time or huge memory -------------------------------------------

def gift(question, answers="{=a ~b}"):
    return (question + " " + answers + "\n").encode()


@pytest.mark.parametrize("what, data, name, expect", [
    ("emphasis never closed", gift("[markdown]" + "*a " * 1_500_000), "x.gift", {"questions": 1}),
    ("links never closed", gift("[markdown]" + "[a](" * 1_000_000), "x.gift", {"questions": 1}),
    ("tags never closed", gift("<a" * 2_000_000), "x.gift", {"problems": "không có nội dung câu hỏi"}),
    ("quoted attributes across tags", gift("<a x='>\"<b y=\">" * 300_000), "x.gift", {"questions": 1}),
    ("tags nested a million deep", gift("[plain]" + "<b" * 1_000_000 + "a" + ">" * 1_000_000 + "Câu?"), "x.gift",
     {"questions": 1}),
    ("scripts never closed", gift("[plain]" + "<script>" * 500_000 + "Câu?"), "x.gift", {"questions": 1}),
    ("comments never closed", gift("<!--" * 1_000_000 + "Câu?"), "x.gift", {"questions": 1}),
    ("tag tokens never closed", b"// " + b"[tag:" * 1_000_000 + b"\n" + gift("Câu?"), "x.gift", {"questions": 1}),
    ("a million options", gift("Câu?", "{" + "~a" * 2_000_000 + "}"), "x.gift", {"problems": "có 2000000 phương án"}),
    ("four million empty options", gift("Câu?", "{" + "~" * 4_000_000 + "}"), "x.gift",
     {"problems": "có 4000000 phương án"}),
    ("800,000 lines in one question", b"\n".join([b"C\xc3\xa2u?"] * 800_000) + b"{=a ~b}", "x.gift",
     {"questions": 1}),
    ("a million essays", b"a{}\n\n" * 1_000_000, "x.gift", {"refused": "nhiều hơn 10.000 câu hỏi"}),
    ("a million control characters", gift("[plain]" + "ab\x07" * 1_500_000), "x.gift", {"questions": 1}),
    ("a million tabs", gift("ab\t" * 1_500_000), "x.gift", {"questions": 1}),
    ("a million entities", gift("ab&amp;" * 700_000), "x.gift", {"questions": 1}),
    ("a million lone brackets", gift("[plain]" + "bb>" * 1_500_000), "x.gift", {"questions": 1}),
    ("Aiken: a million options", b"C\xc3\xa2u?\n" + b"A. x\n" * 1_000_000 + b"ANSWER: A\n", "x.aiken",
     {"problems": "có 1000000 phương án"}),
    ("Aiken: a million answers alone", b"ANSWER: A\n" * 500_000, "x.aiken",
     {"refused": "nhiều hơn 10.000 câu hỏi"}),
    ("CSV: a million rows", "Câu hỏi,Đáp án\n".encode() + b"a,\n" * 1_500_000, "x.csv",
     {"refused": "nhiều hơn 10.000 câu hỏi"}),
    ("CSV: a header of a million cells", "Câu hỏi,Đáp án,".encode() + b"ab," * 1_500_000 + "\nCâu?,A\n".encode(),
     "x.csv", {"problems": "Dòng 2, cột Đáp án"}),
    ("CSV: cells of scripts", "Câu hỏi,Phương án A,Phương án B,Đáp án\n".encode()
     + b"".join(b'"' + b"<script>" * 16_000 + f'{i} Câu?",a,b,A\n'.encode() for i in range(36)), "x.csv",
     {"questions": 36}),
])
def test_huge_and_hostile_text_is_read_in_bounded_memory(tmp_path, what, data, name, expect):
    assert len(data) <= 5 * MB
    outcome = run_import(tmp_path, data, name)["outcome"]
    for key, value in expect.items():
        if key == "refused":
            assert value in outcome.get("refused", ""), (what, outcome)
        elif key == "problems":  # the question is rejected, with a message naming its line
            assert outcome.get("problems") and outcome["problems"][0].startswith("Dòng "), (what, outcome)
            assert any(value in p for p in outcome["problems"]), (what, outcome)
        else:
            assert outcome.get(key) == value, (what, outcome)


def test_a_huge_xlsx_cell_is_read_in_bounded_memory(tmp_path):
    head = sheet(rows=b"").split(b"<sheetData>")[0] + (
        '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>Câu hỏi</t></is></c><c r="B1" t="inlineStr"><is>'
        '<t>Phương án A</t></is></c><c r="C1" t="inlineStr"><is><t>Phương án B</t></is></c><c r="D1" '
        't="inlineStr"><is><t>Đáp án</t></is></c></row><row r="2"><c r="A2" t="inlineStr"><is><t>').encode()
    tail = ('Câu?</t></is></c><c r="B2" t="inlineStr"><is><t>a</t></is></c><c r="C2" t="inlineStr"><is><t>b</t>'
            '</is></c><c r="D2" t="inlineStr"><is><t>A</t></is></c></row></sheetData></worksheet>').encode()
    data = flood(workbook(), SHEET, head, b"&lt;a" * 1000, 5_000, tail)  # 25 MB of "<a" once inflated
    outcome = run_import(tmp_path, data, "cau-hoi.xlsx")["outcome"]
    assert outcome["questions"] == 1


def test_the_largest_genuine_files_are_still_read(tmp_path):
    """Limits far above real files: a 20,000-member roster, a 10,000-question bank with eight options each."""
    book = Workbook()
    book.active.append(["Họ và tên", "Ngày sinh", "Giới tính", "Đơn vị (mã)", "Chức vụ", "Số điện thoại", "Email",
                        "Tên đăng nhập"])
    for i in range(20_000):
        book.active.append([f"Nguyễn Văn An {i}", "17/05/1985", "Nam", "CB1", "Đảng viên", "0912345678",
                            f"an{i}@example.vn", f"an{i}"])
    out = io.BytesIO()
    book.save(out)
    report = run_import(tmp_path, out.getvalue(), "danh-sach.xlsx", "roster")
    assert report["outcome"] == {"rows": 20_000, "problems": []}

    questions = [parsers.ParsedQuestion(
        line=0, kind="single", text=f"Câu hỏi số {i}: Đảng Cộng sản Việt Nam được thành lập năm nào, ở đâu?",
        options=[parsers.ParsedOption(f"Phương án {x} của câu {i}", 100 if x == "B" else 0) for x in "ABCDEFGH"],
        explanation="Ngày 03/02/1930, tại Hương Cảng (Hồng Kông).", difficulty=1, tags=["Lịch sử Đảng"])
        for i in range(parsers.MAX_QUESTIONS)]
    report = run_import(tmp_path, parsers.to_xlsx(questions), "ngan-hang.xlsx")
    assert report["outcome"]["questions"] == parsers.MAX_QUESTIONS and not report["outcome"]["problems"]


def test_the_limits_are_far_above_excel_files():
    assert XLSX_MAX_GROUP_ELEMENTS > 16_384 * 4  # a full row of Excel, each cell with its value and formula


# Uploads through the pages ----------------------------------------------------------------------

@pytest.fixture
def organiser(tree, login):
    return login(role="organiser", scope=tree["HU"], unit=tree["CB1"])


@pytest.fixture
def topic(tree):
    return Topic.create(code="CD2025", title="Chuyên đề năm 2025", year=2025, owner_unit=tree["HU"])


BOUNDARY = "portal-hostile-upload-7d1f0c"


def upload(client, url, data, name):
    """Post a form with one file, encoded here: the test client would spool a big one to a file left open."""
    body = (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n").encode() + data + f"\r\n--{BOUNDARY}--\r\n".encode()
    return client.post(url, data=body, content_type=f"multipart/form-data; boundary={BOUNDARY}")


def test_uploads_over_5_mb_get_413_on_both_import_pages(app, client, organiser, topic):
    assert app.config["MAX_CONTENT_LENGTH"] == 5 * MB
    users, imports = User.select().count(), RosterImport.select().count()
    big = b"Ho va ten,Ngay sinh,Don vi (ma)\n" + b"a,1/1/1980,CB1\n" * (6 * MB // 15)
    for url, name in (("/members/import", "ds.csv"), (f"/manage/topics/{topic.id}/import", "cau-hoi.gift")):
        response = upload(client, url, big, name)
        assert response.status_code == 413, url
        assert "Tệp quá lớn" in response.get_data(as_text=True)
    assert (User.select().count(), RosterImport.select().count(), Question.select().count()) == (users, imports, 0)
    assert not any(os.path.exists(os.path.join(app.instance_path, folder))
                   and os.listdir(os.path.join(app.instance_path, folder))
                   for folder in ("imports", "question-imports"))


def test_a_chunked_upload_without_a_length_is_cut_at_5_mb(app, client, organiser):
    """Behind a proxy that streams the body (no Content-Length), the limit holds while reading."""
    body = (b'--b\r\nContent-Disposition: form-data; name="file"; filename="ds.csv"\r\n\r\n'
            + b"a" * (6 * MB) + b"\r\n--b--\r\n")
    response = client.post("/members/import", input_stream=io.BytesIO(body),
                           content_type="multipart/form-data; boundary=b",
                           environ_overrides={"wsgi.input_terminated": True})
    assert response.status_code == 413
    assert "Tệp quá lớn" in response.get_data(as_text=True)


def test_hostile_files_through_the_pages_get_a_message_not_an_error(app, client, organiser, topic, secret):
    files = [data for _what, data in entity_files(secret)] + [PNG, flood(
        workbook(), "xl/styles.xml", b"<styleSheet " + MAIN + b"><cellXfs>", b"<xf/>" * 1000, 2_000,
        b"</cellXfs></styleSheet>")]
    for data in files:
        for url, name in (("/members/import", "ds.xlsx"), (f"/manage/topics/{topic.id}/import", "cau-hoi.xlsx")):
            response = upload(client, url, data, name)
            page = response.get_data(as_text=True)
            assert response.status_code == 200, (url, response.status_code)
            assert re.search(r"không phải là tệp Excel \(.xlsx\) thật|lớn hơn nhiều", page), url
            assert "MAT-KHAU" not in page and 'name="token"' not in page
    assert Question.select().count() == 0 and RosterImport.select().count() == 0
