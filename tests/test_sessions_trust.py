"""Sessions across workers, with CSRF on as in production: what tests/accounts/test_sessions.py and test_login.py
check on one app instance, held across two (two "workers" sharing the database and SECRET_KEY, as gunicorn
workers or app hosts behind a load balancer do), plus fixation by a planted cookie, Secure cookies and `next`
values that hide their way off the site.
"""

import html
import re
from urllib.parse import quote, urljoin, urlsplit

import pytest

from portal import create_app
from portal import db as dbmod
from tests.conftest import PASSWORD, FreshContextClient

SESSION = "portal_session"
REMEMBER = "portal_remember"
CSRF_REFUSED = "Biểu mẫu đã hết hạn hoặc được gửi từ trang khác."
THROTTLED = "Đăng nhập sai quá nhiều lần. Vui lòng chờ 15 phút rồi thử lại."
SITE = "http://portal.test"
LIMITS = {"LOGIN_WINDOW_SECONDS": 15 * 60, "LOGIN_MAX_FAILURES_PER_ACCOUNT_AND_ADDRESS": 3,
          "LOGIN_MAX_FAILURES_PER_ADDRESS": 5, "LOGIN_MAX_FAILURES_PER_ACCOUNT": 6}
SHARED = ("TESTING", "SECRET_KEY", "WTF_CSRF_ENABLED", "RATELIMIT_ENABLED", "PUBLIC_URL", "DATABASE_URL", *LIMITS)


@pytest.fixture
def app_config():
    return {"WTF_CSRF_ENABLED": True, **LIMITS}


@pytest.fixture
def worker_b(app):
    """A second app instance on the same database and SECRET_KEY (``app`` is worker A)."""
    other = create_app({key: app.config[key] for key in SHARED})
    other.test_client_class = FreshContextClient
    assert other.extensions["portal_db"] is not app.extensions["portal_db"]
    yield other
    db = other.extensions["portal_db"]
    if not db.is_closed():
        db.close()
    dbmod.database.obj = app.extensions["portal_db"]


def page_token(client, path="/login"):
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def log_in(client, username, password=PASSWORD, address="10.0.0.1", **extra):
    return client.post("/login", data={"username": username, "password": password, "csrf_token": page_token(client),
                                       **extra}, environ_base={"REMOTE_ADDR": address})


def cookie(client, name=SESSION):
    found = client.get_cookie(name)
    return found.value if found else None


def holding(worker, value, name=SESSION):
    """A client of ``worker`` holding the cookie ``value`` (a copied cookie, or the same browser on another
    worker)."""
    client = worker.test_client()
    client.set_cookie(name, value)
    return client


def is_logged_in(client, full_name):
    response = client.get("/")
    return response.status_code == 200 and full_name in response.get_data(as_text=True)


# -- fixation ---------------------------------------------------------------------------------------------------

def test_a_cookie_planted_before_login_does_not_carry_the_login(app, client, make_user):
    """An attacker fetches the login page, plants that session cookie (and its form token) in the member's browser;
    the member logs in: the attacker's copy stays anonymous and its token no longer works in the member's session."""
    attacker = app.test_client()
    attacker_token = page_token(attacker)
    planted = cookie(attacker)
    client.set_cookie(SESSION, planted)
    user = make_user(full_name="Lê Thị Hồng")
    response = client.post("/login", data={"username": user.username, "password": PASSWORD,
                                           "csrf_token": attacker_token})
    assert response.status_code == 302  # the planted session's own token: the login goes through
    assert cookie(client) != planted
    assert is_logged_in(client, user.full_name)
    assert not is_logged_in(holding(app, planted), user.full_name)
    forged = client.post("/logout", data={"csrf_token": attacker_token})  # the token known to the attacker
    assert forged.status_code == 400 and CSRF_REFUSED in forged.get_data(as_text=True)
    assert is_logged_in(client, user.full_name)


# -- ending sessions across workers -----------------------------------------------------------------------------

def test_logout_on_one_worker_ends_the_session_on_the_other(app, worker_b, client, make_user):
    user = make_user(full_name="Trần Văn Bình")
    log_in(client, user.username, remember="y")
    session, remember = cookie(client), cookie(client, REMEMBER)
    assert is_logged_in(holding(worker_b, session), user.full_name)  # the load balancer's next request

    response = client.post("/logout", data={"csrf_token": page_token(client, "/")})
    assert response.headers["Location"] == "/login"
    assert not is_logged_in(holding(worker_b, session), user.full_name)  # the copied session cookie
    assert not is_logged_in(holding(worker_b, remember, REMEMBER), user.full_name)  # and the remember-me one


