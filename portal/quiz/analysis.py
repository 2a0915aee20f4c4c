"""A quiz's results for its organisers, and the item analysis of its questions.

Results: each member's result under the quiz's grading method
(``grading.combine``), read with one query over the quiz's attempts.

Item analysis follows Moodle's quiz statistics report ("Quiz statistics
calculations" and "Quiz report statistics" in MoodleDocs): by default it
looks at each member's first submitted attempt only, since later attempts
build on the first. For each question, over the attempts that drew it:

    facility index   the mean mark as a percent of the question's maximum
    standard dev.    the sample standard deviation of the mark, in percent
    discrimination   100 × the Pearson correlation between the question's mark
                     and the rest of the attempt (its score minus this mark)

and for the whole test the mean, median and standard deviation of the score
(in percent) and the coefficient of internal consistency (Cronbach's alpha,
in percent). A question replaced by an edited version is a different
question: each version is analysed on its own.
"""

import dataclasses
import datetime as dt
import math
import operator
import statistics
from functools import reduce

import peewee as pw
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..accounts.models import Unit, User
from ..documents import Sheet, xlsx_bytes
from . import cache, grading, scoring
from .models import Attempt, AttemptQuestion, Question, QuizQuestion
from .setup import GRADING_METHOD_LABELS

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# Fewer first attempts than this and the indices say little; the page says so.
FEW_ATTEMPTS = 10


# -- results ------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class MemberResult:
    """One member's standing at a quiz."""

    user_id: int
    full_name: str
    unit_id: int
    unit_name: str
    finished: int  # attempts submitted
    in_progress: int
    score: float = None  # under the grading method; None before a submitted attempt
    max_score: float = None
    attempt_id: int = None  # the attempt that gives the result; None for an average
    review_attempt_id: int = None  # what a review link opens: the result's attempt, else the last submitted
    seconds: int = None  # time used on the result's attempt
    last_finished_at: dt.datetime = None

    @property
    def fraction(self):
        return self.score / self.max_score if self.max_score else None

    @property
    def full_marks(self):
        return self.fraction is not None and grading.is_right(self.fraction)


@dataclasses.dataclass(frozen=True)
class Results:
    rows: list  # MemberResult, best result first; members with nothing submitted last
    participants: int  # members with a submitted attempt
    attempts: int  # submitted attempts
    in_progress: int  # attempts still in progress
    mean: float = None  # percent
    median: float = None  # percent
    full_marks_share: float = None  # 0..1 of the participants


def _unit_filter(units):
    """A condition on Unit: within the subtree of one of ``units`` (an empty list matches nothing)."""
    units = list(units)
    if not units:
        return Unit.id.is_null() & Unit.id.is_null(False)
    return reduce(operator.or_, [Unit.path.startswith(u.path) for u in units])


def finalise_overdue(quiz, now):
    """Finish the quiz's attempts whose time ran out, so they count with the answers saved in time."""
    overdue = (Attempt.select().where(Attempt.quiz == quiz.id, Attempt.state == "in_progress",
                                      Attempt.deadline_at.is_null(False),
                                      Attempt.deadline_at < now - scoring.GRACE))
    done = 0
    for attempt in overdue:
        attempt.quiz = quiz
        done += bool(scoring.finish(attempt, now))
    return done


