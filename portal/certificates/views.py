"""Certificate pages: a member's own certificates and downloads, public verification, and the organiser's
list, detail, issue, correct, revoke and design pages.

``certificates`` serves members and the public (/certificates/…, /verify/…); ``certificate_admin`` serves
organisers under /manage/certificates. Handlers load, check ``certificate.own`` or ``certificate.manage``
on what they touch, make one domain call with the current user as actor, then flash and redirect, or render.
"""

import datetime as dt
import io
import math

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..accounts import permissions
from ..accounts.models import Unit, utcnow
from ..errors import DomainError
from ..extensions import client_address, limiter
from ..formatting import format_date_vi
from . import issue, render
from .forms import CorrectForm, DesignForm, IssueForm, RevokeForm, design_form_data
from .models import Certificate, Design

certificates = Blueprint("certificates", __name__)
certificate_admin = Blueprint("certificate_admin", __name__, url_prefix="/manage/certificates")

PER_PAGE = 50


def _verify_limit():
    return current_app.config["RATELIMIT_VERIFY"]


def _actor():
    return current_user._get_current_object()


def _field_error(form, exc):
    """Show a domain error next to its field, or at the top of the page."""
    field = getattr(form, exc.field, None) if exc.field else None
    if field is not None and hasattr(field, "errors"):
        field.errors = list(field.errors) + [str(exc)]
    else:
        flash(str(exc), "error")


def isodate(text):
    """A snapshot's ISO date ("2025-05-26") as 26/05/2025."""
    try:
        return format_date_vi(dt.date.fromisoformat(str(text or "")[:10]))
    except ValueError:
        return ""


def _labels():
    return {"kind_labels": issue.KIND_LABELS, "status_labels": issue.STATUS_LABELS,
            "header_labels": issue.HEADER_LABELS, "isodate": isodate}


certificates.context_processor(_labels)
certificate_admin.context_processor(_labels)


def _pdf(certificate):
    """The certificate's PDF as an attachment named in ASCII: giay-khen-Nguyen-Thi-Ngoc-Huong-K7Q2M9XMAB.pdf."""
    data = certificate.values
    content = render.render_certificate(data, render.load_images([data]))
    kind = "giay-khen" if certificate.kind == "merit" else "giay-chung-nhan"
    name = f"{kind}-{render.ascii_name(certificate.recipient_name)}-{certificate.code}.pdf"
    return send_file(io.BytesIO(content), mimetype="application/pdf", as_attachment=True, download_name=name)


# ---------------------------------------------------------------- members


@certificates.route("/certificates/mine")
@login_required
def mine():
    rows = issue.for_user(current_user)
    return render_template("certificates/mine.html", rows=rows,
                           newer={c.id: issue.latest_version(c) for c in rows if c.status == "replaced"})


@certificates.route("/certificates/<code>.pdf")
@login_required
def download(code):
    """The owner's or a managing organiser's PDF; anyone else learns nothing, not even that the code exists."""
    certificate = Certificate.get_or_none(Certificate.code == issue.normalise_code(code))
    if certificate is None or not (permissions.can(current_user, "certificate.own", certificate)
                                   or permissions.can(current_user, "certificate.manage", certificate)):
        abort(404)
    return _pdf(certificate)


# ---------------------------------------------------------------- public verification


@certificates.route("/verify", methods=["GET", "POST"])
def verify_form():
    """The form to type a code (the QR leads straight to /verify/<code>)."""
    text = request.values.get("code", "")
    if text.strip():
        code = issue.normalise_code(text)
        if code:
            return redirect(url_for(".verify", code=issue.display_code(code)))
    error = _("Type the code printed on the certificate, for example K7Q2M-9XMAB.") if "code" in request.values \
        else None
    return render_template("certificates/verify_form.html", error=error, code=text)


@certificates.route("/verify/<code>")
@limiter.limit(_verify_limit)
def verify(code):
    certificate = issue.find(code)
    if certificate is None:
        return render_template("certificates/verify.html", certificate=None, code=code[:40]), 404
    latest = issue.latest_version(certificate) if certificate.status == "replaced" else None
    return render_template("certificates/verify.html", certificate=certificate, data=certificate.values,
                           latest=latest, code=certificate.display_code)


