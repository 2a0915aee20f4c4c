"""Logging in: messages, throttling per account and address, safe redirects, first-login password change."""

import datetime as dt

import pytest

from portal.accounts import auth as auth_ops
from portal.accounts import users
from portal.accounts.models import LoginAttempt, User
from tests.conftest import PASSWORD

WRONG = "Tên đăng nhập hoặc mật khẩu không đúng."
THROTTLED = "Đăng nhập sai quá nhiều lần. Vui lòng chờ 15 phút rồi thử lại."
LIMITS = {"window": 15 * 60, "per_account_and_address": 3, "per_address": 5, "per_account": 6}
NOW = dt.datetime(2026, 3, 2, 8, 0)


@pytest.fixture
def app_config():
    return {
        "LOGIN_WINDOW_SECONDS": LIMITS["window"],
        "LOGIN_MAX_FAILURES_PER_ACCOUNT_AND_ADDRESS": LIMITS["per_account_and_address"],
        "LOGIN_MAX_FAILURES_PER_ADDRESS": LIMITS["per_address"],
        "LOGIN_MAX_FAILURES_PER_ACCOUNT": LIMITS["per_account"],
    }


def post_login(client, username, password=PASSWORD, address="10.0.0.1", **extra):
    return client.post("/login", data={"username": username, "password": password, **extra},
                       environ_base={"REMOTE_ADDR": address})


def test_login_then_home_shows_name(client, make_user, auth):
    user = make_user(full_name="Trần Thị Lụa")
    response = auth.login(user.username)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert "Xin chào đồng chí Trần Thị Lụa" in page


def test_username_is_not_case_sensitive(client, make_user, auth):
    make_user(username="lantt")
    assert auth.login(" LanTT ").status_code == 302


def test_wrong_password_is_refused_in_vietnamese(client, make_user, auth):
    user = make_user()
    response = auth.login(user.username, password="wrong-" + PASSWORD)
    assert response.status_code == 200
    assert WRONG in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_unknown_user_gets_the_same_message(client, auth):
    response = auth.login("khongco", password=PASSWORD)
    assert response.status_code == 200
    assert WRONG in response.get_data(as_text=True)


def test_empty_form_names_the_fields(client):
    page = client.post("/login", data={"username": "", "password": ""}).get_data(as_text=True)
    assert page.count("Không được để trống.") == 2


def test_locked_account_is_refused(client, make_user, auth):
    user = make_user(is_active=False)
    response = auth.login(user.username)
    assert response.status_code == 200
    assert "Tài khoản này đang bị khoá. Vui lòng liên hệ Ban tổ chức của đơn vị." in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_failures_on_one_account_from_one_address_are_throttled(client, make_user):
    user = make_user()
    for _ in range(LIMITS["per_account_and_address"]):
        assert post_login(client, user.username, "sai-mat-khau").status_code == 200
    response = post_login(client, user.username)  # even the right password waits now
    assert response.status_code == 429
    assert THROTTLED in response.get_data(as_text=True)
    assert post_login(client, user.username, address="10.0.0.2").status_code == 302  # another device is fine


def test_one_address_guessing_many_accounts_is_throttled(client, make_user):
    for n in range(LIMITS["per_address"]):
        assert post_login(client, f"doan{n}", "sai-mat-khau", address="203.0.113.9").status_code == 200
    member = make_user()
    assert post_login(client, member.username, address="203.0.113.9").status_code == 429
    assert post_login(client, member.username, address="198.51.100.7").status_code == 302


def test_guessing_from_many_addresses_does_not_lock_the_member_out(client, app, make_user):
    member = make_user()
    assert post_login(client, member.username, address="192.168.1.10").status_code == 302  # at home, earlier
    client.post("/logout")
    for n in range(LIMITS["per_account"]):
        assert post_login(client, member.username, "sai-mat-khau", address=f"203.0.113.{n}").status_code == 200
    stranger = post_login(client, member.username, address="198.51.100.50")
    assert stranger.status_code == 429
    assert post_login(client, member.username, address="192.168.1.10").status_code == 302


def test_throttle_ends_when_the_window_has_passed(app, make_user):
    user = make_user()
    for minute in range(LIMITS["per_account_and_address"]):
        with pytest.raises(auth_ops.LoginFailed):
            auth_ops.authenticate(user.username, "sai", "10.0.0.1", NOW + dt.timedelta(minutes=minute), LIMITS)
    with pytest.raises(auth_ops.LoginThrottled):
        auth_ops.authenticate(user.username, PASSWORD, "10.0.0.1", NOW + dt.timedelta(minutes=5), LIMITS)
    later = NOW + dt.timedelta(minutes=2 + 15, seconds=1)
    assert auth_ops.authenticate(user.username, PASSWORD, "10.0.0.1", later, LIMITS).id == user.id


def test_attempts_are_recorded_with_address_and_time(app, make_user):
    user = make_user()
    with pytest.raises(auth_ops.LoginFailed):
        auth_ops.authenticate(user.username.upper(), "sai", "10.1.2.3", NOW, LIMITS)
    auth_ops.authenticate(user.username, PASSWORD, "10.1.2.3", NOW, LIMITS)
    rows = [(a.username, a.address, a.success, a.at) for a in LoginAttempt.select().order_by(LoginAttempt.id)]
    assert rows == [(user.username, "10.1.2.3", False, NOW), (user.username, "10.1.2.3", True, NOW)]
    assert User.get_by_id(user.id).last_login_at == NOW


