"""Question banks in and out of files: GIFT (Moodle), Aiken, and CSV / XLSX tables.

Pure functions, no database: each reader returns a ParseResult holding the
questions it understood, the ``problems`` (each rejects one whole question and
names its line or row, in Vietnamese) and, for GIFT, the ``unsupported``
questions (kinds the bank does not hold, listed by line with the reason).
``bank.py`` writes the result into a topic.

Text
    Everything is stored as plain text, NFC-normalised, with single spaces inside
    lines, at most one empty line in a row, and no leading or trailing blanks.
    Markup is never kept: HTML tags are removed (the contents of <script> and
    <style> are dropped with them, since they are code, not text for the
    reader); ``&amp;``-style entities are decoded where the source is HTML
    (GIFT's default "moodle" format and [html] / [markdown]); anything still
    looking like a tag afterwards (from ``&lt;b&gt;``) is removed too. A
    ``javascript:`` address is kept as ordinary characters: the portal shows
    question text escaped and never turns it into a link, so it stays inert.

GIFT, as Moodle reads it (question/format/gift/format.php)
    Questions are separated by blank lines; lines starting with ``//`` are
    comments. ``::title::``, one answer block ``{…}``, ``####general feedback``
    (the explanation) and ``#feedback`` per option; ``[html]``, ``[moodle]``,
    ``[markdown]`` and ``[plain]`` before a text set its format (all end up plain
    text). Escapes: ``\\~ \\= \\# \\{ \\} \\: \\\\`` and ``\\n`` (a new line).
    ``$CATEGORY: a/b`` sets the category of the questions after it (shown in the
    preview; the questions go into the topic chosen for the import).
    Kinds are told apart exactly as Moodle does:

    - ``~`` in the block: a choice question. With an ``=`` option it is single
      choice (the ``=`` option is right; other options may carry partial credit
      such as ``~%50%``, as in Moodle); without one it is multiple choice, graded
      by the ``~%n%`` weights, which for the right options must add up to 100
      (negative weights are penalties). Text after the block makes a missing-word
      question: the block becomes a blank, "Grant is _____ in Grant's tomb.".
    - ``{T}``, ``{F}``, ``{TRUE}``, ``{FALSE}`` (any case): true/false; the first
      ``#`` feedback is shown for the wrong answer, a second one for the right one.
    - Not imported, listed with their line: short answer (only ``=`` answers),
      numerical (``{#…}``), matching (``=a -> b``), essay (``{}``) and
      description (no block).

    Moodle's comment tokens ``[tag:…]`` before a question give its tags; the
    portal also writes and reads ``[difficulty:1|2|3]`` and
    ``[grading:all-or-nothing]`` there (Moodle ignores them), so a bank
    exported by ``to_gift`` comes back unchanged.

Aiken
    The question (one or more lines), options ``A.`` or ``A)`` lettered in order,
    then ``ANSWER: X``. ``ANSWER: A, C`` (several letters) is read as a multiple
    choice question graded all or nothing, beyond Moodle's Aiken.

Tables (CSV or XLSX)
    Headers "Câu hỏi", "Phương án A" … "Phương án H", "Đáp án", "Giải thích",
    "Độ khó", "Chủ đề", in any order, case and accents (see ``TABLE_COLUMNS``).
    "Đáp án" holds one letter (single choice), several ("A, C": multiple choice,
    all or nothing), or "Đúng" / "Sai" (true/false, option cells empty).
    A cell that the portal's own export protected against formulas ("'=…")
    is read back without the apostrophe.

Limits
    A file holds at most MAX_QUESTIONS questions (rejected ones included); a
    bigger bank is imported in parts. Whatever a file holds, reading it takes
    time and memory in proportion to its size (tests/test_hostile_files.py).
"""

import bisect
import datetime as dt
import html
import io
import itertools
import re
import unicodedata
from array import array
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import NamedTuple

from flask_babel import gettext as _

from ..formatting import excerpt
from ..tables import INVISIBLE, TableFileError, find_header, header_key, read_records, sub_in_pieces
from .questions import FALSE_TEXT, LETTERS, MAX_OPTIONS, MIN_OPTIONS, TRUE_TEXT

KINDS = ("single", "multiple", "truefalse")
FORMATS = ("gift", "aiken", "csv", "xlsx")
BLANK = "_____"  # where the answer block stood in a missing-word question, as Moodle writes it
WEIGHT_EXAMPLE = "~%50%"

UNSUPPORTED_KINDS = ("shortanswer", "numerical", "matching", "essay", "description")
# Questions (rejected ones included) in one file; a bigger bank is imported in parts. Each costs
# memory until the import is done, and the preview lists every rejected one.
MAX_QUESTIONS = 10_000


class ImportFileError(TableFileError):
    """The file as a whole cannot be read (empty, not text, not UTF-8, unknown format, too many questions)."""


class _QuestionCount:
    """Counts the questions of a file as they are read; ImportFileError past ``limit``."""

    def __init__(self, limit=None):
        self.limit = MAX_QUESTIONS if limit is None else limit
        self.n = 0

    def add(self):
        self.n += 1
        if self.n > self.limit:
            raise ImportFileError(_("The file has more than %(max)s questions. Split it into smaller files.",
                                    max=f"{self.limit:,}".replace(",", ".")))


class ParsedOption(NamedTuple):
    text: str
    weight: int = 0  # percent of the mark, -100..100
    feedback: str = ""


@dataclass
class ParsedQuestion:
    """A question as read from a file; ``line`` is its first line (or its row in a table)."""

    line: int
    kind: str
    text: str
    options: list
    title: str = ""
    explanation: str = ""
    difficulty: int | None = None
    tags: list = field(default_factory=list)
    category: str = ""
    # Multiple choice: "partial" grades by the option weights, "all_or_nothing" needs exactly the right set.
    # The weights of the right options always add up to 100, whichever grading applies.
    grading: str = "all_or_nothing"

    @property
    def right_letters(self):
        return [LETTERS[i] for i, o in enumerate(self.options) if o.weight > 0]


@dataclass(frozen=True)
class Problem:
    """Why the question at ``line`` (or a table's row, and ``column``) is rejected."""

    line: int
    message: str
    column: str | None = None
    row: bool = False  # a table row rather than a text line (the words differ in English only)

    def __str__(self):
        if self.column:
            return _("Row %(row)s, column %(column)s: %(message)s", row=self.line, column=self.column,
                     message=self.message)
        if self.row:
            return _("Row %(row)s: %(message)s", row=self.line, message=self.message)
        return _("Line %(line)s: %(message)s", line=self.line, message=self.message)


