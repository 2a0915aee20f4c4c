"""Contest statistics benchmarks: a round of ~100,000 attempts by 40,000 contestants across 500 units.

Times ``ranking.rank_round`` (the whole round ranked inside the database) and
the round's statistics per unit rolled up through the tree
(``stats.round_stats``), then the contest-wide roll-up, the collective
standings and the organiser's page over HTTP (500 table rows, three SVG
charts). SQLite by default; PostgreSQL when PORTAL_BENCH_DATABASE_URL names
an empty database.

    python -m bench.contest_stats        # or wire bench_stats into bench/__main__.py
"""

import datetime as dt
import random
import statistics
import time

import peewee as pw

from bench.foundation import instance, timed

N_CONTESTANTS = 40_000
N_COMMITTEES = 20
N_CELLS = 480  # with the committees and the contest's root: 501 units
BATCH = 1000
NOW = dt.datetime(2025, 5, 26, 2, 0)  # the round closed a week after it opened


def _insert(model, rows):
    for i in range(0, len(rows), BATCH):
        model.insert_many(rows[i:i + BATCH]).execute()


def build_round():
    """A contest under the demo district with 500 units, 40,000 members and ~100,000 finished attempts."""
    from portal.accounts.models import Unit, User
    from portal.accounts.units import create_unit
    from portal.contests.models import Contest, PrizeTier, Round
    from portal.db import database
    from portal.quiz.models import Attempt, Quiz

    rng = random.Random(2025)
    district = Unit.get(Unit.code == "HU")
    with database.atomic():
        root = create_unit(None, "TK", "Đảng bộ khối thi đua (đo tốc độ)", "committee", parent=district)
        committees = [create_unit(None, f"TK-{c}", f"Đảng bộ xã số {c}", "committee", parent=root)
                      for c in range(N_COMMITTEES)]
        cells = []
        for i in range(N_CELLS):
            # ~83 members a cell; some declare fewer than take part (over 100%), a few declare none
            declared = 0 if i % 97 == 0 else rng.randint(70, 110)
            cells.append(create_unit(None, f"TK-{i % N_COMMITTEES}-{i}", f"Chi bộ thôn số {i}", "cell",
                                     parent=committees[i % N_COMMITTEES], declared_members=declared).id)
        _insert(User, [{"username": f"tk{i}", "full_name": f"Người dự thi {i}", "unit": cells[i % N_CELLS],
                        "password_hash": "-"} for i in range(N_CONTESTANTS)])
        users = list(User.select(User.id, User.unit).where(User.username.startswith("tk")).tuples())
        contest = Contest.create(title="Hội thi tìm hiểu (đo tốc độ thống kê)", owner_unit=root, is_published=True,
                                 collective_measure="points")
        opens = NOW - dt.timedelta(days=7)
        quiz = Quiz.create(title="Tuần 1", owner_unit=root, is_published=True, opens_at=opens, closes_at=NOW,
                           attempts_allowed=4, is_listed=False)
        round_ = Round.create(contest=contest, number=1, quiz=quiz, prediction="perfect")
        attempts = []
        for user_id, unit_id in users:
            for number in range(1, rng.choice((1, 2, 2, 3, 4, 3)) + 1):  # 2.5 attempts each on average
                at = opens + dt.timedelta(seconds=rng.randint(60, 7 * 86400 - 60))
                seconds = rng.randint(120, 1800)
                attempts.append({"quiz": quiz.id, "user": user_id, "number": number, "unit": unit_id,
                                 "state": "finished", "started_at": at - dt.timedelta(seconds=seconds),
                                 "finished_at": at, "score": 20 if rng.random() < 0.6 else rng.randint(3, 19),
                                 "max_score": 20, "time_used_ms": seconds * 1000,
                                 "prediction": rng.randint(0, 30000) if rng.random() < 0.9 else None})
        _insert(Attempt, attempts)
        for position, (name, count) in enumerate([("Giải Nhất", 1), ("Giải Nhì", 2), ("Giải Ba", 3)], start=1):
            PrizeTier.create(contest=contest, round=None, collective=True, position=position,
                             name=f"{name} tập thể", count=count)
    return round_, len(attempts)


