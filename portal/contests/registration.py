"""Visitors' registration for a public contest: who they are, and the contest-only account it gives them.

A registrant gets an account with no unit: the unit they name is recorded on
the registration (for the organiser and the statistics) but does not make them
a member of it, so they see nothing of its members' pages. What they may do
comes from the hooks registered here in ``permissions``: take part in the
contests they registered for, and take those contests' rounds.
"""

import dataclasses
import datetime as dt
import re

import peewee as pw
from flask_babel import gettext as _

from ..accounts import audit, permissions
from ..accounts.models import Unit, User
from ..accounts.passwords import generate_password, hash_password
from ..db import Prepared, database, nfc
from ..errors import Conflict, DomainError
from ..quiz.models import Quiz
from .models import Contest, ContestUnit, Registration, Round

MIN_AGE, MAX_AGE = 10, 110
OTHER = "other"  # the unit picker's "Khác (ghi rõ)": the unit is written in by hand
VIETNAM = dt.timezone(dt.timedelta(hours=7))  # no daylight saving: dates of birth are Vietnamese dates

# Vietnamese mobile numbers: 10 digits, 03x, 05x, 07x, 08x, 09x (after +84 / 84 became 0).
MOBILE_RE = re.compile(r"^0[35789]\d{8}$")
ID_NUMBER_RE = re.compile(r"^\d{12}$")
_DMY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
_YMD = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_DDMMYYYY = re.compile(r"^(\d{2})(\d{2})(\d{4})$")  # 17051985: typed on a keypad without "/"


@dataclasses.dataclass
class RegistrationInput:
    """What the visitor typed; the shapes are checked and normalised by ``clean``."""

    full_name: str = ""
    birth_date: object = None  # a date, or text as typed (yyyy-mm-dd or dd/mm/yyyy)
    gender: str = ""
    unit: str = ""  # a unit id, or OTHER
    other_unit: str = ""
    phone: str = ""
    id_number: str = ""


class RegistrationInvalid(DomainError):
    """One or more fields are wrong; ``errors`` maps each field to its message (the first is the message)."""

    def __init__(self, errors):
        field, message = next(iter(errors.items()))
        super().__init__(message, field=field)
        self.errors = errors


@dataclasses.dataclass
class Registered:
    registration: Registration
    user: User
    password: str  # shown once, never stored


# -- the contest's side ------------------------------------------------------------------------------

def local_today(now):
    return now.replace(tzinfo=dt.timezone.utc).astimezone(VIETNAM).date()


def is_open_for_registration(contest, now):
    """A published public contest takes registrations until it ends."""
    return bool(contest.is_public and contest.is_published and (contest.ends_at is None or now < contest.ends_at))


def check_open(contest, now):
    if not (contest.is_public and contest.is_published):
        raise DomainError(_("This contest does not take registrations."))
    if contest.ends_at is not None and now >= contest.ends_at:
        raise DomainError(_("Registration for this contest has closed."))


def eligible_units(contest):
    """The units a registrant may name: the contest's eligible subtrees (the owner's when not narrowed), in tree
    order."""
    scope_ids = [cu.unit_id for cu in ContestUnit.select(ContestUnit.unit).where(ContestUnit.contest == contest.id)]
    scopes = list(Unit.select().where(Unit.id.in_(scope_ids))) if scope_ids else [contest.owner_unit]
    return [u for u in Unit.in_tree_order() if any(u.is_within(s) for s in scopes)]


# -- checking the input ------------------------------------------------------------------------------

def normalise_phone(text):
    """'+84 912 345 678', '84912345678', '0912.345.678' -> '0912345678' (not checked)."""
    digits = re.sub(r"[\s.()-]", "", nfc(text or ""))
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) == 11:
        digits = "0" + digits[2:]
    return digits


