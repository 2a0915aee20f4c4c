"""Form shapes of the certificate pages; the rules (placeholders, lengths, dates, who may) live in issue.py.

As elsewhere, selects take any value (the view resolves it) and dates and numbers are checked by the
domain, which names the field in Vietnamese. ``DesignForm`` is reusable: another page may embed it (with
a prefix) and pass ``form.values()`` to ``issue.save_design``.
"""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from ..accounts.admin_forms import REQUIRED, TOO_LONG
from .issue import CORRECTION_LABELS, DESIGN_LABELS, HEADER_LABELS, KIND_LABELS, MAX_REASON, MAX_WORDING

DATE = {"type": "date"}
NUMBER = {"type": "number", "inputmode": "numeric", "min": "1"}
IMAGE_TYPES = "image/png,image/jpeg"


def _choices(labels):
    return lambda: list(labels.items())


def _text(name, limit, **kwargs):
    return StringField(DESIGN_LABELS[name], validators=[Length(max=limit, message=TOO_LONG)], **kwargs)


class DesignForm(FlaskForm):
    """Every field of a design: its texts, header variant, decision, golden book and images."""

    name = StringField(DESIGN_LABELS["name"], validators=[DataRequired(REQUIRED), Length(max=255, message=TOO_LONG)])
    owner_unit = SelectField(DESIGN_LABELS["owner_unit"], validate_choice=False)
    header = RadioField(DESIGN_LABELS["header"], choices=_choices(HEADER_LABELS), default="party",
                        validate_choice=False)
    superior_body = _text("superior_body", 255, render_kw={"placeholder": "ĐẢNG BỘ TỈNH QUẢNG NAM"})
    issuing_committee = _text("issuing_committee", 255, render_kw={"placeholder": "HUYỆN ỦY HIỆP ĐỨC"})
    issuing_body = _text("issuing_body", 255, render_kw={"placeholder": "BAN THƯỜNG VỤ HUYỆN ỦY HIỆP ĐỨC"})
    merit_achievement = TextAreaField(DESIGN_LABELS["merit_achievement"],
                                      validators=[Length(max=MAX_WORDING, message=TOO_LONG)], render_kw={"rows": 3})
    participation_achievement = TextAreaField(DESIGN_LABELS["participation_achievement"],
                                              validators=[Length(max=MAX_WORDING, message=TOO_LONG)],
                                              render_kw={"rows": 3})
    decision_number = _text("decision_number", 64, render_kw={"placeholder": "123-QĐ/HU"})
    # Checked by issue.parse_date, which names the field in Vietnamese (WTForms' own message is English).
    decision_date = StringField(DESIGN_LABELS["decision_date"], render_kw=DATE)
    golden_book = BooleanField(DESIGN_LABELS["golden_book"])
    next_golden_book_number = StringField(DESIGN_LABELS["next_golden_book_number"], default="1", render_kw=NUMBER)
    place = _text("place", 128, render_kw={"placeholder": "Hiệp Đức"})
    signer_on_behalf = _text("signer_on_behalf", 128, render_kw={"placeholder": "T/M BAN THƯỜNG VỤ"})
    signer_title = _text("signer_title", 128, render_kw={"placeholder": "BÍ THƯ"})
    signer_name = _text("signer_name", 128)
    border = FileField(DESIGN_LABELS["border"], render_kw={"accept": IMAGE_TYPES})
    remove_border = BooleanField(_l("Remove the border image"))
    logo = FileField(DESIGN_LABELS["logo"], render_kw={"accept": IMAGE_TYPES})
    remove_logo = BooleanField(_l("Remove the logo"))

    TEXTS = ("name", "header", "superior_body", "issuing_committee", "issuing_body", "merit_achievement",
             "participation_achievement", "decision_number", "decision_date", "golden_book",
             "next_golden_book_number", "place", "signer_on_behalf", "signer_title", "signer_name")

    def values(self):
        """The design's values as ``issue.save_design`` takes them; images only when uploaded or removed."""
        out = {name: getattr(self, name).data for name in self.TEXTS}
        out["golden_book"] = bool(out["golden_book"])
        for name in ("border", "logo"):
            upload = getattr(self, name).data
            if upload is not None and getattr(upload, "filename", ""):
                out[name] = upload.read()
            elif getattr(self, f"remove_{name}").data:
                out[name] = None
        return out


