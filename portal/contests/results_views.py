"""Organiser pages of results: a round's ranking and prizes, the contest-wide ranking, and their workflow.

Rank (provisional while the round is open) → confirm once it has closed (the
ranking is frozen and the prizes given) → publish. Ties the prizes cannot split
are shown as decisions; the organiser settles them by adjusting prizes by hand,
with a reason. Each handler loads, checks ``contest.manage`` (through
``get_contest``/``get_round``), makes one domain call, then flashes and redirects.
"""

import math

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.routing import BuildError
from wtforms import HiddenField, IntegerField, StringField
from wtforms.validators import InputRequired, Optional

from ..accounts.models import utcnow
from ..errors import DomainError
from ..extensions import client_address
from ..quiz.views import duration_text
from . import prizes, ranking
from .manage_views import actor, contest_admin, get_contest, get_round
from .models import PrizeTier, Round

PER_PAGE = 50

STATE_LABELS = {
    "open": _l("Open: provisional ranking"),
    "closed": _l("Closed: to be confirmed"),
    "confirmed": _l("Confirmed, not yet published"),
    "published": _l("Published"),
}


class ActionForm(FlaskForm):
    """A button that changes state: just the CSRF token."""


class LiveForm(FlaskForm):
    on = HiddenField()


class AdjustForm(FlaskForm):
    user = IntegerField(validators=[InputRequired()])
    tier = StringField(validators=[Optional()])  # a tier's id; empty: no prize
    reason = StringField(validators=[Optional()])
    page = IntegerField(validators=[Optional()])


def _url(endpoint, **values):
    """The URL of a page another part of the contests area adds, or None while it does not exist."""
    if endpoint not in current_app.view_functions:
        return None
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


def _page(total):
    pages = max(1, math.ceil(total / PER_PAGE))
    return min(max(1, request.args.get("page", 1, type=int)), pages), pages


def _page_of(rank):
    """The page of the table where ``rank`` starts (competition ranks: rank R has R - 1 rows before it)."""
    return (rank - 1) // PER_PAGE + 1


def _tiers(contest, round_):
    return list(PrizeTier.select()
                .where(PrizeTier.contest == contest.id, PrizeTier.collective == False,  # noqa: E712
                       PrizeTier.round == round_.id if round_ is not None else PrizeTier.round.is_null())
                .order_by(PrizeTier.position, PrizeTier.id))


def _render(contest, round_, state):
    total = prizes.entries_count(contest, round_)
    page, pages = _page(total)
    rows = prizes.table(contest, round_, PER_PAGE, (page - 1) * PER_PAGE)
    tiers = _tiers(contest, round_)
    decisions = prizes.decisions_for(contest, round_) if tiers else []
    notes = {}
    for decision in decisions:
        for user_id in decision.user_ids:
            notes.setdefault(user_id, []).append(decision.text)
    collective = [w for w in prizes.winners(contest, round_) if w.collective]
    rounds = list(Round.select().where(Round.contest == contest.id).order_by(Round.number)) \
        if round_ is None else []
    return render_template(
        "contests/manage/ranking.html", contest=contest, round=round_, state=state,
        state_labels=STATE_LABELS, rows=rows, total=total, page=page, pages=pages, first=(page - 1) * PER_PAGE,
        tiers=tiers, places={t.id: prizes.slots(t, total) for t in tiers},
        given=prizes.given_counts(contest, round_), decisions=decisions, notes=notes,
        page_of=_page_of, can_adjust=bool(tiers) and state in ("confirmed", "published"), collective=collective,
        rounds=rounds, duration=duration_text, prediction_labels=ranking.PREDICTION_LABELS,
        contests_url=_url("contest_admin.contests"), contest_url=_url("contest_admin.contest", contest_id=contest.id),
        public_url=(url_for("contests.round_results", contest_id=contest.id, round_id=round_.id) if round_ is not None
                    else url_for("contests.contest_results", contest_id=contest.id)))


def _flash_refusal(exc):
    flash(str(exc), "error")


def _checked(form_class=ActionForm):
    form = form_class()
    if not form.validate_on_submit():
        abort(400)
    return form


# ---------------------------------------------------------------- a round


def _back(round_, page=None):
    return redirect(url_for(".round_ranking", contest_id=round_.contest_id, round_id=round_.id,
                            page=page if page and page > 1 else None))


@contest_admin.route("/<int:contest_id>/rounds/<int:round_id>/ranking")
def round_ranking(contest_id, round_id):
    round_ = get_round(contest_id, round_id)
    return _render(round_.contest, round_, prizes.state(round_, utcnow()))


@contest_admin.route("/<int:contest_id>/rounds/<int:round_id>/ranking/recompute", methods=["POST"])
def round_recompute(contest_id, round_id):
    round_ = get_round(contest_id, round_id)
    _checked()
    try:
        count = prizes.recompute_round(actor(), round_, utcnow(), address=client_address())
    except DomainError as exc:
        _flash_refusal(exc)
    else:
        flash(_("The ranking was computed again: %(n)s contestants.", n=count), "success")
    return _back(round_)


@contest_admin.route("/<int:contest_id>/rounds/<int:round_id>/ranking/confirm", methods=["POST"])
def round_confirm(contest_id, round_id):
    round_ = get_round(contest_id, round_id)
    _checked()
    try:
        outcome = prizes.confirm_round(actor(), round_, utcnow(), address=client_address())
    except DomainError as exc:
        flash(_("Not confirmed. %(reason)s", reason=str(exc)), "error")
    else:
        flash(_("The ranking is confirmed and %(n)s prizes were given.", n=outcome.awarded), "success")
        if outcome.decisions:
            flash(_("%(n)s ties need the organisers' decision: see below.", n=len(outcome.decisions)), "warning")
    return _back(round_)


