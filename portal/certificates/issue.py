"""Issuing certificates: verification codes, the wording's placeholders, designs, the frozen snapshot,
and the life of a certificate (issued, corrected by a new version, revoked).

Everything printed on a certificate is copied into ``Certificate.data`` when it is issued (see
``snapshot``), so editing the design or renaming the member later never changes a certificate already
given. Placeholders in a wording are filled from a plain dict by ``fill``, which accepts bare names only:
an organiser's text is never evaluated as a template.
"""

import dataclasses
import datetime as dt
import json
import os
import re
import secrets
import string
import unicodedata
import uuid
from zoneinfo import ZoneInfo

import peewee as pw
from flask import current_app, has_app_context
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..accounts import audit, permissions
from ..accounts.models import AuditLog, Unit, User
from ..db import database, lock_rows, nfc
from ..errors import Conflict, DomainError
from . import assets
from .models import Certificate, Design

# -- codes ---------------------------------------------------------------------------------------

# Crockford's base32: no I, L, O (read as 1, 1, 0) and no U. 10 symbols = 50 random bits.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 10
_CONFUSABLE = str.maketrans({"O": "0", "I": "1", "L": "1"})


def new_codes(count):
    """``count`` fresh codes, unused in the database and distinct from each other."""
    codes = set()
    while len(codes) < count:
        batch = {"".join(secrets.choice(CODE_ALPHABET) for _i in range(CODE_LENGTH))
                 for _j in range(count - len(codes))} - codes
        for chunk in _chunks(sorted(batch), 500):
            # A collision with an issued code is all but impossible, but must never mean two of one code.
            batch -= {c.code for c in Certificate.select(Certificate.code).where(Certificate.code.in_(chunk))}
        codes |= batch
    return list(codes)


def normalise_code(text):
    """The code as stored: upper case, no dashes or spaces, O read as 0 and I/L as 1.

    A pasted verification address works too: only its last path segment is read.
    """
    text = unicodedata.normalize("NFKC", text or "").strip().split("?")[0].rstrip("/")
    text = text.rsplit("/", 1)[-1]
    return re.sub(r"[^0-9A-Z]", "", text.upper()).translate(_CONFUSABLE)


def find(code_text):
    """The certificate with this code, however it was typed; None when there is none."""
    code = normalise_code(code_text)
    if len(code) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in code):
        return None
    return Certificate.get_or_none(Certificate.code == code)


def display_code(code):
    return f"{code[:5]}-{code[5:]}" if len(code) == CODE_LENGTH else code


# -- placeholders --------------------------------------------------------------------------------

PLACEHOLDERS = {
    "ho_ten": _l("Full name"),
    "don_vi": _l("Unit"),
    "giai": _l("Prize"),
    "vong": _l("Round"),
    "hoi_thi": _l("Contest"),
    "nam": _l("Year"),
}

# Design fields as the organiser reads them; the forms use the same labels, and errors name them.
DESIGN_LABELS = {
    "name": _l("Design name"),
    "header": _l("Header variant"),
    "superior_body": _l("Superior committee"),
    "issuing_committee": _l("Issuing committee"),
    "issuing_body": _l("Issuing body"),
    "merit_achievement": _l("Wording of certificates of merit"),
    "participation_achievement": _l("Wording of certificates of participation"),
    "decision_number": _l("Decision number"),
    "decision_date": _l("Decision date"),
    "golden_book": _l("Number the certificates in the golden book"),
    "next_golden_book_number": _l("Next golden book number"),
    "place": _l("Place"),
    "signer_on_behalf": _l("On behalf of"),
    "signer_title": _l("Signer's title"),
    "signer_name": _l("Signer's name"),
    "border": _l("Border or background image"),
    "logo": _l("Logo"),
    "owner_unit": _l("Owner unit"),
}
HEADER_LABELS = {
    "party": _l("Party: ĐẢNG CỘNG SẢN VIỆT NAM, with the superior and issuing committees on the left"),
    "state": _l("State: CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM / Độc lập - Tự do - Hạnh phúc"),
}
KIND_LABELS = {"merit": _l("Certificate of merit"), "participation": _l("Certificate of participation")}
STATUS_LABELS = {"valid": _l("Valid"), "revoked": _l("Revoked"), "replaced": _l("Replaced by a newer version")}
# Printed titles: document text, in the recipients' language.
TITLES = {"merit": "GIẤY KHEN", "participation": "GIẤY CHỨNG NHẬN"}
PERSON_PREFIX = "Đồng chí"

