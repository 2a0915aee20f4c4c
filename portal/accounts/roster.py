"""Roster import: read a member list (CSV or XLSX), plan it row by row, apply it all or nothing.

The file
    The first row holds the headers, in any order, any case, with or without
    accents: "Họ và tên", "Ngày sinh" and "Đơn vị (mã)" are required; "Giới tính",
    "Chức vụ", "Số điện thoại", "Email" and "Tên đăng nhập" are optional; other
    columns (such as "STT") are ignored. Rows are numbered as in the spreadsheet,
    the header being row 1. CSV must be UTF-8 (with or without BOM), separated by
    commas or semicolons. Text is normalised to NFC, without control or invisible
    characters.

Matching a row to an account
    1. A row with a username ("Tên đăng nhập") is that account; when no account
       has that username, a new one is created with it.
    2. A row without a username is the one account with the same full name
       (NFC, case-insensitive) and date of birth. Two or more such accounts:
       the row is rejected until a username says which one. None: a new
       account, named by users.suggest_username ("Nguyễn Văn An" -> "annv").
    An empty optional cell leaves the existing value unchanged, so importing the
    same file again changes nothing.

Scope
    Organisers import only into units of their subtree, and update only accounts
    of their subtree that are not admins (permissions.py decides). The command
    line (actor None) may do everything.

All or nothing
    A preview (plan_import) writes nothing. apply_import re-reads and re-plans
    inside one transaction and refuses the whole file when any row is rejected.
    New accounts get generated passwords that must be changed at first login;
    they are handed over as a credentials sheet (credentials.py).
"""

import datetime as dt
import hashlib
import itertools
import json
import logging
import operator
import os
import re
import secrets
import unicodedata
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import reduce

import peewee as pw
from flask_babel import gettext as _

from ..db import database, nfc
from ..errors import DomainError
from ..formatting import GENDER_LABELS, excerpt
from ..tables import INVISIBLE as _INVISIBLE
from ..tables import PlanCounts, TableFileError, find_header, read_records, sub_in_pieces
from ..tables import header_key as _header_key
from . import audit, credentials, permissions
from .models import RosterImport, Unit, User
from .passwords import generate_password, hash_password
from .users import (EMAIL_RE, PHONE_RE, USERNAME_RE, ascii_fold, load_grants, normalise_phone, suggest_username,
                    username_base)

log = logging.getLogger(__name__)

# (field, header) in template order; the headers are the file format, so they stay Vietnamese.
COLUMNS = (
    ("full_name", "Họ và tên"),
    ("birth_date", "Ngày sinh"),
    ("gender", "Giới tính"),
    ("unit", "Đơn vị (mã)"),
    ("position", "Chức vụ"),
    ("phone", "Số điện thoại"),
    ("email", "Email"),
    ("username", "Tên đăng nhập"),
)
HEADER = dict(COLUMNS)
TEMPLATE_HEADERS = [header for _field, header in COLUMNS]
REQUIRED_FIELDS = ("full_name", "birth_date", "unit")
PROFILE_FIELDS = ("full_name", "birth_date", "gender", "unit", "position", "phone", "email")

ACTIONS = ("create", "update", "unchanged", "reject")

EXAMPLE_ROW = ["Nguyễn Văn An", "17/05/1985", "Nam", None, "Đảng viên", "0912345678", "an.nv@example.vn", ""]

MAX_TEXT = 255
UPLOAD_TTL = dt.timedelta(days=1)
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
_CHUNK = 500


_HEADER_KEYS = {_header_key(header): f for f, header in COLUMNS}
_HEADER_KEYS.update({
    "ho ten": "full_name", "ho va ten dang vien": "full_name",
    "ngay thang nam sinh": "birth_date",
    "don vi": "unit", "ma don vi": "unit", "don vi ma so": "unit",
    "dien thoai": "phone", "so dt": "phone", "sdt": "phone",
    "e mail": "email", "thu dien tu": "email",
    "username": "username", "tai khoan": "username",
})


class RosterFileError(TableFileError):
    """The file as a whole cannot be read: nothing in it was looked at row by row."""


class ImportRejected(DomainError):
    """Some rows are rejected, so nothing is written; ``plan`` says which and why."""

    def __init__(self, plan):
        super().__init__(_("Nothing was imported: %(n)s rows have problems. Fix the file and upload it again.",
                           n=plan.counts["reject"]))
        self.plan = plan


