"""Organiser pages for survey results: the page with its charts, and the XLSX download."""

import io

from flask import abort, render_template, request, send_file
from flask_babel import gettext as _
from flask_login import current_user

from ..accounts import permissions
from ..accounts.models import Unit
from . import survey_results
from .forms import unit_choices
from .manage_views import XLSX, _get, quiz_admin
from .models import Quiz


def _survey(quiz_id):
    """The survey and the unit filter of the request (ignored for an anonymous survey)."""
    quiz = _get(Quiz, quiz_id)
    if not quiz.is_survey:
        abort(404)
    permissions.require(current_user, "quiz.manage", quiz)
    unit_id = request.args.get("unit", "")
    unit = Unit.get_or_none(Unit.id == int(unit_id)) if unit_id.isdigit() and not quiz.is_anonymous else None
    return quiz, [unit] if unit is not None else []


@quiz_admin.route("/quizzes/<int:quiz_id>/survey")
def survey_results_page(quiz_id):
    quiz, units = _survey(quiz_id)
    summary = survey_results.summarise(quiz, units)
    return render_template("quiz/manage/survey_results.html", quiz=quiz, summary=summary,
                           unit=units[0] if units else None,
                           unit_choices=unit_choices(summary.unit_choices, blank=_("All units")))


@quiz_admin.route("/quizzes/<int:quiz_id>/survey.xlsx")
def survey_results_xlsx(quiz_id):
    quiz, units = _survey(quiz_id)
    content = survey_results.survey_xlsx(quiz, survey_results.summarise(quiz, units))
    suffix = f"-{units[0].code}" if units else ""
    return send_file(io.BytesIO(content), mimetype=XLSX, as_attachment=True,
                     download_name=f"ket-qua-khao-sat-{quiz.id}{suffix}.xlsx")