# Stored defaults for a new design (document text, not interface text).
DEFAULT_WORDINGS = {
    "merit_achievement": "Đã có thành tích xuất sắc trong {hoi_thi}, đạt {giai} {vong}.",
    "participation_achievement": "Đã tích cực tham gia {hoi_thi}, {vong}.",
}
# The values a wording is checked with and the preview shows.
SAMPLE = {
    "ho_ten": "Nguyễn Thị Ngọc Hưởng",
    "don_vi": "Chi bộ thôn Đông Lâm, Đảng bộ xã Bình Lâm",
    "giai": "Giải Nhất",
    "vong": "Tuần 1",
    "hoi_thi": "Hội thi tìm hiểu lịch sử Đảng bộ huyện",
    "nam": "2025",
}
SAMPLE_CODE = "K7Q2M9XMAB"

MAX_WORDING = 1000  # about six lines on the page
MAX_REASON = 1000
TEXT_LIMITS = {
    "name": 255, "superior_body": 255, "issuing_committee": 255, "issuing_body": 255,
    "merit_achievement": MAX_WORDING, "participation_achievement": MAX_WORDING, "decision_number": 64,
    "place": 128, "signer_on_behalf": 128, "signer_title": 128, "signer_name": 128,
}
DESIGN_FIELDS = tuple(TEXT_LIMITS) + ("header", "decision_date", "golden_book", "next_golden_book_number",
                                      "border", "logo")
EARLIEST_DECISION = dt.date(1945, 1, 1)


def _label(field):
    return str(DESIGN_LABELS.get(field) or CORRECTION_LABELS.get(field) or _("Wording"))


def _known():
    return ", ".join(f"{{{name}}} ({label})" for name, label in PLACEHOLDERS.items())


def _lone_brace(template):
    """(position, brace) of the first brace that opens or closes nothing, or None."""
    i = 0
    while i < len(template):
        char = template[i]
        if char == "{":
            if template.startswith("{{", i):
                i += 2
                continue
            close, reopen = template.find("}", i + 1), template.find("{", i + 1)
            if close == -1 or -1 < reopen < close:
                return i, "{"
            i = close + 1
        elif char == "}":
            if template.startswith("}}", i):
                i += 2
                continue
            return i, "}"
        else:
            i += 1
    return None


def _brace_error(template, field):
    where, brace = _lone_brace(template) or (len(template), "{")
    near = template[max(0, where - 20):where + 20].strip()
    if brace == "{":
        message = _('%(field)s: the brace "{" near "%(near)s" is never closed. Write placeholders as {ho_ten}; '
                    'for a brace itself write {{.', field=_label(field), near=near)
    else:
        message = _('%(field)s: the brace "}" near "%(near)s" closes nothing. Write placeholders as {ho_ten}; '
                    'for a brace itself write }}.', field=_label(field), near=near)
    return DomainError(message, field=field)


def fill(template, values, field="achievement"):
    """``template`` with each {name} replaced by ``values[name]`` (missing values print as nothing).

    Only the bare names of PLACEHOLDERS are accepted: no attribute or index access ({ho_ten.__class__},
    {0}), no conversion ({ho_ten!r}) and no format specification ({giai:>10}), so an organiser's text can
    never reach into Python objects. A DomainError names the placeholder or the brace at fault.
    """
    template = template or ""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError:
        raise _brace_error(template, field) from None
    out = []
    for literal, name, spec, conversion in parts:
        out.append(literal)
        if name is None:
            continue
        written = "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
        name = name.strip()
        if conversion or spec:
            raise DomainError(_("%(field)s: %(written)s is not allowed; write only the placeholder's name, "
                                "for example {%(name)s}.", field=_label(field), written=written,
                                name=name if name in PLACEHOLDERS else "ho_ten"), field=field)
        if not name:
            raise DomainError(_("%(field)s: empty braces {} are not a placeholder. Use one of: %(known)s.",
                                field=_label(field), known=_known()), field=field)
        if name not in PLACEHOLDERS:
            raise DomainError(_("%(field)s: %(written)s is not a placeholder. Use one of: %(known)s.",
                                field=_label(field), written=written, known=_known()), field=field)
        value = values.get(name)
        out.append("" if value is None else str(value))
    return _tidy("".join(out))