@dataclass(frozen=True)
class Problem:
    """What is wrong with one row (and column, when one is to blame)."""

    row: int
    column: str | None
    message: str

    def __str__(self):
        if self.column:
            return _("Row %(row)s, column %(column)s: %(message)s", row=self.row, column=self.column,
                     message=self.message)
        return _("Row %(row)s: %(message)s", row=self.row, message=self.message)


@dataclass
class RosterRow:
    """One data row as read: ``values`` maps a field to its clean value, None when the cell is empty."""

    number: int
    values: dict
    problems: list = field(default_factory=list)

    def problem(self, field_name, message):
        self.problems.append(Problem(self.number, HEADER.get(field_name), message))


@dataclass
class Roster:
    filename: str
    sha256: str
    rows: list
    columns: list  # the fields present in the header


@dataclass
class Change:
    column: str
    old: str
    new: str


@dataclass
class PlanRow:
    number: int
    action: str
    full_name: str
    unit_label: str
    username: str = ""
    changes: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    user: User | None = None
    unit: Unit | None = None
    values: dict = field(default_factory=dict)  # what to write: create values or the changed fields


@dataclass
class Plan(PlanCounts):
    rows: list
    ACTIONS = ACTIONS

    @property
    def problems(self):
        return [p for row in self.rows for p in row.problems]


@dataclass
class ImportResult:
    plan: Plan
    roster_import: RosterImport
    accounts: list  # [{"full_name", "unit", "username", "password"}] of the new accounts
    sheet_paths: dict  # {"pdf": path, "xlsx": path} of the credentials sheet written


def action_label(action):
    return {
        "create": _("new"),
        "update": _("update"),
        "unchanged": _("unchanged"),
        "reject": _("rejected"),
    }[action]


# Reading the file ---------------------------------------------------------------------------

def file_sha256(data):
    return hashlib.sha256(data).hexdigest()


def parse_roster(data, filename, today, max_rows):
    """Read ``data`` (the bytes of ``filename``) into a Roster; raise RosterFileError for the file as a whole.

    Row-level problems (a bad date, a missing name...) are collected on each row.
    """
    filename = nfc(os.path.basename((filename or "").replace("\\", "/"))) or "roster"
    records = _read_records(data, filename)
    try:
        return _parse_records(records, filename, data, today, max_rows)
    finally:
        records.close()


def _parse_records(records, filename, data, today, max_rows):
    header_number, header_cells, before = _find_header(records)
    columns = {}
    for index, cell in enumerate(header_cells):
        field_name = _HEADER_KEYS.get(_header_key(cell))
        if field_name and field_name not in columns.values():
            columns[index] = field_name
    missing = [HEADER[f] for f in REQUIRED_FIELDS if f not in columns.values()]
    if missing:
        raise RosterFileError(_("The header row (row %(row)s) lacks the required columns: %(columns)s. "
                                "Download the template to see the expected headers.",
                                row=header_number, columns=", ".join(f'"{m}"' for m in missing)))
    rows = []
    for number, cells in itertools.chain(before, records):
        values = {f: (cells[i] if i < len(cells) else None) for i, f in columns.items()}
        if all(_text(v) == "" for v in values.values()):
            continue
        if len(rows) >= max_rows:
            raise RosterFileError(_("The file has more than %(max)s member rows. Split it into smaller files.",
                                    max=f"{max_rows:,}".replace(",", ".")))
        rows.append(_parse_row(number, values, today))
    if not rows:
        raise RosterFileError(_("The file has only the header row and no members. "
                                "Add one row per member below the header."))
    return Roster(filename=filename, sha256=file_sha256(data), rows=rows, columns=list(columns.values()))


def _read_records(data, filename):
    """A generator of (row number, list of cell values) from a CSV or XLSX file."""
    return read_records(data, filename, error=RosterFileError)


def _find_header(records):
    """The header row: the first with a full-name column among the first ten non-empty rows, else the first.

    Returns (row number, cells, data rows already read past the header).
    """
    return find_header(records, lambda cells: any(_HEADER_KEYS.get(_header_key(c)) == "full_name" for c in cells),
                       error=RosterFileError)


# Control characters but the whitespace ones (which become single spaces): invisible, they break matching.
_CONTROLS = re.compile("[\x00-\x08\x0e-\x1b\x7f]")
_WHITESPACE = re.compile(r"\s+")


