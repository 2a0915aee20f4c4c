"""Exemplary models ("gương điển hình"): the stories of commended members and units, the committee's showcase
of the published ones, and the selection compiled into the year's yearbook.

An organiser writes a story for an evaluated pledge in their part of the period (the commendation page's
candidates, ``commend.candidates``), or starts from a draft taken from the pledge: its items, the
self-reports and the collective's comment. A story is one per pledge; its name and unit line are kept as
written. Every change is one transaction with an audit entry. Who may do what is decided in
``accounts.permissions`` ("story.manage", "story.read", "showcase.view").
"""

import dataclasses

import peewee as pw
from flask_babel import gettext as _

from ..accounts import audit, permissions
from ..accounts.models import Unit
from ..certificates import assets
from ..db import database
from ..errors import DomainError
from ..formatting import name_key
from . import commend
from .documents import LEVELS
from .models import ExemplaryStory, Pledge, PledgePeriod
from .workflow import current_evaluation, items_of, reports_of

MAX_TITLE = 255
MAX_STORY = 20_000  # characters: a yearbook story is one or two pages
PHOTO_SIDE = 1200  # pixels on the long side: sharp at 8 cm in print, light on a phone
TEXT_FIELDS = ("name", "unit_line", "title", "story", "photo_caption")
UNIT_KINDS = {"breakthrough": "khâu đột phá", "model": "gương điển hình tiên tiến"}


@dataclasses.dataclass
class Entry:
    """A candidate of the stories page: an evaluated pledge in the organiser's part, with its story if any."""

    candidate: commend.Candidate
    story: ExemplaryStory = None


def _sort_key(story):
    """Collectives before people, then the tree, then Vietnamese name order."""
    return (story.pledge.kind == "member", story.unit.path, name_key(story.name), story.id)


def _within(unit, roots):
    return any(unit.is_within(root) for root in roots)


def entries(period, roots, everyone=False):
    """The pledges of ``period`` under ``roots`` that may have a story: the commended ones (a valid certificate
    of merit), or every evaluated one with ``everyone``, each with its story; those with a story first."""
    rows = commend.candidates(period, roots, None)
    have = {s.pledge_id: s for s in ExemplaryStory.select().where(ExemplaryStory.period == period.id)}
    return [Entry(c, have.get(c.pledge.id)) for c in rows if everyone or c.certificate or c.pledge.id in have]


def candidate(period, roots, pledge_id):
    """The evaluated pledge ``pledge_id`` of ``period`` under ``roots`` as the stories page lists it, or None."""
    return next((c for c in commend.candidates(period, roots, None) if c.pledge.id == pledge_id), None)


def stories(period, roots, published=None):
    """The stories of ``period`` whose unit is under ``roots`` (all, or only published/unpublished)."""
    if not roots:
        return []
    inside = Unit.path.startswith(roots[0].path)
    for root in roots[1:]:
        inside |= Unit.path.startswith(root.path)
    query = (ExemplaryStory.select(ExemplaryStory, Unit, Pledge).join(Unit, on=(ExemplaryStory.unit == Unit.id))
             .switch(ExemplaryStory).join(Pledge, on=(ExemplaryStory.pledge == Pledge.id))
             .where(ExemplaryStory.period == period.id, inside))
    if published is not None:
        query = query.where(ExemplaryStory.published == published)
    return sorted(query, key=_sort_key)


def _paragraphs(*parts):
    return "\n\n".join(p for p in parts if p.strip())


def draft(candidate, period):
    """A first version of the story, taken from the pledge: its items, the self-reports (the year's end where
    filed, else mid-year), and the collective's assessment. The organiser edits it."""
    pledge = candidate.pledge
    items = items_of(pledge)
    reports = reports_of(pledge)
    evaluation = current_evaluation(pledge)
    if candidate.is_member:
        who = f"đồng chí {candidate.name} ({candidate.unit_line})"
        opening = (f"Năm {period.year}, {who} đăng ký học tập và làm theo tư tưởng, đạo đức, phong cách "
                   f"Hồ Chí Minh với {len(items)} việc cụ thể: ")
    else:
        opening = f"Năm {period.year}, {candidate.name} đăng ký {UNIT_KINDS[pledge.kind]}: "
    opening += "; ".join(f"{item.content.strip().rstrip('.')}" for item in items) + "."
    results = []
    for item in items:
        report = reports["year_end"].get(item.id) or reports["mid_year"].get(item.id)
        if report is not None and report.done.strip():
            results.append(" ".join(report.done.split()))
    done = ("Kết quả thực hiện: " + " ".join(r if r.endswith(".") else r + "." for r in results)) if results else ""
    assessed = ""
    if evaluation is not None:
        whose = "Tập thể chi bộ" if candidate.is_member else "Cấp ủy cấp trên"
        assessed = (f"{whose} đánh giá: {' '.join(evaluation.comment.split())} "
                    f"Mức xếp loại đề xuất: {LEVELS[evaluation.level]}.")
    first = items[0].content.strip().rstrip(".") if items else ""
    title = first[:1].upper() + first[1:] if first else candidate.name
    return {"name": candidate.name, "unit_line": candidate.unit_line if candidate.is_member else candidate.parent_name,
            "title": title[:MAX_TITLE], "story": _paragraphs(opening, done, assessed), "photo_caption": ""}


