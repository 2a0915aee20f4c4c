"""The fault test, short: members save and submit while a gunicorn worker, then the whole server, is killed -9.

bench/load/faults.py runs `portal serve` (SERVE_WORKERS × SERVE_THREADS) on a small SQLite instance and 8 member threads
(http.client) that retry every failed request unchanged; afterwards every acknowledged start, save and submit is
checked against the database (bench/load/ledger.py), with PRAGMA integrity_check and no attempt scored twice.
`python -m bench faults` is the long version. No time is asserted.
"""

import os
import sqlite3
import subprocess

import pytest

from bench.load import faults, ledger


@pytest.fixture(scope="module")
def run():
    with faults.small_instance(members=8) as data:
        result = faults.run(data, members=8, worker_kills=3, server_kills=1, seed=7)
        yield data, result


def test_no_acknowledged_write_is_lost_when_workers_and_the_server_are_killed(run):
    data, result = run
    assert result["worker_kills"] == 3 and result["server_kills"] == 1
    assert result["problems"] == []
    assert result["integrity"] == "ok"
    assert result["member_failures"] == []
    # Acknowledged writes were checked, each member's attempts among them.
    assert result["saves"] > 0 and result["submits"] > 0
    assert result["attempts_checked"] == result["starts"] > 0
    assert result["attempts_in_database"] == result["starts"]
    assert all(m["attempts"] for m in result["ledger"])
    # The kills reached requests in flight or refused connections: the client had to send again.
    assert result["retries"] > 0


def test_no_server_process_is_left_behind(run):
    data, result = run
    instance = data.instance_path
    # No process still serves this instance (every `portal serve` started was stopped, workers included).
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/environ", "rb") as fh:
                    if f"PORTAL_INSTANCE_PATH={instance}".encode() in fh.read():
                        found.append(int(name))
            except OSError:
                pass
    assert found == []


def test_the_check_would_see_a_lost_answer_and_a_lost_submit(run):
    """The verdict is not vacuous: undo one acknowledged save and one acknowledged submit in a copy."""
    data, result = run
    path = os.path.join(data.instance_path, "portal.db")
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    submitted = [(m["username"], a) for m in result["ledger"] for a in m["attempts"] if a["submitted"]]
    (user, first), (_, second) = submitted[0], submitted[-1]
    copy = os.path.join(os.path.dirname(path), "tampered.db")
    subprocess.run(["cp", path, copy], check=True)
    with sqlite3.connect(copy) as conn:
        conn.execute("UPDATE attempt SET last_seq = last_seq - 1 WHERE id = ?", (first["id"],))
        conn.execute("UPDATE attempt SET state = 'in_progress', score = NULL WHERE id = ?", (second["id"],))
    stored = ledger.read_attempts(copy, data.quiz_id, [m["username"] for m in result["ledger"]])
    problems = ledger.verify(result["ledger"], stored)["problems"]
    assert any(f"attempt {first['id']} " in p and "last_seq" in p for p in problems)
    assert any(f"attempt {second['id']} " in p and "submit acknowledged" in p for p in problems)
    assert faults.database_checks(copy)[0] == "ok"
