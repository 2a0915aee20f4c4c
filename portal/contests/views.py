"""Contestants' and the public's pages of contests: the blueprint and what its view modules share.

Public contests' pages (rules, registration, published results) are open to
visitors; everything else needs a login. Routes live in modules of their own,
imported by ``portal.create_app``.
"""

from flask import Blueprint, abort
from flask_login import current_user

from ..accounts import permissions
from .models import Contest, Round

contests = Blueprint("contests", __name__, url_prefix="/contests")


def user():
    return current_user._get_current_object() if current_user.is_authenticated else None


def visible_contest(contest_id):
    """A published contest the visitor may see: public ones to anyone, others to those who may take part
    (or manage it); 404 otherwise, so a contest's existence is not revealed."""
    contest = Contest.get_or_none(Contest.id == contest_id)
    if contest is None:
        abort(404)
    who = user()
    if permissions.can(who, "contest.manage", contest):
        return contest
    if not contest.is_published:
        abort(404)
    if contest.is_public or permissions.can(who, "contest.take_part", contest):
        return contest
    abort(404)


def visible_round(contest_id, round_id):
    contest = visible_contest(contest_id)
    round_ = Round.get_or_none(Round.id == round_id, Round.contest == contest.id) or abort(404)
    round_.contest = contest
    return round_
