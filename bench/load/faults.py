"""The fault test: members saving and submitting while gunicorn's workers, then the whole server, are killed -9.

    python -m bench faults

- an SQLite instance (the load dataset's contest, with few members: ``small_instance``);
- `portal serve` (PORTAL_BENCH_WORKERS × PORTAL_BENCH_THREADS, default SERVE_WORKERS × SERVE_THREADS) on a fixed port;
- ``members`` client threads (plain http.client, no Locust: tests/test_faults.py runs this in `make test`),
  each logged in from an address of its own, taking attempt after attempt through the JSON API as quiz.js
  does: every answer saved (each save carrying what the server does not hold yet, seq rising as quiz.js
  numbers it), the prediction typed in, submit, the next attempt. A request that fails (connection refused
  or reset, 5xx, 429) is sent again unchanged, the same seq, until it is answered: the retries must be
  idempotent. Every start, save and submit the server acknowledged goes into the member's ledger
  (bench/load/ledger.py's format);
- phase 1: every 1-3 s (random, seeded) SIGKILL to a random gunicorn worker (the master starts another);
- phase 2: SIGKILL to the whole server (master and workers, its process group) at a random moment, then
  `portal serve` again on the same port and instance, a few times;
- afterwards: ledger.verify (every acknowledged submit finished with a score; stored answers are those of
  the highest acknowledged save; no attempt lost, none unacknowledged, no attempt number twice), PRAGMA
  integrity_check, and SQL checks that no attempt has two final scores.

Settings (environment; defaults in brackets): PORTAL_BENCH_FAULT_MEMBERS [16], PORTAL_BENCH_FAULT_WORKER_KILLS
[20], PORTAL_BENCH_FAULT_SERVER_KILLS [4], PORTAL_BENCH_FAULT_SEED [1].
"""

import contextlib
import dataclasses
import http.client
import http.cookies
import json
import os
import random
import signal
import sqlite3
import subprocess
import tempfile
import threading
import time
import urllib.parse

from bench.load import dataset as datasets
from bench.load import ledger as ledgers
from bench.load import pages, server as servers

SUMMARY = {}


def _setting(name, default):
    value = os.environ.get(name)
    return type(default)(value) if value not in (None, "") else default


# -- a small instance --------------------------------------------------------------------------------

@contextlib.contextmanager
def small_instance(members=64, cells=4):
    """The load dataset's contest and round (unlimited attempts, 20 questions) with ``members`` members in
    ``cells`` cells, SQLite in a temporary instance folder (removed at the end)."""
    saved = {name: getattr(datasets, name) for name in ("N_MEMBERS", "N_CELLS", "N_COMMITTEES")}
    with tempfile.TemporaryDirectory(prefix="portal-faults-") as tmp:
        try:
            datasets.N_MEMBERS, datasets.N_CELLS, datasets.N_COMMITTEES = members, cells, 1
            data = datasets.make_instance(os.path.join(tmp, "instance"), None, log=lambda *a: None)
        finally:
            for name, value in saved.items():
                setattr(datasets, name, value)
        yield data


# -- the server, killable and restartable on the same port -------------------------------------------

