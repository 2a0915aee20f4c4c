"""portal.db.Prepared: SQL built once per database, rerun with new values, rows read as Peewee reads them.

Each test runs on SQLite and on PostgreSQL, with the statements the portal itself prepares where one fits.
"""

import datetime as dt
import itertools
import unicodedata

import peewee as pw
import pytest
from playhouse.test_utils import count_queries

from portal import db as dbmod
from portal.accounts import models as account_models
from portal.accounts import permissions, users
from portal.accounts.models import RoleGrant, Unit, User
from portal.contests import setup as contest_setup
from portal.contests.models import Contest, Round
from portal.db import Prepared, database, nfc
from portal.quiz import api as quiz_api
from portal.quiz import catalogue, engine
from portal.quiz.models import (Attempt, AttemptQuestion, Question, Quiz, QuizAudience, QuizDraw, QuizQuestion,
                                Topic)

STARTED = dt.datetime(2025, 5, 19, 3, 0, 12, 345678)  # UTC as stored; microseconds must survive both drivers
_n = itertools.count(1)


def run(queries):
    """The statements run, without PostgreSQL's PREPARE (once per connection, see the tests at the end)."""
    return [q.msg[0] for q in queries.get_queries() if not q.msg[0].startswith("PREPARE ")]


def data(instance):
    """A model's column values with their types: 1 == True, so values alone would hide a missed conversion."""
    return {name: (type(value).__name__, value) for name, value in instance.__data__.items()}


def same_as_peewee(instance):
    """Assert ``instance`` holds exactly what Peewee's own reader gives for the same row."""
    peewee_read = type(instance).get_by_id(instance.id)
    assert data(instance) == data(peewee_read)
    assert instance._dirty == peewee_read._dirty == set()
    return instance


# Factories: the portal's models, built directly (the quiz and contest factories live in their folders) ----

@pytest.fixture
def committee(make_unit):
    return make_unit("HV", "Đảng bộ huyện Hòa Vang", "committee")


@pytest.fixture
def cell(make_unit, committee):
    return make_unit("HV-AS", "Chi bộ thôn An Sơn", parent=committee, declared_members=20)


@pytest.fixture
def member(make_user, cell):
    return make_user(unit=cell, full_name="Nguyễn Thị Mai", must_change_password=True,
                     last_login_at=STARTED - dt.timedelta(days=1))


@pytest.fixture
def make_quiz(committee):
    def make_quiz(**fields):
        values = {"title": f"Thi tìm hiểu Nghị quyết số {next(_n)}", "owner_unit": committee,
                  "is_published": True, "shuffle_questions": False, "time_limit_seconds": 900,
                  "opens_at": STARTED - dt.timedelta(days=1), "closes_at": None, "attempts_allowed": 3}
        values.update(fields)
        return Quiz.create(**values)

    return make_quiz


@pytest.fixture
def quiz(make_quiz):
    return make_quiz(prediction_prompt="Có bao nhiêu người trả lời đúng tất cả các câu hỏi?")


@pytest.fixture
def make_attempt(member):
    def make_attempt(quiz, user=member, number=1, **fields):
        values = {"quiz": quiz, "user": user, "number": number, "unit": user.unit_id, "started_at": STARTED,
                  "deadline_at": STARTED + dt.timedelta(minutes=15)}
        values.update(fields)
        return Attempt.create(**values)

    return make_attempt


@pytest.fixture
def make_question(committee):
    topic = Topic.create(code=f"CD{next(_n)}", title="Học tập và làm theo tư tưởng Hồ Chí Minh", year=2025,
                         owner_unit=committee)

    def make_question(**fields):
        text = f"Câu hỏi số {next(_n)}?"
        return Question.create(topic=topic, text=text, normalised_text=text.casefold(), **fields)

    return make_question


# Rows read as models ------------------------------------------------------------------------------------

