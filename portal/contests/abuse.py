"""Signs of abuse in a contest, for the organiser to look at: nothing here acts on its own.

- attempts finished implausibly fast (under FAST_SECONDS_PER_QUESTION a question);
- many registrations from one address (REGISTRATIONS_PER_ADDRESS or more);
- more attempts by one person in a round than the round allows (the engine
  prevents it, so one seen here points at a bug or at tampering).

Starting attempts is also rate-limited (portal/quiz/api.py), which refuses
with 429 rather than flags.
"""

import dataclasses
import operator
from functools import reduce

import peewee as pw

from ..accounts.models import Unit, User
from ..quiz.catalogue import question_count
from ..quiz.models import Attempt, Quiz
from .models import Registration, Round

FAST_SECONDS_PER_QUESTION = 2
REGISTRATIONS_PER_ADDRESS = 5
LIST_LIMIT = 500  # rows shown per flag; the count says how many there are in all


@dataclasses.dataclass
class FastAttempt:
    attempt: Attempt  # with .user and .unit
    round: Round
    questions: int

    @property
    def seconds_per_question(self):
        return self.attempt.time_used_ms / 1000 / self.questions


@dataclasses.dataclass
class CrowdedAddress:
    address: str
    count: int
    first_at: object
    last_at: object
    registrations: list  # Registration rows (with .user), oldest first


@dataclasses.dataclass
class ExcessAttempts:
    round: Round
    user: User
    attempts: int
    allowed: int
    last_attempt_id: int


@dataclasses.dataclass
class Flags:
    fast: list
    fast_total: int
    addresses: list
    excess: list
    seconds_per_question: float
    registrations_per_address: int

    @property
    def total(self):
        return self.fast_total + len(self.addresses) + len(self.excess)


def _rounds(contest):
    rounds = list(Round.select(Round, Quiz).join(Quiz, on=(Round.quiz == Quiz.id))
                  .where(Round.contest == contest.id).order_by(Round.number))
    for round_ in rounds:
        round_.contest = contest
    return rounds


def fast_attempts(contest, seconds_per_question=FAST_SECONDS_PER_QUESTION, limit=LIST_LIMIT, rounds=None):
    """(the fastest finished attempts under the threshold, fastest first, at most ``limit``; how many in all)."""
    rounds = _rounds(contest) if rounds is None else rounds
    by_quiz, conds = {}, []
    for round_ in rounds:
        n = question_count(round_.quiz)
        if n:
            by_quiz[round_.quiz_id] = (round_, n)
            conds.append((Attempt.quiz == round_.quiz_id)
                         & (Attempt.time_used_ms < int(n * seconds_per_question * 1000)))
    if not conds:
        return [], 0
    where = (Attempt.state == "finished") & Attempt.time_used_ms.is_null(False) & reduce(operator.or_, conds)
    total = Attempt.select().where(where).count()
    query = (Attempt.select(Attempt, User, Unit)
             .join(User, on=(Attempt.user == User.id))
             .join(Unit, pw.JOIN.LEFT_OUTER, on=(Attempt.unit == Unit.id))
             .where(where)
             .order_by(Attempt.time_used_ms, Attempt.id)
             .limit(limit))
    found = []
    for attempt in query:
        round_, n = by_quiz[attempt.quiz_id]
        found.append(FastAttempt(attempt, round_, n))
    return found, total


def crowded_addresses(contest, threshold=REGISTRATIONS_PER_ADDRESS):
    """Addresses from which ``threshold`` or more registrations for ``contest`` came, the most first."""
    n = pw.fn.COUNT(Registration.id)
    groups = list(Registration.select(Registration.address, n.alias("n"),
                                      pw.fn.MIN(Registration.created_at).alias("first_at"),
                                      pw.fn.MAX(Registration.created_at).alias("last_at"))
                  .where(Registration.contest == contest.id, Registration.address != "")
                  .group_by(Registration.address)
                  .having(n >= threshold)
                  .order_by(n.desc(), Registration.address)
                  .tuples())
    if not groups:
        return []
    people = {}
    for reg in (Registration.select(Registration, User).join(User, on=(Registration.user == User.id))
                .where(Registration.contest == contest.id, Registration.address.in_([g[0] for g in groups]))
                .order_by(Registration.created_at, Registration.id)):
        people.setdefault(reg.address, []).append(reg)
    return [CrowdedAddress(address, count, first_at, last_at, people.get(address, []))
            for address, count, first_at, last_at in groups]


def excess_attempts(contest, rounds=None):
    """Contestants with more attempts in a round than it allows (should never happen)."""
    rounds = _rounds(contest) if rounds is None else rounds
    limited = {r.quiz_id: r for r in rounds
               if r.quiz.attempts_allowed and not r.quiz.is_practice and not r.quiz.is_survey}
    if not limited:
        return []
    n = pw.fn.COUNT(Attempt.id)
    rows = list(Attempt.select(Attempt.quiz, Attempt.user, n.alias("n"), pw.fn.MAX(Attempt.id).alias("last_id"))
                .join(Quiz, on=(Attempt.quiz == Quiz.id))
                .where(Attempt.quiz.in_(list(limited)), Attempt.user.is_null(False))
                .group_by(Attempt.quiz, Attempt.user, Quiz.attempts_allowed)
                .having(n > Quiz.attempts_allowed)
                .order_by(n.desc())
                .tuples())
    if not rows:
        return []
    users = {u.id: u for u in User.select().where(User.id.in_({r[1] for r in rows}))}
    return [ExcessAttempts(limited[quiz_id], users[user_id], count, limited[quiz_id].quiz.attempts_allowed, last_id)
            for quiz_id, user_id, count, last_id in rows]


def flags(contest, seconds_per_question=FAST_SECONDS_PER_QUESTION, registrations_per_address=REGISTRATIONS_PER_ADDRESS,
          limit=LIST_LIMIT):
    """Every flag of ``contest``."""
    rounds = _rounds(contest)
    fast, fast_total = fast_attempts(contest, seconds_per_question, limit, rounds)
    return Flags(fast=fast, fast_total=fast_total,
                 addresses=crowded_addresses(contest, registrations_per_address),
                 excess=excess_attempts(contest, rounds),
                 seconds_per_question=seconds_per_question,
                 registrations_per_address=registrations_per_address)
