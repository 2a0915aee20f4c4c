"""Published results for contestants and, when the contest is public, for everyone.

A round's results appear once the organiser publishes them; before that, only
a live leaderboard the organiser turned on (clearly marked provisional), and
nothing at all otherwise (404, as for a page that does not exist). Names are
shown with their unit; no one's answers, not even their prediction, are shown
to anyone but themselves.
"""

import math

from flask import abort, current_app, render_template, request, url_for
from werkzeug.routing import BuildError

from ..accounts import permissions
from ..accounts.models import utcnow
from ..quiz.views import duration_text
from . import prizes, ranking
from .models import Round
from .views import contests, user, visible_contest, visible_round

PER_PAGE = 50


def _url(endpoint, **values):
    if endpoint not in current_app.view_functions:
        return None
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


def _table(contest, round_):
    total = prizes.entries_count(contest, round_)
    pages = max(1, math.ceil(total / PER_PAGE))
    page = min(max(1, request.args.get("page", 1, type=int)), pages)
    return prizes.table(contest, round_, PER_PAGE, (page - 1) * PER_PAGE), total, page, pages


@contests.route("/<int:contest_id>/rounds/<int:round_id>/results")
def round_results(contest_id, round_id):
    round_ = visible_round(contest_id, round_id)
    contest = round_.contest
    who = user()
    now = utcnow()
    if round_.published_at is not None:
        mode = "published"
    elif round_.live_leaderboard:
        mode = "live"
        prizes.refresh_live(round_, now)
    elif permissions.can(who, "contest.manage", contest):
        mode = "preview"  # what contestants will see, for the organiser
    else:
        abort(404)
    rows, total, page, pages = _table(contest, round_)
    return render_template(
        "contests/round_results.html", contest=contest, round=round_, mode=mode, rows=rows, total=total,
        page=page, pages=pages, first=(page - 1) * PER_PAGE, duration=duration_text,
        winners=prizes.winners(contest, round_) if mode != "live" else [],
        mine=prizes.position_of(contest, round_, who), prediction_labels=ranking.PREDICTION_LABELS,
        contest_url=_url("contests.contest", contest_id=contest.id),
        manage_url=(url_for("contest_admin.round_ranking", contest_id=contest.id, round_id=round_.id)
                    if permissions.can(who, "contest.manage", contest) else None))


@contests.route("/<int:contest_id>/results")
def contest_results(contest_id):
    contest = visible_contest(contest_id)
    who = user()
    manager = permissions.can(who, "contest.manage", contest)
    rounds = list(Round.select().where(Round.contest == contest.id).order_by(Round.number))
    shown = [r for r in rounds if r.published_at is not None or r.live_leaderboard or manager]
    published = contest.results_published_at is not None
    if not published and not shown:
        abort(404)
    if published or manager:
        rows, total, page, pages = _table(contest, None)
        winners = prizes.winners(contest)
    else:
        rows, total, page, pages, winners = [], 0, 1, 1, []
    return render_template(
        "contests/results.html", contest=contest, published=published, rounds=shown, rows=rows, total=total,
        page=page, pages=pages, first=(page - 1) * PER_PAGE, winners=winners, duration=duration_text,
        mine=prizes.position_of(contest, None, who) if published or manager else None,
        contest_url=_url("contests.contest", contest_id=contest.id),
        manage_url=url_for("contest_admin.contest_ranking", contest_id=contest.id) if manager else None)