@contest_admin.route("/<int:contest_id>/rounds/<int:round_id>/ranking/award", methods=["POST"])
def round_award(contest_id, round_id):
    round_ = get_round(contest_id, round_id)
    _checked()
    try:
        outcome = prizes.award_round(actor(), round_, utcnow(), address=client_address())
    except DomainError as exc:
        _flash_refusal(exc)
    else:
        flash(_("The prizes were given again from the ranking: %(n)s prizes; prizes adjusted by hand are kept.",
                n=outcome.awarded), "success")
    return _back(round_)


@contest_admin.route("/<int:contest_id>/rounds/<int:round_id>/ranking/publish", methods=["POST"])
def round_publish(contest_id, round_id):
    round_ = get_round(contest_id, round_id)
    _checked()
    try:
        prizes.publish_round(actor(), round_, utcnow(), address=client_address())
    except DomainError as exc:
        flash(_("Not published. %(reason)s", reason=str(exc)), "error")
    else:
        flash(_("The results of round %(n)s are published.", n=round_.number), "success")
    return _back(round_)


@contest_admin.route("/<int:contest_id>/rounds/<int:round_id>/ranking/live", methods=["POST"])
def round_live(contest_id, round_id):
    round_ = get_round(contest_id, round_id)
    form = _checked(LiveForm)
    on = form.on.data == "1"
    prizes.set_live_leaderboard(actor(), round_, on, utcnow(), address=client_address())
    flash(_("Contestants now see the provisional ranking.") if on
          else _("The provisional ranking is hidden from contestants."), "success")
    return _back(round_)


def _adjust(contest, round_):
    form = AdjustForm()
    if not form.validate_on_submit():
        abort(400)
    tier = None
    if form.tier.data:
        tier = PrizeTier.get_or_none(PrizeTier.id == int(form.tier.data)) if form.tier.data.isdigit() else None
        if tier is None:
            abort(400)
    try:
        award = prizes.adjust(actor(), None, tier, form.reason.data, utcnow(), contest=contest, round_=round_,
                              user=form.user.data, address=client_address())
    except DomainError as exc:
        flash(_("The prize was not changed. %(reason)s", reason=str(exc)), "error")
    else:
        name = award.user.full_name
        flash(_("%(name)s: %(prize)s (adjusted by hand).", name=name, prize=tier.name) if tier is not None
              else _("%(name)s: no prize (adjusted by hand).", name=name), "success")
    return form.page.data


@contest_admin.route("/<int:contest_id>/rounds/<int:round_id>/ranking/prizes", methods=["POST"])
def round_adjust(contest_id, round_id):
    round_ = get_round(contest_id, round_id)
    page = _adjust(round_.contest, round_)
    return _back(round_, page)


# ---------------------------------------------------------------- the contest as a whole


def _contest_back(contest, page=None):
    return redirect(url_for(".contest_ranking", contest_id=contest.id, page=page if page and page > 1 else None))


def _contest_state(contest):
    if contest.results_published_at is not None:
        return "published"
    return "confirmed" if prizes.rounds_confirmed(contest) else "open"


@contest_admin.route("/<int:contest_id>/ranking")
def contest_ranking(contest_id):
    contest = get_contest(contest_id)
    return _render(contest, None, _contest_state(contest))


@contest_admin.route("/<int:contest_id>/ranking/recompute", methods=["POST"])
def contest_recompute(contest_id):
    contest = get_contest(contest_id)
    _checked()
    try:
        count = prizes.recompute_contest(actor(), contest, utcnow(), address=client_address())
    except DomainError as exc:
        _flash_refusal(exc)
    else:
        flash(_("The ranking was computed again: %(n)s contestants.", n=count), "success")
    return _contest_back(contest)


@contest_admin.route("/<int:contest_id>/ranking/award", methods=["POST"])
def contest_award(contest_id):
    contest = get_contest(contest_id)
    _checked()
    try:
        outcome = prizes.award_contest(actor(), contest, utcnow(), address=client_address())
    except DomainError as exc:
        flash(_("No prizes were given. %(reason)s", reason=str(exc)), "error")
    else:
        flash(_("The contest is ranked and %(n)s prizes were given; prizes adjusted by hand are kept.",
                n=outcome.awarded), "success")
        if outcome.decisions:
            flash(_("%(n)s ties need the organisers' decision: see below.", n=len(outcome.decisions)), "warning")
    return _contest_back(contest)


@contest_admin.route("/<int:contest_id>/ranking/publish", methods=["POST"])
def contest_publish(contest_id):
    contest = get_contest(contest_id)
    _checked()
    try:
        prizes.publish_contest(actor(), contest, utcnow(), address=client_address())
    except DomainError as exc:
        flash(_("Not published. %(reason)s", reason=str(exc)), "error")
    else:
        flash(_("The contest's results are published."), "success")
    return _contest_back(contest)


@contest_admin.route("/<int:contest_id>/ranking/prizes", methods=["POST"])
def contest_adjust(contest_id):
    contest = get_contest(contest_id)
    page = _adjust(contest, None)
    return _contest_back(contest, page)