def test_password_change_on_one_worker_ends_other_devices_on_the_other(app, worker_b, client, make_user):
    user = make_user(full_name="Phạm Thị Cúc")
    phone = worker_b.test_client()
    log_in(phone, user.username, address="10.0.0.2")
    log_in(client, user.username)
    assert is_logged_in(phone, user.full_name)

    response = client.post("/account/password", data={
        "current_password": PASSWORD, "new_password": "hoa-sen-2026", "confirm": "hoa-sen-2026",
        "csrf_token": page_token(client, "/account/password")})
    assert response.headers["Location"] == "/"
    assert not is_logged_in(phone, user.full_name)  # worker B, the phone's own session
    assert is_logged_in(holding(worker_b, cookie(client)), user.full_name)  # this device, on either worker
    assert is_logged_in(client, user.full_name)


def test_locking_on_one_worker_locks_the_member_out_on_the_other_at_once(app, worker_b, client, make_user):
    admin = make_user(role="admin")
    member = make_user(full_name="Võ Thị Sáu")
    phone = worker_b.test_client()
    log_in(phone, member.username, remember="y", address="10.0.0.2")
    remember = cookie(phone, REMEMBER)
    assert is_logged_in(phone, member.full_name)
    assert phone.get("/api/v1/attempts/1").status_code == 404  # logged in: an unknown attempt

    log_in(client, admin.username)
    response = client.post(f"/admin/users/{member.id}/lock",
                           data={"csrf_token": page_token(client, f"/admin/users/{member.id}")})
    assert response.status_code == 302

    refused = phone.get("/")  # the member's very next request, on the other worker
    assert refused.status_code == 302 and refused.headers["Location"].startswith("/login")
    api = phone.get("/api/v1/attempts/1")
    assert api.status_code == 401 and api.get_json() == {"error": "Vui lòng đăng nhập để tiếp tục."}
    assert not is_logged_in(holding(worker_b, remember, REMEMBER), member.full_name)


# -- cookie flags -------------------------------------------------------------------------------------------------

def set_cookie(response, name):
    return next(h for h in response.headers.getlist("Set-Cookie") if h.startswith(name + "="))


def test_cookies_are_secure_when_configured(app, client, make_user):
    """Behind HTTPS (SESSION_COOKIE_SECURE, REMEMBER_COOKIE_SECURE): both cookies Secure, HttpOnly, SameSite=Lax,
    and HSTS; without it (plain HTTP on a LAN) no Secure flag, which the browser would refuse to send back."""
    user = make_user()
    response = log_in(client, user.username, remember="y")
    for name in (SESSION, REMEMBER):
        assert "Secure" not in set_cookie(response, name).split("; ")
    assert "Strict-Transport-Security" not in response.headers

    app.config.update(SESSION_COOKIE_SECURE=True, REMEMBER_COOKIE_SECURE=True)
    secure = app.test_client()
    page = secure.get("/login", base_url="https://portal.test").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = secure.post("/login", base_url="https://portal.test", headers={"Referer": "https://portal.test/login"},
                           data={"username": user.username, "password": PASSWORD, "remember": "y",
                                 "csrf_token": token})
    assert response.status_code == 302
    for name in (SESSION, REMEMBER):
        flags = set_cookie(response, name).split("; ")
        assert {"Secure", "HttpOnly", "SameSite=Lax", "Path=/"} <= set(flags), flags
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"


# -- next: only this site -----------------------------------------------------------------------------------------

# Sent back to the home page (test_login.py holds the plain cases: //evil, /\evil, https://evil, javascript:…).
REFUSED = [
    "%2F%2Fevil.com", "%252F%252Fevil.com", "%5C%5Cevil.com", "%2F%5Cevil.com", "https%3A%2F%2Fevil.com",
    "JaVaScRiPt:alert(1)", "java\tscript:alert(1)", " javascript:alert(1)", "javascript%3Aalert(1)",
    "data:text/html,<script>alert(1)</script>", "http:evil.com", "https:\\\\evil.com", " //evil.com",
    "\x00//evil.com", "/\x00/evil.com", "/\r\n//evil.com", "／／evil.com", "http://portal.test@evil.com/",
    "//portal.test", "http://portal.test/account/password", "\\/evil.com", "/\\/evil.com",
]
# Paths of this site that merely look odd: kept, and a browser stays on the site following them.
ON_SITE = ["/%2F%2Fevil.com", "/%5Cevil.com", "/%09/evil.com", "/.//evil.com", "/account/password?u=//evil.com"]


