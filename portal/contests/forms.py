"""Form shapes of the contest set-up pages; the rules live in setup.py.

The round form is the quiz form (the same draw rows, fixed list, time and
review fields, read by ``quiz.forms.quiz_input``) with what a round adds; the
fields a round takes from its contest (owner, audience, kind) are never shown.
"""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, FieldList, Form, FormField, SelectField, SelectMultipleField, StringField, \
    TextAreaField
from wtforms.validators import DataRequired, Length

from ..accounts.admin_forms import REQUIRED, TOO_LONG
from ..errors import DomainError
from ..quiz.forms import NUMBER, QuizForm, _local_time, local_input_value, quiz_input
from ..quiz.setup import REVIEW_LABELS
from .ranking import DEFAULT_RULES, PREDICTION_LABELS, RULE_LABELS
from .setup import AGGREGATE_LABELS, COLLECTIVE_LABELS, COUNTING_LABELS, MAX_TIERS, ContestInput, RoundInput, \
    TierInput

DATETIME = {"type": "datetime-local"}
RULE_SLOTS = len(DEFAULT_RULES) - 1  # the score always comes first


def _choices(labels):
    return lambda: list(labels.items())


def rule_choices():
    return [("", _l("— No further criterion —"))] + [(k, v) for k, v in RULE_LABELS.items() if k != "score"]


class ContestForm(FlaskForm):
    title = StringField(_l("Contest title"), validators=[DataRequired(REQUIRED), Length(max=255, message=TOO_LONG)])
    owner_unit = SelectField(_l("Organising unit"), validate_choice=False)
    units = SelectMultipleField(_l("Eligible units"), validate_choice=False)
    is_public = BooleanField(_l("Open to the public: visitors may register and take part"))
    starts_at = StringField(_l("Starts"), render_kw=DATETIME)
    ends_at = StringField(_l("Ends"), render_kw=DATETIME)
    rules_text = TextAreaField(_l("Rules"), render_kw={"rows": 12})
    rule_2 = SelectField(_l("Then"), choices=rule_choices, validate_choice=False)
    rule_3 = SelectField(_l("Then"), choices=rule_choices, validate_choice=False)
    rule_4 = SelectField(_l("Then"), choices=rule_choices, validate_choice=False)
    aggregate = SelectField(_l("Contest-wide ranking"), choices=_choices(AGGREGATE_LABELS), validate_choice=False)
    collective_measure = SelectField(_l("Collective prizes go to the units with"),
                                     choices=_choices(COLLECTIVE_LABELS), default="rate", validate_choice=False)
    collective_points_per_prize = StringField(_l("Points per individual prize won"), default="5",
                                              render_kw={**NUMBER, "min": "0"})

    def rule_fields(self):
        return [self.rule_2, self.rule_3, self.rule_4][:RULE_SLOTS]


def contest_input(form, units):
    """A ContestInput from a submitted ContestForm; ``units`` maps the ids the user may choose."""
    eligible = []
    for value in form.units.data or []:
        if value not in units:
            raise DomainError(_("Eligible units: choose units from the list."), field="units")
        eligible.append(units[value])
    return ContestInput(
        title=form.title.data or "", owner_unit=units.get(form.owner_unit.data), rules_text=form.rules_text.data or "",
        starts_at=_local_time(form.starts_at), ends_at=_local_time(form.ends_at), is_public=form.is_public.data,
        units=eligible, ranking_rules=["score"] + [f.data for f in form.rule_fields() if f.data],
        aggregate=form.aggregate.data, collective_measure=form.collective_measure.data,
        collective_points_per_prize=form.collective_points_per_prize.data)


def contest_form_data(data):
    """The values of ContestForm for editing a stored set-up (a ContestInput)."""
    rules = [k for k in data.ranking_rules if k != "score"]
    values = {
        "title": data.title, "owner_unit": str(data.owner_unit.id), "units": [str(u.id) for u in data.units],
        "is_public": data.is_public, "starts_at": local_input_value(data.starts_at),
        "ends_at": local_input_value(data.ends_at), "rules_text": data.rules_text, "aggregate": data.aggregate,
        "collective_measure": data.collective_measure,
        "collective_points_per_prize": str(data.collective_points_per_prize),
    }
    for i in range(RULE_SLOTS):
        values[f"rule_{i + 2}"] = rules[i] if i < len(rules) else ""
    return values


