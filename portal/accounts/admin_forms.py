"""Form shapes for the admin pages; the rules (codes, phones, scopes) live in units.py and users.py.

WTForms has no Vietnamese catalogue, so no field here relies on a built-in
message: selects take any value (the view resolves it) and numbers are checked
by the domain.
"""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, SelectField, StringField, TelField
from wtforms.validators import DataRequired, Length, Optional

REQUIRED = _l("This field is required.")
TOO_LONG = _l("This is too long.")

NBSP = "\u00a0"


def indented(unit):
    """A unit's label in a select: indented by depth, since an <option> cannot be styled."""
    return NBSP * 4 * unit.depth + unit.name


def unit_choices(units, blank):
    """Select options for ``units`` (already in tree order), after a first blank option."""
    return [("", blank)] + [(str(u.id), indented(u)) for u in units]


def kind_choices():
    return [("committee", _l("Committee")), ("cell", _l("Cell"))]


class UnitForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(REQUIRED), Length(max=32, message=TOO_LONG)],
                       render_kw={"autocapitalize": "characters", "spellcheck": "false"})
    name = StringField(_l("Name"), validators=[DataRequired(REQUIRED), Length(max=255, message=TOO_LONG)])
    kind = SelectField(_l("Kind"), choices=kind_choices, validate_choice=False)
    parent = SelectField(_l("Parent unit"), validate_choice=False)
    # Checked by units._clean, which names the field in Vietnamese.
    declared_members = StringField(_l("Declared members"), default="0",
                                   render_kw={"type": "number", "min": "0", "inputmode": "numeric"})


def gender_choices():
    return [("", _l("— Not given —")), ("male", _l("Male")), ("female", _l("Female"))]


class UserForm(FlaskForm):
    full_name = StringField(_l("Full name"),
                            validators=[DataRequired(REQUIRED), Length(max=255, message=TOO_LONG)])
    # The browser's date input sends yyyy-mm-dd; a plain text box may get dd/mm/yyyy.
    birth_date = DateField(_l("Date of birth"), format=["%Y-%m-%d", "%d/%m/%Y"], validators=[Optional()],
                           invalid_value_message=_l("Date of birth: enter a real date, for example 17/05/1985."))
    gender = SelectField(_l("Gender"), choices=gender_choices, validate_choice=False)
    unit = SelectField(_l("Unit"), validate_choice=False)
    position = StringField(_l("Position"), validators=[Length(max=255, message=TOO_LONG)])
    phone = TelField(_l("Phone number"), validators=[Length(max=20, message=TOO_LONG)],
                     render_kw={"inputmode": "tel", "autocomplete": "off"})
    email = EmailField(_l("Email"), validators=[Length(max=255, message=TOO_LONG)],
                       render_kw={"autocomplete": "off"})


class NewUserForm(UserForm):
    # Left empty, the domain suggests one from the full name ('Nguyễn Văn An' -> 'annv').
    username = StringField(_l("Username"), validators=[Optional(), Length(max=64, message=TOO_LONG)],
                           render_kw={"autocapitalize": "none", "spellcheck": "false", "autocomplete": "off"})


def role_choices():
    return [("organiser", _l("Organiser (a unit and everything under it)")),
            ("secretary", _l("Cell secretary")),
            ("admin", _l("Admin (the whole portal)"))]


class GrantForm(FlaskForm):
    role = SelectField(_l("Role"), choices=role_choices, validate_choice=False)
    unit = SelectField(_l("Scope"), validate_choice=False)
