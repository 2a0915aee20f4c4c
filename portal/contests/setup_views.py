"""Organiser pages of the contest set-up: the list, a contest's page and form, its rounds, prize tiers, banner.

Each handler loads (``get_contest`` checks ``contest.manage``), makes one
domain call from ``setup`` with the current user as actor, then flashes and
redirects, or renders the form again with the domain's message at its field.
"""

import os

import peewee as pw
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.routing import BuildError
from wtforms import FieldList

from ..accounts import permissions
from ..accounts.models import utcnow
from ..errors import DomainError
from ..extensions import client_address
from ..quiz import manage_views as quiz_manage_views
from ..quiz import topics as topic_ops
from ..quiz.forms import PostForm, unit_choices
from ..quiz.models import Attempt
from ..quiz.questions import DIFFICULTY_LABELS
from ..quiz.setup import question_total
from . import setup
from .forms import (BannerForm, ContestForm, RoundForm, TiersForm, contest_form_data, contest_input,
                    default_contest_data, round_form_data, round_input, tier_rows, tiers_form_data)
from .manage_views import actor, contest_admin, get_contest, get_round, scope_units
from .models import PrizeTier, Round
from .ranking import PREDICTION_LABELS, RULE_LABELS

BLANK_DRAW_ROWS = 2
BLANK_TIER_ROWS = 2


@contest_admin.context_processor
def _labels():
    return {"rule_labels": RULE_LABELS, "prediction_labels": PREDICTION_LABELS,
            "aggregate_labels": setup.AGGREGATE_LABELS, "collective_labels": setup.COLLECTIVE_LABELS,
            "counting_labels": setup.COUNTING_LABELS, "state_labels": setup.STATE_LABELS,
            "prediction_short": setup.PREDICTION_SHORT}


def _uploads():
    return os.path.join(current_app.instance_path, "uploads")


def _field_error(form, exc):
    """Show a domain error at its field; rows (draws, tiers) and groups show it above them, the rest flash."""
    field = getattr(form, exc.field, None) if exc.field else None
    if isinstance(field, FieldList) or exc.field in ("ranking_rules", "tiers"):
        return {exc.field: str(exc)}
    if field is not None and hasattr(field, "errors"):
        field.errors = list(field.errors) + [str(exc)]
    else:
        flash(str(exc), "error")
    return {}


def _url(endpoint, **values):
    """The URL of a page another part of the contests area adds, or None while it does not exist."""
    if endpoint not in current_app.view_functions:
        return None
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


# ---------------------------------------------------------------- contests


@contest_admin.route("/")
def contests():
    permissions.require(current_user, "contest.manage")
    rows = list(setup.manageable(actor()))
    ids = [c.id for c in rows]
    rounds = dict(Round.select(Round.contest, pw.fn.COUNT(Round.id)).where(Round.contest.in_(ids))
                  .group_by(Round.contest).tuples()) if ids else {}
    people = dict(Round.select(Round.contest, pw.fn.COUNT(Attempt.user.distinct()))
                  .join(Attempt, on=(Attempt.quiz == Round.quiz)).where(Round.contest.in_(ids))
                  .group_by(Round.contest).tuples()) if ids else {}
    return render_template("contests/manage/contests.html", contests=rows, rounds=rounds, people=people,
                           now=utcnow())


def _contest_form(contest=None):
    if request.method == "POST":
        form = ContestForm()
    elif contest is None:
        form = ContestForm(data=default_contest_data())
    else:
        form = ContestForm(data=contest_form_data(setup.ContestInput.of(contest)))
    units = scope_units()
    form.owner_unit.choices = unit_choices(units)
    form.units.choices = unit_choices(units)
    return form, {str(u.id): u for u in units}


def _render_contest_form(form, contest=None, errors=None):
    return render_template("contests/manage/contest_form.html", form=form, contest=contest, units=scope_units(),
                           errors=errors or {})


@contest_admin.route("/new", methods=["GET", "POST"])
def new_contest():
    permissions.require(current_user, "contest.manage")
    form, units = _contest_form()
    errors = {}
    if form.validate_on_submit():
        try:
            contest = setup.create_contest(actor(), contest_input(form, units), address=client_address())
        except DomainError as exc:
            errors = _field_error(form, exc)
        else:
            flash(_("Contest %(title)s created. Now add its rounds, then publish it.", title=contest.title),
                  "success")
            return redirect(url_for(".contest", contest_id=contest.id))
    return _render_contest_form(form, errors=errors)


