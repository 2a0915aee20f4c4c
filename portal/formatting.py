"""Vietnamese display of dates and numbers (dd/mm/yyyy, 40.000, 97,5%) and Vietnamese alphabetical order."""

import datetime as dt
import re
import unicodedata

from flask_babel import format_datetime, format_decimal, format_percent

GENDER_LABELS = {"male": "Nam", "female": "Nữ"}


def excerpt(value, limit=80):
    """A cell or line as an error message quotes it: whole when short, else its first ``limit`` characters and
    "…" (a pasted paragraph in a phone-number cell must not fill the page)."""
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def format_date_vi(value):
    if value is None or value == "":
        return ""
    if isinstance(value, dt.datetime):
        value = value.date()
    return value.strftime("%d/%m/%Y")


def official_date(value):
    """ "ngày 26 tháng 5 năm 2025" as official papers write it: days 1-9 and months 1-2 with a leading zero."""
    if value is None or value == "":
        return ""
    month = f"{value.month:02d}" if value.month < 3 else str(value.month)
    return f"ngày {value.day:02d} tháng {month} năm {value.year}"


def date_line(place, value):
    """ "Hiệp Đức, ngày 26 tháng 5 năm 2025" (or "Ngày …" without a place): the line above a signature."""
    when = official_date(value)
    if not when:
        return place or ""
    return f"{place}, {when}" if place else when[0].upper() + when[1:]


_PLACE_RE = re.compile(
    r"^(?:đảng bộ|chi bộ|đảng ủy|đảng uỷ|huyện ủy|huyện uỷ|thành ủy|thành uỷ|tỉnh ủy|tỉnh uỷ|quận ủy|quận uỷ|"
    r"thị ủy|thị uỷ)\s+(?:(?:thành phố|thị xã|thị trấn|huyện|quận|tỉnh|xã|phường|thôn|tổ dân phố|khu phố|ấp|bản)\s+)?"
    r"(.+)$", re.IGNORECASE)


def place_name(unit):
    """Where a paper is signed, from a unit's name: "Đảng bộ huyện Hòa Vang" -> "Hòa Vang" ("" for no unit)."""
    if unit is None:
        return ""
    match = _PLACE_RE.match(unit.name.strip())
    return match.group(1) if match else unit.name.strip()


# Vietnamese alphabetical order: a ă â b c d đ e ê … o ô ơ … u ư …, then the tones (none, huyền, hỏi, ngã,
# sắc, nặng) as a second level, as dictionaries and the lists of names of Vietnamese offices sort.
# Code-point order puts "Đặng" after "Vũ" and "Ánh" after "Yến"; these keys do not.
_ALPHABET = "aăâbcdđeêfghijklmnoôơpqrstuưvwxyz"
_PRIMARY = {letter: index for index, letter in enumerate(_ALPHABET)}
_LETTER_MARKS = {("a", "\u0306"): "ă", ("a", "\u0302"): "â", ("e", "\u0302"): "ê", ("o", "\u0302"): "ô",
                 ("o", "\u031b"): "ơ", ("u", "\u031b"): "ư"}
_TONES = {"\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}


def _collation(text):
    """(letters, tones) of ``text``: letters in Vietnamese order (other characters after them, by code
    point), tones only where the letters tie."""
    letters, tones = [], []
    for char in unicodedata.normalize("NFC", text or "").casefold():
        base, *marks = unicodedata.normalize("NFD", char)
        tone = 0
        for mark in marks:
            if mark in _TONES:
                tone = _TONES[mark]
            else:
                base = _LETTER_MARKS.get((base, mark), base)
        letters.append(_PRIMARY.get(base, 100 + ord(base)))
        tones.append(tone)
    return tuple(letters), tuple(tones)


def vi_key(text):
    """A sort key that orders ``text`` alphabetically in Vietnamese (unit names, titles)."""
    letters, tones = _collation(text)
    return letters, tones, text or ""


def name_key(full_name):
    """A sort key for people's names as Vietnamese lists order them: by the given name (the last word),
    then the family and middle names: "Trần Văn An" before "Lê Thị Bình" before "Nguyễn Văn Bình"."""
    words = (full_name or "").split()
    given = words[-1] if words else ""
    first, rest = _collation(given), _collation(" ".join(words[:-1]))
    return first[0], rest[0], first[1], rest[1], full_name or ""


def format_datetime_vi(value):
    """A stored UTC time shown in the portal's time zone, 'HH:mm dd/MM/yyyy'."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return format_datetime(value, "HH:mm dd/MM/yyyy")


def format_number_vi(value, digits=None):
    if value is None:
        return ""
    if digits is not None:
        return format_decimal(value, format="#,##0." + "0" * digits if digits else "#,##0")
    return format_decimal(value)


def format_percent_vi(value, digits=1):
    if value is None:
        return ""
    return format_percent(value, format="#,##0." + "0" * digits + "%" if digits else "#,##0%")


def init_app(app):
    app.jinja_env.filters["date"] = format_date_vi
    app.jinja_env.filters["datetime"] = format_datetime_vi
    app.jinja_env.filters["number"] = format_number_vi
    app.jinja_env.filters["percent"] = format_percent_vi
    app.jinja_env.filters["gender"] = lambda g: GENDER_LABELS.get(g, "")
