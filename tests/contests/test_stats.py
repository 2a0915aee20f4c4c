"""Statistics per unit: counted in the database, rolled up through a four-level tree, checked by hand."""

import datetime as dt
import logging
import re

import pytest

from portal.contests import ranking, stats
from portal.contests.models import Award, ContestUnit, PrizeTier, Registration, Round
from tests.conftest import PASSWORD, reload
from tests.contests.conftest import NOW


class Tree:
    """R ─┬─ A (2) ─┬─ A1 ─┬─ A1a (4)      R: the contest's owner; (n) the declared members
          │         │      └─ A1b (0)      u8 took the round in A2, then moved to C
          │         └─ A2 (3)
          ├─ B ─── B1 (2)                  B1: three participants for two declared members
          └─ C (5)                         C: nobody took part
    """


def build(make_unit, make_user, make_contest, make_round, make_attempt):
    t = Tree()
    t.R = make_unit("R", "Đảng bộ huyện Thử", "committee", declared_members=0)
    t.A = make_unit("A", "Đảng bộ xã An", "committee", parent=t.R, declared_members=2)
    t.A1 = make_unit("A1", "Đảng bộ thôn An Một", "committee", parent=t.A, declared_members=0)
    t.A1a = make_unit("A1a", "Chi bộ xóm Một", parent=t.A1, declared_members=4)
    t.A1b = make_unit("A1b", "Chi bộ xóm Hai", parent=t.A1, declared_members=0)
    t.A2 = make_unit("A2", "Chi bộ trường An", parent=t.A, declared_members=3)
    t.B = make_unit("B", "Đảng bộ xã Bình", "committee", parent=t.R, declared_members=0)
    t.B1 = make_unit("B1", "Chi bộ thôn Bình Một", parent=t.B, declared_members=2)
    t.C = make_unit("C", "Chi bộ Trung tâm Y tế", parent=t.R, declared_members=5)
    t.contest = make_contest(owner_unit=t.R)
    t.round = make_round(contest=t.contest)
    u = t.users = {name: make_user(unit=unit) for name, unit in [
        ("u1", t.A1a), ("u2", t.A1a), ("u3", t.A1b), ("u4", t.A2), ("u5", t.B1), ("u6", t.B1), ("u7", t.B1),
        ("u8", t.A2), ("idle", t.C)]}
    r = t.round
    make_attempt(r, u["u1"], 6, at=NOW - dt.timedelta(hours=20))  # Vietnam: 18 May, 14:00
    make_attempt(r, u["u1"], 10)  # counted
    make_attempt(r, u["u2"], 8)
    make_attempt(r, u["u3"], 5)
    make_attempt(r, u["u4"], 2)
    make_attempt(r, u["u5"], 7.5)  # exactly 75%: the ≥75% band
    make_attempt(r, u["u6"], 2.5)  # exactly 25%: the 25–75% band
    make_attempt(r, u["u7"], 10)
    make_attempt(r, u["u8"], 9)
    make_attempt(r, u["idle"], None, state="in_progress")  # not finished: not counted anywhere
    u["u8"].unit = t.C  # moved after the attempt: still counted in A2
    u["u8"].save()
    # A public registrant who chose "other": the "Khác" row.
    t.visitor = make_user(unit=None)
    t.visitor.unit = None
    t.visitor.save()
    Registration.create(contest=t.contest, user=t.visitor, full_name=t.visitor.full_name,
                        birth_date=dt.date(1990, 1, 1), gender="female", other_unit="Hội Cựu chiến binh",
                        phone="0905000111")
    make_attempt(r, t.visitor, 4, unit=None)
    return t


@pytest.fixture
def tree(make_unit, make_user, make_contest, make_round, make_attempt):
    return build(make_unit, make_user, make_contest, make_round, make_attempt)


def numbers(row):
    return (row.declared, row.participants, row.attempts, row.perfect, row.high, row.middle, row.low, row.prizes)