class Portal:
    """`portal serve` on a fixed port and instance; ``kill_worker`` and ``kill_all`` send SIGKILL."""

    def __init__(self, data, log_path, workers, threads, ready_timeout=180):
        self.data, self.log_path, self.workers, self.threads = data, log_path, workers, threads
        self.port = servers.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ready_timeout = ready_timeout
        self.process = None

    def start(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
        env.update(PORTAL_INSTANCE_PATH=self.data.instance_path, PORTAL_JOBS_EMBEDDED_WORKER="false",
                   PORTAL_PUBLIC_URL=self.url)
        command = [os.path.join(servers.BIN, "portal"), "serve", "--bind", f"127.0.0.1:{self.port}",
                   "--workers", str(self.workers), "--threads", str(self.threads)]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True)
        self.wait_ready()

    def wait_ready(self):
        """Until /login answers 200 and every worker is up (generous: a loaded 2-core machine)."""
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server stopped (exit {self.process.returncode}); see {self.log_path}")
            with contextlib.suppress(OSError, http.client.HTTPException):
                if len(self.worker_pids()) >= self.workers and servers._get(self.url, "/login", 10.0) == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"the server did not come back in {self.ready_timeout} s; see {self.log_path}")

    def worker_pids(self):
        """The master's children (gunicorn's workers), from /proc (no psutil in `make test`)."""
        pids = []
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            with contextlib.suppress(OSError):
                with open(f"/proc/{name}/stat") as fh:
                    stat = fh.read()
                fields = stat[stat.rindex(")") + 2:].split()
                if int(fields[1]) == self.process.pid and fields[0] != "Z":
                    pids.append(int(name))
        return pids

    def kill_worker(self, rng):
        pids = self.worker_pids()
        if not pids:
            return None
        pid = rng.choice(pids)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return None
        return pid

    def kill_all(self):
        """SIGKILL to the process group (master and workers), and wait until none is left."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                os.killpg(self.process.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)

    def stop(self):
        if self.process is not None:
            servers.stop(self.process)

    def log_problems(self):
        return servers.Server(self.url, self.process, self.log_path, self.workers, self.threads).log_problems()


# -- the members: http.client threads that retry as a phone would ------------------------------------

class GiveUp(Exception):
    """The member's time is up while a request still had no answer."""


@dataclasses.dataclass
class Counts:
    requests: int = 0
    retries: int = 0
    replayed_saves: int = 0  # a save sent again that found its own seq already stored (the first one applied)
    errors: dict = dataclasses.field(default_factory=dict)  # what made a request go again -> count


