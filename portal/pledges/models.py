"""Pledges (đăng ký làm theo): the year's period, each member's (or unit's) pledge with its items,
progress notes, self-reports, the cell's collective evaluation, and every step's history.

A pledge moves through ``Pledge.STATES`` only by the functions of ``workflow.py``; each step is
one transaction that also writes a ``PledgeEvent`` (who, when, from which address). Closed records
are never edited: a correction of the evaluation is a new ``Evaluation`` that supersedes the old.
"""

import json

import peewee as pw

from ..accounts.models import Unit, User, utcnow
from ..certificates.models import Asset
from ..db import BaseModel, NFCCharField, NFCTextField


class PledgePeriod(BaseModel):
    """A year's pledge period for a unit subtree: the study topic, the basis, the deadlines."""

    owner_unit = pw.ForeignKeyField(Unit, backref="+", on_delete="RESTRICT")
    year = pw.SmallIntegerField()
    title = NFCCharField(max_length=255)
    topic = NFCTextField(default="")  # the year's (or the whole term's) study topic, as printed
    basis = NFCTextField(default="")  # "Căn cứ Chỉ thị 05-CT/TW …"
    opens_on = pw.DateField()
    register_by = pw.DateField()  # registration deadline (later submissions are accepted, marked late)
    mid_year_by = pw.DateField()
    year_end_by = pw.DateField()
    excellent_cap = pw.SmallIntegerField(default=20)  # percent of evaluated members "xuất sắc" before a warning
    created_by = pw.ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    created_at = pw.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("owner_unit", "year"), True),)


class Pledge(BaseModel):
    """A member's yearly commitment (kind "member"), or a unit's: its breakthrough task
    ("breakthrough") or its registration as an exemplary model ("model")."""

    KINDS = ("member", "breakthrough", "model")
    STATES = ("draft", "submitted", "returned", "acknowledged", "reported", "evaluated", "closed")
    # The self-cultivation headings of the commitment form, in order.
    COMMITMENTS = ("ideology", "ethics", "discipline", "style", "duties", "remedy")

    period = pw.ForeignKeyField(PledgePeriod, backref="pledges", on_delete="CASCADE")
    kind = pw.CharField(max_length=16, default="member")
    user = pw.ForeignKeyField(User, null=True, backref="+", on_delete="CASCADE")  # the member (kind member)
    unit = pw.ForeignKeyField(Unit, backref="+", on_delete="RESTRICT")  # the member's cell, or the pledging unit
    state = pw.CharField(max_length=16, default="draft")
    # The personal block as the member saw it prefilled (kept as filed, printed on the form).
    full_name = NFCCharField(max_length=255, default="")
    birth_date = pw.DateField(null=True)
    position = NFCCharField(max_length=255, default="")
    commitments = NFCTextField(default="{}")  # JSON {heading: text} for COMMITMENTS
    return_comment = NFCTextField(default="")  # the secretary's comment when returned
    submitted_at = pw.DateTimeField(null=True)
    submitted_late = pw.BooleanField(default=False)
    acknowledged_at = pw.DateTimeField(null=True)
    acknowledged_by = pw.ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    closed_at = pw.DateTimeField(null=True)
    created_at = pw.DateTimeField(default=utcnow)
    updated_at = pw.DateTimeField(default=utcnow)

    class Meta:
        indexes = (
            (("period", "kind", "user"), False),
            (("period", "unit", "state"), False),
        )

    @property
    def commitment_texts(self):
        return json.loads(self.commitments or "{}")


class PledgeItem(BaseModel):
    """One concrete thing to do ("việc đăng ký làm theo"): content, measure, deadline, evidence."""

    pledge = pw.ForeignKeyField(Pledge, backref="items", on_delete="CASCADE")
    position = pw.SmallIntegerField()
    content = NFCTextField()
    measure = NFCTextField(default="")
    deadline = NFCCharField(max_length=64, default="")  # "Quý II/2026", "Cả năm", or a date as written
    evidence = NFCTextField(default="")  # the expected product or evidence

    class Meta:
        indexes = ((("pledge", "position"), True),)