def _clean(values):
    """The text fields, trimmed and checked; a DomainError names the first bad field."""
    out = {key: (values.get(key) or "").strip() for key in TEXT_FIELDS}
    if not out["name"]:
        raise DomainError(_("Write the name of the member or unit."), field="name")
    if not out["title"]:
        raise DomainError(_("Write a title for the story."), field="title")
    if not out["story"]:
        raise DomainError(_("Write the story: what the member or unit did, in a few paragraphs."), field="story")
    for key, limit in (("name", 255), ("unit_line", 255), ("title", MAX_TITLE), ("photo_caption", 255),
                       ("story", MAX_STORY)):
        if len(out[key]) > limit:
            raise DomainError(_("%(field)s is too long: at most %(n)s characters.", field=_field_name(key), n=limit),
                              field=key)
    return out


def _field_name(key):
    return {"name": _("The name"), "unit_line": _("The unit line"), "title": _("The title"),
            "story": _("The story"), "photo_caption": _("The photo caption")}[key]


def _photo(actor, photo, unit, address):
    """The stored Asset of an uploaded photo (``photo``: bytes, or None for no upload)."""
    if photo is None:
        return None
    try:
        return assets.store_image(actor, photo, unit, address, max_side=PHOTO_SIDE)
    except DomainError as exc:
        raise DomainError(_("The photo: %(reason)s", reason=str(exc)), field="photo") from None


def create(actor, period, pledge_id, values, now, photo=None, address=""):
    """Write the story of the evaluated pledge ``pledge_id`` of ``period``, in the actor's part of it."""
    roots = commend.scope(actor, period)
    found = candidate(period, roots, pledge_id)
    if found is None:
        raise DomainError(_("This pledge is not an evaluated pledge in the units you manage in this period."),
                          field="pledge")
    clean = _clean(values)
    with database.atomic():
        if ExemplaryStory.select().where(ExemplaryStory.pledge == pledge_id).exists():
            raise DomainError(_("%(name)s already has a story; edit it instead.", name=found.name),
                              field="pledge")
        asset = _photo(actor, photo, found.cell, address)
        try:
            with database.atomic():
                story = ExemplaryStory.create(period=period, pledge=found.pledge, unit=found.cell, photo=asset,
                                              created_by=actor, updated_by=actor, created_at=now, updated_at=now,
                                              **clean)
        except pw.IntegrityError:  # written by someone else a moment ago
            raise DomainError(_("%(name)s already has a story; edit it instead.", name=found.name),
                              field="pledge") from None
        audit.record(actor, "story.create", f"story:{story.id}",
                     {"pledge": found.pledge.id, "name": clean["name"], "title": clean["title"],
                      "photo": asset.sha256 if asset else None}, address)
    return story


def _require(actor, story):
    if actor is not None and not permissions.can(actor, "story.manage", story):
        raise DomainError(_("You do not manage the units of this story."))


def update(actor, story, values, now, photo=None, remove_photo=False, address=""):
    """Change a story's words and photo (published or not: a correction shows at once)."""
    _require(actor, story)
    clean = _clean(values)
    with database.atomic():
        asset = _photo(actor, photo, story.unit, address)
        changed = sorted(key for key in TEXT_FIELDS if getattr(story, key) != clean[key])
        for key in TEXT_FIELDS:
            setattr(story, key, clean[key])
        if asset is not None:
            story.photo = asset
            changed.append("photo")
        elif remove_photo and story.photo_id is not None:
            story.photo = None
            changed.append("photo")
        story.updated_by, story.updated_at = actor, now
        story.save()
        audit.record(actor, "story.update", f"story:{story.id}", {"changed": changed}, address)
    return story


def set_published(actor, story, published, now, address=""):
    """Publish a story on the showcase (and make it eligible for the yearbook), or withdraw it."""
    _require(actor, story)
    with database.atomic():
        story.published = bool(published)
        story.published_at = now if published else None
        story.updated_by, story.updated_at = actor, now
        story.save()
        audit.record(actor, "story.publish" if published else "story.withdraw", f"story:{story.id}",
                     {"name": story.name}, address)
    return story


def delete(actor, story, address=""):
    _require(actor, story)
    with database.atomic():
        audit.record(actor, "story.delete", f"story:{story.id}",
                     {"pledge": story.pledge_id, "name": story.name, "title": story.title}, address)
        story.delete_instance()


def showcase(period, unit=None):
    """The published stories of ``period`` (under ``unit`` when given), collectives first."""
    return stories(period, [unit or period.owner_unit], published=True)


def showcase_periods(user):
    """The periods with published stories that ``user`` may see, latest year first."""
    ids = {pid for (pid,) in ExemplaryStory.select(ExemplaryStory.period).where(ExemplaryStory.published == True)  # noqa: E712
           .distinct().tuples()}
    if not ids:
        return []
    periods = (PledgePeriod.select(PledgePeriod, Unit).join(Unit, on=(PledgePeriod.owner_unit == Unit.id))
               .where(PledgePeriod.id.in_(sorted(ids))).order_by(PledgePeriod.year.desc(), Unit.path))
    return [p for p in periods if permissions.can(user, "showcase.view", p)]


def selection(period, roots, story_ids):
    """The published stories among ``story_ids`` under ``roots``, in the yearbook's order; a DomainError when
    none is ticked or one is not published or not in the actor's part."""
    ids = {int(i) for i in story_ids or ()}
    if not ids:
        raise DomainError(_("Tick at least one published story for the yearbook."), field="story")
    chosen = [s for s in stories(period, roots) if s.id in ids]
    if len(chosen) != len(ids):
        raise DomainError(_("Some of the ticked stories are not in the units you manage; reload the page and try "
                            "again."), field="story")
    for story in chosen:
        if not story.published:
            raise DomainError(_("%(name)s: the story is not published; publish it before putting it in the "
                                "yearbook.", name=story.name), field="story")
    return chosen
