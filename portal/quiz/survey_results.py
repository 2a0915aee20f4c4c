"""Survey results for organisers: who was asked, how many answered, what they chose or wrote.

One query reads every answer of the finished responses (with the member's
name and unit when the survey is not anonymous); the rest is counted in
Python. An anonymous survey keeps no account or unit with its answers, so
its results cannot be filtered by unit, list no names, and are ordered by
day and content rather than by when each response came in.
"""

import dataclasses
import operator
from functools import reduce

import peewee as pw
from flask_babel import gettext as _

from ..accounts.models import Unit, User
from ..documents import Sheet, xlsx_bytes
from ..errors import DomainError
from ..formatting import format_datetime_vi, format_percent_vi
from . import cache, scoring
from .models import Attempt, AttemptQuestion, Question, QuizAudience, QuizQuestion

PAGE_ANSWERS = 200  # free answers listed per question on the page; the XLSX has them all


@dataclasses.dataclass
class OptionResult:
    id: int
    text: str
    count: int = 0
    share: float = None  # of the respondents who were asked the question, 0..1


@dataclasses.dataclass
class QuestionResult:
    number: int
    id: int
    kind: str
    text: str
    asked: int = 0  # responses that were given the question
    answered: int = 0
    options: list = dataclasses.field(default_factory=list)  # OptionResult, in the author's order
    answers: list = dataclasses.field(default_factory=list)  # free answers, newest first
    replaced: bool = False  # an earlier wording, since edited

    @property
    def is_text(self):
        return self.kind == "text"

    @property
    def skipped(self):
        return self.asked - self.answered

    @property
    def page_answers(self):
        return self.answers[:PAGE_ANSWERS]

    @property
    def more_answers(self):
        return max(0, len(self.answers) - PAGE_ANSWERS)


@dataclasses.dataclass
class Response:
    """One finished response: its answers by question id (option texts joined by "; ", or the text)."""

    number: int
    full_name: str = ""
    unit: str = ""
    finished_at: object = None
    answers: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class SurveySummary:
    quiz: object
    audience: list  # the units whose subtrees were asked
    units: list  # the unit filter, [] for all
    invited: int
    questions: list  # QuestionResult, in the survey's order
    responses: list  # Response; numbered from 1
    unit_choices: list  # units the results may be filtered by ([] when anonymous)

    @property
    def response_count(self):
        return len(self.responses)

    @property
    def response_rate(self):
        return self.response_count / self.invited if self.invited else None


def _any_subtree(units):
    return reduce(operator.or_, [Unit.path.startswith(u.path) for u in units])


def audience_units(quiz):
    """The units whose members the survey is aimed at (the owner's subtree when none is named)."""
    named = [a.unit for a in QuizAudience.select(QuizAudience, Unit).join(Unit)
             .where(QuizAudience.quiz == quiz.id).order_by(Unit.path)]
    return named or [quiz.owner_unit]


def invited_count(audience, units=None):
    """Active members with a unit in the audience's subtrees (and in ``units``' subtrees when given)."""
    cond = _any_subtree(audience)
    if units:
        cond &= _any_subtree(units)
    return (User.select(pw.fn.COUNT(User.id)).join(Unit, on=(User.unit == Unit.id))
            .where(User.is_active == True, cond).scalar()) or 0  # noqa: E712 (a peewee expression)


def _answer_rows(quiz, units):
    """(attempt id, position, question id, answer, answer text, finished at, full name, unit name), newest first."""
    aq = AttemptQuestion
    named = not quiz.is_anonymous
    fields = [aq.attempt, aq.position, aq.question, aq.answer, aq.answer_text, Attempt.finished_at]
    if named:
        fields += [User.full_name, Unit.name]
    query = (aq.select(*fields).join(Attempt, on=(aq.attempt == Attempt.id))
             .where(Attempt.quiz == quiz.id, Attempt.state == "finished"))
    if named:
        query = (query.join(User, pw.JOIN.LEFT_OUTER, on=(Attempt.user == User.id))
                 .join(Unit, pw.JOIN.LEFT_OUTER, on=(User.unit == Unit.id)))
        if units:
            query = query.where(_any_subtree(units))
    rows = query.order_by(Attempt.finished_at.desc(), Attempt.id.desc(), aq.position).tuples()
    return [row if named else (*row, "", "") for row in rows]


def _question_order(quiz, seen):
    """Question ids in the survey's order: the fixed list, then earlier wordings and drawn questions.

    ``seen`` maps each answered question id to the lowest position it was shown at.
    Returns (ordered ids, ids of earlier wordings).
    """
    fixed = [qid for (qid,) in QuizQuestion.select(QuizQuestion.question).where(QuizQuestion.quiz == quiz.id)
             .order_by(QuizQuestion.position, QuizQuestion.id).tuples()]
    place = {qid: i for i, qid in enumerate(fixed)}
    successor, todo = {}, [qid for qid in seen if qid not in place]
    while todo:  # follow edits to the current wording: one query per generation of versions
        found = dict(Question.select(Question.id, Question.replaced_by).where(Question.id.in_(todo)).tuples())
        successor.update(found)
        todo = [new for new in found.values() if new is not None and new not in successor and new not in place]
    replaced = {qid for qid in seen if successor.get(qid) is not None}

    def current(qid):
        steps = 0
        while qid not in place and successor.get(qid) is not None and steps < 100:
            qid, steps = successor[qid], steps + 1
        return qid

    def key(qid):
        latest = current(qid)
        return (place.get(latest, len(fixed)), qid in replaced, seen.get(qid, 0), qid)

    return sorted(set(fixed) | set(seen), key=key), replaced


