"""Organiser pages of contests: the blueprint and what its view modules share.

Each area of the organiser's work adds its routes to ``contest_admin`` from a
module of its own (set-up, ranking and prizes, statistics, exports); they are
imported by ``portal.create_app``. Handlers load, check ``contest.manage`` on
what they touch, make one domain call with the current user as actor, then
flash and redirect, or render.
"""

from flask import Blueprint, abort
from flask_login import current_user, login_required

from ..accounts import permissions
from ..accounts.models import Unit
from .models import Contest, Round

contest_admin = Blueprint("contest_admin", __name__, url_prefix="/manage/contests")


@contest_admin.before_request
@login_required
def _logged_in():
    """Anonymous visitors go to the login page; each view then checks its own permission."""


def actor():
    return current_user._get_current_object()


def get_contest(contest_id):
    """The contest, if the current user manages it (404 when missing, 403 when someone else's)."""
    contest = Contest.get_or_none(Contest.id == contest_id) or abort(404)
    permissions.require(current_user, "contest.manage", contest)
    return contest


def get_round(contest_id, round_id):
    """A round of a contest the current user manages."""
    contest = get_contest(contest_id)
    round_ = Round.get_or_none(Round.id == round_id, Round.contest == contest.id) or abort(404)
    round_.contest = contest
    return round_


def scope_units():
    """The units the current user may organise contests for, in tree order."""
    allowed = {u.id for u in permissions.units_for(current_user, "contest.manage")}
    return [u for u in Unit.in_tree_order() if u.id in allowed]
