"""Ranking a round and a contest, in the database.

The rules are an ordered list of keys, chosen per contest; the default is
the common Vietnamese rule:

    score       the counted attempt's score, as a share of its maximum (high first)
    prediction  distance of the prediction from the true value (small first; none last)
    time        time used (short first)
    submitted   when it was submitted (early first)

Contestants equal on every key share the rank and are flagged ``tied``: the
organiser decides between them, the portal never picks a hidden order.

``rank_entries`` is the rule as a pure function, the specification;
``rank_round`` and ``rank_contest`` do the same with window functions inside
the database (no contestant rows pass through Python), and the tests check
that both agree.
"""

import dataclasses
import datetime as dt

import peewee as pw
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..accounts.models import utcnow
from ..db import database
from ..errors import Conflict
from ..quiz.models import Attempt
from .models import Contest, ContestEntry, Registration, Round, RoundEntry

DEFAULT_RULES = ("score", "prediction", "time", "submitted")
RULE_LABELS = {
    "score": _l("Score (high first)"),
    "prediction": _l("Prediction closest to the true value"),
    "time": _l("Time used (short first)"),
    "submitted": _l("Submitted earliest"),
}
PREDICTION_LABELS = {
    "perfect": _l("How many contestants will answer every question right"),
    "participants": _l("How many contestants will take part"),
}


def clean_rules(rules):
    """The rule keys in order, without unknown or repeated ones; the score always comes first."""
    keys = [k for k in (rules.split(",") if isinstance(rules, str) else rules) if k in DEFAULT_RULES]
    seen = ["score"]
    for key in keys:
        if key not in seen:
            seen.append(key)
    return tuple(seen)


# -- the rule as a pure function ---------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Entry:
    """What ranking needs of a contestant's counted attempt."""

    user_id: int
    score: float
    max_score: float
    finished_at: dt.datetime
    time_used_ms: int = None
    prediction: int = None

    @property
    def fraction(self):
        return self.score / self.max_score if self.max_score > 0 else 0.0


def prediction_truth(kind, entries):
    """The true value a round's prediction question asks for, from its counted entries."""
    if kind == "perfect":
        return sum(1 for e in entries if e.max_score > 0 and e.score >= e.max_score)
    if kind == "participants":
        return len(entries)
    return None


def sort_key(entry, rules, truth=None):
    key = []
    for rule in rules:
        if rule == "score":
            key.append(-entry.fraction)
        elif rule == "prediction":
            if truth is None:
                continue
            missing = entry.prediction is None
            key += [missing, 0 if missing else abs(entry.prediction - truth)]
        elif rule == "time":
            key += [entry.time_used_ms is None, entry.time_used_ms or 0]
        elif rule == "submitted":
            key.append(entry.finished_at)
    return tuple(key)


def rank_entries(entries, rules=DEFAULT_RULES, truth=None):
    """[(entry, rank, tied)] best first: competition ranking ("1, 2, 2, 4"), ties flagged."""
    keyed = sorted(((sort_key(e, rules, truth), e) for e in entries), key=lambda pair: pair[0])
    ranked, i = [], 0
    while i < len(keyed):
        j = i
        while j + 1 < len(keyed) and keyed[j + 1][0] == keyed[i][0]:
            j += 1
        for k in range(i, j + 1):
            ranked.append((keyed[k][1], i + 1, j > i))
        i = j + 1
    return ranked


# -- in the database -------------------------------------------------------------------------

# Which attempt counts, by the round quiz's grading method, as one number per attempt whose MAX
# picks it: GROUP BY user then streams over the (quiz, user, number) index with no sort, and the
# attempt's number is read back from the key. "highest": the best score, then the earliest of
# the best (scores compared to 1e-9 of the maximum; numbers below a million).
_NUMBERS = 1_000_000


def _counting_key(method):
    """(key expression over Attempt, function from the MAX(key) column to the counted attempt's number)."""
    if method == "first":
        return pw.Value(0) - Attempt.number, lambda key: pw.Value(0) - key  # (unary minus means DESC to peewee)
    if method == "last":
        return Attempt.number, lambda key: key
    frac = pw.Cast(pw.fn.ROUND(_fraction(Attempt.score, Attempt.max_score) * 1e9), "BIGINT")
    return frac * _NUMBERS + (_NUMBERS - 1 - Attempt.number), lambda key: (_NUMBERS - 1) - (key - key / _NUMBERS * _NUMBERS)


def _fraction(score, max_score):
    return pw.Case(None, [(max_score > 0, score / max_score)], 0.0)


def _null_last(expr):
    return pw.Case(None, [(expr.is_null(), 1)], 0)


