"""The access permission matrix: every route × role × relation to the object, each cell with its expected outcome.

Roles: anonymous, member, secretary, organiser, admin. Relations to the object: own, same cell, sibling cell,
parent committee, other committee (tests/access_matrix/world.py builds the tree and one actor per pair). Every
route of ``app.url_map`` is in tests/access_matrix/routes.py with the policy its cells follow
(tests/access_matrix/policy.py); a route the table does not name fails the first test.

Each route is requested by every actor about the objects of the home cell (the "own" actors about their own
attempt, certificate, pledge, job, roster import and account), then, where the URL names ids, about the same
objects of another committee (a guessed id) and about ids that exist nowhere. The world is built once per
backend; each request runs in a transaction rolled back after it, so a refused write that went through would
still be seen (its outcome), and an allowed one changes nothing for the next cell. The PDF renderers are
stubbed: what is checked is who gets the document, not the document (tests/*/test_*documents.py do that).
"""

import collections
import dataclasses
import os

import pytest

from portal import create_app
from portal import db as dbmod
from tests.access_matrix import policy
from tests.access_matrix.known import DEVIATIONS
from tests.access_matrix.routes import PERSONAL, ROUTES
from tests.access_matrix.world import ACTORS, MISSING_CODE, MISSING_ID, PASSWORD, build
from tests.conftest import PG_URL, FreshContextClient, _reset_postgres

# Who also asks for another committee's objects (guessed ids), and for ids of nothing.
FOREIGN_ACTORS = ("anonymous", "member/own", "member/other_committee", "secretary/own", "organiser/parent_committee",
                  "organiser/other_committee", "admin/other_committee")
MISSING_ACTORS = ("anonymous", "member/own", "organiser/parent_committee", "admin/other_committee")
PDF_STUB = b"%PDF-1.7 matrix stub"
# Set to a file name to get every cell as a line of tab-separated values (for reading the matrix whole).
DUMP = os.environ.get("PORTAL_ACCESS_MATRIX_DUMP")


@dataclasses.dataclass
class Matrix:
    app: object
    db: object
    world: object
    backend: str
    routes_run: set = dataclasses.field(default_factory=set)
    checked: collections.Counter = dataclasses.field(default_factory=collections.Counter)  # area -> cells

    def request(self, actor, method, url, data=None, json=None):
        """One request as ``actor``, in a transaction rolled back afterwards: (the response, read whole; how many
        rows it inserted, updated or deleted)."""
        client = self.app.test_client()
        if actor.cookie is not None:
            client.set_cookie(self.app.config["SESSION_COOKIE_NAME"], actor.cookie)
        self.world.restore_files()
        with self.db.atomic() as transaction:
            try:
                before = self.rows_written()
                response = client.open(url, method=method, data=data, json=json)
                response.get_data()  # a streamed body (CSV, a job's file) runs its queries now
                response.close()
                written = self.rows_written() - before
            finally:
                transaction.rollback()
        return response, written

    def rows_written(self):
        """Rows changed so far: by this connection (SQLite), in this transaction (PostgreSQL)."""
        if self.backend == "sqlite":
            return self.db.connection().total_changes
        return self.db.execute_sql("SELECT COALESCE(SUM(n_tup_ins + n_tup_upd + n_tup_del), 0) "
                                   "FROM pg_stat_xact_user_tables").fetchone()[0]


def _stub_documents(monkeypatch):
    from portal import jobs
    from portal.certificates import render
    from portal.contests import exports
    from portal.pledges import documents, yearbook

    def stub(*args, **kwargs):
        return PDF_STUB

    def write_stub(datas, fmt, path, progress=None, processes=1):
        with open(path, "wb") as fh:
            fh.write(PDF_STUB)

    for module, name in ((render, "render_certificate"), (documents, "render_pledge"), (documents, "render_cell"),
                         (yearbook, "render"), (exports, "pdf_bytes")):
        monkeypatch.setattr(module, name, stub)
    monkeypatch.setattr(jobs, "write_certificates", write_stub)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def matrix(request, tmp_path_factory):
    if request.param == "postgresql" and not PG_URL:
        pytest.skip("PostgreSQL run: set PORTAL_TEST_DATABASE_URL (as .ci/run does)")
    instance = str(tmp_path_factory.mktemp("matrix") / "instance")
    config = {"TESTING": True, "SECRET_KEY": "dev", "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False,
              "PUBLIC_URL": "http://portal.test"}
    if request.param == "postgresql":
        config["DATABASE_URL"] = request.getfixturevalue("pg_url")
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("PORTAL_INSTANCE_PATH", instance)
        app = create_app(config)
        app.test_client_class = FreshContextClient
        _stub_documents(monkeypatch)
        db = app.extensions["portal_db"]
        with app.app_context():
            dbmod.database.initialize(db)
            dbmod.migrate(db)
            if request.param == "postgresql":
                _reset_postgres(db)
            world = build(instance)
            cookie_name = app.config["SESSION_COOKIE_NAME"]
            for actor in world.actors:
                if actor.user is not None:
                    client = app.test_client()
                    response = client.post("/login", data={"username": actor.user.username, "password": PASSWORD})
                    assert response.status_code == 302 and "/login" not in response.headers["Location"], actor.key
                    actor.cookie = client.get_cookie(cookie_name).value
            # One connection for the whole matrix, so that each request runs inside the test's transaction.
            if not db.is_closed():
                db.close()
            db.connect()
            monkeypatch.setattr(db, "close", lambda: False)
            yield Matrix(app, db, world, request.param)
            monkeypatch.undo()
            db.close()


