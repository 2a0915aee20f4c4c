"""Taking a quiz: start or resume an attempt, save answers, submit, finalise overdue attempts.

The server owns time and truth (DESIGN.md, "Quiz integrity rules"):

- the deadline is fixed at start, min(start + time limit, the quiz's close);
  answers arriving after it plus ``GRACE`` are refused, and an overdue
  attempt is finalised on its last saved answers (by ``finalise_overdue``
  and whenever it is next started, read or saved);
- the questions and option orders are drawn once, at start, and stored, so
  a reload or another device resumes the same attempt;
- a second start returns the attempt in progress (racing starts meet the
  unique (quiz, user, number) index), a save with a sequence number not
  above the last one applied changes nothing, and finishing is guarded by
  ``WHERE state = 'in_progress'``, so nothing is created or scored twice.

These are the hottest paths of the product: each is a few small queries in
one short transaction (IMMEDIATE on SQLite), with question data from the
per-process cache.
"""

import dataclasses
import datetime as dt
import random

import peewee as pw
from flask_babel import gettext as _

from ..accounts import permissions
from ..db import Prepared, database, execute_prepared, is_sqlite, lock_rows, nfc
from ..errors import Conflict, DomainError, NotFound
from . import cache, grading, review, scoring
from .models import Attempt, AttemptQuestion, Question, Quiz, QuizDraw, QuizQuestion, SurveyResponse
from .questions import MULTIPLE_KINDS, SURVEY_KINDS

GRACE = scoring.GRACE
MAX_TEXT_ANSWER = 5000
MAX_PREDICTION = 10 ** 9
NOT_SENT = object()  # a save or submit that says nothing about the prediction


def clean_prediction(value):
    """The whole number a member typed for the prediction prompt ("1.250", " 1250 "), None when left empty.

    Refused with a message naming the field: not a whole number, negative, or absurdly large.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        value = None
    elif isinstance(value, str):
        text = value.strip().replace(".", "").replace(",", "").replace(" ", "")
        value = int(text) if text.isascii() and text.isdigit() else None
    elif isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int):
        raise DomainError(_("Prediction: enter a whole number, for example 1250."), field="prediction")
    if not 0 <= value <= MAX_PREDICTION:
        raise DomainError(_("Prediction: enter a number from 0 to %(max)s.",
                            max=f"{MAX_PREDICTION:,}".replace(",", ".")), field="prediction")
    return value


# -- start or resume ----------------------------------------------------------------------------

def deadline_for(quiz, started_at):
    """min(start + time limit, close), None when the quiz has neither."""
    ends = []
    if quiz.time_limit_seconds:
        ends.append(started_at + dt.timedelta(seconds=quiz.time_limit_seconds))
    if quiz.closes_at is not None:
        ends.append(quiz.closes_at)
    return min(ends) if ends else None


def _check_may_take(quiz, user):
    if user is None:
        raise DomainError(_("Please log in to continue."))
    if not quiz.is_published:
        raise DomainError(_("This quiz is not open now."))
    if not permissions.can(user, "quiz.take", quiz):
        raise DomainError(_("This quiz is not open to your unit."))


_LATEST = Prepared(lambda quiz_id, user_id: Attempt.select().where(Attempt.quiz == quiz_id, Attempt.user == user_id)
                   .order_by(Attempt.number.desc()).limit(1))


def _latest(quiz, user):
    """The user's last attempt at ``quiz``: the one in progress if any (attempts start only when none is)."""
    latest = _LATEST.first(quiz.id, user.id)
    if latest is not None:
        latest.quiz = quiz
    return latest


def _check_may_start(quiz, user, latest, now):
    if not quiz.is_open(now):
        if quiz.opens_at is not None and now < quiz.opens_at:
            raise DomainError(_("This quiz is not open yet."))
        raise DomainError(_("This quiz has closed."))
    if quiz.is_survey:
        if SurveyResponse.select().where(SurveyResponse.quiz == quiz.id, SurveyResponse.user == user.id).exists():
            raise DomainError(_("You have already answered this survey."))
    elif not quiz.is_practice and quiz.attempts_allowed and latest is not None \
            and latest.number >= quiz.attempts_allowed:
        raise DomainError(_("You have used all %(n)s attempts allowed at this quiz.", n=quiz.attempts_allowed))


