"""Results sheets of a round and of a contest: XLSX, CSV and a printable PDF.

The sheets are read from the materialised rankings (``RoundEntry``,
``ContestEntry``) joined to the people, their units and the prizes awarded,
in rank order, and written row by row: the XLSX with XlsxWriter in
constant-memory mode (each row goes to a temporary file as soon as it is
written), the CSV as a generator of chunks for a streamed response. On
PostgreSQL the rows come through a server-side cursor, so a round of 100,000
contestants never sits in memory. The "Đơn vị" sheet takes its numbers from
``stats`` (per unit, rolled up through the tree), read as ranked.

The documents are official Vietnamese papers with a fixed layout and fixed
column names (named in issue 4), like the roster template: their texts are
Vietnamese literals here, not interface messages.

No text a person typed becomes a formula: XLSX cells are written with
``write_string`` (never ``write``), text starting with ``= + - @``, a tab or
a carriage return also gets Excel's own "text" marker (quote prefix: the
apostrophe is not part of the value, and editing the cell keeps it text);
CSV fields are escaped as OWASP recommends (``documents.safe_cell``'s
apostrophe, and every text field quoted).
"""

import collections
import csv
import dataclasses
import datetime as dt
import io
import tempfile
import uuid
from zoneinfo import ZoneInfo

import peewee as pw
import xlsxwriter

from .. import documents
from ..formatting import date_line, place_name
from ..accounts.models import Unit, User
from ..db import database
from . import ranking, stats
from .models import Award, ContestEntry, PrizeTier, Registration, Round, RoundEntry

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
FORMATS = ("xlsx", "csv", "pdf")
MIMETYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "pdf": "application/pdf",
}
PDF_TOP = 100  # a PDF lists the prize winners and this many first ranks; the XLSX and CSV list everyone
FETCH_SIZE = 2000  # rows per round trip of a server-side cursor

NO_ENTRANTS = "Chưa có người dự thi"
TIED = "đồng hạng"
RULE_TEXT = {
    "score": "điểm cao hơn",
    "prediction": "dự đoán gần đúng hơn",
    "time": "thời gian làm bài ngắn hơn",
    "submitted": "nộp bài sớm hơn",
}


# -- the rows --------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Column:
    header: str
    width: float
    kind: str  # int, text, date, number, duration, rank, datetime
    index: int  # position in a Person tuple


# One line of a ranking, plain values (a round's or, with total/rounds, the contest's).
Person = collections.namedtuple("Person", "no full_name birth_date unit parent_unit score time_used_ms prediction "
                                          "attempts rank tied prize finished_at max_score")
_F = {name: i for i, name in enumerate(Person._fields)}

ROUND_COLUMNS = [
    Column("STT", 6, "int", _F["no"]),
    Column("Họ và tên", 28, "text", _F["full_name"]),
    Column("Ngày sinh", 12, "date", _F["birth_date"]),
    Column("Đơn vị", 30, "text", _F["unit"]),
    Column("Đơn vị cấp trên", 28, "text", _F["parent_unit"]),
    Column("Điểm", 8, "number", _F["score"]),
    Column("Thời gian làm bài", 12, "duration", _F["time_used_ms"]),
    Column("Dự đoán", 10, "int", _F["prediction"]),
    Column("Lần thi", 8, "int", _F["attempts"]),
    Column("Xếp hạng", 17, "rank", _F["rank"]),
    Column("Giải", 16, "text", _F["prize"]),
    Column("Nộp bài lúc", 19, "datetime", _F["finished_at"]),
]


def contest_columns(contest):
    """The contest-wide columns: the rounds' total (or average), time and count instead of one attempt's."""
    total = "Điểm trung bình" if contest.aggregate == "average" else "Tổng điểm"
    return [
        *ROUND_COLUMNS[:5],
        Column(total, 10, "number", _F["score"]),
        Column("Tổng thời gian làm bài", 13, "duration", _F["time_used_ms"]),
        Column("Số vòng dự thi", 9, "int", _F["attempts"]),
        Column("Xếp hạng", 17, "rank", _F["rank"]),
        Column("Giải", 16, "text", _F["prize"]),
        Column("Nộp bài lần cuối", 19, "datetime", _F["finished_at"]),
    ]


def _local(value, tz):
    """A stored UTC time as naive local time (Excel has no time zones)."""
    if value is None:
        return None
    return value.replace(tzinfo=dt.timezone.utc).astimezone(tz).replace(tzinfo=None)


