"""Counting requests and reading the counts: per endpoint, every outcome, exact percentiles.

``Collector`` listens to Locust's request event in the load client (every
request, success or failure, with its time); a phase's counts travel to the
benchmark as JSON, and the functions below turn them into tables and the rows
of ``python -m bench``'s table. Nothing here imports Locust or gevent.
"""

import re
import statistics
import time

ID = re.compile(r"/\d+(?=/|$| )")

# The order of a member's way through the round, for the tables.
FLOW = ["GET /login", "POST /login", "GET / (home)", "GET /contests/[id]", "GET /quiz/[id] (round page)",
        "POST /quiz/[id]/start", "GET /quiz/attempts/[id]", "GET /api/v1/attempts/[id]",
        "PUT /api/v1/attempts/[id]/answers", "POST /api/v1/attempts/[id]/submit", "GET /quiz/attempts/[id]/result",
        "POST /api/v1/quizzes/[id]/attempts"]
SAVE_AND_SUBMIT = ("PUT /api/v1/attempts/[id]/answers", "POST /api/v1/attempts/[id]/submit")


def endpoint(method, name):
    """'PUT /api/v1/attempts/[id]/answers' for a request named by its URL, its path, or its endpoint already."""
    path = re.sub(r"^[a-z]+://[^/]+", "", name).split("?", 1)[0] or "/"
    return f"{method} {ID.sub('/[id]', path)}"


class Collector:
    """Every request's time and outcome, per endpoint, while active."""

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self.active = False
        self.requests = {}
        self.errors = {}
        self.started = self.stopped = None

    def start(self):
        self.requests, self.errors = {}, {}
        self.started, self.stopped, self.active = self.clock(), None, True

    def stop(self):
        self.stopped, self.active = self.clock(), False

    def on_request(self, request_type, name, response_time, exception=None, **_kwargs):
        if not self.active:
            return
        key = endpoint(request_type, name)
        entry = self.requests.setdefault(key, {"times": [], "failures": 0})
        entry["times"].append(round(response_time, 2))
        if exception is not None:
            entry["failures"] += 1
            message = str(exception).strip() or type(exception).__name__
            by_message = self.errors.setdefault(key, {})
            by_message[message[:200]] = by_message.get(message[:200], 0) + 1

    def phase(self, label, **extra):
        elapsed = (self.stopped or self.clock()) - self.started
        return {"label": label, "elapsed": elapsed, "requests": self.requests, "errors": self.errors, **extra}


def percentiles(times):
    """(p50, p95, p99) in ms, as bench.foundation.timed computes them; zeros for no sample."""
    if not times:
        return (0.0, 0.0, 0.0)
    if len(times) == 1:
        return (times[0],) * 3
    q = statistics.quantiles(times, n=100, method="inclusive")
    return (q[49], q[94], q[98])


def _order(key):
    return (FLOW.index(key) if key in FLOW else len(FLOW), key)


def endpoint_rows(phase):
    """[(endpoint, requests, failures, req/s, p50, p95, p99, max)] in the order of a member's flow."""
    rows = []
    for key in sorted(phase["requests"], key=_order):
        entry = phase["requests"][key]
        times = entry["times"]
        rows.append((key, len(times), entry["failures"], len(times) / phase["elapsed"], *percentiles(times),
                     max(times) if times else 0.0))
    return rows


def totals(phase, keys=None):
    """(requests, failures, req/s, p50, p95, p99) over the endpoints ``keys`` (all when None)."""
    times, failures = [], 0
    for key, entry in phase["requests"].items():
        if keys is None or key in keys:
            times.extend(entry["times"])
            failures += entry["failures"]
    return (len(times), failures, len(times) / phase["elapsed"] if phase["elapsed"] else 0.0, *percentiles(times))


def error_lines(phase):
    """'  PUT /api/…: 3 × 409 Time is up…' for every distinct error, most frequent first."""
    found = [(count, key, message) for key, by_message in phase["errors"].items()
             for message, count in by_message.items()]
    return [f"  {key}: {count} × {message}" for count, key, message in sorted(found, key=lambda f: (-f[0], f[1]))]


def format_phase(phase):
    """A phase as text: one line per endpoint, then the errors."""
    rows = endpoint_rows(phase)
    width = max([len(r[0]) for r in rows] + [len("all requests")])
    lines = [f"  {'endpoint':<{width}}  {'requests':>8}  {'failed':>6}  {'req/s':>7}  {'p50 ms':>8}  {'p95 ms':>8}  "
             f"{'p99 ms':>8}  {'max ms':>8}"]
    for key, n, failed, rate, p50, p95, p99, top in rows:
        lines.append(f"  {key:<{width}}  {n:>8}  {failed:>6}  {rate:>7.1f}  {p50:>8.1f}  {p95:>8.1f}  {p99:>8.1f}  "
                     f"{top:>8.1f}")
    n, failed, rate, p50, p95, p99 = totals(phase)
    lines.append(f"  {'all requests':<{width}}  {n:>8}  {failed:>6}  {rate:>7.1f}  {p50:>8.1f}  {p95:>8.1f}  "
                 f"{p99:>8.1f}")
    errors = error_lines(phase)
    lines.append(f"  errors: {sum(e['failures'] for e in phase['requests'].values())}" + (":" if errors else ""))
    lines.extend(errors)
    return "\n".join(lines)


def table_rows(prefix, phase, keys=FLOW):
    """Rows for bench's table, (label, n, ops/s, p50, p95, p99), one per endpoint of ``keys`` present."""
    rows = []
    for key, n, failed, rate, p50, p95, p99, _top in endpoint_rows(phase):
        if key in keys:
            label = f"{prefix}: {key}" + (f" [{failed} failed]" if failed else "")
            rows.append((label, n, rate, p50, p95, p99))
    return rows