def test_a_model_read_equals_peewees_field_for_field(member, quiz, make_attempt, committee):
    """Datetimes (SQLite gives text), dates, booleans (SQLite gives 0/1), floats, nulls and foreign key ids."""
    by_id = Prepared(lambda mark: User.select().where(User.id == mark))  # as the login loader reads users
    user = same_as_peewee(by_id.first(member.id))
    assert (user.birth_date, user.must_change_password, user.is_active, user.password_changed_at) == \
        (dt.date(1985, 5, 17), True, True, None)
    assert user.last_login_at == STARTED - dt.timedelta(days=1)
    assert user.unit_id == member.unit_id and user.__rel__ == {}  # the unit is read when asked, as Peewee does

    read = same_as_peewee(quiz_api.quiz_by_id.first(quiz.id))
    assert (read.is_published, read.is_practice, read.closes_at, read.created_by_id) == (True, False, None, None)
    assert read.owner_unit_id == committee.id

    finished = make_attempt(quiz, number=1, state="finished", finished_at=STARTED + dt.timedelta(minutes=9),
                            score=7.5, max_score=10, time_used_ms=540_000, prediction=12_345_678_901)
    in_progress = make_attempt(quiz, number=2, unit=None, deadline_at=None)
    latest = Prepared(lambda quiz_id, user_id: Attempt.select().where(Attempt.quiz == quiz_id,
                                                                      Attempt.user == user_id)
                      .order_by(Attempt.number))
    rows = [same_as_peewee(row) for row in latest.objects(quiz.id, member.id)]
    assert [row.id for row in rows] == [finished.id, in_progress.id]
    assert (rows[0].started_at, rows[0].score, rows[0].prediction) == (STARTED, 7.5, 12_345_678_901)
    assert (rows[1].unit_id, rows[1].deadline_at, rows[1].score) == (None, None, None)

    assert same_as_peewee(permissions._UNIT.first(member.unit_id)).parent_id == committee.id


def test_a_model_read_by_prepared_saves_and_reloads_unchanged(quiz):
    """An organiser edits a quiz read by Prepared: only the edit changes, its datetimes and flags stay."""
    before = data(Quiz.get_by_id(quiz.id))
    read = quiz_api.quiz_by_id.first(quiz.id)
    read.title = "Thi tìm hiểu Nghị quyết Đại hội XIV"
    read.save()
    after = data(Quiz.get_by_id(quiz.id))
    assert after.pop("title") == ("str", "Thi tìm hiểu Nghị quyết Đại hội XIV")
    before.pop("title")
    assert after == before


def test_first_is_none_and_objects_empty_when_nothing_matches(quiz, member):
    assert quiz_api.quiz_by_id.first(quiz.id + 1000) is None
    assert quiz_api.attempt_by_id.first(10_000) is None
    assert catalogue._ATTEMPTS_AT.objects(quiz.id, member.id) == []


# Joined models -------------------------------------------------------------------------------------------

def test_attempt_by_id_sets_its_quiz_without_another_query(quiz, make_attempt):
    attempt = make_attempt(quiz)
    read = same_as_peewee(quiz_api.attempt_by_id.first(attempt.id))
    with count_queries() as queries:
        its_quiz = read.quiz
    assert queries.count == 0
    assert its_quiz.id == read.quiz_id == quiz.id
    same_as_peewee(its_quiz)


def test_round_of_quiz_sets_its_contest_and_is_none_for_a_plain_quiz(committee, make_quiz, quiz):
    contest = Contest.create(title="Hội thi học tập và làm theo tư tưởng, đạo đức, phong cách Hồ Chí Minh",
                             owner_unit=committee, is_published=True, starts_at=STARTED)
    round_ = Round.create(contest=contest, number=1, quiz=quiz, prediction="perfect")
    read = same_as_peewee(contest_setup.round_of_quiz(quiz))
    assert read.id == round_.id
    with count_queries() as queries:
        its_contest = read.contest
    assert queries.count == 0
    assert (its_contest.id, its_contest.is_published, its_contest.is_public) == (contest.id, True, False)
    same_as_peewee(its_contest)
    assert contest_setup.round_of_quiz(make_quiz()) is None