def _tidy(text):
    """One space between words, none before punctuation, no comma left before a full stop: an empty value
    leaves no trace ("trong {hoi_thi}, {vong}." without a round reads "trong Hội thi X.")."""
    lines = []
    for line in text.replace("\r\n", "\n").split("\n"):
        line = re.sub(r"\s+([,.;:!?)])", r"\1", re.sub(r"[ \t\u00a0]+", " ", line))
        lines.append(re.sub(r"[,;:]+([.,;:!?])", r"\1", line).strip())
    return "\n".join(line for line in lines if line)


def placeholders_in(template):
    """The placeholder names a (valid) wording uses, in order."""
    return [name.strip() for _lit, name, _s, _c in string.Formatter().parse(template or "") if name]


# -- time and units ------------------------------------------------------------------------------

def _zone():
    name = current_app.config.get("BABEL_DEFAULT_TIMEZONE") if has_app_context() else None
    return ZoneInfo(name or "Asia/Ho_Chi_Minh")


def local_date(now):
    """The portal's calendar date at ``now`` (a naive UTC or an aware time)."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.timezone.utc)
    return now.astimezone(_zone()).date()


def _utc(now):
    """``now`` as the naive UTC the database stores."""
    return now.astimezone(dt.timezone.utc).replace(tzinfo=None) if now.tzinfo is not None else now


def unit_line(unit):
    """A member's unit as printed: the cell and the committee above it ("Chi bộ …, Đảng bộ …")."""
    if unit is None:
        return ""
    parent = unit.parent if unit.parent_id else None
    return f"{unit.name}, {parent.name}" if parent is not None else unit.name


def _may_manage(actor, obj):
    return actor is None or permissions.can(actor, "certificate.manage", obj)


def _require_manage(actor, obj):
    if not _may_manage(actor, obj):
        raise DomainError(_("You do not manage the certificates of this unit."))


# -- designs -------------------------------------------------------------------------------------

def default_design_values(owner_unit=None):
    """The values a new design starts with."""
    return {"name": "", "header": "party", "superior_body": "",
            "issuing_committee": owner_unit.name.upper() if owner_unit is not None else "", "issuing_body": "",
            **DEFAULT_WORDINGS, "decision_number": "", "decision_date": None, "golden_book": False,
            "next_golden_book_number": 1, "place": "", "signer_on_behalf": "", "signer_title": "",
            "signer_name": "", "border": None, "logo": None}


def design_values(design):
    """The stored values of ``design``, keyed as save_design takes them."""
    return {name: getattr(design, name) for name in DESIGN_FIELDS}


def _text(value, multiline=False):
    text = nfc(str(value if value is not None else ""))
    if multiline:
        return "\n".join(" ".join(line.split()) for line in text.replace("\r\n", "\n").split("\n")).strip()
    return " ".join(text.split())


def parse_date(value, field, label=None):
    """A date from a date, an ISO string or dd/mm/yyyy; None for blank. DomainError names ``field``."""
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            pass
    raise DomainError(_("%(field)s: enter a real date, for example 26/05/2025.", field=label or _label(field)),
                      field=field)


def _check_decision_date(value, today, field="decision_date"):
    if value is None:
        return None
    if value < EARLIEST_DECISION or value > today + dt.timedelta(days=366):
        raise DomainError(_("%(field)s: %(date)s cannot be right; check the year.", field=_label(field),
                            date=value.strftime("%d/%m/%Y")), field=field)
    return value


def _image(actor, value, owner_unit, field, address=""):
    """An Asset for the design: kept or given (an Asset), uploaded now (bytes: checked and stored), or None."""
    if value is None or value == b"":
        return None
    if isinstance(value, (bytes, bytearray)):
        try:
            return assets.store_image(actor, bytes(value), owner_unit, address=address)
        except DomainError as exc:
            raise DomainError(f"{_label(field)}: {exc}", field=field) from None
    # Assets are shared by content: the same border uploaded by two committees is one Asset, owned by the first.
    return value


