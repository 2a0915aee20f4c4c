"""The contest's certificates page: the texts of its giấy khen with a live preview, issuing, bulk downloads.

The preview renders the posted texts without saving them: the page's form is
posted (by certificate-preview.js, half a second after the organiser stops
typing; by a button without JavaScript) into an iframe, whose document is the
very HTML WeasyPrint receives. Issuing and downloads work per published round
and for the contest as a whole.
"""

from flask import abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import escape
from werkzeug.routing import BuildError
from wtforms import BooleanField, StringField

from .. import jobs
from ..accounts import permissions
from ..accounts.models import utcnow
from ..certificates import issue, render
from ..certificates.forms import DesignForm, design_form_data
from ..certificates.models import Certificate
from ..errors import DomainError
from ..extensions import client_address
from ..security import CSP
from . import certify
from .manage_views import actor, contest_admin, get_contest, get_round

# The preview is the certificate's own document in an iframe (srcdoc), which takes this page's policy: its
# font sizes are style attributes. Scripts stay 'self' only, and the iframe is sandboxed without scripts.
PAGE_CSP = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
# The same document posted into the iframe without JavaScript: framed by this site only.
PREVIEW_CSP = ("default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; "
               "base-uri 'none'; form-action 'none'; frame-ancestors 'self'")


class IssueForm(FlaskForm):
    round_id = StringField()  # empty: the contest-wide prizes
    participation = BooleanField()


class DownloadForm(FlaskForm):
    round_id = StringField()
    fmt = StringField()


def _url(endpoint, **values):
    """The URL of a page another area adds, or None while it does not exist."""
    if endpoint not in current_app.view_functions:
        return None
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


def _load(contest_id):
    contest = get_contest(contest_id)
    permissions.require(current_user, "certificate.manage", contest)
    return contest


def _design(contest):
    return contest.certificate_design if contest.certificate_design_id is not None else None


def _field_error(form, exc):
    field = getattr(form, exc.field, None) if exc.field else None
    if field is not None and hasattr(field, "errors"):
        field.errors = [*field.errors, str(exc)]
    else:
        flash(str(exc), "error")


def _kind(value):
    return value if value in Certificate.KINDS else "merit"


@contest_admin.route("/<int:contest_id>/certificates", methods=["GET", "POST"])
def certificates(contest_id):
    contest = _load(contest_id)
    form = DesignForm(data=design_form_data(certify.design_values(contest), contest.owner_unit_id))
    if form.validate_on_submit():
        try:
            certify.save_design(actor(), contest, form.values(), utcnow(), address=client_address())
        except DomainError as exc:
            _field_error(form, exc)
        else:
            flash(_("The texts of the certificates are saved. Certificates already issued keep the texts they "
                    "were issued with."), "success")
            return redirect(url_for(".certificates", contest_id=contest.id))
    response = make_response(render_template(
        "contests/manage/certificates.html", contest=contest, design=_design(contest), form=form,
        batches=certify.batches(contest), placeholders=issue.PLACEHOLDERS, kind_labels=issue.KIND_LABELS,
        preview_kind=_kind(request.form.get("preview_kind")),
        list_url=lambda round_: _url("certificate_admin.certificates", source=(
            certify.round_prefix(round_) if round_ is not None else f"contest:{contest.id}/")),
        contest_url=url_for(".contest", contest_id=contest.id)))
    response.headers["Content-Security-Policy"] = PAGE_CSP
    return response


@contest_admin.route("/<int:contest_id>/certificates/preview", methods=["POST"])
def certificate_preview(contest_id):
    """A sample certificate's document from the posted texts (the CSRF token checked as for every POST); saves
    nothing. Images are the saved ones: an upload is checked and stored only with the texts."""
    contest = _load(contest_id)
    form = DesignForm()
    remove = [name for name in ("border", "logo") if getattr(form, "remove_" + name).data]
    try:
        data = certify.preview(contest, form.values(), _kind(request.form.get("preview_kind")), remove)
    except DomainError as exc:
        return _preview_response(_message_page(str(exc)), 422)
    return _preview_response(render.document_html(data, render.load_images([data]),
                                                  static_url=url_for("static", filename="")))