def _local_converter(tz):
    """``_local`` for many times close together: the offset is looked up once per UTC hour."""
    offsets = {}

    def to_local(value):
        if value is None:
            return None
        hour = value.replace(minute=0, second=0, microsecond=0)
        offset = offsets.get(hour)
        if offset is None:
            offset = offsets[hour] = _local(hour, tz) - hour
        return value + offset

    return to_local


def _stream(query):
    """The rows of ``query`` as plain tuples straight from the driver, read in batches rather than all at once.

    SQLite's cursor steps through the result (dates and times come as ISO
    text: ``_people`` parses them); psycopg2's ordinary cursor would fetch the
    whole result, so PostgreSQL reads through a named (server-side) cursor.
    Peewee's row conversion is skipped: it costs more than writing the sheet.
    """
    if not isinstance(database.obj, pw.PostgresqlDatabase):
        cursor = database.execute(query)
        try:
            yield from cursor
        finally:
            cursor.close()
        return
    sql, params = query.sql()
    # WITH HOLD: peewee's connections run in autocommit, where psycopg2 allows only holdable named cursors.
    cursor = database.connection().cursor(name=f"export_{uuid.uuid4().hex}", withhold=True)
    cursor.itersize = FETCH_SIZE
    try:
        cursor.execute(sql, params)
        yield from cursor
    finally:
        cursor.close()


def _date(value):
    return dt.date.fromisoformat(value[:10]) if isinstance(value, str) else value


def _datetime(value):
    return dt.datetime.fromisoformat(value) if isinstance(value, str) else value


def _has_registrations(contest):
    return Registration.select().where(Registration.contest == contest.id).exists()


def _people_query(entry_model, owner_field, owner_id, contest, extra_where=None):
    """Entries with name, birth date, unit and parent unit (and the registration's, for public contests)."""
    e = entry_model
    parent = Unit.alias("parent_unit")
    is_round = entry_model is RoundEntry
    columns = [e.rank, e.tied, User.full_name, User.birth_date, Unit.name, parent.name,
               e.score if is_round else e.total, e.max_score if is_round else pw.Value(None),
               e.time_used_ms, e.prediction if is_round else pw.Value(None),
               e.attempts if is_round else e.rounds, e.finished_at if is_round else e.last_finished_at, e.user]
    query = (e.select(*columns)
             .join(User, on=(e.user == User.id))
             .switch(e).join(Unit, pw.JOIN.LEFT_OUTER, on=(e.unit == Unit.id))
             .join(parent, pw.JOIN.LEFT_OUTER, on=(Unit.parent == parent.id)))
    with_registrations = _has_registrations(contest)
    if with_registrations:
        reg = Registration.alias("reg")
        query = (query.switch(e).join(reg, pw.JOIN.LEFT_OUTER,
                                      on=(reg.contest == contest.id) & (reg.user == e.user))
                 .select_extend(reg.birth_date, reg.other_unit))
    query = query.where(owner_field == owner_id)
    if extra_where is not None:
        query = query.where(extra_where)
    return query.order_by(e.rank, User.full_name, e.id), with_registrations


def _prizes(contest_id, round_id):
    """{user id: prize name} of a round (or of the contest when ``round_id`` is None): few rows."""
    query = (Award.select(Award.user, PrizeTier.name)
             .join(PrizeTier, on=(Award.tier == PrizeTier.id))
             .where(Award.contest == contest_id, Award.user.is_null(False),
                    Award.round.is_null() if round_id is None else Award.round == round_id)
             .order_by(PrizeTier.position.desc()))  # the highest prize last, so it wins in the dict
    return {user_id: name for user_id, name in query.tuples()}


def _people(query, with_registrations, prizes, tz):
    to_local = _local_converter(tz)
    for no, row in enumerate(_stream(query), start=1):
        (rank, tied, full_name, birth_date, unit, parent_unit, score, max_score, time_used_ms, prediction,
         attempts, finished_at, user_id) = row[:13]
        if with_registrations:
            birth_date = birth_date or row[13]
            unit = unit or row[14] or None  # a registrant's "other" unit, as they wrote it
        yield Person(no, full_name, _date(birth_date), unit, parent_unit, score, time_used_ms, prediction, attempts,
                     rank, bool(tied), prizes.get(user_id), to_local(_datetime(finished_at)), max_score)


