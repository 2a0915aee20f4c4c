"""Run a load scenario: the server, the load client (bench/load/driver.py in a process of its own), the report.

Settings (environment; defaults in brackets):

    PORTAL_BENCH_LOAD_SECONDS   how long the contest-day and baseline runs last [60]
    PORTAL_BENCH_LOAD_USERS     simulated members / baseline clients at once [64]
    PORTAL_BENCH_THINK          seconds a member thinks before each answer, "min,max" [0,0: as fast as
                                the server answers, like the baseline's clients]
    PORTAL_BENCH_SYNC_STEPS     members starting within the same window, step by step
                                [500,1000,2000,3000,4000,5000,6000,8000,10000]
    PORTAL_BENCH_SYNC_WINDOW    the window, in seconds [10]
    PORTAL_BENCH_SYNC_GIVE_MS   a step whose p99 from opening the round's page to the attempt's page is
                                over this ends the climb, as does any failed start [10000]
    PORTAL_BENCH_WORKERS, PORTAL_BENCH_THREADS   gunicorn's, for the portal and the baseline alike
                                [the portal's SERVE_WORKERS and SERVE_THREADS]
    PORTAL_BENCH_ONE_ADDRESS=1  every member from 127.0.0.1 instead of an address of its own
    PORTAL_BENCH_DATABASE_URL   an empty PostgreSQL database instead of SQLite (all load runs)
    PORTAL_BENCH_POSTGRES_URL   the server "contest-day-postgres" makes (and drops) a fresh database on
                                [postgresql://postgres@127.0.0.1:5432/postgres]
    PORTAL_BENCH_POSTGRES_POOL=0  a connection per request on PostgreSQL instead of the pool
                                (postgresql+pool://) a deployment configures
    PORTAL_BENCH_DATABASE_PREPARE=false  PostgreSQL without server-side prepared statements (DATABASE_PREPARE)
    PORTAL_BENCH_SQLITE_SYNCHRONOUS  the portal's SQLITE_SYNCHRONOUS for the run (FULL: fsync at every commit)
    PORTAL_BENCH_REDIS_URL      the Redis "multi-host" shares between its hosts (databases 11 and 12, keys
                                under a prefix of the run's own, deleted afterwards) [redis://127.0.0.1:6379]
    PORTAL_BENCH_MULTI_MEMBERS, PORTAL_BENCH_MULTI_ATTEMPTS   "multi-host": members, attempts each [64, 3]

Scenarios: contest-day (the full member flow), answer-save (the headline: save + submit only, against the
baseline), sync-start, baseline, multi-host (two `portal serve` sharing PostgreSQL and Redis; the database
checked against what the servers acknowledged, and against one host).
"""

import atexit
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

from bench.load import dataset as datasets
from bench.load import results, server as servers

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SUMMARY = {}  # what the runs found, for the lines under bench's table


def setting(name, default):
    value = os.environ.get(name)
    return type(default)(value) if value not in (None, "") else default


def _floats(name, default):
    value = os.environ.get(name) or default
    return [float(x) for x in value.split(",")]


def _ints(name, default):
    value = os.environ.get(name) or default
    return [int(x) for x in value.split(",")]


# -- shared data: contest-day and sync-start use one instance (different members) ------------------

_stack = contextlib.ExitStack()
_datasets = {}
atexit.register(_stack.close)


_used = {}  # dataset -> members already taken by contest-day runs (each run takes fresh ones)


def shared_dataset(database_url=None):
    key = database_url or "sqlite"
    if key not in _datasets:
        _datasets[key] = _stack.enter_context(datasets.instance(database_url))
    return _datasets[key]


def close():
    """Remove the instances (and the databases) built for this run."""
    _stack.close()
    _datasets.clear()


def _sigterm(signum, frame):
    raise KeyboardInterrupt  # so every `finally` stops its server and removes its files


# -- one run of the load client ----------------------------------------------------------------

