"""Registration for public contests: the checks, one registration per phone and ID number, the contest-only
account it gives, and the pages (CSRF, rate limit, the password shown once)."""

import datetime as dt
import re
import unicodedata

import pytest
from flask_babel import gettext
from markupsafe import escape

from portal.accounts import permissions
from portal.accounts.models import AuditLog, User, utcnow
from portal.accounts.passwords import verify_password
from portal.contests import registration as reg_ops
from portal.contests.models import ContestUnit, Registration
from portal.errors import Conflict, DomainError
from portal.quiz.models import Attempt, Option, Question, Quiz, QuizQuestion, Topic
from tests.contests.conftest import NOW

ADDRESS = "203.0.113.7"
AGE = "Date of birth: contestants must be from %(min)s to %(max)s years old."


def person(**fields):
    values = {"full_name": "Trần Thị Lan", "birth_date": "2001-09-02", "gender": "female", "unit": "other",
              "other_unit": "Trường THPT Phan Châu Trinh", "phone": "0912345678", "id_number": ""}
    values.update(fields)
    return values


def add_questions(quiz, n=3):
    topic = Topic.create(code=f"T{quiz.id}", title="Chuyên đề", owner_unit=quiz.owner_unit_id)
    for position in range(1, n + 1):
        question = Question.create(topic=topic, text=f"Câu {position}?", normalised_text=f"câu {position}?")
        Option.create(question=question, position=0, text="Đúng", weight=100)
        Option.create(question=question, position=1, text="Sai", weight=0)
        QuizQuestion.create(quiz=quiz, question=question, position=position)
    return quiz


@pytest.fixture
def public(make_contest):
    return make_contest(is_public=True, ends_at=NOW + dt.timedelta(days=30))


@pytest.fixture
def open_public(make_contest):
    """A public contest open now (the pages use the real clock)."""
    return make_contest(is_public=True, ends_at=None)


def register(contest, address=ADDRESS, now=NOW, **fields):
    return reg_ops.register(contest, reg_ops.RegistrationInput(**person(**fields)), address, now)


# -- the domain ----------------------------------------------------------------------------------

def test_registration_gives_an_account_for_the_contest_only(public, cell):
    decomposed = unicodedata.normalize("NFD", "  Nguyễn  Văn Đức ")
    done = register(public, full_name=decomposed, phone="+84 912 345 678", unit=str(cell.id), other_unit="ignored",
                    id_number="0490 9500 1234")
    user = User.get_by_id(done.user.id)
    reg = Registration.get(Registration.user == user.id)
    assert user.unit_id is None  # not a member of the unit they named
    assert user.username == f"ht{public.id}-0912345678"
    assert verify_password(user.password_hash, done.password) and len(done.password) >= 8
    assert not user.must_change_password
    assert (reg.full_name, user.full_name) == ("Nguyễn Văn Đức", "Nguyễn Văn Đức")
    assert unicodedata.is_normalized("NFC", reg.full_name)
    assert (reg.phone, reg.id_number, reg.unit_id, reg.other_unit) == ("0912345678", "049095001234", cell.id, "")
    assert (reg.birth_date, reg.gender, reg.address) == (dt.date(2001, 9, 2), "female", ADDRESS)
    entry = AuditLog.get(AuditLog.action == "contest.register")
    assert (entry.actor_id, entry.address) == (user.id, ADDRESS)


@pytest.mark.parametrize("phone", ["0912345678", "+84912345678", "84912345678", "0912 345 678", "091.234.5678",
                                   "(+84) 91-234-5678"])
def test_phone_numbers_are_normalised(public, phone):
    assert register(public, phone=phone).registration.phone == "0912345678"


@pytest.mark.parametrize("text, expected", [
    ("17/05/1985", dt.date(1985, 5, 17)), ("7/5/1985", dt.date(1985, 5, 7)), ("17.05.1985", dt.date(1985, 5, 17)),
    ("17-05-1985", dt.date(1985, 5, 17)), ("17051985", dt.date(1985, 5, 17)), ("1985-05-17", dt.date(1985, 5, 17)),
    (" 17/05/1985 ", dt.date(1985, 5, 17)), (dt.date(1985, 5, 17), dt.date(1985, 5, 17)),
    ("05/17/1985", None), ("29/02/2001", None), ("1985", None), ("", None), (None, None),
])
def test_dates_of_birth_are_read_as_typed(text, expected):
    assert reg_ops.parse_birth_date(text) == expected