def start_attempt(quiz, user, now, rng=None):
    """Return the user's attempt in progress at ``quiz``, or start a new one.

    Refused (DomainError) when the quiz is not open at ``now``, is not aimed
    at the user's unit, or its attempts are used up (practice quizzes have no
    limit; a survey takes one response per member). An overdue attempt is
    finalised first.
    """
    _check_may_take(quiz, user)
    latest = _latest(quiz, user)
    if latest is not None and latest.state == "in_progress":
        if not scoring.finalise_if_overdue(latest, now):
            return latest
    for _try in range(3):
        try:
            with database.atomic():
                # Read again inside the (IMMEDIATE) transaction: another request may have won.
                latest = _latest(quiz, user)
                if latest is not None and latest.state == "in_progress":
                    return latest
                _check_may_start(quiz, user, latest, now)
                # Seeded from os.urandom: nobody can predict a draw.
                attempt, drawn = _create(quiz, user, (latest.number if latest else 0) + 1, now,
                                         rng or random.Random())
            cache.remember(drawn)
            return attempt
        except pw.IntegrityError:
            # PostgreSQL: a concurrent start inserted the same number first; its attempt is ours.
            continue
    raise Conflict(_("The attempt could not be started. Try again."))


def _create(quiz, user, number, now, rng):
    ids = draw(quiz, rng)
    # An organiser's edit in place of an unused question waits until this attempt has drawn it (and then
    # makes a new version), or this waits for the edit and draws the edited question.
    lock_rows(Question.select(Question.id).where(Question.id.in_(ids)), "FOR SHARE")
    questions = cache.load(ids, drawn=False)  # remembered once the attempt is committed
    attempt = Attempt.create(quiz=quiz, user=user, number=number, unit=user.unit_id, started_at=now,
                             deadline_at=deadline_for(quiz, now), state="in_progress")
    _insert_questions([(attempt.id, position, qid, ",".join(map(str, option_order(quiz, questions[qid], rng))))
                       for position, qid in enumerate(ids, start=1)])
    return attempt, questions


def _insert_questions(rows):
    """INSERT the drawn (attempt, position, question, option order) rows in one statement.

    Written out by hand because this is the hottest write of the product:
    Peewee takes milliseconds to build a 30-row insert_many, the database
    a tenth of that.
    """
    db = database.obj
    aq = AttemptQuestion
    columns = [f.column_name for f in (aq.attempt, aq.position, aq.question, aq.option_order, aq.answer,
                                       aq.answer_text)]
    placeholders = "(" + ", ".join([db.param] * len(columns)) + ")"
    sql = "INSERT INTO {} ({}) VALUES {}".format(aq._meta.table_name.join(db.quote),
                                                 ", ".join(c.join(db.quote) for c in columns),
                                                 ", ".join([placeholders] * len(rows)))
    db.execute_sql(sql, [value for row in rows for value in (*row, "", "")])


def option_order(quiz, question, rng):
    """The option ids of ``question`` in the order this attempt shows them."""
    ids = question.option_ids
    if quiz.shuffle_options and question.kind != "truefalse":  # Đúng before Sai, always
        rng.shuffle(ids)
    return ids


_FIXED = Prepared(lambda mark: QuizQuestion.select(QuizQuestion.question).where(QuizQuestion.quiz == mark)
                  .order_by(QuizQuestion.position, QuizQuestion.id))
_DRAWS = Prepared(lambda mark: QuizDraw.select().where(QuizDraw.quiz == mark).order_by(QuizDraw.position, QuizDraw.id))


def draw(quiz, rng):
    """The question ids of a new attempt, in the order shown.

    A fixed list gives its questions; otherwise each draw takes ``count``
    random active questions of its topic (of its difficulty, if set; draws
    of any difficulty take what the others leave). Surveys may draw
    survey questions (free text, choices with no right answer), quizzes only graded ones.
    """
    fixed = [qid for (qid,) in _FIXED.tuples(quiz.id)]
    if fixed:
        if quiz.shuffle_questions:
            rng.shuffle(fixed)
        return fixed
    draws = _DRAWS.objects(quiz.id)
    if not draws:
        raise DomainError(_("This quiz has no questions yet. Tell its organisers."))
    query = (Question.select(Question.id, Question.topic, Question.difficulty)
             .where(Question.topic.in_({d.topic_id for d in draws}),
                    Question.is_active == True)  # noqa: E712 (a peewee expression)
             .order_by(Question.id))
    if not quiz.is_survey:
        query = query.where(Question.kind.not_in(SURVEY_KINDS))
    pool = {}
    for qid, topic_id, difficulty in query.tuples():
        pool.setdefault(topic_id, []).append((qid, difficulty))
    taken, picked = set(), {}
    for i in sorted(range(len(draws)), key=lambda i: draws[i].difficulty is None):
        d = draws[i]
        candidates = [qid for qid, difficulty in pool.get(d.topic_id, [])
                      if qid not in taken and (d.difficulty is None or difficulty == d.difficulty)]
        if len(candidates) < d.count:
            raise DomainError(_("This quiz cannot be started: its question bank has too few questions. "
                                "Tell its organisers."))
        chosen = rng.sample(candidates, d.count)
        if not quiz.shuffle_questions:
            chosen.sort()
        taken.update(chosen)
        picked[i] = chosen
    ids = [qid for i in range(len(draws)) for qid in picked[i]]
    if quiz.shuffle_questions:
        rng.shuffle(ids)
    return ids


