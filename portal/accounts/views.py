"""Login, logout, password change and the home page."""

import datetime as dt
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from ..errors import DomainError
from ..extensions import client_address, limiter
from ..quiz.catalogue import open_quizzes
from . import auth as auth_ops
from . import permissions
from .forms import ChangePasswordForm, LoginForm
from .models import utcnow

auth = Blueprint("auth", __name__)

# Endpoints a user who must change their password may still reach.
_OPEN_WHILE_CHANGING = {"auth.change_password", "auth.logout", "static"}


def safe_next(target):
    """Return ``target`` when it is a path on this site, else None."""
    if not target or "\\" in target or any(ord(c) < 32 for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _limits():
    c = current_app.config
    return {
        "window": c["LOGIN_WINDOW_SECONDS"],
        "per_account_and_address": c["LOGIN_MAX_FAILURES_PER_ACCOUNT_AND_ADDRESS"],
        "per_address": c["LOGIN_MAX_FAILURES_PER_ADDRESS"],
        "per_account": c["LOGIN_MAX_FAILURES_PER_ACCOUNT"],
    }


@auth.before_app_request
def _force_password_change():
    if (request.endpoint not in _OPEN_WHILE_CHANGING and current_user.is_authenticated
            and current_user.must_change_password):
        if request.path.startswith("/api/"):  # API clients get JSON, not a page to follow
            return jsonify(error=_("Please choose your own password before you continue.")), 403
        return redirect(url_for("auth.change_password"))


@auth.app_context_processor
def _inject_permissions():
    return {"can": lambda permission, obj=None: permissions.can(current_user, permission, obj)}


@auth.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN"], methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("auth.home"))
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        try:
            user = auth_ops.authenticate(form.username.data, form.password.data,
                                         client_address(), utcnow(), _limits())
        except auth_ops.LoginThrottled as exc:
            flash(str(exc), "error")
            return render_template("accounts/auth/login.html", form=form), 429
        except DomainError as exc:
            flash(str(exc), "error")
        else:
            session.clear()  # a fresh session: nothing from before login survives
            login_user(user, remember=form.remember.data)
            if user.previous_login_at:
                session["previous_login_at"] = user.previous_login_at.isoformat()
            if user.must_change_password:
                flash(_("Welcome! Please choose your own password before you continue."), "info")
                return redirect(url_for("auth.change_password"))
            return redirect(safe_next(form.next.data) or url_for("auth.home"))
    return render_template("accounts/auth/login.html", form=form)


@auth.route("/logout", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        auth_ops.end_all_sessions(current_user._get_current_object())
    session.clear()
    logout_user()  # after clear(): it leaves the note that deletes the remember-me cookie
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))


@auth.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            user = auth_ops.change_password(current_user._get_current_object(), form.current_password.data,
                                            form.new_password.data, utcnow())
        except DomainError as exc:
            getattr(form, exc.field or "new_password").errors.append(str(exc))
        else:
            # The token rotated, so log in again with the new one; other devices are out.
            login_user(user, remember=bool(request.cookies.get(current_app.config["REMEMBER_COOKIE_NAME"])))
            flash(_("Your password has been changed."), "success")
            return redirect(url_for("auth.home"))
    return render_template("accounts/auth/change_password.html", form=form)


@auth.route("/")
@login_required
def home():
    user = current_user._get_current_object()
    previous = session.get("previous_login_at")
    return render_template("accounts/home.html", user=user, open_quizzes=open_quizzes(user, utcnow()),
                           unit_path=user.unit.ancestors() + [user.unit] if user.unit else [],
                           previous_login_at=dt.datetime.fromisoformat(previous) if previous else None)
