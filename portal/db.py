"""The Peewee database: one proxy, SQLite or PostgreSQL, per-request connections, migrations."""

import inspect
import itertools
import os
import re
import time
import unicodedata
import weakref
from pathlib import Path

import peewee as pw
from playhouse import pool
from playhouse.db_url import connect as connect_url
from playhouse.db_url import register_database
from playhouse.migrations import Runner

database = pw.DatabaseProxy()

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


class BaseModel(pw.Model):
    class Meta:
        database = database
        legacy_table_names = False


def nfc(value):
    """Return text in Unicode NFC, stripped; other values unchanged."""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value).strip()
    return value


class NFCCharField(pw.CharField):
    """A CharField that stores NFC text, whatever the input method produced."""

    def db_value(self, value):
        return super().db_value(nfc(value))


class NFCTextField(pw.TextField):
    def db_value(self, value):
        return super().db_value(nfc(value))


class Prepared:
    """A statement whose SQL Peewee builds once per database, then runs with each request's values.

    For the few statements every request or every save makes (the logged-in user, an attempt and its rows,
    the UPDATEs of an autosave): Peewee takes longer to build such a statement than SQLite takes to run it,
    and a write transaction should not wait on it. ``build(*marks)`` returns the query with one mark where
    each value goes (``Prepared(lambda mark: User.select().where(User.id == mark))``). The values go to the
    driver as given (whole numbers, text, datetimes, None): no field's conversion is applied to them. On
    PostgreSQL it is also prepared on the server (``execute_prepared``).
    """

    MARK = -7_340_033  # the first mark's number while the query is built (no id or number takes it)

    def __init__(self, build):
        self._build = build
        self._arity = sum(p.default is p.empty for p in inspect.signature(build).parameters.values())
        self._compiled = {}  # per database object: tests and tools switch between databases

    def _compile(self):
        db = database.obj
        compiled = self._compiled.get(db)
        if compiled is None:
            numbers = [self.MARK - i for i in range(self._arity)]
            query = self._build(*(pw.Value(n, converter=False) for n in numbers))
            sql, params = query.sql()
            slots = tuple((place, numbers.index(value)) for place, value in enumerate(params)
                          if type(value) is int and value in numbers)
            if sorted({index for _place, index in slots}) != list(range(self._arity)):
                raise ValueError(f"a prepared statement must use each of its {self._arity} values: {sql}")
            model = getattr(query, "model", None)
            # Models only from a model SELECT of fields (Peewee lists a selected model's fields): a function or
            # an alias among them would put every later column on the wrong field; a write is no read.
            columns = list(query._returning or ()) if isinstance(query, pw.ModelSelect) else []
            fields = bool(columns) and all(isinstance(c, pw.Field) for c in columns)
            parts = self._parts(columns) if columns else None
            reader = self._reader(model, parts) if fields else None
            compiled = self._compiled[db] = (model, sql, tuple(params), slots, reader, parts)
        return compiled

    @staticmethod
    def _parts(fields):
        """[(model, [(place, name, convert)], place of its primary key or None)] in the order the models come
        (columns that are no model's field are left out)."""
        parts = {}
        for place, f in enumerate(fields):
            if isinstance(f, pw.Field):  # other columns are read from the row by the caller
                parts.setdefault(f.model, []).append((place, f.name, f.python_value))
        layout = []
        for model, columns in parts.items():
            if isinstance(model, pw.ModelAlias):  # a model joined twice (``Unit.alias()``): read as the model
                model = model.model
            key = [place for place, name, _convert in columns if name == model._meta.primary_key.name]
            layout.append((model, columns, key[0] if key else None))
        return layout

    def _run(self, compiled, values):
        _model, sql, params, slots, _reader, _parts = compiled
        return execute_prepared(sql, self._params(params, slots, values))

    @staticmethod
    def _reader(model, layout):
        """(model, [(place, name, convert)], attribute) for the model and each model it joins on a foreign key
        of its own (``Attempt.select(Attempt, Quiz).join(Quiz)``: the quiz set as ``attempt.quiz``), from
        ``_parts``' layout; None when the rows can be read only as tuples."""
        if model not in [part for part, _columns, _key in layout]:
            return None  # only joined models selected: the rows would come back as the wrong model
        reader = []
        for part, columns, _key in layout:
            if part is model:
                reader.insert(0, (part, columns, None))
                continue
            links = [fk.name for fk in model._meta.refs if fk.rel_model is part]
            if len(links) != 1:
                return None
            reader.append((part, columns, links[0]))
        return reader

    def _params(self, params, slots, values):
        if len(values) != self._arity:
            raise TypeError(f"this statement takes {self._arity} values, not {len(values)}")
        params = list(params)
        for place, index in slots:
            params[place] = values[index]
        return params

    def statement(self):
        """(SQL, its parameters with a mark for each value): to build a larger statement around this one."""
        _model, sql, params, _slots, _reader, _parts = self._compile()
        return sql, params

    def params(self, *values):
        """The statement's parameters with ``values`` in their places."""
        _model, _sql, params, slots, _reader, _parts = self._compile()
        return self._params(params, slots, values)

    def objects(self, *values):
        """The rows as model instances of the selected fields, converted as Peewee converts them, with the
        models joined set on them (built here: Peewee's own row reader takes longer than the SELECT)."""
        compiled = self._compile()
        model, reader = compiled[0], compiled[4]
        if reader is None:
            raise TypeError(f"{getattr(model, '__name__', 'this statement')}: select the model and models joined "
                            "on its foreign keys, or read tuples")
        rows = self._run(compiled, values).fetchall()
        found = []
        for row in rows:
            instance = None
            for part, columns, link in reader:
                made = _instance(part, columns, row)
                if instance is None:
                    instance = made
                elif made.__data__.get(part._meta.primary_key.name) is not None:
                    instance.__rel__[link] = made
            found.append(instance)
        return found

    def first(self, *values):
        rows = self.objects(*values)
        return rows[0] if rows else None

    def part(self, row, index):
        """The ``index``-th model selected (in the order their fields come) in ``row``, one of ``tuples``' rows,
        read as ``objects`` reads it; None when its primary key is NULL (a LEFT OUTER join found nothing). For
        models that no foreign key links, such as a request's user and attempt, read in one statement."""
        model, columns, key = self._compile()[5][index]
        return None if key is not None and row[key] is None else _instance(model, columns, row)

    def tuples(self, *values):
        """The rows as plain tuples of the selected columns, as the database returns them."""
        return self._run(self._compile(), values).fetchall()

    def execute(self, *values):
        """Run an UPDATE or DELETE; the number of rows it changed."""
        return self._run(self._compile(), values).rowcount


