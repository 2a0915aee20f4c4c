"""Units (the organisation tree), users, role grants, the audit log, login attempts."""

import datetime as dt
import secrets

import peewee as pw

from ..db import BaseModel, NFCCharField, NFCTextField, Prepared


def utcnow():
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class Unit(BaseModel):
    """A committee (đảng bộ) or a cell (chi bộ); units form a tree of any depth."""

    KINDS = ("committee", "cell")

    code = pw.CharField(max_length=32, unique=True)
    name = NFCCharField(max_length=255)
    kind = pw.CharField(max_length=16, default="cell")
    parent = pw.ForeignKeyField("self", null=True, backref="children", on_delete="RESTRICT")
    # Materialised path of ids, "/1/4/9/": a subtree is one prefix query.
    path = pw.CharField(max_length=512, index=True, default="/")
    declared_members = pw.IntegerField(default=0)
    sort_order = pw.IntegerField(default=0)
    created_at = pw.DateTimeField(default=utcnow)

    @property
    def depth(self):
        return self.path.count("/") - 2

    def is_within(self, other):
        """True when self is other or lies in other's subtree."""
        return self.path.startswith(other.path)

    @classmethod
    def subtree(cls, unit):
        return cls.select().where(cls.path.startswith(unit.path))

    @classmethod
    def in_tree_order(cls):
        """All units, parents before children, siblings by sort order then name."""
        units = list(cls.select().order_by(cls.sort_order, cls.name))
        by_parent = {}
        for u in units:
            by_parent.setdefault(u.parent_id, []).append(u)
        ordered = []

        def walk(parent_id):
            for u in by_parent.get(parent_id, []):
                ordered.append(u)
                walk(u.id)

        walk(None)
        return ordered

    def ancestors(self):
        ids = [int(i) for i in self.path.strip("/").split("/") if i][:-1]
        found = {u.id: u for u in Unit.select().where(Unit.id.in_(ids))} if ids else {}
        return [found[i] for i in ids if i in found]

    def __str__(self):
        return self.name


class User(BaseModel):
    """A person with an account. Everyone with a unit is a member of it."""

    GENDERS = ("male", "female")

    username = pw.CharField(max_length=64, unique=True)
    full_name = NFCCharField(max_length=255)
    birth_date = pw.DateField(null=True)
    gender = pw.CharField(max_length=8, null=True)
    unit = pw.ForeignKeyField(Unit, null=True, backref="users", on_delete="RESTRICT")
    position = NFCCharField(max_length=255, default="")
    phone = pw.CharField(max_length=20, default="")
    email = pw.CharField(max_length=255, default="")
    password_hash = pw.CharField(max_length=255)
    must_change_password = pw.BooleanField(default=False)
    is_active = pw.BooleanField(default=True)
    # Part of the login cookie; rotating it ends every session of this user.
    session_token = pw.CharField(max_length=32, default=lambda: secrets.token_hex(16))
    created_at = pw.DateTimeField(default=utcnow)
    last_login_at = pw.DateTimeField(null=True)
    password_changed_at = pw.DateTimeField(null=True)

    # Flask-Login protocol
    is_authenticated = True
    is_anonymous = False

    def get_id(self):
        return f"{self.id}:{self.session_token}"

    def rotate_session_token(self):
        self.session_token = secrets.token_hex(16)

    @property
    def grants(self):
        cached = getattr(self, "_grants", None)
        if cached is None:
            cached = _GRANTS.objects(self.id)  # every page asks (its menu)
            for grant in cached:
                grant.user = self  # so that revoking a grant forgets this very object's cache
            self._grants = cached
        return cached

    def forget_grants(self):
        self._grants = None

    def __str__(self):
        return self.full_name


