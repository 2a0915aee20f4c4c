"""What the load client reads in the portal's pages (CSRF tokens, the attempt, the questions), and its addresses.

Plain functions on text (no Locust, no gevent), shared by the locustfile and bench/load/queries.py.
"""

import re

CSRF_INPUT = re.compile(r'<input[^>]*name="csrf_token"[^>]*>')
VALUE = re.compile(r'value="([^"]+)"')
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
SEQ = re.compile(r'data-seq="(\d+)"')
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
