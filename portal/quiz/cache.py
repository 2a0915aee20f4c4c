"""A per-process cache of what members see and what grading needs of a question.

A question is immutable once an attempt has drawn it (an edit makes a new
version; only the organiser's labels change in place, and they are not
cached), so the text, options and weights of a drawn question never go stale.
Questions are remembered only after the attempt that drew them is committed:
an undrawn question may still be edited in place.

The cache belongs to the database object, so two apps in one process (tests,
benchmarks) never see each other's questions.
"""

import dataclasses
import weakref

from ..db import database
from .models import Option, Question

MAX_ENTRIES = 50_000

_caches = weakref.WeakKeyDictionary()


@dataclasses.dataclass(frozen=True)
class OptionData:
    id: int
    text: str
    weight: int
    feedback: str = ""


@dataclasses.dataclass(frozen=True)
class QuestionData:
    id: int
    kind: str
    grading: str
    text: str
    explanation: str = ""
    options: tuple = ()  # OptionData in the author's order

    @property
    def weights(self):
        return {o.id: o.weight for o in self.options}

    @property
    def option_ids(self):
        return [o.id for o in self.options]

    def option(self, option_id):
        for o in self.options:
            if o.id == option_id:
                return o
        return None


def _cache():
    db = database.obj
    cache = _caches.get(db)
    if cache is None:
        cache = _caches[db] = {}
    return cache


def fetch(ids):
    """QuestionData of the questions ``ids`` straight from the database (two queries), not remembered."""
    ids = list(set(ids))
    if not ids:
        return {}
    options = {i: [] for i in ids}
    for o in (Option.select(Option.id, Option.question, Option.text, Option.weight, Option.feedback)
              .where(Option.question.in_(ids)).order_by(Option.question, Option.position)):
        options[o.question_id].append(OptionData(o.id, o.text, o.weight, o.feedback))
    rows = (Question.select(Question.id, Question.kind, Question.grading, Question.text, Question.explanation)
            .where(Question.id.in_(ids)))
    return {q.id: QuestionData(q.id, q.kind, q.grading, q.text, q.explanation, tuple(options[q.id])) for q in rows}


def remember(questions):
    """Keep the QuestionData of drawn questions (a dict or an iterable)."""
    cache = _cache()
    if len(cache) > MAX_ENTRIES:
        cache.clear()
    for q in (questions.values() if isinstance(questions, dict) else questions):
        cache[q.id] = q


def load(ids, *, drawn=True):
    """QuestionData by id; ``drawn`` questions missing from the cache are fetched and remembered."""
    cache = _cache()
    found = {i: cache[i] for i in ids if i in cache}
    missing = [i for i in ids if i not in found]
    if missing:
        fetched = fetch(missing)
        if drawn:
            remember(fetched)
        found.update(fetched)
    return found


def clear():
    _cache().clear()