@dataclass(frozen=True)
class Unsupported:
    """A question of a kind the bank does not hold, skipped on import."""

    line: int
    kind: str  # one of UNSUPPORTED_KINDS
    reason: str
    text: str = ""  # the question text, to recognise it by

    @property
    def label(self):
        return unsupported_label(self.kind)

    def __str__(self):
        return _("Line %(line)s: %(kind)s, not imported: %(reason)s", line=self.line, kind=self.label,
                 reason=self.reason)


@dataclass
class ParseResult:
    format: str
    questions: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    unsupported: list = field(default_factory=list)

    @property
    def ok(self):
        return not self.problems


def unsupported_label(kind):
    return {
        "shortanswer": _("Short answer"),
        "numerical": _("Numerical"),
        "matching": _("Matching"),
        "essay": _("Essay"),
        "description": _("Description (text only)"),
    }[kind]


def _unsupported_reason(kind):
    return {
        "shortanswer": _("it has only '=' answers and no '~' options, so the member would type the answer; "
                         "the question bank holds choice questions only"),
        "numerical": _("the answer is a number ({#…}), not a choice among options"),
        "matching": _("it pairs items (=… -> …) instead of offering options"),
        "essay": _("the empty answer block {} asks for a written answer, which the question bank does not grade"),
        "description": _("it has no answer block {…}, so there is nothing to answer"),
    }[kind]


# Text ----------------------------------------------------------------------------------------

# Every pattern here looks no further than the next "<" (or the next delimiter), and every loop
# reads each character once: a file may hold megabytes of hostile text in one question.
_TAG_RE = re.compile(r"<\s*/?\s*[A-Za-z!?][^<>]*>")
_BRACKETS = re.compile(r"[<>]")
_CODE_OPEN = re.compile(r"<\s*(script|style)\b[^<>]*>", re.IGNORECASE)
_CODE_CLOSE = {tag: re.compile(rf"<\s*/\s*{tag}\s*>", re.IGNORECASE) for tag in ("script", "style")}
# As browsers read HTML: a tag runs from "<" and a letter to the next ">", or to the end.
_HTML_MARKUP = re.compile(
    r"<(/?)([A-Za-z][^\s/>]*)[^>]*(?:>|\Z)"  # a start or end tag
    r"|<!--"  # a comment, up to -->
    r"|<[!?][^>]*(?:>|\Z)")  # a declaration, CDATA section or processing instruction
_BLOCK_TAGS = {"p", "div", "br", "li", "ul", "ol", "tr", "table", "h1", "h2", "h3", "h4", "h5", "h6",
               "blockquote", "pre", "hr", "dt", "dd", "section", "article"}
_CODE_TAGS = {"script", "style"}
# Control characters (but tab and new line) and the invisible ones, removed (a regex: str.translate is slow).
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f" + "".join(map(chr, INVISIBLE)) + "]")
_WHITESPACE = re.compile(r"\s+")
_SPACES = re.compile(r"[^\S\n]+")  # whitespace within a line
_EMPTY_LINES = re.compile(r"\n{3,}")


def _html_to_text(text, collapse):
    """The text of an HTML fragment: tags dropped, entities decoded, block ends as new lines.

    A small scanner rather than html.parser, which (until Python's security
    releases of 2025) takes quadratic time on some malformed input and raises
    AssertionError on some: a few megabytes of it would hold a worker for
    hours. Scripts and styles are dropped with their contents (an unclosed one
    runs to the end), comments too (an unclosed one is text).
    """
    parts = []

    def data(chunk):
        if chunk:
            chunk = html.unescape(chunk)
            parts.append(sub_in_pieces(_WHITESPACE, " ", chunk) if collapse else chunk)

    pos, comments_close = 0, True
    while m := _HTML_MARKUP.search(text, pos):
        data(text[pos:m.start()])
        pos = m.end()
        if m[0] == "<!--":
            end = text.find("-->", pos) if comments_close else -1
            if end < 0:  # none closes after this one either: text, as html.parser reads it
                comments_close = False
                data(m[0])
            else:
                pos = end + 3
            continue
        tag = m[2].lower() if m[2] else ""
        if tag in _CODE_TAGS and not m[1]:
            close = _CODE_CLOSE[tag].search(text, pos)
            pos = close.end() if close else len(text)
        elif tag in _BLOCK_TAGS and parts and parts[-1] != "\n":  # </p><p> is one line break, not two
            parts.append("\n")
    data(text[pos:])
    return "".join(parts)


_MD_LINK = re.compile(r"!?\[([^\[\]\n]*)\]\(([^)\s\[]*)\)")
# The text inside a delimiter never holds the delimiter, so a lone "*" looks only as far as the next one.
_MD_EMPHASIS = re.compile(r"(\*\*|__|\*|`)(?=\S)((?:(?!\1).)+?)(?<=\S)\1")


def _markdown_to_text(text):
    text = _MD_LINK.sub(lambda m: f"{m[1]} ({m[2]})" if m[1] and m[2] and not m[0].startswith("!") else m[1],
                        text)
    return _MD_EMPHASIS.sub(r"\2", text)


def _drop_code(text):
    """Remove <script>…</script> and <style>…</style> with what they hold; an unclosed one stays (as text)."""
    parts, pos, start, unclosed = [], 0, 0, set()
    while m := _CODE_OPEN.search(text, start):
        tag = m[1].lower()
        close = None if tag in unclosed else _CODE_CLOSE[tag].search(text, m.end())
        if close is None:
            unclosed.add(tag)
            start = m.end()
            continue
        parts.append(text[pos:m.start()])
        pos = start = close.end()
    parts.append(text[pos:])
    return "".join(parts)