@pytest.mark.parametrize("fields, field, msgid", [
    ({"full_name": "  "}, "full_name", "Full name: this field is required."),
    ({"full_name": "A" * 256}, "full_name", "Full name: at most %(n)s characters."),
    ({"birth_date": ""}, "birth_date", "Date of birth: this field is required."),
    ({"birth_date": "31/02/2001"}, "birth_date", "Date of birth: enter a real date, for example 17/05/1985."),
    ({"birth_date": "hôm qua"}, "birth_date", "Date of birth: enter a real date, for example 17/05/1985."),
    ({"birth_date": "2025-05-20"}, "birth_date", "Date of birth: the date must be in the past."),
    ({"birth_date": "2016-01-01"}, "birth_date", AGE),
    ({"birth_date": "1910-01-01"}, "birth_date", AGE),
    ({"gender": ""}, "gender", "Gender: choose male or female."),
    ({"gender": "other"}, "gender", "Gender: choose male or female."),
    ({"unit": ""}, "unit", "Unit: choose your unit from the list, or \"Other\" and write it in."),
    ({"unit": "999999"}, "unit", "Unit: choose your unit from the list, or \"Other\" and write it in."),
    ({"unit": "abc"}, "unit", "Unit: choose your unit from the list, or \"Other\" and write it in."),
    ({"unit": "other", "other_unit": " "}, "other_unit", "Unit: write the name of your unit."),
    ({"phone": ""}, "phone", "Phone: this field is required."),
    ({"phone": "0212345678"}, "phone", "Phone: enter a Vietnamese mobile number of 10 digits starting with 03, 05, "
                                       "07, 08 or 09, for example 0912345678."),
    ({"phone": "091234567"}, "phone", "Phone: enter a Vietnamese mobile number of 10 digits starting with 03, 05, "
                                      "07, 08 or 09, for example 0912345678."),
    ({"phone": "09123456789"}, "phone", "Phone: enter a Vietnamese mobile number of 10 digits starting with 03, 05, "
                                        "07, 08 or 09, for example 0912345678."),
    ({"id_number": "12345678901"}, "id_number", "CCCD: the citizen ID number has 12 digits."),
    ({"id_number": "04909500123X"}, "id_number", "CCCD: the citizen ID number has 12 digits."),
])
def test_each_wrong_field_is_named(public, fields, field, msgid):
    with pytest.raises(reg_ops.RegistrationInvalid) as caught:
        register(public, **fields)
    assert list(caught.value.errors) == [field]
    assert caught.value.errors[field] == gettext(msgid, n=255, min=10, max=110)
    assert User.select().count() == 0 and Registration.select().count() == 0


def test_every_wrong_field_is_reported_at_once(public):
    with pytest.raises(reg_ops.RegistrationInvalid) as caught:
        register(public, full_name="", birth_date="", gender="", unit="", phone="123")
    assert set(caught.value.errors) == {"full_name", "birth_date", "gender", "unit", "phone"}


def test_age_limits_are_inclusive(public):
    today = dt.date(2025, 5, 19)  # NOW in Vietnam
    assert register(public, birth_date=today.replace(year=2015).isoformat(), phone="0912000001")  # 10 today
    assert register(public, birth_date="1914-05-20", phone="0912000002")  # 110 until tomorrow
    with pytest.raises(reg_ops.RegistrationInvalid):
        register(public, birth_date="2015-05-20", phone="0912000003")  # 10 tomorrow


def test_unit_must_be_within_the_contests_eligible_tree(public, committee, cell, make_unit):
    sub = make_unit("HV-HP", "Đảng bộ xã Hòa Phú", "committee", parent=committee)
    deep = make_unit(parent=sub)
    outside = make_unit("DN", "Đảng bộ quận Hải Châu", "committee")
    assert [u.id for u in reg_ops.eligible_units(public)] == [committee.id, cell.id, sub.id, deep.id]
    assert register(public, unit=str(deep.id)).registration.unit_id == deep.id
    with pytest.raises(reg_ops.RegistrationInvalid) as caught:
        register(public, unit=str(outside.id), phone="0987654321")
    assert list(caught.value.errors) == ["unit"]
    ContestUnit.create(contest=public, unit=sub)  # narrowed to one commune's subtree
    assert [u.id for u in reg_ops.eligible_units(public)] == [sub.id, deep.id]