def quiz_results(quiz, units=None, now=None):
    """The Results of a graded or practice quiz, optionally only for members within ``units``' subtrees.

    With ``now``, attempts whose time ran out are finished first. Surveys have no results here.
    """
    if quiz.is_survey:
        raise ValueError("surveys have no scores")
    if now is not None:
        finalise_overdue(quiz, now)
    query = (Attempt.select(Attempt.id, Attempt.user, Attempt.number, Attempt.state, Attempt.score,
                            Attempt.max_score, Attempt.started_at, Attempt.finished_at,
                            User.full_name, User.unit, Unit.name)
             .join(User, on=(Attempt.user == User.id))
             .join(Unit, pw.JOIN.LEFT_OUTER, on=(User.unit == Unit.id))
             .where(Attempt.quiz == quiz.id)
             .order_by(Attempt.user, Attempt.number))
    if units is not None:
        query = query.where(_unit_filter(units))
    members = {}
    for (attempt_id, user_id, number, state, score, max_score, started_at, finished_at,
         full_name, unit_id, unit_name) in query.tuples():
        member = members.setdefault(user_id, {"name": full_name, "unit_id": unit_id, "unit": unit_name or "",
                                              "finished": [], "in_progress": 0})
        if state == "finished" and score is not None:
            member["finished"].append((grading.Finished(attempt_id, number, score, max_score),
                                       started_at, finished_at))
        elif state != "finished":
            member["in_progress"] += 1
    rows = [_member_result(quiz.grading_method, user_id, m) for user_id, m in members.items()]
    rows.sort(key=lambda r: (r.score is None, -(r.fraction or 0), r.seconds if r.seconds is not None else 1e12,
                             r.full_name.casefold(), r.user_id))
    graded = [r for r in rows if r.score is not None]
    percents = [100 * r.fraction for r in graded]
    return Results(
        rows=rows, participants=len(graded), attempts=sum(r.finished for r in rows),
        in_progress=sum(r.in_progress for r in rows),
        mean=statistics.fmean(percents) if percents else None,
        median=statistics.median(percents) if percents else None,
        full_marks_share=sum(r.full_marks for r in graded) / len(graded) if graded else None)


def _member_result(method, user_id, member):
    finished = member["finished"]
    base = {"user_id": user_id, "full_name": member["name"], "unit_id": member["unit_id"],
            "unit_name": member["unit"], "finished": len(finished), "in_progress": member["in_progress"]}
    result = grading.combine(method, [f for f, _started, _ended in finished])
    if result is None:
        return MemberResult(**base)
    times = {f.id: (started, ended) for f, started, ended in finished}
    seconds = None
    if result.attempt_id is not None:
        started, ended = times[result.attempt_id]
        if started is not None and ended is not None:
            seconds = max(0, int((ended - started).total_seconds()))
    last = finished[-1]
    return MemberResult(**base, score=result.score, max_score=result.max_score, attempt_id=result.attempt_id,
                        review_attempt_id=result.attempt_id or last[0].id, seconds=seconds,
                        last_finished_at=max((ended for _f, _s, ended in finished if ended), default=None))


def member_attempts(quiz, user_id):
    """A member's attempts at ``quiz``, first first (for the organiser's review page)."""
    return list(Attempt.select(Attempt.id, Attempt.number, Attempt.state, Attempt.score, Attempt.max_score,
                               Attempt.started_at, Attempt.finished_at)
                .where(Attempt.quiz == quiz.id, Attempt.user == user_id).order_by(Attempt.number))


# -- item analysis ------------------------------------------------------------------------------

# Moodle's reading of each index ("Quiz report statistics", MoodleDocs), as (upper bound, key, label, level);
# level names the badge: bad and warn ask the organiser to look at the question again.
FACILITY_BANDS = (  # (upper bound, bound included, …): 5 or less, 6–10, 11–20, 21–34, 35–64, 65–80, …
    (5, True, "extremely_difficult", _l("Extremely difficult, or something is wrong with the question"), "bad"),
    (10, True, "very_difficult", _l("Very difficult"), "warn"),
    (20, True, "difficult", _l("Difficult"), ""),
    (35, False, "moderately_difficult", _l("Moderately difficult"), ""),
    (65, False, "about_right", _l("About right for the average member"), "ok"),
    (80, True, "fairly_easy", _l("Fairly easy"), ""),
    (90, False, "easy", _l("Easy"), ""),
    (95, False, "very_easy", _l("Very easy"), ""),
    (math.inf, True, "extremely_easy", _l("Extremely easy"), "warn"),
)
DISCRIMINATION_BANDS = (  # lower bound
    (50, "very_good", _l("Very good discrimination"), "ok"),
    (30, "adequate", _l("Adequate discrimination"), "ok"),
    (20, "weak", _l("Weak discrimination"), "warn"),
    (0, "very_weak", _l("Very weak discrimination"), "warn"),
    (-math.inf, "negative", _l("Question probably invalid: check its right answer"), "bad"),
)
CIC_BANDS = (  # lower bound
    (75, "satisfactory", _l("Satisfactory"), "ok"),
    (64, "borderline", _l("Borderline"), "warn"),
    (-math.inf, "unsatisfactory", _l("Unsatisfactory: some questions do not measure the same thing"), "bad"),
)
# Which bands make a question worth a second look.
FLAGGED = {"extremely_difficult", "very_difficult", "extremely_easy", "weak", "very_weak", "negative"}


