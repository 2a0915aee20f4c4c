"""Importing parsed questions into a topic's bank (preview, then all or nothing) and exporting a bank.

Preview
    ``preview_import(topic, parsed)`` writes nothing and says, question by
    question in the order of the file, what importing would do:

    - create: the question is valid and new to the topic;
    - duplicate: the topic already holds an active question with the same
      normalised text (NFC, casefolded, whitespace collapsed), or an earlier
      line of the file does; it is skipped, so importing a file twice adds nothing;
    - reject: the reader (parsers.py) or the bank's own rules
      (questions.check_question, the same as for a question typed in the browser)
      refuse it;
    - unsupported: a GIFT kind the bank does not hold (short answer, numerical…),
      listed with its line and skipped.

Apply
    ``apply_import`` plans again inside one transaction and writes nothing at all
    when any question is rejected (ImportRejected carries the plan). Otherwise the
    new questions and their options are inserted in chunks, and the import is
    written to the audit log as "questions.import".
"""

import dataclasses
from dataclasses import dataclass, field
from typing import NamedTuple

from flask_babel import gettext as _

from ..accounts import audit, permissions
from ..db import database, is_sqlite
from ..errors import DomainError
from ..tables import PlanCounts
from . import parsers
from .models import Option, Question, Topic, utcnow
from .questions import KIND_LABELS, OptionInput, QuestionInput, check_question, normalise_for_match

ACTIONS = ("create", "duplicate", "reject", "unsupported")
_CHUNK = 500


class ImportRejected(DomainError):
    """Some questions are rejected, so nothing is written; ``plan`` says which and why."""

    def __init__(self, plan):
        super().__init__(_("Nothing was imported: %(n)s questions have problems. Fix the file and import it again.",
                           n=plan.counts["reject"]))
        self.plan = plan


@dataclass
class PlanRow:
    line: int
    action: str
    kind: str = ""  # a question kind, or an unsupported GIFT kind
    text: str = ""
    messages: list = field(default_factory=list)  # problems of a rejected question; the reason otherwise
    data: QuestionInput | None = None  # what a "create" row writes, checked
    category: str = ""

    @property
    def kind_label(self):
        if self.kind in KIND_LABELS:
            return str(KIND_LABELS[self.kind])
        if self.kind in parsers.UNSUPPORTED_KINDS:
            return parsers.unsupported_label(self.kind)
        return ""


@dataclass
class ImportPlan(PlanCounts):
    rows: list
    format: str = ""
    ACTIONS = ACTIONS

    @property
    def problems(self):
        """Every problem as 'Dòng 12: …', in line order."""
        return [_("Line %(line)s: %(message)s", line=row.line, message=m)
                for row in self.rows if row.action == "reject" for m in row.messages]


@dataclass
class ImportResult:
    plan: ImportPlan
    created: int


def action_label(action):
    return {
        "create": _("new"),
        "duplicate": _("duplicate"),
        "reject": _("rejected"),
        "unsupported": _("not supported"),
    }[action]


def question_input(parsed):
    """The QuestionInput of a ParsedQuestion, for questions.check_question."""
    return QuestionInput(kind=parsed.kind, text=parsed.text, title=parsed.title, explanation=parsed.explanation,
                         difficulty=parsed.difficulty, tags=", ".join(parsed.tags), grading=parsed.grading,
                         options=[OptionInput(o.text, o.weight, o.feedback) for o in parsed.options])


def _checked(parsed):
    data = check_question(question_input(parsed))
    if data.kind == "truefalse":
        # check_question rebuilds the two options; keep the feedback the file gave each.
        feedback = {o.text: o.feedback for o in parsed.options}
        data.options = [dataclasses.replace(o, feedback=feedback.get(o.text, "")) for o in data.options]
    return data


def _existing(topic, keys):
    """{normalised text: question id} of the topic's active questions among ``keys``."""
    found, keys = {}, sorted(keys)
    for i in range(0, len(keys), _CHUNK):
        query = (Question.select(Question.id, Question.normalised_text)
                 .where(Question.topic == topic, Question.is_active,
                        Question.normalised_text.in_(keys[i:i + _CHUNK])))
        for question_id, key in query.tuples():
            found.setdefault(key, question_id)
    return found


def preview_import(topic, parsed):
    """What importing ``parsed`` (a parsers.ParseResult) into ``topic`` would do, row by row; writes nothing."""
    rows = [PlanRow(line=p.line, action="reject", messages=[
        _("column %(column)s: %(message)s", column=p.column, message=p.message) if p.column else p.message])
        for p in parsed.problems]
    rows += [PlanRow(line=u.line, action="unsupported", kind=u.kind, text=u.text, messages=[u.reason])
             for u in parsed.unsupported]
    candidates = []
    for q in parsed.questions:
        row = PlanRow(line=q.line, action="create", kind=q.kind, text=q.text, category=q.category)
        try:
            row.data = _checked(q)
        except DomainError as exc:
            row.action, row.messages = "reject", [str(exc)]
        else:
            candidates.append((row, normalise_for_match(row.data.text)))
        rows.append(row)
    existing = _existing(topic, {key for _row, key in candidates})
    first_line = {}
    for row, key in candidates:
        if key in existing:
            row.action = "duplicate"
            row.messages = [_("the topic already has this question (no. %(id)s)", id=existing[key])]
        elif key in first_line:
            row.action = "duplicate"
            row.messages = [_("the same question as line %(line)s", line=first_line[key])]
        else:
            first_line[key] = row.line
    # Rows of one line keep the order the problems were found in.
    rows.sort(key=lambda r: r.line)
    merged = []
    for row in rows:
        if merged and row.action == "reject" and merged[-1].action == "reject" and merged[-1].line == row.line \
                and not row.text:
            merged[-1].messages.extend(row.messages)
        else:
            merged.append(row)
    return ImportPlan(rows=merged, format=parsed.format)