def _route_id(route):
    return f"{route.method} {route.rule}"


def _area(rule):
    parts = [p for p in rule.split("/") if p and not p.startswith("<")]
    if not parts:
        return "home"
    if parts[0] in ("manage", "api") and len(parts) > 1:
        return f"{parts[0]}/{parts[1].split('.')[0]}"
    return parts[0].split(".")[0]


def _cells(route, world):
    """(place, actor, ids, owns, has, policy) for every cell of the route's row."""
    variants = [("A", world.actors)]
    if route.has_ids:
        variants.append(("E", [world.actor(k) for k in FOREIGN_ACTORS]))
        variants.append(("missing", [world.actor(k) for k in MISSING_ACTORS]))
    for place, actors in variants:
        for actor in actors:
            if place == "missing":
                ids = {k: MISSING_CODE if k == "certificate" else MISSING_ID for k in world.places["A"]}
                owns, has = set(), set()
                expect = policy.missing(route.policy)
                cell = world.units["A"]
            else:
                ids = dict(world.places[place])
                own = world.own[place].get(actor.key, {})
                ids.update({k: v for k, v in own.items() if k in PERSONAL})
                owns = {f for f in route.families if f in own}
                has = set(own)
                expect = route.policy
                cell = world.units["A" if place == "A" else "X"]
            yield place, actor, ids, policy.context(actor, place, cell, owns, has), expect


def expected_cell_count(routes):
    """The number of cells the table generates for ``routes``, counted without running them."""
    per_place = len(FOREIGN_ACTORS) + len(MISSING_ACTORS)
    return sum(len(r.variants) * (len(ACTORS) + (per_place if r.has_ids else 0)) for r in routes)


def test_every_route_is_classified(matrix):
    """A new route fails here until the matrix names it (and every name in the table is a real route)."""
    served = {(rule.rule, method) for rule in matrix.app.url_map.iter_rules() if rule.endpoint != "static"
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    table = [route.key for route in ROUTES]
    assert len(table) == len(set(table)), "a route is in the table twice"
    assert sorted(served - set(table)) == [], "routes the access matrix does not classify"
    assert sorted(set(table) - served) == [], "routes in the access matrix that the app no longer serves"


@pytest.mark.parametrize("route", ROUTES, ids=_route_id)
def test_access(matrix, route):
    deviations, known = [], []
    matrix.routes_run.add(route.key)
    for variant in route.variants:
        for place, actor, ids, ctx, expect in _cells(route, matrix.world):
            values = {**ids, **variant}
            url = route.url.format(**values)
            data = {k: v.format(**values) for k, v in route.data.items()} if route.data else None
            response, written = matrix.request(actor, route.method, url, data=data, json=route.json)
            expected, actual = expect(ctx), policy.outcome(response)
            may_write = route.writes(ctx) == policy.OK if place != "missing" else False
            if written and not may_write and policy.matches(expected, actual):
                actual = f"{actual}, but wrote {written} rows"  # a refusal (or a page) that wrote all the same
            if route.shows and actual == policy.OK:
                marker, shown_to = route.shows
                text = matrix.world.markers[marker]
                listed, should = text in response.get_data(as_text=True), shown_to(ctx)
                if listed != should:
                    actual = f"ok, {'lists' if listed else 'leaves out'} {text!r}"
                    expected = f"ok, {'lists' if should else 'leaves out'} {text!r}"
            matrix.checked[_area(route.rule)] += 1
            if DUMP:
                with open(DUMP, "a", encoding="utf-8") as fh:
                    fh.write("\t".join([matrix.backend, route.method, route.rule, place, actor.key, url,
                                         str(response.status_code), str(expected), actual]) + "\n")
            key = (route.rule, route.method, place, actor.key)
            line = f"{place:7} {actor.key:28} {url}: expected {expected}, got {actual} ({response.status_code})"
            if key in DEVIATIONS:
                recorded, why = DEVIATIONS[key]
                if policy.matches(expected, actual):
                    deviations.append(line + " — fixed: remove its entry from tests/access_matrix/known.py")
                elif actual == recorded:
                    known.append(f"{line}: {why}")
                else:
                    deviations.append(line + f" (known.py records {recorded})")
            elif not policy.matches(expected, actual):
                deviations.append(line)
    assert not deviations, "cells that deviate from the matrix:\n" + "\n".join(deviations)
    if known:
        pytest.xfail("known deviations (tests/access_matrix/known.py):\n" + "\n".join(known))


def test_the_matrix_checked_every_cell(matrix, capsys):
    """Runs last in this module: every cell generated for the routes that ran was requested; the count (the
    figure docs/security.md quotes, from a whole run) goes to the terminal."""
    total = sum(matrix.checked.values())
    ran = [route for route in ROUTES if route.key in matrix.routes_run]
    assert total == expected_cell_count(ran)
    with capsys.disabled():
        areas = ", ".join(f"{area} {n}" for area, n in sorted(matrix.checked.items()))
        print(f"\naccess matrix on {matrix.backend}: {total} cells checked over {len(ran)} of {len(ROUTES)} "
              f"routes × {len(matrix.world.actors)} actors ({areas})")