def _message_page(message):
    """What the iframe shows instead of a certificate; large, since it is scaled down with the page."""
    return (f'<!doctype html><html lang="vi"><meta charset="utf-8"><title>{escape(_("Preview"))}</title>'
            f'<link rel="stylesheet" href="{url_for("static", filename="css/portal.css")}">'
            "<style>body { padding: 48px; font-size: 28px; }</style>"
            f'<body><p class="flash flash-error" role="alert">{escape(message)}</p></body></html>')


def _preview_response(html, status=200):
    response = make_response(html, status)
    response.mimetype = "text/html"
    response.headers["Content-Security-Policy"] = PREVIEW_CSP
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


@contest_admin.route("/<int:contest_id>/certificates/sample.pdf")
def certificate_sample(contest_id):
    """A sample certificate from the saved texts, as the PDF that will be printed."""
    contest = _load(contest_id)
    try:
        data = certify.sample(contest, _kind(request.args.get("kind")))
    except DomainError as exc:  # no texts saved yet, or no wording for this kind
        flash(str(exc), "error")
        return redirect(url_for(".certificates", contest_id=contest.id))
    response = make_response(render.render_certificate(data, render.load_images([data])))
    response.mimetype = "application/pdf"
    response.headers["Content-Disposition"] = "inline; filename=giay-khen-mau.pdf"
    return response


def _subject(contest, raw_round_id):
    """The round named by a posted id (None: the contest as a whole)."""
    raw = (raw_round_id or "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        abort(400)
    return get_round(contest.id, int(raw))


@contest_admin.route("/<int:contest_id>/certificates/issue", methods=["POST"])
def issue_certificates(contest_id):
    contest = _load(contest_id)
    form = IssueForm()
    if not form.validate_on_submit():
        abort(400)
    round_ = _subject(contest, form.round_id.data)
    public_url = current_app.config["PUBLIC_URL"]
    try:
        if round_ is not None:
            issued, skipped = certify.issue_for_round(actor(), round_, utcnow(), public_url,
                                                      form.participation.data, address=client_address())
        else:
            issued, skipped = certify.issue_for_contest(actor(), contest, utcnow(), public_url,
                                                        form.participation.data, address=client_address())
    except DomainError as exc:
        flash(_("No certificates were issued. %(reason)s", reason=str(exc)), "error")
    else:
        if issued:
            flash(_("%(n)s certificates issued; %(k)s already issued were left as they are.",
                    n=len(issued), k=skipped) if skipped else _("%(n)s certificates issued.", n=len(issued)),
                  "success")
        else:
            flash(_("Nothing new to issue: the %(k)s certificates were issued before.", k=skipped), "info")
    return redirect(url_for(".certificates", contest_id=contest.id, _anchor="issue"))


@contest_admin.route("/<int:contest_id>/certificates/download", methods=["POST"])
def download_certificates(contest_id):
    """Start a background job putting the valid certificates of a round (or the contest) in one PDF or a ZIP."""
    contest = _load(contest_id)
    form = DownloadForm()
    if not form.validate_on_submit() or form.fmt.data not in ("pdf", "zip"):
        abort(400)
    round_ = _subject(contest, form.round_id.data)
    ids = [c.id for c in certify.valid_certificates(contest, round_).select(Certificate.id)]
    if not ids:
        flash(_("No certificates issued yet: issue them first."), "error")
        return redirect(url_for(".certificates", contest_id=contest.id, _anchor="issue"))
    title = (_("Certificates: %(contest)s, round %(n)s", contest=contest.title, n=round_.number)
             if round_ is not None else _("Certificates: %(contest)s", contest=contest.title))
    try:
        job = jobs.start_certificates(actor(), contest.owner_unit, ids, form.fmt.data, title)
    except DomainError as exc:
        flash(str(exc), "error")
        return redirect(url_for(".certificates", contest_id=contest.id, _anchor="issue"))
    return redirect(url_for("jobs.job", job_id=job.id))