def test_the_roll_up_over_a_deep_tree(tree):
    s = stats.round_stats(tree.round, NOW)
    got = {row.code: numbers(row) for row in s.rows}
    #                 declared, participants, attempts, 100%, ≥75%, 25–75%, <25%, prizes
    assert got == {
        "R": (16, 8, 9, 2, 3, 2, 1, 0),
        "A": (9, 5, 6, 1, 2, 1, 1, 0),
        "A1": (4, 3, 4, 1, 1, 1, 0, 0),
        "A1a": (4, 2, 3, 1, 1, 0, 0, 0),
        "A1b": (0, 1, 1, 0, 0, 1, 0, 0),
        "A2": (3, 2, 2, 0, 1, 0, 1, 0),
        "B": (2, 3, 3, 1, 1, 1, 0, 0),
        "B1": (2, 3, 3, 1, 1, 1, 0, 0),
        "C": (5, 0, 0, 0, 0, 0, 0, 0),
    }
    by = {row.code: row for row in s.rows}
    # Tree order: parents first, siblings by name ("Chi bộ …" before "Đảng bộ …").
    assert [row.code for row in s.rows] == ["R", "C", "A", "A2", "A1", "A1b", "A1a", "B", "B1"]
    assert [by[c].depth for c in ("R", "A", "A1", "A1a")] == [0, 1, 2, 3]
    assert by["R"].average == pytest.approx((100 + 80 + 50 + 20 + 90 + 75 + 25 + 100) / 8)
    assert by["A1"].average == pytest.approx((100 + 80 + 50) / 3)
    assert by["A"].rate == pytest.approx(5 / 9) and by["R"].rate == pytest.approx(0.5)
    assert by["C"].rate == 0 and by["C"].average is None  # declared, nobody took part


def test_zero_declared_and_more_participants_than_declared_are_flagged(tree):
    by = {row.code: row for row in stats.round_stats(tree.round, NOW).rows}
    assert by["A1b"].rate is None and by["A1b"].undeclared and not by["A1b"].over_declared
    assert by["B1"].rate == pytest.approx(1.5) and by["B1"].over_declared  # shown as 150%, flagged
    assert not by["A1a"].over_declared and not by["C"].undeclared


def test_the_unit_at_the_time_of_the_attempt_counts(tree):
    by = {row.code: row for row in stats.round_stats(tree.round, NOW).rows}
    assert (by["A2"].participants, by["C"].participants) == (2, 0)  # u8 has moved to C since


def test_contestants_without_a_unit_in_the_tree_are_in_the_other_row(tree, make_unit, make_user, make_attempt):
    outsider = make_user(unit=make_unit("X", "Chi bộ ngoài hội thi"))  # a unit outside the contest's tree
    make_attempt(tree.round, outsider, 10)
    s = stats.round_stats(tree.round, NOW)
    assert s.other.unit_id is None and numbers(s.other) == (0, 2, 2, 1, 0, 1, 0, 0)
    assert s.other.rate is None and not s.other.undeclared and s.other.average == pytest.approx(70)
    assert (s.total.declared, s.total.participants, s.total.attempts) == (16, 10, 11)


def test_prizes_are_counted_where_the_winner_took_part(tree, make_attempt):
    tier = PrizeTier.create(contest=tree.contest, round=tree.round, position=1, name="Giải Nhất", count=2)
    ranking.rank_round(tree.round, NOW)
    for name in ("u1", "u8"):
        Award.create(contest=tree.contest, round=tree.round, tier=tier, user=tree.users[name], rank=1)
    Award.create(contest=tree.contest, round=None, tier=tier, user=tree.users["u5"], rank=1)  # contest-wide
    by = {row.code: row.prizes for row in stats.round_stats(tree.round, NOW).rows}
    assert (by["A1a"], by["A2"], by["C"], by["A"], by["B1"], by["R"]) == (1, 1, 0, 2, 0, 2)
    contest = {row.code: row.prizes for row in stats.contest_stats(tree.contest, NOW).rows}
    assert (contest["A"], contest["B1"], contest["R"]) == (2, 1, 3)  # the contest-wide prize, in u5's unit


def test_a_contest_counts_each_contestant_once_in_their_latest_unit(tree, make_round, make_attempt):
    two = make_round(contest=tree.contest)
    make_attempt(two, tree.users["u8"], 10, at=NOW + dt.timedelta(days=2))  # now in C
    make_attempt(two, tree.users["u1"], 10, at=NOW + dt.timedelta(days=2))
    s = stats.contest_stats(tree.contest, NOW + dt.timedelta(days=2))
    by = {row.code: row for row in s.rows}
    assert (by["A2"].participants, by["C"].participants, by["A1a"].participants) == (1, 1, 2)
    assert (by["R"].participants, s.total.participants) == (8, 9)
    assert (by["R"].results, by["R"].attempts, by["R"].perfect) == (10, 11, 4)  # every round's results
    assert by["C"].average == 100 and s.rounds == 2