# -- save ---------------------------------------------------------------------------------------

@dataclasses.dataclass
class Saved:
    """The outcome of a save: whether it was applied, the last sequence applied, the answers now stored."""

    applied: bool
    seq: int
    answers: dict


def _check_owner(attempt, user):
    if user is None or attempt.user_id is None or attempt.user_id != user.id:
        raise NotFound(_("Not found."))


def _time_up(attempt, now):
    """Refuse an overdue attempt, finalising it on its saved answers."""
    if scoring.is_overdue(attempt, now):
        scoring.finish(attempt, now)
        raise Conflict(_("Time is up: answers sent after the deadline are not saved. "
                         "Your attempt was submitted with the answers saved before it."))


def _claim(compare, sent):
    """UPDATE attempt SET last_seq [, prediction, when ``sent``] WHERE it is in progress and last_seq ``compare``."""
    if sent:
        return Prepared(lambda seq, prediction, attempt_id, last: Attempt.update(
            {Attempt.last_seq: seq, Attempt.prediction: prediction}).where(
            Attempt.id == attempt_id, Attempt.state == "in_progress", compare(Attempt.last_seq, last)))
    return Prepared(lambda seq, attempt_id, last: Attempt.update({Attempt.last_seq: seq}).where(
        Attempt.id == attempt_id, Attempt.state == "in_progress", compare(Attempt.last_seq, last)))


# An autosave's statements, built once (they run inside its write transaction): keyed by "prediction sent".
_CLAIM_FROM = {sent: _claim(lambda column, value: column == value, sent) for sent in (False, True)}
_CLAIM_BELOW = {sent: _claim(lambda column, value: column < value, sent) for sent in (False, True)}
_SET_ANSWER = {  # a practice question checked meanwhile (mark set) keeps its answer
    name: Prepared(lambda value, answered_at, row_id, column=getattr(AttemptQuestion, name): (
        AttemptQuestion.update({column: value, AttemptQuestion.answered_at: answered_at})
        .where(AttemptQuestion.id == row_id, AttemptQuestion.mark.is_null())))
    for name in ("answer", "answer_text")}


_ONE_STATEMENT = {}  # (prediction sent, the changed columns) -> the SQL of _claim_and_store
_ID = f'"{AttemptQuestion.id.column_name}"'


def _claim_and_store(values, sent, read_seq, changes, now):
    """PostgreSQL: claim the sequence number from ``read_seq`` and store the changes in one statement (its
    sub-statements commit together or not at all); the ids of the rows stored, or None when the claim failed.

    The same UPDATEs as the prepared ones above, each change's only if the claim returned its row.
    """
    names = tuple(name for _row, name, _value in changes)
    sql = _ONE_STATEMENT.get((sent, names))
    if sql is None:
        if len(_ONE_STATEMENT) > 1000:  # surveys mixing text and choices can make many shapes
            _ONE_STATEMENT.clear()
        claim_sql, _params = _CLAIM_FROM[sent].statement()
        parts = [f"claim AS ({claim_sql} RETURNING 1)"]
        for i, name in enumerate(names):
            update_sql, _params = _SET_ANSWER[name].statement()
            parts.append(f"c{i} AS ({update_sql} AND EXISTS (SELECT 1 FROM claim) RETURNING {_ID})")
        stored = " UNION ALL ".join(f"SELECT {_ID} FROM c{i}" for i in range(len(names))) or "SELECT 0 WHERE false"
        sql = _ONE_STATEMENT[(sent, names)] = (
            f"WITH {', '.join(parts)} SELECT (SELECT count(*) FROM claim), ARRAY({stored})")
    params = list(_CLAIM_FROM[sent].params(*values, read_seq))
    for row, name, value in changes:
        params.extend(_SET_ANSWER[name].params(value, now if value else None, row.id))
    [(claimed, ids)] = execute_prepared(sql, params).fetchall()
    return set(ids) if claimed else None