def _tally(rows, results):
    """Count the answer ``rows`` into ``results`` (QuestionResult by id); return the responses, newest first."""
    responses = {}
    for attempt_id, _position, qid, answer, text, finished_at, full_name, unit_name in rows:
        response = responses.get(attempt_id)
        if response is None:
            response = responses[attempt_id] = Response(0, full_name or "", unit_name or "", finished_at)
        result = results.get(qid)
        if result is None:
            continue
        result.asked += 1
        if result.is_text:
            text = (text or "").strip()
            if text:
                result.answered += 1
                result.answers.append(text)
                response.answers[qid] = text
            continue
        chosen = set(scoring.parse_ids(answer))
        picked = [o for o in result.options if o.id in chosen]
        if picked:
            result.answered += 1
            for option in picked:
                option.count += 1
            response.answers[qid] = "; ".join(o.text for o in picked)
    for result in results.values():
        for option in result.options:
            option.share = option.count / result.asked if result.asked else None
    return list(responses.values())


def summarise(quiz, units=None):
    """The results of survey ``quiz``, of the members in ``units``' subtrees when given (named surveys only)."""
    units = [u for u in (units or []) if u is not None]
    if units and quiz.is_anonymous:
        raise DomainError(_("An anonymous survey cannot be filtered by unit: its answers carry no unit."))
    audience = audience_units(quiz)
    rows = _answer_rows(quiz, units)
    seen = {}
    for _attempt, position, qid, *_rest in rows:
        seen[qid] = min(position, seen.get(qid, position))
    order, replaced = _question_order(quiz, seen)
    data = cache.load(list(seen))
    data.update(cache.load([qid for qid in order if qid not in seen], drawn=False))
    results = {}
    for number, qid in enumerate((qid for qid in order if qid in data), start=1):
        q = data[qid]
        results[qid] = QuestionResult(number, qid, q.kind, q.text, replaced=qid in replaced,
                                      options=[] if q.kind == "text" else [OptionResult(o.id, o.text)
                                                                           for o in q.options])

    ordered = _tally(rows, results)  # newest first
    if quiz.is_anonymous:
        # Times are kept to the day only; within a day, order by content, not by arrival.
        ordered.sort(key=lambda r: tuple(r.answers.get(q, "") for q in order))
        ordered.sort(key=lambda r: r.finished_at, reverse=True)
        for result in results.values():
            if result.is_text:
                result.answers = [r.answers[result.id] for r in ordered if result.id in r.answers]
    for number, response in enumerate(ordered, start=1):
        response.number = number
    choices = [] if quiz.is_anonymous else [u for u in Unit.in_tree_order()
                                            if any(u.is_within(a) for a in audience)]
    return SurveySummary(quiz=quiz, audience=audience, units=units, invited=invited_count(audience, units),
                         questions=[results[qid] for qid in order if qid in results], responses=ordered,
                         unit_choices=choices)


def _percent(share):
    return round(share * 100, 1) if share is not None else None


def survey_xlsx(quiz, summary):
    """The results as XLSX: a summary sheet (question, option, count, %) and one row per response.

    Anonymous surveys list a response number only, never a name, unit or time.
    Every cell goes through ``documents.safe_cell``: answers are members' text.
    """
    preamble = [quiz.title, _("Responses: %(n)s of %(invited)s members asked", n=summary.response_count,
                               invited=summary.invited)]
    if summary.response_rate is not None:
        preamble.append(_("Response rate: %(rate)s", rate=format_percent_vi(summary.response_rate)))
    if summary.units:
        preamble.append(_("Unit: %(units)s", units=", ".join(u.name for u in summary.units)))
    if quiz.is_anonymous:
        preamble.append(_("Anonymous survey: no account is linked to the answers"))

    totals = []
    for q in summary.questions:
        label = q.text + (" " + _("(earlier wording)") if q.replaced else "")
        if q.is_text:
            totals.append([q.number, label, _("(free answers)"), q.answered,
                           _percent(q.answered / q.asked) if q.asked else None])
        for o in q.options:
            totals.append([q.number, label, o.text, o.count, _percent(o.share)])
        if not q.is_text:
            totals.append([q.number, label, _("(no answer)"), q.skipped,
                           _percent(q.skipped / q.asked) if q.asked else None])
    summary_sheet = Sheet(title=_("Summary"), headers=[_("No."), _("Question"), _("Option"), _("Count"), "%"],
                          rows=totals, widths=[6, 60, 40, 10, 8], preamble=preamble)

    named = not quiz.is_anonymous
    headers = [_("No.")] + ([_("Full name"), _("Unit"), _("Submitted at")] if named else [])
    headers += [_("Question %(n)s", n=q.number) + ". " + _shorten(q.text) for q in summary.questions]
    rows = []
    for r in summary.responses:
        values = [r.number] + ([r.full_name, r.unit, format_datetime_vi(r.finished_at)] if named else [])
        rows.append(values + [r.answers.get(q.id, "") for q in summary.questions])
    widths = [6] + ([28, 28, 17] if named else []) + [40] * len(summary.questions)
    answers_sheet = Sheet(title=_("Answers"), headers=headers, rows=rows, widths=widths)
    return xlsx_bytes([summary_sheet, answers_sheet], title=quiz.title)


def _shorten(text, limit=120):
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"