@dataclasses.dataclass(frozen=True)
class Band:
    key: str
    label: str
    level: str  # ok, warn, bad or "" (neutral)


def facility_band(value):
    """Moodle's reading of a facility index (percent); None when there is no value."""
    if value is None:
        return None
    value = round(value, 6)  # 100 × 0.05 is 5.000000000000001
    for limit, included, key, label, level in FACILITY_BANDS:
        if value < limit or (included and value == limit):
            return Band(key, str(label), level)
    return None


def _lower_band(bands, value):
    if value is None:
        return None
    value = round(value, 6)
    for limit, key, label, level in bands:
        if value >= limit:
            return Band(key, str(label), level)
    return None


def discrimination_band(value):
    """Moodle's reading of a discrimination index (percent); None when there is no value."""
    return _lower_band(DISCRIMINATION_BANDS, value)


def cic_band(value):
    """Moodle's reading of the coefficient of internal consistency (percent)."""
    return _lower_band(CIC_BANDS, value)


@dataclasses.dataclass(frozen=True)
class OptionStat:
    id: int
    letter: str  # in the author's order, as the question bank shows it
    text: str
    weight: int
    count: int  # attempts that chose it
    share: float  # of the attempts that drew the question, 0..1

    @property
    def correct(self):
        return self.weight > 0


@dataclasses.dataclass(frozen=True)
class QuestionStat:
    question_id: int
    number: int  # 1, 2, … in the order the page lists the questions
    kind: str
    text: str
    attempts: int  # first attempts that drew it (Moodle's "Attempts")
    answered: int  # of which answered it
    facility: float = None  # percent
    sd: float = None  # percent
    discrimination: float = None  # percent
    options: tuple = ()  # OptionStat in the author's order
    replaced_by_id: int = None  # edited since: this is an older version

    @property
    def unanswered(self):
        return self.attempts - self.answered

    @property
    def facility_band(self):
        return facility_band(self.facility)

    @property
    def discrimination_band(self):
        return discrimination_band(self.discrimination)

    @property
    def flags(self):
        """The bands that ask for a second look, worst first."""
        found = [b for b in (self.discrimination_band, self.facility_band) if b is not None and b.key in FLAGGED]
        return sorted(found, key=lambda b: b.level != "bad")


@dataclasses.dataclass(frozen=True)
class Analysis:
    attempts: int  # first attempts analysed
    questions: list  # QuestionStat
    mean: float = None  # percent of the maximum score
    median: float = None
    sd: float = None
    cic: float = None  # percent

    @property
    def cic_band(self):
        return cic_band(self.cic)

    @property
    def few(self):
        return self.attempts < FEW_ATTEMPTS

    @property
    def flagged(self):
        return [q for q in self.questions if q.flags]


def mean(values):
    return statistics.fmean(values) if values else None


def sample_sd(values):
    """The sample standard deviation (n − 1); None for fewer than two values."""
    return statistics.stdev(values) if len(values) >= 2 else None


def correlation(xs, ys):
    """Pearson's product-moment correlation; None for fewer than two pairs or when either does not vary."""
    n = len(xs)
    if n < 2:
        return None
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx * syy <= 1e-12:
        return None
    return sxy / math.sqrt(sxx * syy)


def cronbach_alpha(items):
    """Cronbach's alpha, in percent, of ``items`` (one list of marks per item, all over the same attempts).

    Moodle's coefficient of internal consistency: k/(k−1) × (1 − Σ item variances / variance of the totals);
    None with fewer than two items or attempts, or when the totals do not vary.
    """
    k = len(items)
    if k < 2 or len(items[0]) < 2:
        return None
    totals = [sum(marks) for marks in zip(*items)]
    total_variance = statistics.variance(totals)
    if total_variance <= 1e-12:
        return None
    return 100 * k / (k - 1) * (1 - sum(statistics.variance(marks) for marks in items) / total_variance)