def check_design(actor, values, owner_unit, now):
    """A cleaned copy of ``values`` (every design field), or a DomainError naming the field at fault."""
    unknown = set(values) - set(DESIGN_FIELDS)
    if unknown:
        raise TypeError(f"not design fields: {', '.join(sorted(unknown))}")
    if owner_unit is None or not _may_manage(actor, owner_unit):
        raise DomainError(_("%(field)s: choose one of the units you manage.", field=_label("owner_unit")),
                          field="owner_unit")
    clean = {}
    for name, limit in TEXT_LIMITS.items():
        clean[name] = _text(values.get(name), multiline=name.endswith("_achievement"))
        if len(clean[name]) > limit:
            raise DomainError(_("%(field)s: at most %(n)s characters (now %(length)s).", field=_label(name),
                                n=limit, length=len(clean[name])), field=name)
    for name in ("name", "issuing_body"):
        if not clean[name]:
            raise DomainError(_("%(field)s: this field is required.", field=_label(name)), field=name)
    header = values.get("header") or "party"
    if header not in Design.HEADERS:
        raise DomainError(_("%(field)s: choose the party or the state header.", field=_label("header")),
                          field="header")
    clean["header"] = header
    if header == "party" and not clean["issuing_committee"]:
        raise DomainError(_("%(field)s: the party header names the issuing committee, for example "
                            "HUYỆN ỦY HIỆP ĐỨC.", field=_label("issuing_committee")), field="issuing_committee")
    for name in DEFAULT_WORDINGS:
        fill(clean[name], SAMPLE, field=name)
    if not clean["merit_achievement"] and not clean["participation_achievement"]:
        raise DomainError(_("%(field)s: write the wording of at least one kind of certificate.",
                            field=_label("merit_achievement")), field="merit_achievement")
    clean["decision_date"] = _check_decision_date(parse_date(values.get("decision_date"), "decision_date"),
                                                  local_date(now))
    if clean["decision_number"] and clean["decision_date"] is None:
        raise DomainError(_("%(field)s: give the date of decision %(number)s.", field=_label("decision_date"),
                            number=clean["decision_number"]), field="decision_date")
    if clean["decision_date"] is not None and not clean["decision_number"]:
        raise DomainError(_("%(field)s: give the number of the decision dated %(date)s.",
                            field=_label("decision_number"), date=clean["decision_date"].strftime("%d/%m/%Y")),
                          field="decision_number")
    clean["golden_book"] = bool(values.get("golden_book"))
    number = values.get("next_golden_book_number", 1)
    try:
        number = int(str(number).strip() or 1)
    except ValueError:
        number = 0
    if not 1 <= number <= 10_000_000:
        raise DomainError(_("%(field)s: a whole number from 1.", field=_label("next_golden_book_number")),
                          field="next_golden_book_number")
    clean["next_golden_book_number"] = number
    return clean


def _audit_value(value):
    if value is None or isinstance(value, (str, int, bool)):
        return value
    if isinstance(value, dt.date):
        return value.isoformat()
    return getattr(value, "sha256", str(value))[:12]


def save_design(actor, design, values, owner_unit, now, address=""):
    """Create (``design`` None) or change a design from ``values``; fields not given keep their value.

    ``values`` holds design fields; "border" and "logo" take an Asset, uploaded bytes (checked and stored
    here) or None to remove. Raises DomainError naming the field; nothing is stored then.
    """
    if design is not None:
        _require_manage(actor, design)
    merged = {**(design_values(design) if design is not None else default_design_values(owner_unit)), **values}
    images = {k: merged.pop(k) for k in ("border", "logo")}
    clean = check_design(actor, merged, owner_unit, now)
    with database.atomic():
        for field, value in images.items():
            clean[field] = _image(actor, value, owner_unit, field, address)
        created = design is None
        before = design_values(design) if not created else {}
        changes = {k: [_audit_value(before.get(k)), _audit_value(clean[k])] for k in DESIGN_FIELDS
                   if _audit_value(before.get(k)) != _audit_value(clean[k])}
        if not created and design.owner_unit_id != owner_unit.id:
            changes["unit"] = [design.owner_unit.name, owner_unit.name]
        if created:
            design = Design(created_at=_utc(now))
        design.owner_unit = owner_unit
        for name in DESIGN_FIELDS:
            setattr(design, name, clean[name])
        design.updated_at = _utc(now)
        design.save()
        if created or changes:
            details = ({"created": True, "name": clean["name"], "unit": owner_unit.name} if created
                       else changes)
            audit.record(actor, "certificate.design", f"design:{design.id} {design.name}", details, address)
    return design


def designs_for(user):
    """The designs of the units ``user`` manages certificates for, by name."""
    units = permissions.units_for(user, "certificate.manage")
    return list(Design.select().where(Design.owner_unit.in_(units.select(Unit.id))).order_by(Design.name, Design.id))


# -- recipients and the snapshot -----------------------------------------------------------------

