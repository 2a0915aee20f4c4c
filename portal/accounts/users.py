"""Operations on accounts and role grants."""

import re
import unicodedata

import peewee as pw
from flask_babel import gettext as _

from ..db import database, nfc
from ..errors import Conflict, DomainError
from . import audit
from .auth import end_all_sessions
from .models import RoleGrant, Unit, User, utcnow
from .passwords import generate_password, hash_password

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
PHONE_RE = re.compile(r"^0\d{9,10}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

EDITABLE = ("full_name", "birth_date", "gender", "unit", "position", "phone", "email")


def ascii_fold(text):
    """'Nguyễn Văn Đức' -> 'Nguyen Van Duc'."""
    text = nfc(text).replace("Đ", "D").replace("đ", "d")
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def username_base(full_name):
    """The Vietnamese convention: given name + initials, 'Nguyễn Văn An' -> 'annv'."""
    parts = re.sub(r"[^a-z ]", "", ascii_fold(full_name).lower()).split()
    base = (parts[-1] + "".join(p[0] for p in parts[:-1])) if parts else "user"
    return base[:56].ljust(3, "0")


def suggest_username(full_name, taken=None, lookup=True):
    """A free username for ``full_name``: 'annv', else 'annv2', 'annv3'...

    ``taken`` collects the names handed out so far. A bulk caller that has put
    every existing username starting with username_base() into ``taken``
    passes ``lookup=False`` to skip one database query per name.
    """
    base = username_base(full_name)
    taken = taken if taken is not None else set()
    candidate, n = base, 1
    while candidate in taken or (lookup and User.select().where(User.username == candidate).exists()):
        n += 1
        candidate = f"{base}{n}"
    taken.add(candidate)
    return candidate


def normalise_phone(phone):
    digits = re.sub(r"[\s.()-]", "", phone or "")
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) == 11:
        digits = "0" + digits[2:]
    return digits


def clean_profile(values):
    """Check and normalise profile fields; raise DomainError naming the field."""
    out = dict(values)
    if "full_name" in out:
        out["full_name"] = re.sub(r"\s+", " ", nfc(out["full_name"] or ""))
        if not out["full_name"]:
            raise DomainError(_("Full name: this field is required."), field="full_name")
    if out.get("gender") not in (None, "", *User.GENDERS):
        raise DomainError(_("Gender: choose male or female."), field="gender")
    if "gender" in out:
        out["gender"] = out["gender"] or None
    if out.get("phone"):
        out["phone"] = normalise_phone(out["phone"])
        if not PHONE_RE.match(out["phone"]):
            raise DomainError(_("Phone: enter a Vietnamese phone number such as 0912345678."), field="phone")
    if out.get("email"):
        out["email"] = nfc(out["email"]).lower()
        if not EMAIL_RE.match(out["email"]):
            raise DomainError(_("Email: this is not a valid email address."), field="email")
    for key in ("position", "phone", "email"):
        if key in out and out[key] is None:
            out[key] = ""
    if "position" in out:
        out["position"] = nfc(out["position"])
    return out


def create_user(actor, username, full_name, unit=None, password=None, address="", **profile):
    """Create an account; return (user, initial password).

    Without ``password`` one is generated and must be changed at first login.
    """
    username = nfc(username or "").lower() or suggest_username(full_name)
    if not USERNAME_RE.match(username):
        raise DomainError(_("Username: use 3-64 lowercase letters without accents, digits, '.', '-' or '_'."),
                          field="username")
    values = clean_profile({"full_name": full_name, **profile})
    initial = password or generate_password()
    try:
        with database.atomic():
            user = User.create(username=username, unit=unit, password_hash=hash_password(initial),
                               must_change_password=password is None, **values)
            audit.record(actor, "user.create", f"user:{user.id} {username}",
                         {"full_name": user.full_name, "unit": unit.code if unit else None}, address)
    except pw.IntegrityError:
        raise Conflict(_("Username: %(username)s is already taken.", username=username), field="username") from None
    return user, initial


def update_user(actor, user, address="", **changes):
    """Change profile fields (see EDITABLE); record what changed."""
    changes = clean_profile({k: v for k, v in changes.items() if k in EDITABLE})
    diff = {}
    for key, value in changes.items():
        old = getattr(user, key)
        if isinstance(old, Unit) or isinstance(value, Unit):
            old_id = old.id if old else None
            new_id = value.id if value else None
            if old_id != new_id:
                diff[key] = [old.code if old else None, value.code if value else None]
        elif (old or None) != (value or None):
            diff[key] = [old, value]
        setattr(user, key, value)
    if diff:
        with database.atomic():
            user.save()
            audit.record(actor, "user.update", f"user:{user.id} {user.username}", diff, address)
    return diff


