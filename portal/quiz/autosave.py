"""PostgreSQL: an autosave in one statement, the session check included.

Autosaves are most of a contest's requests, and on PostgreSQL each round trip costs the app and the server
more than the rows it moves. The usual save is two: the member with the attempt and its rows (the session
check), then the claim of the sequence number with the changed answers (``engine.save_answers``). Here one
statement checks the session (the account's token, active, no password to change), claims the number for
an attempt of the member's that is in progress and not past its deadline plus the grace, checks every
answer sent against the attempt's own rows and questions, and stores those that changed.

It only ever does what the usual save would do. When it cannot (a stale number, a finished or overdue
attempt, another member's, a bad answer, a prediction the quiz may not take), it changes nothing and the
request goes the usual way, which gives the reason. quiz.js sends only the answers changed since the last
save the server took, so the statement checks and stores one or two answers, not the whole attempt.
"""

from ..accounts.models import User
from ..db import Prepared, execute_prepared, is_sqlite, nfc
from ..errors import DomainError
from .engine import MAX_TEXT_ANSWER, NOT_SENT, clean_prediction
from .questions import MULTIPLE_KINDS
from .scoring import GRACE

_USER = Prepared(lambda user_id: User.select(User).where(User.id == user_id))
_MOST_TOKENS = 4  # digits of an option's place: more is no option (the usual save says so)
_MOST_POSITION = 32_767  # a question's place is a smallint: a larger one is no question of the attempt

# The answers sent, one row each (one answer, as most saves carry, as plain values: the plan made for any
# values is then as good as one made for the values at hand, and the server keeps it instead of planning
# each save anew): the place's number, the option places as "0,2" (None for a text), the text.
# Each joined with the attempt's row at that place and its question; ``places`` sorted and without repeats.
_GIVEN = """given AS MATERIALIZED (
  SELECT g."position", g."tokens", g."text", aq."id" AS "row_id", aq."mark",
         (SELECT q."kind" FROM "question" AS q WHERE q."id" = aq."question_id") AS "kind",
         string_to_array(aq."option_order", ',') AS "shown",
         CASE WHEN g."tokens" IS NOT NULL THEN ARRAY(
           SELECT DISTINCT CAST(t AS integer) FROM unnest(string_to_array(g."tokens", ',')) AS t ORDER BY 1) END
           AS "places"
  FROM {answers} AS g("position", "tokens", "text")
  LEFT JOIN LATERAL (SELECT r."id", r."mark", r."question_id", r."option_order" FROM "attempt_question" AS r
                     WHERE r."attempt_id" = CAST(%s AS integer) AND r."position" = g."position") AS aq ON true)"""

# Each answer as it would be stored ("9,11": the option ids in the order shown) and whether the usual save
# would take it: the attempt has that place, and either a practice check locked the answer (kept as it is)
# or the answer fits the question (a text for a text question; places among its options, one unless the
# question takes several).
_CHECKED = f"""checked AS (
  SELECT "row_id", "position", "tokens" IS NULL AS "is_text", "text",
         CASE WHEN "tokens" IS NOT NULL THEN COALESCE(
           (SELECT string_agg("shown"[p + 1], ',' ORDER BY p) FROM unnest("places") AS p), '') END AS "answer",
         "row_id" IS NOT NULL AND ("mark" IS NOT NULL OR CASE WHEN "tokens" IS NULL THEN "kind" = 'text' ELSE
           "kind" <> 'text' AND COALESCE("places"[cardinality("places")], -1) < cardinality("shown")
           AND (cardinality("places") <= 1 OR "kind" IN ({", ".join(f"'{k}'" for k in MULTIPLE_KINDS)})) END)
           AS "valid"
  FROM given)"""

_SESSION = """EXISTS (SELECT 1 FROM "user" AS u WHERE u."id" = CAST(%s AS integer)
    AND u."session_token" = CAST(%s AS text) AND u."is_active" AND NOT u."must_change_password")"""

_CLAIM = """claim AS (
  UPDATE "attempt" AS a SET "last_seq" = CAST(%s AS integer){prediction}
  WHERE a."id" = CAST(%s AS integer) AND a."user_id" = CAST(%s AS integer) AND a."state" = 'in_progress'
    AND a."last_seq" < CAST(%s AS integer)
    AND (a."deadline_at" IS NULL OR a."deadline_at" >= CAST(%s AS timestamp))
    AND {session}
    AND NOT EXISTS (SELECT 1 FROM checked WHERE NOT COALESCE("valid", false))
  RETURNING a."last_seq", a."prediction", a."deadline_at")"""