@contest_admin.route("/<int:contest_id>/edit", methods=["GET", "POST"])
def edit_contest(contest_id):
    contest = get_contest(contest_id)
    form, units = _contest_form(contest)
    errors = {}
    if form.validate_on_submit():
        try:
            changes = setup.update_contest(actor(), contest, contest_input(form, units), address=client_address())
        except DomainError as exc:
            errors = _field_error(form, exc)
            contest = get_contest(contest_id)
        else:
            flash(_("Contest %(title)s saved.", title=contest.title) if changes else _("Nothing was changed."),
                  "success" if changes else "info")
            return redirect(url_for(".contest", contest_id=contest.id))
    return _render_contest_form(form, contest, errors)


@contest_admin.route("/<int:contest_id>")
def contest(contest_id):
    contest = get_contest(contest_id)
    now = utcnow()
    rounds = setup.rounds_of(contest)
    tiers = {}
    for tier in (PrizeTier.select().where(PrizeTier.contest == contest.id)
                 .order_by(PrizeTier.position, PrizeTier.id)):
        tiers.setdefault((tier.round_id, tier.collective), []).append(tier)
    tools = [(label, url) for label, url in (
        (_("Contest-wide ranking"), _url("contest_admin.contest_ranking", contest_id=contest.id)),
        (_("Statistics"), _url("contest_admin.stats", contest_id=contest.id)),
        (_("Registrations"), _url("contest_admin.registrations", contest_id=contest.id) if contest.is_public
         else None),
        (_("Flags"), _url("contest_admin.flags", contest_id=contest.id)),
    ) if url]
    return render_template("contests/manage/contest.html", contest=contest, rounds=rounds, now=now,
                           counts=setup.round_counts([r.quiz_id for r in rounds]), tiers=tiers,
                           states={r.id: setup.round_state(r.quiz, now) for r in rounds},
                           units=setup.eligible_units(contest), post_form=PostForm(), banner_form=BannerForm(),
                           tools=tools, member_url=url_for("contests.contest", contest_id=contest.id))


@contest_admin.route("/<int:contest_id>/publish", methods=["POST"])
def publish_contest(contest_id):
    contest = get_contest(contest_id)
    if not PostForm().validate_on_submit():
        abort(400)
    try:
        setup.publish_contest(actor(), contest, address=client_address(), now=utcnow())
    except DomainError as exc:
        flash(_("Not published. %(reason)s", reason=str(exc)), "error")
    else:
        flash(_("Contest %(title)s is published: its rounds open to contestants in their windows.",
                title=contest.title), "success")
    return redirect(url_for(".contest", contest_id=contest.id))


@contest_admin.route("/<int:contest_id>/unpublish", methods=["POST"])
def unpublish_contest(contest_id):
    contest = get_contest(contest_id)
    if not PostForm().validate_on_submit():
        abort(400)
    setup.unpublish_contest(actor(), contest, address=client_address())
    flash(_("Contest %(title)s is hidden: nobody can start its rounds. Attempts already made are kept.",
            title=contest.title), "success")
    return redirect(url_for(".contest", contest_id=contest.id))


@contest_admin.route("/<int:contest_id>/banner", methods=["POST"])
def upload_banner(contest_id):
    contest = get_contest(contest_id)
    form = BannerForm()
    if not form.validate_on_submit():
        for error in form.banner.errors or [_("Choose the image to upload.")]:
            flash(str(error), "error")
        return redirect(url_for(".contest", contest_id=contest.id))
    try:
        setup.save_banner(actor(), contest, form.banner.data.read(setup.BANNER_MAX_BYTES + 1), _uploads(),
                          address=client_address())
    except DomainError as exc:
        flash(str(exc), "error")
    else:
        flash(_("The banner is saved."), "success")
    return redirect(url_for(".contest", contest_id=contest.id))


@contest_admin.route("/<int:contest_id>/banner/remove", methods=["POST"])
def remove_banner(contest_id):
    contest = get_contest(contest_id)
    if not PostForm().validate_on_submit():
        abort(400)
    setup.remove_banner(actor(), contest, _uploads(), address=client_address())
    flash(_("The banner is removed."), "success")
    return redirect(url_for(".contest", contest_id=contest.id))


# ---------------------------------------------------------------- rounds


def _round_choices(form):
    """Fill the topic selects of a RoundForm (two blank draw rows more); returns the topics by id."""
    topic_rows = list(topic_ops.manageable(actor()))
    topic_choices = [("", _("— Choose a topic —"))] + [
        (str(t.id), f"{t.code} – {t.title}" + (f" ({t.year})" if t.year else "")) for t in topic_rows]
    while len(form.draws.entries) < len([e for e in form.draws if e.topic.data]) + BLANK_DRAW_ROWS \
            and len(form.draws.entries) < form.draws.max_entries:
        form.draws.append_entry()
    for entry in form.draws:
        entry.topic.choices = topic_choices
    return {str(t.id): t for t in topic_rows}