class Member(threading.Thread):
    """One member: log in, then attempt after attempt through the API; every acknowledged write in ``ledger``."""

    def __init__(self, port, data, index, stop, give_up_at, seed, counts, lock):
        super().__init__(daemon=True, name=f"member-{index}")
        self.port, self.data, self.index = port, data, index
        self.username = data.username.format(index)
        self.stop, self.give_up_at = stop, give_up_at
        self.rng = random.Random(f"{seed}:{index}")
        self.counts, self.lock = counts, lock
        self.cookies = {}
        self.csrf = None
        self.conn = None
        self.ledger = []
        self.failure = None
        self.seq = 0
        self.held = {}  # the answers the server holds, as quiz.js knows them
        self.started_at = self.offset = None

    # HTTP with cookies, from the member's own loopback address
    def _connection(self):
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60,
                                                   source_address=(pages.member_address(self.index), 0))
        return self.conn

    def _drop(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def _once(self, method, path, body=None, headers=None):
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        conn = self._connection()
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            text = response.read().decode("utf-8", "replace")
        except (OSError, http.client.HTTPException):
            self._drop()
            raise
        for header in response.headers.get_all("Set-Cookie") or ():
            cookie = http.cookies.SimpleCookie()
            cookie.load(header)
            for key, morsel in cookie.items():
                if morsel["expires"] and "1970" in morsel["expires"] or morsel["max-age"] == "0":
                    self.cookies.pop(key, None)
                else:
                    self.cookies[key] = morsel.value
        if response.getheader("Connection", "").lower() == "close":
            self._drop()
        return response.status, response.headers, text

    def _note(self, what):
        with self.lock:
            self.counts.retries += 1
            self.counts.errors[what] = self.counts.errors.get(what, 0) + 1

    def request(self, method, path, ok, body=None, headers=None, json_body=None):
        """Send until the answer is one of ``ok`` (statuses): the same request again after a lost connection,
        a 5xx or a 429, waiting longer each time (as quiz.js does); (status, headers, text)."""
        if json_body is not None:
            body = json.dumps(json_body)
            headers = dict(headers or {}, **{"Content-Type": "application/json", "Accept": "application/json"})
        wait = 0.1
        while True:
            if time.monotonic() > self.give_up_at:
                raise GiveUp(f"{method} {path}: no answer before the member's time was up")
            with self.lock:
                self.counts.requests += 1
            try:
                status, response_headers, text = self._once(method, path, body, headers)
            except (OSError, http.client.HTTPException) as exc:
                self._note(type(exc).__name__)
            else:
                if status in ok:
                    return status, response_headers, text
                if status < 500 and status != 429:
                    raise RuntimeError(f"{method} {path}: {status} {pages.message(text)}")
                self._note(str(status))
            time.sleep(wait * (0.5 + self.rng.random()))
            wait = min(wait * 2, 2.0)

    def api(self, method, path, ok, payload):
        status, _, text = self.request(method, path, ok, headers={"X-CSRFToken": self.csrf}, json_body=payload)
        return status, json.loads(text)

    # the member's way
    def login(self):
        self.cookies.clear()
        _, _, text = self.request("GET", "/login", (200,))
        token = pages.form_token(text)
        form = urllib.parse.urlencode({"csrf_token": token, "username": self.username,
                                       "password": self.data.password, "next": ""})
        _, headers, _ = self.request("POST", "/login", (302,), body=form,
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        if "/login" in (headers.get("Location") or "/login"):
            raise RuntimeError(f"{self.username}: not logged in")
        _, _, text = self.request("GET", f"/quiz/{self.data.quiz_id}", (200,))
        self.csrf = pages.form_token(text)

    def start_attempt(self):
        # 201 a new attempt; 200 the one in progress (a start applied whose answer was lost): idempotent.
        status, view = self.api("POST", f"/api/v1/quizzes/{self.data.quiz_id}/attempts", (200, 201), {})
        if view.get("state") != "in_progress":
            raise RuntimeError(f"{self.username}: start gave {view.get('state')}")
        self.held = pages.held_answers(view)  # a resumed attempt's answers are stored
        if self.ledger and self.ledger[-1]["id"] == view["id"]:
            return view  # resumed the attempt already in the ledger
        self.ledger.append({"id": view["id"], "start": "api", "saves": 0, "seq": 0, "answers": None,
                            "prediction": None, "submitted": False})
        self.seq = view.get("seq") or 0
        self.started_at = pages.iso_seconds(view.get("started_at"))
        self.offset = pages.iso_seconds(view.get("server_now")) - time.time()
        return view

    def save(self, attempt_id, answers, prediction):
        self.seq = pages.next_seq(self.seq, self.started_at, time.time() + self.offset)
        seq = self.seq
        sent = pages.unsent(answers, self.held)  # as quiz.js: what the server does not hold yet
        _, body = self.api("PUT", f"/api/v1/attempts/{attempt_id}/answers", (200,),
                           {"seq": seq, "answers": sent, "prediction": prediction})
        self.held.update(sent)
        # Applied; or not applied because this very seq is already stored (the retry of a save whose answer was
        # lost): either way the server holds this save.
        if not (body.get("applied") or body.get("seq") == seq):
            raise RuntimeError(f"{self.username}: save {seq} refused, the server holds seq {body.get('seq')}")
        if not body.get("applied"):
            with self.lock:
                self.counts.replayed_saves += 1
        if body.get("server_now"):
            self.offset = pages.iso_seconds(body["server_now"]) - time.time()
        entry = self.ledger[-1]
        entry["saves"] += 1
        if seq > entry["seq"]:
            entry.update(seq=seq, answers={k: list(v) for k, v in answers.items()}, prediction=prediction)

    def submit(self, attempt_id, prediction):
        _, view = self.api("POST", f"/api/v1/attempts/{attempt_id}/submit", (200,), {"prediction": prediction})
        if view.get("state") != "finished":
            raise RuntimeError(f"{self.username}: submit gave {view.get('state')}")
        self.ledger[-1]["submitted"] = True

    def run(self):
        try:
            self.login()
            while not self.stop.is_set():
                view = self.start_attempt()
                positions = pages.api_questions(view)
                answers = {str(p): [] for p in sorted(positions)}
                for position in sorted(positions):
                    answers[str(position)] = [str(self.rng.randrange(positions[position]))]
                    self.save(view["id"], answers, None)
                prediction = str(self.rng.randint(100, 5000))
                self.save(view["id"], answers, prediction)
                self.submit(view["id"], prediction)
        except Exception as exc:  # noqa: BLE001 (reported with the verdict)
            self.failure = f"{type(exc).__name__}: {exc}"
        finally:
            self._drop()


# -- the run -----------------------------------------------------------------------------------------

def database_checks(path):
    """(integrity_check's answer, problems) of the SQLite database: no attempt number twice, every finished
    attempt with one score, none in progress with a score, one ranking entry per member and round."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        integrity = "; ".join(row[0] for row in conn.execute("PRAGMA integrity_check"))
        problems = []
        for sql, text in (
            ("SELECT user_id, quiz_id, number, count(*) FROM attempt WHERE user_id IS NOT NULL "
             "GROUP BY user_id, quiz_id, number HAVING count(*) > 1", "attempt number twice"),
            ("SELECT id, state, score FROM attempt WHERE state = 'finished' AND "
             "(score IS NULL OR max_score IS NULL OR finished_at IS NULL)", "finished without a score"),
            ("SELECT id, state, score FROM attempt WHERE state != 'finished' AND score IS NOT NULL",
             "a score while in progress"),
            ("SELECT round_id, user_id, count(*) FROM roundentry GROUP BY round_id, user_id HAVING count(*) > 1",
             "two ranking entries"),
        ):
            with contextlib.suppress(sqlite3.OperationalError):  # roundentry's name, should it differ
                problems += [f"{text}: {row}" for row in conn.execute(sql)]
    return integrity, problems


def run(data, members=16, worker_kills=20, server_kills=4, seed=1, log_dir=None, out=print,
        workers=None, threads=None):
    """The fault scenario on ``data`` (SQLite); a dict of counts with ``problems`` ([] is good)."""
    default_workers, default_threads = servers.serve_settings()
    rng = random.Random(seed)
    with contextlib.ExitStack() as stack:
        log_dir = log_dir or stack.enter_context(tempfile.TemporaryDirectory(prefix="portal-faults-log-"))
        portal = Portal(data, os.path.join(log_dir, "server.log"), workers or default_workers,
                        threads or default_threads)
        stack.callback(portal.stop)
        portal.start()
        out(f"  server {portal.url}: gunicorn {portal.workers} workers × {portal.threads} threads; {members} "
            f"members; {worker_kills} worker kills then {server_kills} server kills")
        stop, lock, counts = threading.Event(), threading.Lock(), Counts()
        # Room for every kill and restart on a slow machine: a member gives up only after this.
        give_up_at = time.monotonic() + worker_kills * 3 + server_kills * (portal.ready_timeout + 5) + 300
        threads_ = [Member(portal.port, data, i, stop, give_up_at, seed, counts, lock) for i in range(members)]
        stack.callback(lambda: [t.join(5) for t in threads_] and None)
        stack.callback(stop.set)
        started = time.monotonic()
        for member in threads_:
            member.start()
        time.sleep(1.0)
        killed_workers = killed_servers = 0
        while killed_workers < worker_kills:
            time.sleep(rng.uniform(1.0, 3.0))
            if portal.kill_worker(rng):
                killed_workers += 1
        portal.wait_ready()  # the last worker respawned
        restarts = []
        while killed_servers < server_kills:
            time.sleep(rng.uniform(1.0, 3.0))
            portal.kill_all()
            killed_servers += 1
            began = time.monotonic()
            portal.start()
            restarts.append(time.monotonic() - began)
        time.sleep(rng.uniform(1.0, 3.0))  # load on the last server too
        stop.set()
        for member in threads_:
            member.join(max(1.0, give_up_at - time.monotonic() + 10))
        elapsed = time.monotonic() - started
        alive = [t.name for t in threads_ if t.is_alive()]
        log_errors = portal.log_problems()
        portal.stop()
    ledger = [{"index": t.index, "username": t.username, "attempts": t.ledger, "failure": t.failure}
              for t in threads_]
    stored = ledgers.read_attempts(os.path.join(data.instance_path, "portal.db"), data.quiz_id,
                                   [m["username"] for m in ledger])
    verdict = ledgers.verify(ledger, stored)
    integrity, db_problems = database_checks(os.path.join(data.instance_path, "portal.db"))
    failures = [f"{m['username']}: {m['failure']}" for m in ledger if m["failure"]]
    problems = (verdict["problems"] + db_problems + failures
                + ([f"integrity_check: {integrity}"] if integrity != "ok" else [])
                + ([f"members still running: {alive}"] if alive else []))
    return dict(verdict, problems=problems, integrity=integrity, worker_kills=killed_workers,
                server_kills=killed_servers, elapsed=elapsed, requests=counts.requests, retries=counts.retries,
                replayed_saves=counts.replayed_saves, ledger=ledger,
                retried_for=counts.errors, restart_seconds=restarts, log_errors=log_errors[0],
                member_failures=failures)


def verdict_line(result):
    return (f"  faults: {'OK' if not result['problems'] else 'FAILED'} — {result['worker_kills']} worker kills, "
            f"{result['server_kills']} server kills; acknowledged {result['starts']} starts, {result['saves']} "
            f"saves, {result['submits']} submits checked in {result['attempts_checked']} attempts; "
            f"{len(result['problems'])} mismatches; integrity_check {result['integrity']}; "
            f"{result['requests']} requests, {result['retries']} sent again ({result['replayed_saves']} saves found "
            f"already applied)")


def bench_faults():
    """python -m bench faults: rows for bench's table (the count of acknowledged writes checked; no rate)."""
    members = _setting("PORTAL_BENCH_FAULT_MEMBERS", 16)
    worker_kills = _setting("PORTAL_BENCH_FAULT_WORKER_KILLS", 20)
    server_kills = _setting("PORTAL_BENCH_FAULT_SERVER_KILLS", 4)
    seed = _setting("PORTAL_BENCH_FAULT_SEED", 1)
    print(f"\n== faults: kill -9 a gunicorn worker every 1-3 s ({worker_kills} times), then the whole server "
          f"({server_kills} times, restarted on the same port), while members save and submit; SQLite", flush=True)
    with small_instance(members=max(64, members)) as data:
        result = run(data, members, worker_kills, server_kills, seed)
    print(f"  {result['elapsed']:.0f} s; requests sent again after: "
          + (", ".join(f"{k} × {v}" for k, v in sorted(result["retried_for"].items())) or "nothing")
          + f"; server back after a kill in " + ", ".join(f"{s:.1f}" for s in result["restart_seconds"]) + " s"
          + f"; server log error lines {result['log_errors']}")
    print(verdict_line(result))
    for line in result["problems"][:10] + result["notes"][:5]:
        print(f"    {line}")
    SUMMARY["faults"] = result
    writes = result["saves"] + result["submits"]
    return [(f"faults: acknowledged saves + submits checked ({result['worker_kills']} worker + "
             f"{result['server_kills']} server kills, {len(result['problems'])} mismatches)",
             writes, writes / result["elapsed"], 0.0, 0.0, 0.0)]


def summary_lines():
    result = SUMMARY.get("faults")
    if not result:
        return []
    return [f"faults: {'no acknowledged write lost' if not result['problems'] else 'FAILED'} — "
            f"{result['worker_kills']} worker kills + {result['server_kills']} server kills survived; "
            f"{result['saves']} saves and {result['submits']} submits acknowledged and checked; "
            f"{len(result['problems'])} mismatches; integrity_check {result['integrity']}"]


if __name__ == "__main__":
    bench_faults()