@dataclasses.dataclass
class Recipient:
    """Who gets a certificate and what for.

    ``source`` names what it is given for ("contest:1/round:2/award:17"); one valid certificate per source.
    ``name`` and ``unit_line`` default to the user's (or unit's) current ones, frozen at issue. ``values``
    gives the placeholders ({giai}, {vong}, {hoi_thi}, {nam}, or prize/round/contest) and may hold
    "achievement" (a wording of its own instead of the design's) and "recipient_prefix".
    """

    kind: str
    source: str
    user: User = None
    unit: Unit = None
    name: str = None
    unit_line: str = None
    values: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        if self.kind not in Certificate.KINDS:
            raise ValueError(f"certificate kind: {self.kind!r}")
        if self.user is not None and self.unit is not None:
            raise ValueError("a certificate goes to a person or to a unit, not both")
        if self.name is None:
            self.name = (self.user.full_name if self.user is not None
                         else self.unit.name if self.unit is not None else "")
        if self.unit_line is None:
            if self.user is not None:
                self.unit_line = unit_line(self.user.unit if self.user.unit_id else None)
            elif self.unit is not None and self.unit.parent_id:
                self.unit_line = self.unit.parent.name
            else:
                self.unit_line = ""
        self.name, self.unit_line = _text(self.name), _text(self.unit_line)

    @property
    def is_person(self):
        return self.unit is None


# Printed snapshot keys and the placeholders that say the same thing.
_PRINTED = {"prize": "giai", "round": "vong", "contest": "hoi_thi"}


def snapshot(design, recipient, code, now, public_url, golden_book_number=""):
    """Every value printed on the certificate, as primitives (what render.py receives)."""
    values, kind = recipient.values or {}, recipient.kind
    date = local_date(now)
    if not recipient.name:
        raise DomainError(_("The recipient's name is missing (%(source)s).", source=recipient.source),
                          field="recipient_name")
    printed = {key: _text(values[key] if key in values else values.get(ph)) for key, ph in _PRINTED.items()}
    filled = {"ho_ten": recipient.name, "don_vi": recipient.unit_line, "nam": str(date.year),
              **{ph: printed[key] for key, ph in _PRINTED.items()}}
    filled.update({k: _text(v) for k, v in values.items() if k in PLACEHOLDERS and v is not None})
    own = values.get("achievement")
    field = "achievement" if own else f"{kind}_achievement"
    wording = own or getattr(design, field)
    if not (wording or "").strip():
        raise DomainError(_("The design %(design)s has no wording for the %(kind)s; write it on the design page.",
                            design=design.name, kind=str(KIND_LABELS[kind]).lower()), field=field)
    achievement = fill(wording, filled, field=field)
    prefix = values.get("recipient_prefix")
    return {
        "kind": kind,
        "header": design.header,
        "superior_body": design.superior_body,
        "issuing_committee": design.issuing_committee,
        "issuing_body": design.issuing_body,
        "title": TITLES[kind],
        "recipient_prefix": _text(prefix) if prefix is not None else (PERSON_PREFIX if recipient.is_person else ""),
        "recipient_name": recipient.name,
        "recipient_unit": recipient.unit_line,
        "achievement": achievement,
        "contest": printed["contest"],
        "round": printed["round"],
        "prize": printed["prize"],
        "decision_number": design.decision_number,
        "decision_date": design.decision_date.isoformat() if design.decision_date else "",
        "golden_book_number": str(golden_book_number or ""),
        "place": design.place,
        "date": date.isoformat(),
        "signer_on_behalf": design.signer_on_behalf,
        "signer_title": design.signer_title,
        "signer_name": design.signer_name,
        "border": design.border.sha256 if design.border_id else "",
        "logo": design.logo.sha256 if design.logo_id else "",
        "code": code,
        "verify_url": verify_url(public_url, code),
        "version": 1,
    }


def verify_url(public_url, code):
    return f"{(public_url or '').rstrip('/')}/verify/{display_code(code)}"


def snapshot_for_preview(design, kind, values=None):
    """A full snapshot of ``design`` for a sample recipient (the live preview); ``values`` overrides samples."""
    sample = {"giai": SAMPLE["giai"], "vong": SAMPLE["vong"], "hoi_thi": SAMPLE["hoi_thi"], **(values or {})}
    recipient = Recipient(kind, "preview", name=SAMPLE["ho_ten"], unit_line=SAMPLE["don_vi"], values=sample)
    public_url = current_app.config.get("PUBLIC_URL") if has_app_context() else ""
    number = design.next_golden_book_number if design.golden_book else ""
    return snapshot(design, recipient, SAMPLE_CODE, dt.datetime.now(dt.timezone.utc), public_url or "", number)


# -- issuing -------------------------------------------------------------------------------------

