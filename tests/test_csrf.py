"""CSRF, with protection ON as in production: every state-changing route refuses a request without a token or with
another session's token and writes nothing; no GET writes; a contest longer than an hour keeps its final submission.

The routes come from ``app.url_map`` through the access matrix's table (tests/access_matrix/routes.py): a new route
fails test_every_state_changing_route_is_checked until the table names it, and is checked here from then on. Each
request runs as an actor of the matrix world who may use the route, inside a transaction rolled back afterwards,
and the rows it inserted, updated or deleted are counted as the matrix counts them.
"""

import datetime as dt
import re

import pytest

from portal.accounts.models import utcnow
from portal.contests.models import Round
from portal.quiz.models import Attempt
from tests.access_matrix import policy
from tests.access_matrix.routes import PERSONAL, ROUTES
from tests.quiz.test_api import make_quiz, token
from tests.test_access_matrix import matrix  # noqa: F401 (the module-scoped world, one per backend)
from tests.conftest import PASSWORD

CSRF_REFUSED = "Biểu mẫu đã hết hạn hoặc được gửi từ trang khác."  # errors/400.html, reason "csrf"
API_CSRF_REFUSED = {"error": "Phiên làm việc đã hết hạn. Hãy tải lại trang rồi thử lại."}
STATE_CHANGING = ("POST", "PUT", "PATCH", "DELETE")
# Who sends a state-changing request: the first of these who may use the route (and change rows through it).
PREFERRED = ("admin/other_committee", "admin/own", "organiser/parent_committee", "organiser/own", "secretary/own",
             "member/own")
# The attacker whose own (valid, signed) token is planted in the victim's request.
ATTACKER = "member/other_committee"



def _rank_fresh(world):
    """The home contest's round ranked a moment ago: nothing for a page to refresh."""
    Round.update(ranked_at=utcnow()).where(Round.id == world.places["A"]["round"]).execute()


# GET routes that write on purpose: why, and how to make the derived data fresh (then the page writes nothing).
# Not in the table: the attempt pages, the result page, the history and the API's GET of an attempt finalise an
# attempt whose time ran out (DESIGN.md "an overdue attempt is finalised on its last saved answers"); the world
# holds no overdue attempt, test_opening_an_overdue_attempt_finalises_it makes one. A round's public results page
# with a live leaderboard re-ranks a stale open round (test_a_live_leaderboard_is_refreshed_by_its_page).
GET_WRITES = {
    "/manage/contests/<int:contest_id>/stats": (
        "re-ranks the contest's unconfirmed rounds whose ranking is older than stats.REFRESH_AFTER (a cache of "
        "derived rows, claimed by one request at a time)", _rank_fresh),
    "/manage/contests/<int:contest_id>/rounds/<int:round_id>/stats": (
        "re-ranks the round when unconfirmed and its ranking is older than stats.REFRESH_AFTER", _rank_fresh),
}

WRITE_ROUTES = [r for r in ROUTES if r.method in STATE_CHANGING]
GET_ROUTES = [r for r in ROUTES if r.method == "GET"]


def _route_id(route):
    return f"{route.method} {route.rule}"


def _page_token(html):
    found = (re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
             or re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
             or re.search(r'value="([^"]+)"[^>]*name="csrf_token"', html))
    assert found, "the page carries no CSRF token"
    return found.group(1)


class Sessions:
    """For each actor of the world: a session cookie holding a CSRF token, and that token (as its pages show it)."""

    def __init__(self, m):
        self.m = m
        self.cookie, self.token = {}, {}
        name = m.app.config["SESSION_COOKIE_NAME"]
        for actor in m.world.actors:
            client = m.app.test_client()
            if actor.cookie is not None:
                client.set_cookie(name, actor.cookie)
            with m.db.atomic() as transaction:
                page = client.get("/login" if actor.user is None else "/")
                transaction.rollback()
            assert page.status_code == 200, actor.key
            self.token[actor.key] = _page_token(page.get_data(as_text=True))
            self.cookie[actor.key] = client.get_cookie(name).value

    def send(self, actor, method, url, data=None, json=None, headers=None, setup=None, after=None):
        """One request with ``actor``'s session, rolled back: (the response, read whole; rows written).

        ``setup()`` runs first in the transaction (not counted), ``after()`` once the request is done (its result
        is returned third when given)."""
        m = self.m
        client = m.app.test_client()
        client.set_cookie(m.app.config["SESSION_COOKIE_NAME"], self.cookie[actor.key])
        m.world.restore_files()
        seen = None
        with m.db.atomic() as transaction:
            try:
                if setup is not None:
                    setup()
                before = m.rows_written()
                response = client.open(url, method=method, data=data, json=json, headers=headers or {})
                response.get_data()
                response.close()
                written = m.rows_written() - before
                if after is not None:
                    seen = after()
            finally:
                transaction.rollback()
        return (response, written, seen) if after is not None else (response, written)