def more_attempts(round_, n):
    """n further finished attempts by existing contestants (their next attempt number), as insert rows."""
    from portal.quiz.models import Attempt

    rng = random.Random(7)
    last = dict(Attempt.select(Attempt.user, pw.fn.MAX(Attempt.number)).where(Attempt.quiz == round_.quiz_id)
                .group_by(Attempt.user).tuples())
    users = rng.sample(sorted(last), n)
    for user_id in users:
        seconds = rng.randint(120, 1800)
        yield {"quiz": round_.quiz_id, "user": user_id, "number": last[user_id] + 1, "state": "finished",
               "started_at": NOW - dt.timedelta(seconds=seconds + 60), "finished_at": NOW - dt.timedelta(seconds=60),
               "score": rng.randint(15, 20), "max_score": 20, "time_used_ms": seconds * 1000,
               "prediction": rng.randint(0, 30000)}


def add_attempts(rows, n):
    from portal.quiz.models import Attempt

    Attempt.insert_many([next(rows) for _ in range(n)]).execute()


def sampled(label, n, fn):
    """Like foundation.timed, for a function that returns its own time in ms (set-up excluded)."""
    samples = sorted(fn(i) for i in range(n))
    return (label, n, 1000 * n / sum(samples), *(statistics.quantiles(samples, n=100, method="inclusive")[q]
                                                  for q in (49, 94, 98)))


def bench_stats():
    from portal.contests import collective, ranking, stats
    from portal.contests.models import Round
    from portal.db import database

    results = []
    with instance() as app:
        with app.extensions["portal_db"].connection_context():
            started = time.perf_counter()
            round_, n_attempts = build_round()
            if not isinstance(database.obj, pw.SqliteDatabase):
                database.execute_sql("ANALYZE")  # as autovacuum would after a week of attempts
            print(f"built: 501 units, {N_CONTESTANTS:,} members, {n_attempts:,} attempts "
                  f"in {time.perf_counter() - started:.1f} s ({type(database.obj).__name__})")
            label = f"{n_attempts // 1000}k attempts, {N_CONTESTANTS // 1000}k contestants, 501 units"

            # The first ranking inserts every entry; later ones (the statistics re-rank a live round
            # every minute) update them in place, here after a minute's worth of new attempts each time.
            started = time.perf_counter()
            assert ranking.rank_round(round_, NOW) == N_CONTESTANTS
            first = (time.perf_counter() - started) * 1000
            results.append((f"rank_round, first time ({label})", 1, 1000 / first, first, first, first))
            newcomers = iter(more_attempts(round_, 5 * 300))

            def rank(i):
                add_attempts(newcomers, 300)
                started = time.perf_counter()
                assert ranking.rank_round(round_, NOW) == N_CONTESTANTS
                return (time.perf_counter() - started) * 1000

            results.append(sampled(f"rank_round again, after 300 more attempts ({label})", 5, rank))
            Round.update(confirmed_at=NOW).where(Round.id == round_.id).execute()
            round_ = Round.get_by_id(round_.id)

            def roll_up(i):
                numbers = stats.round_stats(round_, NOW, refresh_after=None)
                assert numbers.total.participants == N_CONTESTANTS and len(numbers.rows) == 501

            results.append(timed(f"round statistics per unit, rolled up ({label})", 10, roll_up))

            def contest_roll_up(i):
                numbers = stats.contest_stats(round_.contest, NOW, refresh_after=None)
                collective.standings(round_.contest, None, NOW, numbers)

            results.append(timed("contest statistics + collective standings (same data)", 10, contest_roll_up))
            url = f"/manage/contests/{round_.contest_id}/rounds/{round_.id}/stats"
        # Requests open and close their own connection (as in production): outside the context above.
        client = app.test_client()
        assert client.post("/login", data={"username": "tochuc", "password": "demo2026"}).status_code == 302

        def page(i):
            response = client.get(url, query_string={"sort": "rate"} if i % 2 else {})
            assert response.status_code == 200, response.status_code

        results.append(timed("round statistics page over HTTP (501 rows, 3 SVG charts)", 10, page))
    return results


if __name__ == "__main__":
    for label, n, rate, p50, p95, p99 in bench_stats():
        print(f"{label:<75} {n:>4} {rate:>8.2f}/s  p50 {p50:>9.1f} ms  p95 {p95:>9.1f} ms  p99 {p99:>9.1f} ms")