def _order(rules, score, max_score, distance, time_used_ms, finished_at):
    """ORDER BY terms for ``rules`` over the given columns (``distance`` None: no prediction key)."""
    terms = []
    for rule in rules:
        if rule == "score":
            terms.append(_fraction(score, max_score).desc())
        elif rule == "prediction" and distance is not None:
            terms += [_null_last(distance).asc(), distance.asc()]
        elif rule == "time":
            terms += [_null_last(time_used_ms).asc(), time_used_ms.asc()]
        elif rule == "submitted":
            terms.append(finished_at.asc())
    return terms


def _ranked(source, columns, order):
    """SELECT ``columns``, rank, tied FROM ``source``: RANK() over ``order``; tied when another row shares the rank.

    The tie flag counts each rank's rows over the ranked rows (they arrive sorted by rank): a cheap
    second window, where counting peers by every key would sort the round again.
    """
    inner = pw.Select(from_list=[source], columns=[
        *(column.alias(f"v{i}") for i, column in enumerate(columns)),
        pw.fn.RANK().over(order_by=order).alias("rank")]).alias("k")
    k = inner.c
    return pw.Select(from_list=[inner], columns=[
        *(getattr(k, f"v{i}") for i in range(len(columns))), k.rank,
        pw.fn.COUNT(pw.SQL("*")).over(partition_by=[k.rank]) > 1]).where(pw.SQL("1 = 1"))  # SQLite: see upsert


def rank_round(round_, now=None):
    """Rebuild the round's ranking from its finished attempts; return the number of contestants.

    One INSERT … SELECT: the counted attempt of each contestant (a GROUP BY
    over the attempts index, see ``_counting_key``), the prediction's true
    value (a window over them all), the distances, then RANK() by the
    contest's rules, written as an upsert so that ranking again
    updates rows in place. A confirmed round is frozen: ranking it again is refused.
    """
    if round_.confirmed_at is not None:
        raise Conflict(_("The results of this round are confirmed; they can no longer be recomputed."))
    quiz = round_.quiz
    contest = round_.contest
    rules = clean_rules(contest.ranking_rules)
    key, number_of = _counting_key(quiz.grading_method)
    finished = (Attempt.quiz == quiz.id, Attempt.state == "finished", Attempt.user.is_null(False),
                Attempt.score.is_null(False), Attempt.max_score.is_null(False))
    per_user = (Attempt
                .select(Attempt.user.alias("user_id"), pw.fn.MAX(key).alias("k"), pw.fn.COUNT(Attempt.id).alias("n"))
                .where(*finished).group_by(Attempt.user).alias("g"))
    g = per_user.c
    a = Attempt.alias("a")
    counted = (a.select(a.id.alias("attempt_id"), a.user.alias("user_id"), a.unit.alias("unit_id"), a.score,
                        a.max_score, a.time_used_ms, a.finished_at, a.prediction, g.n)
               .from_(per_user)
               .join(a, on=(a.quiz == quiz.id) & (a.user == g.user_id) & (a.number == number_of(g.k)))
               .alias("c"))
    c = counted.c
    if round_.prediction == "perfect":
        perfect = pw.Case(None, [((c.max_score > 0) & (c.score >= c.max_score), 1)], 0)
        truth = pw.fn.SUM(perfect).over()
    elif round_.prediction == "participants":
        truth = pw.fn.COUNT(pw.SQL("*")).over()
    else:
        truth = None
    reg = Registration.alias("r")
    columns = [c.user_id, c.attempt_id, pw.fn.COALESCE(c.unit_id, reg.unit).alias("unit_id"), c.score, c.max_score,
               c.time_used_ms, c.finished_at, c.prediction, c.n]
    if truth is not None:
        columns.append(truth.alias("truth"))
    best = (pw.Select(from_list=[counted], columns=columns)
            .join(reg, pw.JOIN.LEFT_OUTER, on=(reg.contest == contest.id) & (reg.user == c.user_id))
            .alias("b"))
    b = best.c
    distance = pw.Case(None, [(b.prediction.is_null(), None)], pw.fn.ABS(b.prediction - b.truth)) \
        if truth is not None else None
    order = _order(rules, b.score, b.max_score, distance, b.time_used_ms, b.finished_at)
    rows = _ranked(best, [
        pw.Value(round_.id), b.user_id, b.attempt_id, b.unit_id, b.score, b.max_score, b.time_used_ms,
        b.finished_at, b.prediction, distance if distance is not None else pw.Value(None), b.n], order)
    fields = [RoundEntry.round, RoundEntry.user, RoundEntry.attempt, RoundEntry.unit, RoundEntry.score,
              RoundEntry.max_score, RoundEntry.time_used_ms, RoundEntry.finished_at, RoundEntry.prediction,
              RoundEntry.distance, RoundEntry.attempts, RoundEntry.rank, RoundEntry.tied]
    contestants = Attempt.select(Attempt.user).where(*finished)
    with database.atomic():
        _sort_memory()
        # Re-ranking (the statistics do it every minute of a live round) updates rows in place: no
        # index churn, and PostgreSQL skips its foreign-key checks where the keys did not change.
        count = (RoundEntry.insert_from(rows, fields=fields)
                 .on_conflict(conflict_target=[RoundEntry.round, RoundEntry.user], preserve=fields[2:])
                 .as_rowcount().execute())
        entries, perfect = _entry_counts(round_)
        if entries > (count or 0):
            # Someone's finished attempts are gone (e.g. the account was removed from the contest).
            RoundEntry.delete().where(RoundEntry.round == round_.id, RoundEntry.user.not_in(contestants)).execute()
            entries, perfect = _entry_counts(round_)
        value = {"participants": entries, "perfect": perfect}.get(round_.prediction)
        Round.update(prediction_truth=value, ranked_at=now or utcnow()).where(Round.id == round_.id).execute()
    round_.prediction_truth, round_.ranked_at = value, now or utcnow()
    return count or 0


