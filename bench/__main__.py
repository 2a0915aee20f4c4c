"""Run every benchmark and print one table.

    python -m bench              # all
    python -m bench login roster # some

Each benchmark runs against a fresh temporary instance (SQLite unless
PORTAL_BENCH_DATABASE_URL names a PostgreSQL database) and prints its numbers;
nothing here asserts a time.
"""

import sys

from bench import certificates, contest_export, contest_stats, foundation, quiz_attempt, quiz_import

BENCHES = {
    "login": foundation.bench_login,
    "home": foundation.bench_home,
    "roster": foundation.bench_roster,
    "gift-import": quiz_import.bench_gift_import,
    "attempt": quiz_attempt.bench_attempt,
    "contest-stats": contest_stats.bench_stats,
    "contest-export": contest_export.bench_export,
    "certificates": certificates.bench_certificates,
}


def main(names):
    rows = []
    for name in names or BENCHES:
        rows.extend(BENCHES[name]())
    width = max(len(r[0]) for r in rows)
    print(f"\n{'benchmark':<{width}}  {'n':>7}  {'ops/s':>9}  {'p50 ms':>8}  {'p95 ms':>8}  {'p99 ms':>8}")
    for label, n, rate, p50, p95, p99 in rows:
        print(f"{label:<{width}}  {n:>7}  {rate:>9.1f}  {p50:>8.2f}  {p95:>8.2f}  {p99:>8.2f}")


if __name__ == "__main__":
    main(sys.argv[1:])
