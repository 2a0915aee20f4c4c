"""The database: SQLite settings, NFC text, migrations that keep data, schema matching the models."""

import shutil
import sqlite3
import unicodedata
import uuid

import peewee as pw
import pytest
from playhouse.db_url import connect as connect_url
from playhouse.migrations import Runner
from playhouse.schema_diff import diff_models

from portal import db as dbmod
from portal.accounts import users
from portal.accounts.models import MODELS, Unit, User
from portal import jobs  # noqa: F401  (registers the job models)
from portal.certificates import models as certificate_models  # noqa: F401  (registers the certificate models)
from portal.contests import models as contest_models  # noqa: F401  (registers the contest models)
from portal.pledges import models as pledge_models  # noqa: F401  (registers the pledge models)
from portal.quiz import models as quiz_models  # noqa: F401  (registers the quiz models)
from tests.conftest import PG_URL


def portal_models():
    """Every model the portal defines (all areas are imported by create_app)."""
    found, todo = [], list(dbmod.BaseModel.__subclasses__())
    while todo:
        model = todo.pop()
        todo.extend(model.__subclasses__())
        if model.__module__.startswith("portal."):
            found.append(model)
    return found


@pytest.fixture
def sqlite_only(backend):
    if backend != "sqlite":
        pytest.skip("SQLite settings")


def test_sqlite_connection_has_wal_foreign_keys_and_busy_timeout(app, sqlite_only):
    db = app.extensions["portal_db"]
    with db.connection_context():
        pragma = lambda name: db.execute_sql(f"PRAGMA {name}").fetchone()[0]  # noqa: E731
        assert pragma("journal_mode") == "wal"
        assert pragma("foreign_keys") == 1
        assert pragma("busy_timeout") == app.config["SQLITE_BUSY_TIMEOUT_MS"]
        assert pragma("synchronous") == 1  # NORMAL


def test_foreign_keys_are_enforced(app, make_user):
    """No account can point at a unit that does not exist."""
    user = make_user()
    with pytest.raises(pw.IntegrityError), dbmod.database.atomic():
        User.update(unit=987654).where(User.id == user.id).execute()
    assert User.get_by_id(user.id).unit_id == user.unit_id


def test_atomic_takes_the_write_lock_at_begin(app, sqlite_only):
    """BEGIN IMMEDIATE: a second writer waits instead of failing half-way through."""
    db = app.extensions["portal_db"]
    other = sqlite3.connect(db.database, timeout=0, isolation_level=None)
    try:
        with db.connection_context(), db.atomic():
            db.execute_sql("SELECT 1")  # nothing written yet, but the lock is held
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")  # free again after commit
        other.execute("ROLLBACK")
    finally:
        other.close()


def test_name_typed_in_nfd_is_stored_nfc_and_found(app, make_unit):
    nfd = unicodedata.normalize("NFD", "Nguyễn Thị Hồng Nhung")
    assert nfd != "Nguyễn Thị Hồng Nhung"
    user, _ = users.create_user(None, "nhungnth", nfd, unit=make_unit())
    stored = User.select(User.full_name).where(User.id == user.id).scalar()
    assert stored == unicodedata.normalize("NFC", nfd)
    assert [u.username for u in users.search("Hồng Nhung")] == ["nhungnth"]
    assert [u.username for u in users.search(unicodedata.normalize("NFD", "Hồng"))] == ["nhungnth"]


def test_unit_name_typed_in_nfd_is_stored_nfc(app, make_unit):
    unit = make_unit(name=unicodedata.normalize("NFD", "Chi bộ thôn Đông Lâm"))
    assert Unit.get_by_id(unit.id).name == "Chi bộ thôn Đông Lâm"
    assert Unit.select().where(Unit.name == "Chi bộ thôn Đông Lâm").count() == 1


@pytest.fixture
def scratch_db(backend, tmp_path):
    """An empty database: a new SQLite file, or a new PostgreSQL schema."""
    if backend == "sqlite":
        db = dbmod.make_database(f"sqlite:///{tmp_path}/scratch.db", None)
        yield db
        db.close()
        return
    schema = f"scratch_{uuid.uuid4().hex[:12]}"
    admin = connect_url(PG_URL)
    admin.execute_sql(f'CREATE SCHEMA "{schema}"')
    db = connect_url(PG_URL, options=f"-c search_path={schema}")
    try:
        yield db
    finally:
        db.close()
        admin.execute_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.close()


TEST_MIGRATION = '''"""Test only: members get a nickname."""
from peewee import *


def up(migrator, db):
    migrator.migrate(migrator.add_column("user", "nickname", CharField(max_length=64, default="")))


def down(migrator, db):
    migrator.migrate(migrator.drop_column("user", "nickname"))
'''


