"""Abuse flags on hand-made data, and the organiser's pages of flags and registrations."""

import csv
import datetime as dt
import io

import pytest

from portal.accounts.models import User
from portal.contests import abuse
from portal.contests import registration as reg_ops
from portal.contests.models import Registration
from portal.quiz.models import Option, Question, QuizQuestion, Topic
from tests.conftest import _PASSWORD_HASH
from tests.contests.conftest import NOW


def add_questions(quiz, n):
    topic = Topic.create(code=f"T{quiz.id}", title="Chuyên đề", owner_unit=quiz.owner_unit_id)
    for position in range(1, n + 1):
        question = Question.create(topic=topic, text=f"Câu {position}?", normalised_text=f"câu {position}?")
        Option.create(question=question, position=0, text="Đúng", weight=100)
        QuizQuestion.create(quiz=quiz, question=question, position=position)
    return quiz


def registrant(contest, n, address="203.0.113.7", at=NOW, **fields):
    """A registration made by hand (no password hashing: these tests make many)."""
    phone = f"09{n:08d}"
    user = User.create(username=f"ht{contest.id}-{phone}", full_name=fields.pop("full_name", f"Lê Văn Thí {n}"),
                       password_hash=_PASSWORD_HASH)
    values = {"full_name": user.full_name, "birth_date": dt.date(1990, 1, 1), "gender": "male",
              "other_unit": "Trường THPT Phan Châu Trinh", "phone": phone, "address": address, "created_at": at}
    values.update(fields)
    return Registration.create(contest=contest, user=user, **values)


@pytest.fixture
def public(make_contest):
    return make_contest(is_public=True)


@pytest.fixture
def round_(make_round, public):
    return make_round(contest=public, attempts_allowed=2)


def test_implausibly_fast_attempts_are_flagged_fastest_first(round_, make_attempt, make_user, cell):
    add_questions(round_.quiz, 10)  # under 2 s a question: under 20 s
    people = [make_user(unit=cell) for _ in range(5)]
    slow = make_attempt(round_, people[0], 10, seconds=20)
    fastest = make_attempt(round_, people[1], 10, seconds=4)
    fast = make_attempt(round_, people[2], 9, seconds=19)
    make_attempt(round_, people[3], 10, seconds=3, state="in_progress")  # not finished: nothing to judge yet
    make_attempt(round_, people[4], 10, seconds=600)
    found, total = abuse.fast_attempts(round_.contest)
    assert [f.attempt.id for f in found] == [fastest.id, fast.id]
    assert total == 2
    assert found[0].questions == 10 and found[0].seconds_per_question == pytest.approx(0.4)
    assert found[0].attempt.user.id == people[1].id and found[0].round.id == round_.id
    assert slow.id not in {f.attempt.id for f in found}
    # The threshold is a parameter; the list is capped but the count is not.
    found, total = abuse.fast_attempts(round_.contest, seconds_per_question=3, limit=1)
    assert ([f.attempt.id for f in found], total) == ([fastest.id], 3)


def test_rounds_without_questions_or_of_other_contests_flag_nothing(round_, make_round, make_attempt, make_user, cell):
    elsewhere = make_round()  # another contest
    add_questions(elsewhere.quiz, 10)
    member = make_user(unit=cell)
    make_attempt(round_, member, 10, seconds=1)  # round_ has no question list: no per-question measure
    make_attempt(elsewhere, member, 10, seconds=1)
    assert abuse.fast_attempts(round_.contest) == ([], 0)


def test_many_registrations_from_one_address_are_flagged(public, make_contest):
    crowded = [registrant(public, n, at=NOW + dt.timedelta(minutes=n)) for n in range(5)]
    for n in range(5, 9):
        registrant(public, n, address="198.51.100.2")
    registrant(public, 9, address="")  # unknown address: never grouped
    for n in range(10, 16):
        registrant(make_contest(is_public=True), n)  # the same address in other contests does not count here
    flagged = abuse.crowded_addresses(public)
    assert [(a.address, a.count) for a in flagged] == [("203.0.113.7", 5)]
    assert [r.id for r in flagged[0].registrations] == [r.id for r in crowded]
    assert (flagged[0].first_at, flagged[0].last_at) == (NOW, NOW + dt.timedelta(minutes=4))
    assert [a.address for a in abuse.crowded_addresses(public, threshold=4)] == ["203.0.113.7", "198.51.100.2"]


def test_more_attempts_than_allowed_are_flagged(round_, make_attempt, make_user, cell):
    within, beyond = make_user(unit=cell), make_user(unit=cell)
    make_attempt(round_, within, 5)
    make_attempt(round_, within, 6)
    for score in (5, 6):
        make_attempt(round_, beyond, score)
    last = make_attempt(round_, beyond, 7)  # a third where two are allowed: should never happen
    flagged = abuse.excess_attempts(round_.contest)
    assert [(e.user.id, e.attempts, e.allowed, e.last_attempt_id, e.round.id) for e in flagged] == [
        (beyond.id, 3, 2, last.id, round_.id)]


def test_unlimited_rounds_have_no_excess(make_round, public, make_attempt, make_user, cell):
    unlimited = make_round(contest=public, attempts_allowed=0)
    member = make_user(unit=cell)
    for score in range(5):
        make_attempt(unlimited, member, score)
    assert abuse.excess_attempts(public) == []


