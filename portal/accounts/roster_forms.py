"""Form shapes for the member list and the roster import; the rules live in roster.py."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import Form, HiddenField, IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp


def _unit_id(value):
    """A unit id from the query string; anything else (empty, junk) means all units."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


class RosterFilterForm(Form):
    """The filters of the member list (GET, so no CSRF token)."""

    unit = SelectField(_l("Unit"), coerce=_unit_id, default=0, validate_choice=False)
    q = StringField(_l("Search by name"), validators=[Optional(), Length(max=100)])
    page = IntegerField(default=1, validators=[Optional()])


class UploadForm(FlaskForm):
    file = FileField(_l("Member list file (CSV or Excel .xlsx)"),
                     validators=[FileRequired(_l("Choose the file to upload."))])


class ConfirmImportForm(FlaskForm):
    token = HiddenField(validators=[DataRequired(), Length(max=64)])
    sha256 = HiddenField(validators=[DataRequired(), Regexp(r"^[0-9a-f]{64}$")])


class PostForm(FlaskForm):
    """A button that changes state: just the CSRF token."""