def _sort_memory():
    """PostgreSQL: let this transaction's sorts of a whole round stay in memory (the default spills to disk)."""
    if isinstance(database.obj, pw.PostgresqlDatabase):
        database.execute_sql("SET LOCAL work_mem = '64MB'")


def _entry_counts(round_):
    """(entries, entries with a perfect score) of the round, in one pass."""
    e = RoundEntry
    perfect = pw.fn.SUM(pw.Case(None, [((e.max_score > 0) & (e.score >= e.max_score), 1)], 0))
    entries, perfect = e.select(pw.fn.COUNT(e.id), perfect).where(e.round == round_.id).tuples().get()
    return entries, int(perfect or 0)


def rank_contest(contest, now=None):
    """Rebuild the contest-wide ranking from its rounds' entries (sum or average of the rounds' scores)."""
    rounds = [r.id for r in Round.select(Round.id).where(Round.contest == contest.id)]
    with database.atomic():
        _sort_memory()
        ContestEntry.delete().where(ContestEntry.contest == contest.id).execute()
        if not rounds:
            return 0
        e = RoundEntry
        latest = RoundEntry.alias("l")
        unit_of_latest = (latest.select(latest.unit)
                          .where(latest.user == e.user, latest.round.in_(rounds))
                          .order_by(latest.finished_at.desc(), latest.id.desc()).limit(1))
        total = pw.fn.AVG(e.score) if contest.aggregate == "average" else pw.fn.SUM(e.score)
        totals = (e.select(e.user.alias("user_id"), unit_of_latest.alias("unit_id"), total.alias("total"),
                           pw.fn.COUNT(e.id).alias("rounds"), pw.fn.SUM(e.time_used_ms).alias("time_used_ms"),
                           pw.fn.MAX(e.finished_at).alias("last_finished_at"))
                  .where(e.round.in_(rounds)).group_by(e.user).alias("t"))
        t = totals.c
        order = [t.total.desc(), _null_last(t.time_used_ms).asc(), t.time_used_ms.asc(), t.last_finished_at.asc()]
        rows = _ranked(totals, [
            pw.Value(contest.id), t.user_id, t.unit_id, t.total, t.rounds, t.time_used_ms, t.last_finished_at], order)
        count = (ContestEntry.insert_from(rows, fields=[
            ContestEntry.contest, ContestEntry.user, ContestEntry.unit, ContestEntry.total, ContestEntry.rounds,
            ContestEntry.time_used_ms, ContestEntry.last_finished_at, ContestEntry.rank,
            ContestEntry.tied]).as_rowcount().execute())
    return count or 0


def leaderboard(round_, limit=None, offset=0):
    """The round's entries in rank order (with user and unit)."""
    from ..accounts.models import Unit, User

    query = (RoundEntry.select(RoundEntry, User, Unit)
             .join(User, on=(RoundEntry.user == User.id))
             .switch(RoundEntry).join(Unit, pw.JOIN.LEFT_OUTER, on=(RoundEntry.unit == Unit.id))
             .where(RoundEntry.round == round_.id)
             .order_by(RoundEntry.rank, User.full_name, RoundEntry.id))
    if limit is not None:
        query = query.limit(limit).offset(offset)
    return query


def contest_rules(contest):
    return clean_rules(contest.ranking_rules if isinstance(contest, Contest) else contest)