def test_grants_left_outer_join_leaves_a_grant_without_unit_unset(make_user, committee, cell):
    """An admin grant has no unit: the LEFT OUTER join matches nothing and the relation stays unset."""
    user = make_user(role=["admin", "organiser"], scope=committee, unit=cell)
    with count_queries() as queries:
        grants = {grant.role: grant for grant in user.grants}  # what every page's menu reads
        admin, organiser = grants["admin"], grants["organiser"]
        assert admin.unit_id is None and "unit" not in admin.__rel__ and admin.unit is None
        assert organiser.unit.id == organiser.unit_id == committee.id
    assert len(run(queries)) == 1
    read = account_models._GRANTS.objects(user.id)
    assert sorted(same_as_peewee(grant).role for grant in read) == ["admin", "organiser"]
    same_as_peewee(next(grant for grant in read if grant.role == "organiser").unit)
    assert account_models._GRANTS.objects(make_user().id) == []


def test_audience_reads_the_quizs_units_or_its_owner(make_quiz, committee, cell, member):
    aimed = make_quiz()
    QuizAudience.create(quiz=aimed, unit=cell)
    assert [same_as_peewee(unit).id for unit in permissions._audience(aimed)] == [cell.id]
    assert [unit.id for unit in permissions._audience(make_quiz())] == [committee.id]  # none: the owner's tree
    assert permissions.can(member, "quiz.take", aimed)  # the cell's member is in the audience


# Several values, tuples -----------------------------------------------------------------------------------

def test_each_value_goes_to_its_own_place(make_quiz, make_user, make_attempt, member, cell):
    quiz, other_quiz = make_quiz(), make_quiz()
    neighbour = make_user(unit=cell)
    mine = [make_attempt(quiz, number=n) for n in (1, 2)]
    make_attempt(quiz, user=neighbour, number=3)
    make_attempt(other_quiz, number=4)
    assert engine._LATEST.first(quiz.id, member.id).id == mine[1].id  # the highest number
    assert [a.id for a in catalogue._ATTEMPTS_AT.objects(quiz.id, member.id)] == [a.id for a in mine]
    assert [a.number for a in catalogue._ATTEMPTS_AT.objects(quiz.id, neighbour.id)] == [3]
    assert [a.number for a in catalogue._ATTEMPTS_AT.objects(other_quiz.id, member.id)] == [4]


def test_a_value_used_twice_fills_both_places(committee, cell, make_unit):
    make_unit("DN", "Đảng bộ phường Hải Châu", "committee")
    tree = Prepared(lambda mark: Unit.select().where((Unit.id == mark) | (Unit.parent == mark)).order_by(Unit.id))
    assert [u.id for u in tree.objects(committee.id)] == [committee.id, cell.id]
    assert [u.id for u in tree.objects(cell.id)] == [cell.id]


def test_tuples_are_the_selected_columns_as_the_database_returns_them(backend, quiz, make_question,
                                                                       make_attempt):
    first, second = make_question(), make_question()
    QuizQuestion.create(quiz=quiz, question=second, position=2)
    QuizQuestion.create(quiz=quiz, question=first, position=1)
    assert engine._FIXED.tuples(quiz.id) == [(first.id,), (second.id,)]  # in the author's order
    assert catalogue._QUESTION_COUNT.tuples(quiz.id) == [(2, 0)]
    QuizDraw.create(quiz=quiz, topic=first.topic, count=5, position=0)
    QuizDraw.create(quiz=quiz, topic=first.topic, count=3, difficulty=2, position=1)
    assert catalogue._QUESTION_COUNT.tuples(quiz.id) == [(2, 8)]
    assert catalogue._QUESTION_COUNT.tuples(-1) == []
    assert [(d.count, d.difficulty, d.topic_id) for d in engine._DRAWS.objects(quiz.id)] == \
        [(5, None, first.topic_id), (3, 2, first.topic_id)]

    attempt = make_attempt(quiz)
    started = Prepared(lambda mark: Attempt.select(Attempt.started_at, Attempt.quiz).where(Attempt.id == mark))
    [(raw, quiz_id)] = started.tuples(attempt.id)
    assert quiz_id == quiz.id
    # No field's conversion: SQLite stores datetimes as text, psycopg2 parses them; the field reads both.
    assert type(raw) is (str if backend == "sqlite" else dt.datetime)
    assert Attempt.started_at.python_value(raw) == STARTED


# Writes ---------------------------------------------------------------------------------------------------

