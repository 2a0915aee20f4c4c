"""Results pages over HTTP: the organiser's ranking workflow, what contestants and visitors may see."""

import datetime as dt
import re

import pytest

from portal.accounts.models import AuditLog, utcnow
from portal.contests import prizes
from portal.contests.models import Award, PrizeTier
from tests.conftest import PASSWORD, reload
from tests.contests.conftest import NOW


@pytest.fixture
def organiser(make_user, committee, cell):
    return make_user(role="organiser", scope=committee, unit=cell)


@pytest.fixture
def closed_round(make_round):
    """A round whose quiz closed long ago (the pages use the real clock)."""
    round_ = make_round(closes_at=NOW + dt.timedelta(days=1))
    PrizeTier.create(contest=round_.contest_id, round=round_, position=1, name="Giải Nhất", count=1)
    PrizeTier.create(contest=round_.contest_id, round=round_, position=2, name="Giải Nhì", count=2)
    return round_


@pytest.fixture
def field(make_user, cell, make_attempt, closed_round):
    """Four contestants of the round: 10, 9, 9 (tied: they share Giải Nhì), 6."""
    users = [make_user(unit=cell, full_name=name) for name in
             ("Trần Thị Hoa", "Lê Văn Bình", "Phạm Minh Châu", "Đỗ Quang Dũng")]
    for user, score, prediction in zip(users, (10, 9, 9, 6), (4, 7, 7, 1)):
        make_attempt(closed_round, user, score, prediction=prediction)
    return users


def url(round_, what=""):
    return f"/manage/contests/{round_.contest_id}/rounds/{round_.id}/ranking{what}"


def results(round_):
    return f"/contests/{round_.contest_id}/rounds/{round_.id}/results"


def text(response):
    return response.get_data(as_text=True)


def test_the_organiser_ranks_confirms_and_publishes(client, auth, organiser, closed_round, field):
    auth.login(organiser.username)
    page = client.get(url(closed_round))
    assert page.status_code == 200 and "state-closed" in text(page)
    assert client.post(url(closed_round, "/recompute")).status_code == 302
    page = text(client.get(url(closed_round)))
    assert all(u.full_name in page for u in field) and "row-tied" in page
    assert 'name="reason"' not in page  # prizes are adjusted once the ranking is confirmed

    assert client.post(url(closed_round, "/confirm")).status_code == 302
    assert reload(closed_round).confirmed_by_id == organiser.id
    page = text(client.get(url(closed_round)))
    assert "state-confirmed" in page and 'name="reason"' in page
    assert "Giải Nhất" in page and "Giải Nhì" in page and Award.select().count() == 3

    member = field[3]
    auth.logout()
    auth.login(member.username)
    assert client.get(results(closed_round)).status_code == 404  # confirmed, not published
    auth.logout()
    auth.login(organiser.username)
    assert client.post(url(closed_round, "/publish")).status_code == 302
    assert reload(closed_round).published_at is not None
    auth.logout()
    auth.login(member.username)
    page = text(client.get(results(closed_round)))
    assert "Trần Thị Hoa" in page and "Giải Nhất" in page and "Chi bộ thôn An Sơn" in page
    assert "row-mine" in page
    # Nobody's answers: the member's own prediction shows, the others' do not.
    assert "Dự đoán của đồng chí: 1." in page and ">7<" not in page


def test_publishing_before_confirming_is_refused(client, auth, organiser, closed_round, field):
    auth.login(organiser.username)
    response = client.post(url(closed_round, "/publish"), follow_redirects=True)
    assert "Cần xác nhận kết quả vòng thi trước khi công bố." in text(response)
    assert reload(closed_round).published_at is None


def test_confirming_an_open_round_is_refused(client, auth, organiser, make_round, make_user, cell, make_attempt):
    round_ = make_round(closes_at=utcnow() + dt.timedelta(days=1))
    make_attempt(round_, make_user(unit=cell), 8, at=utcnow())
    auth.login(organiser.username)
    response = client.post(url(round_, "/confirm"), follow_redirects=True)
    assert "chỉ xác nhận được kết quả sau khi vòng thi kết thúc" in text(response) and "state-open" in text(response)
    assert reload(round_).confirmed_at is None


def test_prizes_are_adjusted_by_hand_with_a_reason(client, auth, organiser, closed_round, field):
    auth.login(organiser.username)
    client.post(url(closed_round, "/confirm"))
    nhat = PrizeTier.get(PrizeTier.name == "Giải Nhất")
    tied = field[1]
    response = client.post(url(closed_round, "/prizes"), data={"user": tied.id, "tier": nhat.id, "reason": ""},
                           follow_redirects=True)
    assert "Lý do: hãy ghi rõ lý do điều chỉnh giải" in text(response)
    assert Award.get(Award.user == tied).tier_id != nhat.id
    response = client.post(url(closed_round, "/prizes"),
                           data={"user": tied.id, "tier": nhat.id, "reason": "Bốc thăm ngày 27/5"},
                           follow_redirects=True)
    award = Award.get(Award.user == tied)
    assert (award.tier_id, award.is_manual, award.reason) == (nhat.id, True, "Bốc thăm ngày 27/5")
    assert "điều chỉnh thủ công" in text(response) and "Bốc thăm ngày 27/5" in text(response)
    assert AuditLog.get(AuditLog.action == "contest.prize_adjusted").actor_id == organiser.id
    client.post(url(closed_round, "/award"))  # giving the prizes again keeps it
    assert Award.get(Award.user == tied).tier_id == nhat.id