class RoleGrant(BaseModel):
    """A scoped role: admin (no unit), organiser of a subtree, secretary of a cell."""

    ROLES = ("admin", "organiser", "secretary")

    user = pw.ForeignKeyField(User, backref="role_grants", on_delete="CASCADE")
    role = pw.CharField(max_length=16)
    unit = pw.ForeignKeyField(Unit, null=True, backref="role_grants", on_delete="CASCADE")
    granted_at = pw.DateTimeField(default=utcnow)
    granted_by = pw.ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")

    class Meta:
        indexes = ((("user", "role", "unit"), True),)


class AuditLog(BaseModel):
    """Who did what, when and from where."""

    at = pw.DateTimeField(default=utcnow, index=True)
    actor = pw.ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    actor_name = NFCCharField(max_length=255, default="")
    address = pw.CharField(max_length=64, default="")
    action = pw.CharField(max_length=64, index=True)
    target = NFCCharField(max_length=255, default="")
    details = NFCTextField(default="")


class LoginAttempt(BaseModel):
    """One login try; failures in a window throttle the account and the address."""

    at = pw.DateTimeField(default=utcnow)
    username = pw.CharField(max_length=64)
    address = pw.CharField(max_length=64)
    success = pw.BooleanField()

    class Meta:
        indexes = (
            (("username", "at"), False),
            (("address", "at"), False),
        )


class RosterImport(BaseModel):
    """One applied roster import; its credentials sheet is kept until it expires."""

    at = pw.DateTimeField(default=utcnow)
    actor = pw.ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    filename = NFCCharField(max_length=255)
    file_sha256 = pw.CharField(max_length=64)
    created_count = pw.IntegerField(default=0)
    updated_count = pw.IntegerField(default=0)
    unchanged_count = pw.IntegerField(default=0)
    # Name of the folder under instance/credentials/ holding the sheet (PDF, XLSX);
    # empty once deleted.
    credentials_key = pw.CharField(max_length=64, default="")
    credentials_expire_at = pw.DateTimeField(null=True)


MODELS = [Unit, User, RoleGrant, AuditLog, LoginAttempt, RosterImport]


_GRANTS = Prepared(lambda mark: RoleGrant.select(RoleGrant, Unit).join(Unit, pw.JOIN.LEFT_OUTER)
                   .where(RoleGrant.user == mark))
_MEMBER_UNIT = Unit.alias("member_unit")
_USER_AND_GRANTS = Prepared(lambda mark: User.select(User, RoleGrant, Unit, _MEMBER_UNIT)
                            .join(RoleGrant, pw.JOIN.LEFT_OUTER, on=(RoleGrant.user == User.id))
                            .join(Unit, pw.JOIN.LEFT_OUTER, on=(Unit.id == RoleGrant.unit))
                            .switch(User)
                            .join(_MEMBER_UNIT, pw.JOIN.LEFT_OUTER, on=(_MEMBER_UNIT.id == User.unit))
                            .where(User.id == mark))


def user_with_grants(user_id):
    """The user with ``grants`` and their own unit already read, in one statement (a row per grant): what the
    login cookie's check reads on every request; every page's menu asks for the grants, most for the unit."""
    rows = _USER_AND_GRANTS.tuples(user_id)
    if not rows:
        return None
    user = _USER_AND_GRANTS.part(rows[0], 0)
    unit = _USER_AND_GRANTS.part(rows[0], 3)
    if unit is not None:
        user.__rel__["unit"] = unit
    return with_grants(user, rows, _USER_AND_GRANTS, 1)


def with_grants(user, rows, statement, index):
    """Set ``user``'s grants from ``rows`` of a Prepared ``statement`` that LEFT JOINs RoleGrant (its
    ``index``-th model) and then the grant's Unit, a row per grant: as ``User.grants`` would read them."""
    user._grants = []
    for row in rows:
        grant = statement.part(row, index)
        if grant is not None:
            unit = statement.part(row, index + 1)
            if unit is not None:
                grant.__rel__["unit"] = unit
            grant.user = user  # as User.grants sets it
            user._grants.append(grant)
    return user