def test_execute_returns_the_rows_changed_by_the_autosave_claims(quiz, make_attempt):
    attempt = make_attempt(quiz)
    claim_from, claim_below = engine._CLAIM_FROM, engine._CLAIM_BELOW
    assert claim_from[False].execute(5, attempt.id, 0) == 1  # seq 5 over last_seq 0
    assert claim_from[False].execute(6, attempt.id, 0) == 0  # a stale tab: last_seq is no longer 0
    assert claim_below[False].execute(7, attempt.id, 7) == 1  # 5 < 7
    assert claim_below[False].execute(7, attempt.id, 7) == 0
    assert claim_from[True].execute(9, 1_234, attempt.id, 7) == 1
    read = quiz_api.attempt_by_id.first(attempt.id)
    assert (read.last_seq, read.prediction) == (9, 1_234)
    Attempt.update(state="finished").where(Attempt.id == attempt.id).execute()
    assert claim_below[False].execute(10, attempt.id, 10) == 0  # a finished attempt takes no more saves
    assert Attempt.get_by_id(attempt.id).last_seq == 9


def test_execute_counts_every_row_an_update_or_delete_changes(quiz, make_quiz, make_attempt):
    for n in (1, 2):
        make_attempt(quiz, number=n)
    kept = make_attempt(make_quiz())
    reset = Prepared(lambda quiz_id, seq: Attempt.update({Attempt.last_seq: seq}).where(Attempt.quiz == quiz_id))
    assert reset.execute(quiz.id, 3) == 2
    drop = Prepared(lambda quiz_id: Attempt.delete().where(Attempt.quiz == quiz_id))
    assert drop.execute(quiz.id) == 2
    assert drop.execute(quiz.id) == 0
    assert [a.id for a in Attempt.select()] == [kept.id]


def test_set_answer_stores_the_datetime_as_given_and_spares_a_checked_question(quiz, make_attempt, make_question):
    attempt = make_attempt(quiz)
    rows = [AttemptQuestion.create(attempt=attempt, position=p, question=make_question(), option_order="3,1,2")
            for p in (1, 2)]
    AttemptQuestion.update(mark=1.0).where(AttemptQuestion.id == rows[1].id).execute()  # practice: checked
    answered_at = STARTED + dt.timedelta(minutes=2, microseconds=7)
    set_answer = engine._SET_ANSWER["answer"]
    assert set_answer.execute("3,2", answered_at, rows[0].id) == 1
    assert set_answer.execute("1", answered_at, rows[1].id) == 0
    stored = [AttemptQuestion.get_by_id(row.id) for row in rows]
    assert [(row.answer, row.answered_at) for row in stored] == [("3,2", answered_at), ("", None)]
    assert engine._SET_ANSWER["answer_text"].execute("Học tập suốt đời", answered_at, rows[0].id) == 1
    assert AttemptQuestion.get_by_id(rows[0].id).answer_text == "Học tập suốt đời"


def test_an_update_inside_atomic_rolls_back_with_the_transaction(quiz, make_attempt):
    attempt = make_attempt(quiz)
    claim = engine._CLAIM_FROM[False]
    with pytest.raises(RuntimeError):
        with database.atomic():
            assert claim.execute(4, attempt.id, 0) == 1
            assert quiz_api.attempt_by_id.first(attempt.id).last_seq == 4  # seen inside the transaction
            raise RuntimeError("the save fails half-way")
    assert Attempt.get_by_id(attempt.id).last_seq == 0
    with database.atomic():
        assert claim.execute(4, attempt.id, 0) == 1
    assert Attempt.get_by_id(attempt.id).last_seq == 4


# Values go to the driver as given -------------------------------------------------------------------------

def test_values_skip_the_fields_conversion(cell, quiz):
    """Documented: the caller converts. An NFD name is not normalised, a model is not turned into its id."""
    typed_nfd = unicodedata.normalize("NFD", "Chi bộ thôn An Sơn")
    assert Unit.get_or_none(Unit.name == typed_nfd).id == cell.id  # Peewee applies NFCCharField.db_value
    by_name = Prepared(lambda name: Unit.select().where(Unit.name == name))
    assert by_name.first(typed_nfd) is None
    assert by_name.first(nfc(typed_nfd)).id == cell.id

    assert Quiz.get_or_none(Quiz.id == quiz).id == quiz.id  # Peewee takes a model's id
    with pytest.raises((pw.InterfaceError, pw.ProgrammingError)):
        quiz_api.quiz_by_id.first(quiz)
    assert quiz_api.quiz_by_id.first(quiz.id).id == quiz.id  # the connection is still usable


