"""Sessions end when they should: logout, password change, locking; remember-me; no fixation."""

from portal.accounts import users
from tests.conftest import PASSWORD

SESSION = "portal_session"
REMEMBER = "portal_remember"


def cookie(client, name):
    found = client.get_cookie(name)
    return found.value if found else None


def set_cookie_header(response, name):
    return next(h for h in response.headers.getlist("Set-Cookie") if h.startswith(name + "="))


def second_device(app, client):
    """Another client holding a copy of ``client``'s cookies."""
    other = app.test_client()
    for name in (SESSION, REMEMBER):
        if cookie(client, name):
            other.set_cookie(name, cookie(client, name))
    return other


def is_logged_in(client, full_name):
    response = client.get("/")
    return response.status_code == 200 and full_name in response.get_data(as_text=True)


def test_login_starts_a_new_session(client, make_user, auth):
    user = make_user()
    with client.session_transaction() as session:
        session["planted"] = "by someone else"
    before = cookie(client, SESSION)
    auth.login(user.username)
    assert cookie(client, SESSION) != before
    with client.session_transaction() as session:
        assert "planted" not in session


def test_session_cookie_is_httponly_and_samesite(client, make_user, auth):
    response = auth.login(make_user().username)
    header = set_cookie_header(response, SESSION)
    assert "HttpOnly" in header
    assert "SameSite=Lax" in header
    assert REMEMBER + "=" not in " ".join(response.headers.getlist("Set-Cookie"))


def test_logout_ends_the_session_even_for_a_copied_cookie(app, client, make_user, auth):
    user = make_user()
    auth.login(user.username)
    stolen = second_device(app, client)
    assert is_logged_in(stolen, user.full_name)

    response = auth.logout()
    assert response.headers["Location"] == "/login"
    assert "Đồng chí đã đăng xuất." in client.get("/login").get_data(as_text=True)
    assert not is_logged_in(client, user.full_name)
    assert not is_logged_in(stolen, user.full_name)  # replaying the old cookie no longer works


def test_password_change_logs_out_other_devices_but_not_this_one(app, client, make_user, auth):
    user = make_user()
    phone = app.test_client()
    phone.post("/login", data={"username": user.username, "password": PASSWORD})
    auth.login(user.username)
    assert is_logged_in(phone, user.full_name)

    response = client.post("/account/password", data={
        "current_password": PASSWORD, "new_password": "hoa-sen-2026", "confirm": "hoa-sen-2026"})
    assert response.headers["Location"] == "/"
    assert is_logged_in(client, user.full_name)
    assert not is_logged_in(phone, user.full_name)


def test_locking_an_account_logs_it_out_at_once(client, make_user, auth):
    user = make_user()
    auth.login(user.username)
    assert is_logged_in(client, user.full_name)
    users.set_active(None, user, False)
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_password_reset_by_an_organiser_logs_the_member_out(client, make_user, auth):
    user = make_user()
    auth.login(user.username)
    users.reset_password(None, user)
    assert not is_logged_in(client, user.full_name)


def test_remember_me_keeps_the_member_logged_in_after_the_browser_closes(app, client, make_user, auth):
    user = make_user()
    response = auth.login(user.username, remember="y")
    header = set_cookie_header(response, REMEMBER)
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Expires=" in header

    reopened = app.test_client()  # the session cookie is gone, the remember cookie stays
    reopened.set_cookie(REMEMBER, cookie(client, REMEMBER))
    assert is_logged_in(reopened, user.full_name)


def test_logout_also_ends_remember_me(app, client, make_user, auth):
    user = make_user()
    auth.login(user.username, remember="y")
    remembered = cookie(client, REMEMBER)
    auth.logout()
    assert cookie(client, REMEMBER) is None
    reopened = app.test_client()
    reopened.set_cookie(REMEMBER, remembered)
    assert not is_logged_in(reopened, user.full_name)


def test_remember_me_survives_a_password_change_on_this_device(app, client, make_user, auth):
    user = make_user()
    auth.login(user.username, remember="y")
    client.post("/account/password", data={
        "current_password": PASSWORD, "new_password": "hoa-sen-2026", "confirm": "hoa-sen-2026"})
    reopened = app.test_client()
    reopened.set_cookie(REMEMBER, cookie(client, REMEMBER))
    assert is_logged_in(reopened, user.full_name)