def _instance(model, columns, row):
    made = model.__new__(model)
    made.__data__ = {name: None if row[place] is None else convert(row[place]) for place, name, convert in columns}
    made._dirty, made.__rel__ = set(), {}
    return made


_SERVER_SIDE = {}  # SQL -> (PREPARE statement, EXECUTE statement), or None where it cannot be prepared
_SEEN = {}  # SQL not prepared yet -> how many times it ran
_PREPARED_ON = weakref.WeakKeyDictionary()  # PostgreSQL connection -> the PREPARE statements run on it
_names = itertools.count(1)
_DML = ("SELECT ", "INSERT ", "UPDATE ", "DELETE ", "WITH ")
PREPARE_AFTER = 3  # runs of the same SQL in this process before it is prepared (those of Prepared: at once)
# A connection's prepared statements are dropped and made again after this long, then after twice as long
# each time, up to PLANS_KEPT_LONGEST: PostgreSQL keeps the plan it made for a statement, and a plan made
# while a table was nearly empty (a contest's first seconds) scans the whole table where an index serves once
# it has grown. Tables grow fastest, against their size, at first; making every statement again costs a
# round trip each.
PLANS_KEPT_SECONDS = 10
PLANS_KEPT_LONGEST = 300
_MOST_PER_CONNECTION = 1000  # then too (statements with long IN lists vary)


class _PreparedOn(set):
    """The PREPARE statements run on one connection, since when, and for how long they are kept."""

    def __init__(self, since, kept=PLANS_KEPT_SECONDS):
        super().__init__()
        self.since, self.kept = since, kept


def _server_side(sql, at_once):
    found = _SERVER_SIDE.get(sql, False)
    if found is not False:
        return found
    if not sql.startswith(_DML):  # BEGIN, SAVEPOINT, DDL…
        return None
    if not at_once:
        seen = _SEEN.get(sql, 0) + 1
        if seen < PREPARE_AFTER:
            if len(_SEEN) > 20_000:  # one-off SQL (exports, admin pages) is never prepared; forget it
                _SEEN.clear()
            _SEEN[sql] = seen
            return None
        _SEEN.pop(sql, None)
    count = sql.count("%s")
    if sql.count("%") != count:  # only the driver's placeholders are rewritten
        found = None
    else:
        name, numbers = f"portal_{next(_names)}", itertools.count(1)
        found = (f"PREPARE {name} AS " + re.sub("%s", lambda _m: f"${next(numbers)}", sql),
                 f"EXECUTE {name}({', '.join(['%s'] * count)})" if count else f"EXECUTE {name}")
    if len(_SERVER_SIDE) > 5000:
        _SERVER_SIDE.clear()
    _SERVER_SIDE[sql] = found
    return found


