"""Study topics (chuyên đề): create and edit, and the counts shown in their list."""

import re

import peewee as pw
from flask_babel import gettext as _

from ..accounts import audit, permissions
from ..accounts.models import Unit
from ..db import database, nfc
from ..errors import Conflict, DomainError
from .models import Question, Topic, utcnow

CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
MIN_YEAR, MAX_YEAR = 1945, 2100


def _clean(actor, code, title, year, description, owner_unit):
    code = nfc(code or "")
    if not CODE_RE.match(code):
        raise DomainError(_("Topic code: use 1-32 letters without accents, digits, '.', '-' or '_'."), field="code")
    title = " ".join(nfc(title or "").split())
    if not title:
        raise DomainError(_("Topic title: this field is required."), field="title")
    if len(title) > 255:
        raise DomainError(_("Topic title: at most 255 characters."), field="title")
    if year in (None, ""):
        year = None
    else:
        try:
            year = int(str(year).strip())
        except ValueError:
            year = 0
        if not MIN_YEAR <= year <= MAX_YEAR:
            raise DomainError(_("Year: enter a year such as 2025, or leave it empty for a whole-term topic."),
                              field="year")
    if owner_unit is None or (actor is not None and not permissions.can(actor, "quiz.manage", owner_unit)):
        raise DomainError(_("Owner unit: choose one of the units you manage."), field="owner_unit")
    return code, title, year, nfc(description or ""), owner_unit


def _values(topic):
    return {"code": topic.code, "title": topic.title, "year": topic.year, "description": topic.description,
            "owner_unit": topic.owner_unit.code}


def create_topic(actor, code, title, year=None, description="", owner_unit=None, address="", now=None):
    code, title, year, description, owner_unit = _clean(actor, code, title, year, description, owner_unit)
    try:
        with database.atomic():
            topic = Topic.create(code=code, title=title, year=year, description=description,
                                 owner_unit=owner_unit, created_at=now or utcnow())
            audit.record(actor, "topic.create", f"topic:{topic.id} {code}", _values(topic), address)
    except pw.IntegrityError:
        raise Conflict(_("Topic code: the code %(code)s is already used by another topic.", code=code),
                       field="code") from None
    return topic


def update_topic(actor, topic, code, title, year=None, description="", owner_unit=None, address=""):
    """Change a topic; returns the changes as {field: [old, new]}."""
    code, title, year, description, owner_unit = _clean(actor, code, title, year, description, owner_unit)
    before = _values(topic)
    topic.code, topic.title, topic.year = code, title, year
    topic.description, topic.owner_unit = description, owner_unit
    after = _values(topic)
    changes = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    if not changes:
        return changes
    try:
        with database.atomic():
            topic.save()
            audit.record(actor, "topic.update", f"topic:{topic.id} {code}", changes, address)
    except pw.IntegrityError:
        raise Conflict(_("Topic code: the code %(code)s is already used by another topic.", code=code),
                       field="code") from None
    return changes


def manageable(user):
    """The topics ``user`` may manage, newest year first."""
    query = Topic.select(Topic, Unit).join(Unit)
    if not permissions.is_admin(user):
        query = query.where(Topic.owner_unit.in_(permissions.units_for(user, "quiz.manage").select(Unit.id)))
    return query.order_by(Topic.year.desc(nulls="LAST"), Topic.title, Topic.id)


def question_counts(topic_ids, kinds=None):
    """{topic id: {difficulty (None for unset): active questions}}, optionally only of ``kinds``."""
    counts = {i: {} for i in topic_ids}
    if not counts:
        return counts
    query = (Question.select(Question.topic, Question.difficulty, pw.fn.COUNT(Question.id))
             .where(Question.topic.in_(list(counts)), Question.is_active)
             .group_by(Question.topic, Question.difficulty))
    if kinds:
        query = query.where(Question.kind.in_(list(kinds)))
    for topic_id, difficulty, n in query.tuples():
        counts[topic_id][difficulty] = n
    return counts