def _strip_tags(text):
    """Remove scripts and styles, then anything shaped like a tag until none is left (``<scr<b>ipt>`` too).

    One pass: removing a tag may join what stood before and after it into a new
    tag, which is removed in turn when its ">" arrives.
    """
    text = _drop_code(text)
    if ">" not in text:
        return text
    # ``kept`` holds the text that stays; ``pending`` what follows the first "<" that no ">" has closed yet,
    # and ``opens`` where each such "<" stands in it.
    kept, pending, opens, pos = io.StringIO(), [], [], 0
    for m in _BRACKETS.finditer(text):
        before, pos = text[pos:m.start()], m.end()
        if opens:
            pending.append(before)
        else:
            kept.write(before)
        if m[0] == "<":
            opens.append(len(pending))
            pending.append("<")
        elif not opens:
            kept.write(">")
        elif _TAG_RE.fullmatch("".join(pending[opens[-1]:]) + ">"):
            del pending[opens.pop():]
        else:  # this ">" stays, so no "<" before it can open a tag any more
            kept.write("".join(pending) + ">")
            pending.clear()
            opens.clear()
    kept.write("".join(pending) + text[pos:])
    return kept.getvalue()


def clean_text(text, markup="plain", lines=True):
    """Plain NFC text from ``text`` written in ``markup`` ("plain", "html", "moodle" or "markdown").

    With ``lines`` the line breaks are kept (single spaces within each line, at
    most one empty line in a row); without, everything is one line.
    """
    # Invisible characters go first: removed after the tags, "<\u200bscript>" would become a tag.
    text = sub_in_pieces(_CONTROLS, "", str(text or "").replace("\r\n", "\n").replace("\r", "\n"))
    if markup == "markdown":
        text = _markdown_to_text(text)
    if "<" in text or "&" in text:
        if markup in ("html", "moodle", "markdown"):  # "&#8203;" decodes to an invisible character
            text = sub_in_pieces(_CONTROLS, "", _html_to_text(text, collapse=markup == "html"))
        text = _strip_tags(text)
    elif markup == "html":
        text = sub_in_pieces(_WHITESPACE, " ", text).strip()
    text = unicodedata.normalize("NFC", text)
    if not lines:
        return sub_in_pieces(_WHITESPACE, " ", text).strip()
    # Substitutions rather than a list of lines and words: a text may have millions of them.
    text = sub_in_pieces(_SPACES, " ", text).replace(" \n", "\n").replace("\n ", "\n")
    return _EMPTY_LINES.sub("\n\n", text).strip()


def clean_tags(values):
    """Tags from a list or a comma/semicolon separated text: cleaned, without duplicates (casefolded)."""
    if isinstance(values, str):
        values = [values]
    seen, tags = set(), []
    for value in values:
        for part in re.split(r"[,;]", value or ""):
            tag = clean_text(part, lines=False)
            if tag and tag.casefold() not in seen:
                seen.add(tag.casefold())
                tags.append(tag)
    return tags


def split_weights(n):
    """n right options sharing 100: [34, 33, 33]."""
    each, extra = divmod(100, n)
    return [each + (1 if i < extra else 0) for i in range(n)]


def _round_weights(raw, multiple):
    """Whole percents; for multiple choice the right options' weights are made to add up to exactly 100."""
    weights = [int(w.to_integral_value()) for w in raw]
    positive = [i for i, w in enumerate(raw) if w > 0]
    if multiple and positive and sum(weights[i] for i in positive) != 100:
        floors = {i: int(raw[i]) for i in positive}
        left = 100 - sum(floors.values())
        by_remainder = sorted(positive, key=lambda i: raw[i] - floors[i], reverse=True)
        for n, i in enumerate(by_remainder):
            weights[i] = floors[i] + (1 if n < left else 0)
    return weights


_DIFFICULTIES = {"1": 1, "de": 1, "easy": 1, "2": 2, "trung binh": 2, "tb": 2, "vua": 2, "medium": 2,
                 "3": 3, "kho": 3, "hard": 3}
DIFFICULTY_NAMES = {1: "Dễ", 2: "Trung bình", 3: "Khó"}  # file format, as the template writes them