def _first_attempts(quiz, units):
    """The graded rows of each member's first submitted attempt: [(attempt id, position, question id, answer, mark)].

    A member's attempts are numbered in the order they start, so the first
    submitted one has the lowest id among their submitted attempts.
    """
    first = (Attempt.select(pw.fn.MIN(Attempt.id))
             .where(Attempt.quiz == quiz.id, Attempt.state == "finished", Attempt.user.is_null(False),
                    Attempt.score.is_null(False))
             .group_by(Attempt.user))
    query = (AttemptQuestion.select(AttemptQuestion.attempt, AttemptQuestion.position, AttemptQuestion.question,
                                    AttemptQuestion.answer, AttemptQuestion.mark)
             .where(AttemptQuestion.attempt.in_(first), AttemptQuestion.mark.is_null(False)))
    if units is not None:
        query = (query.join(Attempt, on=(AttemptQuestion.attempt == Attempt.id))
                 .join(User, on=(Attempt.user == User.id)).join(Unit, on=(User.unit == Unit.id))
                 .where(_unit_filter(units)))
    return list(query.order_by(AttemptQuestion.attempt, AttemptQuestion.position).tuples())


def item_analysis(quiz, units=None):
    """The Analysis of a graded or practice quiz over each member's first submitted attempt.

    Questions come in the quiz's fixed order, else in the order they were
    first drawn (lowest position seen, then number). Tiny samples give None
    where an index needs two attempts or some variation.
    """
    if quiz.is_survey:
        raise ValueError("surveys have no marks")
    rows = _first_attempts(quiz, units)
    by_attempt = {}
    for attempt_id, position, question_id, answer, mark in rows:
        by_attempt.setdefault(attempt_id, []).append((position, question_id, answer, mark))
    totals = {a: sum(r[3] for r in items) for a, items in by_attempt.items()}
    percents = [100 * totals[a] / len(items) for a, items in by_attempt.items()]

    per_question = {}
    for attempt_id, items in by_attempt.items():
        for position, question_id, answer, mark in items:
            per_question.setdefault(question_id, []).append((attempt_id, position, answer, mark))
    ids = list(per_question)
    questions = cache.load(ids)
    replaced = dict(Question.select(Question.id, Question.replaced_by)
                    .where(Question.id.in_(ids), Question.replaced_by.is_null(False)).tuples()) if ids else {}
    fixed = dict(QuizQuestion.select(QuizQuestion.question, QuizQuestion.position)
                 .where(QuizQuestion.quiz == quiz.id).tuples())
    order = sorted(ids, key=lambda q: (fixed.get(q, math.inf), min(p for _a, p, _x, _m in per_question[q]), q))

    stats = []
    for number, question_id in enumerate(order, start=1):
        seen = per_question[question_id]
        marks = [m for _a, _p, _x, m in seen]
        rest = [totals[a] - m for a, _p, _x, m in seen]
        sd = sample_sd(marks)
        r = correlation(marks, rest)
        stats.append(QuestionStat(
            question_id=question_id, number=number, kind=questions[question_id].kind,
            text=questions[question_id].text, attempts=len(seen),
            answered=sum(1 for _a, _p, answer, _m in seen if answer),
            facility=100 * mean(marks) if marks else None, sd=100 * sd if sd is not None else None,
            discrimination=100 * r if r is not None else None,
            options=_options(questions[question_id], [answer for _a, _p, answer, _m in seen]),
            replaced_by_id=replaced.get(question_id)))
    return Analysis(attempts=len(by_attempt), questions=stats, mean=mean(percents),
                    median=statistics.median(percents) if percents else None,
                    sd=sample_sd(percents), cic=cronbach_alpha(_items(by_attempt)))


def _options(question, answers):
    counts = {}
    for answer in answers:
        for option_id in set(scoring.parse_ids(answer)):
            counts[option_id] = counts.get(option_id, 0) + 1
    n = len(answers)
    return tuple(OptionStat(o.id, LETTERS[i] if i < len(LETTERS) else str(i + 1), o.text, o.weight,
                            counts.get(o.id, 0), counts.get(o.id, 0) / n if n else 0.0)
                 for i, o in enumerate(question.options))


