"""Questions of a topic's bank: create, edit (a new version once an attempt drew it), retire.

Every write goes through ``check_question``, which returns the cleaned values
or raises a DomainError naming the field or option in Vietnamese; importers
use the same checks so that a question is valid however it arrived.
"""

import dataclasses
import re
import string
import unicodedata

import peewee as pw
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..accounts import audit
from ..accounts.users import ascii_fold
from ..db import database, lock_rows, nfc
from ..errors import DomainError
from .models import AttemptQuestion, Option, Question, Quiz, QuizQuestion, utcnow

MIN_OPTIONS = 2
MAX_OPTIONS = 8
MAX_TEXT = 5000
LETTERS = string.ascii_uppercase[:MAX_OPTIONS]

# Stored data, not interface text: a true/false question's two options, in this order.
TRUE_TEXT = "Đúng"
FALSE_TEXT = "Sai"

KIND_LABELS = {
    "single": _l("Single choice"),
    "multiple": _l("Multiple choice"),
    "truefalse": _l("True / false"),
    "survey_single": _l("Survey: choose one (no right answer)"),
    "survey_multiple": _l("Survey: choose several (no right answer)"),
    "text": _l("Free text (surveys only)"),
}
DIFFICULTY_LABELS = {1: _l("Easy"), 2: _l("Medium"), 3: _l("Hard")}
GRADING_LABELS = {
    "all_or_nothing": _l("All-or-nothing grading"),
    "partial": _l("Partial credit by option weights"),
}
CHOICE_KINDS = ("single", "multiple", "truefalse")  # graded: quizzes draw only these
SURVEY_KINDS = ("survey_single", "survey_multiple", "text")  # no right answer: surveys only
MULTIPLE_KINDS = ("multiple", "survey_multiple")  # more than one option may be chosen


def normalise_for_match(text):
    """The form in which two question texts are compared: NFC, casefolded, whitespace collapsed."""
    text = unicodedata.normalize("NFC", text or "").casefold()
    return unicodedata.normalize("NFC", " ".join(text.split()))


def clean_tags(tags):
    """'  a; b ,a,, c' (or a list) -> 'a, b, c': stripped, without duplicates (compared casefolded)."""
    values = tags if isinstance(tags, (list, tuple)) else [tags or ""]
    parts = [part for value in values for part in re.split(r"[,;]", value or "")]
    seen, kept = set(), []
    for part in parts:
        tag = " ".join(nfc(part).split())
        if tag and tag.casefold() not in seen:
            seen.add(tag.casefold())
            kept.append(tag)
    return ", ".join(kept)


@dataclasses.dataclass
class OptionInput:
    text: str
    weight: int = 0
    feedback: str = ""


@dataclasses.dataclass
class QuestionInput:
    """A question as typed, imported or stored; ``check_question`` cleans it."""

    kind: str
    text: str
    options: list = dataclasses.field(default_factory=list)
    title: str = ""
    explanation: str = ""
    difficulty: int = None
    tags: str = ""
    grading: str = "all_or_nothing"

    @classmethod
    def of(cls, question):
        """The stored values of ``question``, to compare an edit against."""
        return cls(kind=question.kind, text=question.text, title=question.title,
                   explanation=question.explanation, difficulty=question.difficulty, tags=question.tags,
                   grading=question.grading,
                   options=[OptionInput(o.text, o.weight, o.feedback) for o in ordered_options(question)])


def option_label(index):
    return _("Option %(letter)s", letter=LETTERS[index])


def truefalse_options(answer):
    """The two options of a true/false question whose right answer is ``answer`` (a bool)."""
    return [OptionInput(TRUE_TEXT, 100 if answer else 0), OptionInput(FALSE_TEXT, 0 if answer else 100)]


