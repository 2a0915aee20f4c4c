"""Form shapes for the organiser pages; the rules live in topics.py, questions.py and setup.py.

As in the accounts forms, selects take any value (the view resolves it) and
numbers and times are checked by the domain, which names the field in Vietnamese.
"""

import datetime as dt
import re

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import to_user_timezone, to_utc
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (BooleanField, FieldList, Form, FormField, HiddenField, IntegerField, RadioField,
                     SelectField, SelectMultipleField, StringField, TextAreaField)
from wtforms.validators import DataRequired, Length, Optional, Regexp

from ..accounts.admin_forms import REQUIRED, TOO_LONG, indented
from ..db import nfc
from ..errors import DomainError
from .questions import (DIFFICULTY_LABELS, FALSE_TEXT, GRADING_LABELS, KIND_LABELS, MAX_OPTIONS, SURVEY_KINDS,
                        OptionInput, QuestionInput, options_from_marks, ordered_options, truefalse_options)
from .setup import GRADING_METHOD_LABELS, REVIEW_LABELS, DrawInput, QuizInput
from .setup import KIND_LABELS as QUIZ_KIND_LABELS

NUMBER = {"type": "number", "inputmode": "numeric"}
DATETIME_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y")


def unit_choices(units, blank=None):
    """Select options for units in tree order, indented relative to the shallowest."""
    top = min((u.depth for u in units), default=0)
    choices = [("", blank)] if blank is not None else []
    return choices + [(str(u.id), indented(u)[4 * top:] if top else indented(u)) for u in units]


def difficulty_choices(blank):
    return [("", blank)] + [(str(k), v) for k, v in DIFFICULTY_LABELS.items()]


def parse_local_datetime(text):
    """A time typed in Vietnam time ('2025-11-20T08:00' or '20/11/2025 08:00') as naive UTC; None if empty.

    Raises ValueError when it is not a time.
    """
    text = (text or "").strip()
    if not text:
        return None
    for fmt in DATETIME_FORMATS:
        try:
            return to_utc(dt.datetime.strptime(text, fmt))
        except ValueError:
            continue
    raise ValueError(text)


def local_input_value(value):
    """A stored UTC time as the value of a datetime-local input, in Vietnam time."""
    return to_user_timezone(value).strftime("%Y-%m-%dT%H:%M") if value else ""


class TopicForm(FlaskForm):
    code = StringField(_l("Topic code"), validators=[DataRequired(REQUIRED), Length(max=32, message=TOO_LONG)],
                       render_kw={"autocapitalize": "characters", "spellcheck": "false"})
    title = StringField(_l("Topic title"), validators=[DataRequired(REQUIRED), Length(max=255, message=TOO_LONG)])
    year = StringField(_l("Year"), render_kw={**NUMBER, "min": "1945", "max": "2100"})
    owner_unit = SelectField(_l("Owner unit"), validate_choice=False)
    description = TextAreaField(_l("Description"), render_kw={"rows": 3})


class OptionForm(Form):
    text = TextAreaField(_l("Option text"), render_kw={"rows": 2})
    correct = BooleanField(_l("Right"))
    weight = StringField(_l("Weight (%)"), render_kw={**NUMBER, "min": "-100", "max": "100"})
    feedback = StringField(_l("Feedback when chosen"))


def truefalse_choices():
    return [("true", _l("True")), ("false", _l("False"))]


class QuestionForm(FlaskForm):
    kind = SelectField(_l("Kind"), choices=lambda: list(KIND_LABELS.items()), validate_choice=False)
    text = TextAreaField(_l("Question text"), validators=[DataRequired(REQUIRED)], render_kw={"rows": 4})
    title = StringField(_l("Short title"), validators=[Length(max=255, message=TOO_LONG)])
    options = FieldList(FormField(OptionForm), min_entries=MAX_OPTIONS, max_entries=MAX_OPTIONS)
    truefalse_answer = RadioField(_l("Right answer"), choices=truefalse_choices, validate_choice=False)
    grading = SelectField(_l("Grading of multiple choice"), choices=lambda: list(GRADING_LABELS.items()),
                          validate_choice=False)
    explanation = TextAreaField(_l("Explanation"), render_kw={"rows": 3})
    difficulty = SelectField(_l("Difficulty"), choices=lambda: difficulty_choices(_l("— Not set —")),
                             validate_choice=False)
    tags = StringField(_l("Tags"), validators=[Length(max=255, message=TOO_LONG)])


def status_choices():
    return [("active", _l("In use")), ("retired", _l("Retired")), ("all", _l("All"))]