def _items(by_attempt):
    """Marks per item for Cronbach's alpha, or [] when the attempts do not line up.

    When every attempt has the same questions, an item is a question; when
    questions were drawn at random, an item is a place in the attempt (as
    Moodle treats a random question's slot), provided every attempt has as
    many questions.
    """
    attempts = list(by_attempt.values())
    if len(attempts) < 2:
        return []
    sets = {frozenset(q for _p, q, _x, _m in items) for items in attempts}
    if len(sets) == 1:
        keys = sorted(next(iter(sets)))
        marks = [{q: m for _p, q, _x, m in items} for items in attempts]
    elif len({len(items) for items in attempts}) == 1:
        keys = list(range(len(attempts[0])))
        marks = [dict(enumerate(m for _p, _q, _x, m in sorted(items))) for items in attempts]
    else:
        return []
    if any(len(m) != len(keys) for m in marks):
        return []  # a question drawn twice in one attempt: cannot happen, but never miscount
    return [[m[key] for m in marks] for key in keys]


# -- spreadsheet --------------------------------------------------------------------------------

def _pct(value, digits=1):
    return None if value is None else round(value, digits)


def _duration(seconds):
    if seconds is None:
        return ""
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def _local(value, tz):
    """A stored UTC time in the portal's time zone, naive (Excel has no time zones)."""
    if value is None:
        return None
    return value.replace(tzinfo=dt.timezone.utc).astimezone(tz).replace(tzinfo=None) if tz else value


def results_xlsx(quiz, rows, analysis=None, tz=None):
    """An .xlsx of the results ``rows`` (MemberResult) and, given an Analysis, a second sheet with it.

    Times are written in ``tz`` (a tzinfo; UTC when None) as dd/mm/yyyy hh:mm.
    """
    headers = [_("No."), _("Full name"), _("Unit"), _("Score"), _("Maximum score"), _("Percent"),
               _("Submitted attempts"), _("Attempts in progress"), _("Time used (h:mm:ss)"), _("Last submitted")]
    data = []
    for i, r in enumerate(rows, start=1):
        finished_at = _local(r.last_finished_at, tz)
        data.append([i, r.full_name, r.unit_name, r.score, r.max_score,
                     _pct(100 * r.fraction) if r.fraction is not None else None, r.finished, r.in_progress,
                     _duration(r.seconds), finished_at.strftime("%d/%m/%Y %H:%M") if finished_at else ""])
    sheets = [Sheet(title=_("Results"), headers=headers, rows=data,
                    widths=[6, 30, 32, 9, 9, 9, 11, 11, 13, 18],
                    preamble=[quiz.title, _("Grading method: %(method)s", method=_method_label(quiz))],
                    text_columns=[8, 9])]
    if analysis is not None:
        sheets.append(_analysis_sheet(analysis))
    return xlsx_bytes(sheets, title=quiz.title)


def _method_label(quiz):
    return str(GRADING_METHOD_LABELS.get(quiz.grading_method, quiz.grading_method))


def _analysis_sheet(analysis):
    headers = [_("No."), _("Question no."), _("Question"), _("Attempts"), _("Answered"), _("Facility index (%)"),
               _("Standard deviation (%)"), _("Discrimination index (%)"), _("Reading"), _("Answers chosen")]
    data = []
    for q in analysis.questions:
        readings = [b.label for b in (q.facility_band, q.discrimination_band) if b is not None]
        chosen = "; ".join(f"{o.letter}{' ✓' if o.correct else ''}: {o.count}" for o in q.options)
        data.append([q.number, q.question_id, q.text, q.attempts, q.answered, _pct(q.facility), _pct(q.sd),
                     _pct(q.discrimination), "; ".join(readings), chosen])
    footer = [
        _("From each member's first submitted attempt: %(n)s attempts.", n=analysis.attempts),
        _("Mean score: %(mean)s%%; median: %(median)s%%; standard deviation: %(sd)s%%; "
          "coefficient of internal consistency: %(cic)s%%.",
          mean=_num(analysis.mean), median=_num(analysis.median), sd=_num(analysis.sd), cic=_num(analysis.cic)),
    ]
    return Sheet(title=_("Item analysis"), headers=headers, rows=data, widths=[6, 10, 60, 9, 9, 11, 11, 13, 40, 30],
                 footer=footer)


def _num(value):
    return "—" if value is None else f"{value:.1f}".replace(".", ",")
