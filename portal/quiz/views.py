"""The member's pages: quizzes open to them, a quiz's rules, the attempt, the result, their history.

The attempt page is rendered with the saved answers (so it shows the same
attempt after a reload or on another device) and quiz.js saves through the
JSON API. Without JavaScript the page is a plain form that submits.
"""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..accounts import permissions
from ..accounts.models import utcnow
from ..errors import DomainError
from ..extensions import limiter, start_limit, user_or_address
from . import catalogue, engine, review
from .api import attempt_by_id, iso, member_attempt, quiz_by_id
from .models import Attempt, Quiz

quiz = Blueprint("quiz", __name__, url_prefix="/quiz")

# Other areas say where a quiz of theirs belongs (a contest's round), without this module importing them:
# functions (quiz) -> (label, url) or None, registered at import; the intro page links back there.
BELONGS_TO = []


@quiz.app_template_filter("isotime")
def _isotime(value):
    return iso(value)


@quiz.app_template_filter("score")
def _score(value):
    """A score with at most two decimals: 7, 7,5, 6,67."""
    return "" if value is None else format_decimal(round(value, 2), format="#,##0.##")


@quiz.before_request
@login_required
def _logged_in():
    """Anonymous visitors go to the login page."""


def _user():
    return current_user._get_current_object()


def _quiz(quiz_id):
    """A quiz the member may take; unpublished ones and those of other units are not found."""
    found = quiz_by_id.first(quiz_id)
    if found is None or not permissions.can(_user(), "quiz.take", found):
        abort(404)
    return found


def _attempt(attempt_id):
    attempt = member_attempt(attempt_id)[0] or attempt_by_id.first(attempt_id)  # with its quiz
    if attempt is None or not permissions.can(_user(), "attempt.own", attempt):
        abort(404)
    return attempt


def _history(quiz_=None, attempts=None):
    """The member's attempts; one whose time ran out is finalised first, so it shows its score."""
    now = utcnow()
    attempts = catalogue.history(_user(), quiz_, attempts)
    for attempt in attempts:
        if not attempt.is_finished:
            engine.finalise_if_overdue(attempt, now)
    return attempts


@quiz.route("/")
def index():
    return render_template("quiz/index.html", statuses=catalogue.open_quizzes(_user(), utcnow()))


@quiz.route("/<int:quiz_id>")
def intro(quiz_id):
    found = _quiz(quiz_id)
    now = utcnow()
    belongs_to = next(filter(None, (where(found) for where in BELONGS_TO)), None)
    attempts = catalogue.attempts_at(found, _user())  # read once for the status and the history
    return render_template("quiz/intro.html", quiz=found, status=catalogue.status(found, _user(), now, attempts),
                           belongs_to=belongs_to,
                           is_open=found.is_open(now), question_count=catalogue.question_count(found),
                           attempts=_history(found, attempts),
                           grading_labels=catalogue.GRADING_METHOD_LABELS,
                           review_labels=catalogue.REVIEW_LABELS)


@quiz.route("/<int:quiz_id>/start", methods=["POST"])
@limiter.limit(start_limit, key_func=user_or_address)
def start(quiz_id):
    found = _quiz(quiz_id)
    try:
        attempt = engine.start_attempt(found, _user(), utcnow())
    except DomainError as exc:
        flash(str(exc), "error")
        return redirect(url_for(".intro", quiz_id=found.id))
    return redirect(url_for(".attempt", attempt_id=attempt.id))


@quiz.route("/attempts/<int:attempt_id>")
def attempt(attempt_id):
    found = _attempt(attempt_id)
    now = utcnow()
    view = review.attempt_view(found, now, _user())
    if view["state"] != "in_progress":
        return redirect(url_for(".result", attempt_id=found.id))
    seconds_left = max(0, int((view["deadline_at"] - now).total_seconds())) if view["deadline_at"] else None
    return render_template("quiz/attempt.html", attempt=found, quiz=found.quiz, view=view, now=now,
                           seconds_left=seconds_left)


def _form_answers(view):
    """Answers posted by the plain form (no JavaScript): q<position> fields."""
    answers = {}
    for question in view["questions"]:
        name = f"q{question['position']}"
        if question["kind"] == "text":
            answers[question["position"]] = request.form.get(name, "")
        else:
            answers[question["position"]] = request.form.getlist(name)
    return answers


@quiz.route("/attempts/<int:attempt_id>/submit", methods=["POST"])
def submit(attempt_id):
    """Save what the form holds, then submit (the page without JavaScript)."""
    found = _attempt(attempt_id)
    now = utcnow()
    user = _user()
    try:
        if not found.is_finished:
            view = review.attempt_view(found, now, user)
            if view["state"] == "in_progress":
                prediction = request.form.get("prediction", "") if view["prediction_prompt"] else engine.NOT_SENT
                engine.save_answers(found, user, _form_answers(view), found.last_seq + 1, now, prediction=prediction)
        engine.submit_attempt(found, user, now)
    except DomainError as exc:
        flash(str(exc), "error")
    if found.user_id is None:  # an anonymous survey forgets who answered
        flash(_("Thank you! Your answers have been recorded anonymously."), "success")
        return redirect(url_for(".intro", quiz_id=found.quiz_id))
    return redirect(url_for(".result", attempt_id=found.id))


def duration_text(seconds):
    """'1 giờ 5 phút', '12 phút 30 giây'."""
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return _("%(h)s h %(m)s min", h=hours, m=minutes)
    if minutes:
        return _("%(m)s min %(s)s s", m=minutes, s=secs)
    return _("%(s)s s", s=secs)


@quiz.route("/attempts/<int:attempt_id>/result")
def result(attempt_id):
    found = _attempt(attempt_id)
    now = utcnow()
    user = _user()
    view = review.attempt_view(found, now, user)
    if view["state"] == "in_progress":
        return redirect(url_for(".attempt", attempt_id=found.id))
    quiz_ = found.quiz
    used = view["finished_at"] - view["started_at"] if view["finished_at"] and view["started_at"] else None
    # Review may open up later: after the quiz closes.
    later = (quiz_.closes_at is not None and now < quiz_.closes_at and not quiz_.is_survey
             and review.member_level(found, quiz_, quiz_.closes_at) != view["review"])
    belongs_to = next(filter(None, (where(quiz_) for where in BELONGS_TO)), None)
    attempts = catalogue.attempts_at(quiz_, user)  # read once (after the view finalised this one if it was overdue)
    return render_template("quiz/result.html", attempt=found, quiz=quiz_, view=view, belongs_to=belongs_to,
                           status=catalogue.status(quiz_, user, now, attempts), is_open=quiz_.is_open(now),
                           overall=None if quiz_.is_survey or quiz_.is_practice
                           else engine.best_result(quiz_, user, attempts),
                           grading_labels=catalogue.GRADING_METHOD_LABELS,
                           time_used=duration_text(used.total_seconds()) if used is not None else None,
                           more_after_close=later)


@quiz.route("/history")
def history():
    return render_template("quiz/history.html", attempts=_history())