def _chunks(items, size):
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _valid_sources(sources):
    found = set()
    for chunk in _chunks(sorted(sources), 500):
        found |= {c.source for c in Certificate.select(Certificate.source)
                  .where(Certificate.source.in_(chunk), Certificate.status == "valid")}
    return found


def issue_many(actor, design, recipients, now, public_url, address=""):
    """Issue a certificate to each recipient, all in one transaction: (issued, skipped).

    A recipient whose source already has a valid certificate (or comes twice) is skipped, so issuing the
    same results again gives nothing twice. Golden book numbers follow the design's counter.
    """
    _require_manage(actor, design)
    recipients = list(recipients)
    for r in recipients:
        if not r.source or len(r.source) > 128:
            raise ValueError(f"certificate source: {r.source!r}")
    with database.atomic():
        lock_rows(Design.select().where(Design.id == design.id))  # the golden book counter
        fresh = Design.get_by_id(design.id)
        taken, todo = _valid_sources({r.source for r in recipients}), []
        for r in recipients:
            if r.source not in taken:
                taken.add(r.source)
                todo.append(r)
        skipped = len(recipients) - len(todo)
        if not todo:
            return [], skipped
        codes = new_codes(len(todo))
        first = fresh.next_golden_book_number
        issued_at, issued_by = _utc(now), actor.id if actor is not None else None
        rows = []
        for i, (r, code) in enumerate(zip(todo, codes)):
            data = snapshot(fresh, r, code, now, public_url, first + i if fresh.golden_book else "")
            rows.append({"code": code, "kind": r.kind, "user": r.user.id if r.user is not None else None,
                         "unit": r.unit.id if r.unit is not None else None, "owner_unit": fresh.owner_unit_id,
                         "design": fresh.id, "source": r.source, "recipient_name": r.name,
                         "data": json.dumps(data, ensure_ascii=False), "version": 1, "status": "valid",
                         "issued_at": issued_at, "issued_by": issued_by, "revoke_reason": ""})
        for chunk in _chunks(rows, 100):
            Certificate.insert_many(chunk).execute()
        if fresh.golden_book:
            Design.update(next_golden_book_number=first + len(todo)).where(Design.id == fresh.id).execute()
            design.next_golden_book_number = first + len(todo)
        by_code = {}
        for chunk in _chunks(codes, 500):
            by_code.update({c.code: c for c in Certificate.select().where(Certificate.code.in_(chunk))})
        issued = [by_code[code] for code in codes]
        kinds = {k: sum(1 for r in todo if r.kind == k) for k in Certificate.KINDS}
        audit.record(actor, "certificate.issue", f"design:{fresh.id} {fresh.name}", {
            "count": len(issued), "skipped": skipped, **{k: n for k, n in kinds.items() if n},
            "source": os.path.commonprefix([r.source for r in todo]) or todo[0].source,
            "code": issued[0].display_code if len(issued) == 1 else f"{issued[0].display_code}…",
        }, address)
    return issued, skipped


def issue_one(actor, design, recipient, now, public_url, address=""):
    """Issue one certificate; a blank source becomes "manual:<uuid>". Conflict when the source has one."""
    if not recipient.source:
        recipient = dataclasses.replace(recipient, source=f"manual:{uuid.uuid4().hex}")
    issued, _skipped = issue_many(actor, design, [recipient], now, public_url, address)
    if not issued:
        existing = Certificate.get(Certificate.source == recipient.source, Certificate.status == "valid")
        raise Conflict(_("%(name)s already has a valid certificate for this: %(code)s.",
                         name=existing.recipient_name, code=existing.display_code))
    return issued[0]


def recipient_for(actor, kind, username="", unit_code="", values=None):
    """The Recipient an organiser names by a member's username or a unit's code, within their units."""
    username, unit_code = (username or "").strip(), (unit_code or "").strip()
    if bool(username) == bool(unit_code):
        raise DomainError(_("Recipient: give a member's username or a unit's code."), field="username")
    if username:
        user = User.get_or_none(User.username == username.lower())
        if user is None or not (user.unit_id and _may_manage(actor, user.unit)):
            raise DomainError(_("Recipient: there is no member %(username)s in the units you manage.",
                                username=username), field="username")
        return Recipient(kind, "", user=user, values=dict(values or {}))
    unit = Unit.get_or_none(Unit.code == unit_code.upper()) or Unit.get_or_none(Unit.code == unit_code)
    if unit is None or not _may_manage(actor, unit):
        raise DomainError(_("Recipient: there is no unit %(code)s among the units you manage.", code=unit_code),
                          field="unit_code")
    return Recipient(kind, "", unit=unit, values=dict(values or {}))


