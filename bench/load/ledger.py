"""What the servers acknowledged against what the database holds: no attempt lost, none duplicated.

The multi-host scenario's load client keeps, for every member, each attempt a start acknowledged (its id),
how many saves were acknowledged, the highest acknowledged save (seq, answers as option tokens, prediction)
and whether a submit was acknowledged (bench/load/locustfile.py, ``Member.ledger``). After the run:

- ``read_attempts`` reads the members' attempts of the round from the database (PostgreSQL or SQLite);
- ``verify`` checks them against the ledger;
- ``compare`` checks two runs of the same members and answers against each other (two hosts, one host).

Stored answers are option ids in the order the attempt showed them; the client sent tokens (places in that
order), so they are compared as tokens: the drawn questions differ between runs, the choices do not.
"""

import contextlib
import dataclasses


@dataclasses.dataclass
class Stored:
    """An attempt as the database holds it."""

    id: int
    username: str
    number: int
    state: str
    score: float
    max_score: float
    last_seq: int
    prediction: int
    answers: dict  # position -> sorted tokens (strings)


def tokens(option_order, answer):
    """The stored answer ("12,9") as places in the order shown ("9,12,10,11" → ["0", "1"]), sorted."""
    order = [int(i) for i in option_order.split(",") if i]
    return sorted(str(order.index(int(i))) for i in answer.split(",") if i)


@contextlib.contextmanager
def _connect(database):
    """A DB-API connection and its placeholder: a postgresql:// URL, or an SQLite file's path."""
    if "://" in database:
        import psycopg2

        url = database.replace("postgresql+pool://", "postgresql://", 1)
        with contextlib.closing(psycopg2.connect(url)) as conn:
            yield conn, "%s"
    else:
        import sqlite3

        with contextlib.closing(sqlite3.connect(database)) as conn:
            yield conn, "?"


def read_attempts(database, quiz_id, usernames):
    """{attempt id: Stored} of the round's attempts by ``usernames``."""
    usernames = list(usernames)
    if not usernames:
        return {}
    with _connect(database) as (conn, mark):
        who = f"a.quiz_id = {mark} AND u.username IN ({', '.join([mark] * len(usernames))})"
        cur = conn.cursor()
        cur.execute(f'SELECT a.id, u.username, a.number, a.state, a.score, a.max_score, a.last_seq, a.prediction '
                    f'FROM attempt a JOIN "user" u ON u.id = a.user_id WHERE {who}', [quiz_id, *usernames])
        found = {row[0]: Stored(*row, answers={}) for row in cur.fetchall()}
        cur.execute(f'SELECT q.attempt_id, q.position, q.option_order, q.answer FROM attempt_question q '
                    f'JOIN attempt a ON a.id = q.attempt_id JOIN "user" u ON u.id = a.user_id WHERE {who}',
                    [quiz_id, *usernames])
        for attempt_id, position, order, answer in cur.fetchall():
            found[attempt_id].answers[position] = tokens(order, answer)
        cur.close()
    return found


def _expected_answers(answers):
    return {int(position): sorted(chosen) for position, chosen in (answers or {}).items()}


def _prediction(value):
    return None if value in (None, "") else int(str(value).replace(".", "").replace(",", "").replace(" ", ""))


def verify(ledger, stored):
    """Check the database against what was acknowledged; a dict of counts and ``problems`` (text, [] is good).

    - every attempt a start acknowledged exists, once, and no other attempt of these members does; their
      numbers are 1, 2, … with none twice;
    - every acknowledged submit is a finished attempt with a score;
    - each attempt's stored answers (and prediction) are those of its highest acknowledged save, and its
      last_seq is that save's (a higher one means a save applied whose answer never came back: noted apart).
    """
    problems, notes = [], []
    by_user = {}
    for attempt in stored.values():
        by_user.setdefault(attempt.username, []).append(attempt)
    counts = {"members": len(ledger), "starts": 0, "saves": 0, "submits": 0, "attempts_checked": 0,
              "attempts_in_database": sum(len(by_user.get(m["username"], ())) for m in ledger),
              "finished_in_database": sum(1 for a in stored.values() if a.state == "finished")}
    for member in ledger:
        name, acknowledged = member["username"], member["attempts"]
        ids = [a["id"] for a in acknowledged]
        counts["starts"] += len(ids)
        rows = {a.id: a for a in by_user.get(name, ())}
        if len(set(ids)) != len(ids):
            problems.append(f"{name}: one attempt acknowledged by two starts ({ids})")
        lost, extra = sorted(set(ids) - set(rows)), sorted(set(rows) - set(ids))
        if lost:
            problems.append(f"{name}: acknowledged attempts missing from the database: {lost}")
        if extra:
            problems.append(f"{name}: attempts in the database that no start acknowledged: {extra}")
        numbers = sorted(a.number for a in rows.values())
        if numbers != list(range(1, len(numbers) + 1)):
            problems.append(f"{name}: attempt numbers {numbers} (duplicated or missing)")
        for entry in acknowledged:
            counts["saves"] += entry["saves"]
            counts["submits"] += bool(entry["submitted"])
            row = rows.get(entry["id"])
            if row is None:
                continue
            counts["attempts_checked"] += 1
            where = f"{name} attempt {entry['id']} (no. {row.number})"
            if entry["submitted"] and (row.state != "finished" or row.score is None or row.max_score is None):
                problems.append(f"{where}: submit acknowledged, stored {row.state} with score {row.score}")
            if not entry["submitted"] and row.state == "finished":
                notes.append(f"{where}: finished without an acknowledged submit")
            if entry["answers"] is None:
                continue
            if row.last_seq < entry["seq"]:
                problems.append(f"{where}: save {entry['seq']} acknowledged, stored last_seq {row.last_seq}")
            elif row.last_seq > entry["seq"]:
                notes.append(f"{where}: last_seq {row.last_seq} above the highest acknowledged {entry['seq']}")
                continue
            expected = _expected_answers(entry["answers"])
            if row.answers != expected:
                wrong = sorted(p for p in set(expected) | set(row.answers) if expected.get(p) != row.answers.get(p))
                problems.append(f"{where}: stored answers differ from save {entry['seq']} at questions {wrong}")
            if row.prediction != _prediction(entry["prediction"]):
                problems.append(f"{where}: stored prediction {row.prediction}, acknowledged {entry['prediction']}")
    return dict(counts, problems=problems, notes=notes)


def compare(first, second):
    """Problems (text) between two runs' stored attempts of the same members: the same finished attempts per
    (member, number), with the same answers and prediction."""
    def keyed(stored):
        return {(a.username, a.number): a for a in stored.values() if a.state == "finished"}

    one, two = keyed(first), keyed(second)
    problems = []
    if len(one) != len(two):
        problems.append(f"finished attempts: {len(one)} and {len(two)}")
    for key in sorted(set(one) ^ set(two)):
        problems.append(f"{key[0]} no. {key[1]}: finished in one run only")
    for key in sorted(set(one) & set(two)):
        a, b = one[key], two[key]
        if a.answers != b.answers or a.prediction != b.prediction:
            problems.append(f"{key[0]} no. {key[1]}: stored answers or prediction differ")
    return problems