@pytest.fixture(scope="module")
def csrf(matrix):  # noqa: F811
    """The matrix world with CSRF protection on, and a token-carrying session per actor."""
    matrix.app.config["WTF_CSRF_ENABLED"] = True
    matrix.csrf_counts = {"routes": set(), "requests": 0, "get_routes": set(), "get_requests": 0}
    yield Sessions(matrix)
    matrix.app.config["WTF_CSRF_ENABLED"] = False


def _target(route, world, actor):
    """The home place's ids (the actor's own personal objects) and the policy context, as the matrix builds them."""
    ids = dict(world.places["A"])
    own = world.own["A"].get(actor.key, {})
    ids.update({k: v for k, v in own.items() if k in PERSONAL})
    owns = {f for f in route.families if f in own}
    return ids, policy.context(actor, "A", world.units["A"], owns, set(own))


def _allowed(route, world):
    """(actor, ids) for every actor who passes the route's policy in the home place."""
    for actor in world.actors:
        ids, ctx = _target(route, world, actor)
        if route.policy(ctx) == policy.OK:
            yield actor, ids, route.writes(ctx) == policy.OK


def _senders(route, world):
    """Who sends the route's state-changing requests: a logged-in actor who may use it (preferring one who may also
    write through it), and the anonymous visitor too where the route is public (login, registration, verify)."""
    allowed = list(_allowed(route, world))
    logged_in = sorted((a for a in allowed if a[0].user is not None),
                       key=lambda a: (not a[2], PREFERRED.index(a[0].key) if a[0].key in PREFERRED else 99))
    assert logged_in, f"nobody logged in may use {route.key}"
    chosen = [logged_in[0][:2]]
    chosen += [(a, ids) for a, ids, _w in allowed if a.user is None]
    return chosen


def _request(route, ids, variant):
    values = {**ids, **variant}
    url = route.url.format(**values)
    data = {k: v.format(**values) for k, v in route.data.items()} if route.data else {}
    return url, data


def _is_api(route):
    return route.rule.startswith("/api/")


def _csrf_refusal(route, response):
    """What is wrong with ``response`` as a CSRF refusal; None when it is one."""
    if _is_api(route):
        if response.status_code == 403 and response.get_json(silent=True) == API_CSRF_REFUSED:
            return None
    elif response.status_code == 400 and CSRF_REFUSED in response.get_data(as_text=True):
        return None
    return f"{response.status_code} {response.get_data(as_text=True)[:200]!r}"


def test_every_state_changing_route_is_checked(matrix):  # noqa: F811
    """A POST/PUT/PATCH/DELETE the app serves is in the list checked below (the matrix's table names it)."""
    served = {(rule.rule, method) for rule in matrix.app.url_map.iter_rules() if rule.endpoint != "static"
              for method in rule.methods & set(STATE_CHANGING)}
    checked = {route.key for route in WRITE_ROUTES}
    assert sorted(served - checked) == [], "state-changing routes that the CSRF test does not check"
    assert sorted(checked - served) == []