def test_datetime_and_boolean_values_compare_on_both_databases(quiz, make_quiz, make_attempt):
    early = make_attempt(quiz, number=1, started_at=STARTED - dt.timedelta(microseconds=1))
    on_time = make_attempt(quiz, number=2)
    make_quiz(is_published=False)
    since = Prepared(lambda quiz_id, at: Attempt.select().where(Attempt.quiz == quiz_id, Attempt.started_at >= at))
    assert [a.id for a in since.objects(quiz.id, STARTED)] == [on_time.id]
    assert [a.id for a in since.objects(quiz.id, STARTED - dt.timedelta(seconds=1))] == [early.id, on_time.id]
    published = Prepared(lambda flag: Quiz.select().where(Quiz.is_published == flag).order_by(Quiz.id))
    assert [q.id for q in published.objects(True)] == [quiz.id]
    assert len(published.objects(False)) == 1


# Errors ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("build, values", [
    (lambda a, b: Unit.select().where(Unit.id == a), (1, 2)),
    (lambda mark: Unit.select(), (1,)),
    (lambda a, b: Unit.update({Unit.declared_members: 5}).where(Unit.id == b), (5, 1)),
], ids=["second unused", "none used", "first unused"])
def test_a_statement_that_does_not_use_each_value_is_refused(app, build, values):
    prepared = Prepared(build)
    for _ in range(2):  # nothing half-built is kept
        with pytest.raises(ValueError, match="must use each of its"):
            prepared.tuples(*values)


def test_the_wrong_number_of_values_is_refused_before_any_sql(quiz, member):
    for call, values in [(engine._LATEST.first, (quiz.id,)), (engine._LATEST.objects, (quiz.id, member.id, 1)),
                         (engine._FIXED.tuples, ()), (engine._CLAIM_FROM[False].execute, (1, 2))]:
        with count_queries() as queries, pytest.raises(TypeError, match="values, not"):
            call(*values)
        assert queries.count == 0


@pytest.mark.parametrize("build, key", [
    (lambda mark: Unit.select(Unit.id, Quiz.title).join(Quiz, on=(Quiz.owner_unit == Unit.id))
     .where(Unit.id == mark), "unit"),  # Unit has no foreign key to Quiz
    (lambda mark: RoleGrant.select(RoleGrant, User).join(User, on=(RoleGrant.user == User.id))
     .where(RoleGrant.id == mark), "grant"),  # two foreign keys to User: which one?
], ids=["not a foreign key", "ambiguous foreign key"])
def test_objects_of_a_select_it_cannot_read_as_models_is_refused(make_user, make_quiz, committee, build, key):
    make_quiz()
    value = {"unit": committee.id, "grant": make_user(role="organiser", scope=committee).role_grants.get().id}[key]
    prepared = Prepared(build)
    with pytest.raises(TypeError, match="read tuples"):
        prepared.objects(value)
    assert len(prepared.tuples(value)) == 1  # the same statement still reads as tuples


# One compiled statement per database ----------------------------------------------------------------------

def test_each_database_gets_its_own_sql_built_once(app, tmp_path, committee):
    """Two apps in one process (or a tool beside the app): SQLite marks values ?, PostgreSQL %s."""
    builds = []
    name_of = Prepared(lambda mark: builds.append(mark) or Unit.select(Unit.name).where(Unit.id == mark))
    other = dbmod.make_database(f"sqlite:///{tmp_path / 'other.db'}", str(tmp_path))
    dbmod.migrate(other)
    main = database.obj
    try:
        database.obj = other
        Unit.create(id=committee.id, code="DN", name="Đảng bộ phường Hải Châu", kind="committee")
        for _ in range(2):
            database.obj = main
            assert name_of.tuples(committee.id) == [("Đảng bộ huyện Hòa Vang",)]
            database.obj = other
            assert name_of.tuples(committee.id) == [("Đảng bộ phường Hải Châu",)]
    finally:
        database.obj = main
        other.close()
    assert len(builds) == 2  # once per database, not per call