# Sent to a quiz without a prediction prompt, a prediction is ignored (as the usual save does).
_PREDICTION = """, "prediction" = CASE WHEN (SELECT COALESCE(z."prediction_prompt", '') <> '' FROM "quiz" AS z
    WHERE z."id" = a."quiz_id") THEN CAST(%s AS bigint) ELSE a."prediction" END"""

# The rows are found through the attempt's index: joined on their ids only, the plan made for any values (the
# one a prepared statement keeps) read the whole table for the few rows no mark has locked yet.
_STORE = """store AS (
  UPDATE "attempt_question" AS aq
  SET "answer" = CASE WHEN c."is_text" THEN aq."answer" ELSE c."answer" END,
      "answer_text" = CASE WHEN c."is_text" THEN c."text" ELSE aq."answer_text" END,
      "answered_at" = CASE WHEN CASE WHEN c."is_text" THEN c."text" ELSE c."answer" END <> ''
                           THEN CAST(%s AS timestamp) END
  FROM checked AS c
  WHERE aq."attempt_id" = CAST(%s AS integer) AND aq."position" = c."position" AND aq."mark" IS NULL
    AND EXISTS (SELECT 1 FROM claim)
    AND CASE WHEN c."is_text" THEN aq."answer_text" IS DISTINCT FROM c."text"
             ELSE aq."answer" IS DISTINCT FROM c."answer" END
  RETURNING aq."id")"""

_ONE = "(VALUES (CAST(%s AS integer), CAST(%s AS text), CAST(%s AS text)))"
_MANY = "unnest(CAST(%s AS integer[]), CAST(%s AS text[]), CAST(%s AS text[]))"
_STATEMENT = {}  # (prediction sent, one answer) -> the SQL


def _sql(sent, one):
    sql = _STATEMENT.get((sent, one))
    if sql is None:
        user_sql, _params = _USER.statement()
        select, rest = user_sql.split(" FROM ", 1)
        claim = _CLAIM.format(prediction=_PREDICTION if sent else "", session=_SESSION)
        given = _GIVEN.format(answers=_ONE if one else _MANY)
        sql = _STATEMENT[(sent, one)] = (
            f"WITH {given}, {_CHECKED}, {claim}, {_STORE} "
            f'{select}, (SELECT "last_seq" FROM claim), (SELECT "prediction" FROM claim), '
            f'(SELECT "deadline_at" FROM claim), EXISTS (SELECT 1 FROM claim) FROM {rest}')
    return sql


class Saved:
    """What the one statement stored: the sequence number now applied, the prediction, the deadline."""

    __slots__ = ("seq", "prediction", "deadline_at")

    def __init__(self, seq, prediction, deadline_at):
        self.seq, self.prediction, self.deadline_at = seq, prediction, deadline_at


def _arrays(answers):
    """(places, option places as "0,2" or None, texts or None) of a save's answers, each as the usual save
    reads it; None when one would be refused there (it says why)."""
    positions, tokens, texts = [], [], []
    for position, value in answers.items():
        if position > _MOST_POSITION:
            return None
        if isinstance(value, str):
            text = nfc(value)
            if "\x00" in text or len(text) > MAX_TEXT_ANSWER:
                return None
            tokens.append(None)
            texts.append(text)
        else:
            for token in value:
                if not (token.isascii() and token.isdigit()) or len(token) > _MOST_TOKENS or \
                        (len(token) > 1 and token[0] == "0"):
                    return None
            tokens.append(",".join(value))
            texts.append(None)
        positions.append(position)
    return positions, tokens, texts


def save(user_id, session_token, attempt_id, seq, answers, prediction, now):
    """Try the save in one statement: (the user as ``User``, ``Saved``) when it stored the save, else None
    (nothing was written). ``answers`` and ``prediction`` as ``api.parse_answers`` and ``api.parse_prediction``
    return them. Only on PostgreSQL."""
    assert not is_sqlite()
    arrays = _arrays(answers)
    sent = prediction is not NOT_SENT
    if sent:
        try:
            prediction = clean_prediction(prediction)
        except DomainError:  # the usual save names the field, if the quiz asks for a prediction
            return None
    if arrays is None:
        return None
    one = len(arrays[0]) == 1
    params = [column[0] for column in arrays] if one else list(arrays)
    params += [attempt_id, seq]
    if sent:
        params.append(prediction)
    params += [attempt_id, user_id, seq, now - GRACE, user_id, session_token, now, attempt_id]
    params += _USER.params(user_id)
    rows = execute_prepared(_sql(sent, one), params).fetchall()
    if not rows or not rows[0][-1]:  # no such account, or the claim found no attempt to save to
        return None
    last_seq, stored_prediction, deadline_at, _claimed = rows[0][-4:]
    return _USER.part(rows[0], 0), Saved(last_seq, stored_prediction, deadline_at)