@pytest.mark.parametrize("route", WRITE_ROUTES, ids=_route_id)
def test_a_state_change_needs_the_sessions_own_token(csrf, route):
    """Without a token, or with the attacker's own valid token, refused (400, or the API's JSON 403) with no row
    written; the same request with the session's token passes the check (so the refusal was the token's)."""
    world = csrf.m.world
    attacker = world.actor(ATTACKER)
    problems = []
    for actor, ids in _senders(route, world):
        foreign = csrf.token[attacker.key if actor.key != attacker.key else "member/own"]
        own = csrf.token[actor.key]
        assert foreign != own
        for variant in route.variants:
            url, data = _request(route, ids, variant)
            if _is_api(route):
                cases = {"no token": ({}, data), "foreign token": ({"X-CSRFToken": foreign}, data),
                         "own token": ({"X-CSRFToken": own}, data)}
            else:
                cases = {"no token": ({}, data), "foreign token": ({}, {**data, "csrf_token": foreign}),
                         "own token": ({}, {**data, "csrf_token": own})}
            for case, (headers, body) in cases.items():
                response, written = csrf.send(actor, route.method, url, data=body or None, json=route.json,
                                              headers=headers)
                where = f"{actor.key} {route.method} {url} ({case})"
                if case == "own token":
                    if _csrf_refusal(route, response) is None:
                        problems.append(f"{where}: refused as CSRF with the session's own token")
                    elif policy.outcome(response) != policy.OK:
                        problems.append(f"{where}: {policy.outcome(response)} ({response.status_code}); the "
                                        "sender should pass the access check")
                    continue
                wrong = _csrf_refusal(route, response)
                if wrong:
                    problems.append(f"{where}: not refused: {wrong}")
                if written:
                    problems.append(f"{where}: wrote {written} rows")
                csrf.m.csrf_counts["requests"] += 1
    csrf.m.csrf_counts["routes"].add(route.key)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("route", GET_ROUTES, ids=_route_id)
def test_no_get_changes_a_row(csrf, route):
    """Every GET, by every actor allowed to use it, writes nothing (GET_WRITES lists the pages that must)."""
    problems = []
    for actor, ids, _may_write in _allowed(route, csrf.m.world):
        for variant in route.variants:
            url, _data = _request(route, ids, variant)
            response, written = csrf.send(actor, "GET", url)
            assert response.status_code < 500, f"{actor.key} GET {url}: {response.status_code}"
            csrf.m.csrf_counts["get_requests"] += 1
            if route.rule in GET_WRITES:
                # Allowed to refresh what it derives; once that is fresh, the page writes nothing either.
                _why, settle = GET_WRITES[route.rule]
                _response, written = csrf.send(actor, "GET", url, setup=lambda: settle(csrf.m.world))
            if written:
                problems.append(f"{actor.key} GET {url}: wrote {written} rows ({response.status_code})")
    csrf.m.csrf_counts["get_routes"].add(route.key)
    assert not problems, "\n".join(problems)


ATTEMPT_PAGES = ("/quiz/attempts/{attempt}", "/quiz/attempts/{attempt}/result", "/quiz/history",
                 "/api/v1/attempts/{attempt}")


@pytest.mark.parametrize("url", ATTEMPT_PAGES)
def test_opening_an_overdue_attempt_finalises_it(csrf, url):
    """The documented exception: a page showing an attempt whose time ran out finishes it (and scores it); the
    same page of an attempt still running wrote nothing in test_no_get_changes_a_row."""
    world = csrf.m.world
    member = world.actor("member/own")
    attempt_id = world.own["A"]["member/own"]["attempt"]

    def overdue():
        past = utcnow() - dt.timedelta(hours=2)
        Attempt.update(started_at=past - dt.timedelta(minutes=30), deadline_at=past).where(
            Attempt.id == attempt_id).execute()

    response, written, state = csrf.send(member, "GET", url.format(attempt=attempt_id), setup=overdue,
                                         after=lambda: Attempt.get_by_id(attempt_id).state)
    assert response.status_code in (200, 302)
    assert state == "finished" and written >= 1


def test_a_live_leaderboard_is_refreshed_by_its_page(csrf):
    """The documented exception: an open round's live leaderboard re-ranks when stale, whoever looks; fresh, it
    writes nothing."""
    world = csrf.m.world
    round_id = world.places["A"]["round"]
    url = f"/contests/{world.places['A']['contest']}/rounds/{round_id}/results"

    def live(ranked_at):
        def setup():
            Round.update(published_at=None, confirmed_at=None, live_leaderboard=True, ranked_at=ranked_at).where(
                Round.id == round_id).execute()
        return setup

    member = world.actor("member/same_cell")
    response, written, ranked = csrf.send(member, "GET", url, setup=live(None),
                                          after=lambda: Round.get_by_id(round_id).ranked_at)
    assert response.status_code == 200 and ranked is not None and written >= 1
    response, written = csrf.send(member, "GET", url, setup=live(utcnow()))
    assert response.status_code == 200 and written == 0


