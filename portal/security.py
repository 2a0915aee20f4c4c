"""Response headers and the mapping of errors to pages."""

from flask import abort, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .extensions import client_address  # noqa: F401  (re-exported for views)

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; "
    "object-src 'none'; frame-ancestors 'none'"
)


_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def init_app(app):
    @app.after_request
    def _headers(response):
        h = response.headers
        h.setdefault("Content-Security-Policy", CSP)
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("Referrer-Policy", "same-origin")
        h.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if app.config.get("SESSION_COOKIE_SECURE"):
            h.setdefault("Strict-Transport-Security", "max-age=31536000")
        if request.endpoint != "static" and "Cache-Control" not in h:
            h["Cache-Control"] = "no-store"
        return response

    @app.before_request
    def _refuse_nul():
        # PostgreSQL can neither store nor compare text holding U+0000, so a query argument or form field with
        # one was a 500 wherever a view put it in a query (the log-in form, for one). No keyboard types it.
        # Only forms are read for it: a JSON body (every autosave) is not parsed as one here.
        sources = ([request.args] if request.query_string else []) + \
            ([request.form] if request.mimetype in _FORM_TYPES else [])
        for values in sources:
            if any("\x00" in key or "\x00" in value for key, value in values.items(multi=True)):
                abort(400)

    @app.errorhandler(CSRFError)
    def _csrf_error(exc):
        return render_template("errors/400.html", reason="csrf"), 400

    @app.errorhandler(HTTPException)
    def _http_error(exc):
        code = exc.code or 500
        if request.path.startswith("/api/"):
            return _api_error(exc, code)
        if code in (400, 403, 404, 405, 413, 429):
            return render_template(f"errors/{code}.html", error=exc), code
        return exc

    @app.errorhandler(500)
    def _server_error(exc):
        return render_template("errors/500.html"), 500


def _api_error(exc, code):
    """An error under /api/ in the API's form, {"error": message}: raised in an API view, or in routing (a URL
    or method that no API route takes), before any blueprint is known."""
    messages = {400: _("The request is not valid."), 403: _("You do not have access to this."),
                404: _("Not found."), 405: _("This method is not allowed here."), 413: _("The request is too large."),
                429: _("Too many requests. Wait a moment and try again.")}
    response = jsonify(error=messages.get(code) or _("The request is not valid."))
    response.status_code = code
    allow = dict(exc.get_headers()).get("Allow")
    if allow:
        response.headers["Allow"] = allow
    return response
