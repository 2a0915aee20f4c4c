"""The `portal` command: init-db, demo, create-admin, backup, serve."""

import os
import secrets
import socket
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
import urllib.error
import urllib.request

import pytest

from portal import create_app
from portal.accounts import permissions
from portal.accounts.models import Unit, User
from portal.demo import DEMO_PASSWORD, NAMED
from tests.conftest import PASSWORD

PORTAL = os.path.join(os.path.dirname(sys.executable), "portal")
INIT_DB_HINT = "portal init-db"


@pytest.fixture
def fresh_app(tmp_path, monkeypatch):
    """A new deployment on SQLite before `portal init-db`."""
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path / "fresh"))
    monkeypatch.delenv("PORTAL_DATABASE_URL", raising=False)
    return create_app({"TESTING": True, "SECRET_KEY": "dev", "DATABASE_URL": None})


def test_init_db_creates_then_says_ready(fresh_app):
    runner = fresh_app.test_cli_runner()
    first = runner.invoke(args=["init-db"])
    assert first.exit_code == 0, first.output
    assert "Đã áp dụng: 0001_initial" in first.output
    again = runner.invoke(args=["init-db"])
    assert again.exit_code == 0
    assert "Đã áp dụng" not in again.output
    assert "Cơ sở dữ liệu đã sẵn sàng" in again.output


def test_init_db_on_an_up_to_date_database_changes_nothing(runner, make_user):
    user = make_user()
    result = runner.invoke(args=["init-db"])
    assert result.exit_code == 0
    assert "Đã áp dụng" not in result.output
    assert User.get_by_id(user.id).username == user.username


@pytest.mark.parametrize("command", [["demo"], ["create-admin", "quantri", "--password", "mat-khau-manh-2026"],
                                     ["serve", "--bind", "127.0.0.1:9"]])
def test_commands_before_init_db_fail_with_the_hint(fresh_app, command):
    result = fresh_app.test_cli_runner().invoke(args=command)
    assert result.exit_code != 0
    assert INIT_DB_HINT in result.output


def test_demo_loads_once_and_prints_the_four_logins(runner):
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    assert "Đã nạp dữ liệu mẫu." in first.output
    counts = (Unit.select().count(), User.select().count())
    assert counts[0] >= 10 and counts[1] >= 50

    again = runner.invoke(args=["demo"])
    assert again.exit_code == 0
    assert "Dữ liệu đã có sẵn, không nạp thêm." in again.output
    assert (Unit.select().count(), User.select().count()) == counts
    for output in (first.output, again.output):
        assert f"mật khẩu chung: {DEMO_PASSWORD}" in output
        for username, full_name, *_ in NAMED:
            assert username in output and full_name in output


def test_demo_logins_work(runner, auth, client):
    runner.invoke(args=["demo"])
    for username, full_name, *_ in NAMED:
        assert auth.login(username, DEMO_PASSWORD).status_code == 302
        assert full_name in client.get("/").get_data(as_text=True)
        auth.logout()


def test_demo_if_empty_leaves_a_real_organisation_alone(runner, make_unit):
    make_unit(code="REAL")
    result = runner.invoke(args=["demo", "--if-empty"])
    assert result.exit_code == 0
    assert [u.code for u in Unit.select()] == ["REAL"]


def test_create_admin_makes_a_new_admin_who_can_log_in(runner, auth):
    result = runner.invoke(args=["create-admin", "quantri", "--password", "mat-khau-manh-2026"])
    assert result.exit_code == 0, result.output
    assert "Tài khoản quantri có quyền quản trị." in result.output
    user = User.get(User.username == "quantri")
    assert permissions.is_admin(user)
    assert not user.must_change_password
    assert auth.login("quantri", "mat-khau-manh-2026").status_code == 302


def test_create_admin_promotes_an_existing_account_and_keeps_its_password(runner, make_user, auth):
    user = make_user(username="bithu.hn")
    result = runner.invoke(args=["create-admin", "bithu.hn", "--password", "ignored-password-1"])
    assert result.exit_code == 0, result.output
    assert permissions.is_admin(User.get_by_id(user.id))
    assert auth.login("bithu.hn", PASSWORD).status_code == 302
    again = runner.invoke(args=["create-admin", "bithu.hn", "--password", "ignored-password-1"])
    assert again.exit_code == 0  # already admin: nothing to do, no error


@pytest.mark.parametrize("password, message", [
    ("ngan", "Mật khẩu phải có ít nhất 8 ký tự."),
    ("aaaaaaaaaa", "Mật khẩu này quá dễ đoán."),
])
def test_create_admin_refuses_a_weak_password(runner, password, message):
    result = runner.invoke(args=["create-admin", "quantri", "--password", password])
    assert result.exit_code != 0
    assert message in result.output
    assert not User.select().where(User.username == "quantri").exists()


def test_create_admin_refuses_a_bad_username(runner):
    result = runner.invoke(args=["create-admin", "Quản Trị", "--password", "mat-khau-manh-2026"])
    assert result.exit_code != 0
    assert "Tên đăng nhập:" in result.output


