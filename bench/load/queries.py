"""Queries per request on a member's way through the round, in process (Flask's test client, CSRF on).

For finding what to cut, not for timing the server: one member at a time,
every SQL statement counted and timed (and the connection's opening, where
SQLite sets its pragmas), on the same dataset as the load test.

    python -m bench.load.queries           # a table per endpoint
    python -m bench.load.queries -v        # and the statements of each endpoint's last request
    python -m bench.load.queries --postgres  # on a fresh PostgreSQL database (PORTAL_BENCH_POSTGRES_URL's server),
                                             # through the pool a deployment uses (--no-pool: a connection each)
    python -m bench.load.queries --members 40  # more members: the CPU columns (this process, and the PostgreSQL
                                               # server process serving it, counted in clock ticks) settle
"""

import argparse
import collections
import os
import time

from bench.load import dataset as datasets
from bench.load import pages
from bench.load.results import endpoint


class Counter:
    """Wraps the database object: every statement's SQL and time (BEGIN and COMMIT too: on PostgreSQL each is
    a round trip), and the time spent opening connections."""

    def __init__(self, db):
        self.db = db
        self.statements = []
        self.connect_ms = 0.0
        cursor, connect = db.cursor, db._connect
        counter = self

        class Cursor:
            def __init__(self, inner):
                self._inner = inner

            def execute(self, sql, params=None):
                started = time.perf_counter()
                try:
                    return self._inner.execute(sql) if params is None else self._inner.execute(sql, params)
                finally:
                    counter.statements.append((sql, (time.perf_counter() - started) * 1000))

            def __getattr__(self, name):
                return getattr(self._inner, name)

            def __iter__(self):
                return iter(self._inner)

        def _cursor(*args, **kwargs):
            return Cursor(cursor(*args, **kwargs))

        def _connect(*args, **kwargs):
            started = time.perf_counter()
            try:
                return connect(*args, **kwargs)
            finally:
                self.connect_ms += (time.perf_counter() - started) * 1000

        db.cursor, db._connect = _cursor, _connect

    def reset(self):
        self.statements, self.connect_ms = [], 0.0

    def server_cpu(self):
        """CPU seconds of the PostgreSQL server process behind this process's one pooled connection, 0 on SQLite.
        The kernel counts them in clock ticks (10 ms): only sums over many requests mean anything."""
        if self.backend is None:
            return 0.0
        times = self.backend.cpu_times()
        return times.user + times.system

    backend = None

    def watch_server(self):
        import psutil
        from playhouse.pool import PooledDatabase

        if not isinstance(self.db, PooledDatabase):  # SQLite, or a new connection (and server process) each request
            return
        pid = self.db.execute_sql("SELECT pg_backend_pid()").fetchone()[0]
        self.db.close()
        self.backend = psutil.Process(pid)