def save_answers(attempt, user, answers, seq, now, prediction=NOT_SENT, saved=None):
    """Store ``answers`` {position: [option ids as shown] or text} when ``seq`` is above the last one applied.

    A lower or equal ``seq`` (a stale tab, a replayed request) changes nothing
    and returns what is stored. Refused: a finished attempt, an attempt past
    its deadline plus the grace, an option that is not the question's. The
    answer to the quiz's prediction prompt, when sent, is saved the same way.
    ``saved``: the attempt's rows (``scoring.rows``) when the caller read them in this request.
    """
    _check_owner(attempt, user)
    if attempt.is_finished:
        raise Conflict(_("This attempt has been submitted; answers can no longer be changed."))
    _time_up(attempt, now)
    if prediction is not NOT_SENT:
        prediction = clean_prediction(prediction) if attempt.quiz.prediction_prompt else NOT_SENT
    applied = False
    # Read and check before taking the write lock: the lock is then held for a few UPDATEs only.
    read_seq = attempt.last_seq
    if saved is None:
        saved = scoring.rows(attempt)
    questions = cache.load([r.question_id for r in saved])
    shown = review.answers(saved, questions)  # as the page sends them: most of a save's answers are unchanged
    if seq > read_seq:
        changes = _changes(saved, questions, answers, shown)  # a bad answer refuses the whole save here
        sent = prediction is not NOT_SENT
        values = (seq, prediction, attempt.id) if sent else (seq, attempt.id)
        stored = None
        if not is_sqlite():
            # PostgreSQL: the claim and the changed answers in one statement, one round trip instead of five.
            stored = _claim_and_store(values, sent, read_seq, changes, now)
            applied = stored is not None
        if not applied:
            with database.atomic():
                # Claim the sequence number first: of two concurrent saves the lower one then changes nothing.
                # Claimed from the number read above, the rows read above are current and the changes exact;
                # if another save landed in between, claim from any lower number and read the rows again.
                applied = bool(_CLAIM_FROM[sent].execute(*values, read_seq))
                if not applied and _CLAIM_BELOW[sent].execute(*values, seq):
                    applied = True
                    saved = scoring.rows(attempt)
                    shown = review.answers(saved, questions)
                    changes = _changes(saved, questions, answers, shown)
                if applied:
                    stored = {row.id for row, name, value in changes
                              if _SET_ANSWER[name].execute(value, now if value else None, row.id)}
        for row, name, value in changes if applied else ():
            if row.id in stored:  # not a practice question checked meanwhile
                setattr(row, name, value)
                row.answered_at = now if value else None
                shown[row.position] = review.answer_of(row, questions[row.question_id])
        if not applied:  # another save went first: answer with what is stored now
            saved = scoring.rows(attempt)
            shown = review.answers(saved, questions)
    if applied:
        attempt.last_seq = seq
        if prediction is not NOT_SENT:
            attempt.prediction = prediction
    else:
        scoring.refresh(attempt)
        if attempt.is_finished:
            raise Conflict(_("This attempt has been submitted; answers can no longer be changed."))
    return Saved(applied, attempt.last_seq, shown)


def _changes(saved, questions, answers, shown):
    """(row, column, new value) for each answer that differs from the stored one; DomainError on a bad answer.

    ``shown``: {position: the stored answer as the page sends it}; an answer sent exactly so is unchanged.
    """
    by_position = {row.position: row for row in saved}
    changes = []
    for key, value in answers.items():
        position = int(key) if str(key).isdigit() else None
        row = by_position.get(position)
        if row is None:
            raise DomainError(_("The attempt has no question %(n)s.", n=str(key)[:20]), field="answers")
        if value == shown[position]:
            continue
        question = questions[row.question_id]
        if row.mark is not None:
            continue  # a checked practice question: its answer is locked (the reply shows the stored one)
        if question.kind == "text":
            if not isinstance(value, str):
                raise DomainError(_("Question %(n)s: write the answer as text.", n=position), field="answers")
            text = nfc(value)
            if "\x00" in text:  # PostgreSQL cannot store it in text (and no keyboard types it)
                raise DomainError(_("Question %(n)s: the answer holds a character that cannot be saved.",
                                    n=position), field="answers")
            if len(text) > MAX_TEXT_ANSWER:
                raise DomainError(_("Question %(n)s: at most %(max)s characters.", n=position,
                                    max=f"{MAX_TEXT_ANSWER:,}".replace(",", ".")), field="answers")
            if text != row.answer_text:
                changes.append((row, "answer_text", text))
            continue
        stored = _chosen(row, question, value, position)
        if stored != row.answer:
            changes.append((row, "answer", stored))
    return changes