def test_contestants_see_a_live_leaderboard_only_when_turned_on(client, auth, organiser, make_round, make_user,
                                                                cell, make_attempt):
    round_ = make_round(closes_at=utcnow() + dt.timedelta(days=1))
    member = make_user(unit=cell, full_name="Vũ Thị Lan")
    make_attempt(round_, member, 8, at=utcnow(), prediction=12)
    auth.login(member.username)
    assert client.get(results(round_)).status_code == 404
    auth.logout()
    auth.login(organiser.username)
    client.post(url(round_, "/live"), data={"on": "1"})
    assert reload(round_).live_leaderboard
    auth.logout()
    auth.login(member.username)
    page = text(client.get(results(round_)))
    assert "Xếp hạng tạm thời" in page and "Vũ Thị Lan" in page
    assert "badge prize" not in page and ">Giải</th>" not in page
    auth.logout()
    auth.login(organiser.username)
    client.post(url(round_, "/live"), data={"on": "0"})
    auth.logout()
    auth.login(member.username)
    assert client.get(results(round_)).status_code == 404


def publish(round_, organiser):
    prizes.confirm_round(organiser, round_, utcnow())
    prizes.publish_round(organiser, reload(round_), utcnow())


@pytest.mark.parametrize("is_public, status", [(True, 200), (False, 404)])
def test_visitors_see_a_public_contest_only(client, organiser, field, closed_round, is_public, status):
    contest = closed_round.contest
    contest.is_public = is_public
    contest.save()
    publish(closed_round, organiser)
    response = client.get(results(closed_round))
    assert response.status_code == status
    if status == 200:
        assert "Trần Thị Hoa" in text(response)


def test_another_committees_organiser_is_refused(client, auth, make_user, make_unit, closed_round, field):
    other = make_unit("LC", "Đảng bộ huyện Liên Chiểu", "committee")
    stranger = make_user(role="organiser", scope=other, unit=other)
    auth.login(stranger.username)
    assert client.get(url(closed_round)).status_code == 403
    assert client.post(url(closed_round, "/confirm")).status_code == 403
    assert client.get(f"/manage/contests/{closed_round.contest_id}/ranking").status_code == 403
    assert reload(closed_round).confirmed_at is None
    assert client.get(results(closed_round)).status_code == 404  # not eligible, not published


def test_the_contest_wide_results(client, auth, organiser, closed_round, field):
    PrizeTier.create(contest=closed_round.contest_id, round=None, position=1, name="Giải Đặc biệt", count=1)
    auth.login(organiser.username)
    contest_url = f"/manage/contests/{closed_round.contest_id}/ranking"
    client.post(url(closed_round, "/confirm"))
    assert client.post(contest_url + "/award").status_code == 302
    page = text(client.get(contest_url))
    assert "Giải Đặc biệt" in page and "Trần Thị Hoa" in page
    auth.logout()
    auth.login(field[1].username)
    assert client.get(f"/contests/{closed_round.contest_id}/results").status_code == 404
    auth.logout()
    auth.login(organiser.username)
    client.post(contest_url + "/publish")
    auth.logout()
    auth.login(field[1].username)
    page = text(client.get(f"/contests/{closed_round.contest_id}/results"))
    assert "Giải Đặc biệt" in page and "Trần Thị Hoa" in page


def test_the_ranking_is_paginated(client, auth, organiser, closed_round, make_user, cell, make_attempt):
    for i in range(55):
        make_attempt(closed_round, make_user(unit=cell, full_name=f"Thí sinh {i:02d}"), 10,
                     seconds=100 + i)
    auth.login(organiser.username)
    client.post(url(closed_round, "/recompute"))
    first, second = text(client.get(url(closed_round))), text(client.get(url(closed_round) + "?page=2"))
    assert "Thí sinh 00" in first and "Thí sinh 54" not in first
    assert "Thí sinh 54" in second and 'id="rank-51"' in second


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_actions_need_the_csrf_token(client, organiser, closed_round, field, app_config):
    page = text(client.get("/login"))
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    client.post("/login", data={"username": organiser.username, "password": PASSWORD, "csrf_token": token})
    assert client.post(url(closed_round, "/confirm")).status_code == 400
    assert reload(closed_round).confirmed_at is None
    page = text(client.get(url(closed_round)))
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post(url(closed_round, "/confirm"), data={"csrf_token": token}).status_code == 302
    assert reload(closed_round).confirmed_at is not None