def parse_difficulty(value):
    """1, 2, 3 or None from 'Dễ' / 'Trung bình' / 'Khó' (any case or accents), 1-3, easy/medium/hard.

    Raises ValueError for anything else.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    key = header_key(value)
    if key not in _DIFFICULTIES:
        raise ValueError(value)
    return _DIFFICULTIES[key]


def _difficulty_problem(value):
    return _("'%(value)s' is not a difficulty: write Dễ, Trung bình or Khó", value=excerpt(value))


def _options_count_problem(n):
    return _("%(n)s options: a question needs %(min)s to %(max)s options", n=n, min=MIN_OPTIONS, max=MAX_OPTIONS)


# Reading a file ------------------------------------------------------------------------------

def guess_format(filename, data=b""):
    """gift, aiken, csv or xlsx from the file name (a .txt file is looked into); None when unknown."""
    ext = Path(filename or "").suffix.lower()
    if ext in (".csv", ".xlsx"):
        return ext[1:]
    if ext == ".gift":
        return "gift"
    if ext == ".aiken":
        return "aiken"
    if ext == ".txt":
        try:
            text = decode_text(data, filename)
        except ImportFileError:
            return "gift"
        if "{" not in text and re.search(r"^\s*ANSWER\s*:", text, re.MULTILINE | re.IGNORECASE):
            return "aiken"
        return "gift"
    return None


def decode_text(data, filename):
    """The text of a GIFT or Aiken file: UTF-8 (with or without BOM) or UTF-16 with a BOM."""
    if not data or not data.strip():
        raise ImportFileError(_("The file is empty."))
    utf16 = data.startswith((b"\xff\xfe", b"\xfe\xff"))
    if data[:4] == b"PK\x03\x04" or (b"\x00" in data[:4096] and not utf16):  # a zip, a picture, a document…
        raise ImportFileError(_("%(name)s is not a text file. Save the questions as plain text (.txt) in "
                                "UTF-8 and upload it again.", name=filename))
    try:
        if utf16:
            return data.decode("utf-16")
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportFileError(_("%(name)s is not in UTF-8, so its Vietnamese letters would be garbled. Save it "
                                "as UTF-8 text (in Notepad: Save As, Encoding UTF-8) and upload it again.",
                                name=filename)) from None


def parse_file(data, filename, fmt=None, max_questions=None):
    """Read ``data`` (the bytes of ``filename``) in ``fmt`` or the format its name suggests."""
    fmt = fmt or guess_format(filename, data)
    if fmt not in FORMATS:
        raise ImportFileError(_("%(name)s: the portal reads questions from GIFT (.gift, .txt), Aiken (.txt), "
                                "CSV and Excel (.xlsx) files.", name=filename))
    if fmt in ("csv", "xlsx"):
        name = filename if Path(filename or "").suffix.lower() == "." + fmt else f"{filename}.{fmt}"
        return parse_table(data, name, max_questions)
    text = decode_text(data, filename)
    return (parse_gift if fmt == "gift" else parse_aiken)(text, max_questions)


def _lines(text):
    """The lines of ``text`` in NFC, whatever their line ends, one at a time (a file may hold millions)."""
    text = unicodedata.normalize("NFC", text.lstrip("\ufeff"))
    return (line.rstrip("\n") for line in io.StringIO(text, newline=None))


# GIFT ----------------------------------------------------------------------------------------

# Escaped specials become private-use characters while the structure is read, as Moodle does.
_ESCAPES = {"\\": "\ue000", ":": "\ue001", "#": "\ue002", "=": "\ue003", "{": "\ue004", "}": "\ue005",
            "~": "\ue006", "n": "\ue007"}
_UNESCAPE = {v: ("\n" if k == "n" else k) for k, v in _ESCAPES.items()}
_PRIVATE = re.compile("[\ue000-\ue007]")
_ESCAPE_RE = re.compile(r"\\([\\:#={}~n])")
_WEIGHT_RE = re.compile(r"^%\s*(-?\s*[0-9]+(?:[.,][0-9]*)?)\s*%")
_FORMAT_RE = re.compile(r"^\[(html|moodle|markdown|plain)\]", re.IGNORECASE)
# A token's value runs to its "]" but never into the next token (which keeps findall linear).
_TOKEN_RE = re.compile(r"\[(tag|difficulty|grading):((?:\\\]|(?!\[(?:tag|difficulty|grading):)[^\]])*)\]",
                       re.IGNORECASE)
_CONTEXT_RE = re.compile(r"^(\$[a-z0-9]+\$/)?(top(/|$))?", re.IGNORECASE)
_TF = {"T": True, "TRUE": True, "F": False, "FALSE": False}


def _unescape(text):
    return _PRIVATE.sub(lambda m: _UNESCAPE[m[0]], text)


def _with_format(text, default):
    """(format, text) from a piece of GIFT text that may start with [html], [moodle], [markdown] or [plain]."""
    text = text.strip()
    m = _FORMAT_RE.match(text)
    if m:
        return m[1].lower(), text[m.end():]
    return default, text


def _gift_text(raw, markup, lines=True):
    return clean_text(_unescape(raw), markup, lines)


class _Block:
    """One question's lines of a GIFT file (from line ``first`` on, without a blank one between them),
    with the escapes replaced and a way back to line numbers."""

    def __init__(self, first, lines):
        self.first, self.last = first, first + len(lines) - 1
        self.comments = [line for line in lines if line.startswith("//")]
        raw = "\n".join("" if line.startswith("//") else line for line in lines)
        self.text = _ESCAPE_RE.sub(lambda m: _ESCAPES[m[1]], _PRIVATE.sub("", raw))
        self.breaks = array("q", (m.start() for m in re.finditer("\n", self.text)))

    def line(self, pos):
        return self.first + min(bisect.bisect_left(self.breaks, max(pos, 0)), self.last - self.first)


def _gift_blocks(text):
    """(first line number, lines) of each run of non-blank lines."""
    first, block = 0, []
    for number, line in enumerate(_lines(text), start=1):
        line = line.strip()
        if line:
            first = first or number
            block.append(line)
        elif block:
            yield first, block
            first, block = 0, []
    if block:
        yield first, block


def parse_gift(text, max_questions=None):
    """Read GIFT text (see the module docstring) into a ParseResult.

    Raises ImportFileError when the text holds more than ``max_questions`` (MAX_QUESTIONS by default).
    """
    result = ParseResult("gift")
    category = ""
    questions = _QuestionCount(max_questions)
    for first, lines in _gift_blocks(text):
        block = _Block(first, lines)
        start = len(block.text) - len(block.text.lstrip())
        if start == len(block.text):
            continue  # comments only
        if block.text.startswith("$CATEGORY:", start):
            end = block.text.find("\n", start)
            end = len(block.text) if end < 0 else end
            category = _category(block.text[start + len("$CATEGORY:"):end])
            start = end
            while start < len(block.text) and block.text[start].isspace():
                start += 1
            if start == len(block.text):
                continue
        questions.add()
        _gift_question(block, start, category, result)
    return result


def _category(raw):
    path = clean_text(_unescape(raw), lines=False)
    return _CONTEXT_RE.sub("", path, count=1).strip("/ ")


def _gift_question(block, start, category, result):
    text = block.text
    line = block.line(start)

    def problem(message):
        result.problems.append(Problem(line, message))

    def unsupported(kind, text):
        result.unsupported.append(Unsupported(line, kind, _unsupported_reason(kind), text))

    title = ""
    if text.startswith("::", start):
        end = text.find("::", start + 2)
        if end < 0:
            return problem(_("the title opened with '::' is not closed with '::'"))
        title = _gift_text(text[start + 2:end], "moodle", lines=False)
        start = end + 2

    opening, closing = text.find("{", start), text.find("}", start)
    if opening < 0 and closing < 0:
        markup, raw = _with_format(text[start:], "moodle")
        return unsupported("description", _gift_text(raw, markup))
    if closing >= 0 and (opening < 0 or closing < opening):
        return problem(_("the '}' on line %(line)s has no opening '{'; write \\} for a brace in the text",
                         line=block.line(closing)))
    if closing < 0:
        return problem(_("the '{' on line %(line)s is never closed with '}' (the question ends on line %(end)s)",
                         line=block.line(opening), end=block.last))
    nested = text.find("{", opening + 1, closing)
    if nested >= 0:
        return problem(_("the '{' on line %(line)s is never closed with '}' before the next '{' on line "
                         "%(next)s", line=block.line(opening), next=block.line(nested)))
    extra = min((p for p in (text.find("{", closing + 1), text.find("}", closing + 1)) if p >= 0), default=-1)
    if extra >= 0:
        return problem(_("a second '%(brace)s' on line %(line)s: a question has one answer block {…}; write "
                         "\\{ and \\} for braces in the text", brace=text[extra], line=block.line(extra)))

    before, after = text[start:opening], text[closing + 1:]
    question_raw = before + after if not after.strip() else before + BLANK + after
    answer = text[opening + 1:closing]
    answer_start = opening + 1 + (len(answer) - len(answer.lstrip()))
    answer = answer.strip()
    explanation_raw = ""
    split = answer.rfind("####")
    if split >= 0:
        answer, explanation_raw = answer[:split].strip(), answer[split + 4:]

    markup, question_raw = _with_format(question_raw, "moodle")
    question_text = _gift_text(question_raw, markup)
    explanation_markup, explanation_raw = _with_format(explanation_raw, markup)
    explanation = _gift_text(explanation_raw, explanation_markup)

    if not answer:
        kind = "essay"
    elif answer[0] == "#":
        kind = "numerical"
    elif "~" in answer:
        kind = "choice"
    elif "=" in answer and "->" in answer:
        kind = "matching"
    elif answer.split("#", 1)[0].strip().upper() in _TF:
        kind = "truefalse"
    else:
        kind = "shortanswer"
    if kind in UNSUPPORTED_KINDS:
        return unsupported(kind, question_text)
    if not question_text:
        return problem(_("there is no question text before the answers"))

    tags, difficulty, grading, token_problem = _comment_tokens(block.comments)
    if token_problem:
        return problem(token_problem)
    question = ParsedQuestion(line=line, kind=kind, text=question_text, options=[], title=title,
                              explanation=explanation, difficulty=difficulty, tags=tags, category=category)
    if kind == "truefalse":
        parts = (answer.split("#", 2) + ["", ""])[:3]
        right = _TF[parts[0].strip().upper()]
        wrong_fb, right_fb = (_gift_text(piece, piece_markup)
                              for piece_markup, piece in (_with_format(p, markup) for p in parts[1:]))
        question.options = [ParsedOption(TRUE_TEXT, 100 if right else 0, right_fb if right else wrong_fb),
                            ParsedOption(FALSE_TEXT, 0 if right else 100, wrong_fb if right else right_fb)]
        result.questions.append(question)
        return None
    if _choice_options(question, block, answer, answer_start, markup, problem):
        if question.kind == "multiple":
            question.grading = grading or "partial"
        result.questions.append(question)
    return None


def _comment_tokens(comments):
    """(tags, difficulty, grading, problem) from the [tag:…] [difficulty:…] [grading:…] tokens of comments."""
    tags, difficulty, grading = [], None, None
    for comment in comments:
        for name, value in _TOKEN_RE.findall(comment):
            value = value.replace("\\]", "]").strip()
            name = name.lower()
            if name == "tag":
                tags.append(value)
            elif name == "difficulty":
                try:
                    difficulty = parse_difficulty(value)
                except ValueError:
                    return [], None, None, _difficulty_problem(value)
            elif header_key(value) in ("all or nothing", "partial"):
                grading = header_key(value).replace(" ", "_")
    return clean_tags(tags), difficulty, grading, None


def _choice_options(question, block, answer, offset, markup, problem):
    """Fill ``question`` with the options of a choice block; False (after reporting) when it is rejected."""
    count = answer.count("~") + answer.count("=")
    if count > MAX_OPTIONS:  # reported before the options are split: there may be millions
        problem(_options_count_problem(count + bool(answer[:re.search("[~=]", answer).start()].strip())))
        return False
    marks = [m.start() for m in re.finditer("[~=]", answer)]
    pieces = []
    if answer[:marks[0]].strip():  # text before the first marker is a wrong option, as in Moodle
        pieces.append(("~", 0, answer[:marks[0]]))
    for n, i in enumerate(marks):
        end = marks[n + 1] if n + 1 < len(marks) else len(answer)
        pieces.append((answer[i], i, answer[i + 1:end]))

    options, raw_weights, rights, ok = [], [], [], True
    for marker, pos, body in pieces:
        line = block.line(offset + pos)
        body = body.strip()
        weight = Decimal(100) if marker == "=" else Decimal(0)
        m = _WEIGHT_RE.match(body)
        if m:
            try:
                weight = Decimal(re.sub(r"\s", "", m[1]).replace(",", "."))
            except InvalidOperation:
                weight = Decimal(1000)
            if not -100 <= weight <= 100:
                problem(_("the weight %(weight)s on line %(line)s is not a number from -100 to 100",
                          weight=m[0], line=line))
                ok = False
            body = body[m.end():]
        if marker == "=":
            rights.append(line)
        text_raw, _sep, feedback_raw = body.partition("#")
        text_markup, text_raw = _with_format(text_raw, markup)
        feedback_markup, feedback_raw = _with_format(feedback_raw, markup)
        text = _gift_text(text_raw, text_markup)
        if not text:
            problem(_("the option on line %(line)s is empty", line=line))
            ok = False
        options.append(ParsedOption(text, 0, _gift_text(feedback_raw, feedback_markup)))
        raw_weights.append(weight)

    if not MIN_OPTIONS <= len(options) <= MAX_OPTIONS:
        problem(_options_count_problem(len(options)))
        ok = False
    question.kind = "single" if rights else "multiple"
    if len(rights) > 1:
        problem(_("several right answers ('=' on lines %(lines)s) in a single-choice question; for several right "
                  "options use weights such as %(example)s instead of '='",
                  lines=", ".join(str(n) for n in sorted(set(rights))), example=WEIGHT_EXAMPLE))
        ok = False
    if not rights and ok:
        total = sum(w for w in raw_weights if w > 0)
        if total == 0:
            problem(_("no right answer: mark the right option with '=', or give the right options weights "
                      "such as %(example)s", example=WEIGHT_EXAMPLE))
            ok = False
        elif abs(total - 100) > Decimal("0.5"):
            problem(_("the weights of the right options add up to %(total)s%%; they must add up to 100%%",
                      total=f"{total.normalize():f}"))
            ok = False
    if not ok:
        return False
    weights = _round_weights(raw_weights, multiple=not rights)
    question.options = [o._replace(weight=w) for o, w in zip(options, weights)]
    return True


def _gift_escape(text):
    """Escape GIFT's specials; a colon only where it could start or end a ::title:: (keeps Vietnamese readable)."""
    text = text.replace("\\", "\\\\")
    for char in "~=#{}":
        text = text.replace(char, "\\" + char)
    if "::" in text or text.startswith(":") or text.endswith(":"):
        text = text.replace(":", "\\:")
    return text.replace("\n", "\\n")


