"""Registration for public contests (visitors), the registrant's contests on the home page, and the organiser's
pages of registrations and abuse flags."""

import csv
import io

from flask import (Response, abort, current_app, flash, redirect, render_template, request, session,
                   stream_with_context, url_for)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TelField

from ..accounts import permissions
from ..accounts.admin_forms import NBSP
from ..accounts.models import utcnow
from ..documents import safe_cell
from ..errors import DomainError
from ..extensions import client_address, limiter
from ..formatting import GENDER_LABELS, format_datetime_vi
from ..quiz import catalogue
from . import abuse
from . import registration as registration_ops
from .manage_views import contest_admin, get_contest
from .models import Contest
from .views import contests, user

PER_PAGE = 50
GENDERS = [("male", _l("Male")), ("female", _l("Female"))]
_SHOWN_ONCE = "contest_registration"  # session key: the new login, for exactly one page view


class RegistrationForm(FlaskForm):
    """Shapes only: registration.clean checks every field and names it in Vietnamese."""

    full_name = StringField(_l("Full name"), render_kw={"autocomplete": "name", "maxlength": 255})
    # Typed, not picked: a date picker makes one scroll back decades, and shows mm/dd/yyyy on English phones.
    birth_date = StringField(_l("Date of birth"), render_kw={"autocomplete": "bday", "placeholder": "dd/mm/yyyy",
                                                            "maxlength": 10})
    gender = SelectField(_l("Gender"), validate_choice=False, choices=lambda: GENDERS)
    unit = SelectField(_l("Unit"), validate_choice=False)
    other_unit = StringField(_l("Your unit (if it is not in the list)"), render_kw={"maxlength": 255})
    phone = TelField(_l("Mobile phone number"), render_kw={"inputmode": "tel", "autocomplete": "tel"})
    id_number = StringField(_l("CCCD number (optional)"),
                            render_kw={"inputmode": "numeric", "autocomplete": "off", "maxlength": 14})

    def data_input(self):
        return registration_ops.RegistrationInput(
            full_name=self.full_name.data, birth_date=self.birth_date.data, gender=self.gender.data,
            unit=self.unit.data, other_unit=self.other_unit.data, phone=self.phone.data,
            id_number=self.id_number.data)


def unit_choices(units):
    """The eligible units indented by depth (an <option> cannot be styled), then "Other"."""
    top = min((u.depth for u in units), default=0)
    return ([("", _("— Choose your unit —"))]
            + [(str(u.id), NBSP * 4 * (u.depth - top) + u.name) for u in units]
            + [(registration_ops.OTHER, _("Other (write it in)"))])


def _public_contest(contest_id):
    """A published public contest, else 404 (members-only contests take no registrations)."""
    contest = Contest.get_or_none(Contest.id == contest_id)
    if contest is None or not (contest.is_public and contest.is_published):
        abort(404)
    return contest


def contest_page_url(contest):
    """The contest's own page for contestants and visitors."""
    return url_for("contests.contest", contest_id=contest.id)


def manage_urls(contest):
    """Links of the organiser's breadcrumbs: the contest list and the contest's page."""
    return {"contests": url_for("contest_admin.contests"),
            "contest": url_for("contest_admin.contest", contest_id=contest.id)}


# -- visitors ----------------------------------------------------------------------------------------------