# ---------------------------------------------------------------- organisers: certificates


@certificate_admin.before_request
@login_required
def _logged_in():
    """Anonymous visitors go to the login page; each view then checks its own permission."""


def _get(code):
    """The certificate, if the current user manages it (404 when missing, 403 when someone else's)."""
    certificate = Certificate.get_or_none(Certificate.code == issue.normalise_code(code)) or abort(404)
    permissions.require(current_user, "certificate.manage", certificate)
    return certificate


def _scope_units():
    allowed = {u.id for u in permissions.units_for(current_user, "certificate.manage")}
    return [u for u in Unit.in_tree_order() if u.id in allowed]


@certificate_admin.route("", endpoint="certificates")
def certificate_list():
    permissions.require(current_user, "certificate.manage")
    q = request.args.get("q", "").strip()
    status = request.args.get("status", "")
    status = status if status in Certificate.STATES else ""
    kind = request.args.get("kind", "")
    kind = kind if kind in Certificate.KINDS else ""
    source = request.args.get("source", "").strip()
    query = issue.search(permissions.units_for(current_user, "certificate.manage"), q, status, kind, source)
    total = query.count()
    pages = max(1, math.ceil(total / PER_PAGE))
    page = min(max(request.args.get("page", 1, type=int), 1), pages)
    rows = list(query.paginate(page, PER_PAGE))
    filters = {k: v for k, v in {"q": q, "status": status, "kind": kind, "source": source}.items() if v}
    return render_template("certificates/manage/list.html", rows=rows, page=page, pages=pages, total=total,
                           filters=filters)


def _render_detail(certificate, revoke_form=None):
    chain = issue.versions(certificate)
    return render_template("certificates/manage/detail.html", certificate=certificate, data=certificate.values,
                           chain=chain, entries=issue.audit_entries(chain),
                           revoke_form=revoke_form or RevokeForm(formdata=None),
                           design=certificate.design if certificate.design_id else None)


@certificate_admin.route("/<code>")
def detail(code):
    return _render_detail(_get(code))


@certificate_admin.route("/<code>/revoke", methods=["POST"])
def revoke(code):
    certificate = _get(code)
    form = RevokeForm()
    if form.validate_on_submit():
        try:
            issue.revoke(_actor(), certificate, form.reason.data, utcnow(), address=client_address())
        except DomainError as exc:
            _field_error(form, exc)
        else:
            flash(_("Certificate %(code)s of %(name)s is revoked; its verification page says so.",
                    code=certificate.display_code, name=certificate.recipient_name), "success")
            return redirect(url_for(".detail", code=certificate.code))
    return _render_detail(certificate, revoke_form=form), 422


@certificate_admin.route("/<code>/correct", methods=["GET", "POST"])
def correct(code):
    certificate = _get(code)
    data = certificate.values
    form = CorrectForm(data={name: data.get(name, "") for name in CorrectForm.FIELDS})
    if certificate.status == "valid" and form.validate_on_submit():
        try:
            new = issue.replace(_actor(), certificate, form.changes(), form.reason.data, utcnow(),
                                current_app.config["PUBLIC_URL"], address=client_address())
        except DomainError as exc:
            _field_error(form, exc)
        else:
            flash(_("Version %(version)s issued with the code %(code)s; the old code now shows as replaced.",
                    version=new.version, code=new.display_code), "success")
            return redirect(url_for(".detail", code=new.code))
    return render_template("certificates/manage/correct.html", certificate=certificate, data=data, form=form,
                           newer=issue.latest_version(certificate) if certificate.status == "replaced" else None)


def _designs():
    return issue.designs_for(current_user)


