"""Every importer under random and mutated files (Hypothesis): no crash, no partial write, clear messages.

The files start as valid GIFT, Aiken, question tables and member rosters like those of
tests/quiz/test_parsers.py and tests/accounts/test_roster.py, then are mutated: lines dropped,
duplicated, swapped or replaced by garbage, cut short, random Unicode, BOMs, CRLF, huge lines,
a wrong file name, corrupted bytes. Whatever comes in, an importer

- raises nothing but its own error (ImportFileError, RosterFileError), with a message;
- or returns a clean result: questions or rows that hold NFC plain text without tags or control
  characters, and problems whose messages name their line or row ("Dòng 12: …", "Dòng 3, cột …: …");
- and, applied to the database, writes all of it or, when it refuses, nothing (row counts unchanged);
  a file applied once adds nothing when applied again.

The runs are deterministic (derandomize) and bounded: ``--hypothesis-show-statistics`` shows the
examples each property ran.
"""

import csv
import datetime as dt
import io
import os
import re
import unicodedata
import zipfile

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from portal import create_app
from portal.accounts import credentials, roster
from portal.accounts.models import AuditLog, RosterImport, User
from portal.errors import DomainError
from portal.quiz import bank, parsers
from portal.quiz.models import Option, Question, Topic
from portal.quiz.questions import FALSE_TEXT, MAX_OPTIONS, MIN_OPTIONS, TRUE_TEXT
from tests.accounts.test_roster import HEAD_USER, NOW, TODAY, person, tree  # noqa: F401 (tree: a fixture)
from tests.conftest import _PASSWORD_HASH


def fuzz(examples):
    """Deterministic and bounded; the fixtures are shared by the examples of one test on purpose."""
    return settings(max_examples=examples, derandomize=True, database=None, deadline=None, print_blob=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large, HealthCheck.large_base_example])


@pytest.fixture(scope="module")
def vietnamese(tmp_path_factory):
    """An app context for the Vietnamese messages; parsing touches no database."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PORTAL_INSTANCE_PATH", str(tmp_path_factory.mktemp("instance")))
        app = create_app({"TESTING": True, "SECRET_KEY": "dev"})
        with app.app_context():
            yield app


# Valid files to start from -------------------------------------------------------------------

GIFT = """$CATEGORY: $course$/top/Chuyên đề 2025

// [tag:Lịch sử Đảng] [difficulty:Dễ]
::Năm thành lập::Đảng Cộng sản Việt Nam được thành lập năm nào? {
    ~1925#Năm thành lập Hội Việt Nam Cách mạng Thanh niên.
    =1930#Chính xác.
    ~1945
    ####Ngày 03/02/1930, tại Hương Cảng.
}

Những phẩm chất nào Bác Hồ nêu về người cán bộ? {
    ~%50%Cần, kiệm
    ~%50%Liêm, chính
    ~%-100%Quan liêu
}

Chi bộ là tổ chức cơ sở của Đảng.{FALSE#Chưa đúng.#Chính xác.}

[html]<p>Thủ đô của nước ta là <b>thành phố</b> nào?</p> {=Hà Nội ~Huế ~[markdown]**Vinh**}

Đảng ta ra đời {~năm 1925 =năm 1930 ~năm 1945} tại Hương Cảng.

Ai là người sáng lập Đảng? {=Nguyễn Ái Quốc}

Năm 1930 + 15 \\= ? {#1945}

Hai phép cộng \\{ 1 + 1 \\} ra mấy? {
    =2 #Đúng \\# đấy
    ~3
}
"""

AIKEN = """Thủ đô của nước Việt Nam
Dân chủ Cộng hòa đặt ở đâu?
A. Hà Nội
B) Huế
C. Sài Gòn
ANSWER: A

Những tỉnh nào thuộc Tây Nguyên?
a) Gia Lai
b) Bình Định
c) Đắk Lắk
ANSWER: A, C