def round_people(round_, tz=TZ, extra_where=None):
    """The round's ranking as Person tuples, in rank order (then by name), streamed."""
    contest = round_.contest
    query, with_registrations = _people_query(RoundEntry, RoundEntry.round, round_.id, contest, extra_where)
    return _people(query, with_registrations, _prizes(contest.id, round_.id), tz)


def contest_people(contest, tz=TZ, extra_where=None):
    """The contest-wide ranking as Person tuples, streamed."""
    query, with_registrations = _people_query(ContestEntry, ContestEntry.contest, contest.id, contest, extra_where)
    return _people(query, with_registrations, _prizes(contest.id, None), tz)


# -- the units -------------------------------------------------------------------------------------

OTHER_UNITS = "Khác (không thuộc cây đơn vị)"


@dataclasses.dataclass
class UnitLine:
    name: str
    depth: int = 0
    declared: int = 0
    participants: int = 0
    rate: float = None  # None when the unit declared no member (never a division by zero)
    attempts: int = 0
    average: float = None  # percent of the maximum score
    prizes: list = dataclasses.field(default_factory=list)  # counts, in the order of UnitSheet.tiers
    collective: str = ""


@dataclasses.dataclass
class UnitSheet:
    tiers: list  # names of the individual prize tiers
    lines: list
    total: UnitLine
    has_collective: bool = False


def _unit_sheet(stats, tier_rows, prize_rows, collective_rows):
    """The unit lines from ``stats`` (portal.contests.stats: per unit, rolled up through the tree) and
    prizes won per tier, rolled up the same way: ``prize_rows`` [(unit id, tier id, count)];
    ``collective_rows`` [(unit id, tier name)], the unit's own collective prizes."""
    column = {tier_id: i for i, (tier_id, _name) in enumerate(tier_rows)}
    counts = {row.unit_id: [0] * len(tier_rows) for row in stats.rows}
    other = [0] * len(tier_rows)
    by_id = stats.by_id
    for unit_id, tier_id, n in prize_rows:
        if tier_id not in column:
            continue
        row = by_id.get(unit_id)
        for target in ([counts[a] for a in row.chain] if row is not None else [other]):
            target[column[tier_id]] += n
    collective = {}
    for unit_id, name in collective_rows:
        collective.setdefault(unit_id, []).append(name)

    def line(row, name, prizes):
        return UnitLine(name, row.depth, row.declared, row.participants, row.rate, row.attempts, row.average,
                        prizes, ", ".join(collective.get(row.unit_id, [])) if row.unit_id else "")

    lines = [line(row, row.name, counts[row.unit_id]) for row in stats.rows]
    if stats.other.participants or stats.other.attempts:
        lines.append(line(stats.other, OTHER_UNITS, other))
    totals = [sum(counts[r.unit_id][i] for r in stats.roots) + other[i] for i in range(len(tier_rows))]
    return UnitSheet([name for _id, name in tier_rows], lines, line(stats.total, "Tổng cộng", totals),
                     bool(collective_rows))


def _individual_tiers(contest, round_id):
    return list(PrizeTier.select(PrizeTier.id, PrizeTier.name)
                .where(PrizeTier.contest == contest.id, PrizeTier.collective == False,  # noqa: E712
                       PrizeTier.round.is_null() if round_id is None else PrizeTier.round == round_id)
                .order_by(PrizeTier.position).tuples())


def _collective_awards(contest, round_id):
    return list(Award.select(Award.unit, PrizeTier.name).join(PrizeTier)
                .where(Award.contest == contest.id, Award.unit.is_null(False),
                       Award.round.is_null() if round_id is None else Award.round == round_id)
                .order_by(PrizeTier.position).tuples())


def round_units(round_, now):
    """Per unit of the contest's tree, rolled up (``stats.round_stats``, read as ranked: no refresh), with
    the round's prizes per tier in the contestant's unit at the time of the attempt (one GROUP BY)."""
    e = RoundEntry
    prize_rows = (Award.select(e.unit, Award.tier, pw.fn.COUNT(Award.id))
                  .join(e, on=(e.round == Award.round) & (e.user == Award.user))
                  .where(Award.round == round_.id, Award.user.is_null(False), Award.tier.is_null(False))
                  .group_by(e.unit, Award.tier).tuples())
    return _unit_sheet(stats.round_stats(round_, now, refresh_after=None),
                       _individual_tiers(round_.contest, round_.id), list(prize_rows),
                       _collective_awards(round_.contest, round_.id))


