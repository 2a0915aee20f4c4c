"""The pledge workflow: a state machine whose every step is one transaction with its history entry.

    draft ──submit──▶ submitted ──acknowledge──▶ acknowledged ──report──▶ reported
      ▲                  │                          │                      │
      └──edit── returned ◀┘ return (comment)        └──────evaluate────────┴──▶ evaluated ──accept──▶ closed

Only the filer (the member; for a unit, its secretary or organiser) writes the pledge's words and
reports; only the reviewer (the secretary or deputy of the member's cell now; for a unit, an
organiser above it) acknowledges, returns and evaluates. Who may do what is decided in
``accounts.permissions``; these functions ask it, so the command line and the views obey the same
rules. Time is a parameter: ``now`` is UTC, deadlines are local dates (``today``).
"""

import datetime as dt
import json

import peewee as pw
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import to_user_timezone

from ..accounts import audit, permissions
from ..accounts.models import Unit
from ..formatting import name_key
from ..db import database
from ..errors import Conflict, DomainError
from .models import Evaluation, Pledge, PledgeEvent, PledgeItem, PledgePeriod, ProgressNote, SelfReport

MAX_ITEMS = 3
MAX_TEXT = 4000

STATE_LABELS = {
    "not_started": _l("Not started"),
    "draft": _l("Draft"),
    "submitted": _l("Submitted to the cell"),
    "returned": _l("Returned"),
    "acknowledged": _l("Acknowledged"),
    "reported": _l("Reported"),
    "evaluated": _l("Evaluated"),
    "closed": _l("Closed"),
}
LEVEL_LABELS = {
    "excellent": _l("Fulfilled duties excellently"),
    "good": _l("Fulfilled duties well"),
    "fulfilled": _l("Fulfilled duties"),
    "not_fulfilled": _l("Did not fulfil duties"),
}
COMMITMENT_LABELS = {
    "ideology": _l("Political ideology"),
    "ethics": _l("Ethics and lifestyle"),
    "discipline": _l("Organisation and discipline"),
    "style": _l("Working style and manner"),
    "duties": _l("Carrying out duties"),
    "remedy": _l("Remedying last year's shortcomings"),
}
STAGE_LABELS = {"mid_year": _l("Mid-year self-report"), "year_end": _l("Year-end self-report")}
KIND_LABELS = {
    "member": _l("Member's pledge"),
    "breakthrough": _l("Breakthrough task"),
    "model": _l("Exemplary model registration"),
}
# The history entries (PledgeEvent.action), as the pages list them.
EVENT_LABELS = {
    "start": _l("Started the pledge"),
    "save": _l("Saved the draft"),
    "submit": _l("Submitted"),
    "return": _l("Returned with a comment"),
    "acknowledge": _l("Acknowledged"),
    "note": _l("Added a progress note"),
    "report": _l("Filed a self-report"),
    "evaluate": _l("Recorded the collective evaluation"),
    "correct_evaluation": _l("Corrected the evaluation"),
    "close": _l("Read the evaluation; closed"),
}
EDITABLE = ("draft", "returned")
REPORTABLE = ("acknowledged", "reported")
EVALUABLE = ("acknowledged", "reported")


def local_today(now):
    return to_user_timezone(now.replace(tzinfo=dt.timezone.utc) if now.tzinfo is None else now).date()


def _event(pledge, actor, action, from_state, now, address, comment=""):
    PledgeEvent.create(pledge=pledge, at=now, actor=actor, actor_name=actor.full_name if actor else "portal (CLI)",
                       address=address or "", action=action, from_state=from_state, to_state=pledge.state,
                       comment=comment or "")


def _require(actor, permission, obj):
    if actor is not None:  # None: the command line, with full rights
        permissions.require(actor, permission, obj)


def _move(pledge, actor, action, allowed, to_state, now, address, comment="", **changes):
    """Move ``pledge`` from one of ``allowed`` states to ``to_state`` (a row-level compare-and-set, so two
    tabs or two secretaries racing cannot both succeed), then write its history entry."""
    if pledge.state not in allowed:
        raise Conflict(_("This pledge is %(state)s; it cannot be changed that way now.",
                         state=str(STATE_LABELS[pledge.state]).lower()))
    from_state = pledge.state
    updated = (Pledge.update(state=to_state, updated_at=now, **changes)
               .where(Pledge.id == pledge.id, Pledge.state == from_state).execute())
    if not updated:
        raise Conflict(_("Someone else changed this pledge a moment ago; reload the page and try again."))
    pledge.state = to_state
    for key, value in changes.items():
        setattr(pledge, key, value)
    _event(pledge, actor, action, from_state, now, address, comment)