def _machine_busy():
    """(busy, total) jiffies of the whole machine, from /proc/stat (others' work included)."""
    with open("/proc/stat") as fh:
        fields = [int(x) for x in fh.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def drive(config, server, timeout):
    """Run the driver with ``config`` against ``server``; return its result with the CPU each side used."""
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _sigterm)
    config = dict(config, host=server.url)
    assert config["host"].startswith("http://127.0.0.1:")  # traffic to this machine only
    with tempfile.TemporaryDirectory(prefix="portal-drive-") as tmp:
        config_path, result_path = os.path.join(tmp, "config.json"), os.path.join(tmp, "result.json")
        with open(config_path, "w") as fh:
            json.dump(config, fh)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [REPO, os.environ.get("PYTHONPATH")])))
        database_cpu = servers.postgres_cpu_seconds() if server.database_url else None
        server_cpu, machine, started = server.cpu_seconds(), _machine_busy(), time.monotonic()
        process = subprocess.Popen([sys.executable, "-m", "bench.load.driver", config_path, result_path],
                                   cwd=REPO, env=env, stdin=subprocess.DEVNULL)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise RuntimeError(f"the load client ran over {timeout} s and was stopped") from None
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        elapsed = time.monotonic() - started
        server_cpu = server.cpu_seconds() - server_cpu
        busy, total = _machine_busy()
        if database_cpu is not None:
            database_cpu = servers.postgres_cpu_seconds() - database_cpu
        if process.returncode:
            raise RuntimeError(f"the load client failed (exit {process.returncode})")
        with open(result_path) as fh:
            result = json.load(fh)
    cores = os.cpu_count()
    result["cpu"] = {"elapsed": elapsed, "server": server_cpu, "database": database_cpu,
                     "machine": (busy - machine[0]) / (total - machine[1]) * cores * elapsed if total > machine[1]
                     else 0.0}
    result["server"] = {"workers": server.workers, "threads": server.threads}
    return result


def cpu_line(result, client_cpu, requests=None):
    """The CPU each side used; with ``requests``, also the server's requests per CPU-second (a figure that
    moves less than req/s when other work shares the machine)."""
    cpu = result["cpu"]
    elapsed = cpu["elapsed"]
    database = cpu.get("database")
    others = max(0.0, cpu["machine"] - cpu["server"] - client_cpu - (database or 0.0))
    return (f"  CPU over {elapsed:.0f} s ({os.cpu_count()} cores): server {cpu['server'] / elapsed:.2f} cores, "
            + (f"PostgreSQL {database / elapsed:.2f} cores, " if database is not None else "")
            + f"load client {client_cpu / elapsed:.2f} cores (measured window), "
            f"machine {cpu['machine'] / elapsed:.2f} cores busy (other work ≈ {others / elapsed:.2f})"
            + (f"; {requests / (cpu['server'] + (database or 0.0)):.0f} requests per server CPU-second"
               if requests and cpu["server"] else ""))


def log_line(server):
    count, lines = server.log_problems()
    if not count:
        return "  server log: no errors"
    return "\n".join([f"  server log: {count} error lines, the first:"] + [f"    {line[:200]}" for line in lines])


def _client_config(data):
    return {"username": data.username, "password": data.password, "contest_id": data.contest_id,
            "quiz_id": data.quiz_id, "spread_addresses": os.environ.get("PORTAL_BENCH_ONE_ADDRESS") != "1",
            "network_timeout": 60.0}


def _heading(text):
    print(f"\n== {text}", flush=True)


# -- the scenarios ---------------------------------------------------------------------------------