def _text(value):
    """A cell as clean NFC text with single spaces; '' for an empty cell."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    text = unicodedata.normalize("NFC", sub_in_pieces(_CONTROLS, "", str(value).translate(_INVISIBLE)))
    return sub_in_pieces(_WHITESPACE, " ", text).strip()


def _parse_row(number, cells, today):
    row = RosterRow(number=number, values={})
    v = row.values

    name = _text(cells.get("full_name"))
    if not name:
        row.problem("full_name", _("this cell must not be empty"))
    elif len(name) > MAX_TEXT:
        row.problem("full_name", _("longer than %(n)s characters", n=MAX_TEXT))
    v["full_name"] = name or None

    username = _text(cells.get("username")).lower()
    if username and not USERNAME_RE.match(username):
        row.problem("username", _("'%(value)s' is not a valid username: use 3-64 lowercase letters without "
                                  "accents, digits, '.', '-' or '_'", value=excerpt(username)))
    v["username"] = username or None

    raw_date = cells.get("birth_date")
    v["birth_date"] = None
    if _text(raw_date):
        v["birth_date"] = _parse_date(raw_date, today, row)
    elif not username:
        row.problem("birth_date", _("this cell must not be empty (it tells apart people with the same name; "
                                    "fill in the username instead if the date is unknown)"))

    gender = _text(cells.get("gender"))
    v["gender"] = None
    if gender:
        v["gender"] = _GENDERS.get(ascii_fold(gender).lower())
        if v["gender"] is None:
            row.problem("gender", _("'%(value)s' is not a gender: write Nam or Nữ", value=excerpt(gender)))

    code = _text(cells.get("unit"))
    if not code:
        row.problem("unit", _("this cell must not be empty"))
    v["unit"] = code or None

    position = _text(cells.get("position"))
    if len(position) > MAX_TEXT:
        row.problem("position", _("longer than %(n)s characters", n=MAX_TEXT))
    v["position"] = position or None

    v["phone"] = _parse_phone(cells.get("phone"), row)

    email = _text(cells.get("email")).lower()
    if email and (len(email) > MAX_TEXT or not EMAIL_RE.match(email)):
        row.problem("email", _("'%(value)s' is not a valid email address", value=excerpt(email)))
    v["email"] = email or None
    return row


_GENDERS = {"nam": "male", "male": "male", "m": "male", "nu": "female", "female": "female", "f": "female"}
_DMY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
_YMD = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]00:00(?::00)?)?$")


def _parse_date(raw, today, row):
    """dd/mm/yyyy, d/m/yyyy, dd-mm-yyyy, dd.mm.yyyy, yyyy-mm-dd or an Excel date cell."""
    shown = _text(raw)
    if isinstance(raw, dt.datetime):
        value = raw.date()
    elif isinstance(raw, dt.date):
        value = raw
    else:
        value = None
        if isinstance(raw, str):
            try:
                if m := _DMY.match(shown):
                    value = dt.date(int(m[3]), int(m[2]), int(m[1]))
                elif m := _YMD.match(shown):
                    value = dt.date(int(m[1]), int(m[2]), int(m[3]))
            except ValueError:
                value = None
        if value is None:
            row.problem("birth_date", _("'%(value)s' is not a valid date", value=excerpt(shown)))
            return None
    if value > today:
        row.problem("birth_date", _("'%(value)s' is in the future", value=excerpt(shown)))
        return None
    if value.year < 1900:
        row.problem("birth_date", _("'%(value)s' is before 1900", value=excerpt(shown)))
        return None
    return value


def _parse_phone(raw, row):
    text = _text(raw)
    if not text:
        return None
    if isinstance(raw, (int, float)) and text.isdigit() and len(text) in (9, 10):
        text = "0" + text  # Excel dropped the leading zero of a number cell
    phone = normalise_phone(text)
    if not PHONE_RE.match(phone):
        row.problem("phone", _("'%(value)s' is not a phone number: write 10 or 11 digits starting with 0, "
                               "such as 0912345678", value=excerpt(text)))
        return None
    return phone


# Planning -----------------------------------------------------------------------------------

def _fold_name(name):
    return " ".join(nfc(name or "").casefold().split())


def _chunks(items, size=_CHUNK):
    items = list(items)
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _users_where(column, values):
    """Users (with their unit) whose ``column`` is in ``values``, in a few queries."""
    found = []
    for chunk in _chunks(values):
        found.extend(User.select(User, Unit).join(Unit, pw.JOIN.LEFT_OUTER).where(column.in_(chunk)))
    return found


def _load_grants(accounts):
    """Fill each account's grant cache in a few queries, so permission checks cost nothing per row."""
    for chunk in _chunks(accounts):
        load_grants(chunk)