def test_upgrade_keeps_existing_data(scratch_db, tmp_path):
    migrations = tmp_path / "migrations"
    shutil.copytree(dbmod.MIGRATIONS_DIR, migrations, ignore=shutil.ignore_patterns("__pycache__"))
    shipped = sorted(p.stem for p in migrations.glob("[0-9]*.py"))

    with scratch_db.connection_context():
        assert Runner(scratch_db, directory=str(migrations)).up() == shipped  # the database at version N
        with scratch_db.bind_ctx(MODELS):
            unit = Unit.create(code="HN", name="Đảng bộ xã Hòa Ninh", kind="committee", path="/1/")
            User.create(username="maint", full_name="Nguyễn Thị Mai", unit=unit, password_hash="x")

    number = int(shipped[-1][:4]) + 1
    (migrations / f"{number:04d}_test_nickname.py").write_text(TEST_MIGRATION)
    with scratch_db.connection_context():
        runner = Runner(scratch_db, directory=str(migrations))
        assert runner.up() == [f"{number:04d}_test_nickname"]
        assert runner.up() == []  # nothing left to do
        assert "nickname" in {c.name for c in scratch_db.get_columns("user")}
        rows = scratch_db.execute_sql(
            'SELECT u.username, u.full_name, u.nickname, n.code FROM "user" u JOIN unit n ON n.id = u.unit_id'
        ).fetchall()
    assert [tuple(r) for r in rows] == [("maint", "Nguyễn Thị Mai", "", "HN")]


def test_migrated_schema_matches_the_models(app):
    db = app.extensions["portal_db"]
    models = portal_models()
    assert set(MODELS) <= set(models)
    with db.connection_context():
        assert str(diff_models(db, models)) == ""
        for model in models:
            columns = {c.name: c for c in db.get_columns(model._meta.table_name)}
            for field in model._meta.sorted_fields:
                assert columns[field.column_name].null == field.null, f"{model.__name__}.{field.name} nullability"


def test_pending_migrations_are_listed_before_init_db(tmp_path):
    db = dbmod.make_database(f"sqlite:///{tmp_path}/new.db", None)
    assert dbmod.pending_migrations(db) == sorted(p.stem for p in dbmod.MIGRATIONS_DIR.glob("[0-9]*.py"))
    dbmod.migrate(db)
    assert dbmod.pending_migrations(db) == []


# Writes that land together ------------------------------------------------------------------------------

def _writes_run(queries):
    """The statements run, a prepared one as its SQL (PREPARE itself aside: once per connection)."""
    executes = {server[1]: sql for sql, server in dbmod._SERVER_SIDE.items() if server}
    return [executes.get(q.msg[0], q.msg[0]) for q in queries.get_queries() if not q.msg[0].startswith("PREPARE ")]


def test_writes_together_land_in_one_statement_on_postgresql(app, backend, make_unit):
    from playhouse.test_utils import count_queries

    unit = make_unit("HV", "Đảng bộ huyện Hòa Vang", "committee")
    with count_queries() as queries:
        changed = dbmod.write_together(
            Unit.insert(code="HV-AS", name="Chi bộ thôn An Sơn", kind="cell", parent=unit.id, path=""),
            Unit.update(declared_members=Unit.declared_members + 7).where(Unit.id == unit.id))
    assert changed == 1
    assert Unit.get(Unit.code == "HV-AS").parent_id == unit.id
    assert Unit.get_by_id(unit.id).declared_members == unit.declared_members + 7
    statements = _writes_run(queries)
    if backend == "postgresql":  # no BEGIN and COMMIT around it: one statement is all or nothing
        assert len(statements) == 1 and statements[0].startswith("WITH w0 AS (INSERT INTO")
    else:
        assert [sql.split()[0] for sql in statements] == ["INSERT", "UPDATE"]


def test_writes_together_land_not_at_all_when_one_fails(app, backend, make_unit):
    unit = make_unit("HV", "Đảng bộ huyện Hòa Vang", "committee")
    with pytest.raises(pw.IntegrityError):
        dbmod.write_together(
            Unit.update(declared_members=99).where(Unit.id == unit.id),
            Unit.insert(code="HV", name="Trùng mã", kind="committee", path=""))  # the code is taken
    assert Unit.get_by_id(unit.id).declared_members == unit.declared_members
    assert Unit.select().where(Unit.code == "HV").count() == 1


def test_writes_together_inside_a_transaction_go_with_it(app, backend, make_unit):
    unit = make_unit("HV", "Đảng bộ huyện Hòa Vang", "committee")
    with pytest.raises(RuntimeError), dbmod.database.atomic():
        dbmod.write_together(Unit.update(declared_members=5).where(Unit.id == unit.id),
                             Unit.update(name="Đảng bộ huyện Hòa Vang mới").where(Unit.code == "nobody"))
        raise RuntimeError("the transaction around them fails later")
    assert Unit.get_by_id(unit.id).declared_members == unit.declared_members
