"""Rosters: a unit's member list and the roster import."""

from flask import Blueprint

members = Blueprint("members", __name__, url_prefix="/members")