# -- periods -----------------------------------------------------------------------------------

def _text(value, field, label, required=False, limit=MAX_TEXT):
    value = (value or "").strip()
    if required and not value:
        raise DomainError(_("%(field)s: this field is required.", field=label), field=field)
    if len(value) > limit:
        raise DomainError(_("%(field)s: at most %(n)s characters (now %(length)s).", field=label, n=limit,
                            length=len(value)), field=field)
    return value


def check_period(values):
    """The period's values, cleaned; a DomainError names the first bad field."""
    title = _text(values.get("title"), "title", _("Title"), required=True, limit=255)
    year = values.get("year")
    if not isinstance(year, int) or not 2000 <= year <= 2100:
        raise DomainError(_("Year: a year such as 2026."), field="year")
    dates = {}
    for key, label in (("opens_on", _("Opens on")), ("register_by", _("Registration deadline")),
                       ("mid_year_by", _("Mid-year report deadline")), ("year_end_by", _("Year-end report deadline"))):
        value = values.get(key)
        if not isinstance(value, dt.date):
            raise DomainError(_("%(field)s: enter a date, for example 15/03/2026.", field=label), field=key)
        dates[key] = value
    order = [("register_by", _("Registration deadline")), ("mid_year_by", _("Mid-year report deadline")),
             ("year_end_by", _("Year-end report deadline"))]
    previous, previous_label = dates["opens_on"], _("the opening date")
    for key, label in order:
        if dates[key] < previous:
            raise DomainError(_("%(field)s: %(date)s is before %(other)s.", field=label,
                                date=dates[key].strftime("%d/%m/%Y"), other=previous_label), field=key)
        previous, previous_label = dates[key], label.lower()
    cap = values.get("excellent_cap", 20)
    if not isinstance(cap, int) or not 0 <= cap <= 100:
        raise DomainError(_("Share of “excellent”: a whole number from 0 to 100."), field="excellent_cap")
    return {"title": title, "year": year, "topic": _text(values.get("topic"), "topic", _("Study topic")),
            "basis": _text(values.get("basis"), "basis", _("Basis")), "excellent_cap": cap, **dates}


def save_period(actor, period, owner_unit, values, now, address=""):
    """Open a period for ``owner_unit``'s subtree, or change one (``period``); one per unit and year."""
    _require(actor, "pledge.manage", owner_unit)
    clean = check_period(values)
    try:
        with database.atomic():
            if period is None:
                period = PledgePeriod.create(owner_unit=owner_unit, created_by=actor, created_at=now, **clean)
                action = "pledge.period_open"
            else:
                for key, value in clean.items():
                    setattr(period, key, value)
                period.owner_unit = owner_unit
                period.save()
                action = "pledge.period_update"
            audit.record(actor, action, f"pledge_period:{period.id}", {"title": period.title, "unit": owner_unit.code},
                         address)
    except pw.IntegrityError:
        raise Conflict(_("%(unit)s already has a pledge period for %(year)s.", unit=owner_unit.name,
                         year=clean["year"]), field="year") from None
    return period


def covers(period, unit):
    return unit is not None and unit.is_within(period.owner_unit)


def periods_for(unit):
    """The periods whose subtree includes ``unit``, newest first."""
    if unit is None:
        return []
    ancestors = [int(part) for part in unit.path.strip("/").split("/") if part] if unit.path else []
    ids = set(ancestors) | {unit.id}
    return list(PledgePeriod.select().where(PledgePeriod.owner_unit.in_(ids))
                .order_by(PledgePeriod.year.desc(), PledgePeriod.id.desc()))


# -- the pledge --------------------------------------------------------------------------------

