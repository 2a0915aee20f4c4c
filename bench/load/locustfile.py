"""Simulated members on contest day, for Locust (FastHttpUser: one light gevent client for thousands of users).

A member does what the pages and quiz.js make a phone do, over HTTP with real
sessions and CSRF tokens:

    GET  /login                                  the form, for its CSRF token
    POST /login                                  302 to the home page
    GET  /                                       home: the contests open to the member
    GET  /contests/<id>                          the contest, its open round
    GET  /quiz/<id>                              the round's page, with the Start form and its token
    POST /quiz/<id>/start                        302 to the attempt
    GET  /quiz/attempts/<id>                     the attempt page: questions, the token quiz.js sends
    GET  /api/v1/attempts/<id>                   quiz.js asks the server how things stand on load
    PUT  /api/v1/attempts/<id>/answers  x 21     quiz.js autosaves after each answer (think time before
                                                 each), the answers changed since the last save the
                                                 server took (here the one just given), then once more
                                                 with the prediction typed in
    POST /api/v1/attempts/<id>/submit            with the prediction
    GET  /quiz/attempts/<id>/result              where quiz.js goes after submitting

The answer-save and multi-host scenarios (bench/load/driver.py) use ``Member.answer_attempt``: the saves
numbered as quiz.js numbers them (tenths of a second since the start on the server's clock, above the last
one), each carrying the prediction field as it stands, then the next attempt through
``POST /api/v1/quizzes/<id>/attempts``.

Static files (CSS, JS, fonts) are left out: a browser caches them and a
deployment serves them from nginx. Each simulated user takes one member after
another (a member takes the round once); each member connects from an address
of its own in 127.0.0.0/8 unless told otherwise (every phone has its own; see
``spread_addresses``).

Driven by bench/load/driver.py; by hand, after `python -m bench.load.dataset DIR` and `portal serve`:

    PORTAL_LOAD_CONFIG=DIR/load.json locust -f bench/load/locustfile.py --host http://127.0.0.1:5000
"""

import json
import os
import random
import time

from gevent.local import local
from geventhttpclient.connectionpool import ConnectionPool
from locust import FastHttpUser, constant, task
from locust.contrib.fasthttp import FastHttpSession
from locust.exception import StopUser

from bench.load import pages

CONFIG = {
    "first_member": 0,  # members dv<first_member>… are used, one after the other
    "members": 20_000,
    "username": "dv{:05d}",
    "password": "",
    "contest_id": None,
    "quiz_id": None,
    "think": [0.0, 0.0],  # seconds before each answer (and before typing the prediction)
    "spread_addresses": True,
    "network_timeout": 60.0,
}
if os.environ.get("PORTAL_LOAD_CONFIG"):
    with open(os.environ["PORTAL_LOAD_CONFIG"]) as _fh:
        CONFIG.update(json.load(_fh))

COUNTERS = {"members": 0, "completed": 0, "abandoned": 0}

# -- each member from an address of its own ------------------------------------------------------

_here = local()  # the address the current greenlet's member connects from
_connect_socket = ConnectionPool._connect_socket


def _connect_from_member_address(self, sock, address):
    source = getattr(_here, "address", None)
    if source:
        sock.bind((source, 0))
    return _connect_socket(self, sock, address)


ConnectionPool._connect_socket = _connect_from_member_address


def use_address(index, config=CONFIG):
    _here.address = pages.member_address(index) if config["spread_addresses"] else None


# -- one member's way through the round ----------------------------------------------------------

class FlowFailed(Exception):
    """A request of the member's flow failed (already counted); the member gives up."""


def _snippet(response):
    try:
        text = response.text or ""
    except Exception:  # noqa: BLE001 (a body that cannot be decoded still counts as the failure it is)
        text = ""
    return pages.message(text)