def default_contest_data():
    return {f"rule_{i + 2}": key for i, key in enumerate(DEFAULT_RULES[1:])}


def prediction_choices():
    return list(PREDICTION_LABELS.items()) + [("", _l("No prediction question"))]


class RoundForm(QuizForm):
    title = StringField(_l("Round title"), validators=[Length(max=255, message=TOO_LONG)],
                        render_kw={"placeholder": _l("For example: Tuần 1")})
    prediction = SelectField(_l("Prediction question"), choices=prediction_choices, default="perfect",
                             validate_choice=False)
    grading_method = SelectField(_l("Which attempt counts"), choices=_choices(COUNTING_LABELS),
                                 validate_choice=False)
    review_after_submit = SelectField(_l("Review right after submitting"), choices=_choices(REVIEW_LABELS),
                                      default="score", validate_choice=False)


def round_input(form, topics):
    """A RoundInput from a submitted RoundForm; ``topics`` maps the ids of the topics the user may draw from."""
    quiz = quiz_input(form, {}, topics)
    return RoundInput(
        title=quiz.title, description=quiz.description or "", prediction=form.prediction.data or None,
        opens_at=quiz.opens_at, closes_at=quiz.closes_at, attempts_allowed=quiz.attempts_allowed,
        grading_method=quiz.grading_method, draws=quiz.draws, fixed_questions=quiz.fixed_questions,
        time_limit_minutes=quiz.time_limit_minutes, shuffle_questions=quiz.shuffle_questions,
        shuffle_options=quiz.shuffle_options, review_after_submit=quiz.review_after_submit,
        review_after_close=quiz.review_after_close)


def round_form_data(data):
    """The values of RoundForm for editing a stored round (a RoundInput)."""
    return {
        "title": data.title, "description": data.description, "prediction": data.prediction or "",
        "draws": [{"topic": str(d.topic.id), "count": str(d.count), "difficulty": str(d.difficulty or "")}
                  for d in data.draws],
        "fixed_questions": ", ".join(str(q.id) for q in data.fixed_questions),
        "shuffle_questions": data.shuffle_questions, "shuffle_options": data.shuffle_options,
        "time_limit_minutes": str(data.time_limit_minutes or ""),
        "opens_at": local_input_value(data.opens_at), "closes_at": local_input_value(data.closes_at),
        "attempts_allowed": str(data.attempts_allowed), "grading_method": data.grading_method,
        "review_after_submit": data.review_after_submit, "review_after_close": data.review_after_close,
    }


class TierForm(Form):
    name = StringField(_l("Prize"), validators=[Length(max=64, message=TOO_LONG)])
    count = StringField(_l("Number of prizes"), render_kw={**NUMBER, "min": "1"})
    max_share = StringField(_l("Share cap (percent of participants)"), render_kw={**NUMBER, "min": "1", "max": "100"})


class TiersForm(FlaskForm):
    tiers = FieldList(FormField(TierForm), min_entries=1, max_entries=MAX_TIERS)


def tier_rows(form):
    """The filled rows of a TiersForm, in order."""
    rows = []
    for entry in form.tiers:
        row = entry.form  # entry.name would be the FormField's own name
        name, count, share = ((row.name.data or "").strip(), (row.count.data or "").strip(),
                              (row.max_share.data or "").strip())
        if name or count or share:
            rows.append(TierInput(name, count, share or None))
    return rows


def tiers_form_data(rows):
    return {"tiers": [{"name": t.name, "count": str(t.count), "max_share": str(t.max_share or "")} for t in rows]}


class BannerForm(FlaskForm):
    banner = FileField(_l("Banner image"), validators=[FileRequired(_l("Choose the image to upload."))])