def set_active(actor, user, active, address=""):
    """Lock or unlock an account; locking ends its sessions at once."""
    if not active and actor is not None and actor.id == user.id:
        raise DomainError(_("You cannot lock your own account."))
    with database.atomic():
        user.is_active = active
        if not active:
            user.rotate_session_token()
        user.save(only=[User.is_active, User.session_token])
        audit.record(actor, "user.unlock" if active else "user.lock", f"user:{user.id} {user.username}", None, address)


def reset_password(actor, user, address="", now=None):
    """Give the user a new generated password to change at next login; return it."""
    password = generate_password()
    with database.atomic():
        user.password_hash = hash_password(password)
        user.must_change_password = True
        user.password_changed_at = now or utcnow()
        user.save(only=[User.password_hash, User.must_change_password, User.password_changed_at])
        end_all_sessions(user)
        audit.record(actor, "user.reset_password", f"user:{user.id} {user.username}", None, address)
    return password


def grant_role(actor, user, role, unit=None, address=""):
    if role not in RoleGrant.ROLES:
        raise DomainError(_("Role: choose admin, organiser or secretary."), field="role")
    if role == "admin":
        unit = None
    elif unit is None:
        raise DomainError(_("Scope: choose the unit this role applies to."), field="unit")
    if role == "secretary" and unit.kind != "cell":
        raise DomainError(_("Scope: a secretary is appointed to a cell."), field="unit")
    exists = RoleGrant.select().where(RoleGrant.user == user, RoleGrant.role == role,
                                      (RoleGrant.unit.is_null() if unit is None else RoleGrant.unit == unit))
    if exists.exists():
        raise Conflict(_("%(name)s already has this role.", name=user.full_name))
    with database.atomic():
        grant = RoleGrant.create(user=user, role=role, unit=unit, granted_by=actor)
        audit.record(actor, "role.grant", f"user:{user.id} {user.username}",
                     {"role": role, "unit": unit.code if unit else None}, address)
    user.forget_grants()
    return grant


def revoke_role(actor, grant, address=""):
    user = grant.user
    if grant.role == "admin":
        # Locked admins cannot log in, so they do not count as the one that must remain.
        others = (RoleGrant.select().join(User, on=(RoleGrant.user == User.id))
                  .where(RoleGrant.role == "admin", RoleGrant.id != grant.id))
        if not others.exists() or (user.is_active and not others.where(User.is_active == True).exists()):  # noqa: E712
            raise DomainError(_("The portal needs at least one admin."))
    with database.atomic():
        audit.record(actor, "role.revoke", f"user:{user.id} {user.username}",
                     {"role": grant.role, "unit": grant.unit.code if grant.unit_id else None}, address)
        grant.delete_instance()
    user.forget_grants()


def search(query_text=None, units=None, active=None, role=None):
    """Accounts matching a name/username/phone fragment, within ``units`` (a query) when given.

    ``role`` keeps holders of that role; "member" keeps those with no role at all.
    """
    query = User.select(User, Unit).join(Unit, pw.JOIN.LEFT_OUTER).order_by(User.full_name, User.id)
    if units is not None:
        query = query.where(User.unit.in_(units.select(Unit.id)))
    if active is not None:
        query = query.where(User.is_active == active)
    if role == "member":
        query = query.where(User.id.not_in(RoleGrant.select(RoleGrant.user)))
    elif role:
        query = query.where(User.id.in_(RoleGrant.select(RoleGrant.user).where(RoleGrant.role == role)))
    if query_text:
        text = nfc(query_text)
        like = f"%{text}%"
        query = query.where(User.full_name.contains(text) | User.username.contains(text.lower())
                            | User.phone.contains(text) | (User.full_name ** like))
    return query


def load_grants(users):
    """Fill in the grants of a page of ``users`` with one query instead of one per user."""
    by_user = {u.id: [] for u in users}
    if by_user:
        for grant in (RoleGrant.select(RoleGrant, Unit).join(Unit, pw.JOIN.LEFT_OUTER)
                      .where(RoleGrant.user.in_(list(by_user))).order_by(RoleGrant.id)):
            by_user[grant.user_id].append(grant)
    for u in users:
        for grant in by_user[u.id]:
            grant.user = u
        u._grants = by_user[u.id]
    return users