def test_backup_is_a_sound_copy_with_the_accounts(app, runner, make_user, tmp_path, backend):
    make_user(username="maint", full_name="Nguyễn Thị Mai")
    target = tmp_path / "backups" / "portal-backup.db"
    target.parent.mkdir()
    result = runner.invoke(args=["backup", str(target)])
    assert result.exit_code == 0, result.output
    assert f"Đã sao lưu vào {target}" in result.output
    if backend == "postgresql":
        assert target.read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format
        return
    assert [p.name for p in target.parent.iterdir()] == ["portal-backup.db"]  # one file, nothing left over
    with closing(sqlite3.connect(target)) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        names = {row[0] for row in copy.execute('SELECT full_name FROM "user"')}
    assert "Nguyễn Thị Mai" in names


def test_backup_while_someone_is_writing_copies_only_committed_data(app, runner, make_user, tmp_path, backend):
    if backend != "sqlite":
        pytest.skip("SQLite backup")
    make_user(username="committed")
    writer = sqlite3.connect(app.extensions["portal_db"].database, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("UPDATE \"user\" SET full_name = 'half-way' WHERE username = 'committed'")
        result = runner.invoke(args=["backup", str(tmp_path / "b.db")])
        writer.execute("ROLLBACK")
    finally:
        writer.close()
    assert result.exit_code == 0, result.output
    with closing(sqlite3.connect(tmp_path / "b.db")) as copy:
        names = [row[0] for row in copy.execute('SELECT full_name FROM "user" WHERE username = ?', ("committed",))]
    assert names and names != ["half-way"]


def test_backup_into_a_missing_folder_fails_clearly(app, runner, backend, tmp_path):
    if backend != "sqlite":
        pytest.skip("SQLite backup")
    result = runner.invoke(args=["backup", str(tmp_path / "no" / "such" / "folder" / "b.db")])
    assert result.exit_code != 0
    assert "Không sao lưu được" in result.output


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_runs_gunicorn_that_answers(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    env.update(PORTAL_INSTANCE_PATH=str(tmp_path / "instance"), PORTAL_SECRET_KEY=secrets.token_hex(32))
    subprocess.run([PORTAL, "init-db"], env=env, check=True, capture_output=True, timeout=60)
    port = _free_port()
    log = open(tmp_path / "serve.log", "wb")
    server = subprocess.Popen([PORTAL, "serve", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
                              env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        page = None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as response:
                    assert response.status == 200
                    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
                    page = response.read().decode()
                    break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)  # polling until the workers are up
        assert page is not None, (tmp_path / "serve.log").read_text()
        assert "Đăng nhập" in page
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
    output = (tmp_path / "serve.log").read_text()
    assert f"Portal đang chạy tại http://127.0.0.1:{port}" in output
    assert server.returncode == 0, output


def test_create_admin_does_not_ask_a_password_for_an_existing_account(runner, make_user):
    make_user(username="bithu.hp")
    result = runner.invoke(args=["create-admin", "bithu.hp"], input="")
    assert result.exit_code == 0, result.output
    assert "Mật khẩu" not in result.output


def test_pg_dump_gets_the_url_without_the_pools_settings():
    from portal.cli import pg_dump_url

    assert pg_dump_url("postgresql+pool://portal:s@10.0.0.10:5432/portal?max_connections=20&stale_timeout=300"
                       "&sslmode=require") == "postgresql://portal:s@10.0.0.10:5432/portal?sslmode=require"
    assert pg_dump_url("postgresql://postgres@127.0.0.1:5432/test") == "postgresql://postgres@127.0.0.1:5432/test"


def test_restore_drill_puts_back_the_copy_and_refuses_a_live_database_without_force(app, runner, make_user,
                                                                                    tmp_path, backend):
    from portal.accounts.models import User

    make_user(username="before", full_name="Trần Thị Trước")
    copy = tmp_path / "nightly.db"
    assert runner.invoke(args=["backup", str(copy)]).exit_code == 0
    make_user(username="after", full_name="Lê Văn Sau")  # written after the backup
    User.update(full_name="Đã sửa").where(User.username == "before").execute()

    refused = runner.invoke(args=["restore", str(copy)])
    assert refused.exit_code != 0 and "--force" in refused.output
    assert User.get(User.username == "before").full_name == "Đã sửa"  # nothing touched

    done = runner.invoke(args=["restore", str(copy), "--force"])
    assert done.exit_code == 0, done.output
    assert "Đã khôi phục" in done.output
    app.extensions["portal_db"].connect(reuse_if_open=True)
    assert User.get(User.username == "before").full_name == "Trần Thị Trước"
    assert not User.select().where(User.username == "after").exists()
    from portal import db as dbmod

    assert dbmod.pending_migrations() == []


def test_restore_refuses_a_file_that_is_not_a_backup_and_keeps_the_data(app, runner, make_user, tmp_path, backend):
    from portal.accounts.models import User

    make_user(username="kept")
    bogus = tmp_path / "notes.db"
    bogus.write_bytes(b"this is not a database at all" * 100)
    result = runner.invoke(args=["restore", str(bogus), "--force"])
    assert result.exit_code != 0
    assert ("không phải" in result.output or "Không đọc được" in result.output), result.output
    app.extensions["portal_db"].connect(reuse_if_open=True)
    assert User.select().where(User.username == "kept").exists()