def contest_units(contest, now):
    """Per unit over the whole contest (``stats.contest_stats``, no refresh), with the contest-wide prizes."""
    c = ContestEntry
    prize_rows = (Award.select(c.unit, Award.tier, pw.fn.COUNT(Award.id))
                  .join(c, on=(c.contest == Award.contest) & (c.user == Award.user))
                  .where(Award.contest == contest.id, Award.round.is_null(), Award.user.is_null(False),
                         Award.tier.is_null(False))
                  .group_by(c.unit, Award.tier).tuples())
    return _unit_sheet(stats.contest_stats(contest, now, refresh_after=None), _individual_tiers(contest, None),
                       list(prize_rows), _collective_awards(contest, None))


# -- what stands above and below a table -----------------------------------------------------------

@dataclasses.dataclass
class Heading:
    """The texts around a results table, shared by the three formats."""

    superior: str  # the organising unit (the committee that set up the organising board)
    title: str  # KẾT QUẢ VÒNG 1
    contest_title: str
    lines: list  # the window, the status, the counts
    notes: list  # how the ranking was made
    participants: int
    place: str
    now: dt.datetime  # local time


def _n(value, digits=2):
    """A number the Vietnamese way: 40.000; 9,5."""
    if value is None:
        return ""
    if float(value).is_integer():
        return f"{int(value):,}".replace(",", ".")
    text = f"{value:,.{digits}f}".rstrip("0").rstrip(".")
    return text.replace(",", " ").replace(".", ",").replace(" ", ".")


def _when(value, tz):
    local = _local(value, tz)
    return f"{local:%H:%M} ngày {local:%d/%m/%Y}" if local else ""


def _window(starts_at, ends_at, tz, label):
    if starts_at and ends_at:
        return f"{label}: từ {_when(starts_at, tz)} đến {_when(ends_at, tz)}."
    if starts_at:
        return f"{label}: từ {_when(starts_at, tz)}."
    if ends_at:
        return f"{label}: đến {_when(ends_at, tz)}."
    return None


def round_heading(round_, now, tz=TZ):
    contest, quiz = round_.contest, round_.quiz
    e = RoundEntry
    perfect = pw.Case(None, [((e.max_score > 0) & (e.score >= e.max_score), 1)], 0)
    participants, attempts, perfects, top_score, ties = (
        e.select(pw.fn.COUNT(e.id), pw.fn.SUM(e.attempts), pw.fn.SUM(perfect), pw.fn.MAX(e.max_score),
                 pw.fn.SUM(pw.Case(None, [(e.tied == True, 1)], 0)))  # noqa: E712
        .where(e.round == round_.id).tuples().get())
    title = f"Vòng {round_.number}" + (f": {quiz.title}" if quiz.title.strip() != f"Vòng {round_.number}" else "")
    lines = [title, _window(quiz.opens_at, quiz.closes_at, tz, "Thời gian thi")]
    if round_.confirmed_at:
        lines.append(f"Kết quả đã được Ban Tổ chức xác nhận lúc {_when(round_.confirmed_at, tz)}.")
    else:
        lines.append("Kết quả tạm thời: Ban Tổ chức chưa xác nhận.")
    if participants:
        summary = f"Số người dự thi: {_n(participants)}; số lượt thi: {_n(attempts or 0)}"
        if top_score:
            summary += f"; số người đạt điểm tối đa ({_n(top_score)} điểm): {_n(perfects or 0)}"
        lines.append(summary + ".")
    rules = [k for k in ranking.clean_rules(contest.ranking_rules) if k != "prediction" or round_.prediction]
    notes = ["Thứ tự xếp hạng: " + "; ".join(RULE_TEXT[k] for k in rules) + "."]
    if round_.prediction and round_.prediction_truth is not None:
        asked = "số người trả lời đúng tất cả các câu hỏi" if round_.prediction == "perfect" \
            else "số người tham gia dự thi"
        notes.append(f"Đáp án câu hỏi dự đoán ({asked}): {_n(round_.prediction_truth)}.")
    if ties:
        notes.append(f"Những người cùng thứ hạng (ghi \"{TIED}\") bằng nhau trên mọi tiêu chí xếp hạng; "
                     "Ban Tổ chức xem xét, quyết định.")
    return Heading(contest.owner_unit.name, f"KẾT QUẢ VÒNG {round_.number}", contest.title,
                   [line for line in lines if line], notes, participants or 0, place_name(contest.owner_unit),
                   _local(now, tz))


