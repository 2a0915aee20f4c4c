"""Logging in, throttling, changing passwords, ending sessions."""

import datetime as dt

import peewee as pw
from flask_babel import gettext as _

from ..db import nfc, write_together
from ..errors import DomainError
from .models import LoginAttempt, User
from .passwords import MIN_LENGTH, hash_password, needs_rehash, verify_password


class LoginFailed(DomainError):
    pass


class LoginThrottled(DomainError):
    def __init__(self, message, retry_after):
        super().__init__(message)
        self.retry_after = retry_after


def normalise_username(username):
    return nfc(username or "").lower()


def _failures_since(since, username, address):
    """Failed logins since ``since``: (of this account from this address, from this address, of this account),
    counted in one statement (every login asks)."""
    def failures(condition):
        return pw.fn.COALESCE(pw.fn.SUM(pw.Case(None, [(condition, 1)], 0)), 0)

    by_name, by_address = LoginAttempt.username == username, LoginAttempt.address == address
    query = (LoginAttempt.select(failures(by_name & by_address), failures(by_address), failures(by_name))
             .where(LoginAttempt.at >= since, LoginAttempt.success == False, by_name | by_address))  # noqa: E712
    return tuple(int(n) for n in query.tuples()[0])


def check_throttle(username, address, now, limits):
    """Raise LoginThrottled when too many recent failures name this account or address.

    The account-wide limit skips addresses where the account logged in before,
    so a stranger guessing at a member's password cannot lock the member out.
    """
    window = limits["window"]
    since = now - dt.timedelta(seconds=window)
    message = _("Too many failed logins. Please wait %(minutes)d minutes and try again.",
                minutes=max(1, window // 60))
    both, from_address, of_account = _failures_since(since, username, address)
    if both >= limits["per_account_and_address"]:
        raise LoginThrottled(message, window)
    if from_address >= limits["per_address"]:
        raise LoginThrottled(message, window)
    if of_account >= limits["per_account"]:
        known = (LoginAttempt.select()
                 .where(LoginAttempt.username == username, LoginAttempt.address == address,
                        LoginAttempt.success == True)  # noqa: E712
                 .exists())
        if not known:
            raise LoginThrottled(message, window)


def authenticate(username, password, address, now, limits):
    """Return the active user with these credentials, recording the attempt."""
    username = normalise_username(username)
    check_throttle(username, address, now, limits)
    user = User.get_or_none(User.username == username)
    ok = user is not None and verify_password(user.password_hash, password or "")
    if not ok:
        # Same work whether or not the account exists, so timing does not tell.
        if user is None:
            verify_password(_DUMMY_HASH, password or "")
        LoginAttempt.create(at=now, username=username[:64], address=address, success=False)
        raise LoginFailed(_("Wrong username or password."))
    if not user.is_active:
        LoginAttempt.create(at=now, username=username, address=address, success=False)
        raise LoginFailed(_("This account is locked. Please contact your unit's organiser."))
    fields = {User.last_login_at: now}
    if needs_rehash(user.password_hash):
        fields[User.password_hash] = hash_password(password)
    write_together(LoginAttempt.insert(at=now, username=username, address=address, success=True),
                   User.update(fields).where(User.id == user.id))
    # Kept on the object so the page after login can say when the previous one was.
    user.previous_login_at, user.last_login_at = user.last_login_at, now
    return user


_DUMMY_HASH = hash_password("not a real password")


def validate_new_password(password, user=None):
    """Return a message when ``password`` is too weak, else None."""
    if len(password) < MIN_LENGTH:
        return _("The password must have at least %(n)d characters.", n=MIN_LENGTH)
    if user is not None and password.lower() in {user.username.lower(), (user.phone or "").lower()}:
        return _("The password must not be your username or phone number.")
    if len(set(password)) < 4:
        return _("This password is too easy to guess.")
    return None


def change_password(user, current, new, now):
    """Set a new password chosen by the user; every other session of theirs ends."""
    if not verify_password(user.password_hash, current or ""):
        raise DomainError(_("The current password is wrong."), field="current_password")
    if current == new:
        raise DomainError(_("The new password must differ from the current one."), field="new_password")
    problem = validate_new_password(new, user)
    if problem:
        raise DomainError(problem, field="new_password")
    user.password_hash = hash_password(new)
    user.must_change_password = False
    user.password_changed_at = now
    user.rotate_session_token()
    user.save(only=[User.password_hash, User.must_change_password,
                    User.password_changed_at, User.session_token])
    return user


def end_all_sessions(user):
    """Invalidate every login cookie of ``user`` (logout, deactivation, password reset)."""
    user.rotate_session_token()
    User.update(session_token=user.session_token).where(User.id == user.id).execute()