def test_one_registration_per_phone_and_per_id_number(public, make_contest):
    register(public, phone="0912345678", id_number="049095001234")
    with pytest.raises(Conflict) as by_phone:
        register(public, phone="+84 912 345 678", id_number="", full_name="Người khác")
    assert by_phone.value.field == "phone"
    assert by_phone.value.message == gettext("Phone: this phone number is already registered for this contest. "
                                             "Log in with the account given at registration.")
    with pytest.raises(Conflict) as by_id:
        register(public, phone="0987654321", id_number="049095001234")
    assert by_id.value.field == "id_number"
    assert by_id.value.message == gettext("CCCD: this citizen ID number is already registered for this contest.")
    assert Registration.select().count() == 1 and User.select().count() == 1
    other = make_contest(is_public=True)  # another contest: the same person may register there too
    assert register(other, phone="0912345678", id_number="049095001234").user.username == f"ht{other.id}-0912345678"
    # Two people without a CCCD never collide on it.
    assert register(public, phone="0987654321").registration.id_number is None
    assert register(public, phone="0987654322").registration.id_number is None


@pytest.mark.parametrize("clash, field", [({"phone": "0912345678"}, "phone"),
                                          ({"phone": "0987654321", "id_number": "049095001234"}, "id_number")])
def test_a_racing_duplicate_is_refused_by_the_unique_index_with_the_same_message(public, monkeypatch, clash, field):
    register(public, phone="0912345678", id_number="049095001234")
    real = reg_ops._already_registered
    calls = []

    def check_too_early(*args):
        calls.append(args)  # the first check runs before the other request commits: it sees nothing
        return None if len(calls) == 1 else real(*args)

    monkeypatch.setattr(reg_ops, "_already_registered", check_too_early)
    with pytest.raises(Conflict) as caught:
        register(public, **clash)
    assert caught.value.field == field
    assert len(calls) == 2
    assert Registration.select().count() == 1 and User.select().count() == 1


def test_username_of_a_deleted_registration_is_not_reused(public):
    first = register(public)
    Registration.delete().where(Registration.id == first.registration.id).execute()
    again = register(public)
    assert again.user.username == f"ht{public.id}-0912345678-2"


@pytest.mark.parametrize("fields, msgid", [
    ({"is_public": False}, "This contest does not take registrations."),
    ({"is_published": False}, "This contest does not take registrations."),
    ({"ends_at": NOW}, "Registration for this contest has closed."),
    ({"ends_at": NOW - dt.timedelta(days=1)}, "Registration for this contest has closed."),
])
def test_registration_is_refused_when_not_open(make_contest, fields, msgid):
    contest = make_contest(**{"is_public": True, **fields})
    with pytest.raises(DomainError) as caught:
        register(contest)
    assert caught.value.message == gettext(msgid)
    assert Registration.select().count() == 0


def test_a_registrant_takes_part_in_their_contests_rounds_only(public, make_round, make_contest, committee):
    round_ = make_round(contest=public)
    members_only = Quiz.create(title="Thi tìm hiểu Nghị quyết", owner_unit=committee, is_published=True)
    members_contest_round = make_round(contest=make_contest())  # not public: registrations mean nothing there
    other_public = make_contest(is_public=True)
    user = register(public).user
    assert permissions.can(user, "contest.take_part", public)
    assert permissions.can(user, "quiz.take", round_.quiz)
    assert not permissions.can(user, "contest.take_part", other_public)
    assert not permissions.can(user, "quiz.take", members_only)
    assert not permissions.can(user, "quiz.take", members_contest_round.quiz)
    assert not permissions.can(user, "members.view")
    public.is_published = False
    public.save()
    reg_ops.forget(user)
    assert not permissions.can(user, "quiz.take", round_.quiz)