def options_from_marks(kind, grading, rows):
    """Options from a form's rows of (text, marked right, weight as typed, feedback).

    Empty rows are skipped. A right option of a single-choice or
    all-or-nothing question is worth 100. Partial credit: a right option
    without a typed weight shares what the typed ones leave of 100; a wrong
    one may carry a penalty (≤ 0). A wrong option of a single-choice question
    may keep a partial credit below 100, as GIFT's ``~%50%`` imports it.
    """
    kept = [(i, nfc(text or ""), bool(right), (weight or "").strip(), nfc(feedback or ""))
            for i, (text, right, weight, feedback) in enumerate(rows)
            if nfc(text or "") or right or (weight or "").strip() or nfc(feedback or "")]
    partial = kind == "multiple" and grading == "partial"
    options, share = [], []
    for i, text, right, typed, feedback in kept:
        weight = _weight(typed, i) if typed and (partial or (kind == "single" and not right)) else None
        if weight is not None and right and weight <= 0:
            raise DomainError(_("%(option)s: a right option needs a weight above 0.", option=option_label(i)),
                              field="options")
        if weight is not None and not right and (weight > 0 if partial else weight >= 100):
            raise DomainError(_("%(option)s: mark it as right, or give it a weight of 0 or below.",
                                option=option_label(i)), field="options")
        if weight is None:
            weight = 100 if right else 0
            if right and partial:
                share.append(len(options))
        options.append(OptionInput(text, weight, feedback))
    if share:
        left = 100 - sum(o.weight for j, o in enumerate(options) if o.weight > 0 and j not in share)
        each, extra = divmod(max(left, 0), len(share))
        for n, j in enumerate(share):
            options[j].weight = each + (1 if n < extra else 0)
    return options


def check_question(data):
    """Return a cleaned copy of ``data`` (a QuestionInput) or raise DomainError naming the field."""
    kind = data.kind
    if kind not in Question.KINDS:
        raise DomainError(_("Kind: choose single choice, multiple choice or true / false."), field="kind")
    text = nfc(data.text or "")
    if not text:
        raise DomainError(_("Question text: this field is required."), field="text")
    if len(text) > MAX_TEXT:
        raise DomainError(_("Question text: at most %(n)s characters.", n=f"{MAX_TEXT:,}".replace(",", ".")),
                          field="text")
    title = " ".join(nfc(data.title or "").split())
    if len(title) > 255:
        raise DomainError(_("Short title: at most 255 characters."), field="title")
    explanation = nfc(data.explanation or "")
    if len(explanation) > MAX_TEXT:
        raise DomainError(_("Explanation: at most %(n)s characters.", n=f"{MAX_TEXT:,}".replace(",", ".")),
                          field="explanation")
    difficulty = data.difficulty
    if difficulty in ("", None):
        difficulty = None
    else:
        try:
            difficulty = int(difficulty)
        except (TypeError, ValueError):
            difficulty = 0
        if difficulty not in DIFFICULTY_LABELS:
            raise DomainError(_("Difficulty: choose easy, medium or hard."), field="difficulty")
    tags = clean_tags(data.tags)
    if len(tags) > 255:
        raise DomainError(_("Tags: at most 255 characters in all."), field="tags")
    grading = data.grading or "all_or_nothing"
    if grading not in Question.GRADINGS:
        raise DomainError(_("Grading: choose all or nothing or partial credit."), field="grading")
    if kind != "multiple":
        grading = "all_or_nothing"
    options = _check_options(kind, grading, data.options)
    return QuestionInput(kind=kind, text=text, options=options, title=title, explanation=explanation,
                         difficulty=difficulty, tags=tags, grading=grading)


