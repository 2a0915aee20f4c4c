"""Contestants' pages: the contests open to them, a contest's page with its rounds, the banner.

A round is taken on the quiz pages (its quiz is unlisted, so it shows only
here); the quiz intro page links back to the contest through
``quiz.views.BELONGS_TO``, so the quiz area never imports contests.
"""

import os

from flask import abort, current_app, render_template, request, send_file, url_for

from ..accounts import permissions
from ..accounts.models import utcnow
from ..quiz import views as quiz_views
from . import setup
from .views import contests, user, visible_contest


def _uploads():
    return os.path.join(current_app.instance_path, "uploads")


def paragraphs(text):
    """The rules text as paragraphs (blank lines between them), each a list of its lines."""
    blocks, lines = [], []
    for line in (text or "").splitlines():
        if line.strip():
            lines.append(line.strip())
        elif lines:
            blocks.append(lines)
            lines = []
    if lines:
        blocks.append(lines)
    return blocks


@contests.route("/")
def index():
    now = utcnow()
    rows = setup.visible_contests(user(), now)
    return render_template("contests/index.html", contests=rows, open_rounds=setup.open_rounds(rows, now), now=now,
                           running=[c for c in rows if setup.running(c, now)])


def _url(endpoint, **values):
    """The URL of a page another part of the contests area adds, or None while it does not exist."""
    return url_for(endpoint, **values) if endpoint in current_app.view_functions else None


def _register_url(contest):
    return _url("contests.register", contest_id=contest.id) if contest.is_public else None


@contests.route("/<int:contest_id>")
def contest(contest_id):
    contest = visible_contest(contest_id)
    who, now = user(), utcnow()
    rounds = setup.rounds_of(contest)
    may_take = permissions.can(who, "contest.take_part", contest)
    return render_template(
        "contests/contest.html", contest=contest, rounds=rounds, now=now, may_take=may_take,
        mine=setup.my_rounds(who, rounds) if may_take else {}, rules=paragraphs(contest.rules_text),
        states={r.id: setup.round_state(r.quiz, now) for r in rounds}, state_labels=setup.STATE_LABELS,
        register_url=None if may_take else _register_url(contest),
        results_urls={r.id: _url("contests.round_results", contest_id=contest.id, round_id=r.id)
                      for r in rounds if r.is_published},
        contest_results_url=_url("contests.contest_results", contest_id=contest.id)
        if contest.results_published_at else None,
        login_url=url_for("auth.login", next=request.path) if who is None else None,
        is_preview=not contest.is_published)


@contests.route("/<int:contest_id>/banner")
def banner(contest_id):
    """The contest's banner image, and nothing else from the uploads folder."""
    contest = visible_contest(contest_id)
    path = setup.banner_path(_uploads(), contest)
    if path is None:
        abort(404)
    kind = os.path.splitext(path)[1].lstrip(".")
    response = send_file(path, mimetype=setup.BANNER_TYPES[kind], conditional=True, etag=True)
    response.headers["Cache-Control"] = "private, no-cache"  # revalidated: a new banner shows at once
    return response


@contests.app_template_global()
def contests_open_to(who):
    """The home page's contests: those running now that the member's unit takes part in, with open rounds."""
    if who is None or not getattr(who, "is_authenticated", False):
        return []
    now = utcnow()
    rows = [c for c in setup.visible_contests(who, now, members_only=True) if setup.running(c, now)]
    rounds = setup.open_rounds(rows, now)
    return [(c, rounds.get(c.id, [])) for c in rows]


def _belongs_to(quiz):
    """Where a round's quiz belongs, for the quiz intro page: its contest."""
    if quiz.is_listed:
        return None
    round_ = setup.round_of_quiz(quiz)
    if round_ is None:
        return None
    return round_.contest.title, url_for("contests.contest", contest_id=round_.contest_id)


quiz_views.BELONGS_TO.append(_belongs_to)