def contest_heading(contest, now, tz=TZ):
    c = ContestEntry
    participants, ties = (c.select(pw.fn.COUNT(c.id), pw.fn.SUM(pw.Case(None, [(c.tied == True, 1)], 0)))  # noqa: E712
                          .where(c.contest == contest.id).tuples().get())
    rounds = Round.select().where(Round.contest == contest.id).count()
    lines = [_window(contest.starts_at, contest.ends_at, tz, "Thời gian")]
    if contest.results_published_at:
        lines.append(f"Kết quả đã được công bố lúc {_when(contest.results_published_at, tz)}.")
    else:
        lines.append("Kết quả tạm thời: Ban Tổ chức chưa công bố.")
    if participants:
        lines.append(f"Số người dự thi: {_n(participants)}; số vòng thi: {_n(rounds)}.")
    total = "trung bình cộng điểm các vòng" if contest.aggregate == "average" else "tổng điểm các vòng"
    notes = [f"Điểm toàn hội thi là {total} đã dự thi. Thứ tự xếp hạng: điểm cao hơn; tổng thời gian làm bài "
             "ngắn hơn; nộp bài lần cuối sớm hơn."]
    if ties:
        notes.append(f"Những người cùng thứ hạng (ghi \"{TIED}\") bằng nhau trên mọi tiêu chí xếp hạng; "
                     "Ban Tổ chức xem xét, quyết định.")
    return Heading(contest.owner_unit.name, "KẾT QUẢ HỘI THI", contest.title, [line for line in lines if line],
                   notes, participants or 0, place_name(contest.owner_unit), _local(now, tz))


# -- XLSX ------------------------------------------------------------------------------------------

UNIT_COLUMNS = [("Đơn vị", 40), ("Số đảng viên", 10), ("Số người dự thi", 10), ("Tỷ lệ %", 9), ("Lượt thi", 9),
                ("Điểm TB (%)", 9)]


def _risky(text):
    return text.startswith(documents.FORMULA_PREFIXES)


class _Book:
    """An XlsxWriter workbook in constant-memory mode, with the formats the sheets share."""

    def __init__(self, out, heading):
        self.wb = xlsxwriter.Workbook(out, {
            "constant_memory": True,  # each row is flushed to a temporary file once the next one starts
            "tmpdir": tempfile.gettempdir(),
            "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False,
        })
        self.wb.set_properties({"title": f"{heading.title} — {heading.contest_title}", "author": heading.superior,
                                "company": heading.superior, "created": dt.datetime.now(dt.timezone.utc)})
        border = {"border": 1, "border_color": "#9E9E9E", "valign": "vcenter", "font_name": "Times New Roman",
                  "font_size": 11}
        self._properties = {}  # format -> what it was made of, for its quote-prefixed twin
        self._quoted = {}
        add = self.add
        self.title = add({"bold": True, "font_size": 14, "font_name": "Times New Roman"})
        self.subtitle = add({"bold": True, "font_size": 12, "font_name": "Times New Roman"})
        self.line = add({"font_name": "Times New Roman", "font_size": 11})
        self.note = add({"italic": True, "font_name": "Times New Roman", "font_size": 10})
        self.header = add({**border, "bold": True, "bg_color": "#F1E4C3", "text_wrap": True, "align": "center"})
        self.text = add(border)
        self.int = add({**border, "num_format": "0"})
        self.number = add({**border, "num_format": "General"})
        self.date = add({**border, "num_format": "dd/mm/yyyy", "align": "center"})
        self.datetime = add({**border, "num_format": "hh:mm:ss dd/mm/yyyy", "align": "center"})
        self.duration = add({**border, "num_format": "[h]:mm:ss", "align": "center"})
        self.rank = add({**border, "num_format": "0", "align": "center"})
        self.tied = add({**border, "num_format": f'0" ({TIED})"', "align": "center", "bg_color": "#FFF4D6"})
        self.percent = add({**border, "num_format": "0.0%"})
        self.average = add({**border, "num_format": "0.0"})
        self.empty = add({**border, "italic": True, "align": "center"})
        bold = {**border, "bold": True}
        self.total_text = add(bold)
        self.total_int = add({**bold, "num_format": "0"})
        self.total_percent = add({**bold, "num_format": "0.0%"})
        self.total_average = add({**bold, "num_format": "0.0"})
        self._border = border
        self._indented = {0: self.text}

    def add(self, properties):
        fmt = self.wb.add_format(properties)
        self._properties[fmt] = properties
        return fmt

    def indented(self, depth):
        """A bordered text format indented ``depth`` levels (a unit below its committee)."""
        if depth not in self._indented:
            self._indented[depth] = self.add({**self._border, "indent": depth})
        return self._indented[depth]

    def string(self, ws, row, col, text, fmt=None):
        """User text: always a string cell; a formula-like one also marked as text (Excel's quote prefix)."""
        fmt = fmt or self.text
        if _risky(text):
            if fmt not in self._quoted:
                self._quoted[fmt] = self.wb.add_format({**self._properties[fmt], "quote_prefix": True})
            fmt = self._quoted[fmt]
        ws.write_string(row, col, text, fmt)

    def close(self):
        self.wb.close()