@pytest.mark.parametrize("target", ["/account/password", "/?tab=1"])
def test_next_leads_back_to_the_page_asked_for(client, make_user, target):
    user = make_user()
    assert post_login(client, user.username, next=target).headers["Location"] == target


@pytest.mark.parametrize("target", [
    "//evil.com", "https://evil.com", "http://evil.com/", "/\\evil.com", "\\\\evil.com", "javascript:alert(1)",
    "/\t/evil.com", "evil.com", "https:/evil.com", "///evil.com",
])
def test_next_never_leaves_the_site(client, make_user, target):
    user = make_user()
    response = post_login(client, user.username, next=target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_login_page_keeps_next_from_the_address(client):
    response = client.get("/account/password")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=%2Faccount%2Fpassword"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'name="next" type="hidden" value="/account/password"' in page
    assert "Vui lòng đăng nhập để tiếp tục." in page


def test_initial_password_must_be_changed_first(client, make_unit):
    user, initial = users.create_user(None, "moi.dv", "Đỗ Thị Yến", unit=make_unit())
    response = post_login(client, "moi.dv", initial, next="/?tab=1")
    assert response.headers["Location"] == "/account/password"
    page = client.get("/account/password").get_data(as_text=True)
    assert "Chào mừng đồng chí! Vui lòng đặt mật khẩu riêng trước khi tiếp tục." in page
    assert "Đồng chí đang dùng mật khẩu ban đầu được cấp." in page
    assert client.get("/").headers["Location"] == "/account/password"
    with client.get("/static/css/portal.css") as stylesheet:
        assert stylesheet.status_code == 200

    response = client.post("/account/password", data={
        "current_password": initial, "new_password": "hoa-sen-2026", "confirm": "hoa-sen-2026"})
    assert response.headers["Location"] == "/"
    assert "Đã đổi mật khẩu." in client.get("/").get_data(as_text=True)
    assert not User.get_by_id(user.id).must_change_password


@pytest.mark.parametrize("current, new, confirm, message", [
    ("sai-mat-khau", "hoa-sen-2026", "hoa-sen-2026", "Mật khẩu hiện tại không đúng."),
    (PASSWORD, "ngan", "ngan", "Mật khẩu phải có ít nhất 8 ký tự."),
    (PASSWORD, "hoa-sen-2026", "hoa-sen-2025", "Hai mật khẩu không khớp nhau."),
    (PASSWORD, PASSWORD, PASSWORD, "Mật khẩu mới phải khác mật khẩu hiện tại."),
])
def test_change_password_explains_what_is_wrong(client, login, current, new, confirm, message):
    user = login()
    response = client.post("/account/password", data={"current_password": current, "new_password": new,
                                                       "confirm": confirm})
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert User.get_by_id(user.id).password_hash == user.password_hash


def test_password_equal_to_username_is_refused(client, login):
    user = login(username="phuongnt")
    response = client.post("/account/password", data={
        "current_password": PASSWORD, "new_password": "phuongnt", "confirm": "phuongnt"})
    assert "Mật khẩu không được trùng tên đăng nhập hoặc số điện thoại." in response.get_data(as_text=True)
    assert User.get_by_id(user.id).password_hash == user.password_hash


def test_home_shows_the_previous_login_not_this_one(client, make_user, auth):
    user = make_user(last_login_at=dt.datetime(2026, 3, 1, 1, 30))
    auth.login(user.username)
    page = client.get("/").get_data(as_text=True)
    assert "08:30 01/03/2026" in page  # 01:30 UTC shown in Vietnam time


def test_home_of_a_first_login_shows_no_previous_login(client, make_user, auth):
    user = make_user()
    auth.login(user.username)
    assert "Đăng nhập lần trước" not in client.get("/").get_data(as_text=True)


def test_a_login_records_itself_and_rehashes_an_old_hash_in_one_write(app, backend, make_user, monkeypatch):
    """The attempt, the login time and a hash made with older settings land together (one statement on
    PostgreSQL)."""
    from playhouse.test_utils import count_queries

    from portal import db as dbmod

    user = make_user()
    monkeypatch.setattr(auth_ops, "needs_rehash", lambda stored: True)
    with count_queries() as queries:
        auth_ops.authenticate(user.username, PASSWORD, "10.1.2.3", NOW, LIMITS)
    stored = User.get_by_id(user.id)
    assert stored.last_login_at == NOW and stored.password_hash != user.password_hash
    assert auth_ops.verify_password(stored.password_hash, PASSWORD)
    assert [(a.success, a.at) for a in LoginAttempt.select()] == [(True, NOW)]
    executes = {server[1]: sql for sql, server in dbmod._SERVER_SIDE.items() if server}  # prepared: their SQL
    run = [executes.get(q.msg[0], q.msg[0]) for q in queries.get_queries()]
    writes = [sql for sql in run if not sql.startswith(("SELECT", "PREPARE"))]
    if backend == "postgresql":
        assert len(writes) == 1