_NEEDS_PLAIN = re.compile(r"[<&]")


def _gift_piece(text):
    """An option, feedback or explanation; one starting with '[' gets an explicit format, or it would be read as one."""
    text = _gift_escape(text)
    return "[plain]" + text if text.startswith("[") else text


def _gift_weights(question):
    weights = [o.weight for o in question.options]
    if question.kind == "multiple":
        right = [i for i, w in enumerate(weights) if w > 0]
        if right and sum(weights[i] for i in right) != 100:
            for i, w in zip(right, split_weights(len(right))):
                weights[i] = w
    return weights


def to_gift(questions):
    """GIFT text for ``questions`` (ParsedQuestion), which Moodle imports and parse_gift reads back unchanged."""
    out, category = [], ""
    for q in questions:
        if q.category != category:
            category = q.category
            # Written as is: Moodle does not unescape a category path.
            out.append(f"$CATEGORY: {' '.join(category.split())}\n\n")
        tokens = [f"[tag:{t.replace(']', chr(92) + ']')}]" for t in q.tags]
        if q.difficulty:
            tokens.append(f"[difficulty:{q.difficulty}]")
        if q.kind == "multiple" and q.grading == "all_or_nothing":
            tokens.append("[grading:all-or-nothing]")
        head = f"// {' '.join(tokens)}\n" if tokens else ""
        texts = [q.text, q.explanation, *(o.text for o in q.options), *(o.feedback for o in q.options)]
        plain = any(_NEEDS_PLAIN.search(t) for t in texts if t) or q.text.startswith("[")
        marker = "[plain]" if plain else ""
        title = f"::{_gift_escape(q.title)}::" if q.title else ""
        body = f"{title}{marker}{_gift_escape(q.text)}"
        general = f"####{_gift_piece(q.explanation)}" if q.explanation else ""
        if q.kind == "truefalse":
            right = q.options[0].weight > 0
            right_fb, wrong_fb = (q.options[0].feedback, q.options[1].feedback)[::1 if right else -1]
            answer = "TRUE" if right else "FALSE"
            if wrong_fb or right_fb:
                answer += "#" + _gift_piece(wrong_fb)
            if right_fb:
                answer += "#" + _gift_piece(right_fb)
            out.append(f"{head}{body}{{{answer}{general}}}\n\n")
            continue
        lines = []
        for option, weight in zip(q.options, _gift_weights(q)):
            if q.kind == "single" and weight == 100:
                prefix = "="
            elif weight:
                prefix = f"~%{weight}%"
            else:
                prefix = "~"
            text = _gift_piece(option.text)
            if text.startswith("%") and prefix in ("=", "~"):  # so that text such as "%50% ..." is no weight
                prefix = "=%100%" if prefix == "=" else "~%0%"
            feedback = f"#{_gift_piece(option.feedback)}" if option.feedback else ""
            lines.append(f"\t{prefix}{text}{feedback}\n")
        if general:
            lines.append(f"\t{general}\n")
        out.append(f"{head}{body}{{\n{''.join(lines)}}}\n\n")
    return "".join(out)