@contests.route("/<int:contest_id>/register", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_REGISTER"], methods=["POST"])
def register(contest_id):
    contest = _public_contest(contest_id)
    now = utcnow()
    units = registration_ops.eligible_units(contest)
    form = RegistrationForm()
    form.unit.choices = unit_choices(units)
    is_open = registration_ops.is_open_for_registration(contest, now)
    who = user()
    already = who is not None and permissions.can(who, "contest.take_part", contest)
    if request.method == "POST" and form.validate_on_submit():
        try:
            done = registration_ops.register(contest, form.data_input(), client_address(), now)
        except registration_ops.RegistrationInvalid as exc:
            for name, message in exc.errors.items():
                getattr(form, name).errors = list(getattr(form, name).errors) + [message]
        except DomainError as exc:
            field = getattr(form, exc.field, None) if exc.field else None
            if field is not None:
                field.errors = list(field.errors) + [str(exc)]
            else:
                flash(str(exc), "error")
        else:
            # Kept in the signed session for one page view, so a reload cannot register twice.
            session[_SHOWN_ONCE] = {"contest": contest.id, "username": done.user.username,
                                    "password": done.password, "full_name": done.user.full_name}
            return redirect(url_for("contests.registered", contest_id=contest.id))
    return render_template("contests/register.html", contest=contest, form=form, is_open=is_open,
                           already=already, contest_url=contest_page_url(contest),
                           has_errors=any(f.errors for f in form))


@contests.route("/<int:contest_id>/register/done")
def registered(contest_id):
    contest = _public_contest(contest_id)
    shown = session.pop(_SHOWN_ONCE, None)
    if not shown or shown.get("contest") != contest.id:
        flash(_("The login name and password were shown only once, right after registering. If you did not note "
                "them down, contact the contest's organisers."), "info")
        return redirect(url_for("contests.register", contest_id=contest.id))
    return render_template("contests/register_done.html", contest=contest, shown=shown)


@contests.app_template_global("contest_registrations")
def contest_registrations(who):
    """The home page's "your contests": each registration with the statuses of its rounds open now and the next
    round to open."""
    if who is None or not getattr(who, "is_authenticated", False):
        return []
    regs = registration_ops.registrations_of(who)
    if not regs:
        return []
    now = utcnow()
    open_rounds = [r for reg in regs for r in reg.rounds if r.quiz.is_open(now)]
    statuses = {s.quiz.id: s for s in catalogue.statuses([r.quiz for r in open_rounds], who, now)}
    for reg in regs:
        reg.open_statuses = [statuses[r.quiz_id] for r in reg.rounds if r.quiz_id in statuses]
        upcoming = [r for r in reg.rounds if r.quiz.is_published and r.quiz.opens_at and r.quiz.opens_at > now]
        reg.next_round = min(upcoming, key=lambda r: r.quiz.opens_at) if upcoming else None
        reg.contest_url = contest_page_url(reg.contest)
    return regs


# -- organisers -------------------------------------------------------------------------------------------

@contest_admin.route("/<int:contest_id>/flags")
def flags(contest_id):
    contest = get_contest(contest_id)
    return render_template("contests/manage/flags.html", contest=contest, flags=abuse.flags(contest),
                           links=manage_urls(contest))


@contest_admin.route("/<int:contest_id>/registrations")
def registrations(contest_id):
    contest = get_contest(contest_id)
    text = request.args.get("q", "").strip()[:100]
    address = request.args.get("address", "").strip()[:64]
    query = registration_ops.search(contest, text, address)
    total = query.count()
    pages = max(1, -(-total // PER_PAGE))
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), pages)
    rows = list(query.paginate(page, PER_PAGE))
    return render_template("contests/manage/registrations.html", contest=contest, rows=rows, total=total,
                           page=page, pages=pages, q=text, address=address, first=(page - 1) * PER_PAGE + 1,
                           all_count=contest.registrations.count() if (text or address) else total,
                           links=manage_urls(contest))


@contest_admin.route("/<int:contest_id>/registrations.csv")
def registrations_csv(contest_id):
    """Every registration matching the search, as CSV (UTF-8 with BOM, formula-safe cells), streamed."""
    contest = get_contest(contest_id)
    query = registration_ops.search(contest, request.args.get("q", "")[:100], request.args.get("address", "")[:64])

    def lines():
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow([safe_cell(h) for h in registration_ops.csv_headers()])
        yield "\ufeff" + out.getvalue()
        for number, reg in enumerate(query.iterator(), start=1):
            out.seek(0)
            out.truncate()
            writer.writerow([safe_cell(v) for v in registration_ops.csv_row(number, reg, GENDER_LABELS,
                                                                           format_datetime_vi)])
            yield out.getvalue()

    return Response(stream_with_context(lines()), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="dang-ky-hoi-thi-{contest.id}.csv"'})
