"""The contest-day load test: the real server (`portal serve`) under simulated members driven by Locust.

    python -m bench contest-day answer-save sync-start baseline contest-day-postgres baseline-postgres multi-host

- dataset.py builds the instance (500 units, 40,000 members, a contest with a 20-question round open now);
- server.py starts `portal serve` and the baseline app (bench/baseline_app.py) on free 127.0.0.1 ports;
- locustfile.py is what a member's phone does; driver.py runs Locust in a process of its own;
- results.py counts every request per endpoint; runner.py ties them together (its docstring lists the
  settings and the scenarios);
- ledger.py checks the database against what the servers acknowledged (multi-host).

Nothing here asserts a time: each function prints its report and returns rows for bench's table.
"""

import contextlib
import os

# The modules are imported where used, so that `python -m bench.load.dataset` and the driver start clean.


def _database_url():
    return os.environ.get("PORTAL_BENCH_DATABASE_URL") or None


def bench_contest_day():
    from bench.load import runner

    return runner.contest_day(runner.shared_dataset(_database_url()))


def bench_sync_start():
    from bench.load import runner

    return runner.sync_start(runner.shared_dataset(_database_url()))


def bench_answer_save():
    """The headline ratio's numerator: only saves, submits and the next starts, at the baseline's clients."""
    from bench.load import runner

    return runner.answer_save(runner.shared_dataset(_database_url()))


def bench_multi_host():
    """Two `portal serve` sharing a fresh PostgreSQL database and Redis; the database checked afterwards."""
    from bench.load import runner

    return runner.multi_host()


def bench_baseline():
    from bench.load import dataset, runner

    url = _database_url()
    if not url:
        return runner.baseline()
    with dataset.fresh_postgres(url) as fresh:  # the portal's database stays as the load test needs it
        return runner.baseline(fresh)


def bench_baseline_postgres():
    """The baseline on a fresh PostgreSQL database (PORTAL_BENCH_POSTGRES_URL's server), for contest-day-postgres."""
    from bench.load import dataset, runner

    if not _postgres_reachable(dataset.postgres_server(), "baseline-postgres"):
        return []
    with dataset.fresh_postgres(dataset.postgres_server()) as url:
        return runner.baseline(url, "baseline-postgres")


def _postgres_reachable(url, label):
    import psycopg2

    try:
        with contextlib.closing(psycopg2.connect(url, connect_timeout=3)):
            return True
    except psycopg2.OperationalError as exc:
        print(f"\n== {label}: skipped, no PostgreSQL at {url} ({str(exc).strip()})")
        return False


def bench_contest_day_postgres():
    """contest-day again, on a fresh PostgreSQL database (created on PORTAL_BENCH_POSTGRES_URL's server, dropped)."""
    from bench.load import dataset, runner

    if not _postgres_reachable(dataset.postgres_server(), "contest-day-postgres"):
        return []
    with dataset.instance("fresh") as data:
        return runner.contest_day(data, "contest-day-postgres")


def summary_lines():
    from bench.load import runner

    return runner.summary_lines()


def close():
    from bench.load import runner

    runner.close()
