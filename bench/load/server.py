"""Start and stop the servers under test: `portal serve` and the baseline app, each on a free 127.0.0.1 port.

Both are started in a session of their own (Ctrl+C reaches the benchmark, which then stops them) and stopped
with SIGTERM, then SIGKILL, on every way out. Their output goes to a log file, read afterwards for errors.
"""

import contextlib
import dataclasses
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time

from portal import config as portal_config

BIN = os.path.dirname(sys.executable)


def serve_settings():
    """(workers, threads) as a deployment configures them: PORTAL_BENCH_WORKERS/THREADS, else the portal's defaults."""
    return (int(os.environ.get("PORTAL_BENCH_WORKERS") or portal_config.SERVE_WORKERS),
            int(os.environ.get("PORTAL_BENCH_THREADS") or portal_config.SERVE_THREADS))


def free_port():
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclasses.dataclass
class Server:
    url: str
    process: subprocess.Popen
    log_path: str
    workers: int
    threads: int
    database_url: str = None  # PostgreSQL's; None for SQLite (in the workers' own processes)

    def tree(self):
        """The server's processes (gunicorn's master and workers) still alive."""
        import psutil  # with Locust (the bench extra)

        try:
            root = psutil.Process(self.process.pid)
            return [root] + root.children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def cpu_seconds(self):
        total = 0.0
        import psutil

        for proc in self.tree():
            with contextlib.suppress(psutil.NoSuchProcess):
                times = proc.cpu_times()
                total += times.user + times.system
        return total

    def worker_pids(self):
        return [p.pid for p in self.tree()[1:]]

    def log_problems(self, limit=8):
        """(count, first lines) of the log's tracebacks, errors and gunicorn's critical messages."""
        with open(self.log_path, errors="replace") as fh:
            lines = [line.rstrip() for line in fh if PROBLEM.search(line)]
        return len(lines), lines[:limit]


def postgres_cpu_seconds():
    """CPU used so far by the PostgreSQL server on this machine (every database's backends, others' too).

    A backend that has ended counts in its postmaster's children times, a live one in its own: a difference
    of two readings is what the server did in between.
    """
    import psutil  # with Locust (the bench extra)

    total = 0.0
    for proc in psutil.process_iter(["name"]):
        if proc.info["name"] != "postgres":
            continue
        with contextlib.suppress(psutil.Error):
            times = proc.cpu_times()
            total += times.user + times.system
            if proc.ppid() == 1 or proc.parent().name() != "postgres":  # the postmaster
                total += times.children_user + times.children_system
    return total


PROBLEM = re.compile(r"Traceback|\[ERROR\]|\[CRITICAL\]|WORKER TIMEOUT|Exception|Error:")


def _get(url, path, timeout=2.0):
    host, port = url.rsplit("/", 1)[-1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)  # no proxy settings apply
    try:
        conn.request("GET", path)
        return conn.getresponse().status
    finally:
        conn.close()


def wait_ready(server, path, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"the server stopped (exit {server.process.returncode}); see {server.log_path}")
        with contextlib.suppress(OSError):
            if _get(server.url, path) == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"the server did not answer {path} in {timeout} s; see {server.log_path}")


def stop(process, timeout=20):
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    # Workers left behind by a master killed hard (they are in its process group).
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


@contextlib.contextmanager
def _running(command, env, log_path, workers, threads, ready_path, port, database_url=None):
    with open(log_path, "ab") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True)
    server = Server(f"http://127.0.0.1:{port}", process, log_path, workers, threads, database_url)
    try:
        wait_ready(server, ready_path)
        yield server
    finally:
        stop(process)


def portal(dataset, log_path, workers=None, threads=None, instance_path=None, settings=None):
    """`portal serve` (gunicorn, gthread) on the dataset's instance; the embedded job worker is off
    (no job runs on contest day, and it would only add a process polling its queue).

    ``instance_path``: an instance folder of the server's own (an app host shares no disk with another);
    ``settings``: more PORTAL_* environment (the shared secret key, Redis).
    """
    default_workers, default_threads = serve_settings()
    workers, threads = workers or default_workers, threads or default_threads
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    env.update(PORTAL_INSTANCE_PATH=instance_path or dataset.instance_path, PORTAL_JOBS_EMBEDDED_WORKER="false",
               PORTAL_PUBLIC_URL=f"http://127.0.0.1:{port}")
    if dataset.database_url:
        env["PORTAL_DATABASE_URL"] = pooled(dataset.database_url)
    if os.environ.get("PORTAL_BENCH_SQLITE_SYNCHRONOUS"):  # e.g. FULL, to measure what durability costs
        env["PORTAL_SQLITE_SYNCHRONOUS"] = os.environ["PORTAL_BENCH_SQLITE_SYNCHRONOUS"]
    if os.environ.get("PORTAL_BENCH_DATABASE_PREPARE"):  # false: PostgreSQL without prepared statements
        env["PORTAL_DATABASE_PREPARE"] = os.environ["PORTAL_BENCH_DATABASE_PREPARE"]
    env.update(settings or {})
    command = [os.path.join(BIN, "portal"), "serve", "--bind", f"127.0.0.1:{port}",
               "--workers", str(workers), "--threads", str(threads)]
    return _running(command, env, log_path, workers, threads, "/login", port, dataset.database_url)


def pooled(url):
    """The URL a deployment on PostgreSQL configures: with the connection pool the README describes
    (``postgresql+pool://``), unless PORTAL_BENCH_POSTGRES_POOL=0 asks for a connection per request."""
    if os.environ.get("PORTAL_BENCH_POSTGRES_POOL", "1") != "0" and url.startswith("postgresql://"):
        return "postgresql+pool://" + url[len("postgresql://"):]
    return url


def baseline(database, log_path, workers=None, threads=None):
    """bench/baseline_app.py under gunicorn with the settings `portal serve` uses."""
    default_workers, default_threads = serve_settings()
    workers, threads = workers or default_workers, threads or default_threads
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    env["BASELINE_DATABASE"] = pooled(database) if "://" in database else database
    command = [sys.executable, "-m", "bench.baseline_app", "--bind", f"127.0.0.1:{port}",
               "--workers", str(workers), "--threads", str(threads)]
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [_repo_root(), env.get("PYTHONPATH")]))
    return _running(command, env, log_path, workers, threads, "/ready", port,
                    database if "://" in database else None)


def _repo_root():
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