@pytest.mark.parametrize("build", [
    lambda mark: Attempt.select(pw.fn.LOWER(Attempt.state), Attempt.id, Attempt.state).where(Attempt.id == mark),
    lambda mark: Attempt.select(Attempt.score.alias("points"), Attempt.id).where(Attempt.id == mark),
    lambda mark: Attempt.select(Quiz).join(Quiz).where(Attempt.id == mark),
    lambda mark: Attempt.update({Attempt.last_seq: 99}).where(Attempt.id == mark),
], ids=["a function first", "an alias", "only the joined model", "an UPDATE"])
def test_objects_refuses_what_it_would_read_wrong(quiz, make_attempt, build):
    """A selected column that is not a field shifts every later one onto the wrong field: no guessing."""
    attempt = make_attempt(quiz, state="finished", score=7.5)
    prepared = Prepared(build)
    with pytest.raises(TypeError, match="read tuples"):
        prepared.objects(attempt.id)
    assert Attempt.get_by_id(attempt.id).last_seq == 0  # objects() wrote nothing


# Prepared on the PostgreSQL server ------------------------------------------------------------------------

def _server_prepared():
    cursor = database.cursor()  # straight to the driver: this query itself is never prepared
    cursor.execute("SELECT name FROM pg_prepared_statements")
    return {name for (name,) in cursor.fetchall()}


def test_postgresql_prepares_once_per_connection_then_only_executes(backend, quiz, make_attempt):
    attempt = make_attempt(quiz)
    with count_queries() as queries:
        for _ in range(3):
            assert quiz_api.attempt_by_id.first(attempt.id).quiz.id == quiz.id
    sql = [q.msg[0] for q in queries.get_queries()]
    if backend == "sqlite":
        assert len(sql) == 3 and all(s.startswith("SELECT ") for s in sql)
        return
    prepare, execute = dbmod._server_side(quiz_api.attempt_by_id.statement()[0], True)
    assert sql == [execute, execute, execute]  # PREPARE, like BEGIN, is not logged
    assert prepare.startswith("PREPARE portal_") and '"t1"."id" = $1' in prepare and "%s" not in prepare
    name = prepare.split()[1]
    assert name in _server_prepared()
    # Another connection (the pool's next one, or one after PostgreSQL restarted) prepares it again.
    database.close()
    database.connect()
    assert name not in _server_prepared()
    with count_queries() as queries:
        assert quiz_api.attempt_by_id.first(attempt.id).id == attempt.id
    assert [q.msg[0] for q in queries.get_queries()] == [execute]
    assert name in _server_prepared()


def test_a_statement_prepared_in_a_transaction_that_rolls_back_is_still_there(backend, quiz, make_attempt):
    """PREPARE is no part of a transaction: after a rollback, even a failed one, it is not prepared twice."""
    attempt = make_attempt(quiz)
    latest = Prepared(lambda quiz_id, user_id: Attempt.select(Attempt.id).where(
        Attempt.quiz == quiz_id, Attempt.user == user_id))
    with pytest.raises(pw.IntegrityError):
        with database.atomic():
            assert latest.tuples(quiz.id, attempt.user_id) == [(attempt.id,)]
            Attempt.create(quiz=quiz, user=attempt.user_id, number=attempt.number, unit=attempt.unit_id,
                           started_at=STARTED, state="in_progress")  # the same number twice
    with count_queries() as queries:
        assert latest.tuples(quiz.id, attempt.user_id) == [(attempt.id,)]
    assert len(queries.get_queries()) == 1
    if backend == "postgresql":
        assert queries.get_queries()[0].msg[0].startswith("EXECUTE portal_")


def test_values_go_to_the_server_as_values_not_sql(backend, cell, make_user):
    """EXECUTE's values are quoted by the driver like any other: text that looks like SQL stays text."""
    user = make_user(unit=cell, full_name="Trần Văn B'); DROP TABLE \"user\"; --")
    by_name = Prepared(lambda name: User.select(User.id).where(User.full_name == name))
    assert by_name.tuples("Trần Văn B'); DROP TABLE \"user\"; --") == [(user.id,)]
    assert by_name.tuples("Nguyễn Văn Không Có") == []
    assert User.select().count() >= 1