def _render_round(form, contest, round_=None, errors=None):
    stored = setup.RoundInput.of(round_) if round_ is not None else None
    counts = topic_ops.question_counts([int(e.topic.data) for e in form.draws if (e.topic.data or "").isdigit()])
    taken = setup.round_counts([round_.quiz_id]).get(round_.quiz_id) if round_ is not None else None
    return render_template("contests/manage/round_form.html", form=form, contest=contest, round=round_,
                           stored=stored, errors=errors or {}, topic_counts=counts,
                           difficulty_labels=DIFFICULTY_LABELS, taken=taken,
                           question_total=question_total(stored) if stored else 0)


@contest_admin.route("/<int:contest_id>/rounds/new", methods=["GET", "POST"])
def new_round(contest_id):
    contest = get_contest(contest_id)
    form = RoundForm()
    if request.method == "GET":
        form.prediction.data, form.review_after_submit.data = "perfect", "score"
    topics = _round_choices(form)
    errors = {}
    if form.validate_on_submit():
        try:
            round_ = setup.add_round(actor(), contest, round_input(form, topics), address=client_address(),
                                     now=utcnow())
        except DomainError as exc:
            errors = _field_error(form, exc)
        else:
            flash(_("%(round)s added to the contest.", round=round_.quiz.title), "success")
            return redirect(url_for(".contest", contest_id=contest.id, _anchor=f"round-{round_.id}"))
    return _render_round(form, contest, errors=errors)


@contest_admin.route("/<int:contest_id>/rounds/<int:round_id>/edit", methods=["GET", "POST"])
def edit_round(contest_id, round_id):
    round_ = get_round(contest_id, round_id)
    contest = round_.contest
    if request.method == "GET":
        form = RoundForm(data=round_form_data(setup.RoundInput.of(round_)))
        _round_choices(form)
        return _render_round(form, contest, round_)
    form = RoundForm()
    topics = _round_choices(form)
    errors = {}
    if form.validate_on_submit():
        try:
            changes = setup.update_round(actor(), round_, round_input(form, topics), address=client_address(),
                                         now=utcnow())
        except DomainError as exc:
            errors = _field_error(form, exc)
            round_ = get_round(contest_id, round_id)
        else:
            flash(_("%(round)s saved.", round=round_.quiz.title) if changes else _("Nothing was changed."),
                  "success" if changes else "info")
            return redirect(url_for(".contest", contest_id=contest.id, _anchor=f"round-{round_.id}"))
    return _render_round(form, contest, round_, errors)


# ---------------------------------------------------------------- prize tiers


def _tiers_page(contest, round_, collective):
    stored = setup.tiers(contest, round_, collective)
    if request.method == "POST":
        form = TiersForm()
    else:
        form = TiersForm(data=tiers_form_data(stored or setup.default_tiers(collective)))
    filled = len([e for e in form.tiers if (e.form.name.data or "").strip()])
    while len(form.tiers.entries) < min(form.tiers.max_entries, filled + BLANK_TIER_ROWS):
        form.tiers.append_entry()
    errors = {}
    if form.validate_on_submit():
        try:
            setup.set_prize_tiers(actor(), contest, round_, collective, tier_rows(form), address=client_address())
        except DomainError as exc:
            errors = _field_error(form, exc)
        else:
            flash(_("The prizes are saved."), "success")
            return redirect(url_for(".contest", contest_id=contest.id, _anchor="prizes"))
    locked = (round_ is not None and round_.is_confirmed) or (round_ is None and contest.results_published_at)
    return render_template("contests/manage/tiers.html", form=form, contest=contest, round=round_,
                           collective=collective, stored=stored, errors=errors, locked=locked)


@contest_admin.route("/<int:contest_id>/tiers", methods=["GET", "POST"], defaults={"collective": False})
@contest_admin.route("/<int:contest_id>/tiers/units", methods=["GET", "POST"], defaults={"collective": True})
def contest_tiers(contest_id, collective):
    return _tiers_page(get_contest(contest_id), None, collective)


@contest_admin.route("/<int:contest_id>/rounds/<int:round_id>/tiers", methods=["GET", "POST"],
                     defaults={"collective": False})
@contest_admin.route("/<int:contest_id>/rounds/<int:round_id>/tiers/units", methods=["GET", "POST"],
                     defaults={"collective": True})
def round_tiers(contest_id, round_id, collective):
    round_ = get_round(contest_id, round_id)
    return _tiers_page(round_.contest, round_, collective)



def _managed_here(quiz):
    """A round's quiz is set up from its contest's page (quiz.manage_views.MANAGED_ELSEWHERE)."""
    round_ = setup.round_of_quiz(quiz)
    if round_ is None:
        return None
    return round_.contest.title, url_for("contest_admin.contest", contest_id=round_.contest_id)


quiz_manage_views.MANAGED_ELSEWHERE.append(_managed_here)
