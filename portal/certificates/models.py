"""Certificates of merit and of participation: designs (the texts an organiser sets), images, and
the issued records, each one frozen as a snapshot of everything printed on it."""

import json

import peewee as pw

from ..accounts.models import Unit, User, utcnow
from ..db import BaseModel, NFCCharField, NFCTextField


class Asset(BaseModel):
    """An image an organiser uploaded (a border/background or a logo), checked and downscaled.

    Kept in the database, not on a host's disk, so every app host and job worker sees it; content
    addressed (sha256), so an issued certificate that names it always prints the same picture.
    """

    sha256 = pw.CharField(max_length=64, unique=True)
    mime = pw.CharField(max_length=32)  # image/png or image/jpeg (re-encoded on upload)
    width = pw.IntegerField()
    height = pw.IntegerField()
    data = pw.BlobField()
    owner_unit = pw.ForeignKeyField(Unit, null=True, backref="+", on_delete="SET NULL")
    created_by = pw.ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    created_at = pw.DateTimeField(default=utcnow)


class Design(BaseModel):
    """What a set of certificates says and looks like: the header, issuing body, achievement wording
    (with placeholders such as {ho_ten}), decision, place, signer, and optional images.

    A contest points at one; a pledge period's commendations at another. Issuing copies every value
    into the certificate, so editing a design never changes a certificate already issued.
    """

    HEADERS = ("party", "state")

    owner_unit = pw.ForeignKeyField(Unit, backref="+", on_delete="RESTRICT")
    name = NFCCharField(max_length=255)
    header = pw.CharField(max_length=16, default="party")  # party: ĐẢNG CỘNG SẢN VIỆT NAM; state: CỘNG HÒA…
    superior_body = NFCCharField(max_length=255, default="")  # party header, left, first line (cấp trên)
    issuing_committee = NFCCharField(max_length=255, default="")  # left, second line, with a rule under it
    issuing_body = NFCCharField(max_length=255, default="")  # above "TẶNG": BAN THƯỜNG VỤ HUYỆN ỦY …
    merit_achievement = NFCTextField(default="")  # "Đã có thành tích … {giai} …"
    participation_achievement = NFCTextField(default="")
    decision_number = NFCCharField(max_length=64, default="")  # 123-QĐ/HU
    decision_date = pw.DateField(null=True)
    golden_book = pw.BooleanField(default=False)  # print "Số sổ vàng" (numbered per design on issue)
    place = NFCCharField(max_length=128, default="")  # Hiệp Đức (, ngày … tháng … năm …)
    signer_on_behalf = NFCCharField(max_length=128, default="")  # T/M BAN THƯỜNG VỤ
    signer_title = NFCCharField(max_length=128, default="")  # BÍ THƯ
    signer_name = NFCCharField(max_length=128, default="")
    border = pw.ForeignKeyField(Asset, null=True, backref="+", on_delete="SET NULL")
    logo = pw.ForeignKeyField(Asset, null=True, backref="+", on_delete="SET NULL")
    next_golden_book_number = pw.IntegerField(default=1)
    updated_at = pw.DateTimeField(default=utcnow)
    created_at = pw.DateTimeField(default=utcnow)


class Certificate(BaseModel):
    """One issued certificate, frozen: ``data`` holds every value printed on it (see render.py).

    Correcting one issues a new version (``replaces`` the old, whose status becomes "replaced");
    revoking keeps the record with the reason. ``source`` names what it was issued for (e.g.
    "contest:1/round:1/award:7") so that issuing the same results twice gives nothing twice.
    """

    KINDS = ("merit", "participation")
    STATES = ("valid", "revoked", "replaced")

    code = pw.CharField(max_length=16, unique=True)  # the public verification code, without dashes
    kind = pw.CharField(max_length=16)
    user = pw.ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")  # a person…
    unit = pw.ForeignKeyField(Unit, null=True, backref="+", on_delete="SET NULL")  # …or a unit (collective)
    owner_unit = pw.ForeignKeyField(Unit, backref="+", on_delete="RESTRICT")  # whose organisers manage it
    design = pw.ForeignKeyField(Design, null=True, backref="certificates", on_delete="SET NULL")
    source = pw.CharField(max_length=128, default="", index=True)
    recipient_name = NFCCharField(max_length=255)  # also in data; here for lists and search
    data = NFCTextField()  # JSON snapshot
    version = pw.SmallIntegerField(default=1)
    status = pw.CharField(max_length=16, default="valid")
    replaces = pw.ForeignKeyField("self", null=True, backref="+", on_delete="SET NULL")
    issued_at = pw.DateTimeField(default=utcnow)
    issued_by = pw.ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    revoked_at = pw.DateTimeField(null=True)
    revoked_by = pw.ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    revoke_reason = NFCTextField(default="")

    class Meta:
        indexes = ((("owner_unit", "issued_at"), False),)

    @property
    def values(self):
        return json.loads(self.data)

    @property
    def display_code(self):
        return f"{self.code[:5]}-{self.code[5:]}" if len(self.code) == 10 else self.code