def design_form_data(values, owner_unit_id=None):
    """The data of a DesignForm for editing stored (or default) design values."""
    data = {name: values.get(name) for name in DesignForm.TEXTS}
    date = values.get("decision_date")
    data["decision_date"] = date.isoformat() if date else ""
    data["next_golden_book_number"] = str(values.get("next_golden_book_number") or 1)
    data["owner_unit"] = str(owner_unit_id or "")
    return data


def recipient_kind_choices():
    return [("user", _l("A member (by username)")), ("unit", _l("A unit (by unit code)"))]


class IssueForm(FlaskForm):
    """One certificate by hand: to a member or a unit, on one of the organiser's designs."""

    kind = RadioField(_l("Kind"), choices=_choices(KIND_LABELS), default="merit", validate_choice=False)
    design = SelectField(_l("Design"), validate_choice=False)
    recipient_kind = RadioField(_l("Recipient"), choices=recipient_kind_choices, default="user",
                                validate_choice=False)
    username = StringField(_l("Member's username"), validators=[Length(max=64, message=TOO_LONG)],
                           render_kw={"autocapitalize": "none", "spellcheck": "false"})
    unit_code = StringField(_l("Unit code"), validators=[Length(max=32, message=TOO_LONG)],
                            render_kw={"autocapitalize": "characters", "spellcheck": "false"})
    contest = StringField(_l("Contest or occasion ({hoi_thi})"), validators=[Length(max=255, message=TOO_LONG)])
    round = StringField(_l("Round ({vong})"), validators=[Length(max=255, message=TOO_LONG)])
    prize = StringField(_l("Prize ({giai})"), validators=[Length(max=64, message=TOO_LONG)],
                        render_kw={"placeholder": "Giải Nhất"})
    achievement = TextAreaField(_l("Achievement, if not the design's wording"),
                                validators=[Length(max=MAX_WORDING, message=TOO_LONG)], render_kw={"rows": 3})

    def values(self):
        """The placeholder values (and the wording of its own, if written) for issue.Recipient."""
        values = {"contest": self.contest.data or "", "round": self.round.data or "", "prize": self.prize.data or ""}
        if (self.achievement.data or "").strip():
            values["achievement"] = self.achievement.data
        return values


class CorrectForm(FlaskForm):
    """A new version of a certificate with corrected values."""

    recipient_name = StringField(CORRECTION_LABELS["recipient_name"],
                                 validators=[DataRequired(REQUIRED), Length(max=255, message=TOO_LONG)])
    recipient_unit = StringField(CORRECTION_LABELS["recipient_unit"], validators=[Length(max=255, message=TOO_LONG)])
    achievement = TextAreaField(CORRECTION_LABELS["achievement"],
                                validators=[DataRequired(REQUIRED), Length(max=MAX_WORDING, message=TOO_LONG)],
                                render_kw={"rows": 4})
    contest = StringField(CORRECTION_LABELS["contest"], validators=[Length(max=255, message=TOO_LONG)])
    round = StringField(CORRECTION_LABELS["round"], validators=[Length(max=255, message=TOO_LONG)])
    prize = StringField(CORRECTION_LABELS["prize"], validators=[Length(max=64, message=TOO_LONG)])
    decision_number = StringField(CORRECTION_LABELS["decision_number"], validators=[Length(max=64, message=TOO_LONG)])
    decision_date = StringField(CORRECTION_LABELS["decision_date"], render_kw=DATE)
    reason = TextAreaField(_l("Reason for the correction"),
                           validators=[DataRequired(REQUIRED), Length(max=MAX_REASON, message=TOO_LONG)],
                           render_kw={"rows": 2})

    FIELDS = ("recipient_name", "recipient_unit", "achievement", "contest", "round", "prize", "decision_number",
              "decision_date")

    def changes(self):
        """Every correctable value as typed; ``issue.replace`` keeps only what differs."""
        return {name: getattr(self, name).data or "" for name in self.FIELDS}


class RevokeForm(FlaskForm):
    reason = TextAreaField(_l("Reason for revoking"),
                           validators=[DataRequired(REQUIRED), Length(max=MAX_REASON, message=TOO_LONG)],
                           render_kw={"rows": 2})