def lands_on_site(location):
    """Where a browser goes for this Location, read strictly: a path of this site, no backslash, no control."""
    if "\\" in location or any(ord(c) < 33 for c in location):
        return False
    parts = urlsplit(urljoin(SITE + "/login", location))
    return location.startswith("/") and not location.startswith("//") and parts.netloc == "portal.test"


@pytest.mark.parametrize("target", REFUSED + ON_SITE)
@pytest.mark.parametrize("through", ["form", "address"])
def test_next_stays_on_the_site(client, make_user, target, through):
    """``next`` posted with the form, or carried from the login page's address into its hidden field."""
    user = make_user()
    if "\x00" in target:  # no request holding U+0000 gets past the first check (portal/security.py)
        response = log_in(client, user.username, next=target) if through == "form" else \
            client.get("/login?next=" + quote(target, safe=""))
        assert response.status_code == 400 and "Location" not in response.headers
        return
    if through == "form":
        response = log_in(client, user.username, next=target)
    else:
        page = client.get("/login?next=" + quote(target, safe="")).get_data(as_text=True)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        field = re.search(r'<input[^>]*name="next"[^>]*>', page).group(0)
        carried = re.search(r'value="([^"]*)"', field)
        response = client.post("/login", data={"username": user.username, "password": PASSWORD,
                                                "csrf_token": token,
                                                "next": html.unescape(carried.group(1)) if carried else ""})
    assert response.status_code == 302
    location = response.headers["Location"]
    if target in REFUSED:
        assert location == "/"
    else:
        assert lands_on_site(location), location


# -- throttling across workers --------------------------------------------------------------------------------------

def test_throttling_counts_failures_from_every_worker(app, worker_b, make_user):
    """Failures on one account from one address, spread over both workers, add up (they are rows in the
    database); the right password then waits on either worker, and another address is free."""
    user = make_user()
    a, b = app.test_client(), worker_b.test_client()
    for client in (a, b, a):
        assert log_in(client, user.username, "sai-mat-khau").status_code == 200
    for client in (b, a):
        response = log_in(client, user.username)
        assert response.status_code == 429 and THROTTLED in response.get_data(as_text=True)
    assert log_in(b, user.username, address="10.0.0.2").status_code == 302


def test_an_address_guessing_many_accounts_is_throttled_on_every_worker(app, worker_b, make_user):
    a, b = app.test_client(), worker_b.test_client()
    for n in range(LIMITS["LOGIN_MAX_FAILURES_PER_ADDRESS"]):
        assert log_in((a, b)[n % 2], f"doan{n}", "sai-mat-khau", address="203.0.113.9").status_code == 200
    member = make_user()
    assert log_in(b, member.username, address="203.0.113.9").status_code == 429
    assert log_in(a, member.username, address="203.0.113.9").status_code == 429
    assert log_in(a, member.username, address="198.51.100.7").status_code == 302


def test_guessing_from_many_addresses_on_both_workers_does_not_lock_the_member_out(app, worker_b, make_user):
    """The member logged in at home through worker A; an attacker guesses from many addresses through both
    workers until the account-wide limit; from home, through worker B, the member still gets in."""
    member = make_user(full_name="Đặng Văn Lâm")
    assert log_in(app.test_client(), member.username, address="192.168.1.10").status_code == 302
    for n in range(LIMITS["LOGIN_MAX_FAILURES_PER_ACCOUNT"]):
        attacker = (app, worker_b)[n % 2].test_client()
        assert log_in(attacker, member.username, "sai-mat-khau", address=f"203.0.113.{n}").status_code == 200
    stranger = log_in(app.test_client(), member.username, address="198.51.100.50")
    assert stranger.status_code == 429
    home = worker_b.test_client()
    assert log_in(home, member.username, address="192.168.1.10").status_code == 302
    assert is_logged_in(home, member.full_name)
