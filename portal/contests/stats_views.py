"""Organiser pages of the numbers per unit: a round's, or the whole contest's, with the collective prizes.

Each handler loads the contest (or round) the organiser manages, makes the
domain calls (the statistics, re-ranking a stale unconfirmed round first, and
the collective standings from them) and renders; the award button posts to
``collective.award``. Sorting is done on the server (``?sort=column&dir=``):
unsorted, the table follows the tree with its indentation.
"""

from flask import abort, flash, redirect, render_template, request, url_for
from babel import numbers
from flask_babel import get_locale
from flask_babel import gettext as _

from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField
from wtforms.validators import InputRequired, Optional

from ..accounts.models import Unit, utcnow
from ..errors import DomainError
from ..extensions import client_address
from ..quiz.forms import PostForm
from . import charts, collective, prizes, stats
from .manage_views import actor, contest_admin, get_contest, get_round
from .models import PrizeTier, Round

class Numbers:
    """The table's numbers in the page's locale ("40.000", "57,8%"), its symbols looked up once per page.

    A table of a few thousand units holds tens of thousands of numbers: formatting each one through
    Babel (what the ``number`` and ``percent`` filters do) would take longer than counting them.
    """

    def __init__(self, locale):
        self.group = numbers.get_group_symbol(locale)
        self.decimal = numbers.get_decimal_symbol(locale)

    def int(self, value):
        return "" if value is None else f"{value:,}".replace(",", self.group)

    def percent(self, share, digits=1):
        """A share (0.578 → "57,8%"); a dash when there is none."""
        if share is None:
            return "—"
        text = f"{100 * share:,.{digits}f}"
        return text.replace(",", "\0").replace(".", self.decimal).replace("\0", self.group) + "%"


NUMERIC_FIRST_DESCENDING = {"declared", "participants", "rate", "attempts", "average", "perfect", "prizes"}


def _sorting():
    column = request.args.get("sort", "")
    if column not in stats.SORT_COLUMNS:
        return None, False
    direction = request.args.get("dir", "")
    descending = direction == "desc" if direction in ("asc", "desc") else column in NUMERIC_FIRST_DESCENDING
    return column, descending


def _render(contest, round_, numbers, standings, now):
    column, descending = _sorting()
    rows = numbers.sorted_rows(column, descending) if column else numbers.rows
    focus = [child for root in numbers.roots for child in numbers.children(root)] or numbers.roots
    rounds = list(Round.select().where(Round.contest == contest.id).order_by(Round.number))
    if round_ is not None:
        state = prizes.state(round_, now)
        can_adjust = round_.confirmed_at is not None
        can_award = can_adjust and round_.published_at is None
    else:
        state = None
        can_adjust = prizes.rounds_confirmed(contest)
        can_award = can_adjust and contest.results_published_at is None
    return render_template(
        "contests/manage/stats.html", contest=contest, round=round_, rounds=rounds, stats=numbers, rows=rows,
        sort=column, descending=descending, state=state, now=now,
        rate_chart=charts.rate_bars(focus), focus_rows=focus,
        histogram=charts.histogram_chart(numbers.histogram), days=charts.days_chart(numbers.days),
        bands=stats.BAND_LABELS, standings=standings, measure_labels=collective.MEASURE_LABELS,
        can_award=can_award, can_adjust=can_adjust, post_form=PostForm(), n=Numbers(get_locale()))


@contest_admin.route("/<int:contest_id>/stats", endpoint="stats")
def contest_stats(contest_id):
    contest = get_contest(contest_id)
    now = utcnow()
    numbers = stats.contest_stats(contest, now)
    return _render(contest, None, numbers, collective.standings(contest, None, now, numbers), now)


@contest_admin.route("/<int:contest_id>/rounds/<int:round_id>/stats")
def round_stats(contest_id, round_id):
    round_ = get_round(contest_id, round_id)
    now = utcnow()
    numbers = stats.round_stats(round_, now)
    return _render(round_.contest, round_, numbers, collective.standings(round_.contest, round_, now, numbers), now)


def _award(contest, round_, back):
    if not PostForm().validate_on_submit():
        abort(400)
    try:
        result = collective.award(contest, round_, actor(), utcnow(), address=client_address())
    except DomainError as exc:
        flash(str(exc), "error")
    else:
        given = sum(1 for s in result.competing if s.tier is not None)
        flash(_("Collective prizes given to %(n)s units.", n=given), "success")
        if result.pending:
            flash(_("Some units tie where a prize runs out of places: decide between them (see the flagged rows)."),
                  "warning")
    return redirect(back + "#collective")


class CollectiveAdjustForm(FlaskForm):
    unit = IntegerField(validators=[InputRequired()])
    tier = StringField(validators=[Optional()])  # a collective tier's id; empty: no prize
    reason = StringField(validators=[Optional()])


def _adjust(contest, round_, back):
    form = CollectiveAdjustForm()
    if not form.validate_on_submit():
        abort(400)
    unit = Unit.get_or_none(Unit.id == form.unit.data) or abort(404)
    tier = None
    if form.tier.data:
        tier = (PrizeTier.get_or_none(PrizeTier.id == int(form.tier.data)) if form.tier.data.isdigit() else None) \
            or abort(400)
    try:
        collective.adjust(actor(), contest, round_, unit, tier, form.reason.data, utcnow(), address=client_address())
    except DomainError as exc:
        flash(_("The prize was not changed. %(reason)s", reason=str(exc)), "error")
    else:
        flash(_("%(name)s: %(prize)s (adjusted by hand).", name=unit.name, prize=tier.name) if tier is not None
              else _("%(name)s: no prize (adjusted by hand).", name=unit.name), "success")
    return redirect(back + "#collective")


@contest_admin.route("/<int:contest_id>/stats/collective", methods=["POST"])
def award_collective(contest_id):
    contest = get_contest(contest_id)
    return _award(contest, None, url_for(".stats", contest_id=contest.id))


@contest_admin.route("/<int:contest_id>/rounds/<int:round_id>/stats/collective", methods=["POST"])
def round_award_collective(contest_id, round_id):
    round_ = get_round(contest_id, round_id)
    return _award(round_.contest, round_, url_for(".round_stats", contest_id=contest_id, round_id=round_.id))


@contest_admin.route("/<int:contest_id>/stats/collective/adjust", methods=["POST"])
def adjust_collective(contest_id):
    contest = get_contest(contest_id)
    return _adjust(contest, None, url_for(".stats", contest_id=contest.id))


@contest_admin.route("/<int:contest_id>/rounds/<int:round_id>/stats/collective/adjust", methods=["POST"])
def round_adjust_collective(contest_id, round_id):
    round_ = get_round(contest_id, round_id)
    return _adjust(round_.contest, round_, url_for(".round_stats", contest_id=contest_id, round_id=round_.id))
