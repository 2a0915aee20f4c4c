"""Run every benchmark and print one table.

    python -m bench              # all (`make bench`)
    python -m bench login roster # some
    python -m bench contest-day answer-save sync-start baseline contest-day-postgres baseline-postgres multi-host
    python -m bench faults       # kill -9 workers and the server under load; every acknowledged write checked

Each benchmark runs against a fresh temporary instance (SQLite unless
PORTAL_BENCH_DATABASE_URL names a PostgreSQL database) and prints its numbers;
nothing here asserts a time. The load test's settings are listed in
bench/load/runner.py. Everything printed is also written to
bench/results/<date>-<cores>cores.txt (-2, -3… when a run that day has the name).
"""

import datetime as dt
import os
import platform
import subprocess
import sys

from bench import certificates, contest_export, contest_stats, foundation, load, quiz_attempt, quiz_import
from bench.load import faults as load_faults

BENCHES = {
    "login": foundation.bench_login,
    "home": foundation.bench_home,
    "roster": foundation.bench_roster,
    "gift-import": quiz_import.bench_gift_import,
    "attempt": quiz_attempt.bench_attempt,
    "contest-stats": contest_stats.bench_stats,
    "contest-export": contest_export.bench_export,
    "certificates": certificates.bench_certificates,
    "contest-day": load.bench_contest_day,
    "answer-save": load.bench_answer_save,
    "baseline": load.bench_baseline,
    "sync-start": load.bench_sync_start,
    "contest-day-postgres": load.bench_contest_day_postgres,
    "baseline-postgres": load.bench_baseline_postgres,
    "multi-host": load.bench_multi_host,
    "faults": load_faults.bench_faults,
}

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


class Tee:
    """Write to the terminal and to the results file."""

    def __init__(self, *streams):
        self.streams = streams

    def write(self, text):
        for stream in self.streams:
            stream.write(text)
        return len(text)

    def flush(self):
        for stream in self.streams:
            stream.flush()


def results_path(today=None, cores=None):
    name = f"{(today or dt.date.today()).isoformat()}-{cores or os.cpu_count()}cores"
    path, n = os.path.join(RESULTS, f"{name}.txt"), 1
    while os.path.exists(path):
        n += 1
        path = os.path.join(RESULTS, f"{name}-{n}.txt")
    return path


def _commit():
    try:
        return subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True, text=True,
                              cwd=os.path.dirname(RESULTS)).stdout.strip() or "?"
    except OSError:
        return "?"


def main(names):
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        raise SystemExit(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(BENCHES)}")
    os.makedirs(RESULTS, exist_ok=True)
    path = results_path()
    with open(path, "w") as out:
        terminal, sys.stdout = sys.stdout, Tee(sys.stdout, out)
        try:
            print(f"python -m bench {' '.join(names)}".rstrip() + f"  ({dt.datetime.now():%Y-%m-%d %H:%M}, "
                  f"{os.cpu_count()} cores, Python {platform.python_version()}, commit {_commit()}, "
                  f"database {'PostgreSQL' if os.environ.get('PORTAL_BENCH_DATABASE_URL') else 'SQLite'})")
            rows = []
            try:
                for name in names or BENCHES:
                    rows.extend(BENCHES[name]())
            except KeyboardInterrupt:
                print("\n(interrupted: this run's numbers are incomplete)")
                raise
            finally:
                load.close()
            width = max((len(r[0]) for r in rows), default=9)
            print(f"\n{'benchmark':<{width}}  {'n':>7}  {'ops/s':>9}  {'p50 ms':>8}  {'p95 ms':>8}  {'p99 ms':>8}")
            for label, n, rate, p50, p95, p99 in rows:
                print(f"{label:<{width}}  {n:>7}  {rate:>9.1f}  {p50:>8.2f}  {p95:>8.2f}  {p99:>8.2f}")
            summary = load.summary_lines() + load_faults.summary_lines()
            if summary:
                print()
                for line in summary:
                    print(line)
            print(f"\n(written to {os.path.relpath(path)})")
        finally:
            sys.stdout = terminal


if __name__ == "__main__":
    main(sys.argv[1:])
