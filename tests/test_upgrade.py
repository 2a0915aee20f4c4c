"""Upgrading a database made by the previous release keeps every row.

tests/fixtures/release-0006.db was made by the release before exemplary stories (migrations 0001-0006,
commit 550e74d) with `portal init-db` and `portal demo`: units, accounts, quizzes and attempts, a contest with
ranked, awarded and certified results, pledges in every state. Each release that adds a migration keeps the
previous release's database here and checks the upgrade the same way.
"""

import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from portal import create_app
from portal import db as dbmod

FIXTURE = Path(__file__).parent / "fixtures" / "release-0006.db"


def counts(path):
    with closing(sqlite3.connect(path)) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                           "AND name NOT LIKE 'sqlite_%'")]
        return {t: db.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables}


@pytest.fixture
def upgraded(tmp_path, monkeypatch):
    path = tmp_path / "portal.db"
    shutil.copy(FIXTURE, path)
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app({"TESTING": True, "SECRET_KEY": "dev", "DATABASE_URL": f"sqlite:///{path}",
                      "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False})
    return app, path


def test_upgrading_the_previous_releases_database_keeps_every_row(upgraded):
    app, path = upgraded
    before = counts(path)
    assert before["user"] > 100 and before["attempt"] > 200 and before["pledge"] > 40 and before["certificate"] > 10
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    after = counts(path)
    grown = {t for t in after if t not in before}
    assert "exemplary_story" in grown
    assert {t: after[t] for t in before if t != "schema_migration"} == \
        {t: n for t, n in before.items() if t != "schema_migration"}
    with app.app_context():
        assert dbmod.pending_migrations() == []
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []


def test_the_upgraded_portal_serves_its_members(upgraded):
    app, _path = upgraded
    assert app.test_cli_runner().invoke(args=["init-db"]).exit_code == 0
    client = app.test_client()
    assert client.post("/login", data={"username": "dangvien", "password": "demo2026"}).status_code == 302
    for page in ("/", "/pledges", "/certificates/mine", "/quiz/"):
        assert client.get(page).status_code == 200, page