def start(actor, period, now, address="", kind="member", unit=None):
    """The filer's pledge for ``period`` (created as a draft, prefilled from the account, the first time)."""
    if kind not in Pledge.KINDS:
        raise DomainError(_("Unknown kind of pledge."))
    if kind == "member":
        if actor is None or actor.unit is None:
            raise DomainError(_("Your account belongs to no unit, so it has no pledge period."))
        unit = actor.unit
        existing = Pledge.get_or_none(Pledge.period == period.id, Pledge.kind == kind, Pledge.user == actor.id)
    else:
        if unit is None:
            raise DomainError(_("Choose the unit that pledges."))
        existing = Pledge.get_or_none(Pledge.period == period.id, Pledge.kind == kind, Pledge.unit == unit.id)
    if existing is not None:
        return existing
    if not covers(period, unit):
        raise DomainError(_("This pledge period is not for %(unit)s.", unit=unit.name))
    if local_today(now) < period.opens_on:
        raise DomainError(_("This pledge period opens on %(date)s.", date=period.opens_on.strftime("%d/%m/%Y")))
    pledge = Pledge(period=period, kind=kind, unit=unit, user=actor if kind == "member" else None,
                    full_name=actor.full_name if kind == "member" else unit.name,
                    birth_date=actor.birth_date if kind == "member" else None,
                    position=(actor.position or "") if kind == "member" else "", created_at=now, updated_at=now)
    _require(actor, "pledge.file", pledge)
    with database.atomic():
        pledge.save()
        _event(pledge, actor, "start", "", now, address)
    return pledge


def clean_items(items):
    """1 to 3 items, each with its content; a DomainError names the item and the field."""
    cleaned = []
    for n, item in enumerate(items or [], start=1):
        fields = {key: (item.get(key) or "").strip() for key in ("content", "measure", "deadline", "evidence")}
        if not any(fields.values()):
            continue  # an empty row of the form
        label = _("Item %(n)s", n=n)
        if not fields["content"]:
            raise DomainError(_("%(item)s: write what you will do.", item=label), field=f"items-{n - 1}-content")
        for key in ("content", "measure", "evidence"):
            _text(fields[key], f"items-{n - 1}-{key}", label)
        if len(fields["deadline"]) > 64:
            raise DomainError(_("%(item)s: the deadline is at most 64 characters.", item=label),
                              field=f"items-{n - 1}-deadline")
        cleaned.append(fields)
    if len(cleaned) > MAX_ITEMS:
        raise DomainError(_("Register at most %(n)s things to do.", n=MAX_ITEMS), field="items")
    return cleaned


def save_draft(actor, pledge, commitments, items, now, address=""):
    """Save the filer's words (a draft, or a returned pledge being fixed); the items may still be empty."""
    _require(actor, "pledge.file", pledge)
    if pledge.state not in EDITABLE:
        raise Conflict(_("Once submitted, the pledge can no longer be edited; the secretary can return it to you."))
    texts = {key: _text((commitments or {}).get(key), key, str(COMMITMENT_LABELS[key])) for key in Pledge.COMMITMENTS}
    rows = clean_items(items)
    with database.atomic():
        updated = (Pledge.update(commitments=json.dumps(texts, ensure_ascii=False), updated_at=now)
                   .where(Pledge.id == pledge.id, Pledge.state.in_(EDITABLE)).execute())
        if not updated:
            raise Conflict(_("Someone else changed this pledge a moment ago; reload the page and try again."))
        PledgeItem.delete().where(PledgeItem.pledge == pledge.id).execute()
        for position, row in enumerate(rows, start=1):
            PledgeItem.create(pledge=pledge, position=position, **row)
        _event(pledge, actor, "save", pledge.state, now, address)
    pledge.commitments = json.dumps(texts, ensure_ascii=False)
    return pledge


def items_of(pledge):
    return list(PledgeItem.select().where(PledgeItem.pledge == pledge.id).order_by(PledgeItem.position))


def submit(actor, pledge, now, address=""):
    """Submit to the secretary; after the registration deadline it is accepted and marked late."""
    _require(actor, "pledge.file", pledge)
    if not items_of(pledge):
        raise DomainError(_("Register at least one thing to do before submitting."), field="items")
    late = local_today(now) > pledge.period.register_by
    with database.atomic():
        _move(pledge, actor, "submit", EDITABLE, "submitted", now, address, submitted_at=now, submitted_late=late,
              return_comment="")
    return pledge


