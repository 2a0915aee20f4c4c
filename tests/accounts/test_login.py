from tests.conftest import PASSWORD


def test_login_then_home_shows_name(client, make_user, auth):
    user = make_user(full_name="Trần Thị Lụa")
    response = auth.login(user.username)
    assert response.status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert "Trần Thị Lụa" in page


def test_wrong_password_is_refused(client, make_user, auth):
    user = make_user()
    response = auth.login(user.username, password="wrong-" + PASSWORD)
    assert response.status_code == 200
    assert client.get("/").status_code == 302