def parse_birth_date(value):
    """A date from a date object or text (dd/mm/yyyy, dd.mm.yyyy, ddmmyyyy or yyyy-mm-dd); None if not one."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = nfc(value or "")
    try:
        if m := _YMD.match(text):
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        if m := _DMY.match(text) or _DDMMYYYY.match(text):
            return dt.date(int(m[3]), int(m[2]), int(m[1]))
    except ValueError:
        return None
    return None


def age_on(birth_date, day):
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def clean(contest, data, now, units=None):
    """Check ``data`` (RegistrationInput) for ``contest``; return the registration's values.

    Raises RegistrationInvalid naming every wrong field. ``units``: the
    contest's eligible units when the caller already has them.
    """
    errors = {}
    values = {}

    full_name = re.sub(r"\s+", " ", nfc(data.full_name or ""))
    if not full_name:
        errors["full_name"] = _("Full name: this field is required.")
    elif len(full_name) > 255:
        errors["full_name"] = _("Full name: at most %(n)s characters.", n=255)
    values["full_name"] = full_name

    raw_birth = data.birth_date
    birth_date = parse_birth_date(raw_birth)
    today = local_today(now)
    if raw_birth in (None, "") or (isinstance(raw_birth, str) and not raw_birth.strip()):
        errors["birth_date"] = _("Date of birth: this field is required.")
    elif birth_date is None:
        errors["birth_date"] = _("Date of birth: enter a real date, for example 17/05/1985.")
    elif birth_date >= today:
        errors["birth_date"] = _("Date of birth: the date must be in the past.")
    elif not MIN_AGE <= age_on(birth_date, today) <= MAX_AGE:
        errors["birth_date"] = _("Date of birth: contestants must be from %(min)s to %(max)s years old.",
                                 min=MIN_AGE, max=MAX_AGE)
    values["birth_date"] = birth_date

    gender = (data.gender or "").strip()
    if gender not in User.GENDERS:
        errors["gender"] = _("Gender: choose male or female.")
    values["gender"] = gender

    picked = (data.unit or "").strip()
    other_unit = re.sub(r"\s+", " ", nfc(data.other_unit or ""))
    values["unit"], values["other_unit"] = None, ""
    if picked == OTHER:
        if not other_unit:
            errors["other_unit"] = _("Unit: write the name of your unit.")
        elif len(other_unit) > 255:
            errors["other_unit"] = _("Unit: at most %(n)s characters.", n=255)
        values["other_unit"] = other_unit
    elif not picked:
        errors["unit"] = _("Unit: choose your unit from the list, or \"Other\" and write it in.")
    else:
        allowed = {u.id: u for u in (units if units is not None else eligible_units(contest))}
        unit = allowed.get(int(picked)) if picked.isascii() and picked.isdigit() else None
        if unit is None:
            errors["unit"] = _("Unit: choose your unit from the list, or \"Other\" and write it in.")
        values["unit"] = unit

    phone = normalise_phone(data.phone)
    if not phone:
        errors["phone"] = _("Phone: this field is required.")
    elif not MOBILE_RE.match(phone):
        errors["phone"] = _("Phone: enter a Vietnamese mobile number of 10 digits starting with 03, 05, 07, 08 "
                            "or 09, for example 0912345678.")
    values["phone"] = phone

    id_number = re.sub(r"[\s.-]", "", nfc(data.id_number or ""))
    if id_number and not ID_NUMBER_RE.match(id_number):
        errors["id_number"] = _("CCCD: the citizen ID number has 12 digits.")
    values["id_number"] = id_number or None

    if errors:
        raise RegistrationInvalid(errors)
    return values


# -- registering ------------------------------------------------------------------------------------

def _already_registered(contest, phone, id_number):
    """The field already registered for ``contest`` with this phone or ID number, with its message; else None."""
    cond = Registration.phone == phone
    if id_number:
        cond |= Registration.id_number == id_number
    taken = list(Registration.select(Registration.phone, Registration.id_number)
                 .where(Registration.contest == contest.id, cond))
    if any(r.phone == phone for r in taken):
        return "phone", _("Phone: this phone number is already registered for this contest. Log in with the "
                          "account given at registration.")
    if taken:
        return "id_number", _("CCCD: this citizen ID number is already registered for this contest.")
    return None


def username_for(contest, phone):
    return f"ht{contest.id}-{phone}"


def _free_username(base):
    """``base``, or base-2, base-3… when an account (of a registration since deleted) holds it."""
    taken = {u for (u,) in User.select(User.username).where(
        (User.username == base) | User.username.startswith(base + "-")).tuples()}
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def register(contest, data, address, now):
    """Register a visitor for a public contest; return Registered with the one-time password.

    One registration per phone number and per ID number in a contest (the
    unique indexes settle a race the same way). The account has no unit and a
    generated password the registrant is shown once.
    """
    check_open(contest, now)
    values = clean(contest, data, now)
    duplicate = _already_registered(contest, values["phone"], values["id_number"])
    if duplicate:
        raise Conflict(duplicate[1], field=duplicate[0])
    password = generate_password()
    password_hash = hash_password(password)  # slow on purpose: outside the transaction
    address = (address or "")[:64]
    try:
        with database.atomic():
            user = User.create(username=_free_username(username_for(contest, values["phone"])),
                               full_name=values["full_name"], birth_date=values["birth_date"],
                               gender=values["gender"], unit=None, phone=values["phone"],
                               password_hash=password_hash, must_change_password=False, created_at=now)
            registration = Registration.create(contest=contest, user=user, address=address, created_at=now,
                                               **values)
            audit.record(user, "contest.register", f"contest:{contest.id} {contest.title}",
                         {"registration": registration.id, "username": user.username,
                          "unit": values["unit"].code if values["unit"] else values["other_unit"]}, address)
    except pw.IntegrityError:
        # Another request registered the same phone or ID number between the check and the insert.
        duplicate = _already_registered(contest, values["phone"], values["id_number"])
        if duplicate:
            raise Conflict(duplicate[1], field=duplicate[0]) from None
        raise Conflict(_("The registration could not be saved. Please try again.")) from None
    return Registered(registration, user, password)


# -- what a registration allows ------------------------------------------------------------------------

_REGISTERED = Prepared(lambda mark: (
    Registration.select(Registration.contest, Round.quiz)
    .join(Contest, on=(Registration.contest == Contest.id))
    .join(Round, pw.JOIN.LEFT_OUTER, on=(Round.contest == Contest.id))
    .where(Registration.user == mark, Contest.is_public == True,  # noqa: E712
           Contest.is_published == True)))  # noqa: E712


def _registered(user):
    """(contest ids, quiz ids of their rounds) of the published public contests ``user`` registered for.

    One query (its SQL prepared once: every permission check on a quiz asks), kept on the user object
    (loaded afresh for each request).
    """
    cached = getattr(user, "_contest_registrations", None)
    if cached is None:
        contests, quizzes = set(), set()
        if getattr(user, "id", None) is not None:
            for contest_id, quiz_id in _REGISTERED.tuples(user.id):
                contests.add(contest_id)
                if quiz_id is not None:
                    quizzes.add(quiz_id)
        cached = user._contest_registrations = (frozenset(contests), frozenset(quizzes))
    return cached


def forget(user):
    """Drop what ``_registered`` cached on this user object."""
    user._contest_registrations = None


def registered_entrant(user, contest):
    """permissions.CONTEST_ENTRANTS: registered for this (published, public) contest."""
    return contest is not None and contest.id in _registered(user)[0]


def registered_taker(user, quiz):
    """permissions.EXTRA_TAKERS: the quiz is a round of a published public contest the user registered for."""
    return quiz is not None and quiz.id in _registered(user)[1]


def registrations_of(user):
    """The user's registrations for published public contests, newest contest first, with their rounds.

    Two queries: the registrations with their contests, then the rounds with their quizzes.
    """
    regs = list(Registration.select(Registration, Contest)
                .join(Contest, on=(Registration.contest == Contest.id))
                .where(Registration.user == user.id, Contest.is_public == True,  # noqa: E712
                       Contest.is_published == True)  # noqa: E712
                .order_by(Contest.id.desc()))
    rounds = {}
    if regs:
        for round_ in (Round.select(Round, Quiz).join(Quiz, on=(Round.quiz == Quiz.id))
                       .where(Round.contest.in_([r.contest_id for r in regs]))
                       .order_by(Round.contest, Round.number)):
            rounds.setdefault(round_.contest_id, []).append(round_)
    for reg in regs:
        reg.rounds = rounds.get(reg.contest_id, [])
    return regs



# -- the organiser's list ----------------------------------------------------------------------------

def search(contest, text=None, address=None):
    """The registrations for ``contest`` (newest first, with .user and .unit) matching a name, phone or ID number
    fragment and, when given, coming from ``address``."""
    query = (Registration.select(Registration, User, Unit)
             .join(User, on=(Registration.user == User.id))
             .switch(Registration)
             .join(Unit, pw.JOIN.LEFT_OUTER, on=(Registration.unit == Unit.id))
             .where(Registration.contest == contest.id)
             .order_by(Registration.created_at.desc(), Registration.id.desc()))
    text = re.sub(r"\s+", " ", nfc(text or ""))
    if text:
        cond = Registration.full_name.contains(text) | (Registration.full_name ** f"%{text}%")
        digits = normalise_phone(text)
        if digits.isdigit():
            cond |= Registration.phone.contains(digits) | Registration.id_number.contains(digits)
        query = query.where(cond)
    if address:
        query = query.where(Registration.address == address)
    return query


def csv_headers():
    return [_("No."), _("Full name"), _("Date of birth"), _("Gender"), _("Unit"), _("Phone"), _("CCCD"),
            _("Username"), _("Registered at"), _("Network address")]


def csv_row(number, registration, gender_labels, format_time):
    """One registration as CSV cells (made formula-safe by the writer)."""
    unit = registration.unit.name if registration.unit_id and registration.unit else registration.other_unit
    return [number, registration.full_name, registration.birth_date.strftime("%d/%m/%Y"),
            gender_labels.get(registration.gender, ""), unit, registration.phone, registration.id_number or "",
            registration.user.username, format_time(registration.created_at), registration.address]

if registered_entrant not in permissions.CONTEST_ENTRANTS:
    permissions.CONTEST_ENTRANTS.append(registered_entrant)
if registered_taker not in permissions.EXTRA_TAKERS:
    permissions.EXTRA_TAKERS.append(registered_taker)