def test_hooks_cost_one_query_per_user_object(public, make_round, make_user, cell):
    rounds = [make_round(contest=public) for _ in range(3)]
    user = User.get_by_id(register(public).user.id)
    member = make_user(unit=cell)
    from portal.db import database

    queries = []
    original = database.obj.execute_sql

    def execute_sql(sql, *args, **kwargs):
        if not sql.startswith("PREPARE "):  # PostgreSQL's PREPARE: once per connection, not counted
            queries.append(sql)
        return original(sql, *args, **kwargs)

    database.obj.execute_sql = execute_sql
    try:
        assert all(reg_ops.registered_taker(user, r.quiz) for r in rounds)
        assert reg_ops.registered_entrant(user, public)
        assert not reg_ops.registered_taker(member, rounds[0].quiz)
    finally:
        del database.obj.execute_sql
    assert len(queries) == 2  # one per user object


# -- the pages ---------------------------------------------------------------------------------

def test_register_page_offers_the_eligible_units_in_tree_order_then_other(client, open_public, committee, cell,
                                                                           make_unit):
    sub = make_unit("HV-HP", "Đảng bộ xã Hòa Phú", "committee", parent=committee)
    deep = make_unit("HV-HP-1", "Chi bộ thôn Phú Thượng", parent=sub)
    make_unit("DN", "Đảng bộ quận Hải Châu", "committee")
    page = client.get(f"/contests/{open_public.id}/register").get_data(as_text=True)
    options = re.findall(r'<option[^>]*value="([^"]*)"[^>]*>([^<]*)</option>', page)
    assert options == [("", gettext("— Choose your unit —")),
                       (str(committee.id), committee.name), (str(cell.id), "\u00a0" * 4 + cell.name),
                       (str(sub.id), "\u00a0" * 4 + sub.name), (str(deep.id), "\u00a0" * 8 + deep.name),
                       ("other", gettext("Other (write it in)"))]
    assert open_public.title in page


def test_register_page_is_not_found_for_a_members_only_or_unpublished_contest(client, make_contest):
    assert client.get(f"/contests/{make_contest().id}/register").status_code == 404
    hidden = make_contest(is_public=True, is_published=False)
    assert client.get(f"/contests/{hidden.id}/register").status_code == 404
    assert client.post(f"/contests/{hidden.id}/register", data=person()).status_code == 404
    assert client.get("/contests/999999/register").status_code == 404


def test_closed_registration_shows_a_notice_and_refuses(client, make_contest):
    closed = make_contest(is_public=True, ends_at=dt.datetime(2020, 1, 1))
    page = client.get(f"/contests/{closed.id}/register").get_data(as_text=True)
    assert gettext("Registration for this contest has closed.") in page
    assert 'name="full_name"' not in page
    response = client.post(f"/contests/{closed.id}/register", data=person())
    assert gettext("Registration for this contest has closed.") in response.get_data(as_text=True)
    assert Registration.select().count() == 0


def test_wrong_fields_are_shown_next_to_them(client, open_public):
    response = client.post(f"/contests/{open_public.id}/register",
                           data=person(full_name="", phone="12345", id_number="123", gender=""))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Họ và tên: không được để trống." in page  # already in the catalogue
    for msgid in ("Phone: enter a Vietnamese mobile number of 10 digits starting with 03, 05, 07, 08 or 09, "
                  "for example 0912345678.", "CCCD: the citizen ID number has 12 digits.",
                  "Gender: choose male or female."):
        assert str(escape(gettext(msgid))) in page
    assert 'value="Trường THPT Phan Châu Trinh"' in page  # what was typed stays
    assert Registration.select().count() == 0