def return_pledge(actor, pledge, comment, now, address=""):
    """Send a submitted pledge back to its filer with a comment (it becomes editable again)."""
    _require(actor, "pledge.review", pledge)
    comment = _text(comment, "comment", _("Comment"), required=True)
    with database.atomic():
        _move(pledge, actor, "return", ("submitted",), "returned", now, address, comment, return_comment=comment)
    return pledge


def acknowledge(actor, pledge, now, address=""):
    """Accept a submitted pledge: its commitments are locked from now on."""
    _require(actor, "pledge.review", pledge)
    with database.atomic():
        _move(pledge, actor, "acknowledge", ("submitted",), "acknowledged", now, address, acknowledged_at=now,
              acknowledged_by=actor)
    return pledge


def acknowledge_many(actor, pledges, now, address=""):
    """Acknowledge every submitted pledge of ``pledges`` the actor reviews, in one transaction; return the count."""
    done = 0
    with database.atomic():
        for pledge in pledges:
            if pledge.state == "submitted" and (actor is None or permissions.can(actor, "pledge.review", pledge)):
                _move(pledge, actor, "acknowledge", ("submitted",), "acknowledged", now, address,
                      acknowledged_at=now, acknowledged_by=actor)
                done += 1
    return done


def add_note(actor, pledge, text, now, address=""):
    """A dated progress note by the filer, once the commitments are acknowledged."""
    _require(actor, "pledge.file", pledge)
    if pledge.state not in REPORTABLE + ("evaluated",):
        raise Conflict(_("Progress notes are added once the secretary has acknowledged the pledge."))
    text = _text(text, "text", _("Note"), required=True)
    with database.atomic():
        note = ProgressNote.create(pledge=pledge, at=now, author=actor, text=text)
        _event(pledge, actor, "note", pledge.state, now, address)
    return note


def file_report(actor, pledge, stage, reports, now, address=""):
    """The filer's self-report for ``stage`` (mid_year / year_end): {item_id: {done, not_done, next_steps}}.

    Filing again before the evaluation replaces that stage's report. Every item needs something in
    "done" or "not done"; after the stage's deadline it is accepted and marked late.
    """
    _require(actor, "pledge.file", pledge)
    if stage not in SelfReport.STAGES:
        raise DomainError(_("Unknown report."))
    if pledge.state not in REPORTABLE:
        raise Conflict(_("Self-reports are filed once the secretary has acknowledged the pledge and until the "
                         "evaluation."))
    items = items_of(pledge)
    deadline = pledge.period.mid_year_by if stage == "mid_year" else pledge.period.year_end_by
    late = local_today(now) > deadline
    rows = []
    for n, item in enumerate(items, start=1):
        given = (reports or {}).get(item.id) or (reports or {}).get(str(item.id)) or {}
        label = _("Item %(n)s", n=n)
        row = {key: _text(given.get(key), f"reports-{item.id}-{key}", label)
               for key in ("done", "not_done", "next_steps")}
        if not row["done"] and not row["not_done"]:
            raise DomainError(_("%(item)s: write what was done, or what was not done and why.", item=label),
                              field=f"reports-{item.id}-done")
        rows.append((item, row))
    with database.atomic():
        SelfReport.delete().where(SelfReport.pledge == pledge.id, SelfReport.stage == stage).execute()
        for item, row in rows:
            SelfReport.create(pledge=pledge, item=item, stage=stage, filed_at=now, late=late, **row)
        if pledge.state == "acknowledged":
            _move(pledge, actor, "report", ("acknowledged",), "reported", now, address, stage)
        else:
            _event(pledge, actor, "report", pledge.state, now, address, stage)
    return pledge


def reports_of(pledge):
    """{stage: {item_id: SelfReport}}."""
    out = {stage: {} for stage in SelfReport.STAGES}
    for report in SelfReport.select().where(SelfReport.pledge == pledge.id):
        out[report.stage][report.item_id] = report
    return out


def current_evaluation(pledge):
    """The evaluation in force: the latest entry (a correction supersedes the one before it)."""
    return (Evaluation.select().where(Evaluation.pledge == pledge.id)
            .order_by(Evaluation.recorded_at.desc(), Evaluation.id.desc()).first())