class Member:
    """One member on a phone: a session (cookies, connection) of its own."""

    def __init__(self, environment, host, index, config=CONFIG, rng=random):
        self.index = index
        self.config = config
        self.rng = rng
        self.username = config["username"].format(index)
        self.client = FastHttpSession(base_url=host, request_event=environment.events.request, user=None,
                                      network_timeout=config["network_timeout"],
                                      connection_timeout=config["network_timeout"], max_retries=0, max_redirects=0)
        self.attempt_id = None
        self.csrf = None  # the session's CSRF token (forms and the API header)
        self.positions = {}  # question position -> number of options
        self.seq = 0  # the last save's sequence number
        self.held = {}  # the answers the server holds, as quiz.js knows them: a save sends those that differ
        self.started_at, self.offset = None, 0.0  # the attempt's start and the server's clock minus ours (quiz.js)
        self.hosts = None  # several app hosts: each request goes to the next one (as a load balancer may send it)
        self.sent = 0  # requests sent, for the turn of the hosts
        self.ledger = None  # a list: every attempt started, save and submit the server acknowledged (multi-host)

    def close(self):
        self.client.client.close()

    def call(self, method, path, name, expect, check=None, **kwargs):
        """One request, named by its endpoint; a status other than ``expect`` or a failed ``check`` is a failure."""
        if self.hosts:
            path = self.hosts[(self.index + self.sent) % len(self.hosts)] + path
        self.sent += 1
        with self.client.request(method, path, name=name, catch_response=True, allow_redirects=False,
                                 **kwargs) as response:
            problem = None
            if response.status_code not in (expect if isinstance(expect, tuple) else (expect,)):
                error = getattr(response, "error", None)
                problem = (f"{response.status_code} {_snippet(response)}" if response.status_code
                           else f"no response: {type(error).__name__}: {error}")
            elif check is not None:
                problem = check(response)
            if problem:
                response.failure(problem)
            else:
                response.success()
        if problem:
            raise FlowFailed(f"{method} {name}: {problem}")
        return response

    def _csrf_from_form(self, response):
        self.csrf = pages.form_token(response.text)
        return None if self.csrf else "no csrf_token in the form"

    # the steps

    def login(self):
        self.call("GET", "/login", "/login", 200, check=self._csrf_from_form)
        self.call("POST", "/login", "/login", 302, data={"csrf_token": self.csrf, "username": self.username,
                                                          "password": self.config["password"], "next": ""},
                  check=self._logged_in)

    def _logged_in(self, response):
        location = response.headers.get("location") or ""
        return None if location and "/login" not in location else f"not logged in (to {location!r})"

    def home(self):
        """Where logging in leads."""
        self.call("GET", "/", "/ (home)", 200)

    def round_page(self):
        """The round's page, with the Start button and its form's token."""
        self.call("GET", f"/quiz/{self.config['quiz_id']}", "/quiz/[id] (round page)", 200,
                  check=self._csrf_from_form)

    def open_round(self):
        self.home()
        self.call("GET", f"/contests/{self.config['contest_id']}", "/contests/[id]", 200)
        self.round_page()

    def start(self):
        """Press Start: the POST and the attempt page it leads to."""
        def to_attempt(response):
            self.attempt_id = pages.attempt_id(response.headers.get("location"))
            return None if self.attempt_id else f"redirected to {response.headers.get('location')}"

        self.call("POST", f"/quiz/{self.config['quiz_id']}/start", "/quiz/[id]/start", 302,
                  data={"csrf_token": self.csrf}, check=to_attempt)
        self._started("form")
        self.call("GET", f"/quiz/attempts/{self.attempt_id}", "/quiz/attempts/[id]", 200, check=self._read_attempt)

    def sync(self):
        """quiz.js's first look at the attempt, once the page is loaded."""
        response = self.call("GET", f"/api/v1/attempts/{self.attempt_id}", "/api/v1/attempts/[id]", 200,
                             check=lambda r: None if '"state":"in_progress"' in (r.text or "").replace(" ", "")
                             else "not in progress")
        if response.status_code == 200:
            self.held = pages.held_answers(response.json())

    def _read_attempt(self, response):
        self.csrf = pages.meta_token(response.text)
        self.positions = pages.questions(response.text)
        self.seq = pages.saved_seq(response.text)  # above 0 when a start resumed an attempt
        self._clock(*pages.attempt_clock(response.text))
        return None if self.csrf and self.positions else "no csrf-token meta or no questions"

    def _save(self, seq, answers, prediction=None):
        sent = pages.unsent(answers, self.held)
        body = {"seq": seq, "answers": sent}
        if prediction is not None:
            body["prediction"] = prediction
        response = self.call("PUT", f"/api/v1/attempts/{self.attempt_id}/answers", "/api/v1/attempts/[id]/answers",
                             200, json=body, headers={"X-CSRFToken": self.csrf},
                             check=lambda r: None if '"applied":true' in (r.text or "").replace(" ", "")
                             else "not applied")
        if response.status_code == 200:
            self.held.update(sent)

    def think(self):
        low, high = self.config["think"]
        if high > 0:
            time.sleep(self.rng.uniform(low, high))  # gevent's: the monkey-patched sleep

    def answer_all(self):
        """Answer every question in turn, autosaving each time (what changed since the last save, as quiz.js)."""
        answers = {str(p): [] for p in sorted(self.positions)}
        for position in sorted(self.positions):
            self.think()
            answers[str(position)] = [str(self.rng.randrange(self.positions[position]))]
            self.seq += 1
            self._save(self.seq, answers)
        self.think()
        self.prediction = str(self.rng.randint(100, 5000))
        self.seq += 1
        self._save(self.seq, answers, prediction=self.prediction)

    def submit(self, prediction=None):
        body = {} if prediction is None else {"prediction": prediction}
        self.call("POST", f"/api/v1/attempts/{self.attempt_id}/submit", "/api/v1/attempts/[id]/submit", 200,
                  json=body, headers={"X-CSRFToken": self.csrf},
                  check=lambda r: None if '"state":"finished"' in (r.text or "").replace(" ", "") else "not finished")
        if self.ledger is not None:
            self.ledger[-1]["submitted"] = True

    # -- quiz.js's own way of saving (answer-save and multi-host) --------------------------------

    def _clock(self, started_at, server_now):
        self.started_at = started_at
        if server_now is not None:
            self.offset = server_now - time.time()

    def next_seq(self):
        """quiz.js's nextSeq(): tenths of a second since the start on the server's clock, above the last one sent."""
        self.seq = pages.next_seq(self.seq, self.started_at, time.time() + self.offset)
        return self.seq

    def autosave(self, answers, prediction=None):
        """One of quiz.js's saves: the answers that differ from those the server holds (``answers`` is every
        question's, [] while unanswered) and the prediction field as it stands (null while empty), with the
        session's token in X-CSRFToken."""
        seq = self.next_seq()
        sent = pages.unsent(answers, self.held)
        response = self.call("PUT", f"/api/v1/attempts/{self.attempt_id}/answers", "/api/v1/attempts/[id]/answers",
                             200, json={"seq": seq, "answers": sent, "prediction": prediction},
                             headers={"X-CSRFToken": self.csrf},
                             check=lambda r: None if '"applied":true' in (r.text or "").replace(" ", "")
                             else "not applied")
        body = response.json()
        if body.get("applied"):
            self.held.update(sent)
        self._clock(self.started_at, pages.iso_seconds(body.get("server_now")))  # syncClock()
        self.seq = max(self.seq, body.get("seq") or seq)
        if self.ledger is not None:
            entry = self.ledger[-1]
            entry["saves"] += 1
            if seq > entry["seq"]:
                entry.update(seq=seq, answers={k: list(v) for k, v in answers.items()}, prediction=prediction)

    def answer_attempt(self, rng):
        """Answer each question in turn with no pause, autosaving each new answer; type the prediction
        (a 21st save); submit with it."""
        answers = {str(p): [] for p in sorted(self.positions)}
        for position in sorted(self.positions):
            answers[str(position)] = [str(rng.randrange(self.positions[position]))]
            self.autosave(answers)
        prediction = str(rng.randint(100, 5000))
        self.autosave(answers, prediction)
        self.submit(prediction)

    def start_api(self, expect=201):
        """Start the next attempt through the API (the round allows unlimited attempts): 201 and the attempt
        (``expect=(200, 201)`` also takes the attempt in progress back, 200)."""
        response = self.call("POST", f"/api/v1/quizzes/{self.config['quiz_id']}/attempts",
                             "/api/v1/quizzes/[id]/attempts", expect, headers={"X-CSRFToken": self.csrf},
                             check=lambda r: None if '"state":"in_progress"' in (r.text or "").replace(" ", "")
                             else "not in progress")
        view = response.json()
        self.attempt_id, self.seq = view["id"], view.get("seq") or 0
        self.held = pages.held_answers(view)
        self.positions = pages.api_questions(view)
        self._clock(pages.iso_seconds(view.get("started_at")), pages.iso_seconds(view.get("server_now")))
        self._started("api")

    def _started(self, how):
        if self.ledger is not None:
            self.ledger.append({"id": self.attempt_id, "start": how, "saves": 0, "seq": 0, "answers": None,
                                "prediction": None, "submitted": False})

    def result(self):
        self.call("GET", f"/quiz/attempts/{self.attempt_id}/result", "/quiz/attempts/[id]/result", 200)

    def take_round(self):
        self.login()
        self.open_round()
        self.start()
        self.sync()
        self.answer_all()
        self.submit(self.prediction)
        COUNTERS["completed"] += 1
        self.result()


_numbers = None


def next_member(config=CONFIG):
    """The next unused member's index, None when all are used."""
    global _numbers
    if _numbers is None:
        _numbers = iter(range(config["first_member"], config["first_member"] + config["members"]))
    return next(_numbers, None)


class ContestMember(FastHttpUser):
    """Takes the round as one member after another, each from a fresh session."""

    wait_time = constant(0)

    @task
    def take_round(self):
        index = next_member()
        if index is None:
            raise StopUser()
        use_address(index)
        member = Member(self.environment, self.host, index)
        COUNTERS["members"] += 1
        try:
            member.take_round()
        except FlowFailed:
            COUNTERS["abandoned"] += 1
        finally:
            member.close()


class BaselineClient(FastHttpUser):
    """The baseline's one endpoint, as fast as it answers."""

    wait_time = constant(0)

    @task
    def hit(self):
        with self.client.post("/hit", name="/hit", catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code} {_snippet(response)}")