def test_sql_with_a_percent_of_its_own_runs_unprepared(backend, app):
    """Only the driver's %s placeholders are rewritten to $1, $2…: SQL holding another % is run as it is."""
    sql = "SELECT %s || '%%'" if backend == "postgresql" else "SELECT ? || '%'"
    with count_queries() as queries:
        assert dbmod.execute_prepared(sql, ["100"]).fetchall() == [("100%",)]
    assert [q.msg[0] for q in queries.get_queries()] == [sql]
    assert dbmod._server_side("SELECT %s || '%%'", True) is None
    assert dbmod._server_side("SELECT %s || 'x'", True)[0].endswith("AS SELECT $1 || 'x'")


def test_the_autosave_statement_is_prepared_on_postgresql(backend, quiz, make_attempt, make_question):
    """The claim and the changed answers, one statement: on PostgreSQL, prepared once for each shape. SQLite has
    no server to prepare on: its claim runs as the UPDATE itself."""
    attempt = make_attempt(quiz)
    if backend == "sqlite":
        with count_queries() as queries:
            assert engine._CLAIM_FROM[False].execute(1, attempt.id, 0) == 1
        assert [q.msg[0] for q in queries.get_queries()] == [engine._CLAIM_FROM[False].statement()[0]]
        return
    row = AttemptQuestion.create(attempt=attempt, position=1, question=make_question(kind="text"), option_order="")
    with count_queries() as queries:
        first = engine._claim_and_store((1, attempt.id), False, 0, [(row, "answer_text", "một")], STARTED)
        second = engine._claim_and_store((2, attempt.id), False, 1, [(row, "answer_text", "hai")], STARTED)
        stale = engine._claim_and_store((2, attempt.id), False, 1, [(row, "answer_text", "ba")], STARTED)
    assert first == second == {row.id} and stale is None
    sql = [q.msg[0].split()[0] for q in queries.get_queries()]
    assert sql == ["EXECUTE", "EXECUTE", "EXECUTE"]
    assert AttemptQuestion.get_by_id(row.id).answer_text == "hai"
    assert Attempt.get_by_id(attempt.id).last_seq == 2


@pytest.mark.parametrize("app_config", [{"DATABASE_PREPARE": False}])
def test_database_prepare_off_runs_the_plain_statement(backend, app_config, quiz, make_attempt):
    """Behind PgBouncer in transaction mode nothing may be prepared on a server connection."""
    attempt = make_attempt(quiz)
    assert getattr(database.obj, "prepare_statements", False) is False
    with count_queries() as queries:
        assert quiz_api.attempt_by_id.first(attempt.id).id == attempt.id
    assert [q.msg[0] for q in queries.get_queries()] == [quiz_api.attempt_by_id.statement()[0]]


def test_database_prepare_is_on_for_postgresql_only(backend, app):
    assert getattr(app.extensions["portal_db"], "prepare_statements", False) is (backend == "postgresql")


def test_part_reads_each_model_of_a_row_and_none_for_a_join_that_found_nothing(member, quiz, make_attempt):
    """Models no foreign key links (the request's user and an attempt), and a column that is no field."""
    attempt = make_attempt(quiz)
    both = Prepared(lambda user_id, attempt_id: User.select(User, Attempt, pw.fn.LOWER(User.username))
                    .join(Attempt, pw.JOIN.LEFT_OUTER, on=(Attempt.id == attempt_id)).where(User.id == user_id))
    [row] = both.tuples(member.id, attempt.id)
    user, read = both.part(row, 0), both.part(row, 1)
    assert data(user) == data(same_as_peewee(user)) and user.full_name == "Nguyễn Thị Mai"
    assert data(read) == data(same_as_peewee(read)) and read.started_at == STARTED
    assert row[-1] == member.username.lower()
    [row] = both.tuples(member.id, 2**31 - 1)
    assert both.part(row, 0).id == member.id and both.part(row, 1) is None
    assert both.tuples(2**31 - 1, attempt.id) == []


def _sql_run(queries):
    return [q.msg[0] for q in queries.get_queries()]