def _check_options(kind, grading, options):
    if kind == "text":
        if any(nfc(o.text) for o in options):
            raise DomainError(_("Options: a free-text question has no options."), field="options")
        return []
    if kind == "truefalse":
        right = [o for o in options if _weight(o.weight, 0) > 0]
        if len(options) != 2 or len(right) != 1:
            raise DomainError(_("Right answer: choose True or False."), field="truefalse_answer")
        if [nfc(o.text) for o in options] == [FALSE_TEXT, TRUE_TEXT]:
            options = options[::-1]
        return truefalse_options(_weight(options[0].weight, 0) > 0)
    if len(options) > MAX_OPTIONS:
        raise DomainError(_("Options: at most %(n)s options.", n=MAX_OPTIONS), field="options")
    cleaned, seen = [], {}
    for i, o in enumerate(options):
        label = option_label(i)
        text = nfc(o.text or "")
        if not text:
            raise DomainError(_("%(option)s: the text is empty.", option=label), field="options")
        if len(text) > MAX_TEXT:
            raise DomainError(_("%(option)s: at most %(n)s characters.", option=label,
                                n=f"{MAX_TEXT:,}".replace(",", ".")), field="options")
        key = normalise_for_match(text)
        if key in seen:
            raise DomainError(_("%(option)s is the same as %(other)s.", option=label, other=seen[key]),
                              field="options")
        seen[key] = label
        weight = _weight(o.weight, i)
        cleaned.append(OptionInput(text, weight, nfc(o.feedback or "")))
    if len(cleaned) < MIN_OPTIONS:
        raise DomainError(_("Options: enter at least %(n)s options.", n=MIN_OPTIONS), field="options")
    if kind in SURVEY_KINDS:
        # Nothing is right or wrong: every option weighs nothing.
        return [dataclasses.replace(o, weight=0) for o in cleaned]
    right = [LETTERS[i] for i, o in enumerate(cleaned) if o.weight > 0]
    if not right:
        raise DomainError(_("Right answer: mark at least one option as right."), field="options")
    if kind == "single":
        full = [LETTERS[i] for i, o in enumerate(cleaned) if o.weight == 100]
        if len(full) != 1:
            raise DomainError(_("Right answer: a single-choice question has exactly one right option "
                                "(now: %(letters)s).", letters=", ".join(right)), field="options")
    elif grading == "partial":
        total = sum(o.weight for o in cleaned if o.weight > 0)
        if total != 100:
            raise DomainError(_("Weights: the weights of the right options must add up to 100%% "
                                "(now %(total)s%%).", total=total), field="options")
    else:
        # All or nothing: only which options are right matters.
        cleaned = [dataclasses.replace(o, weight=100 if o.weight > 0 else 0) for o in cleaned]
    return cleaned


def _weight(value, index):
    if value in (None, ""):
        return 0
    try:
        weight = int(value)
    except (TypeError, ValueError):
        weight = None
    if weight is None or not -100 <= weight <= 100:
        raise DomainError(_("%(option)s: the weight is a whole number from -100 to 100.",
                            option=option_label(index)), field="options")
    return weight


def ordered_options(question):
    return sorted(question.options, key=lambda o: o.position)


def _duplicate(topic, normalised, exclude=None):
    query = Question.select(Question.id).where(Question.topic == topic, Question.is_active,
                                               Question.normalised_text == normalised)
    if exclude is not None:
        query = query.where(Question.id != exclude.id)
    return query.first()


def _check_not_duplicate(topic, data, exclude=None):
    other = _duplicate(topic, normalise_for_match(data.text), exclude)
    if other is not None:
        raise DomainError(_("Question text: this topic already has the same question (no. %(id)s).",
                            id=other.id), field="text")


def _write(question, data, options=True):
    question.kind, question.text, question.title = data.kind, data.text, data.title
    question.normalised_text = normalise_for_match(data.text)
    question.explanation, question.difficulty = data.explanation, data.difficulty
    question.tags, question.grading = data.tags, data.grading
    question.save()
    if not options:
        return
    Option.delete().where(Option.question == question).execute()
    if data.options:
        Option.insert_many([{"question": question.id, "position": i, "text": o.text, "weight": o.weight,
                             "feedback": o.feedback} for i, o in enumerate(data.options)]).execute()


def _summary(data):
    return {"kind": data.kind, "text": data.text[:200], "difficulty": data.difficulty, "tags": data.tags,
            "options": len(data.options)}


def create_question(actor, topic, data, address="", now=None):
    """Add a question to ``topic``'s bank."""
    data = check_question(data)
    with database.atomic():
        _check_not_duplicate(topic, data)
        question = Question(topic=topic, created_at=now or utcnow())
        _write(question, data)
        audit.record(actor, "question.create", f"question:{question.id} {topic.code}", _summary(data), address)
    return question


def is_used(question):
    """True once an attempt drew the question: from then on it never changes."""
    return AttemptQuestion.select().where(AttemptQuestion.question == question).exists()