def _taken_usernames(bases):
    taken = set()
    for chunk in _chunks(sorted(bases), 100):
        cond = reduce(operator.or_, [User.username.startswith(b) for b in chunk])
        taken.update(u for (u,) in User.select(User.username).where(cond).tuples())
    return taken


def unit_label(unit):
    return f"{unit.name} ({unit.code})" if unit else ""


def _show(field_name, value):
    if value is None or value == "":
        return "—"
    if field_name == "birth_date":
        return value.strftime("%d/%m/%Y")
    if field_name == "gender":
        return GENDER_LABELS.get(value, value)
    if field_name == "unit":
        return unit_label(value)
    return str(value)


def _same(field_name, old, new):
    if field_name == "unit":
        return old is not None and old.id == new.id
    return (old or None) == (new or None)


def plan_import(roster, actor):
    """What importing ``roster`` as ``actor`` (None: the command line) would do, row by row; writes nothing."""
    units = list(Unit.select())
    by_code = {u.code: u for u in units}
    by_folded_code = defaultdict(list)
    for u in units:
        by_folded_code[u.code.casefold()].append(u)

    rows = roster.rows
    by_username = {u.username: u for u in _users_where(User.username, {r.values["username"] for r in rows
                                                                       if r.values["username"]})}
    by_person = defaultdict(list)
    for u in _users_where(User.birth_date, {r.values["birth_date"] for r in rows if r.values["birth_date"]}):
        by_person[(_fold_name(u.full_name), u.birth_date)].append(u)
    if actor is not None:
        _load_grants(list(by_username.values()) + [u for group in by_person.values() for u in group])

    plan_rows = [_plan_row(r, actor, by_code, by_folded_code, by_username, by_person) for r in rows]
    _check_duplicates(plan_rows, rows)
    _suggest_usernames(plan_rows, rows)
    for pr in plan_rows:
        if pr.problems:
            pr.action = "reject"
    return Plan(rows=plan_rows)


def _plan_row(row, actor, by_code, by_folded_code, by_username, by_person):
    v = row.values
    problems = list(row.problems)
    pr = PlanRow(number=row.number, action="create", full_name=v["full_name"] or "",
                 unit_label=v["unit"] or "", username=v["username"] or "", problems=problems)

    def problem(field_name, message):
        problems.append(Problem(row.number, HEADER.get(field_name), message))

    unit = None
    if v["unit"]:
        unit = by_code.get(v["unit"])
        if unit is None and len(by_folded_code.get(v["unit"].casefold(), [])) == 1:
            unit = by_folded_code[v["unit"].casefold()][0]
        if unit is None:
            problem("unit", _("there is no unit with the code '%(code)s'", code=excerpt(v["unit"])))
        elif actor is not None and not permissions.can(actor, "members.manage", unit):
            problem("unit", _("you may not import members into the unit '%(code)s' (%(name)s): it is outside "
                              "the units you manage", code=unit.code, name=unit.name))
        else:
            pr.unit, pr.unit_label = unit, unit_label(unit)

    user = None
    person = (_fold_name(v["full_name"]), v["birth_date"]) if v["full_name"] and v["birth_date"] else None
    if v["username"]:
        user = by_username.get(v["username"])
        if user is None and person:
            namesakes = [u.username for u in by_person.get(person, [])]
            if namesakes:
                pr.notes.append(_("An account with the same name and date of birth already exists: %(usernames)s. "
                                  "Leave the username empty to update it instead of creating a new one.",
                                  usernames=", ".join(namesakes)))
    elif person:
        matches = by_person.get(person, [])
        if len(matches) > 1:
            listed = ", ".join(f"{u.username} ({u.unit.code if u.unit else '—'})" for u in matches)
            problems.append(Problem(row.number, None, _(
                "matches several accounts: %(accounts)s. Fill in the username to say which one.",
                accounts=listed)))
        elif matches:
            user = matches[0]

    if user is not None:
        pr.user, pr.username = user, user.username
        if actor is not None and not permissions.can(actor, "user.manage", user):
            if permissions.is_admin(user):
                problems.append(Problem(row.number, None, _(
                    "the account '%(username)s' is an admin account; the roster import cannot change it",
                    username=user.username)))
            else:
                problems.append(Problem(row.number, None, _(
                    "you may not change the account '%(username)s' (%(unit)s): it is outside the units you "
                    "manage or holds a role beyond them", username=user.username,
                    unit=unit_label(user.unit) or "—")))
        for f in PROFILE_FIELDS:
            new = unit if f == "unit" else v[f]
            if new is None:
                continue  # an empty cell leaves the value as it is
            old = getattr(user, f) if f != "unit" else user.unit
            if not _same(f, old, new):
                pr.changes.append(Change(HEADER[f], _show(f, old), _show(f, new)))
                pr.values[f] = new
        pr.action = "update" if pr.changes else "unchanged"
    else:
        pr.values = {f: (unit if f == "unit" else v[f]) for f in PROFILE_FIELDS}
    return pr