# -- correcting and revoking ---------------------------------------------------------------------

CORRECTION_LABELS = {
    "recipient_name": _l("Recipient's name"),
    "recipient_unit": _l("Recipient's unit line"),
    "achievement": _l("Achievement"),
    "prize": _l("Prize"),
    "round": _l("Round"),
    "contest": _l("Contest"),
    "decision_number": _l("Decision number"),
    "decision_date": _l("Decision date"),
    "reason": _l("Reason"),
}
CORRECTION_LIMITS = {"recipient_name": 255, "recipient_unit": 255, "achievement": MAX_WORDING, "prize": 64,
                     "round": 255, "contest": 255, "decision_number": 64}


def _locked(certificate):
    """The certificate re-read inside the transaction, locked on PostgreSQL (two organisers at once)."""
    lock_rows(Certificate.select().where(Certificate.id == certificate.id))
    return Certificate.get_by_id(certificate.id)


def _reason(reason):
    reason = _text(reason, multiline=True)
    if not reason:
        raise DomainError(_("%(field)s: this field is required.", field=_label("reason")), field="reason")
    if len(reason) > MAX_REASON:
        raise DomainError(_("%(field)s: at most %(n)s characters (now %(length)s).", field=_label("reason"),
                            n=MAX_REASON, length=len(reason)), field="reason")
    return reason


def newer_version(certificate):
    return Certificate.get_or_none(Certificate.replaces == certificate.id)


def latest_version(certificate):
    """The newest version in the chain of corrections that ``certificate`` belongs to."""
    seen = {certificate.id}
    while (newer := newer_version(certificate)) is not None and newer.id not in seen:
        seen.add(newer.id)
        certificate = newer
    return certificate


def versions(certificate):
    """Every version of this certificate, oldest first."""
    chain, seen = [certificate], {certificate.id}
    while chain[0].replaces_id and chain[0].replaces_id not in seen:
        older = Certificate.get_or_none(Certificate.id == chain[0].replaces_id)
        if older is None:
            break
        seen.add(older.id)
        chain.insert(0, older)
    while (newer := newer_version(chain[-1])) is not None and newer.id not in seen:
        seen.add(newer.id)
        chain.append(newer)
    return chain


def _check_correctable(certificate):
    if certificate.status == "revoked":
        raise Conflict(_("Certificate %(code)s was revoked; a revoked certificate cannot be corrected.",
                         code=certificate.display_code))
    if certificate.status == "replaced":
        raise Conflict(_("Certificate %(code)s was already replaced by %(newer)s; correct the newest version.",
                         code=certificate.display_code, newer=latest_version(certificate).display_code))


def _follow_in_achievement(data, clean):
    """Unless the achievement itself was corrected, change a corrected contest, round, prize or name where the
    printed sentence carries it (it was filled from them), so a corrected prize is not left saying the old one."""
    before = data.get("achievement", "")
    if clean.get("achievement", before) != before:
        return
    text = before
    for key in ("contest", "round", "prize", "recipient_name", "recipient_unit"):
        old, new = data.get(key, ""), clean.get(key, data.get(key, ""))
        if old and new != old and old in text:
            text = text.replace(old, new)
    if text != before:
        clean["achievement"] = _tidy(text)