def _sheet(book, name, heading, widths, lines=None):
    """A worksheet with the heading above its table; returns (worksheet, the header row)."""
    ws = book.wb.add_worksheet(name)
    for col, width in enumerate(widths):
        ws.set_column(col, col, width)
    row = 0
    ws.write_string(row, 0, heading.title, book.title)
    row += 1
    book.string(ws, row, 0, heading.contest_title, book.subtitle)
    row += 1
    for line in (heading.lines if lines is None else lines):
        book.string(ws, row, 0, line, book.line)
        row += 1
    header_row = row + 1
    ws.freeze_panes(header_row + 1, 0)  # the heading and the header row stay in view
    ws.repeat_rows(header_row)
    ws.set_landscape()
    ws.set_paper(9)  # A4
    ws.fit_to_pages(1, 0)
    ws.set_margins(left=0.5, right=0.4, top=0.6, bottom=0.6)
    ws.set_footer("&CTrang &P/&N")
    return ws, header_row


def _people_sheet(book, name, heading, columns, people, lines=None):
    """The ranking, one row per person, written as it is read; returns the number of rows."""
    ws, header_row = _sheet(book, name, heading, [c.width for c in columns], lines)
    last_col = len(columns) - 1
    for col, column in enumerate(columns):
        ws.write_string(header_row, col, column.header, book.header)
    ws.set_row(header_row, 32)
    row = header_row
    for person in people:
        row += 1
        for col, column in enumerate(columns):
            value = person[column.index]
            kind = column.kind
            if value is None or value == "":
                ws.write_blank(row, col, None, book.text)
            elif kind == "text":
                book.string(ws, row, col, value)
            elif kind == "int":
                ws.write_number(row, col, value, book.int)
            elif kind == "number":
                ws.write_number(row, col, value, book.number)
            elif kind == "rank":
                ws.write_number(row, col, value, book.tied if person[_F["tied"]] else book.rank)
            elif kind == "duration":
                ws.write_number(row, col, value / 86_400_000, book.duration)
            elif kind == "date":
                ws.write_datetime(row, col, value, book.date)
            else:  # datetime
                ws.write_datetime(row, col, value, book.datetime)
    count = row - header_row
    if not count:
        row += 1
        ws.merge_range(row, 0, row, last_col, NO_ENTRANTS, book.empty)
    ws.autofilter(header_row, 0, max(row, header_row + 1), last_col)
    row += 1
    for note in heading.notes if count else []:
        row += 1
        ws.write_string(row, 0, note, book.note)
    return count


