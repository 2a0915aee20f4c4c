"""What the load client reads in the portal's pages (CSRF tokens, the attempt, the questions), and its addresses.

Plain functions on text (no Locust, no gevent), shared by the locustfile and bench/load/queries.py.
"""

import datetime as dt
import math
import re

CSRF_INPUT = re.compile(r'<input[^>]*name="csrf_token"[^>]*>')
VALUE = re.compile(r'value="([^"]+)"')
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
SEQ = re.compile(r'data-seq="(\d+)"')
STARTED_AT = re.compile(r'data-started-at="([^"]+)"')
SERVER_NOW = re.compile(r'data-server-now="([^"]+)"')
OPTION = re.compile(r'name="q(\d+)" value="(\d+)"')
ATTEMPT_URL = re.compile(r"/quiz/attempts/(\d+)$")
MESSAGE = re.compile(r'"error":\s*"([^"]*)"|<title>([^<]*)</title>')


def member_address(index):
    """A loopback address of member ``index``'s own: 127.10.0.1 onwards (127.0.0.0/8 is all loopback)."""
    return f"127.{10 + index // 62_500}.{1 + index // 250 % 250}.{1 + index % 250}"


def form_token(html):
    """The csrf_token of the page's (first) form, None when there is none."""
    match = CSRF_INPUT.search(html or "")
    value = VALUE.search(match.group(0)) if match else None
    return value.group(1) if value else None


def meta_token(html):
    """The token quiz.js sends in X-CSRFToken (the attempt page's meta tag)."""
    match = CSRF_META.search(html or "")
    return match.group(1) if match else None


def attempt_id(location):
    """The attempt a Start redirects to, from its Location header; None elsewhere."""
    match = ATTEMPT_URL.search(location or "")
    return int(match.group(1)) if match else None


def saved_seq(html):
    """The attempt page's data-seq: the last save applied (quiz.js numbers its saves above it)."""
    match = SEQ.search(html or "")
    return int(match.group(1)) if match else 0


def iso_seconds(text):
    """Seconds since the epoch of an ISO 8601 time the portal writes ("2026-11-30T05:01:02.345Z"); None if absent."""
    if not text:
        return None
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.timestamp()


def attempt_clock(html):
    """(started_at, server_now) of the attempt page, in epoch seconds: what quiz.js numbers its saves from."""
    started, now = STARTED_AT.search(html or ""), SERVER_NOW.search(html or "")
    return (iso_seconds(started.group(1)) if started else None, iso_seconds(now.group(1)) if now else None)


def next_seq(last, started_at, server_now):
    """quiz.js's nextSeq(): tenths of a second since the attempt's start on the server's clock (so a later change
    carries a higher number from any tab or device), and always above the last one sent."""
    by_clock = math.floor((server_now - started_at) * 10) if started_at is not None else 0
    return max(last + 1, by_clock)


def api_questions(view):
    """{position: number of options} of an attempt as the JSON API shows it."""
    return {int(q["position"]): len(q.get("options") or ()) for q in view.get("questions") or ()}


def held_answers(view):
    """{position: answer} of an attempt's JSON view: what quiz.js holds as the server's answers."""
    return {str(p): list(a) if isinstance(a, list) else a for p, a in (view.get("answers") or {}).items()}


def unsent(answers, held):
    """quiz.js's unsent(): the answers that differ from those the server holds (``held``): what a save sends."""
    return {p: a for p, a in answers.items() if held.get(p) != a}


def questions(html):
    """{position: number of options} of the attempt page's questions."""
    found = {}
    for position, token in OPTION.findall(html or ""):
        found[int(position)] = max(found.get(int(position), 0), int(token) + 1)
    return found


def message(text):
    """What an error page or JSON error says, in a line (for the error counts)."""
    text = (text or "")[:2000]
    match = MESSAGE.search(text)
    if match:
        return next(filter(None, match.groups()), "").strip()
    return " ".join(text.split())[:120]
