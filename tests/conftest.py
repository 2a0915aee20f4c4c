"""Shared fixtures: an app per test on SQLite (and on PostgreSQL when configured), factories."""

import datetime as dt
import itertools
import os

import peewee as pw
import pytest
from flask.testing import FlaskClient

from portal import create_app
from portal import db as dbmod
from portal.accounts.models import RoleGrant, Unit, User
from portal.accounts.passwords import hash_password

PG_URL = os.environ.get("PORTAL_TEST_DATABASE_URL")
PASSWORD = "mat-khau-123"
_PASSWORD_HASH = hash_password(PASSWORD)  # hashed once: argon2 is slow on purpose


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request):
    if request.param == "postgresql" and not PG_URL:
        pytest.skip("PostgreSQL run: set PORTAL_TEST_DATABASE_URL (as .ci/run does)")
    return request.param


@pytest.fixture(scope="session")
def pg_url():
    """A private PostgreSQL database for this test run, dropped at the end.

    Runs that overlap (a developer's and CI's, or two helpers') never empty
    each other's tables.
    """
    import uuid
    from urllib.parse import urlsplit, urlunsplit

    import psycopg2

    server = PG_URL.replace("+pool://", "://", 1)
    name = f"portal_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(server)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    yield urlunsplit(urlsplit(PG_URL)._replace(path="/" + name))
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def _reset_postgres(db):
    """Empty every table but the migration history, so each test starts clean."""
    tables = [t for t in db.get_tables() if t != "schema_migration"]
    if tables:
        db.execute_sql("TRUNCATE {} RESTART IDENTITY CASCADE".format(", ".join(f'"{t}"' for t in tables)))


class FreshContextClient(FlaskClient):
    """Each request runs in its own app context, as in production.

    The app fixture keeps an app context open for the whole test; without this,
    every request would share its ``g`` and Flask-Login would keep serving the
    user it cached there, hiding a logout or a locked account.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def app_config():
    """Override per test module to change the configuration."""
    return {}


@pytest.fixture
def app(request, backend, tmp_path, monkeypatch, app_config):
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path / "instance"))
    config = {
        "TESTING": True,
        "SECRET_KEY": "dev",
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "PUBLIC_URL": "http://portal.test",
    }
    if backend == "postgresql":
        config["DATABASE_URL"] = request.getfixturevalue("pg_url")
    config.update(app_config)
    app = create_app(config)
    app.test_client_class = FreshContextClient
    db = app.extensions["portal_db"]
    with app.app_context():
        dbmod.database.initialize(db)
        dbmod.migrate(db)
        if backend == "postgresql":
            _reset_postgres(db)
        yield app
        if not db.is_closed():
            db.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


_seq = itertools.count(1)


@pytest.fixture
def make_unit(app):
    def make_unit(code=None, name=None, kind="cell", parent=None, declared_members=10):
        from portal.accounts.units import create_unit

        n = next(_seq)
        return create_unit(None, code or f"U{n}", name or f"Chi bộ số {n}", kind,
                           parent=parent, declared_members=declared_members)

    return make_unit


@pytest.fixture
def make_user(app, make_unit):
    def make_user(username=None, role=None, scope=None, unit=None, **overrides):
        n = next(_seq)
        values = {
            "username": username or f"user{n}",
            "full_name": f"Nguyễn Văn Thử {n}",
            "unit": unit if unit is not None else (make_unit() if role != "admin" else None),
            "password_hash": _PASSWORD_HASH,
            "birth_date": dt.date(1985, 5, 17),
            "gender": "male",
        }
        values.update(overrides)
        user = User.create(**values)
        for r in ([role] if isinstance(role, str) else (role or [])):
            RoleGrant.create(user=user, role=r, unit=None if r == "admin" else (scope or user.unit))
        return user

    return make_user


class AuthActions:
    def __init__(self, client):
        self._client = client

    def login(self, username, password=PASSWORD, **extra):
        return self._client.post("/login", data={"username": username, "password": password, **extra})

    def logout(self):
        return self._client.post("/logout")


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def login(client, make_user, auth):
    """Log in a fresh user with the given role(s); returns the user."""

    def login(role=None, **kwargs):
        user = make_user(role=role, **kwargs)
        response = auth.login(user.username)
        assert response.status_code == 302, response.get_data(as_text=True)
        return user

    return login


def reload(model_instance):
    return type(model_instance).get_by_id(model_instance.id)


__all__ = ["PASSWORD", "reload", "pw", "Unit"]
