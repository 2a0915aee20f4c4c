"""Admin pages: the organisation tree, accounts and roles, the audit log."""

from flask import Blueprint

admin = Blueprint("admin", __name__, url_prefix="/admin")