def update_question(actor, question, data, address="", now=None):
    """Save an edit; return the question as it now stands (a new version when an attempt drew the old one).

    An unused question is edited in place. A used one is retired, pointing at
    its replacement, and fixed quiz lists move to the replacement, so attempts
    keep what they showed and new attempts get the edit. Only the organiser's
    own labels (short title, tags, difficulty), which no member sees, change in
    place on a used question: a new version for a tag would split its item
    analysis in two.
    """
    if not question.is_active:
        raise DomainError(_("This question was retired and can no longer be edited."))
    data = check_question(data)
    stored = QuestionInput.of(question)
    if data == stored:
        return question
    with database.atomic():
        # Wait for a start drawing this question right now (it holds a share lock), then see it as used.
        lock_rows(Question.select(Question.id).where(Question.id == question.id))
        _check_not_duplicate(question.topic, data, exclude=question)
        labels_only = dataclasses.replace(stored, title=data.title, tags=data.tags,
                                          difficulty=data.difficulty) == data
        if labels_only or not is_used(question):
            _write(question, data, options=not labels_only)
            audit.record(actor, "question.update", f"question:{question.id} {question.topic.code}",
                         _summary(data), address)
            return question
        new = Question(topic=question.topic, created_at=now or utcnow())
        _write(new, data)
        Question.update(is_active=False, replaced_by=new).where(Question.id == question.id).execute()
        QuizQuestion.update(question=new).where(QuizQuestion.question == question).execute()
        audit.record(actor, "question.new_version", f"question:{new.id} {question.topic.code}",
                     {**_summary(data), "replaces": question.id}, address)
    question.is_active, question.replaced_by = False, new
    return new


def fixed_in(question):
    """Titles of the quizzes whose fixed list holds ``question``."""
    return [q.title for q in Quiz.select(Quiz.title).join(QuizQuestion)
            .where(QuizQuestion.question == question).order_by(Quiz.title)]


def retire_question(actor, question, address=""):
    """Take a question out of every future draw; attempts that drew it keep it."""
    if not question.is_active:
        return question
    quizzes = fixed_in(question)
    if quizzes:
        raise DomainError(_("This question is in the fixed list of %(quizzes)s; take it out of there first.",
                            quizzes=", ".join(quizzes)))
    with database.atomic():
        Question.update(is_active=False).where(Question.id == question.id).execute()
        audit.record(actor, "question.retire", f"question:{question.id} {question.topic.code}",
                     {"text": question.text[:200]}, address)
    question.is_active = False
    return question


def restore_question(actor, question, address=""):
    """Bring back a question retired by hand (not one replaced by a newer version)."""
    if question.is_active:
        return question
    if question.replaced_by_id is not None:
        raise DomainError(_("This question was replaced by a newer version (no. %(id)s); edit that one instead.",
                            id=question.replaced_by_id))
    with database.atomic():
        _check_not_duplicate(question.topic, question)
        Question.update(is_active=True).where(Question.id == question.id).execute()
        audit.record(actor, "question.restore", f"question:{question.id} {question.topic.code}",
                     {"text": question.text[:200]}, address)
    question.is_active = True
    return question


def search(topic, q=None, difficulty=None, kind=None, tag=None, active=True):
    """The questions of a topic matching the filters, newest first, with their options in one go."""
    query = Question.select().where(Question.topic == topic)
    if active is not None:
        query = query.where(Question.is_active == active)
    if q:
        needle = normalise_for_match(q)
        query = query.where(Question.normalised_text.contains(needle) | (Question.id == _int(q)))
    if difficulty == 0:
        query = query.where(Question.difficulty.is_null())
    elif difficulty:
        query = query.where(Question.difficulty == difficulty)
    if kind:
        query = query.where(Question.kind == kind)
    if tag:
        # Tags are stored "a, b, c": match one whole tag.
        padded = pw.Value(", ").concat(Question.tags).concat(", ")
        query = query.where(padded.contains(f", {nfc(tag)}, "))
    return query.order_by(Question.id.desc())


def _int(text):
    text = (text or "").strip().lstrip("#")
    return int(text) if text.isdigit() and len(text) < 10 else -1


def with_options(questions):
    """Load the options of a page of questions with one query; returns {question id: [options]}."""
    ids = [q.id for q in questions]
    by_question = {i: [] for i in ids}
    if ids:
        for option in Option.select().where(Option.question.in_(ids)).order_by(Option.question, Option.position):
            by_question[option.question_id].append(option)
    return by_question


def topic_tags(topic):
    """Every tag used by the topic's active questions, sorted."""
    tags = set()
    for (value,) in Question.select(Question.tags).where(Question.topic == topic, Question.is_active,
                                                         Question.tags != "").tuples():
        tags.update(t.strip() for t in value.split(",") if t.strip())
    return sorted(tags, key=lambda t: (ascii_fold(t).casefold(), t))
