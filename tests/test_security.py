"""Security baseline, with CSRF protection ON as in production: headers, cookies, CSRF, error pages, rate limits."""

import json
import os
import re
import subprocess
import sys
import textwrap
import uuid

import pytest

from tests.conftest import PASSWORD

REDIS_URL = os.environ.get("PORTAL_TEST_REDIS_URL")
CSRF_REFUSED = "Biểu mẫu đã hết hạn hoặc được gửi từ trang khác."


@pytest.fixture
def app_config():
    return {"WTF_CSRF_ENABLED": True}


def csrf_token(client, path):
    page = client.get(path).get_data(as_text=True)
    field = re.search(r'<input[^>]*name="csrf_token"[^>]*>', page).group(0)
    return re.search(r'value="([^"]+)"', field).group(1)


def log_in(client, username):
    token = csrf_token(client, "/login")
    return client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})


def test_pages_carry_the_security_headers(client):
    headers = client.get("/login").headers
    csp = dict(part.strip().split(" ", 1) for part in headers["Content-Security-Policy"].split(";"))
    assert csp["script-src"] == "'self'"  # no inline scripts, no 'unsafe-inline', no CDN
    assert "unsafe" not in headers["Content-Security-Policy"]
    assert csp["frame-ancestors"] == "'none'"
    assert csp["default-src"] == "'self'"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Cache-Control"] == "no-store"  # a shared computer keeps no copy of member pages


def test_error_pages_carry_the_headers_too(client):
    headers = client.get("/khong-co-trang-nay").headers
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_pages_have_no_inline_script(client, make_user):
    log_in(client, make_user().username)
    for path in ("/login", "/", "/account/password"):
        page = client.get(path).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), path
        assert " onclick=" not in page and " onload=" not in page and " onchange=" not in page


def test_session_cookie_is_httponly_and_samesite_lax(client, make_user):
    response = log_in(client, make_user().username)
    assert response.status_code == 302
    header = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("portal_session="))
    assert "HttpOnly" in header
    assert "SameSite=Lax" in header


def test_login_without_token_is_refused_in_vietnamese(client, make_user):
    user = make_user()
    response = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Không thể tiếp nhận yêu cầu" in page and CSRF_REFUSED in page
    assert client.get("/").status_code == 302  # not logged in


def test_login_with_the_form_token_works(client, make_user):
    user = make_user(full_name="Hồ Thị Kim Oanh")
    assert log_in(client, user.username).status_code == 302
    assert "Hồ Thị Kim Oanh" in client.get("/").get_data(as_text=True)


def test_logout_needs_the_token(client, make_user):
    user = make_user(full_name="Bùi Văn Sơn")
    log_in(client, user.username)
    refused = client.post("/logout")
    assert refused.status_code == 400
    assert CSRF_REFUSED in refused.get_data(as_text=True)
    assert "Bùi Văn Sơn" in client.get("/").get_data(as_text=True)  # still logged in

    token = csrf_token(client, "/")  # the logout button in the menu
    response = client.post("/logout", data={"csrf_token": token})
    assert response.headers["Location"] == "/login"
    assert client.get("/").status_code == 302


def test_a_token_from_another_session_is_refused(app, client, make_user):
    other = app.test_client()
    foreign_token = csrf_token(other, "/login")
    csrf_token(client, "/login")
    user = make_user()
    response = client.post("/login", data={"username": user.username, "password": PASSWORD,
                                           "csrf_token": foreign_token})
    assert response.status_code == 400


def test_get_never_logs_out(client, make_user):
    user = make_user(full_name="Ngô Thị Thảo")
    log_in(client, user.username)
    response = client.get("/logout")
    assert response.status_code == 405
    page = response.get_data(as_text=True)
    assert "Không được phép" in page
    assert "Ngô Thị Thảo" in client.get("/").get_data(as_text=True)


def test_missing_page_is_explained_in_vietnamese(client):
    response = client.get("/khong-co-trang-nay")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "Không tìm thấy trang" in page
    assert "Trang đồng chí tìm không tồn tại hoặc đã bị gỡ bỏ." in page
    assert '<html lang="vi">' in page


def test_forbidden_page_is_explained_in_vietnamese(app, client, make_user):
    from flask_login import current_user

    from portal.accounts import permissions

    @app.route("/_test/units-only")
    def units_only():
        permissions.require(current_user, "units.manage")
        return "ok"

    log_in(client, make_user().username)
    response = client.get("/_test/units-only")
    assert response.status_code == 403
    page = response.get_data(as_text=True)
    assert "Đồng chí không có quyền truy cập trang này" in page


def test_upload_above_the_limit_gets_413_in_vietnamese(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = client.post("/login", data={"username": "x" * 4096, "password": "y"})
    assert response.status_code == 413
    assert "Tệp quá lớn" in response.get_data(as_text=True)


# Flask-Limiter keeps its storage on one module-level object, so two apps in one
# process would share counters whatever the storage. The second portal instance
# runs in its own process: only Redis can carry the count across.
SECOND_INSTANCE = textwrap.dedent("""
    import json, sys
    from portal import create_app
    from portal import db as dbmod
    config = json.loads(sys.argv[1])
    app = create_app(config)
    dbmod.migrate(app.extensions["portal_db"])
    client = app.test_client()
    codes = [client.post("/login", data={"username": "ai-do", "password": "sai-mat-khau"}).status_code
             for _ in range(2)]
    print(json.dumps(codes))
""")


def test_login_rate_limit_is_shared_through_redis_across_processes(tmp_path, monkeypatch):
    if not REDIS_URL:
        pytest.skip("Redis rate limits: set PORTAL_TEST_REDIS_URL (as .ci/run does)")
    from portal import create_app
    from portal import db as dbmod

    config = {
        "TESTING": True, "SECRET_KEY": "dev", "WTF_CSRF_ENABLED": False, "DATABASE_URL": None,
        "RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": REDIS_URL, "RATELIMIT_LOGIN": "3 per minute",
        "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}",  # runs at the same time never meet
    }
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path / "first"))
    first = create_app(config)
    dbmod.migrate(first.extensions["portal_db"])
    client = first.test_client()
    attempt = lambda: client.post("/login", data={"username": "ai-do", "password": "sai-mat-khau"})  # noqa: E731
    assert [attempt().status_code for _ in range(2)] == [200, 200]

    env = {**os.environ, "PORTAL_INSTANCE_PATH": str(tmp_path / "second")}
    done = subprocess.run([sys.executable, "-c", SECOND_INSTANCE, json.dumps(config)], env=env,
                          capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [200, 429]

    refused = attempt()
    assert refused.status_code == 429
    assert "Quá nhiều yêu cầu" in refused.get_data(as_text=True)


def test_a_nul_character_in_a_form_or_query_is_refused(client):
    """PostgreSQL cannot store or compare text holding U+0000: a form field or query argument with one is a 400,
    before any view puts it in a query (it was a 500 on the log-in form)."""
    response = client.post("/login", data={"username": "a\x00b", "password": "x"})
    assert response.status_code == 400 and response.mimetype == "text/html"
    assert client.get("/login?next=%00").status_code == 400
    assert client.get("/login?next=/").status_code == 200
