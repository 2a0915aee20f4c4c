"""Configuration: defaults, instance/config.py, PORTAL_* variables, test config; the secret key."""

import pytest

from portal import create_app
from portal.accounts.models import User


@pytest.fixture
def instance(tmp_path, monkeypatch):
    path = tmp_path / "instance"
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(path))
    for name in ("PORTAL_DATABASE_URL", "PORTAL_SECRET_KEY", "PORTAL_ORGANISATION_NAME", "PORTAL_SERVE_WORKERS"):
        monkeypatch.delenv(name, raising=False)
    return path


def test_each_layer_overrides_the_one_before(instance, monkeypatch):
    instance.mkdir()
    (instance / "config.py").write_text(
        'ORGANISATION_NAME = "Đảng bộ xã Hòa Ninh"\nSERVE_WORKERS = 3\nSERVE_THREADS = 8\nLOGIN_WINDOW_SECONDS = 60\n',
        encoding="utf-8")
    monkeypatch.setenv("PORTAL_SERVE_WORKERS", "5")  # parsed as JSON: an int
    monkeypatch.setenv("PORTAL_SERVE_THREADS", "6")
    app = create_app({"TESTING": True, "SECRET_KEY": "dev", "SERVE_THREADS": 2})

    assert app.config["SERVE_BIND"] == "127.0.0.1:5000"  # default
    assert app.config["ORGANISATION_NAME"] == "Đảng bộ xã Hòa Ninh"  # instance/config.py
    assert app.config["LOGIN_WINDOW_SECONDS"] == 60
    assert app.config["SERVE_WORKERS"] == 5  # environment beats the file
    assert app.config["SERVE_THREADS"] == 2  # test config beats the environment
    page = app.test_client().get("/login").get_data(as_text=True)
    assert "<title>Đăng nhập · Đảng bộ xã Hòa Ninh</title>" in page


def test_instance_path_moves_the_instance_folder(instance):
    app = create_app({"TESTING": True, "SECRET_KEY": "dev"})
    assert app.instance_path == str(instance)
    db = app.extensions["portal_db"]
    assert db.database == str(instance / "portal.db")
    runner = app.test_cli_runner()
    assert runner.invoke(args=["init-db"]).exit_code == 0
    assert (instance / "portal.db").exists()


def test_database_url_names_the_database(instance, tmp_path, monkeypatch):
    monkeypatch.setenv("PORTAL_DATABASE_URL", f"sqlite:///{tmp_path}/elsewhere.db")
    app = create_app({"TESTING": True, "SECRET_KEY": "dev"})
    assert app.extensions["portal_db"].database == f"{tmp_path}/elsewhere.db"


def test_secret_key_is_generated_once_and_keeps_members_logged_in_across_restarts(instance):
    no_csrf = {"WTF_CSRF_ENABLED": False}  # still a production start: the key is checked
    first = create_app(no_csrf)
    key_file = instance / "secret_key"
    assert [p.name for p in instance.iterdir()] == ["secret_key"]  # nothing else left behind
    assert len(key_file.read_text()) >= 32
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert first.config["SECRET_KEY"] == key_file.read_text()
    assert first.test_cli_runner().invoke(args=["init-db"]).exit_code == 0
    assert first.test_cli_runner().invoke(args=["demo"]).exit_code == 0
    client = first.test_client()
    assert client.post("/login", data={"username": "dangvien", "password": "demo2026"}).status_code == 302

    second = create_app(no_csrf)  # the portal restarts
    assert second.config["SECRET_KEY"] == first.config["SECRET_KEY"]
    second_client = second.test_client()
    second_client.set_cookie("portal_session", client.get_cookie("portal_session").value)
    assert "Nguyễn Thị Mai" in second_client.get("/").get_data(as_text=True)


def test_configured_secret_key_is_used_and_no_file_written(instance, monkeypatch):
    monkeypatch.setenv("PORTAL_SECRET_KEY", "a-long-random-production-secret-0123456789")
    app = create_app()
    assert app.config["SECRET_KEY"] == "a-long-random-production-secret-0123456789"
    assert not (instance / "secret_key").exists()


@pytest.mark.parametrize("key", ["dev", "short", "only-twenty-five-letters!", "change-me-to-64-hex-characters-0123456789"])
def test_production_start_refuses_a_development_key(instance, monkeypatch, key):
    monkeypatch.setenv("PORTAL_SECRET_KEY", key)
    with pytest.raises(RuntimeError, match="development SECRET_KEY"):
        create_app()


def test_development_key_is_fine_in_debug_and_tests(instance):
    assert create_app({"DEBUG": True, "SECRET_KEY": "dev"}).config["SECRET_KEY"] == "dev"
    assert create_app({"TESTING": True, "SECRET_KEY": "dev"}).config["SECRET_KEY"] == "dev"


def test_users_table_is_not_touched_by_create_app(instance):
    """The factory touches no data: before init-db there is no schema."""
    app = create_app({"TESTING": True, "SECRET_KEY": "dev"})
    db = app.extensions["portal_db"]
    with db.connection_context():
        assert not User.table_exists()


@pytest.mark.parametrize("count, expected", [(0, "127.0.0.1"), (1, "203.0.113.7")])
def test_behind_a_proxy_the_clients_address_comes_from_x_forwarded_for(instance, count, expected):
    """PROXY_COUNT=1 behind nginx: rate limits, throttling and the audit log see the member, not the proxy;
    without it a forged header is ignored."""
    from flask import request

    from portal.extensions import client_address

    app = create_app({"TESTING": True, "SECRET_KEY": "dev", "PROXY_COUNT": count})
    seen = {}

    @app.get("/_address")
    def _address():
        seen["address"], seen["scheme"] = client_address(), request.scheme
        return "ok"

    app.test_client().get("/_address", headers={"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"})
    assert seen == {"address": expected, "scheme": "https" if count else "http"}
