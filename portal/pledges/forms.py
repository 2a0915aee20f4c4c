"""Form shapes of the member's and the secretary's pledge pages; the rules live in workflow.py.

Field names follow the names the workflow gives its errors (``ideology``, ``items-0-content``,
``reports-17-done``, ``meeting_date``…), so ``place_error`` puts a DomainError next to its field.
"""

import datetime as dt

from flask import flash
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, FieldList, Form, FormField, RadioField, StringField, TextAreaField

from .models import Pledge
from .workflow import COMMITMENT_LABELS, LEVEL_LABELS, MAX_ITEMS

DATE = {"type": "date"}
REPORT_FIELDS = ("done", "not_done", "next_steps")


class ItemForm(Form):
    """One "làm theo" item: the content, the concrete measure, the deadline, the expected evidence."""

    content = TextAreaField(_l("What I will do"), render_kw={"rows": 3})
    measure = TextAreaField(_l("How (the concrete measure)"), render_kw={"rows": 2})
    deadline = StringField(_l("By when"), render_kw={"placeholder": _l("e.g. Quarter II/2026, all year")})
    evidence = TextAreaField(_l("Expected product or evidence"), render_kw={"rows": 2})


class PledgeForm(FlaskForm):
    """The member's words: the six commitment headings and up to three items (empty rows are ignored)."""

    ideology = TextAreaField(COMMITMENT_LABELS["ideology"], render_kw={"rows": 3})
    ethics = TextAreaField(COMMITMENT_LABELS["ethics"], render_kw={"rows": 3})
    discipline = TextAreaField(COMMITMENT_LABELS["discipline"], render_kw={"rows": 3})
    style = TextAreaField(COMMITMENT_LABELS["style"], render_kw={"rows": 3})
    duties = TextAreaField(COMMITMENT_LABELS["duties"], render_kw={"rows": 3})
    remedy = TextAreaField(COMMITMENT_LABELS["remedy"], render_kw={"rows": 3})
    items = FieldList(FormField(ItemForm), min_entries=MAX_ITEMS, max_entries=MAX_ITEMS)

    def commitment_fields(self):
        return [getattr(self, key) for key in Pledge.COMMITMENTS]

    def commitments(self):
        return {key: getattr(self, key).data or "" for key in Pledge.COMMITMENTS}

    def item_rows(self):
        return [{key: entry.form[key].data or "" for key in ("content", "measure", "deadline", "evidence")}
                for entry in self.items]


def pledge_form_data(pledge, items):
    """The values of PledgeForm for a stored pledge."""
    rows = [{"content": i.content, "measure": i.measure, "deadline": i.deadline, "evidence": i.evidence}
            for i in items]
    return {**(pledge.commitment_texts if pledge else {}), "items": rows}


class NoteForm(FlaskForm):
    text = TextAreaField(_l("Progress note"), render_kw={"rows": 3})


class ReturnForm(FlaskForm):
    comment = TextAreaField(_l("What needs fixing"), render_kw={"rows": 3})


class EvaluationForm(FlaskForm):
    meeting_date = StringField(_l("Date of the cell meeting"), render_kw=DATE)
    comment = TextAreaField(_l("The collective's comment"), render_kw={"rows": 4})
    level = RadioField(_l("Proposed level"), choices=lambda: list(LEVEL_LABELS.items()), validate_choice=False)
    reason = TextAreaField(_l("Reason for the correction"), render_kw={"rows": 2})

    def meeting(self):
        return parse_date(self.meeting_date.data)


def parse_date(text):
    """A date typed as 2026-12-20 (a date input) or 20/12/2026; None when it is neither (the domain names it)."""
    text = (text or "").strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def report_input(formdata, items):
    """{item_id: {done, not_done, next_steps}} from the fields reports-<item id>-<key>."""
    return {item.id: {key: formdata.get(f"reports-{item.id}-{key}", "") for key in REPORT_FIELDS} for item in items}


def _fields_by_name(form):
    found = {}
    for field in form:
        if not isinstance(field, FieldList):  # "items" (no items, too many) is flashed above the form
            found[field.name] = field
        else:
            for entry in field:
                for sub in entry.form:
                    found[sub.name] = sub
    return found


def place_error(exc, form=None, errors=None):
    """Show a DomainError next to its field: a field of ``form``, else a key of the ``errors`` dict the template
    reads for hand-made fields (reports-17-done); else flash it at the top of the page."""
    field = _fields_by_name(form).get(exc.field) if form is not None and exc.field else None
    if field is not None:
        field.errors = list(field.errors) + [str(exc)]
    elif errors is not None and exc.field:
        errors[exc.field] = str(exc)
    else:
        flash(str(exc), "error")


class StoryForm(FlaskForm):
    """The story of an exemplary model; ``exemplary._clean`` checks the words and names the bad field in
    Vietnamese, ``certificates.assets`` the photo."""

    name = StringField(_l("Name"), render_kw={"maxlength": 255})
    unit_line = StringField(_l("Unit line"), render_kw={"maxlength": 255})
    title = StringField(_l("Title"), render_kw={"maxlength": 255})
    story = TextAreaField(_l("Story"), render_kw={"rows": 14, "maxlength": 20000})
    photo = FileField(_l("Photo"), render_kw={"accept": "image/png,image/jpeg"})
    photo_caption = StringField(_l("Photo caption"), render_kw={"maxlength": 255})
    remove_photo = BooleanField(_l("Remove the photo"))

    def values(self):
        return {name: getattr(self, name).data or "" for name in ("name", "unit_line", "title", "story",
                                                                   "photo_caption")}

    def upload(self):
        """The uploaded photo's bytes, or None when no file was chosen."""
        upload = self.photo.data
        if upload is not None and getattr(upload, "filename", ""):
            return upload.read()
        return None