def apply_import(topic, parsed, actor, address="", now=None, filename=""):
    """Import ``parsed`` into ``topic`` as ``actor`` (None: the command line): every new question or none.

    Duplicates and unsupported questions are skipped; any rejected question
    refuses the whole file with ImportRejected.
    """
    if actor is not None and not permissions.can(actor, "quiz.manage", topic):
        raise DomainError(_("You may not change the question bank of this topic."))
    now = now or utcnow()
    with database.atomic():
        if not is_sqlite():  # SQLite's IMMEDIATE transactions already run one import at a time
            # Two imports of the same file at once must not both find the questions new.
            Topic.select(Topic.id).where(Topic.id == topic.id).for_update().execute()
        plan = preview_import(topic, parsed)
        if plan.rejected:
            raise ImportRejected(plan)
        creates = [row for row in plan.rows if row.action == "create"]
        _insert(topic, [row.data for row in creates], now)
        counts = plan.counts
        if creates:
            audit.record(actor, "questions.import", f"topic:{topic.id} {topic.code}",
                         {"filename": filename, "format": plan.format, "created": counts["create"],
                          "duplicates": counts["duplicate"], "unsupported": counts["unsupported"]}, address)
    return ImportResult(plan=plan, created=len(creates))


_QUESTION_FIELDS = [Question.topic, Question.kind, Question.title, Question.text, Question.normalised_text,
                    Question.explanation, Question.difficulty, Question.tags, Question.grading, Question.is_active,
                    Question.created_at]
_OPTION_FIELDS = [Option.question, Option.position, Option.text, Option.weight, Option.feedback]


def _insert(topic, questions, now):
    """Insert checked QuestionInputs with their options: a few statements per 500 questions."""
    for i in range(0, len(questions), _CHUNK):
        chunk = questions[i:i + _CHUNK]
        keys = [normalise_for_match(q.text) for q in chunk]
        rows = [(topic.id, q.kind, q.title, q.text, key, q.explanation, q.difficulty, q.tags, q.grading, True, now)
                for q, key in zip(chunk, keys)]
        # Normalised texts are unique within an import (duplicates are skipped), so they pair ids with rows.
        ids = {key: qid for qid, key in Question.insert_many(rows, fields=_QUESTION_FIELDS)
               .returning(Question.id, Question.normalised_text).tuples().execute()}
        options = [(ids[key], n, o.text, o.weight, o.feedback)
                   for q, key in zip(chunk, keys) for n, o in enumerate(q.options)]
        for j in range(0, len(options), _CHUNK * 4):
            Option.insert_many(options[j:j + _CHUNK * 4], fields=_OPTION_FIELDS).execute()


# Export --------------------------------------------------------------------------------------

def bank_questions(topic):
    """The topic's active choice questions as ParsedQuestions (in the order they were added), and how many
    survey questions (free text, or choices with no right answer) were left out."""
    questions = list(Question.select(Question.id, Question.kind, Question.title, Question.text, Question.explanation,
                                     Question.difficulty, Question.tags, Question.grading)
                     .where(Question.topic == topic, Question.is_active).order_by(Question.id).tuples())
    options = {q[0]: [] for q in questions}
    ids = list(options)
    for i in range(0, len(ids), _CHUNK):
        query = (Option.select(Option.question, Option.text, Option.weight, Option.feedback)
                 .where(Option.question.in_(ids[i:i + _CHUNK])).order_by(Option.question, Option.position))
        for question_id, text, weight, feedback in query.tuples():
            options[question_id].append(parsers.ParsedOption(text, weight, feedback))
    parsed, skipped = [], 0
    for n, (qid, kind, title, text, explanation, difficulty, tags, grading) in enumerate(questions, start=1):
        if kind not in parsers.KINDS:
            skipped += 1
            continue
        opts = options[qid]
        right = [i for i, o in enumerate(opts) if o.weight > 0]
        if kind == "multiple" and right and sum(opts[i].weight for i in right) != 100:
            shares = dict(zip(right, parsers.split_weights(len(right))))
            opts = [o._replace(weight=shares[i]) if i in shares else o for i, o in enumerate(opts)]
        parsed.append(parsers.ParsedQuestion(
            line=n, kind=kind, text=text, options=opts, title=title, explanation=explanation, difficulty=difficulty,
            tags=parsers.clean_tags(tags), category=topic.title,
            grading=grading if kind == "multiple" else "all_or_nothing"))
    return parsed, skipped


class Export(NamedTuple):
    content: bytes
    count: int  # questions written
    skipped: int  # survey questions left out


def export_gift(topic):
    """The topic's bank as GIFT text in UTF-8, under a $CATEGORY named after the topic."""
    questions, skipped = bank_questions(topic)
    return Export(parsers.to_gift(questions).encode("utf-8"), len(questions), skipped)


def export_xlsx(topic):
    """The topic's bank as XLSX in the import template's layout."""
    questions, skipped = bank_questions(topic)
    return Export(parsers.to_xlsx(questions, title=topic.title), len(questions), skipped)