def test_flags_bundle_every_flag(round_, make_attempt, make_user, cell):
    add_questions(round_.quiz, 5)
    make_attempt(round_, make_user(unit=cell), 5, seconds=2)
    for n in range(5):
        registrant(round_.contest, n)
    flags = abuse.flags(round_.contest)
    assert (flags.fast_total, len(flags.addresses), len(flags.excess), flags.total) == (1, 1, 0, 2)


# -- the pages ---------------------------------------------------------------------------------

def test_organiser_sees_the_flags_with_links_to_each_attempt(client, login, round_, make_attempt, make_user, cell,
                                                             committee):
    add_questions(round_.quiz, 10)
    contestant = registrant(round_.contest, 1).user
    fast = make_attempt(round_, contestant, 10, seconds=5)
    for n in range(2, 7):
        registrant(round_.contest, n, address="198.51.100.9")
    login(role="organiser", unit=committee)
    response = client.get(f"/manage/contests/{round_.contest_id}/flags")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'href="/manage/attempts/{fast.id}"' in page
    assert contestant.full_name in page and "198.51.100.9" in page
    assert f"/manage/contests/{round_.contest_id}/registrations?address=198.51.100.9" in page
    # The attempt of a registrant (who has no unit) opens for the organiser.
    assert client.get(f"/manage/attempts/{fast.id}").status_code == 200


def test_flags_and_registrations_are_for_the_contests_organisers_only(client, login, public, make_unit):
    login(role="organiser", unit=make_unit("DN", "Đảng bộ quận Hải Châu", "committee"))  # another committee's
    for path in ("flags", "registrations", "registrations.csv"):
        assert client.get(f"/manage/contests/{public.id}/{path}").status_code == 403
    client.post("/logout")
    login()  # a member
    for path in ("flags", "registrations", "registrations.csv"):
        assert client.get(f"/manage/contests/{public.id}/{path}").status_code == 403
    client.post("/logout")
    response = client.get(f"/manage/contests/{public.id}/flags")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_registrations_list_searches_by_name_and_phone(client, login, public, committee):
    lan = registrant(public, 1, full_name="Trần Thị Lan")
    registrant(public, 2, full_name="Nguyễn Văn Hùng")
    login(role="organiser", unit=committee)
    url = f"/manage/contests/{public.id}/registrations"
    page = client.get(url).get_data(as_text=True)
    assert "Trần Thị Lan" in page and "Nguyễn Văn Hùng" in page
    page = client.get(url, query_string={"q": "Thị Lan"}).get_data(as_text=True)
    assert "Trần Thị Lan" in page and "Nguyễn Văn Hùng" not in page
    page = client.get(url, query_string={"q": "+84 90 000 0001"}).get_data(as_text=True)  # typed as +84…
    assert lan.phone == "0900000001"
    assert "Trần Thị Lan" in page and "Nguyễn Văn Hùng" not in page


def test_registrations_csv_is_formula_safe(client, login, public, committee, cell):
    registrant(public, 1, full_name="=HYPERLINK(\"http://evil.test\",\"Bấm\")", other_unit="+SUM(1,2)")
    registrant(public, 2, full_name="Trần Thị Lan", unit=cell, other_unit="", id_number="049095001234")
    login(role="organiser", unit=committee)
    response = client.get(f"/manage/contests/{public.id}/registrations.csv")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == f'attachment; filename="dang-ky-hoi-thi-{public.id}.csv"'
    body = response.get_data()
    assert body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert len(rows) == 3
    by_phone = {row[5]: row for row in rows[1:]}
    evil = by_phone["0900000001"]
    assert evil[1] == "'=HYPERLINK(\"http://evil.test\",\"Bấm\")" and evil[4] == "'+SUM(1,2)"
    lan = by_phone["0900000002"]
    assert (lan[1], lan[2], lan[4], lan[6], lan[7]) == ("Trần Thị Lan", "01/01/1990", cell.name, "049095001234",
                                                       f"ht{public.id}-0900000002")
    assert all(not cell_.startswith(("=", "+", "-", "@")) for row in rows for cell_ in row)


def test_registrations_csv_keeps_the_search(client, login, public, committee):
    registrant(public, 1, full_name="Trần Thị Lan")
    registrant(public, 2, full_name="Nguyễn Văn Hùng", address="198.51.100.2")
    login(role="organiser", unit=committee)
    response = client.get(f"/manage/contests/{public.id}/registrations.csv", query_string={"address": "198.51.100.2"})
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert [row[1] for row in rows[1:]] == ["Nguyễn Văn Hùng"]


def test_a_registration_made_through_the_domain_appears_in_the_list(client, login, public, committee):
    done = reg_ops.register(public, reg_ops.RegistrationInput(
        full_name="Phạm Minh Châu", birth_date="1999-12-31", gender="female", unit="other",
        other_unit="Hợp tác xã Hòa Tiến", phone="0935123456"), "192.0.2.5", NOW)
    login(role="organiser", unit=committee)
    page = client.get(f"/manage/contests/{public.id}/registrations").get_data(as_text=True)
    assert "Phạm Minh Châu" in page and "Hợp tác xã Hòa Tiến" in page and done.user.username in page
