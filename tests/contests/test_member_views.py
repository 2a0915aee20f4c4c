"""Contestants' contest pages: who sees which contest, the rounds and their windows, the way into a round."""

import datetime as dt

import pytest

from portal.accounts.models import utcnow
from portal.contests.models import ContestUnit, Round
from portal.quiz.models import Quiz

NOW = utcnow().replace(microsecond=0)
WEEK = dt.timedelta(days=7)


@pytest.fixture
def running(make_contest):
    """make_contest with dates around the real now (the pages use the clock)."""

    def running(**fields):
        values = {"starts_at": NOW - WEEK, "ends_at": NOW + 4 * WEEK, "rules_text": "Điều 1. Đối tượng.\nDòng hai.\n\n"
                  "Điều 2. Giải thưởng."}
        values.update(fields)
        return make_contest(**values)

    return running


@pytest.fixture
def open_round(make_round):
    def open_round(contest, **fields):
        values = {"opens_at": NOW - dt.timedelta(hours=1), "closes_at": NOW + WEEK, "is_listed": False}
        values.update(fields)
        return make_round(contest, **values)

    return open_round


def test_a_member_sees_the_contests_of_their_unit_only(client, auth, make_user, make_unit, committee, cell, running):
    mine = running(title="Hội thi của huyện")
    other_committee = make_unit("TK", "Đảng bộ huyện Thanh Khê", "committee")
    theirs = running(title="Hội thi của quận bạn", owner_unit=other_committee)
    narrowed = running(title="Chỉ cho chi bộ khác")
    ContestUnit.create(contest=narrowed, unit=make_unit(parent=committee))
    running(title="Bản nháp", is_published=False)
    public = running(title="Hội thi công khai", owner_unit=other_committee, is_public=True)
    member = make_user(unit=cell)
    auth.login(member.username)
    page = client.get("/contests/").get_data(as_text=True)
    assert mine.title in page and public.title in page
    assert theirs.title not in page and narrowed.title not in page and "Bản nháp" not in page
    assert client.get(f"/contests/{mine.id}").status_code == 200
    for contest in (theirs, narrowed):
        assert client.get(f"/contests/{contest.id}").status_code == 404


def test_visitors_see_public_contests_only(client, running):
    public = running(title="Hội thi công khai", is_public=True)
    members = running(title="Hội thi nội bộ")
    page = client.get("/contests/").get_data(as_text=True)
    assert public.title in page and members.title not in page
    assert client.get(f"/contests/{members.id}").status_code == 404
    page = client.get(f"/contests/{public.id}").get_data(as_text=True)
    assert "/login?next=" in page and "/register" in page  # a visitor is asked to log in or register


def test_the_contest_page_shows_rules_rounds_and_the_way_in(client, login, cell, running, open_round, make_round):
    contest = running()
    closed = make_round(contest, opens_at=NOW - 2 * WEEK, closes_at=NOW - WEEK, is_listed=False, title="Tuần 1")
    current = open_round(contest, title="Tuần 2")
    later = make_round(contest, opens_at=NOW + WEEK, closes_at=NOW + 2 * WEEK, is_listed=False, title="Tuần 3")
    login(unit=cell)
    page = client.get(f"/contests/{contest.id}").get_data(as_text=True)
    assert "<p>Điều 1. Đối tượng.<br>Dòng hai.</p>" in page and "<p>Điều 2. Giải thưởng.</p>" in page
    assert page.index("Tuần 1") < page.index("Tuần 2") < page.index("Tuần 3")
    assert f'href="/quiz/{current.quiz_id}"' in page
    assert f'href="/quiz/{closed.quiz_id}"' not in page and f'href="/quiz/{later.quiz_id}"' not in page
    intro = client.get(f"/quiz/{current.quiz_id}")
    assert intro.status_code == 200
    assert f'href="/contests/{contest.id}"' in intro.get_data(as_text=True)  # the round names its contest
    assert "Tuần 2" not in client.get("/quiz/").get_data(as_text=True)  # rounds are not in the quiz list


def test_the_members_own_result_per_round(client, login, cell, running, open_round, make_attempt):
    contest = running()
    round_ = open_round(contest, title="Tuần 1")
    member = login(unit=cell)
    make_attempt(round_, member, 7, max_score=10, at=NOW - dt.timedelta(minutes=30))
    make_attempt(round_, member, 9, max_score=10, at=NOW - dt.timedelta(minutes=10))
    Round.update(published_at=NOW).where(Round.id == round_.id).execute()
    page = client.get(f"/contests/{contest.id}").get_data(as_text=True)
    assert "9/10" in page and "7/10" not in page  # the best attempt counts


def test_the_home_page_lists_running_contests_with_their_open_round(client, login, cell, running, open_round):
    contest = running(title="Hội thi đang diễn ra")
    open_round(contest, title="Tuần 4")
    running(title="Hội thi đã kết thúc", starts_at=NOW - 4 * WEEK, ends_at=NOW - WEEK)
    login(unit=cell)
    page = client.get("/").get_data(as_text=True)
    assert "Hội thi đang diễn ra" in page and "Tuần 4" in page and "Hội thi đã kết thúc" not in page


def test_an_unpublished_contest_is_previewed_by_its_organiser_only(client, auth, make_user, committee, cell,
                                                                  running, open_round):
    contest = running(is_published=False)
    round_ = open_round(contest, is_published=False)
    auth.login(make_user(unit=cell).username)
    assert client.get(f"/contests/{contest.id}").status_code == 404
    auth.logout()
    auth.login(make_user(role="organiser", scope=committee, unit=committee).username)
    page = client.get(f"/contests/{contest.id}").get_data(as_text=True)
    assert 'class="notice"' in page and f'href="/quiz/{round_.quiz_id}"' not in page  # a preview, not a way in


def test_no_banner_is_not_found(client, running):
    contest = running(is_public=True)
    assert client.get(f"/contests/{contest.id}/banner").status_code == 404
    assert Quiz.select().count() == 0


def test_the_contest_page_reads_its_eligible_units_once(client, auth, make_user, make_unit, committee, cell,
                                                        running, open_round):
    """The units named (or the owner's, when none is) in one statement, however often the page asks."""
    from playhouse.test_utils import count_queries

    contest = running(title="Hội thi của huyện")
    open_round(contest)
    narrowed = running(title="Chỉ cho chi bộ An Sơn")
    ContestUnit.create(contest=narrowed, unit=cell)
    auth.login(make_user(unit=cell).username)
    for shown in (contest, narrowed):
        client.get(f"/contests/{shown.id}")
        with count_queries() as queries:
            assert client.get(f"/contests/{shown.id}").status_code == 200
        run = [q.msg[0] for q in queries.get_queries()]
        assert not any(sql.startswith('SELECT "t1"."id", "t1"."contest_id", "t1"."unit_id"') for sql in run)
    other = make_unit(parent=committee)
    auth.logout()
    assert auth.login(make_user(unit=other).username).status_code == 302
    assert client.get(f"/contests/{narrowed.id}").status_code == 404
    assert client.get(f"/contests/{contest.id}").status_code == 200