@certificate_admin.route("/new", methods=["GET", "POST"])
def new():
    permissions.require(current_user, "certificate.manage")
    designs = _designs()
    form = IssueForm()
    form.design.choices = [(str(d.id), f"{d.name} · {d.owner_unit.name}") for d in designs]
    if request.method == "GET" and request.args.get("design"):
        form.design.data = request.args["design"]
    if designs and form.validate_on_submit():
        design = next((d for d in designs if str(d.id) == form.design.data), None)
        try:
            if design is None:
                raise DomainError(_("Design: choose one of the designs in the list."), field="design")
            kind = form.kind.data if form.kind.data in Certificate.KINDS else "merit"
            by_unit = form.recipient_kind.data == "unit"
            recipient = issue.recipient_for(_actor(), kind, username="" if by_unit else form.username.data,
                                            unit_code=form.unit_code.data if by_unit else "", values=form.values())
            certificate = issue.issue_one(_actor(), design, recipient, utcnow(), current_app.config["PUBLIC_URL"],
                                          address=client_address())
        except DomainError as exc:
            _field_error(form, exc)
        else:
            flash(_("Certificate %(code)s issued to %(name)s.", code=certificate.display_code,
                    name=certificate.recipient_name), "success")
            return redirect(url_for(".detail", code=certificate.code))
    return render_template("certificates/manage/issue.html", form=form, designs=designs,
                           placeholders=issue.PLACEHOLDERS)


# ---------------------------------------------------------------- organisers: designs


def _get_design(design_id):
    design = Design.get_or_none(Design.id == design_id) or abort(404)
    permissions.require(current_user, "certificate.manage", design)
    return design


@certificate_admin.route("/designs")
def designs():
    permissions.require(current_user, "certificate.manage")
    rows = _designs()
    counts = issue.certificate_counts(rows)
    return render_template("certificates/manage/designs.html", rows=rows, counts=counts)


def _design_page(form, design):
    units = _scope_units()
    form.owner_unit.choices = [(str(u.id), "\u00a0" * 4 * u.depth + u.name) for u in units]
    return render_template("certificates/manage/design_form.html", form=form, design=design,
                           placeholders=issue.PLACEHOLDERS)


def _save_design(form, design):
    """Save the posted design; the saved Design, or None with the errors shown on the form."""
    units = {str(u.id): u for u in _scope_units()}
    try:
        owner = units.get(form.owner_unit.data)
        if owner is None:
            raise DomainError(_("%(field)s: choose one of the units you manage.",
                                field=issue.DESIGN_LABELS["owner_unit"]), field="owner_unit")
        return issue.save_design(_actor(), design, form.values(), owner, utcnow(), address=client_address())
    except DomainError as exc:
        _field_error(form, exc)
        return None


@certificate_admin.route("/designs/new", methods=["GET", "POST"])
def new_design():
    permissions.require(current_user, "certificate.manage")
    units = _scope_units()
    form = DesignForm(data=design_form_data(issue.default_design_values(units[0] if units else None),
                                            units[0].id if units else None))
    if form.validate_on_submit():
        design = _save_design(form, None)
        if design is not None:
            flash(_("Design %(name)s created.", name=design.name), "success")
            return redirect(url_for(".edit_design", design_id=design.id))
    return _design_page(form, None)


@certificate_admin.route("/designs/<int:design_id>", methods=["GET", "POST"])
def edit_design(design_id):
    design = _get_design(design_id)
    form = DesignForm(data=design_form_data(issue.design_values(design), design.owner_unit_id))
    if form.validate_on_submit():
        saved = _save_design(form, design)
        if saved is not None:
            flash(_("Design %(name)s saved. Certificates already issued keep the texts they were issued with.",
                    name=saved.name), "success")
            return redirect(url_for(".edit_design", design_id=saved.id))
        design = _get_design(design_id)  # the page shows what is stored, not the refused edit
    return _design_page(form, design)


@certificate_admin.route("/designs/<int:design_id>/preview/<kind>.pdf")
def preview_design(design_id, kind):
    """A sample certificate from the saved design, as the PDF that will be printed."""
    design = _get_design(design_id)
    if kind not in Certificate.KINDS:
        abort(404)
    try:
        data = issue.snapshot_for_preview(design, kind)
    except DomainError as exc:
        flash(str(exc), "error")
        return redirect(url_for(".edit_design", design_id=design.id))
    content = render.render_certificate(data, render.load_images([data]))
    return send_file(io.BytesIO(content), mimetype="application/pdf", as_attachment=False,
                     download_name=f"mau-{'giay-khen' if kind == 'merit' else 'giay-chung-nhan'}.pdf")