class ProgressNote(BaseModel):
    """A dated note the member adds once the commitments are acknowledged."""

    pledge = pw.ForeignKeyField(Pledge, backref="notes", on_delete="CASCADE")
    at = pw.DateTimeField(default=utcnow)
    author = pw.ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    text = NFCTextField()


class SelfReport(BaseModel):
    """The member's self-report on one item, mid-year or at the year's end."""

    STAGES = ("mid_year", "year_end")

    pledge = pw.ForeignKeyField(Pledge, backref="reports", on_delete="CASCADE")
    item = pw.ForeignKeyField(PledgeItem, backref="reports", on_delete="CASCADE")
    stage = pw.CharField(max_length=16)
    done = NFCTextField(default="")  # what was done
    not_done = NFCTextField(default="")  # what was not, and why
    next_steps = NFCTextField(default="")  # what comes next
    filed_at = pw.DateTimeField(default=utcnow)
    late = pw.BooleanField(default=False)

    class Meta:
        indexes = ((("item", "stage"), True),)


class Evaluation(BaseModel):
    """The cell's collective evaluation recorded by the secretary; a correction supersedes it."""

    LEVELS = ("excellent", "good", "fulfilled", "not_fulfilled")

    pledge = pw.ForeignKeyField(Pledge, backref="evaluations", on_delete="CASCADE")
    meeting_date = pw.DateField()
    comment = NFCTextField()
    level = pw.CharField(max_length=16)
    recorded_by = pw.ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    recorded_at = pw.DateTimeField(default=utcnow)
    address = pw.CharField(max_length=64, default="")
    supersedes = pw.ForeignKeyField("self", null=True, backref="+", on_delete="SET NULL")
    reason = NFCTextField(default="")  # why a correction was made
    acknowledged_at = pw.DateTimeField(null=True)  # the member has read it


class PledgeEvent(BaseModel):
    """One step of a pledge's life: who did it, when, from where, and the state it led to."""

    pledge = pw.ForeignKeyField(Pledge, backref="events", on_delete="CASCADE")
    at = pw.DateTimeField(default=utcnow)
    actor = pw.ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    actor_name = NFCCharField(max_length=255, default="")
    address = pw.CharField(max_length=64, default="")
    action = pw.CharField(max_length=32)
    from_state = pw.CharField(max_length=16, default="")
    to_state = pw.CharField(max_length=16, default="")
    comment = NFCTextField(default="")

    class Meta:
        indexes = ((("pledge", "at"), False),)


class ExemplaryStory(BaseModel):
    """The story of an exemplary model ("gương điển hình"): a commended member or unit, told by an organiser
    (or taken from the pledge's reports), with an optional photo. Published stories form the committee's
    showcase; a selection of them is compiled into the year's yearbook ("kỷ yếu").

    The name and unit line are kept as written, so the story reads the same after the member moves.
    """

    period = pw.ForeignKeyField(PledgePeriod, backref="stories", on_delete="CASCADE")
    pledge = pw.ForeignKeyField(Pledge, backref="stories", unique=True, on_delete="CASCADE")
    unit = pw.ForeignKeyField(Unit, backref="+", on_delete="RESTRICT")  # where it counts: the cell, or the unit
    name = NFCCharField(max_length=255)  # the member's or the unit's name as printed
    unit_line = NFCCharField(max_length=255, default="")  # "Chi bộ …, Đảng bộ …" (a unit: the unit above)
    title = NFCCharField(max_length=255)  # the headline
    story = NFCTextField()
    photo = pw.ForeignKeyField(Asset, null=True, backref="+", on_delete="SET NULL")  # checked, downscaled
    photo_caption = NFCCharField(max_length=255, default="")
    published = pw.BooleanField(default=False)
    published_at = pw.DateTimeField(null=True)
    created_by = pw.ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    created_at = pw.DateTimeField(default=utcnow)
    updated_by = pw.ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    updated_at = pw.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("period", "published"), False),)