class _PreparingPostgres:
    """PostgreSQL: a statement the process runs again and again is prepared on the server, once per
    connection (``PREPARE``), and then each run is an ``EXECUTE`` of it.

    The server then skips parsing and planning, which cost it more than running the short statements of a
    request: the attempt read with its quiz took 120 µs of server time planned each time, 40 µs prepared. A
    statement is prepared after PREPARE_AFTER runs in the process (one-off SQL never is), those of
    ``Prepared`` and ``execute_prepared`` at once. A prepared statement outlasts a transaction, whatever
    becomes of it; each connection drops them all after PLANS_KEPT_SECONDS, then after twice as long each time
    (up to PLANS_KEPT_LONGEST), between transactions. Off
    (``DATABASE_PREPARE = False``) behind a pooler that shares server connections between clients'
    transactions.
    """

    prepare_statements = False  # set by init_app from DATABASE_PREPARE

    def execute_sql(self, sql, params=None, at_once=False):
        server = _server_side(sql, at_once) if self.prepare_statements else None
        if server is None:
            return super().execute_sql(sql, params)
        prepare, execute = server
        conn = self.connection()
        ready = _PREPARED_ON.get(conn)
        now = time.monotonic()
        if ready is None or ((now - ready.since > ready.kept or len(ready) >= _MOST_PER_CONNECTION)
                             and self._adapter.txn_status(conn) == self._adapter.txn_idle):
            kept = PLANS_KEPT_SECONDS
            if ready:
                self._unlogged("DEALLOCATE ALL")
                kept = min(ready.kept * 2, PLANS_KEPT_LONGEST)
            ready = _PREPARED_ON[conn] = _PreparedOn(now, kept)
        if prepare not in ready and not self._prepare(prepare, ready):
            _SERVER_SIDE[sql] = None  # the server would not prepare it (a value whose type it cannot tell)
            return super().execute_sql(sql, params)
        return super().execute_sql(execute, params)

    def _prepare(self, prepare, ready):
        # Not logged, like BEGIN and COMMIT: once per connection, not one of the statements a request runs.
        # Inside a transaction, within a savepoint: a failed PREPARE must not end the transaction around it.
        in_transaction = self._adapter.txn_status(self.connection()) != self._adapter.txn_idle
        try:
            self._unlogged("SAVEPOINT portal_prepare" if in_transaction else None)
            self._unlogged(prepare)
        except pw.DatabaseError:
            try:
                self._unlogged("ROLLBACK TO SAVEPOINT portal_prepare" if in_transaction else None)
            except pw.DatabaseError:  # the transaction had failed before: the statement itself will say so
                pass
            return False
        self._unlogged("RELEASE SAVEPOINT portal_prepare" if in_transaction else None)
        ready.add(prepare)
        return True

    def _unlogged(self, sql):
        if sql:
            with pw.__exception_wrapper__:
                self.cursor().execute(sql)


class PostgresqlDatabase(_PreparingPostgres, pw.PostgresqlDatabase):
    """``postgresql://``: a connection per request."""


def execute_prepared(sql, params):
    """Run ``sql`` (the driver's placeholders) with ``params``, prepared at once on PostgreSQL; the cursor.
    For the statements every request or autosave runs (see _PreparingPostgres)."""
    db = database.obj
    if isinstance(db, _PreparingPostgres):
        return db.execute_sql(sql, params, at_once=True)
    return db.execute_sql(sql, params)


def write_together(*queries):
    """Run INSERTs, UPDATEs and DELETEs that land together or not at all; the rows the last one changed.

    On PostgreSQL they go as one statement, the first ones as data-modifying ``WITH`` parts of the last: one
    round trip (prepared like ``execute_prepared``) where a transaction of its own costs BEGIN, one per write
    and COMMIT. All its parts read the database as it was when the statement began and none sees another's
    changes, so the writes must not touch the same rows or depend on each other. Elsewhere (SQLite, whose
    statements cost no round trip) in a transaction, one after the other.
    """
    db = database.obj
    if len(queries) == 1:  # one statement lands whole on its own
        return queries[0].execute()
    if not isinstance(db, pw.PostgresqlDatabase):
        if db.in_transaction():  # no savepoint: the transaction around them already holds them together
            return [query.execute() for query in queries][-1]
        with db.atomic():
            return [query.execute() for query in queries][-1]
    parts, params = [], []
    for i, query in enumerate(queries[:-1]):
        sql, values = query.sql()
        parts.append(f"w{i} AS ({sql})")
        params.extend(values)
    sql, values = queries[-1].sql()
    return execute_prepared(f"WITH {', '.join(parts)} {sql}", params + list(values)).rowcount