def _check_duplicates(plan_rows, rows):
    """Two rows about the same account or the same new person: both are rejected, each naming the other."""
    groups = defaultdict(list)
    for pr, row in zip(plan_rows, rows):
        v = row.values
        if pr.user is not None:
            groups[("user", pr.user.id)].append((pr, row))
        elif v["username"]:
            groups[("username", v["username"])].append((pr, row))
        elif v["full_name"] and v["birth_date"]:
            groups[("person", _fold_name(v["full_name"]), v["birth_date"])].append((pr, row))
    for key, members in groups.items():
        if len(members) < 2:
            continue
        for pr, row in members:
            others = [o for o, _r in members if o is not pr]
            numbers = ", ".join(str(o.number) for o in others)
            v = row.values
            if v["username"] and all(r.values["username"] == v["username"] for _o, r in members):
                pr.problems.append(Problem(pr.number, HEADER["username"], _(
                    "'%(username)s' is also in row %(rows)s", username=v["username"], rows=numbers)))
            elif v["username"] and any(_fold_name(r.values["full_name"]) != _fold_name(v["full_name"])
                                       for _o, r in members):
                pr.problems.append(Problem(pr.number, HEADER["username"], _(
                    "'%(username)s' is the account of %(names)s in row %(rows)s, another person",
                    username=v["username"], names=", ".join(o.full_name for o in others), rows=numbers)))
            elif key[0] == "user":
                pr.problems.append(Problem(pr.number, None, _(
                    "the same person (account '%(username)s') as row %(rows)s", username=pr.user.username,
                    rows=numbers)))
            else:
                pr.problems.append(Problem(pr.number, None, _(
                    "the same person (same full name and date of birth) as row %(rows)s", rows=numbers)))


def _suggest_usernames(plan_rows, rows):
    """Name the new accounts: given name + initials, never a name in use or claimed by another row."""
    wanted = [(pr, row) for pr, row in zip(plan_rows, rows)
              if pr.user is None and not row.values["username"] and row.values["full_name"]]
    if not wanted:
        return
    taken = _taken_usernames({username_base(row.values["full_name"]) for _pr, row in wanted})
    taken.update(r.values["username"] for r in rows if r.values["username"])
    for pr, row in wanted:
        pr.username = suggest_username(row.values["full_name"], taken, lookup=False)


# Applying -----------------------------------------------------------------------------------

def _new_passwords(n):
    """n (password, hash) pairs; argon2 releases the GIL, so a few threads share the ~40 ms per hash."""
    passwords = [generate_password() for _i in range(n)]
    if n < 4:
        return [(p, hash_password(p)) for p in passwords]
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        return list(zip(passwords, pool.map(hash_password, passwords)))


