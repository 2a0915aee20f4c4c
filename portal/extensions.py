"""Flask extensions: login, CSRF, i18n, rate limits."""

from flask import current_app, has_request_context, request
from flask_babel import Babel
from flask_babel import lazy_gettext as _l
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect

class _CSRFProtect(CSRFProtect):
    def _get_csrf_token(self):
        """The token in X-CSRFToken first: the attempt page's saves carry it there, and a JSON body's
        form is then never parsed for it."""
        for header in current_app.config["WTF_CSRF_HEADERS"]:
            token = request.headers.get(header)
            if token:
                return token
        return super()._get_csrf_token()


login_manager = LoginManager()
csrf = _CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


def client_address():
    """The peer address (behind a proxy, configure ProxyFix so this is the client)."""
    return request.remote_addr or ""


def user_or_address():
    """Rate-limit key: the logged-in account, else the address (a limit on starting attempts follows the person)."""
    return f"user:{current_user.id}" if current_user.is_authenticated else client_address()


def start_limit():
    """The limit on starting attempts, shared by the API and the page without JavaScript."""
    return current_app.config["RATELIMIT_QUIZ_START"]


def init_app(app):
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to continue.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    csrf.init_app(app)
    babel.init_app(app, locale_selector=lambda: app.config["BABEL_DEFAULT_LOCALE"])
    _cache_template_translations(app)
    app.config.setdefault("RATELIMIT_ENABLED", True)
    limiter.init_app(app)
    # Every limit of the portal is on a view's decorator, which checks it when the view runs; the check
    # Flask-Limiter adds before every request finds no application or default limit to apply, and cost an
    # autosave some 7% of its time: it is taken out.
    if limiter._check_request_limit in app.before_request_funcs.get(None, []):
        app.before_request_funcs[None].remove(limiter._check_request_limit)

    from .accounts.models import user_with_grants

    @login_manager.user_loader
    def load_user(token):
        user_id, _sep, session_token = token.partition(":")
        if not user_id.isdigit() or not session_token:
            return None
        read = _user_readers.get(request.endpoint) if has_request_context() else None
        user = read(int(user_id), request.view_args or {}, session_token) if read else user_with_grants(int(user_id))
        # A rotated token (logout, password change, lock) ends the session everywhere.
        if user is None or not user.is_active or user.session_token != session_token:
            return None
        return user


_user_readers = {}  # endpoint -> read(user_id, view_args, session_token): the user, and what the view needs


def read_user_with(endpoint):
    """Register how ``endpoint`` reads the logged-in user together with what its view reads first.

    For the requests a member makes by the thousand (an autosave): the user is read on every request to check
    the session, and one statement instead of two halves the round trips to PostgreSQL. ``read(user_id,
    view_args, session_token)`` returns the user (or None), keeps the rest for the view (in ``flask.g``), and
    the session is checked here as always. A reader that writes (PostgreSQL's one-statement autosave) checks
    the session token in its own statement: CSRFProtect has checked the request before it runs.
    """
    def register(read):
        _user_readers[endpoint] = read
        return read

    return register


def _cache_template_translations(app):
    """Templates look each text up once per process: the portal speaks one language (BABEL_DEFAULT_LOCALE),
    and Flask-Babel's lookup walks the request context every time (an attempt page has some 40 texts)."""
    from flask_babel import get_translations

    found = {}

    def gettext(string):
        text = found.get(string)
        if text is None:
            text = found[string] = get_translations().ugettext(string)
        return text

    app.jinja_env.install_gettext_callables(
        gettext=gettext,
        ngettext=lambda s, p, n: get_translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: get_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: get_translations().unpgettext(c, s, p, n),
    )