# Aiken ---------------------------------------------------------------------------------------

_AIKEN_OPTION = re.compile(r"^([A-Za-z])[.)]\s+(.*)$")
_AIKEN_ANSWER = re.compile(r"^(?:ANSWER|ĐÁP ÁN)\s*:\s*(.*)$", re.IGNORECASE)


def parse_aiken(text, max_questions=None):
    """Read Aiken text (see the module docstring) into a ParseResult.

    Raises ImportFileError when the text holds more than ``max_questions`` (MAX_QUESTIONS by default).
    """
    result = ParseResult("aiken")
    current = None  # {"line", "text": [...], "options": [(letter, text, line)], "more": options not kept}
    questions = _QuestionCount(max_questions)

    def missing_answer(q):
        result.problems.append(Problem(q["line"], _("no 'ANSWER:' line after the options of this question")))

    def start(number, line):
        questions.add()
        return {"line": number, "text": [line], "options": [], "more": 0}

    for number, line in enumerate(_lines(text), start=1):
        line = line.strip()
        if not line:
            continue
        answer = _AIKEN_ANSWER.match(line)
        option = _AIKEN_OPTION.match(line)
        if answer:
            if current is None:
                questions.add()
                result.problems.append(Problem(number, _("'ANSWER:' has no question before it")))
            elif not current["options"]:
                result.problems.append(Problem(current["line"], _(
                    "the question has no options (A., B., …) before 'ANSWER:' on line %(line)s", line=number)))
            else:
                _aiken_question(current, answer[1].strip(), number, result)
            current = None
        elif option and current is not None and (current["options"] or option[1].upper() == "A"):
            if len(current["options"]) > MAX_OPTIONS:  # too many already: counted, not kept
                current["more"] += 1
            else:
                current["options"].append((option[1].upper(), option[2], number))
        elif current is not None and current["options"]:
            missing_answer(current)
            current = start(number, line)
        elif current is not None:
            current["text"].append(line)
        else:
            current = start(number, line)
    if current is not None:
        missing_answer(current)
    return result


def _aiken_question(current, answer, answer_line, result):
    line = current["line"]
    problems = []
    for index, (letter, _text, number) in enumerate(current["options"]):
        expected = LETTERS[index] if index < len(LETTERS) else None
        if letter != expected:
            problems.append(_("the options must be lettered A, B, C… in order: line %(line)s has %(found)s "
                              "where %(expected)s was expected", line=number, found=letter,
                              expected=expected or "—"))
            break
    options = [clean_text(text) for _letter, text, _n in current["options"]]
    for (letter, _text, number), text in zip(current["options"], options):
        if not text:
            problems.append(_("the option on line %(line)s is empty", line=number))
    if not MIN_OPTIONS <= len(options) + current["more"] <= MAX_OPTIONS:
        problems.append(_options_count_problem(len(options) + current["more"]))
    letters = [x.upper() for x in re.split(r"[\s,;]+", answer) if x]
    if not letters:
        problems.append(_("'ANSWER:' on line %(line)s names no option: write the letter of the right option, "
                          "such as ANSWER: B", line=answer_line))
    for letter in letters:
        if len(letter) != 1 or letter not in LETTERS:
            problems.append(_("'ANSWER: %(answer)s' on line %(line)s: '%(letter)s' is not an option letter",
                              answer=answer, line=answer_line, letter=letter))
        elif LETTERS.index(letter) >= len(options):
            problems.append(_("'ANSWER: %(answer)s' on line %(line)s names option %(letter)s, but the options "
                              "go from A to %(last)s", answer=answer, line=answer_line, letter=letter,
                              last=LETTERS[max(0, min(len(options), len(LETTERS)) - 1)]))
    text = clean_text("\n".join(current["text"]))
    if not text:  # only invisible characters
        problems.insert(0, _("there is no question text before the answers"))
    if problems:
        result.problems.extend(Problem(line, p) for p in problems)
        return
    right = sorted(set(letters), key=LETTERS.index)
    multiple = len(right) > 1
    shares = iter(split_weights(len(right)))
    weights = [(next(shares) if multiple else 100) if LETTERS[i] in right else 0 for i in range(len(options))]
    result.questions.append(ParsedQuestion(
        line=line, kind="multiple" if multiple else "single", text=text,
        options=[ParsedOption(t, w) for t, w in zip(options, weights)]))