def evaluate(actor, pledge, meeting_date, comment, level, now, address="", reason=""):
    """Record the cell's collective evaluation; on an evaluated or closed pledge it is a correction,
    which needs a reason and supersedes (never edits) the entry before it."""
    _require(actor, "pledge.review", pledge)
    if level not in Evaluation.LEVELS:
        raise DomainError(_("Proposed level: choose one of the four levels."), field="level")
    if not isinstance(meeting_date, dt.date):
        raise DomainError(_("Meeting date: enter a date, for example 20/12/2026."), field="meeting_date")
    if meeting_date > local_today(now):
        raise DomainError(_("Meeting date: the meeting cannot be in the future."), field="meeting_date")
    if meeting_date < pledge.period.opens_on:
        raise DomainError(_("Meeting date: before the pledge period opened (%(date)s).",
                            date=pledge.period.opens_on.strftime("%d/%m/%Y")), field="meeting_date")
    comment = _text(comment, "comment", _("The collective's comment"), required=True)
    with database.atomic():
        previous = current_evaluation(pledge)
        if pledge.state in EVALUABLE:
            entry = Evaluation.create(pledge=pledge, meeting_date=meeting_date, comment=comment, level=level,
                                      recorded_by=actor, recorded_at=now, address=address or "")
            _move(pledge, actor, "evaluate", EVALUABLE, "evaluated", now, address, str(LEVEL_LABELS[level]))
        elif pledge.state in ("evaluated", "closed") and previous is not None:
            reason = _text(reason, "reason", _("Reason for the correction"), required=True)
            entry = Evaluation.create(pledge=pledge, meeting_date=meeting_date, comment=comment, level=level,
                                      recorded_by=actor, recorded_at=now, address=address or "",
                                      supersedes=previous, reason=reason)
            _event(pledge, actor, "correct_evaluation", pledge.state, now, address, reason)
        else:
            raise Conflict(_("The collective evaluation is recorded once the secretary has acknowledged the pledge."))
    return entry


def accept_evaluation(actor, pledge, now, address=""):
    """The filer has read the collective's evaluation: the record is closed."""
    _require(actor, "pledge.file", pledge)
    with database.atomic():
        entry = current_evaluation(pledge)
        if entry is not None:
            Evaluation.update(acknowledged_at=now).where(Evaluation.id == entry.id).execute()
        _move(pledge, actor, "close", ("evaluated",), "closed", now, address, closed_at=now)
    return pledge


def history(pledge):
    return list(PledgeEvent.select().where(PledgeEvent.pledge == pledge.id).order_by(PledgeEvent.at, PledgeEvent.id))


# -- boards ------------------------------------------------------------------------------------

def cell_board(period, cell, today):
    """Every member of ``cell`` with their pledge (or None) and flags: [(user, pledge, overdue)].

    Overdue: not submitted after the registration deadline, or no self-report after a report deadline.
    """
    from ..accounts.models import User

    members = sorted(User.select().where(User.unit == cell.id, User.is_active == True),  # noqa: E712
                     key=lambda m: (name_key(m.full_name), m.id))
    pledges = {p.user_id: p for p in Pledge.select().where(Pledge.period == period.id, Pledge.kind == "member",
                                                            Pledge.user.in_([m.id for m in members]))}
    stages = {}
    for pledge_id, stage in (SelfReport.select(SelfReport.pledge, SelfReport.stage)
                             .where(SelfReport.pledge.in_([p.id for p in pledges.values()]))
                             .distinct().tuples()):
        stages.setdefault(pledge_id, set()).add(stage)
    rows = []
    for member in members:
        pledge = pledges.get(member.id)
        state = pledge.state if pledge else "not_started"
        reported = stages.get(pledge.id, set()) if pledge else set()
        overdue = ((state in ("not_started", "draft", "returned") and today > period.register_by)
                   or (state in REPORTABLE and today > period.mid_year_by and "mid_year" not in reported)
                   or (state in REPORTABLE and today > period.year_end_by and "year_end" not in reported))
        rows.append((member, pledge, state, overdue))
    return rows


def cells_for_board(user, period):
    """The cells under ``period`` whose board ``user`` may open, in tree order."""
    cells = [u for u in Unit.in_tree_order() if u.kind == "cell" and covers(period, u)]
    return [c for c in cells if permissions.can(user, "pledge.board", c)]
