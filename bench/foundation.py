"""Foundation benchmarks: log in, render the home page, import a roster."""

import contextlib
import io
import os
import statistics
import tempfile
import time

from portal import create_app
from portal import db as dbmod


@contextlib.contextmanager
def instance():
    with tempfile.TemporaryDirectory(prefix="portal-bench-") as tmp:
        os.environ["PORTAL_INSTANCE_PATH"] = tmp
        config = {"SECRET_KEY": "bench-" + "x" * 32, "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False,
                  "LOGIN_MAX_FAILURES_PER_ADDRESS": 10**9}
        if os.environ.get("PORTAL_BENCH_DATABASE_URL"):
            config["DATABASE_URL"] = os.environ["PORTAL_BENCH_DATABASE_URL"]
        app = create_app(config)
        with app.app_context():
            db = app.extensions["portal_db"]
            dbmod.migrate(db)
            from portal import demo

            with db.connection_context():
                demo.load()
            yield app


def timed(label, n, fn):
    """Run fn n times; return (label, n, ops/s, p50, p95, p99) in ms."""
    samples = []
    start = time.perf_counter()
    for i in range(n):
        t = time.perf_counter()
        fn(i)
        samples.append((time.perf_counter() - t) * 1000)
    total = time.perf_counter() - start
    q = statistics.quantiles(samples, n=100, method="inclusive")
    return (label, n, n / total, q[49], q[94], q[98])


def bench_login():
    with instance() as app:
        client = app.test_client()

        def login(i):
            r = client.post("/login", data={"username": "dangvien", "password": "demo2026"})
            assert r.status_code == 302, r.status_code
            client.post("/logout")

        return [timed("login + logout (argon2id verify)", 200, login)]


def bench_home():
    with instance() as app:
        client = app.test_client()
        client.post("/login", data={"username": "dangvien", "password": "demo2026"})

        def home(i):
            assert client.get("/").status_code == 200

        return [timed("home page, logged in", 1000, home)]


def _roster_csv(cells, n, offset=0):
    lines = ["Họ và tên,Ngày sinh,Giới tính,Đơn vị (mã),Chức vụ,Số điện thoại,Email"]
    for i in range(offset, offset + n):
        lines.append(f"Nguyễn Văn Thử {i},{1 + i % 28:02d}/0{1 + i % 9}/19{60 + i % 40},Nam,"
                     f"{cells[i % len(cells)]},Đảng viên,09{i:08d},")
    return "\n".join(lines).encode()


def bench_roster():
    import datetime as dt

    from portal.accounts import roster
    from portal.accounts.models import Unit, utcnow

    results = []
    with instance() as app:
        with app.extensions["portal_db"].connection_context():
            cells = [u.code for u in Unit.select().where(Unit.kind == "cell")]
            today = dt.date.today()
            big = _roster_csv(cells, 2000)

            def dry_run(i):
                parsed = roster.parse_roster(big, "ds.csv", today, 20_000)
                assert not roster.plan_import(parsed, None).rejected

            results.append(timed("roster dry run, 2,000 rows", 5, dry_run))

            def apply(i):
                parsed = roster.parse_roster(_roster_csv(cells, 100, offset=10_000 + 100 * i), "ds.csv", today, 20_000)
                roster.apply_import(parsed, None, utcnow(), os.path.join(app.instance_path, "credentials"),
                                    "Bench", "http://127.0.0.1:5000")

            results.append(timed("roster apply, 100 new accounts + sheet", 3, apply))
    return results