# Tables --------------------------------------------------------------------------------------

# (field, header) in template order; the headers are the file format, so they stay Vietnamese.
TABLE_COLUMNS = (
    ("text", "Câu hỏi"),
    *((f"option_{letter}", f"Phương án {letter}") for letter in LETTERS),
    ("answer", "Đáp án"),
    ("explanation", "Giải thích"),
    ("difficulty", "Độ khó"),
    ("tags", "Chủ đề"),
)
TABLE_HEADERS = [header for _field, header in TABLE_COLUMNS]
_TABLE_HEADER = dict(TABLE_COLUMNS)
_TABLE_KEYS = {header_key(header): f for f, header in TABLE_COLUMNS}
_TABLE_KEYS.update({
    "noi dung cau hoi": "text", "noi dung": "text", "cau hoi noi dung": "text", "question": "text",
    **{f"phuong an {x.lower()}": f"option_{x}" for x in LETTERS},
    **{f"pa {x.lower()}": f"option_{x}" for x in LETTERS},
    **{f"dap an {x.lower()}": f"option_{x}" for x in LETTERS},
    **{x.lower(): f"option_{x}" for x in LETTERS},
    "dap an dung": "answer", "dap an chon": "answer", "answer": "answer",
    "giai thich dap an": "explanation", "loi giai": "explanation", "explanation": "explanation",
    "muc do": "difficulty", "do kho de": "difficulty", "difficulty": "difficulty",
    "chu de the": "tags", "the": "tags", "tags": "tags", "tag": "tags",
})
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_TRUE_WORDS = {"dung", "true"}
_FALSE_WORDS = {"sai", "false", "s"}