def replace(actor, certificate, changes, reason, now, public_url, address=""):
    """Correct a certificate: a new version with ``changes`` and a new code; the old one becomes "replaced".

    ``changes`` maps snapshot keys (recipient_name, recipient_unit, achievement, prize, round, contest,
    decision_number, decision_date) to their corrected values; the achievement follows the others unless it is
    corrected itself. Everything else, the date included, stays.
    """
    _require_manage(actor, certificate)
    unknown = set(changes) - set(CORRECTION_LIMITS) - {"decision_date"}
    if unknown:
        raise TypeError(f"not correctable: {', '.join(sorted(unknown))}")
    reason = _reason(reason)
    with database.atomic():
        old = _locked(certificate)
        _check_correctable(old)
        data = old.values
        clean = {}
        for key, value in changes.items():
            if key == "decision_date":
                date = _check_decision_date(parse_date(value, key, _label(key)), local_date(now))
                clean[key] = date.isoformat() if date else ""
                continue
            clean[key] = _text(value, multiline=key == "achievement")
            if len(clean[key]) > CORRECTION_LIMITS[key]:
                raise DomainError(_("%(field)s: at most %(n)s characters (now %(length)s).", field=_label(key),
                                    n=CORRECTION_LIMITS[key], length=len(clean[key])), field=key)
        for key in ("recipient_name", "achievement"):
            if key in clean and not clean[key]:
                raise DomainError(_("%(field)s: this field is required.", field=_label(key)), field=key)
        _follow_in_achievement(data, clean)
        diff = {k: [data.get(k, ""), v] for k, v in clean.items() if data.get(k, "") != v}
        if not diff:
            raise DomainError(_("Nothing was changed: correct at least one value."))
        code = new_codes(1)[0]
        data.update(clean)
        data.update(code=code, verify_url=verify_url(public_url, code), version=old.version + 1)
        new = Certificate.create(
            code=code, kind=old.kind, user=old.user_id, unit=old.unit_id, owner_unit=old.owner_unit_id,
            design=old.design_id, source=old.source, recipient_name=data["recipient_name"],
            data=json.dumps(data, ensure_ascii=False), version=old.version + 1, status="valid", replaces=old.id,
            issued_at=_utc(now), issued_by=actor.id if actor is not None else None)
        Certificate.update(status="replaced").where(Certificate.id == old.id).execute()
        certificate.status = "replaced"
        audit.record(actor, "certificate.replace", f"certificate:{old.id} {old.display_code}",
                     {**diff, "reason": reason, "code": [old.display_code, new.display_code]}, address)
    return new


def revoke(actor, certificate, reason, now, address=""):
    """Revoke a valid certificate with a reason; it stays on record and verifies as revoked."""
    _require_manage(actor, certificate)
    reason = _reason(reason)
    with database.atomic():
        current = _locked(certificate)
        if current.status == "replaced":
            raise Conflict(_("Certificate %(code)s was replaced by %(newer)s; revoke the newest version instead.",
                             code=current.display_code, newer=latest_version(current).display_code))
        if current.status == "revoked":
            raise Conflict(_("Certificate %(code)s is already revoked.", code=current.display_code))
        when, by = _utc(now), actor.id if actor is not None else None
        Certificate.update(status="revoked", revoked_at=when, revoked_by=by, revoke_reason=reason) \
            .where(Certificate.id == current.id).execute()
        certificate.status, certificate.revoked_at, certificate.revoke_reason = "revoked", when, reason
        certificate.revoked_by = by
        audit.record(actor, "certificate.revoke", f"certificate:{current.id} {current.display_code}",
                     {"name": current.recipient_name, "reason": reason}, address)
    return certificate


# -- finding -------------------------------------------------------------------------------------

def search(units, text=None, status=None, kind=None, source=None):
    """Certificates owned by ``units`` (a query), newest first, by recipient name or code; ``source`` is a
    prefix ("contest:1/round:2/": the certificates of a round)."""
    query = (Certificate.select().where(Certificate.owner_unit.in_(units.select(Unit.id)))
             .order_by(Certificate.issued_at.desc(), Certificate.id.desc()))
    if source:
        query = query.where(Certificate.source.startswith(source))
    if status in Certificate.STATES:
        query = query.where(Certificate.status == status)
    if kind in Certificate.KINDS:
        query = query.where(Certificate.kind == kind)
    text = nfc(text or "")
    if text:
        code = normalise_code(text)
        condition = Certificate.recipient_name.contains(text)
        if len(code) == CODE_LENGTH:
            condition |= Certificate.code == code
        query = query.where(condition)
    return query


def audit_entries(certificates):
    """(entry, details) of the audit log about these certificates (corrections, revocations), newest first."""
    conditions = None
    for c in certificates:
        cond = AuditLog.target.startswith(f"certificate:{c.id} ")
        conditions = cond if conditions is None else conditions | cond
    if conditions is None:
        return []
    entries = list(AuditLog.select().where(conditions).order_by(AuditLog.at.desc(), AuditLog.id.desc()))
    return [(e, json.loads(e.details) if e.details else {}) for e in entries]


def certificate_counts(designs):
    """{design id: number of valid certificates issued with it}."""
    ids = [d.id for d in designs]
    if not ids:
        return {}
    return dict(Certificate.select(Certificate.design, pw.fn.COUNT(Certificate.id))
                .where(Certificate.design.in_(ids), Certificate.status == "valid")
                .group_by(Certificate.design).tuples())


def for_user(user):
    """A member's own certificates, newest first."""
    return list(Certificate.select().where(Certificate.user == user.id)
                .order_by(Certificate.issued_at.desc(), Certificate.id.desc()))