def test_the_counts(csrf, capsys):
    """Runs last: how many routes and requests were checked (the figures the report quotes)."""
    counts = csrf.m.csrf_counts
    with capsys.disabled():
        print(f"\nCSRF on {csrf.m.backend}: {len(counts['routes'])} of {len(WRITE_ROUTES)} state-changing routes, "
              f"{counts['requests']} refused requests; no-write GETs: {len(counts['get_routes'])} of "
              f"{len(GET_ROUTES)} GET routes, {counts['get_requests']} requests")


# -- a contest longer than an hour -------------------------------------------------------------------------------

@pytest.fixture
def app_config():
    return {"WTF_CSRF_ENABLED": True}


@pytest.fixture
def hours_ago(monkeypatch):
    """hours_ago(h): from now on, signatures (the session cookie, CSRF tokens) are stamped ``h`` hours in the past,
    as if issued then; hours_ago(0) is the real clock again. itsdangerous reads the clock in get_timestamp, both
    when signing and when checking a signature's age."""
    from itsdangerous.timed import TimestampSigner

    real = TimestampSigner.get_timestamp

    def set_clock(hours):
        monkeypatch.setattr(TimestampSigner, "get_timestamp",
                            lambda self: real(self) - int(hours * 3600))

    return set_clock


def _form_token(client, path):
    response = client.get(path)
    assert response.status_code == 200, path
    return _page_token(response.get_data(as_text=True))


@pytest.mark.parametrize("hours", [1.5, 5, 11])
def test_a_long_contest_keeps_its_final_submission(app, client, make_unit, make_user, hours_ago, hours):
    """A member opens a twelve-hour round, works ``hours`` hours on the page it loaded then, autosaves and submits:
    both pass, whatever the age of the page's token (WTF_CSRF_TIME_LIMIT None: the token lives with the session).
    With the one-hour default the same token would be refused: the clock really moved."""
    assert app.config["WTF_CSRF_TIME_LIMIT"] is None
    cell = make_unit(name="Chi bộ thôn An Sơn")
    member = make_user(unit=cell, full_name="Nguyễn Thị Mai")
    quiz = make_quiz(cell, questions=2, title="Vòng thi thứ nhất", time_limit_seconds=12 * 3600,
                     closes_at=utcnow() + dt.timedelta(days=1))

    hours_ago(hours)  # the member logs in and opens the round ``hours`` hours ago
    response = client.post("/login", data={"username": member.username, "password": PASSWORD,
                                           "csrf_token": _form_token(client, "/login")})
    assert response.status_code == 302 and "/login" not in response.headers["Location"]
    response = client.post(f"/quiz/{quiz.id}/start", data={"csrf_token": _form_token(client, f"/quiz/{quiz.id}")})
    attempt_id = int(re.search(r"/quiz/attempts/(\d+)$", response.headers["Location"]).group(1))
    page_token = _form_token(client, f"/quiz/attempts/{attempt_id}")
    view = client.get(f"/api/v1/attempts/{attempt_id}").get_json()
    started = utcnow() - dt.timedelta(hours=hours)
    Attempt.update(started_at=started, deadline_at=started + dt.timedelta(hours=12)).where(
        Attempt.id == attempt_id).execute()

    hours_ago(0)  # now: the page still holds the token it was given then
    first, second = token(view, 1), token(view, 2, "Sai")
    app.config["WTF_CSRF_TIME_LIMIT"] = 3600
    refused = client.post(f"/quiz/attempts/{attempt_id}/submit", data={"csrf_token": page_token, "q1": first})
    assert refused.status_code == 400 and CSRF_REFUSED in refused.get_data(as_text=True)
    assert Attempt.get_by_id(attempt_id).state == "in_progress"
    app.config["WTF_CSRF_TIME_LIMIT"] = None

    saved = client.put(f"/api/v1/attempts/{attempt_id}/answers", json={"seq": 1, "answers": {"1": [first]}},
                       headers={"X-CSRFToken": page_token})
    assert saved.status_code == 200, saved.get_data(as_text=True)
    response = client.post(f"/quiz/attempts/{attempt_id}/submit",
                           data={"csrf_token": page_token, "q1": first, "q2": second})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/quiz/attempts/{attempt_id}/result"
    attempt = Attempt.get_by_id(attempt_id)
    assert attempt.state == "finished" and attempt.score == 1 and attempt.max_score == 2