def _chosen(row, question, value, position):
    """The stored form ("9,11", in the order shown) of the option tokens ``value``."""
    if value in ("", None):
        value = []
    if not isinstance(value, (list, tuple)):
        raise DomainError(_("Question %(n)s: choose among its options.", n=position), field="answers")
    order = scoring.parse_ids(row.option_order)
    places = set()
    for token in value:
        place = _place(token, len(order))
        if place is None:
            raise DomainError(_("Question %(n)s: %(option)s is not one of its options.",
                                n=position, option=str(token)[:20]), field="answers")
        places.add(place)
    if len(places) > 1 and question.kind not in MULTIPLE_KINDS:
        raise DomainError(_("Question %(n)s: choose only one option.", n=position), field="answers")
    return ",".join(str(order[p]) for p in sorted(places))


def _place(token, count):
    token = str(token)
    if not token.isdigit() or not token.isascii() or (len(token) > 1 and token[0] == "0"):
        return None
    place = int(token)
    return place if place < count else None


# -- submit and finalise ------------------------------------------------------------------------

def submit_attempt(attempt, user, now, prediction=NOT_SENT):
    """Grade the saved answers and finish the attempt; submitting again returns it unchanged.

    After the deadline plus the grace the attempt still finishes, on the
    answers saved in time (late ones were never stored); a prediction sent
    with the submission counts only while answers are still taken.
    """
    _check_owner(attempt, user)
    if not attempt.is_finished:
        value = scoring.KEEP
        if prediction is not NOT_SENT and attempt.quiz.prediction_prompt and not scoring.is_overdue(attempt, now):
            value = clean_prediction(prediction)
        scoring.finish(attempt, now, prediction=value)
    return attempt


def finalise_overdue(now):
    """Finish every attempt in progress past its deadline plus the grace; return how many (a periodic job)."""
    overdue = (Attempt.select(Attempt, Quiz).join(Quiz)
               .where(Attempt.state == "in_progress", Attempt.deadline_at.is_null(False),
                      Attempt.deadline_at < now - GRACE).order_by(Attempt.id))
    return sum(1 for attempt in overdue if scoring.finish(attempt, now))


def finalise_if_overdue(attempt, now):
    return scoring.finalise_if_overdue(attempt, now)


# -- practice and results -----------------------------------------------------------------------

def check_answer(attempt, position, now=None):
    """Practice quizzes: whether the saved answer to question ``position`` is right, and why."""
    quiz = attempt.quiz
    if not quiz.is_practice:
        raise DomainError(_("Answers are checked one by one only in practice quizzes."))
    if attempt.is_finished:
        raise Conflict(_("This attempt has been submitted; answers can no longer be changed."))
    if now is not None:
        _time_up(attempt, now)
    with database.atomic():  # read the answer and lock it together
        row = (AttemptQuestion.select()
               .where(AttemptQuestion.attempt == attempt.id, AttemptQuestion.position == position).first())
        if row is None:
            raise NotFound(_("The attempt has no question %(n)s.", n=position))
        if not row.answer:
            raise DomainError(_("Answer question %(n)s first.", n=position))
        question = cache.load([row.question_id])[row.question_id]
        if row.mark is not None:
            return review.practice_feedback(row, question)
        # A mark while in progress locks the answer (as Moodle's immediate feedback does): the member
        # cannot look up the right option and then change to it. Submitting grades the same answer again.
        row.mark = grading.mark_question(question, scoring.parse_ids(row.answer))
        AttemptQuestion.update(mark=row.mark).where(AttemptQuestion.id == row.id,
                                                    AttemptQuestion.mark.is_null()).execute()
    return review.practice_feedback(row, question)


def best_result(quiz, user, attempts=None):
    """The user's result at ``quiz`` under its grading method (grading.Result), None before any finished attempt;
    ``attempts``: all the user's attempts at ``quiz`` when the caller read them (``catalogue.attempts_at``)."""
    if quiz.is_survey:
        return None
    if attempts is None:
        attempts = (Attempt.select(Attempt.id, Attempt.number, Attempt.score, Attempt.max_score, Attempt.state)
                    .where(Attempt.quiz == quiz.id, Attempt.user == user.id, Attempt.state == "finished"))
    finished = [grading.Finished(a.id, a.number, a.score, a.max_score) for a in attempts if a.state == "finished"]
    return grading.combine(quiz.grading_method, finished)
