"""The pledge area's two blueprints; each group of pages adds its routes from a module of its own
(imported by ``portal.create_app``): ``pledges`` for members and secretaries (/pledges),
``pledge_admin`` for organisers (/manage/pledges)."""

from flask import Blueprint
from flask_login import login_required

pledges = Blueprint("pledges", __name__, url_prefix="/pledges")
pledge_admin = Blueprint("pledge_admin", __name__, url_prefix="/manage/pledges")


@pledges.before_request
@login_required
def _member_logged_in():
    """Anonymous visitors go to the login page; each view then checks its own permission."""


@pledge_admin.before_request
@login_required
def _organiser_logged_in():
    """Anonymous visitors go to the login page; each view then checks its own permission."""