def apply_import(roster, actor, now, sheets_root, organisation, public_url, address=""):
    """Write ``roster`` as ``actor``: all rows or, when any row is rejected, none (ImportRejected).

    Passwords are hashed before the write transaction so that it stays short.
    Inside it the file is planned again, since the database may have changed
    since the preview. The credentials sheet of the new accounts is written under
    ``sheets_root``/<credentials_key>/ (the XLSX inside the transaction, the PDF
    right after).
    """
    if actor is not None and not permissions.can(actor, "members.manage"):
        raise DomainError(_("You may not import members."))
    credentials.purge_expired(sheets_root, now)
    preview = plan_import(roster, actor)
    if preview.rejected:
        raise ImportRejected(preview)
    prepared = _new_passwords(preview.counts["create"])

    folder = None
    try:
        with database.atomic():
            plan = plan_import(roster, actor)
            if plan.rejected:
                raise ImportRejected(plan)
            creates = [r for r in plan.rows if r.action == "create"]
            if len(prepared) < len(creates):
                prepared += _new_passwords(len(creates) - len(prepared))
            accounts = _create_accounts(creates, prepared, now)
            for pr in plan.rows:
                if pr.action == "update":
                    User.update(**pr.values).where(User.id == pr.user.id).execute()
            counts = plan.counts
            key = credentials.new_key() if accounts else ""
            roster_import = RosterImport.create(
                at=now, actor=actor, filename=roster.filename[:255], file_sha256=roster.sha256,
                created_count=counts["create"], updated_count=counts["update"],
                unchanged_count=counts["unchanged"], credentials_key=key,
                credentials_expire_at=now + credentials.LIFETIME if accounts else None)
            audit.record(actor, "roster.import", f"roster_import:{roster_import.id} {roster.filename}",
                         {"rows": len(plan.rows), "created": counts["create"], "updated": counts["update"],
                          "unchanged": counts["unchanged"], "sha256": roster.sha256}, address)
            data = None
            paths = {}
            if accounts:
                data = credentials.sheet_data(accounts, organisation, public_url, now)
                folder = credentials.folder(sheets_root, key)
                paths.update(credentials.write(folder, data, ("xlsx",)))
    except pw.IntegrityError:
        # Another import or an admin created the same username meanwhile (PostgreSQL
        # runs transactions side by side); the whole import was rolled back.
        if folder is not None:
            credentials.remove_folder(folder)
        raise DomainError(_("Another change to the same accounts happened at the same moment, so nothing was "
                            "imported. Please upload the file again.")) from None
    except BaseException:
        if folder is not None:
            credentials.remove_folder(folder)
        raise
    if data is not None:
        try:
            paths.update(credentials.write(folder, data, ("pdf",)))
        except Exception:  # the XLSX holds the same passwords; the result page offers what exists
            log.exception("credentials PDF for roster import %s failed", roster_import.id)
    return ImportResult(plan=plan, roster_import=roster_import, accounts=accounts, sheet_paths=paths)


def _create_accounts(creates, prepared, now):
    rows, accounts = [], []
    for pr, (password, password_hash) in zip(creates, prepared):
        v = pr.values
        rows.append({
            "username": pr.username, "full_name": v["full_name"], "birth_date": v["birth_date"],
            "gender": v["gender"], "unit": pr.unit.id, "position": v["position"] or "",
            "phone": v["phone"] or "", "email": v["email"] or "", "password_hash": password_hash,
            "must_change_password": True, "is_active": True, "session_token": secrets.token_hex(16),
            "created_at": now,
        })
        accounts.append({"full_name": v["full_name"], "unit": unit_label(pr.unit), "unit_id": pr.unit.id,
                         "username": pr.username, "password": password})
    for chunk in _chunks(rows, 50):
        User.insert_many(chunk).execute()
    return accounts


def recent_imports(actor, limit=10):
    """The latest imports ``actor`` may look at again: their own, or all for an admin."""
    query = RosterImport.select().order_by(RosterImport.at.desc(), RosterImport.id.desc()).limit(limit)
    if not permissions.is_admin(actor):
        query = query.where(RosterImport.actor == actor)
    return list(query)


# Uploads kept between the preview and the confirmation ---------------------------------------

def uploads_folder(instance_path):
    return os.path.join(instance_path, "imports")


def store_upload(folder, data, filename, actor_id, now):
    """Keep an uploaded file for the confirmation step; return (token, sha256)."""
    purge_uploads(folder, now)
    os.makedirs(folder, exist_ok=True)
    token = secrets.token_urlsafe(24)
    digest = file_sha256(data)
    meta = {"actor_id": actor_id, "filename": filename, "sha256": digest, "at": now.isoformat()}
    # The metadata first: a .bin without it is an orphan that purge_uploads may remove.
    with open(os.path.join(folder, f"{token}.json"), "w", encoding="utf-8") as fh:
        json.dump(meta, fh, ensure_ascii=False)
    with open(os.path.join(folder, f"{token}.bin"), "wb") as fh:
        fh.write(data)
    return token, digest