def _units_sheet(book, name, heading, sheet):
    headers = UNIT_COLUMNS + [(tier, 10) for tier in sheet.tiers] + ([("Giải tập thể", 16)]
                                                                     if sheet.has_collective else [])
    ws, header_row = _sheet(book, name, heading, [w for _h, w in headers])
    for col, (header, _width) in enumerate(headers):
        ws.write_string(header_row, col, header, book.header)
    ws.set_row(header_row, 32)
    row = header_row
    if not sheet.total.participants:
        row += 1
        ws.merge_range(row, 0, row, len(headers) - 1, NO_ENTRANTS, book.empty)
        return 0
    for line in [*sheet.lines, sheet.total]:
        row += 1
        total = line is sheet.total
        book.string(ws, row, 0, line.name, book.total_text if total else book.indented(line.depth))
        cells = [(line.declared, book.total_int if total else book.int),
                 (line.participants, book.total_int if total else book.int),
                 (line.rate, book.total_percent if total else book.percent),
                 (line.attempts, book.total_int if total else book.int),
                 (line.average, book.total_average if total else book.average),
                 *[(count, book.total_int if total else book.int) for count in line.prizes]]
        for col, (value, fmt) in enumerate(cells, start=1):
            if value is None:
                ws.write_blank(row, col, None, fmt)
            else:
                ws.write_number(row, col, value, fmt)
        if sheet.has_collective:
            if line.collective:
                book.string(ws, row, len(cells) + 1, line.collective)
            else:
                ws.write_blank(row, len(cells) + 1, None, book.total_text if total else book.text)
    ws.autofilter(header_row, 0, row - 1, len(headers) - 1)  # the total row stays below the filter
    row += 2
    for note in ("Số liệu của mỗi đảng bộ gồm cả các đơn vị trực thuộc. Người dự thi được tính ở đơn vị nơi "
                 "sinh hoạt khi làm bài.",
                 "Tỷ lệ %: số người dự thi ÷ số đảng viên (để trống khi chưa khai báo số đảng viên). "
                 "Điểm TB (%): điểm trung bình, tính theo phần trăm điểm tối đa."):
        ws.write_string(row, 0, note, book.note)
        row += 1
    return len(sheet.lines)


def write_round_xlsx(round_, out, now, tz=TZ):
    """Write the round's results workbook (sheets "Cá nhân" and "Đơn vị") to ``out`` (a path or binary file)."""
    heading = round_heading(round_, now, tz)
    book = _Book(out, heading)
    try:
        count = _people_sheet(book, "Cá nhân", heading, ROUND_COLUMNS, round_people(round_, tz))
        _units_sheet(book, "Đơn vị", heading, round_units(round_, now))
    finally:
        book.close()
    return count


def write_contest_xlsx(contest, out, now, tz=TZ):
    """Write the contest's workbook: the contest-wide ranking and units, then a sheet per round."""
    heading = contest_heading(contest, now, tz)
    book = _Book(out, heading)
    try:
        count = _people_sheet(book, "Cá nhân", heading, contest_columns(contest), contest_people(contest, tz))
        _units_sheet(book, "Đơn vị", heading, contest_units(contest, now))
        for round_ in Round.select().where(Round.contest == contest.id).order_by(Round.number):
            round_.contest = contest
            _people_sheet(book, f"Vòng {round_.number}", round_heading(round_, now, tz), ROUND_COLUMNS,
                          round_people(round_, tz))
    finally:
        book.close()
    return count


# -- CSV -------------------------------------------------------------------------------------------

def _csv_value(value, kind):
    if value is None or value == "":
        return ""
    if kind == "text":
        return documents.safe_cell(value)
    if kind == "number":
        return int(value) if float(value).is_integer() else value
    if kind == "duration":
        seconds = round(value / 1000)
        return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    if kind == "date":
        return f"{value:%d/%m/%Y}"
    if kind == "datetime":
        return f"{value:%d/%m/%Y %H:%M:%S}"
    return value