class QuestionFilterForm(Form):
    """The filters of a topic's question list (GET, so no CSRF token)."""

    q = StringField(_l("Search"), validators=[Optional(), Length(max=200)])
    difficulty = SelectField(_l("Difficulty"), validate_choice=False,
                             choices=lambda: difficulty_choices(_l("All levels")) + [("0", _l("Not set"))])
    kind = SelectField(_l("Kind"), validate_choice=False,
                       choices=lambda: [("", _l("All kinds"))] + list(KIND_LABELS.items()))
    tag = SelectField(_l("Tag"), validate_choice=False)
    status = SelectField(_l("Status"), choices=status_choices, default="active", validate_choice=False)
    page = IntegerField(default=1, validators=[Optional()])


class DrawForm(Form):
    topic = SelectField(_l("Topic"), validate_choice=False)
    count = StringField(_l("Number of questions"), render_kw={**NUMBER, "min": "1"})
    difficulty = SelectField(_l("Difficulty"), validate_choice=False,
                             choices=lambda: difficulty_choices(_l("Any level")))


def _choices(labels):
    return lambda: list(labels.items())


class QuizForm(FlaskForm):
    title = StringField(_l("Quiz title"), validators=[DataRequired(REQUIRED), Length(max=255, message=TOO_LONG)])
    description = TextAreaField(_l("Description"), render_kw={"rows": 3})
    kind = SelectField(_l("Kind"), choices=_choices(QUIZ_KIND_LABELS), validate_choice=False)
    is_anonymous = BooleanField(_l("Anonymous survey: no account is linked to the answers"))
    owner_unit = SelectField(_l("Owner unit"), validate_choice=False)
    audience = SelectMultipleField(_l("Audience"), validate_choice=False)
    draws = FieldList(FormField(DrawForm), min_entries=1, max_entries=20)
    fixed_questions = StringField(_l("Fixed list of questions"), validators=[Length(max=2000, message=TOO_LONG)],
                                  render_kw={"inputmode": "numeric", "spellcheck": "false",
                                             "placeholder": "12, 15, 18"})
    shuffle_questions = BooleanField(_l("Shuffle the order of questions"), default=True)
    shuffle_options = BooleanField(_l("Shuffle the order of options"), default=True)
    time_limit_minutes = StringField(_l("Time limit (minutes)"), render_kw={**NUMBER, "min": "1"})
    opens_at = StringField(_l("Opens"), render_kw={"type": "datetime-local"})
    closes_at = StringField(_l("Closes"), render_kw={"type": "datetime-local"})
    attempts_allowed = StringField(_l("Attempts allowed"), default="1", render_kw={**NUMBER, "min": "0"})
    grading_method = SelectField(_l("Grading method"), choices=_choices(GRADING_METHOD_LABELS),
                                 validate_choice=False)
    review_after_submit = SelectField(_l("Review right after submitting"), choices=_choices(REVIEW_LABELS),
                                      default="correctness", validate_choice=False)
    review_after_close = SelectField(_l("Review after the quiz closes"), choices=_choices(REVIEW_LABELS),
                                     default="answers", validate_choice=False)


class PostForm(FlaskForm):
    """A button that changes state: just the CSRF token."""


def import_format_choices():
    return [("", _l("Recognise from the file name")), ("gift", "GIFT (Moodle)"), ("aiken", "Aiken"),
            ("csv", "CSV"), ("xlsx", "Excel (.xlsx)")]


class ImportForm(FlaskForm):
    file = FileField(_l("Question file"), validators=[FileRequired(_l("Choose the file to upload."))])
    format = SelectField(_l("Format"), choices=import_format_choices, validate_choice=False)


class ConfirmImportForm(FlaskForm):
    token = HiddenField(validators=[DataRequired(), Length(max=64)])
    sha256 = HiddenField(validators=[DataRequired(), Regexp(r"^[0-9a-f]{64}$")])
    format = HiddenField(validators=[Optional(), Regexp(r"^(gift|aiken|csv|xlsx)$")])


# From a submitted form to the domain's input ---------------------------------------------------