def test_the_charts_data(tree):
    s = stats.round_stats(tree.round, NOW)
    assert s.histogram == [0, 0, 2, 0, 1, 1, 0, 1, 1, 1, 2]  # 20 25 | 40 | 50 | 75 | 80 | 90 | 100 100
    # Vietnam days: u1's first attempt on 18 May (07:00 UTC = 14:00), the rest on 19 May (10:00 there).
    assert s.days == [(dt.date(2025, 5, 18), 1), (dt.date(2025, 5, 19), 9)]


def test_days_without_attempts_are_shown_at_zero(tree, make_attempt, make_user):
    make_attempt(tree.round, make_user(unit=tree.C), 5, at=NOW + dt.timedelta(days=3))
    days = stats.round_stats(tree.round, NOW + dt.timedelta(days=3)).days
    assert [n for _d, n in days] == [1, 9, 0, 0, 1] and days[-1][0] == dt.date(2025, 5, 22)


def test_a_round_with_no_attempts(make_unit, make_contest, make_round):
    root = make_unit("R0", "Đảng bộ trống", "committee", declared_members=0)
    make_unit(parent=root, declared_members=0)
    round_ = make_round(contest=make_contest(owner_unit=root), opens_at=NOW + dt.timedelta(days=1))
    s = stats.round_stats(round_, NOW)
    assert all(numbers(r) == (0,) * 8 for r in s.rows) and s.total.participants == 0
    assert s.total.rate is None and s.total.average is None and s.days == [] and s.histogram == [0] * 11
    assert stats.contest_stats(round_.contest, NOW).total.participants == 0


def test_a_contest_without_rounds(make_contest, committee):
    s = stats.contest_stats(make_contest(), NOW)
    assert s.rounds == 0 and s.days == [] and s.total.participants == 0


def test_a_narrowed_contest_counts_only_its_units(tree):
    ContestUnit.create(contest=tree.contest, unit=tree.A1)
    s = stats.round_stats(tree.round, NOW)
    by = {row.code: row for row in s.rows}
    assert list(by) == ["R", "A", "A1", "A1b", "A1a"]  # the eligible subtree and the committees above it
    assert (by["R"].declared, by["A"].declared, by["A1"].declared) == (4, 4, 4)  # A's own 2 do not count
    assert by["R"].participants == 3 and s.other.participants == 6  # A2, B1 and the visitor: not in the tree


def test_the_ranking_is_refreshed_when_stale_and_never_once_confirmed(tree, make_attempt, make_user):
    stats.round_stats(tree.round, NOW)
    make_attempt(tree.round, make_user(unit=tree.C), 5)
    assert stats.round_stats(tree.round, NOW + dt.timedelta(seconds=30)).total.participants == 9  # a minute
    assert stats.round_stats(tree.round, NOW + dt.timedelta(seconds=61)).total.participants == 10
    round_ = reload(tree.round)
    round_.confirmed_at = NOW
    round_.save()
    make_attempt(tree.round, make_user(unit=tree.C), 5)
    s = stats.round_stats(round_, NOW + dt.timedelta(hours=1))
    assert s.total.participants == 10 and not s.provisional  # frozen with the confirmed ranking


def test_sorting(tree):
    s = stats.round_stats(tree.round, NOW)
    assert [r.code for r in s.sorted_rows("rate", True)][:2] == ["B", "B1"]
    assert [r.code for r in s.sorted_rows("rate", False)][-1] == "A1b"  # no rate: last either way
    assert [r.code for r in s.sorted_rows("rate", True)][-1] == "A1b"
    assert [r.code for r in s.sorted_rows("participants", True)][:2] == ["R", "A"]
    assert [r.code for r in s.sorted_rows("bogus", True)] == [r.code for r in s.rows]


class QueryCounter(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record):
        self.count += 1