def csv_chunks(columns, people, batch=500):
    """UTF-8 CSV with a BOM (Excel then reads the accents), ``batch`` rows per chunk.

    OWASP's advice against formula injection: a text field starting with
    ``= + - @``, a tab or a carriage return gets a leading apostrophe, and
    every text field is quoted (numbers are not: they stay numbers).
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writerow([c.header for c in columns])
    specs = [(c.index, c.kind) for c in columns]
    for i, person in enumerate(people, start=1):
        writer.writerow([_csv_value(person[index], kind) for index, kind in specs])
        if i % batch == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def round_csv(round_, tz=TZ):
    return csv_chunks(ROUND_COLUMNS, round_people(round_, tz))


def contest_csv(contest, tz=TZ):
    return csv_chunks(contest_columns(contest), contest_people(contest, tz))


# -- PDF -------------------------------------------------------------------------------------------

def _winner_ids(contest_id, round_id):
    query = Award.select(Award.user).where(Award.contest == contest_id, Award.user.is_null(False),
                                           Award.tier.is_null(False),  # a withdrawal is no prize
                                           Award.round.is_null() if round_id is None else Award.round == round_id)
    return [user_id for (user_id,) in query.tuples()]


def _score_text(person, with_max):
    score = _n(person.score)
    return f"{score}/{_n(person.max_score)}" if with_max and person.max_score else score


def _duration_text(ms):
    if ms is None:
        return ""
    seconds = round(ms / 1000)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def pdf_data(target, now, tz=TZ, top=PDF_TOP):
    """The primitives of the printable sheet: the heading, the first ``top`` ranks and every prize winner."""
    is_round = isinstance(target, Round)
    contest = target.contest if is_round else target
    heading = round_heading(target, now, tz) if is_round else contest_heading(target, now, tz)
    entry = RoundEntry if is_round else ContestEntry
    winners = _winner_ids(contest.id, target.id if is_round else None)
    wanted = entry.rank <= top
    if winners:
        wanted |= entry.user.in_(winners)
    people = round_people(target, tz, wanted) if is_round else contest_people(target, tz, wanted)
    with_prediction = bool(is_round and target.prediction)
    rows = []
    for person in people:
        if len(rows) >= top + len(winners):  # a tie for first place in a huge round must not make a huge PDF
            people.close()
            break
        rows.append({
            "no": person.no, "full_name": person.full_name,
            "birth_date": f"{person.birth_date:%d/%m/%Y}" if person.birth_date else "",
            "unit": person.unit or "", "parent_unit": person.parent_unit or "",
            "score": _score_text(person, is_round), "time": _duration_text(person.time_used_ms),
            "prediction": _n(person.prediction), "rounds": _n(person.attempts),
            "rank": person.rank, "tied": person.tied, "prize": person.prize or "",
        })
    listed = len(rows)
    note = None
    if listed < heading.participants:
        note = (f"Danh sách gồm {_n(listed)} người: những người đạt giải và những người xếp hạng cao nhất "
                f"(đến hạng {_n(top)}), trong tổng số {_n(heading.participants)} người dự thi. Danh sách đầy "
                "đủ có trong tệp Excel (XLSX) hoặc CSV kèm theo.")
    return {
        "superior": heading.superior.upper(),
        "issuer": "BAN TỔ CHỨC HỘI THI",
        "title": heading.title,
        "contest_title": heading.contest_title,
        "lines": heading.lines,
        "notes": heading.notes,
        "rows": rows,
        "empty": NO_ENTRANTS if not rows else "",
        "note": note,
        "is_round": is_round,
        "with_prediction": with_prediction,
        "score_header": "Điểm" if is_round else contest_columns(contest)[5].header,
        "tied_label": TIED,
        "date_line": date_line(heading.place, heading.now),
        "signer_for": "T/M BAN TỔ CHỨC",
        "signer_title": "TRƯỞNG BAN",
        "author": heading.superior,
    }


def render_pdf(data):
    """The printable sheet as PDF bytes (A4, the bundled Noto Serif fonts)."""
    from flask import render_template

    return documents.render_pdf(render_template("contests/results_sheet.html", **data))


# -- what views and the command line call ----------------------------------------------------------

def download_name(target, fmt):
    """A file name without diacritics: ket-qua-vong-1.xlsx, ket-qua-hoi-thi-3.pdf."""
    if isinstance(target, Round):
        return f"ket-qua-vong-{target.number}.{fmt}"
    return f"ket-qua-hoi-thi-{target.id}.{fmt}"


def write_xlsx(target, out, now, tz=TZ):
    return (write_round_xlsx if isinstance(target, Round) else write_contest_xlsx)(target, out, now, tz)


def csv_stream(target, tz=TZ):
    return round_csv(target, tz) if isinstance(target, Round) else contest_csv(target, tz)


def pdf_bytes(target, now, tz=TZ, top=PDF_TOP):
    return render_pdf(pdf_data(target, now, tz, top))


def write(target, fmt, out, now, tz=TZ):
    """Write the results of a Round or a Contest in ``fmt`` to the binary file ``out``."""
    if fmt == "xlsx":
        write_xlsx(target, out, now, tz)
    elif fmt == "csv":
        for chunk in csv_stream(target, tz):
            out.write(chunk)
    elif fmt == "pdf":
        out.write(pdf_bytes(target, now, tz))
    else:
        raise ValueError(f"unknown format {fmt!r}")