class Flow:
    """One member through the round with the test client; each request measured."""

    def __init__(self, app, counter, data, index):
        self.client = app.test_client()
        self.counter = counter
        self.data = data
        self.username = data.username.format(index)
        self.seen = collections.defaultdict(list)  # endpoint -> [(queries, sql ms, connect ms, total ms,
        #                                                        app CPU ms, server CPU ms)]
        self.last = {}  # endpoint -> the statements of its last request

    def request(self, method, path, name, expect, **kwargs):
        self.counter.reset()
        server = self.counter.server_cpu()
        cpu, started = time.thread_time(), time.perf_counter()
        response = self.client.open(path, method=method, **kwargs)
        total, cpu = (time.perf_counter() - started) * 1000, (time.thread_time() - cpu) * 1000
        server = (self.counter.server_cpu() - server) * 1000
        key = endpoint(method, name)
        statements = self.counter.statements
        self.seen[key].append((len(statements), sum(ms for _sql, ms in statements), self.counter.connect_ms, total,
                               cpu, server))
        self.last[key] = list(statements)
        if response.status_code != expect:
            raise SystemExit(f"{key}: {response.status_code} {pages.message(response.get_data(as_text=True))}")
        return response

    def run(self):
        d = self.data
        html = self.request("GET", "/login", "/login", 200).get_data(as_text=True)
        self.request("POST", "/login", "/login", 302, data={"csrf_token": pages.form_token(html),
                                                             "username": self.username, "password": d.password})
        self.request("GET", "/", "/ (home)", 200)
        self.request("GET", f"/contests/{d.contest_id}", "/contests/[id]", 200)
        html = self.request("GET", f"/quiz/{d.quiz_id}", "/quiz/[id] (round page)", 200).get_data(as_text=True)
        response = self.request("POST", f"/quiz/{d.quiz_id}/start", "/quiz/[id]/start", 302,
                                data={"csrf_token": pages.form_token(html)})
        attempt = pages.attempt_id(response.headers["Location"])
        html = self.request("GET", f"/quiz/attempts/{attempt}", "/quiz/attempts/[id]", 200).get_data(as_text=True)
        token, positions = pages.meta_token(html), pages.questions(html)
        headers = {"X-CSRFToken": token}
        held = pages.held_answers(self.request("GET", f"/api/v1/attempts/{attempt}", "/api/v1/attempts/[id]",
                                               200).get_json())
        answers = {str(p): [] for p in sorted(positions)}
        for seq, position in enumerate(sorted(positions), start=1):
            answers[str(position)] = [str(seq % positions[position])]
            sent = pages.unsent(answers, held)  # what quiz.js sends: the answers the server does not hold yet
            self.request("PUT", f"/api/v1/attempts/{attempt}/answers", "/api/v1/attempts/[id]/answers", 200,
                         json={"seq": seq, "answers": sent}, headers=headers)
            held.update(sent)
        self.request("PUT", f"/api/v1/attempts/{attempt}/answers", "/api/v1/attempts/[id]/answers", 200,
                     json={"seq": len(positions) + 1, "answers": {}, "prediction": "1234"}, headers=headers)
        self.request("POST", f"/api/v1/attempts/{attempt}/submit", "/api/v1/attempts/[id]/submit", 200,
                     json={"prediction": "1234"}, headers=headers)
        self.request("GET", f"/quiz/attempts/{attempt}/result", "/quiz/attempts/[id]/result", 200)


def measure(data, members=5, verbose=False, pooled=True):
    from portal import create_app

    os.environ["PORTAL_INSTANCE_PATH"] = data.instance_path
    url = data.database_url
    if url and pooled:
        url = "postgresql+pool://" + url[len("postgresql://"):]
    app = create_app({"DATABASE_URL": url} if url else None)
    counter = Counter(app.extensions["portal_db"])
    if url:
        with app.app_context():
            counter.watch_server()
    seen, last = collections.defaultdict(list), {}
    for index in range(members):
        flow = Flow(app, counter, data, index)
        flow.run()
        for key, values in flow.seen.items():
            seen[key].extend(values)
        last.update(flow.last)
    print(f"{members} members through the round, in process ({data.database_label}); means per request:")
    width = max(len(k) for k in seen)
    print(f"  {'endpoint':<{width}}  {'queries':>7}  {'SQL ms':>7}  {'connect ms':>10}  {'request ms':>10}"
          f"  {'app CPU ms':>10}  {'server CPU ms':>13}")
    sums = collections.Counter()
    for key, values in seen.items():
        n = len(values)
        queries, sql, connect, total, cpu, server = (sum(v[i] for v in values) / n for i in range(6))
        sums.update({"total": total * n, "cpu": cpu * n, "server": server * n})
        print(f"  {key:<{width}}  {queries:>7.1f}  {sql:>7.2f}  {connect:>10.2f}  {total:>10.2f}"
              f"  {cpu:>10.2f}  {server:>13.2f}")
    print(f"  per member: {sums['total'] / members:.1f} ms, CPU {sums['cpu'] / members:.1f} ms here"
          f" + {sums['server'] / members:.1f} ms in the database server")
    if verbose:
        from portal import db as dbmod

        prepared = {server[1].split("(")[0]: sql for sql, server in dbmod._SERVER_SIDE.items() if server}
        for key, statements in last.items():
            print(f"\n{key}: {len(statements)} statements")
            for sql, ms in statements:
                if sql.startswith("EXECUTE "):  # prepared on PostgreSQL: show what it runs
                    sql = f"{sql.split('(')[0]}: {prepared.get(sql.split('(')[0], '?')}"
                print(f"  {ms:6.2f} ms  {' '.join(sql.split())[:220]}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--members", type=int, default=5)
    parser.add_argument("--no-pool", action="store_true", help="PostgreSQL: a connection per request, not the pool")
    args = parser.parse_args()
    with datasets.instance("fresh" if args.postgres else None) as data:
        measure(data, args.members, args.verbose, pooled=not args.no_pool)


if __name__ == "__main__":
    main()
