"""Results sheet benchmarks: a round of 40,000 ranked contestants across 500 units.

Times the round's XLSX export (database read, formatting, XlsxWriter in
constant-memory mode) against XlsxWriter alone writing the same rows, read
into a list beforehand: the target is within 1.3× of it. Also the CSV and
the PDF (the first 100 ranks and the prize winners), and the peak memory of
the XLSX export: Python's allocations (tracemalloc) and the whole process's
resident size (`portal export-results` in a subprocess), target < 100 MB.

    python -m bench.contest_export        # or wire bench_export into bench/__main__.py
"""

import datetime as dt
import os
import random
import statistics
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc

from bench.foundation import instance, timed

N_CONTESTANTS = 40_000
N_UNITS = 500
BATCH = 1000
ROUNDS = 5  # timed runs of each XLSX writer
NOW = dt.datetime(2025, 5, 19, 3, 0)

FIRST = ["Nguyễn", "Trần", "Lê", "Phạm", "Huỳnh", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương"]
MIDDLE = ["Văn", "Thị", "Ngọc", "Đức", "Thị Hồng", "Quốc", "Minh", "Thanh"]
LAST = ["An", "Bình", "Cường", "Dũng", "Hạnh", "Hương", "Khải", "Lộc", "Mỹ", "Nhung", "Phúc", "Quỳnh", "Sơn",
        "Thủy", "Tuấn", "Ửng", "Việt", "Yến"]


def _insert(model, rows):
    for i in range(0, len(rows), BATCH):
        model.insert_many(rows[i:i + BATCH]).execute()


def build_round():
    """A contest on a new committee with N_UNITS cells, and a round ranked for N_CONTESTANTS members.

    The ranking rows are inserted directly (ranked here by score then time, ties shared), with ten prizes.
    """
    from portal.accounts.models import User
    from portal.accounts.units import create_unit
    from portal.contests.models import Award, Contest, PrizeTier, Round, RoundEntry
    from portal.db import database
    from portal.quiz.models import Attempt, Quiz

    rng = random.Random(2025)
    with database.atomic():
        top = create_unit(None, "BX", "Đảng bộ xã Hòa Phong", "committee", declared_members=0)
        cells = [create_unit(None, f"BX-{i}", f"Chi bộ thôn số {i} Hòa Phong", "cell", parent=top,
                             declared_members=60 + i % 90).id for i in range(N_UNITS)]
        _insert(User, [{"username": f"bx{i}", "full_name": f"{rng.choice(FIRST)} {rng.choice(MIDDLE)} "
                                                           f"{rng.choice(LAST)} {i}",
                        "birth_date": dt.date(1950 + i % 50, 1 + i % 12, 1 + i % 28), "unit": cells[i % N_UNITS],
                        "password_hash": "-"} for i in range(N_CONTESTANTS)])
        users = list(User.select(User.id, User.unit).where(User.username.startswith("bx")).tuples())
        contest = Contest.create(title="Hội thi tìm hiểu 95 năm Ngày thành lập Đảng (đo tốc độ)", owner_unit=top,
                                 is_published=True)
        quiz = Quiz.create(title="Tuần 1", owner_unit=top, is_published=True, opens_at=NOW - dt.timedelta(days=7),
                           closes_at=NOW, attempts_allowed=3, is_listed=False)
        round_ = Round.create(contest=contest, number=1, quiz=quiz, prediction="perfect", prediction_truth=9000)
        keyed = []
        for user_id, unit_id in users:
            score = 20 if rng.random() < 0.4 else rng.randint(5, 19)
            seconds = rng.randint(120, 1800)
            keyed.append((user_id, unit_id, score, seconds, rng.randint(0, 20000) if rng.random() < 0.9 else None))
        _insert(Attempt, [{"quiz": quiz.id, "user": u, "number": 1, "unit": unit, "state": "finished",
                           "started_at": NOW - dt.timedelta(seconds=s), "finished_at": NOW, "score": score,
                           "max_score": 20, "time_used_ms": s * 1000, "prediction": p}
                          for u, unit, score, s, p in keyed])
        attempt_of = dict(Attempt.select(Attempt.user, Attempt.id).where(Attempt.quiz == quiz.id).tuples())
        keyed.sort(key=lambda k: (-k[2], k[3]))
        entries, rank = [], 0
        for i, (u, unit, score, s, p) in enumerate(keyed):
            if i == 0 or (score, s) != keyed[i - 1][2:4]:
                rank = i + 1
            tied = (i > 0 and (score, s) == keyed[i - 1][2:4]) or (
                i + 1 < len(keyed) and (score, s) == keyed[i + 1][2:4])
            entries.append({"round": round_.id, "user": u, "attempt": attempt_of[u], "unit": unit, "score": score,
                            "max_score": 20, "time_used_ms": s * 1000, "finished_at": NOW, "prediction": p,
                            "distance": None if p is None else abs(p - 9000), "attempts": 1 + u % 3,
                            "rank": rank, "tied": tied})
        _insert(RoundEntry, entries)
        for position, (name, count) in enumerate([("Giải Nhất", 1), ("Giải Nhì", 2), ("Giải Ba", 3),
                                                  ("Giải Khuyến khích", 4)], start=1):
            tier = PrizeTier.create(contest=contest, round=round_, position=position, name=name, count=count)
            for entry in entries[sum((1, 2, 3, 4)[:position - 1]):][:count]:
                Award.create(contest=contest, round=round_, tier=tier, user=entry["user"], rank=entry["rank"])
    return round_


def _row(label, samples_ms):
    """A result row as bench.foundation.timed makes them: (label, n, ops/s, p50, p95, p99)."""
    q = statistics.quantiles(samples_ms, n=100, method="inclusive")
    return (label, len(samples_ms), 1000 * len(samples_ms) / sum(samples_ms), q[49], q[94], q[98])


def _baseline(rows, columns, out):
    """XlsxWriter on its own, constant-memory mode: the same typed values and formats, one write() per cell."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(out, {"constant_memory": True, "strings_to_formulas": False,
                                   "strings_to_urls": False, "strings_to_numbers": False})
    ws = wb.add_worksheet("Cá nhân")
    numbers = {"date": "dd/mm/yyyy", "datetime": "hh:mm:ss dd/mm/yyyy", "duration": "[h]:mm:ss", "int": "0",
               "rank": "0"}
    formats = [wb.add_format({"border": 1, "num_format": numbers.get(c.kind, "General")}) for c in columns]
    for col, column in enumerate(columns):
        ws.set_column(col, col, column.width)
        ws.write_string(0, col, column.header)
    ws.freeze_panes(1, 0)
    for r, values in enumerate(rows, start=1):
        for col, value in enumerate(values):
            ws.write(r, col, value, formats[col])
    wb.close()


def _cells(person, columns):
    """The values our export writes for a person, as XlsxWriter's write() takes them."""
    values = []
    for column in columns:
        value = person[column.index]
        if column.kind == "duration" and value is not None:
            value = value / 86_400_000
        values.append(value)
    return values


PEAK_SCRIPT = """
import datetime
import sys

from portal import create_app
from portal.contests import exports
from portal.contests.models import Round


def high_water_mb():
    # VmHWM belongs to this program's memory map, unlike ru_maxrss, which keeps the forking parent's size.
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:")) / 1024


app = create_app()
with app.app_context(), app.extensions["portal_db"].connection_context():
    idle = high_water_mb()
    with open(sys.argv[2], "wb") as fh:
        exports.write_round_xlsx(Round.get_by_id(int(sys.argv[1])), fh, datetime.datetime(2025, 5, 19))
    print(idle, high_water_mb())
"""


def _peak_rss_mb(round_id, target, env):
    """The export in a fresh process: its resident size once the app is loaded, and at the end (MB)."""
    done = subprocess.run([sys.executable, "-c", PEAK_SCRIPT, str(round_id), target], env=env, check=True,
                          capture_output=True, text=True)
    idle, peak = (float(x) for x in done.stdout.split())
    return idle, peak


def bench_export():
    from portal.contests import exports

    results = []
    with instance() as app:
        with app.extensions["portal_db"].connection_context():
            started = time.perf_counter()
            round_ = build_round()
            print(f"built {N_CONTESTANTS:,} ranked contestants in {N_UNITS} units "
                  f"in {time.perf_counter() - started:.1f} s", file=sys.stderr)
            tmp = tempfile.mkdtemp(prefix="portal-bench-export-")

            def ours(i):
                with open(os.path.join(tmp, "ours.xlsx"), "wb") as fh:
                    assert exports.write_round_xlsx(round_, fh, NOW) == N_CONTESTANTS

            rows = [_cells(p, exports.ROUND_COLUMNS) for p in exports.round_people(round_)]

            def baseline(i):
                with open(os.path.join(tmp, "baseline.xlsx"), "wb") as fh:
                    _baseline(rows, exports.ROUND_COLUMNS, fh)

            # Interleaved, so that a busy machine slows both alike; the ratio compares the medians.
            base_ms, ours_ms = [], []
            for i in range(ROUNDS):
                for fn, samples in ((baseline, base_ms), (ours, ours_ms)):
                    t = time.perf_counter()
                    fn(i)
                    samples.append((time.perf_counter() - t) * 1000)
            base = _row(f"XlsxWriter alone, same {N_CONTESTANTS:,} rows (constant memory)", base_ms)
            mine = _row(f"XLSX export of a round, {N_CONTESTANTS:,} contestants, {N_UNITS} units", ours_ms)
            ratio = mine[3] / base[3]
            results.append(base)
            results.append((mine[0] + f" = {ratio:.2f}× XlsxWriter (target ≤ 1.3×)", *mine[1:]))
            del rows

            def csv(i):
                with open(os.path.join(tmp, "ours.csv"), "wb") as fh:
                    for chunk in exports.round_csv(round_):
                        fh.write(chunk)

            results.append(timed(f"CSV export of a round, {N_CONTESTANTS:,} contestants", 3, csv))
            results.append(timed("PDF of a round: first 100 ranks and the prize winners", 3,
                                 lambda i: exports.pdf_bytes(round_, NOW)))

            tracemalloc.start()
            t = time.perf_counter()
            ours(0)
            elapsed = (time.perf_counter() - t) * 1000
            peak = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
            results.append((f"XLSX export, Python allocations at peak: {peak:.1f} MB (tracemalloc; target < 100 MB)",
                            1, 1000 / elapsed, elapsed, elapsed, elapsed))

            env = dict(os.environ, PORTAL_DATABASE_URL=app.config.get("DATABASE_URL") or
                       "sqlite:///" + os.path.join(app.instance_path, "portal.db"))
            t = time.perf_counter()
            idle, peak = _peak_rss_mb(round_.id, os.path.join(tmp, "process.xlsx"), env)
            elapsed = (time.perf_counter() - t) * 1000
            results.append((f"XLSX export in a fresh process, peak RSS {peak:.0f} MB (app loaded: {idle:.0f} MB)",
                            1, 1000 / elapsed, elapsed, elapsed, elapsed))
            shutil.rmtree(tmp, ignore_errors=True)
    return results


if __name__ == "__main__":
    for label, n, rate, p50, p95, p99 in bench_export():
        print(f"{label:<100}  {n:>3}  {rate:>7.2f}/s  p50 {p50:>9.1f} ms  p95 {p95:>9.1f} ms")
