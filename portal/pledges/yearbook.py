"""The yearbook of exemplary models ("kỷ yếu gương điển hình"): a committee's selection of published stories
compiled into one A4 PDF to print and spread: a cover, the foreword, the contents with page numbers, then
one story per page (collectives first, then people), each with its photo.

``yearbook_data`` freezes everything into primitives (the photos as data: URIs, so the document fetches
nothing); the template ``pledges/documents/yearbook.html`` stands alone. Rendering goes through
``documents.render_pdf`` (bundled Noto Serif, the fetcher that reads only data: URIs and portal/static/).
The fixed texts are Vietnamese, as on the paper yearbooks committees print.
"""

import base64

from .. import documents
from ..certificates.models import Asset
from ..certificates.render import ascii_name
from ..formatting import place_name
from .documents import _jinja, _upper


def default_title(period):
    return f"Kỷ yếu gương điển hình tiên tiến năm {period.year}"


def _photos(stories):
    ids = sorted({s.photo_id for s in stories if s.photo_id is not None})
    if not ids:
        return {}
    return {a.id: f"data:{a.mime};base64,{base64.b64encode(bytes(a.data)).decode('ascii')}"
            for a in Asset.select().where(Asset.id.in_(ids))}


def yearbook_data(period, unit, stories, today, title="", foreword=""):
    """What the yearbook prints, for ``stories`` (in order) of ``period`` compiled by ``unit``'s committee."""
    photos = _photos(stories)
    parent = unit.parent if unit.parent_id is not None else None
    entries = []
    for number, story in enumerate(stories, start=1):
        entries.append({
            "no": number, "anchor": f"story-{number}", "collective": story.pledge.kind != "member",
            "title": story.title, "name": story.name, "unit_line": story.unit_line,
            "paragraphs": [" ".join(p.split()) for p in story.story.replace("\r\n", "\n").split("\n\n") if p.strip()],
            "photo": photos.get(story.photo_id), "caption": story.photo_caption,
        })
    place = place_name(unit)
    return {
        "title": (title or "").strip() or default_title(period),
        "year": period.year,
        "superior": _upper(parent.name) if parent is not None else "",
        "committee": _upper(unit.name),
        "topic": period.topic,
        "foreword": [" ".join(p.split()) for p in (foreword or "").replace("\r\n", "\n").split("\n\n") if p.strip()],
        "date_line": f"{place}, tháng {today.month} năm {today.year}" if place else f"Tháng {today.month} năm {today.year}",
        "collectives": [e for e in entries if e["collective"]],
        "people": [e for e in entries if not e["collective"]],
        "author": unit.name,
    }


def render(data):
    html = _jinja.get_template("pledges/documents/yearbook.html").render(y=data)
    return documents.render_pdf(html)


def file_name(period, unit):
    return f"ky-yeu-guong-dien-hinh-{period.year}-{ascii_name(unit.name)}.pdf"