def _cell(value):
    """A table cell as plain text, line breaks kept; '' for an empty cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return TRUE_TEXT if value else FALSE_TEXT
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    text = str(value)
    if text.startswith("'") and text[1:2] and text[1] in _FORMULA_PREFIXES:
        text = text[1:]  # protected against formulas by an export; the apostrophe is not part of the text
    return clean_text(text)


def _truefalse_word(text):
    """True / False for 'Đúng' / 'Sai' (and a few spellings), None otherwise."""
    raw = text.strip().casefold()
    if raw in ("đ", "đúng"):
        return True
    key = header_key(text)
    if key in _TRUE_WORDS:
        return True
    if key in _FALSE_WORDS:
        return False
    return None


def parse_table(data, filename, max_questions=None):
    """Read a CSV or XLSX question table (the bytes of ``filename``) into a ParseResult.

    Raises ImportFileError when the file as a whole cannot be read, or holds more
    than ``max_questions`` rows (MAX_QUESTIONS by default).
    """
    fmt = Path(filename).suffix.lower().lstrip(".")
    records = read_records(data, filename, error=ImportFileError)
    try:
        return _parse_table_records(records, fmt, _QuestionCount(max_questions))
    finally:
        records.close()


def _parse_table_records(records, fmt, questions):
    def is_header(cells):
        return any(_TABLE_KEYS.get(header_key(c)) == "text" for c in cells)

    header_number, header_cells, before = find_header(records, is_header, error=ImportFileError)
    columns = {}
    for index, cell in enumerate(header_cells):
        name = _TABLE_KEYS.get(header_key(cell))
        if name and name not in columns.values():
            columns[index] = name
    missing = [_TABLE_HEADER[f] for f in ("text", "answer") if f not in columns.values()]
    if missing:
        raise ImportFileError(_("The header row (row %(row)s) lacks the required columns: %(columns)s. "
                                "Download the template to see the expected headers.",
                                row=header_number, columns=", ".join(f'"{m}"' for m in missing)))
    result = ParseResult(fmt)
    seen_rows = False
    for number, cells in itertools.chain(before, records):
        values = {f: _cell(cells[i] if i < len(cells) else None) for i, f in columns.items()}
        if not any(values.values()):
            continue
        seen_rows = True
        questions.add()
        _table_row(number, values, result)
    if not seen_rows:
        raise ImportFileError(_("The file has only the header row and no questions. "
                                "Add one row per question below the header."))
    return result


def _table_row(number, values, result):
    problems = []

    def problem(field_name, message):
        column = _TABLE_HEADER[field_name] if field_name else None
        problems.append(Problem(number, message, column=column, row=True))

    text = values.get("text", "")
    if not text:
        problem("text", _("this cell must not be empty"))
    letters_present = [x for x in LETTERS if f"option_{x}" in values]
    options = [values[f"option_{x}"] for x in letters_present]
    filled = [i for i, o in enumerate(options) if o]
    last = filled[-1] if filled else -1
    for i in range(last):
        if not options[i]:
            problem(f"option_{letters_present[i]}", _("this option is empty while a later option is filled: "
                                                      "fill the options from A on without gaps"))
    options = options[:last + 1]

    difficulty = None
    try:
        difficulty = parse_difficulty(values.get("difficulty"))
    except ValueError:
        problem("difficulty", _difficulty_problem(values.get("difficulty")))

    kind, weights = None, []
    answer = values.get("answer", "")
    truth = _truefalse_word(answer) if answer else None
    if not answer:
        problem("answer", _("this cell must not be empty"))
    elif truth is not None:
        if options and [header_key(o) for o in options] not in (["dung", "sai"], ["sai", "dung"]):
            problem("answer", _("'%(value)s' makes a true/false question, whose option cells stay empty",
                                value=excerpt(answer)))
        kind = "truefalse"
        options = [TRUE_TEXT, FALSE_TEXT]
        weights = [100, 0] if truth else [0, 100]
    else:
        tokens = [t for t in re.split(r"[\s,;/+&]+|\bvà\b", answer) if t]
        if len(tokens) == 1 and re.fullmatch(r"[A-Za-z]{2,8}", tokens[0]):
            tokens = list(tokens[0])  # "AC"
        right = []
        for token in tokens:
            letter = token.upper()
            if len(token) != 1 or letter not in LETTERS:
                problem("answer", _("'%(value)s' is not an answer: write the letter of the right option (A), the "
                                    "letters of several (A, C), or Đúng / Sai", value=excerpt(answer)))
                right = []
                break
            if LETTERS.index(letter) >= len(options):
                problem("answer", _("the answer %(letter)s is beyond the filled options (%(range)s)",
                                    letter=letter, range=f"A–{LETTERS[len(options) - 1]}" if options else "—"))
            elif letter not in right:
                right.append(letter)
        if not right and not problems:
            problem("answer", _("'%(value)s' is not an answer: write the letter of the right option (A), the "
                                "letters of several (A, C), or Đúng / Sai", value=excerpt(answer)))
        if right and not problems:
            if not MIN_OPTIONS <= len(options) <= MAX_OPTIONS:
                problem(None, _options_count_problem(len(options)))
            if len(right) == 1:
                kind = "single"
                weights = [100 if LETTERS[i] in right else 0 for i in range(len(options))]
                folded = [header_key(o) for o in options]
                if folded in (["dung", "sai"], ["sai", "dung"]):  # Đúng / Sai typed as options A and B
                    kind, truth = "truefalse", options[LETTERS.index(right[0])] == options[folded.index("dung")]
                    options, weights = [TRUE_TEXT, FALSE_TEXT], ([100, 0] if truth else [0, 100])
            else:
                kind = "multiple"
                shares = iter(split_weights(len(right)))
                weights = [next(shares) if LETTERS[i] in right else 0 for i in range(len(options))]
    if problems or kind is None:
        result.problems.extend(problems)
        return
    result.questions.append(ParsedQuestion(
        line=number, kind=kind, text=text, options=[ParsedOption(t, w) for t, w in zip(options, weights)],
        explanation=values.get("explanation", ""), difficulty=difficulty, tags=clean_tags(values.get("tags", ""))))


def _table_rows(questions):
    rows = []
    for q in questions:
        options = [""] * len(LETTERS)
        if q.kind == "truefalse":
            answer = TRUE_TEXT if q.options[0].weight > 0 else FALSE_TEXT
        else:
            for i, o in enumerate(q.options[:len(LETTERS)]):
                options[i] = o.text
            answer = ", ".join(q.right_letters) if q.kind == "multiple" else \
                next((LETTERS[i] for i, o in enumerate(q.options) if o.weight == 100), "")
        rows.append([q.text, *options, answer, q.explanation, DIFFICULTY_NAMES.get(q.difficulty, ""),
                     ", ".join(q.tags)])
    return rows


_WIDTHS = [60, *([24] * len(LETTERS)), 10, 40, 12, 24]
_TEXT_COLUMNS = list(range(1, len(LETTERS) + 2))  # options and the answer: never dates or numbers


def to_xlsx(questions, title=""):
    """An XLSX workbook of ``questions`` with the template's headers, safe to open in Excel, re-importable.

    It holds which options are right; partial-credit weights and option feedback travel in GIFT.
    """
    from ..documents import Sheet, xlsx_bytes

    sheet = Sheet(title=_("Questions"), headers=TABLE_HEADERS, rows=_table_rows(questions), widths=_WIDTHS,
                  text_columns=_TEXT_COLUMNS)
    return xlsx_bytes([sheet], title=title or _("Question bank"))


def _examples():
    return [
        ParsedQuestion(line=2, kind="single", text="Đảng Cộng sản Việt Nam được thành lập vào năm nào?",
                       options=[ParsedOption("1925"), ParsedOption("1930", 100), ParsedOption("1945"),
                                ParsedOption("1954")],
                       explanation="Đảng được thành lập ngày 03/02/1930 tại Hương Cảng (Hồng Kông).",
                       difficulty=1, tags=["Lịch sử Đảng"]),
        ParsedQuestion(line=3, kind="multiple", text="Những phẩm chất nào được nêu trong phong cách Hồ Chí Minh?",
                       options=[ParsedOption("Giản dị", 50), ParsedOption("Xa hoa"), ParsedOption("Gần dân", 50),
                                ParsedOption("Quan liêu")],
                       difficulty=2, tags=["Phong cách Hồ Chí Minh", "Học tập và làm theo"]),
        ParsedQuestion(line=4, kind="truefalse", text="Chi bộ là tổ chức cơ sở của Đảng.",
                       options=[ParsedOption(TRUE_TEXT), ParsedOption(FALSE_TEXT, 100)],
                       explanation="Chi bộ là hạt nhân chính trị ở cơ sở; tổ chức cơ sở đảng gồm chi bộ cơ sở "
                                   "và đảng bộ cơ sở.", difficulty=3),
    ]


def template_xlsx():
    """The question table template: the headers, three example rows, and a sheet explaining the columns."""
    from ..documents import Sheet, xlsx_bytes

    questions = Sheet(title=_("Questions"), headers=TABLE_HEADERS, rows=_table_rows(_examples()),
                      widths=_WIDTHS, text_columns=_TEXT_COLUMNS)
    guide = Sheet(title=_("How to fill in"), headers=[_("Column"), _("What to write")], widths=[18, 100],
                  autofilter=False, rows=[
                      ["Câu hỏi", _("The question text (required).")],
                      ["Phương án A … H", _("From 2 to 8 options, from A on without gaps. Leave them empty for a "
                                            "true/false question.")],
                      ["Đáp án", _("The letter of the right option (A); several letters for a multiple-choice "
                                   "question (A, C); or Đúng / Sai for a true/false question.")],
                      ["Giải thích", _("Optional: shown to members when they review their answers.")],
                      ["Độ khó", _("Optional: Dễ, Trung bình or Khó.")],
                      ["Chủ đề", _("Optional: tags, separated by commas.")],
                  ])
    return xlsx_bytes([questions, guide], title=_("Question bank"))


def template_csv():
    from ..documents import csv_bytes

    return csv_bytes(TABLE_HEADERS, _table_rows(_examples()))