def load_upload(folder, token, sha256, actor_id):
    """The bytes and file name kept under ``token``, if ``actor_id`` uploaded them and they are unchanged."""
    gone = DomainError(_("The uploaded file is no longer available (files are kept for one day). "
                         "Please upload it again."))
    if not _TOKEN_RE.match(token or ""):
        raise gone
    try:
        with open(os.path.join(folder, f"{token}.json"), encoding="utf-8") as fh:
            meta = json.load(fh)
        with open(os.path.join(folder, f"{token}.bin"), "rb") as fh:
            data = fh.read()
    except (OSError, ValueError):
        raise gone from None
    if meta.get("actor_id") != actor_id or meta.get("sha256") != sha256 or file_sha256(data) != sha256:
        raise DomainError(_("This confirmation does not match the file you uploaded. Please upload it again."))
    return data, meta.get("filename") or "roster"


def discard_upload(folder, token):
    if _TOKEN_RE.match(token or ""):
        for ext in (".bin", ".json"):
            try:
                os.unlink(os.path.join(folder, token + ext))
            except FileNotFoundError:
                pass


def purge_uploads(folder, now):
    """Delete kept uploads older than a day, and files left without their metadata."""
    if not os.path.isdir(folder):
        return
    names = set(os.listdir(folder))
    for name in names:
        token, ext = os.path.splitext(name)
        path = os.path.join(folder, name)
        if ext == ".json":
            try:
                with open(path, encoding="utf-8") as fh:
                    at = dt.datetime.fromisoformat(json.load(fh)["at"])
            except (OSError, ValueError, KeyError, TypeError):
                at = None
            if at is None or now - at > UPLOAD_TTL:
                discard_upload(folder, token)
        elif ext == ".bin" and f"{token}.json" not in names:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass


# The template and the export -----------------------------------------------------------------

def members_xlsx(accounts, title):
    """The member list as shown on the roster page, for Excel; re-importable as a roster."""
    from ..documents import Sheet, xlsx_bytes

    headers = TEMPLATE_HEADERS[:]
    headers.insert(4, _("Unit name"))
    headers.append(_("Status"))
    rows = []
    for u in accounts:
        status = _("active") if u.is_active else _("locked")
        rows.append([u.full_name, u.birth_date.strftime("%d/%m/%Y") if u.birth_date else "",
                     GENDER_LABELS.get(u.gender, ""), u.unit.code if u.unit else "",
                     u.unit.name if u.unit else "", u.position, u.phone, u.email, u.username, status])
    sheet = Sheet(title=_("Members"), headers=headers, rows=rows,
                  widths=[28, 13, 10, 14, 36, 26, 15, 28, 16, 14], text_columns=[1, 3, 6, 8])
    return xlsx_bytes([sheet], title=title)


def template_units(actor):
    """The units ``actor`` may import into, in tree order."""
    allowed = {u.id for u in permissions.units_for(actor, "members.manage")} if actor is not None else None
    return [u for u in Unit.in_tree_order() if allowed is None or u.id in allowed]


def template_xlsx(units):
    """The roster template: headers, one example row, and a sheet listing the unit codes."""
    from ..documents import Sheet, xlsx_bytes

    members = Sheet(title=_("Members"), headers=TEMPLATE_HEADERS, rows=[_example(units)],
                    widths=[28, 14, 10, 16, 28, 16, 28, 18],
                    text_columns=[1, 3, 5, 7])  # dates, codes, phones and usernames stay text
    unit_sheet = Sheet(title=_("Unit codes"), headers=[_("Code"), _("Unit")],
                       rows=[[u.code, "    " * max(0, u.depth - min(x.depth for x in units)) + u.name]
                             for u in units],
                       widths=[18, 60], text_columns=[0])
    return xlsx_bytes([members, unit_sheet], title=_("Member list"))


def template_csv(units):
    from ..documents import csv_bytes

    return csv_bytes(TEMPLATE_HEADERS, [_example(units)])


def _example(units):
    cells = [u for u in units if u.kind == "cell"] or units
    row = list(EXAMPLE_ROW)
    row[3] = cells[0].code if cells else "CB01"
    return row