Chi bộ họp thường kỳ mỗi tháng mấy lần?
A. Một lần
B. Hai lần
ĐÁP ÁN: A
"""

TABLE_HEAD = ["Câu hỏi", "Phương án A", "Phương án B", "Phương án C", "Phương án D", "Đáp án", "Giải thích",
              "Độ khó", "Chủ đề"]
TABLE_ROWS = [
    ["Đảng ta ra đời năm nào?", "1925", "1930", "1945", "", "B", "Ngày 03/02/1930.", "Dễ", "Lịch sử, Đảng"],
    ["Chọn các phẩm chất?", "Cần", "Kiệm", "Tham", "Liêm", "A, B, D", "", "trung binh", ""],
    ["Chi bộ là tổ chức cơ sở của Đảng.", "", "", "", "", "Sai", "", "KHÓ", ""],
    ["'=1+1 bằng mấy?", "2", "3", "", "", "a", "", 2, "Toán"],
]

ROSTER_ROWS = [
    person(),
    person(name="Trần Thị Lụa", born="02/09/1990", gender="Nữ", unit="CB2", phone="", email="lua@example.vn"),
    person(name="Lê Văn Bình", born="04/03/1980", position="Phó Bí thư", phone="+84 912.345.679"),
    person(name="Phạm Thị Bé", born="1991-01-31", gender="nu", unit="cb1", phone="0987654321"),
]

# Pieces that break parsers: their special characters, markup, encodings' leftovers, Excel's habits.
NASTY = [
    "", " ", "\t", "\ufeff", "\u200b", "\u00a0", "\x00", "\x07", "\x1b", "\x7f", "\r", "\u2028", "\u0085",
    "{", "}", "~", "=", "#", "####", "::", ":", "\\", "\\n", "%", "%50%", "%-100%", "%1e9%", "% 33,3 %", "->",
    "//", "// [tag:x] [difficulty:Khó] [grading:partial]", "[tag:", "$CATEGORY:", "[html]", "[moodle]",
    "[markdown]", "[plain]", "<b>", "</b>", "<p>", "<br/>", "<script>alert(1)</script>", "<scr<b>ipt>", "<!--",
    "-->", "<![CDATA[", "<?x", "&amp;", "&lt;b&gt;", "&#0;", "&#8203;", "&#x1F600;", "**đậm**", "[a](b)", "`",
    "ANSWER:", "ANSWER: B", "ĐÁP ÁN: A, C", "A.", "A. Hà Nội", "B)", "I. chín", "Đúng", "Sai", "TRUE", "F",
    "T#sai#đúng", "=1+1", "'=1+1", "+84", "@SUM(A1)", "A, C", "AC", "A và C", "Z", "17/05/1985", "31/02/1980",
    "1899-12-31", "01/01/2099", "0912345678", "Nguyễn Văn An", unicodedata.normalize("NFD", "Nguyễn Văn An"),
    "NGUYỄN VĂN AN", "annv", "Bad Name!", "CB1", "cb2", "XYZ", "Nam", "Nữ", "khác", "😀", "\U0001d400",
    "ﾃｽﾄ", "Ⅻ", "١٢٣", "x" * 300,
]
# The characters markup is made of, to be put together into tags, entities and escapes.
MARKUP = ["<", ">", "/", "!", "?", "[", "]", "(", ")", "-", "=", "'", '"', "&", "#", ";", "*", "_", "`", " ", "\n",
          "\t", "\\", "{", "}", "~", ":", "%", "b", "p", "br", "script", "style", "a", "x", "amp", "lt", "gt", "8203",
          "\u200b", "\ufeff", "\x07", "\x00", "\u0301", "Đ", "ạ"]
# Something like a tag, a comment or a declaration, with what hides one in its middle.
TAGISH = st.builds(
    lambda start, inside, end: start + "".join(inside) + end,
    st.sampled_from(["<", "</", "<!", "<?", "<!--", "<![", "&lt;", "&#60;", "<scr"]),
    st.lists(st.sampled_from(["script", "style", "b", "p", "br", " ", "\u200b", "\x07", "\ufeff", "\u0301", "a",
                              "=", "'", '"', "x", "-", "[", "<", "&#8203;", "&#7;"]), max_size=4),
    st.sampled_from([">", "", "/>", "&gt;", "-->", "]]>"]))
PIECE = st.one_of(st.sampled_from(NASTY), st.text(max_size=12), TAGISH,
                  st.lists(st.sampled_from(MARKUP), max_size=8).map("".join))
GARBAGE = st.lists(PIECE, max_size=4).map("".join)


@st.composite
def mutated_lines(draw, sample):
    """The lines of ``sample`` after a few random edits."""
    lines = sample.split("\n")
    for _i in range(draw(st.integers(0, 6))):
        op = draw(st.sampled_from(["drop", "duplicate", "swap", "insert", "replace", "splice", "cut", "huge"]))
        i = draw(st.integers(0, len(lines) - 1)) if lines else 0
        if op == "drop" and lines:
            del lines[i]
        elif op == "duplicate" and lines:
            lines[i:i] = [lines[i]] * draw(st.integers(1, 3))
        elif op == "swap" and lines:
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "insert":
            lines.insert(i, draw(GARBAGE))
        elif op == "replace" and lines:
            lines[i] = draw(GARBAGE)
        elif op == "splice" and lines:  # garbage inside a line
            k = draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:k] + draw(GARBAGE) + lines[i][k:]
        elif op == "cut" and lines:
            lines[i] = lines[i][:draw(st.integers(0, len(lines[i])))]
        elif op == "huge":  # 20,000 copies of a piece: a line of up to six million characters
            lines.insert(i, draw(st.sampled_from(NASTY[1:] + ["a", "ab ", "<a", "{~"])) * 20_000)
    return lines


def lines_in(data):
    """At least as many as the lines of ``data``, in any encoding the importers read."""
    return data.count(b"\n") + data.count(b"\r") + 2


@st.composite
def text_files(draw, sample):
    """The bytes of a mutated ``sample``: any line end, maybe cut short, with or without a BOM."""
    lines = draw(mutated_lines(sample))
    text = draw(st.sampled_from(["\n", "\r\n", "\r"])).join(lines)
    if draw(st.integers(0, 9)) == 0:
        text = text[:draw(st.integers(0, len(text)))]
    if draw(st.integers(0, 4)) == 0:
        text = unicodedata.normalize("NFD", text)
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8", "utf-8-sig", "utf-16", "cp1258", "latin-1"]))
    data = text.encode(encoding, "replace")
    if draw(st.integers(0, 9)) == 0:  # a few random bytes somewhere
        k = draw(st.integers(0, len(data)))
        data = data[:k] + draw(st.binary(min_size=1, max_size=8)) + data[k:]
    return data


CELL = st.one_of(
    st.none(), PIECE, st.text(max_size=30), st.integers(-10**15, 10**15), st.floats(), st.booleans(),
    st.datetimes(min_value=dt.datetime(1800, 1, 1), max_value=dt.datetime(2200, 1, 1)),
    st.dates(min_value=dt.date(1800, 1, 1), max_value=dt.date(2200, 1, 1)), st.times())


@st.composite
def mutated_rows(draw, head, rows):
    """A header and rows after a few random edits of the rows, the cells and the columns."""
    table = [list(head)] + [list(r) for r in rows]
    if draw(st.booleans()):  # the columns in another order: still a valid file
        order = draw(st.permutations(range(len(head))))
        table = [[r[k] if k < len(r) else None for k in order] for r in table]
    for _i in range(draw(st.integers(0, 6))):
        op = draw(st.sampled_from(["drop", "duplicate", "insert", "blank", "cell", "splice", "cells", "title",
                                   "wide"]))
        i = draw(st.integers(1, len(table)))  # a place below the header; len(table) is past the end
        if op == "insert":
            table.insert(i, draw(st.lists(CELL, max_size=12)))
        elif op == "blank":
            table.insert(i, [None] * draw(st.integers(0, 5)))
        elif op == "title":  # a title above the header, as people write them
            table.insert(0, [draw(PIECE)])
        elif i == len(table):
            continue  # the edits below change an existing row
        elif op == "drop":
            del table[draw(st.integers(0, len(table) - 1))]  # the header too, sometimes
        elif op == "duplicate":
            table[i:i] = [list(table[i])]
        elif op == "cell" and table[i]:
            table[i][draw(st.integers(0, len(table[i]) - 1))] = draw(CELL)
        elif op == "splice" and table[i]:  # garbage inside a cell's text
            k = draw(st.integers(0, len(table[i]) - 1))
            text = "" if table[i][k] is None else str(table[i][k])
            at = draw(st.integers(0, len(text)))
            table[i][k] = text[:at] + draw(PIECE) + text[at:]
        elif op == "cells":  # a row of random values under the header
            table[i] = draw(st.lists(CELL, min_size=len(head), max_size=len(head)))
        elif op == "wide":  # a cell far to the right
            table[i] = table[i] + [None] * draw(st.integers(0, 300)) + [draw(PIECE)]
    return table


def csv_file(table, delimiter, bom):
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter).writerows([["" if c is None else str(c) for c in row] for row in table])
    return (("\ufeff" if bom else "") + out.getvalue()).encode("utf-8", "replace")


def xlsx_file(table):
    wb = Workbook()
    for row in table:
        wb.active.append([ILLEGAL_CHARACTERS_RE.sub("", c) if isinstance(c, str) else c for c in row])
    out = io.BytesIO()
    wb.save(out)
    return same_bytes_every_time(out.getvalue())


def same_bytes_every_time(xlsx):
    """The workbook without the time openpyxl stamps on it: Hypothesis replays a table byte for byte."""
    source, out = zipfile.ZipFile(io.BytesIO(xlsx)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for part in source.infolist():
            content = source.read(part)
            if part.filename == "docProps/core.xml":
                content = re.sub(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", b"2026-01-01T00:00:00Z", content)
            archive.writestr(zipfile.ZipInfo(part.filename, date_time=(2026, 1, 1, 0, 0, 0)), content,
                             compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


@st.composite
def table_files(draw, head, rows, names):
    """(file name, bytes, highest row number) of a mutated table, as CSV or XLSX."""
    table = draw(mutated_rows(head, rows))
    if draw(st.booleans()):
        data = csv_file(table, draw(st.sampled_from([",", ";"])), draw(st.booleans()))
        ext, last = ".csv", lines_in(data)
    else:
        data, ext, last = xlsx_file(table), ".xlsx", len(table)
    if draw(st.integers(0, 5)) == 0:  # bytes overwritten or cut short
        if draw(st.booleans()):
            data = data[:draw(st.integers(0, len(data)))]
        else:
            k = draw(st.integers(0, len(data)))
            data = data[:k] + draw(st.binary(min_size=1, max_size=16)) + data[k + 16:]
    if draw(st.integers(0, 7)) == 0:  # the name lies about the content
        ext = draw(st.sampled_from([".csv", ".xlsx", ".xls", ".txt", ".gift", ".pdf", ""]))
    return draw(st.sampled_from(names)) + ext, data, last


# What every result must look like ------------------------------------------------------------

NAMES_ITS_LINE = re.compile(r"Dòng (\d+)(?:, cột [^:]+)?: \S")
TAG = re.compile(r"<\s*/?\s*[A-Za-z!?][^<>]*>")
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f\u200b\u200c\u200d\u2060\ufeff]")


def assert_names_a_line(message, last):
    m = NAMES_ITS_LINE.match(str(message))
    assert m, f"no line or row named: {message!s:.200}"
    assert 1 <= int(m[1]) <= last, str(message)[:200]


def assert_plain(text, may_be_empty=True, markup_removed=True):
    assert isinstance(text, str)
    assert may_be_empty or text, "empty"
    assert unicodedata.is_normalized("NFC", text), repr(text[:80])
    assert not CONTROL.search(text), repr(text[:80])
    assert text == text.strip(), repr(text[:80])
    if markup_removed:  # question banks keep no markup; names and the like are shown escaped, as typed
        assert not TAG.search(text), repr(TAG.search(text)[0][:80])


def assert_clean(result, last):
    """A ParseResult: clean questions, and problems and skipped questions that name their line or row."""
    for problem in result.problems:
        assert_names_a_line(problem, last)
    for skipped in result.unsupported:
        assert skipped.kind in parsers.UNSUPPORTED_KINDS
        assert_names_a_line(skipped, last)
    for q in result.questions:
        assert 1 <= q.line <= last
        assert q.kind in parsers.KINDS
        assert MIN_OPTIONS <= len(q.options) <= MAX_OPTIONS
        assert_plain(q.text, may_be_empty=False)
        for o in q.options:
            assert_plain(o.text, may_be_empty=False)
            assert_plain(o.feedback)
            assert -100 <= o.weight <= 100
        for text in (q.title, q.explanation, q.category, *q.tags):
            assert_plain(text)
        if q.kind == "truefalse":
            assert [o.text for o in q.options] == [TRUE_TEXT, FALSE_TEXT]
            assert sorted(o.weight for o in q.options) == [0, 100]
        elif q.kind == "multiple":
            assert sum(o.weight for o in q.options if o.weight > 0) == 100
        else:
            assert max(o.weight for o in q.options) > 0


def parse_or_refuse(data, name):
    """parsers.parse_file, or None when it refuses the file as a whole (with a message)."""
    try:
        result = parsers.parse_file(data, name)
    except parsers.ImportFileError as exc:
        assert str(exc).strip()
        event("file refused")
        return None
    event("read: " + ("with problems" if result.problems else "clean") + (", questions" if result.questions else ""))
    return result


# Text formats --------------------------------------------------------------------------------

@fuzz(200)
@given(file=text_files(GIFT), name=st.sampled_from(["cau-hoi.gift", "cau-hoi.txt"]))
def test_gift_files_never_crash_and_name_their_lines(vietnamese, file, name):
    if result := parse_or_refuse(file, name):
        assert_clean(result, last=lines_in(file))


@fuzz(200)
@example(file="\u200b\nA. Hà Nội\nB) Huế\nANSWER: A\n".encode())  # no question text once cleaned
@example(file="<\x00?>\nCâu hỏi?\nA. Có\nB. Không\nANSWER: A".encode())  # a tag once the NUL goes
@given(file=text_files(AIKEN))
def test_aiken_files_never_crash_and_name_their_lines(vietnamese, file):
    if result := parse_or_refuse(file, "cau-hoi.aiken"):
        assert_clean(result, last=lines_in(file))


@fuzz(300)
@example(text="<\u200bscript>alert(1)</script>", markup="plain", lines=True)  # a tag once the invisible goes
@example(text="<\x07b>x</b\ufeff>", markup="moodle", lines=False)
@example(text="&lt;&#8203;script&gt;alert(1)&lt;/script&gt;", markup="html", lines=True)  # decodes to one
@example(text="Câu <![ x", markup="moodle", lines=True)  # html.parser raised AssertionError
@example(text="<scr<script>ipt>alert(1)</script>", markup="plain", lines=True)
@given(text=st.one_of(st.lists(st.sampled_from(MARKUP), max_size=40), st.lists(PIECE, max_size=12)).map("".join),
       markup=st.sampled_from(["plain", "html", "moodle", "markdown"]), lines=st.booleans())
def test_clean_text_leaves_plain_nfc_text_without_tags(vietnamese, text, markup, lines):
    cleaned = parsers.clean_text(text, markup, lines)
    assert_plain(cleaned)
    assert lines or "\n" not in cleaned
    assert parsers.clean_text(cleaned, "plain", lines) == cleaned  # already clean: unchanged


# Tables --------------------------------------------------------------------------------------

@fuzz(150)
@given(file=table_files(TABLE_HEAD, TABLE_ROWS, ["cau-hoi", "ngan hang"]))
def test_question_tables_never_crash_and_name_their_rows(vietnamese, file):
    name, data, last = file
    if result := parse_or_refuse(data, name):
        assert_clean(result, last)


@fuzz(150)
@given(data=st.binary(max_size=2048), name=st.sampled_from(
    ["x.gift", "x.txt", "x.aiken", "x.csv", "x.xlsx", "x.xls", "x", "danh-sach.csv", "danh-sach.xlsx"]))
def test_random_bytes_are_refused_or_read_cleanly(vietnamese, data, name):
    if result := parse_or_refuse(data, name):
        assert_clean(result, last=lines_in(data))
    try:
        parsed = roster.parse_roster(data, name, TODAY, max_rows=100)
    except roster.RosterFileError as exc:
        assert str(exc).strip()
    else:
        assert_clean_roster(parsed, last=lines_in(data))


def assert_clean_roster(parsed, last):
    assert parsed.rows
    for row in parsed.rows:
        assert 1 <= row.number <= last
        for problem in row.problems:
            assert_names_a_line(problem, last)
        v = row.values
        for field in ("full_name", "unit", "position", "phone", "email", "username"):
            if v[field] is not None:
                assert_plain(v[field], may_be_empty=False, markup_removed=False)
                assert "  " not in v[field]
        assert v["gender"] in (None, "male", "female")
        assert v["birth_date"] is None or dt.date(1900, 1, 1) <= v["birth_date"] <= TODAY
        if not row.problems:
            assert v["full_name"] and v["unit"] and (v["birth_date"] or v["username"])


# Writing to the database: all or nothing -----------------------------------------------------

def roster_counts(sheets):
    return (User.select().count(), RosterImport.select().count(), AuditLog.select().count(),
            sorted(os.listdir(sheets)) if os.path.isdir(sheets) else [])


@pytest.fixture
def roster_db(tree, make_user, tmp_path, monkeypatch):
    """Units and a few accounts a roster may match; an organiser of one commune.

    Hashing each new password (argon2, ~40 ms) and rendering the credentials PDF (WeasyPrint)
    are replaced by stand-ins: they are not what these properties are about, and would take
    minutes over hundreds of examples.
    """
    monkeypatch.setattr(roster, "hash_password", lambda password: _PASSWORD_HASH)
    monkeypatch.setitem(credentials._RENDERERS, "pdf", lambda data: b"%PDF-1.4 stand-in")
    make_user(username="annv", full_name="Nguyễn Văn An", birth_date=dt.date(1985, 5, 17), unit=tree["CB1"])
    make_user(username="binhlv", full_name="Lê Văn Bình", birth_date=dt.date(1980, 3, 4), unit=tree["CB3"])
    make_user(username="quantri", full_name="Quản Trị", unit=tree["CB1"], role="admin")
    organiser = make_user(role="organiser", scope=tree["HN"], unit=tree["CB1"])
    return {"organiser": organiser, "sheets": str(tmp_path / "credentials")}


@fuzz(150)
@example(file=("ds.csv", "Họ và tên,Ngày sinh,Đơn vị (mã)\n\x08Lê Văn Tám\x1b,1/1/1980,CB1\n".encode(), 3),
         as_organiser=False)  # control characters in a name
@given(file=table_files(HEAD_USER, [r + [u] for r, u in zip(ROSTER_ROWS, ["", "lua.tt", "binhlv", "BeP"])],
                        ["danh-sach", "ds"]),
       as_organiser=st.booleans())
def test_roster_imports_write_everything_or_nothing(roster_db, file, as_organiser):
    name, data, last = file
    actor, sheets = (roster_db["organiser"] if as_organiser else None), roster_db["sheets"]
    before = roster_counts(sheets)
    try:
        parsed = roster.parse_roster(data, name, TODAY, max_rows=50)
    except roster.RosterFileError as exc:
        assert str(exc).strip() and roster_counts(sheets) == before
        event("file refused")
        return
    assert_clean_roster(parsed, last)
    try:
        result = roster.apply_import(parsed, actor, NOW, sheets, "Đảng bộ huyện Hòa Vang", "http://portal.test")
    except roster.ImportRejected as exc:
        assert roster_counts(sheets) == before
        assert exc.plan.rejected and exc.plan.problems
        for problem in exc.plan.problems:
            assert_names_a_line(problem, last)
        event("rows rejected: nothing written")
        return
    except DomainError as exc:  # another change to the same accounts at the same moment
        assert str(exc).strip() and roster_counts(sheets) == before
        event("refused: nothing written")
        return
    counts = result.plan.counts
    event("imported" + (", accounts created" if counts["create"] else ""))
    users, imports, audit, folders = roster_counts(sheets)
    assert (users, imports, audit) == (before[0] + counts["create"], before[1] + 1, before[2] + 1)
    assert len(folders) == len(before[3]) + (1 if counts["create"] else 0)
    again = roster.plan_import(roster.parse_roster(data, name, TODAY, max_rows=50), actor)
    assert again.counts["create"] == again.counts["update"] == 0, [(r.number, r.action) for r in again.rows]
    # The next example starts from the same accounts (updates to the existing ones stay).
    User.delete().where(User.id.in_([a.id for a in User.select().where(User.username.in_(
        [a["username"] for a in result.accounts]))])).execute()


@pytest.fixture
def topic(make_unit):
    return Topic.create(code="CD2025", title="Chuyên đề năm 2025", year=2025,
                        owner_unit=make_unit("HU", "Đảng bộ huyện Hòa Vang", "committee"))


def bank_counts():
    return Question.select().count(), Option.select().count(), AuditLog.select().count()


QUESTION_FILES = st.one_of(
    text_files(GIFT).map(lambda data: ("cau-hoi.gift", data)),
    text_files(AIKEN).map(lambda data: ("cau-hoi.aiken", data)),
    table_files(TABLE_HEAD, TABLE_ROWS, ["cau-hoi"]).map(lambda file: file[:2]),
)


@fuzz(150)
@given(file=QUESTION_FILES)
def test_question_imports_write_everything_or_nothing(topic, file):
    name, data = file
    before = bank_counts()
    parsed = parse_or_refuse(data, name)
    if parsed is None:
        assert bank_counts() == before
        return
    try:
        result = bank.apply_import(topic, parsed, None, filename=name)
    except bank.ImportRejected as exc:
        assert bank_counts() == before
        assert exc.plan.rejected
        for problem in exc.plan.problems:
            assert NAMES_ITS_LINE.match(problem), problem
        event("questions rejected: nothing written")
        return
    created = [row for row in result.plan.rows if row.action == "create"]
    event("imported" + (", questions created" if created else ""))
    questions, options, audit = bank_counts()
    assert questions == before[0] + result.created == before[0] + len(created)
    assert options == before[1] + sum(len(row.data.options) for row in created)
    assert audit == before[2] + (1 if created else 0)
    assert bank.preview_import(topic, parsed).counts["create"] == 0  # a second import adds nothing
    # The next example starts from an empty bank.
    Option.delete().where(Option.question.in_(Question.select(Question.id))).execute()
    Question.delete().execute()