def test_register_then_log_in_and_take_a_round(client, auth, open_public, make_round, committee):
    round_ = make_round(contest=open_public, opens_at=None, closes_at=None)
    add_questions(round_.quiz)
    members_only = add_questions(Quiz.create(title="Thi tìm hiểu Nghị quyết", owner_unit=committee,
                                             is_published=True))
    response = client.post(f"/contests/{open_public.id}/register", data=person())
    assert response.status_code == 302 and response.headers["Location"].endswith(
        f"/contests/{open_public.id}/register/done")
    done = client.get(response.headers["Location"]).get_data(as_text=True)
    username = f"ht{open_public.id}-0912345678"
    password = re.findall(r'<span class="secret">([^<]+)</span>', done)
    assert password[0] == username
    assert gettext("Write down your login name and password") in done
    # Shown once: a reload shows it no more.
    again = client.get(f"/contests/{open_public.id}/register/done")
    assert again.status_code == 302 and "/register" in again.headers["Location"]

    assert auth.login(username, password[1]).headers["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200
    page = home.get_data(as_text=True)
    assert open_public.title in page and round_.quiz.title in page
    assert f'href="/quiz/{round_.quiz_id}"' in page
    assert client.get("/quiz/").status_code == 200
    assert client.get(f"/contests/{open_public.id}").status_code == 200
    assert client.get("/quiz/history").status_code == 200
    assert client.get(f"/quiz/{round_.quiz_id}").status_code == 200
    started = client.post(f"/api/v1/quizzes/{round_.quiz_id}/attempts")
    assert started.status_code == 201
    attempt = Attempt.get_by_id(started.get_json()["id"])
    assert attempt.unit_id is None and attempt.user.username == username
    assert client.get(f"/quiz/attempts/{attempt.id}").status_code == 200
    # A members-only quiz stays out of reach.
    assert client.get(f"/quiz/{members_only.id}").status_code == 404
    assert client.post(f"/api/v1/quizzes/{members_only.id}/attempts").status_code == 403


def test_registrant_is_not_a_member_of_the_unit_they_named(client, auth, login, open_public, committee, cell):
    done = register(open_public, unit=str(cell.id), now=utcnow())
    auth.login(done.user.username, done.password)
    assert client.get("/members/").status_code == 403
    auth.logout()
    login(role="organiser", unit=committee)
    roster = client.get(f"/members/?unit={cell.id}")
    assert roster.status_code == 200
    assert done.user.full_name not in roster.get_data(as_text=True)


def test_a_logged_in_member_who_can_already_take_part_is_told_so(client, login, open_public, cell):
    member = login(unit=cell)
    page = client.get(f"/contests/{open_public.id}/register").get_data(as_text=True)
    assert member.full_name in page and 'name="phone"' not in page


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_registration_needs_the_csrf_token(client, open_public):
    assert client.post(f"/contests/{open_public.id}/register", data=person()).status_code == 400
    assert Registration.select().count() == 0
    page = client.get(f"/contests/{open_public.id}/register").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)[1]
    response = client.post(f"/contests/{open_public.id}/register", data={**person(), "csrf_token": token})
    assert response.status_code == 302
    assert Registration.select().count() == 1


@pytest.mark.parametrize("app_config", [{"RATELIMIT_ENABLED": True, "RATELIMIT_REGISTER": "3 per hour"}])
def test_registrations_from_one_address_are_rate_limited(client, open_public):
    def post(n, address=ADDRESS):
        return client.post(f"/contests/{open_public.id}/register", data=person(phone=f"091234567{n}"),
                           environ_base={"REMOTE_ADDR": address})

    assert [post(n).status_code for n in range(3)] == [302, 302, 302]
    refused = post(3)
    assert refused.status_code == 429
    assert "Quá nhiều" in refused.get_data(as_text=True)
    assert client.get(f"/contests/{open_public.id}/register", environ_base={"REMOTE_ADDR": ADDRESS}).status_code == 200
    assert post(4, address="198.51.100.2").status_code == 302  # another address is not held up
    assert Registration.select().count() == 4


@pytest.mark.parametrize("app_config", [{"RATELIMIT_ENABLED": True, "RATELIMIT_QUIZ_START": "2 per minute"}])
def test_starting_attempts_is_rate_limited_per_person(client, login, make_round, make_contest, cell):
    round_ = make_round(contest=make_contest(), opens_at=None, closes_at=None, attempts_allowed=0)
    add_questions(round_.quiz)
    login(unit=cell)
    assert client.post(f"/api/v1/quizzes/{round_.quiz_id}/attempts").status_code == 201
    assert client.post(f"/api/v1/quizzes/{round_.quiz_id}/attempts").status_code == 200  # resumes
    refused = client.post(f"/api/v1/quizzes/{round_.quiz_id}/attempts")
    assert refused.status_code == 429
    assert refused.get_json() == {"error": gettext("Too many requests. Wait a moment and try again.")}
