"""Organiser pages of what a quiz gave: results per member, the item analysis, one attempt in full.

Graded and practice quizzes only: a survey has no marks (its answers have a
page of their own). Each handler loads the quiz, checks ``quiz.manage`` on
it, makes one domain call and renders.
"""

import io
import math

from flask import abort, render_template, request, send_file
from flask_babel import get_timezone
from flask_login import current_user

from ..accounts import permissions
from ..accounts.models import utcnow
from . import analysis, review
from .manage_views import XLSX, _actor, _get, _scope_units, quiz_admin
from .models import Attempt, Quiz
from .setup import GRADING_METHOD_LABELS
from .views import duration_text

RESULTS_PER_PAGE = 50


def _graded_quiz(quiz_id):
    quiz = _get(Quiz, quiz_id)
    permissions.require(current_user, "quiz.manage", quiz)
    if quiz.is_survey:
        abort(404)
    return quiz


def _unit_filter(quiz):
    """The units of the quiz's owner subtree the user manages, and the one chosen with ?unit= (None: all)."""
    units = [u for u in _scope_units() if u.is_within(quiz.owner_unit)]
    chosen = request.args.get("unit", type=int)
    return units, next((u for u in units if u.id == chosen), None)


@quiz_admin.route("/quizzes/<int:quiz_id>/results")
def quiz_results(quiz_id):
    quiz = _graded_quiz(quiz_id)
    units, unit = _unit_filter(quiz)
    results = analysis.quiz_results(quiz, [unit] if unit else None, now=utcnow())
    pages = max(1, math.ceil(len(results.rows) / RESULTS_PER_PAGE))
    page = min(max(1, request.args.get("page", 1, type=int)), pages)
    first = (page - 1) * RESULTS_PER_PAGE
    return render_template("quiz/manage/results.html", quiz=quiz, results=results,
                           rows=results.rows[first:first + RESULTS_PER_PAGE], first=first, page=page, pages=pages,
                           units=units, unit=unit, duration=duration_text,
                           grading_method_labels=GRADING_METHOD_LABELS)


@quiz_admin.route("/quizzes/<int:quiz_id>/results.xlsx")
def quiz_results_xlsx(quiz_id):
    quiz = _graded_quiz(quiz_id)
    _units, unit = _unit_filter(quiz)
    scope = [unit] if unit else None
    content = analysis.results_xlsx(quiz, analysis.quiz_results(quiz, scope, now=utcnow()).rows,
                                    analysis.item_analysis(quiz, scope), tz=get_timezone())
    return send_file(io.BytesIO(content), mimetype=XLSX, as_attachment=True,
                     download_name=f"ket-qua-bai-thi-{quiz.id}.xlsx")


@quiz_admin.route("/quizzes/<int:quiz_id>/analysis")
def quiz_analysis(quiz_id):
    quiz = _graded_quiz(quiz_id)
    units, unit = _unit_filter(quiz)
    return render_template("quiz/manage/analysis.html", quiz=quiz, units=units, unit=unit,
                           stats=analysis.item_analysis(quiz, [unit] if unit else None),
                           few_attempts=analysis.FEW_ATTEMPTS)


@quiz_admin.route("/attempts/<int:attempt_id>")
def attempt_review(attempt_id):
    attempt = _get(Attempt, attempt_id)
    quiz = attempt.quiz
    permissions.require(current_user, "quiz.manage", quiz)
    if attempt.user_id is None:  # an anonymous survey response belongs to nobody
        abort(404)
    view = review.attempt_view(attempt, utcnow(), _actor())
    used = view["finished_at"] - view["started_at"] if view["finished_at"] and view["started_at"] else None
    return render_template("quiz/manage/attempt_review.html", quiz=quiz, attempt=attempt, view=view,
                           member=attempt.user, attempts=analysis.member_attempts(quiz, attempt.user_id),
                           time_used=duration_text(used.total_seconds()) if used is not None else None)