def test_postgresql_prepares_a_statement_the_process_runs_again_and_again(backend, committee):
    """Any SQL (not only Prepared's) is prepared once it has run PREPARE_AFTER times; one-off SQL never is."""
    query = Unit.select(Unit.name).where(Unit.code == "HV", Unit.declared_members >= 0)
    with count_queries() as queries:
        names = [query.tuples()[0][0] for _ in range(dbmod.PREPARE_AFTER + 2)]
    assert names == ["Đảng bộ huyện Hòa Vang"] * (dbmod.PREPARE_AFTER + 2)
    kinds = [sql.split()[0] for sql in _sql_run(queries)]
    if backend == "sqlite":
        assert kinds == ["SELECT"] * (dbmod.PREPARE_AFTER + 2)
        return
    assert kinds == ["SELECT"] * (dbmod.PREPARE_AFTER - 1) + ["EXECUTE"] * 3
    with count_queries() as queries:
        assert list(Unit.select(Unit.id).where(Unit.code == "một lần thôi").tuples()) == []
    assert _sql_run(queries)[0].startswith("SELECT")


def test_sql_the_server_cannot_prepare_runs_as_it_is_even_inside_a_transaction(backend, committee):
    """PREPARE cannot tell the type of a bare value: the statement then runs unprepared, and a transaction
    around it goes on (the failed PREPARE was inside a savepoint)."""
    sql = "SELECT %s IS NULL" if backend == "postgresql" else "SELECT ? IS NULL"
    with database.atomic():
        Unit.update(declared_members=42).where(Unit.id == committee.id).execute()
        for _ in range(dbmod.PREPARE_AFTER + 1):
            with count_queries() as queries:
                assert database.execute_sql(sql, [None]).fetchall() == [(True,)]
            assert _sql_run(queries)[-1] == sql
        assert dbmod.execute_prepared(sql, ["x"]).fetchall() == [(False,)]
    assert Unit.get_by_id(committee.id).declared_members == 42
    if backend == "postgresql":
        assert dbmod._SERVER_SIDE[sql] is None


def test_prepared_statements_are_made_again_after_a_while_so_plans_follow_the_tables(backend, quiz, make_attempt,
                                                                                     monkeypatch):
    """A plan made while a table was nearly empty would scan it whole once it has grown."""
    attempt = make_attempt(quiz)
    quiz_api.attempt_by_id.first(attempt.id)
    if backend == "sqlite":
        return
    name = dbmod._server_side(quiz_api.attempt_by_id.statement()[0], True)[0].split()[1]
    prepared_on = dbmod._PREPARED_ON[database.connection()]
    assert name in _server_prepared()
    monkeypatch.setattr(prepared_on, "since", prepared_on.since - prepared_on.kept - 1)
    with database.atomic():  # not inside a transaction: it waits for the next statement outside one
        Unit.select(Unit.id).where(Unit.id == quiz.owner_unit_id).tuples()[:]
        assert quiz_api.attempt_by_id.first(attempt.id).id == attempt.id
        assert dbmod._PREPARED_ON[database.connection()] is prepared_on
    assert quiz_api.attempt_by_id.first(attempt.id).id == attempt.id
    made_again = dbmod._PREPARED_ON[database.connection()]
    assert made_again is not prepared_on
    assert _server_prepared() == {name}  # dropped, then this one made again
    # kept twice as long each time (tables grow fastest, against their size, at first), up to a limit
    assert made_again.kept == min(prepared_on.kept * 2, dbmod.PLANS_KEPT_LONGEST)
    assert prepared_on.kept >= dbmod.PLANS_KEPT_SECONDS


def test_the_logged_in_user_comes_with_their_grants_and_their_own_unit_in_one_statement(backend, committee, cell):
    """The user loader's read: the same model joined twice (the member's unit, each grant's unit) is read
    as that model from its own columns."""
    user, _password = users.create_user(None, "bithu.anson", "Lê Văn Bình", unit=cell)
    RoleGrant.create(user=user, role="organiser", unit=committee)
    with count_queries() as queries:
        loaded = account_models.user_with_grants(user.id)
        unit, grants = loaded.unit, loaded.grants
    assert len(run(queries)) == 1
    assert data(unit) == data(Unit.get_by_id(cell.id)) and unit.name == "Chi bộ thôn An Sơn"
    assert [(g.role, data(g.unit)) for g in grants] == [("organiser", data(Unit.get_by_id(committee.id)))]
    assert account_models.user_with_grants(-1) is None