@pytest.mark.parametrize("scope", ["round", "contest"])
def test_the_number_of_queries_does_not_grow_with_contestants(tree, make_user, make_attempt, scope):
    logger = logging.getLogger("peewee")

    def count():
        counter = QueryCounter()
        logger.addHandler(counter)
        old = logger.level
        logger.setLevel(logging.DEBUG)
        try:
            round_ = reload(tree.round)
            if scope == "round":
                stats.round_stats(round_, NOW, refresh_after=None)
            else:
                stats.contest_stats(round_.contest, NOW, refresh_after=None)
        finally:
            logger.removeHandler(counter)
            logger.setLevel(old)
        return counter.count

    ranking.rank_round(tree.round, NOW)
    few = count()
    for i in range(40):
        make_attempt(tree.round, make_user(unit=[tree.A1a, tree.A2, tree.B1, tree.C][i % 4]), i % 11)
    ranking.rank_round(tree.round, NOW)
    assert count() == few <= 12


# -- the organiser's page ------------------------------------------------------------------------------

def page(client, tree, round_=False, **args):
    url = (f"/manage/contests/{tree.contest.id}/rounds/{tree.round.id}/stats" if round_
           else f"/manage/contests/{tree.contest.id}/stats")
    return client.get(url, query_string=args)


def unit_order(html, tree):
    names = {u.name: code for code, u in vars(tree).items() if hasattr(u, "declared_members")}
    found = [(html.find(f'<span class="unit-name">{name}</span>'), code) for name, code in names.items()]
    return [code for position, code in sorted(found) if position >= 0]


@pytest.mark.parametrize("round_", [False, True])
def test_the_organiser_sees_the_numbers_and_the_charts(client, login, tree, round_):
    login(role="organiser", unit=tree.R)
    response = page(client, tree, round_)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert unit_order(html, tree)[:5] == ["R", "C", "A", "A2", "A1"]  # the tree, unsorted
    assert 'class="depth-3"' in html  # A1a, four levels down
    assert "Hội Cựu chiến binh" not in html and str(stats.OTHER_NAME) in html  # the "Khác" row
    assert html.count("<svg") == 3 and "<rect" in html
    assert 'style="' not in html and "<script>" not in html  # the CSP: no style attributes, no inline script
    assert "⚠" in html  # B: more participants than declared members
    assert ('id="collective"' in html) is not round_  # a round without collective prizes: no such section


def test_sorting_on_the_server(client, login, tree):
    login(role="organiser", unit=tree.R)
    html = page(client, tree, sort="rate", dir="desc").get_data(as_text=True)
    assert unit_order(html, tree)[:2] == ["B", "B1"] and 'aria-sort="descending"' in html
    assert unit_order(html, tree)[-1] == "A1b"  # no declared members: no rate, last
    html = page(client, tree, sort="participants", dir="asc").get_data(as_text=True)
    assert unit_order(html, tree)[0] == "C" and 'aria-sort="ascending"' in html
    html = page(client, tree, sort="name").get_data(as_text=True)
    assert unit_order(html, tree)[:2] == ["B1", "C"]  # "Chi bộ thôn Bình Một", "Chi bộ Trung tâm Y tế"
    assert page(client, tree, sort="'; drop table unit; --").status_code == 200  # unknown: the tree order


@pytest.mark.parametrize("who", ["member", "other committee"])
def test_others_may_not_see_it(client, login, make_unit, tree, who):
    if who == "member":
        login(unit=tree.A1a)
    else:
        login(role="organiser", unit=make_unit("K", "Đảng bộ huyện khác", "committee"))
    assert page(client, tree).status_code == 403
    assert page(client, tree, round_=True).status_code == 403
    assert client.post(f"/manage/contests/{tree.contest.id}/stats/collective").status_code == 403
    assert client.post(f"/manage/contests/{tree.contest.id}/stats/collective/adjust",
                       data={"unit": tree.A.id, "reason": "x"}).status_code == 403


def test_a_round_of_another_contest_is_not_found(client, login, tree, make_round):
    login(role="organiser", unit=tree.R)
    other = make_round()
    assert client.get(f"/manage/contests/{tree.contest.id}/rounds/{other.id}/stats").status_code == 404


def test_the_organiser_gives_the_collective_prizes(client, login, tree):
    login(role="organiser", unit=tree.R)
    PrizeTier.create(contest=tree.contest, collective=True, position=1, name="Giải Nhất tập thể", count=1)
    html = page(client, tree).get_data(as_text=True)
    assert "Giải Nhất tập thể" in html and "collective-form" not in html  # the round is not confirmed yet
    ranking.rank_round(tree.round, NOW)
    round_ = reload(tree.round)
    round_.confirmed_at = NOW
    round_.save()
    response = client.post(f"/manage/contests/{tree.contest.id}/stats/collective")
    assert response.status_code == 302 and response.headers["Location"].endswith("/stats#collective")
    award = Award.get(Award.unit.is_null(False))
    assert (award.unit_id, award.is_manual, award.user_id) == (tree.B.id, False, None)  # 150%: the default rate
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Giải Nhất tập thể" in html and "collective-form" in html