def contest_day(data, label="contest-day"):
    """Simulated members taking the round (login to result), against `portal serve`; rows for the table."""
    users, seconds = setting("PORTAL_BENCH_LOAD_USERS", 64), setting("PORTAL_BENCH_LOAD_SECONDS", 60)
    think = _floats("PORTAL_BENCH_THINK", "0,0")
    with tempfile.TemporaryDirectory(prefix="portal-serve-") as logs:
        with servers.portal(data, os.path.join(logs, "server.log")) as server:
            _heading(f"{label}: {users} members at once for {seconds} s, think {think[0]:g}-{think[-1]:g} s per "
                     f"answer, {data.database_label}, gunicorn {server.workers} workers × {server.threads} threads")
            config = dict(_client_config(data), scenario="contest-day", users=users, spawn_rate=max(1, users // 2),
                          duration=seconds, think=[think[0], think[-1]],
                          first_member=_used.get(data.instance_path, 0),
                          members=data.members // 2 - _used.get(data.instance_path, 0))
            result = drive(config, server, timeout=seconds + 120)
            phase = result["phases"][0]
            print(results.format_phase(phase))
            counters = phase["counters"]
            _used[data.instance_path] = config["first_member"] + counters["members"]
            done = counters["completed"]
            print(f"  completed attempts: {done} ({done / phase['elapsed']:.2f}/s); members started "
                  f"{counters['members']}, gave up after a failed request {counters['abandoned']}")
            print(cpu_line(result, phase["client_cpu"], results.totals(phase)[0]))
            print(log_line(server))
    n, failed, rate, p50, p95, p99 = results.totals(phase, results.SAVE_AND_SUBMIT)
    SUMMARY[label] = {"save_submit_rate": rate, "save_submit_p99": p99, "failed": sum(
        e["failures"] for e in phase["requests"].values()), "completed_rate": done / phase["elapsed"],
        "database": data.database_label}
    rows = results.table_rows(label, phase, results.SAVE_AND_SUBMIT + ("POST /quiz/[id]/start", "POST /login"))
    rows.append((f"{label}: answer save + submit together", n, rate, p50, p95, p99))
    rows.append((f"{label}: completed attempts (login to result)", done, done / phase["elapsed"], 0.0, 0.0, 0.0))
    return rows


def sync_start(data):
    """Members pressing Start within the same window, more each step until something gives."""
    steps = _ints("PORTAL_BENCH_SYNC_STEPS", "500,1000,2000,3000,4000,5000,6000,8000,10000")
    window = setting("PORTAL_BENCH_SYNC_WINDOW", 10.0)
    with tempfile.TemporaryDirectory(prefix="portal-serve-") as logs:
        with servers.portal(data, os.path.join(logs, "server.log")) as server:
            _heading(f"sync-start: N members open the round and press Start within the same {window:g} s, N = "
                     f"{', '.join(map(str, steps))} until something gives; {data.database_label}, "
                     f"gunicorn {server.workers} workers × {server.threads} threads")
            config = dict(_client_config(data), scenario="sync-start", steps=steps, window=window,
                          give_ms=setting("PORTAL_BENCH_SYNC_GIVE_MS", 10000.0), login_concurrency=16,
                          first_member=data.members // 2, members=data.members // 2)
            # Logging in N members takes ~N/40 s here; each step then needs window + submits.
            result = drive(config, server, timeout=sum(s / 15 + window + 120 for s in steps))
            rows, gave = [], None
            for phase in result["phases"]:
                print(f"  -- {phase['label']} ({phase['elapsed']:.1f} s)")
                print(results.format_phase(phase))
                if phase["kind"] != "clock":
                    continue
                p50, p95, p99, top = phase["start_to_page_ms"]
                print(f"  started {phase['started']} of {phase['members']} (failed {phase['failed']}, "
                      f"unfinished {phase['unfinished']}); round page to attempt page p50 {p50:.0f} ms, "
                      f"p99 {p99:.0f} ms, max {top:.0f} ms; the last one done {phase['last_done_s']:.1f} s after "
                      f"the clock; "
                      f"load client {phase['client_cpu'] / phase['elapsed']:.2f} cores")
                for failure in phase["failures"]:
                    print(f"    {failure[:200]}")
                rows.append((f"sync-start {phase['members']} in {window:g} s: {phase['started']} started, round page "
                             f"to attempt page", phase["members"], phase["started"] / phase["elapsed"], p50, p95, p99))
                start = [r for r in results.endpoint_rows(phase) if r[0] == "POST /quiz/[id]/start"]
                if start:
                    key, n, failed, rate, s50, s95, s99, _top = start[0]
                    rows.append((f"sync-start {phase['members']}: POST start" +
                                 (f" [{failed} failed]" if failed else ""), n, rate, s50, s95, s99))
                if phase.get("gave"):
                    gave = phase
            print(cpu_line(result, sum(p["client_cpu"] for p in result["phases"] if "client_cpu" in p)))
            print(log_line(server))
    clocks = [p for p in result["phases"] if p["kind"] == "clock"]
    SUMMARY["sync-start"] = {
        "steps": [{"members": p["members"], "started": p["started"], "p99": p["start_to_page_ms"][2]} for p in clocks],
        "gave": gave and {"members": gave["members"], "failed": gave["failed"], "failures": gave["failures"][:3]},
        "window": window, "give_ms": config["give_ms"]}
    return rows


def answer_save(data, label="answer-save"):
    """The headline: members with an attempt open, saving as quiz.js does with no pause, submitting and starting
    again, for the load test's seconds; the logins and first starts come before the clock."""
    users, seconds = setting("PORTAL_BENCH_LOAD_USERS", 64), setting("PORTAL_BENCH_LOAD_SECONDS", 60)
    first = _used.get(data.instance_path, 0)
    # Each simulated member starts a new attempt every 2 s or so, some 30 times what a person does: the
    # per-account start limit (RATELIMIT_QUIZ_START, 30 a minute) is raised for this run only, and said so.
    start_limit = "1000 per minute"
    with tempfile.TemporaryDirectory(prefix="portal-serve-") as logs:
        with servers.portal(data, os.path.join(logs, "server.log"),
                            settings={"PORTAL_RATELIMIT_QUIZ_START": start_limit}) as server:
            _heading(f"{label}: {users} members with an attempt open, for {seconds} s each saving as quiz.js does "
                     f"(21 saves, each with the answer just given, no pause), submitting and starting the next attempt "
                     f"through the API (start limit raised to {start_limit} per account for this run); "
                     f"{data.database_label}, gunicorn {server.workers} workers × {server.threads} threads")
            config = dict(_client_config(data), scenario="answer-save", users=users, duration=seconds,
                          login_concurrency=16, first_member=first, members=users)
            result = drive(config, server, timeout=seconds + users + 120)
            _used[data.instance_path] = first + users
            prepare, phase = result["phases"]
            print(f"  before the clock (not counted): {prepare['ready']} of {prepare['members']} members logged in "
                  f"and started an attempt in {prepare['elapsed']:.1f} s, "
                  f"{results.totals(prepare)[1]} failed requests")
            print(results.format_phase(phase))
            counters = phase["counters"]
            done = counters["completed"]
            print(f"  attempts submitted in the window: {done} ({done / phase['elapsed']:.2f}/s); attempts broken "
                  f"off by a failed request {counters['failed_flows']}")
            print(cpu_line(result, prepare["client_cpu"] + phase["client_cpu"]) + " (logins before the clock "
                  "included)")
            print(log_line(server))
    n, failed, rate, p50, p95, p99 = results.totals(phase, results.SAVE_AND_SUBMIT)
    SUMMARY[label] = {"save_submit_rate": rate, "save_submit_p99": p99, "save_submit_failed": failed,
                      "failed": results.totals(phase)[1], "requests": results.totals(phase)[0],
                      "users": counters["members"], "database": data.database_label}
    rows = results.table_rows(label, phase, results.SAVE_AND_SUBMIT + ("POST /api/v1/quizzes/[id]/attempts",))
    rows.append((f"{label}: answer save + submit together" + (f" [{failed} failed]" if failed else ""),
                 n, rate, p50, p95, p99))
    return rows


# -- several app hosts -----------------------------------------------------------------------------

def redis_url():
    return os.environ.get("PORTAL_BENCH_REDIS_URL", "redis://127.0.0.1:6379")


def _redis_reachable(url, label):
    import redis

    try:
        with contextlib.closing(redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)) as client:
            client.ping()
            return True
    except redis.RedisError as exc:
        print(f"\n== {label}: skipped, no Redis at {url} ({exc})")
        return False


# Redis database numbers no test and no example configuration uses (docs/deploy: 0 and 1); inside them the run's
# keys carry a prefix of its own, and only those keys are deleted afterwards.
REDIS_LIMITS_DB, REDIS_JOBS_DB = 11, 12


def _redis_count(url, prefix):
    import redis

    with contextlib.closing(redis.Redis.from_url(url)) as client:
        return sum(1 for _key in client.scan_iter(match=f"*{prefix}*", count=1000))


@contextlib.contextmanager
def _redis_keys(url, prefix):
    """(rate-limit storage URL, jobs URL); every key under ``prefix`` in both deleted on the way out."""
    import redis

    base = url.rstrip("/")
    try:
        yield f"{base}/{REDIS_LIMITS_DB}", f"{base}/{REDIS_JOBS_DB}"
    finally:
        for db in (REDIS_LIMITS_DB, REDIS_JOBS_DB):
            with contextlib.closing(redis.Redis.from_url(f"{base}/{db}")) as client:
                keys = list(client.scan_iter(match=f"*{prefix}*", count=1000))
                if keys:
                    client.delete(*keys)


def _one_deployment(data, hosts, settings, label):
    """`portal serve` × ``hosts`` on ``data`` (each with an instance folder of its own, sharing the database,
    Redis and the secret key), the multi-host client across them; (driver result, stored attempts, verdict)."""
    from bench.load import ledger

    workers, threads = servers.serve_settings()
    per_host = max(1, workers // hosts)  # the same total as one host, split
    users, attempts = setting("PORTAL_BENCH_MULTI_MEMBERS", 64), setting("PORTAL_BENCH_MULTI_ATTEMPTS", 3)
    with tempfile.TemporaryDirectory(prefix="portal-hosts-") as tmp, contextlib.ExitStack() as stack:
        running, instances = [], [os.path.join(tmp, f"host{n + 1}") for n in range(hosts)]
        for instance in instances:
            os.makedirs(instance)
            running.append(stack.enter_context(servers.portal(
                data, f"{instance}.log", per_host, threads, instance_path=instance, settings=settings)))
        _heading(f"{label}: {users} members × {attempts} attempts (21 saves and a submit each, no pause), every "
                 f"request to the next of {hosts} host(s) ({', '.join(s.url for s in running)}), each `portal serve` "
                 f"{per_host} worker(s) × {threads} threads with an instance folder of its own; one PostgreSQL, "
                 f"one Redis, one secret key")
        config = dict(_client_config(data), scenario="multi-host", hosts=[s.url for s in running], users=users,
                      attempts=attempts, first_member=0, members=users, time_limit=60 + users * attempts * 2)
        result = drive(config, running[0], timeout=config["time_limit"] + 60)
        phase = result["phases"][0]
        print(results.format_phase(phase))
        for server in running:
            print(log_line(server).replace("server log", f"server log ({server.url})"))
        print("  in the hosts' instance folders afterwards: " + "; ".join(
            f"{os.path.basename(path)}/ {', '.join(sorted(os.listdir(path))) or 'nothing'}" for path in instances))
        prefix = settings.get("PORTAL_RATELIMIT_KEY_PREFIX")
        if prefix:
            print(f"  in Redis: {_redis_count(settings['PORTAL_RATELIMIT_STORAGE_URI'], prefix)} rate-limit counters "
                  f"the hosts shared")
        broken = [(m["username"], m["failure"]) for m in phase["ledger"] if m["failure"]]
        if broken:
            print(f"  members who stopped early: {len(broken)}, e.g. " + "; ".join(f"{u}: {f[:120]}" for u, f in
                                                                             broken[:3]))
    stored = ledger.read_attempts(data.database_url, data.quiz_id, [m["username"] for m in phase["ledger"]])
    verdict = dict(ledger.verify(phase["ledger"], stored), stopped_early=len(broken))
    print(_verdict_line(verdict))
    for line in verdict["problems"][:10] + verdict["notes"][:5]:
        print(f"    {line}")
    return phase, stored, verdict


def _verdict_line(verdict):
    return (f"  database check: {verdict['members'] - verdict['stopped_early']} of {verdict['members']} members took "
            f"every attempt; acknowledged {verdict['starts']} starts, {verdict['saves']} saves, "
            f"{verdict['submits']} submits; {verdict['attempts_checked']} attempts checked "
            f"({verdict['attempts_in_database']} in the database, {verdict['finished_in_database']} finished); "
            f"mismatches {len(verdict['problems'])} (0 expected)"
            + (f"; notes {len(verdict['notes'])}" if verdict["notes"] else ""))


def multi_host(label="multi-host"):
    """Two `portal serve` on one PostgreSQL and one Redis, members switching host on every request, the
    database checked against what was acknowledged; then one host, the same members and answers, compared."""
    import secrets

    from bench.load import _postgres_reachable, ledger

    if not _postgres_reachable(datasets.postgres_server(), label) or not _redis_reachable(redis_url(), label):
        return []
    token = f"portal-bench-{os.getpid()}-{int(time.time())}"
    secret = secrets.token_hex(32)
    runs = {}
    with _redis_keys(redis_url(), token) as (limits, jobs):
        for hosts in (2, 1):
            settings = {"PORTAL_SECRET_KEY": secret, "PORTAL_RATELIMIT_STORAGE_URI": limits,
                        "PORTAL_RATELIMIT_KEY_PREFIX": f"{token}-{hosts}", "PORTAL_JOBS_URL": jobs,
                        "PORTAL_JOBS_QUEUE": f"{token}-{hosts}"}
            with datasets.instance("fresh") as data:
                runs[hosts] = _one_deployment(data, hosts, settings,
                                              f"{label}" if hosts > 1 else f"{label}: the same on one host")
    (phase2, stored2, verdict2), (phase1, stored1, verdict1) = runs[2], runs[1]
    differences = ledger.compare(stored2, stored1)
    finished2 = sum(1 for a in stored2.values() if a.state == "finished")
    finished1 = sum(1 for a in stored1.values() if a.state == "finished")
    print(f"  two hosts against one: {finished2} and {finished1} finished attempts; stored answers per (member, "
          f"attempt number) differing: {len(differences)} (0 expected)")
    for line in differences[:10]:
        print(f"    {line}")
    ok = not (verdict2["problems"] or verdict1["problems"] or differences or results.totals(phase2)[1]
              or results.totals(phase1)[1] or verdict2["stopped_early"] or verdict1["stopped_early"]
              or not finished2)
    SUMMARY[label] = {"ok": ok, "two": verdict2, "one": verdict1, "differences": len(differences),
                      "failed": results.totals(phase2)[1] + results.totals(phase1)[1]}
    rows = []
    for hosts, phase, verdict in ((2, phase2, verdict2), (1, phase1, verdict1)):
        n, failed, rate, p50, p95, p99 = results.totals(phase, results.SAVE_AND_SUBMIT)
        rows.append((f"{label}, {hosts} host{'s' if hosts > 1 else ''}: answer save + submit"
                     + (f" [{failed} failed]" if failed else ""), n, rate, p50, p95, p99))
    rows.append((f"{label}: attempts checked in the database, 2 hosts vs 1, "
                 f"{len(verdict2['problems']) + len(verdict1['problems']) + len(differences)} mismatches",
                 verdict2["attempts_checked"] + verdict1["attempts_checked"], 0.0, 0.0, 0.0, 0.0))
    return rows


def baseline(database_url=None, label="baseline"):
    """The baseline app's one insert, under the same gunicorn settings, at the same number of clients."""
    users, seconds = setting("PORTAL_BENCH_LOAD_USERS", 64), setting("PORTAL_BENCH_LOAD_SECONDS", 60)
    with tempfile.TemporaryDirectory(prefix="portal-baseline-") as tmp:
        target = database_url or os.path.join(tmp, "baseline.db")
        with servers.baseline(target, os.path.join(tmp, "server.log")) as server:
            _heading(f"{label}: {users} clients for {seconds} s, one insert a request "
                     f"({'PostgreSQL' if database_url else 'SQLite'}), gunicorn {server.workers} workers × "
                     f"{server.threads} threads")
            result = drive(dict(scenario="baseline", users=users, spawn_rate=users, duration=seconds), server,
                           timeout=seconds + 60)
            phase = result["phases"][0]
            print(results.format_phase(phase))
            print(cpu_line(result, phase["client_cpu"], results.totals(phase)[0]))
            print(log_line(server))
    n, failed, rate, p50, p95, p99 = results.totals(phase)
    SUMMARY[label] = {"rate": rate, "failed": failed}
    return [(f"{label}: POST /hit (one insert)" + (f" [{failed} failed]" if failed else ""), n, rate, p50, p95, p99)]


def summary_lines():
    """The headline figures from this run's load tests, for the lines under the table."""
    lines = []
    run, base = SUMMARY.get("answer-save"), SUMMARY.get("baseline")
    if run and base and base["rate"]:
        lines.append(f"answer save + submit (answer-save, {run['users']} members saving and submitting): "
                     f"{run['save_submit_rate']:.1f} req/s = {run['save_submit_rate'] / base['rate']:.0%} of the "
                     f"baseline's {base['rate']:.1f} req/s (target ≥ 60%); p99 {run['save_submit_p99']:.0f} ms "
                     f"(target < 300); {run['failed']} failed requests of {run['requests']} (target 0)")
    for label, base_label in (("contest-day", "baseline"), ("contest-day-postgres", "baseline"),
                              ("contest-day-postgres", "baseline-postgres")):
        run, base = SUMMARY.get(label), SUMMARY.get(base_label)
        if run and base and base["rate"]:
            # No target here: the 60% and 300 ms are answer-save's; these members also log in and open pages.
            lines.append(f"{label} (the full member flow: logins, pages, saves, submits): answer save + submit "
                         f"{run['save_submit_rate']:.1f} req/s = "
                         f"{run['save_submit_rate'] / base['rate']:.0%} of {base_label}'s {base['rate']:.1f} req/s; "
                         f"p99 {run['save_submit_p99']:.0f} ms; "
                         f"{run['failed']} failed requests; {run['completed_rate']:.2f} completed attempts/s")
    sqlite, postgres = SUMMARY.get("contest-day"), SUMMARY.get("contest-day-postgres")
    if sqlite and postgres and sqlite["save_submit_rate"]:
        lines.append(f"PostgreSQL vs SQLite, answer save + submit: "
                     f"{postgres['save_submit_rate'] / sqlite['save_submit_rate'] - 1:+.0%} (target ≥ -20%)")
    multi = SUMMARY.get("multi-host")
    if multi:
        two, one = multi["two"], multi["one"]
        lines.append(f"multi-host: {'identical' if multi['ok'] else 'NOT identical'} — 2 hosts: {two['starts']} "
                     f"starts, {two['saves']} saves, {two['submits']} submits acknowledged, "
                     f"{two['attempts_checked']} attempts checked, {len(two['problems'])} mismatches; 1 host: "
                     f"{one['attempts_checked']} attempts checked, {len(one['problems'])} mismatches; stored answers "
                     f"differing between the runs {multi['differences']}; failed requests {multi['failed']}")
    sync = SUMMARY.get("sync-start")
    if sync:
        steps = "; ".join(f"{s['members']}: {s['started']} started, p99 {s['p99'] / 1000:.1f} s" for s in sync["steps"])
        text = f"sync-start, round page to attempt page within {sync['window']:g} s: {steps}"
        if sync["gave"]:
            gave = sync["gave"]
            text += (f" — gave at {gave['members']}: " + (f"{gave['failed']} failed" if gave["failed"] else
                                                          f"p99 over {sync['give_ms'] / 1000:g} s")
                     + (f" ({'; '.join(f[:100] for f in gave['failures'])})" if gave["failures"] else ""))
        lines.append(text)
    return lines