def question_input(form):
    """A QuestionInput from a submitted QuestionForm (the domain checks it)."""
    kind, grading = form.kind.data, form.grading.data or "all_or_nothing"
    if kind == "truefalse":
        answer = form.truefalse_answer.data
        options = truefalse_options(answer == "true") if answer in ("true", "false") else []
    elif kind == "text":
        options = []
    elif kind in SURVEY_KINDS:
        options = [OptionInput(nfc(o.text.data or ""), 0, nfc(o.feedback.data or "")) for o in form.options
                   if nfc(o.text.data or "") or nfc(o.feedback.data or "")]
    else:
        options = options_from_marks(kind, grading, [(o.text.data, o.correct.data, o.weight.data, o.feedback.data)
                                                     for o in form.options])
    return QuestionInput(kind=kind, text=form.text.data or "", options=options, title=form.title.data or "",
                         explanation=form.explanation.data or "", difficulty=form.difficulty.data or None,
                         tags=form.tags.data or "", grading=grading)


def question_form_data(question):
    """The values of QuestionForm for editing ``question``."""
    options = ordered_options(question)
    partial = question.kind == "multiple" and question.grading == "partial"

    def row(o):
        if question.kind == "single":  # right means full marks; a partial credit stays a typed weight
            return {"correct": o.weight == 100, "weight": str(o.weight) if o.weight not in (0, 100) else ""}
        return {"correct": o.is_correct, "weight": str(o.weight) if partial and o.weight else ""}

    data = {"kind": question.kind, "text": question.text, "title": question.title, "grading": question.grading,
            "explanation": question.explanation, "difficulty": str(question.difficulty or ""),
            "tags": question.tags,
            "options": [{"text": o.text, "feedback": o.feedback, **row(o)} for o in options]}
    if question.kind == "truefalse":
        right = next((o for o in options if o.is_correct), None)
        data["truefalse_answer"] = "false" if right is not None and right.text == FALSE_TEXT else "true"
        data["options"] = []
    return data


def _field_label(field):
    return str(field.label.text)


def _local_time(field):
    try:
        return parse_local_datetime(field.data)
    except ValueError:
        raise DomainError(_("%(field)s: enter a date and time, for example 20/11/2025 08:00.",
                             field=_field_label(field)), field=field.short_name) from None


def quiz_input(form, units, topics):
    """A QuizInput from a submitted QuizForm; ``units`` and ``topics`` map the ids the user may choose."""
    audience = []
    for value in form.audience.data or []:
        if value not in units:
            raise DomainError(_("Audience: choose units from the list."), field="audience")
        audience.append(units[value])
    draws = []
    for entry in form.draws:
        if not entry.topic.data and not (entry.count.data or "").strip():
            continue
        draws.append(DrawInput(topics.get(entry.topic.data), (entry.count.data or "").strip(),
                               int(entry.difficulty.data) if (entry.difficulty.data or "").isdigit() else None))
    fixed = []
    for token in re.split(r"[\s,;]+", form.fixed_questions.data or ""):
        if not token:
            continue
        number = token.lstrip("#")
        if not number.isdigit() or len(number) > 9:
            raise DomainError(_("Fixed list: %(value)s is not a question number.", value=token),
                              field="fixed_questions")
        fixed.append(int(number))
    return QuizInput(
        title=form.title.data or "", owner_unit=units.get(form.owner_unit.data), description=form.description.data,
        kind=form.kind.data, is_anonymous=form.is_anonymous.data, audience=audience, draws=draws,
        fixed_questions=fixed, shuffle_questions=form.shuffle_questions.data,
        shuffle_options=form.shuffle_options.data, time_limit_minutes=form.time_limit_minutes.data,
        opens_at=_local_time(form.opens_at), closes_at=_local_time(form.closes_at),
        attempts_allowed=form.attempts_allowed.data, grading_method=form.grading_method.data,
        review_after_submit=form.review_after_submit.data, review_after_close=form.review_after_close.data)


def quiz_form_data(data):
    """The values of QuizForm for editing a stored set-up (a QuizInput)."""
    return {
        "title": data.title, "description": data.description, "kind": data.kind, "is_anonymous": data.is_anonymous,
        "owner_unit": str(data.owner_unit.id), "audience": [str(u.id) for u in data.audience],
        "draws": [{"topic": str(d.topic.id), "count": str(d.count), "difficulty": str(d.difficulty or "")}
                  for d in data.draws],
        "fixed_questions": ", ".join(str(q.id) for q in data.fixed_questions),
        "shuffle_questions": data.shuffle_questions, "shuffle_options": data.shuffle_options,
        "time_limit_minutes": str(data.time_limit_minutes or ""),
        "opens_at": local_input_value(data.opens_at), "closes_at": local_input_value(data.closes_at),
        "attempts_allowed": str(data.attempts_allowed), "grading_method": data.grading_method,
        "review_after_submit": data.review_after_submit, "review_after_close": data.review_after_close,
    }