def test_a_round_with_collective_prizes_gives_them_from_its_page(client, login, tree):
    login(role="organiser", unit=tree.R)
    PrizeTier.create(contest=tree.contest, round=tree.round, collective=True, position=1, name="Cờ thi đua", count=1)
    ranking.rank_round(tree.round, NOW)
    Round.update(confirmed_at=NOW).where(Round.id == tree.round.id).execute()
    assert 'id="collective"' in page(client, tree, round_=True).get_data(as_text=True)
    response = client.post(f"/manage/contests/{tree.contest.id}/rounds/{tree.round.id}/stats/collective")
    assert response.status_code == 302 and Award.get(Award.unit.is_null(False)).round_id == tree.round.id
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Cờ thi đua" in html


def test_the_organiser_adjusts_a_collective_prize_by_hand(client, login, tree):
    login(role="organiser", unit=tree.R)
    tier = PrizeTier.create(contest=tree.contest, collective=True, position=1, name="Giải Nhất tập thể", count=1)
    ranking.rank_round(tree.round, NOW)
    Round.update(confirmed_at=NOW).where(Round.id == tree.round.id).execute()
    url = f"/manage/contests/{tree.contest.id}/stats/collective/adjust"
    assert 'name="reason"' in page(client, tree).get_data(as_text=True)
    response = client.post(url, data={"unit": tree.C.id, "tier": tier.id, "reason": "Quyết định số 12"})
    assert response.status_code == 302
    assert (Award.get(Award.unit == tree.C.id).is_manual, Award.get(Award.unit == tree.C.id).reason) == \
        (True, "Quyết định số 12")
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Quyết định số 12" in html
    client.post(url, data={"unit": tree.C.id, "tier": tier.id, "reason": ""})  # refused: no reason
    assert Award.get(Award.unit == tree.C.id).reason == "Quyết định số 12"
    assert client.post(url, data={"unit": tree.C.id, "tier": "x", "reason": "a"}).status_code == 400


def csrf_token(html):
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_awarding_needs_the_csrf_token(client, make_user, tree, app_config):
    organiser = make_user(role="organiser", unit=tree.R)
    client.post("/login", data={"username": organiser.username, "password": PASSWORD,
                                "csrf_token": csrf_token(client.get("/login").get_data(as_text=True))})
    PrizeTier.create(contest=tree.contest, collective=True, position=1, name="Giải Nhất tập thể", count=1)
    ranking.rank_round(tree.round, NOW)
    Round.update(confirmed_at=NOW).where(Round.id == tree.round.id).execute()
    url = f"/manage/contests/{tree.contest.id}/stats/collective"
    assert client.post(url).status_code == 400 and not Award.select().exists()
    token = csrf_token(page(client, tree).get_data(as_text=True))
    assert client.post(url, data={"csrf_token": token}).status_code == 302 and Award.select().exists()


def test_the_page_of_a_contest_without_rounds_or_attempts(client, login, committee, make_contest, make_round):
    login(role="organiser", unit=committee)
    contest = make_contest()
    html = client.get(f"/manage/contests/{contest.id}/stats").get_data(as_text=True)
    assert "No one has taken part in this contest yet." in html or "Chưa có ai tham gia" in html
    round_ = make_round(contest=contest)
    response = client.get(f"/manage/contests/{contest.id}/rounds/{round_.id}/stats")
    assert response.status_code == 200 and 'style="' not in response.get_data(as_text=True)


@pytest.mark.parametrize("value, digits, text", [(0.578, 1, "57,8%"), (1.5, 1, "150,0%"), (123.4567, 2, "12.345,67%"),
                                                 (0, 1, "0,0%"), (None, 1, "—")])
def test_the_table_formats_numbers_as_the_filters_do(app, value, digits, text):
    from portal.contests.stats_views import Numbers

    n = Numbers("vi")
    assert n.percent(value, digits) == text and n.int(40000) == "40.000" and n.int(None) == ""
