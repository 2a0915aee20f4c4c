"""The form of a pledge period; the rules (dates in order, the cap, one period per unit and year) live in
``workflow.check_period``, which names the bad field in Vietnamese.

The form only turns text into values: a year or a cap that is not a whole number and a date that is
not a date are passed on as they are, for the domain to refuse with its message.
"""

import datetime as dt

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from ..accounts.admin_forms import REQUIRED, TOO_LONG

DATE = {"type": "date"}
NUMBER = {"type": "number", "inputmode": "numeric"}
DATES = ("opens_on", "register_by", "mid_year_by", "year_end_by")

# Suggestions the organiser edits: the whole-term topic of 2021–2025 and the usual basis.
TOPIC = ("Học tập và làm theo tư tưởng, đạo đức, phong cách Hồ Chí Minh về ý chí tự lực, tự cường và khát vọng "
         "phát triển đất nước phồn vinh, hạnh phúc")
BASIS = ("Căn cứ Chỉ thị 05-CT/TW ngày 15/5/2016 của Bộ Chính trị về đẩy mạnh học tập và làm theo tư tưởng, "
         "đạo đức, phong cách Hồ Chí Minh")


class PeriodForm(FlaskForm):
    owner_unit = SelectField(_l("Unit"), validate_choice=False)
    year = StringField(_l("Year"), render_kw={**NUMBER, "min": "2000", "max": "2100"})
    title = StringField(_l("Title"), validators=[DataRequired(REQUIRED), Length(max=255, message=TOO_LONG)])
    topic = TextAreaField(_l("Study topic"), render_kw={"rows": 3})
    basis = TextAreaField(_l("Basis"), render_kw={"rows": 2})
    opens_on = StringField(_l("Opens on"), render_kw=DATE)
    register_by = StringField(_l("Registration deadline"), render_kw=DATE)
    mid_year_by = StringField(_l("Mid-year report deadline"), render_kw=DATE)
    year_end_by = StringField(_l("Year-end report deadline"), render_kw=DATE)
    excellent_cap = StringField(_l("Largest share of “excellent” (percent)"),
                                render_kw={**NUMBER, "min": "0", "max": "100"})

    def values(self):
        """The values ``workflow.save_period`` takes (the owner unit is resolved by the view)."""
        out = {"title": self.title.data or "", "topic": self.topic.data or "", "basis": self.basis.data or "",
               "year": _whole(self.year.data), "excellent_cap": _whole(self.excellent_cap.data)}
        for name in DATES:
            out[name] = _date(getattr(self, name).data)
        return out


def _whole(text):
    text = (text or "").strip()
    return int(text) if text.lstrip("-").isdigit() else text


def _date(text):
    text = (text or "").strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            pass
    return None


def new_period_data(today):
    """The form's suggestions for a new period: this year (next year from October), its usual deadlines."""
    year = today.year + 1 if today.month >= 10 else today.year
    return {"year": str(year), "title": f"Đăng ký làm theo năm {year}", "topic": TOPIC, "basis": BASIS,
            "opens_on": dt.date(year, 1, 1).isoformat(), "register_by": dt.date(year, 3, 31).isoformat(),
            "mid_year_by": dt.date(year, 7, 15).isoformat(), "year_end_by": dt.date(year, 12, 15).isoformat(),
            "excellent_cap": "20"}


def period_data(period):
    """The form's values for editing ``period``."""
    return {"owner_unit": str(period.owner_unit_id), "year": str(period.year), "title": period.title,
            "topic": period.topic, "basis": period.basis, "excellent_cap": str(period.excellent_cap),
            **{name: getattr(period, name).isoformat() for name in DATES}}