def lock_rows(query, mode="FOR UPDATE"):
    """Take row locks on the rows of ``query`` on PostgreSQL; on SQLite nothing is run (its IMMEDIATE
    transactions already serialise writers, and this sits on the path that starts attempts)."""
    if isinstance(database.obj, pw.PostgresqlDatabase):
        list(query.for_update(mode))


class PooledPostgresqlDatabase(_PreparingPostgres, pool.PooledPostgresqlDatabase):
    """``postgresql+pool://``: Peewee's pool, without its ``SELECT 1`` before handing out each connection.

    That check cost a round trip on every request (a fifth of an autosave's statements). A connection is
    judged by what the driver knows locally: closed, or broken by a failed statement (psycopg2 marks it);
    ``stale_timeout`` in the URL retires old ones. After PostgreSQL restarts, a request that meets a pooled
    connection from before fails once and that connection is dropped.
    """

    def _is_closed(self, conn):
        return bool(conn.closed) or self._adapter.txn_status(conn) == self._adapter.txn_unknown


register_database(PostgresqlDatabase, "postgresql", "postgres")
register_database(PooledPostgresqlDatabase, "postgresql+pool", "postgres+pool")


def make_database(url, instance_path, *, busy_timeout_ms=10_000, synchronous="NORMAL"):
    """Build (not connect) the database named by ``url``; None means instance/portal.db."""
    if url and not url.startswith("sqlite"):
        if url.startswith("postgres://"):
            url = "postgresql://" + url[len("postgres://"):]
        return connect_url(url)
    if url:
        path = url.split("://", 1)[1]
        path = path[1:] if path.startswith("/") else path  # sqlite:///rel or sqlite:////abs
    else:
        path = os.path.join(instance_path, "portal.db")
    if path != ":memory:":
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    return pw.SqliteDatabase(
        path,
        pragmas={
            "journal_mode": "wal",
            "foreign_keys": 1,
            "busy_timeout": busy_timeout_ms,
            "synchronous": synchronous,
            "cache_size": -16_000,
        },
        timeout=busy_timeout_ms / 1000,
        # Writers take the lock at BEGIN, so two writers queue on the busy
        # timeout instead of failing half-way with SQLITE_BUSY.
        lock_type="IMMEDIATE",
    )


def is_sqlite(db=None):
    return isinstance(db or database.obj, pw.SqliteDatabase)


def init_app(app):
    db = make_database(
        app.config["DATABASE_URL"],
        app.instance_path,
        busy_timeout_ms=app.config["SQLITE_BUSY_TIMEOUT_MS"],
        synchronous=app.config["SQLITE_SYNCHRONOUS"],
    )
    if isinstance(db, _PreparingPostgres):
        db.prepare_statements = bool(app.config["DATABASE_PREPARE"])
    database.initialize(db)
    app.extensions["portal_db"] = db

    @app.before_request
    def _connect():
        database.obj = app.extensions["portal_db"]
        database.connect(reuse_if_open=True)

    keep_open = is_sqlite(db)

    @app.teardown_request
    def _close(exc):
        if database.is_closed():
            return
        if keep_open and not database.in_transaction():
            # SQLite: each server thread keeps its connection between requests (opening one costs the file
            # open, five PRAGMAs and a process-wide lock, ~13% of a short request). Nothing is held while
            # idle: no transaction is open, so writers and checkpoints never wait on it.
            return
        database.close()  # PostgreSQL: back to the pool (postgresql+pool://), or closed


def migration_runner(db=None):
    return Runner(db or database.obj, directory=str(MIGRATIONS_DIR))


def migrate(db=None):
    """Create or upgrade the schema; return the names of the migrations applied."""
    db = db or database.obj
    with db.connection_context():
        return migration_runner(db).up()


def pending_migrations(db=None):
    db = db or database.obj
    with db.connection_context():
        return [m.name for m in migration_runner(db).status() if not m.applied and m.path]
