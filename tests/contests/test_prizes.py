"""Individual prizes from the ranking: tiers in order, the share cap, ties left to the organiser, adjustments."""

import dataclasses
import datetime as dt
import json

import pytest

from portal.accounts.models import AuditLog
from portal.contests import prizes, ranking
from portal.contests.models import Award, PrizeTier, RoundEntry
from portal.errors import Conflict, DomainError
from tests.conftest import reload
from tests.contests.conftest import NOW

LATER = NOW + dt.timedelta(days=8)  # the round below has closed


@dataclasses.dataclass(frozen=True)
class T:
    name: str
    id: int = 0


def groups(*sizes):
    """Groups of the given sizes at competition ranks: users numbered from 1."""
    out, rank, n = [], 1, 1
    for size in sizes:
        out.append((rank, list(range(n, n + size))))
        rank, n = rank + size, n + size
    return out


def given(awards):
    return [(user, tier.name) for user, tier, _rank in awards]


# -- the rule ------------------------------------------------------------------------------------

@pytest.mark.parametrize("sizes, places, expected, decisions", [
    # tiers are filled in order, one place per contestant
    ((1, 1, 1, 1), [1, 2], [(1, "A"), (2, "B"), (3, "B")], []),
    # a tie that fits is rewarded whole
    ((1, 2, 1), [1, 3], [(1, "A"), (2, "B"), (3, "B"), (4, "B")], []),
    # a tie at the boundary: nobody of it gets the last place of A; they all go on to B
    ((1, 3, 1), [2, 3], [(1, "A"), (2, "B"), (3, "B"), (4, "B")], [(2, 3, "A", 1)]),
    # carried, and too big for B as well: B is left to the organiser too, C starts with the same group
    ((1, 3, 1), [2, 2, 5], [(1, "A"), (2, "C"), (3, "C"), (4, "C"), (5, "C")], [(2, 3, "A", 1), (2, 3, "B", 2)]),
    # a group bigger than every tier ends the awarding
    ((4, 1), [1, 2], [], [(1, 4, "A", 1), (1, 4, "B", 2)]),
    # a tier with no places is skipped; more places than contestants leaves them unused
    ((1, 1), [0, 5], [(1, "B"), (2, "B")], []),
    ((), [3], [], []),
])
def test_plan(sizes, places, expected, decisions):
    tiers = [(T(name), p) for name, p in zip("ABC", places)]
    awards, found = prizes.plan(groups(*sizes), tiers)
    assert given(awards) == expected
    assert [(d.rank, len(d.user_ids), d.tier.name, d.remaining) for d in found] == decisions


@pytest.mark.parametrize("count, share, participants, expected", [
    (10, None, 3, 10), (10, 10, 35, 3), (10, 10, 9, 0), (2, 50, 100, 2), (5, 0, 100, 0),
])
def test_places_are_capped_at_a_share_of_the_participants(count, share, participants, expected):
    assert prizes.slots(PrizeTier(count=count, max_share=share), participants) == expected


# -- in the database ----------------------------------------------------------------------------

@pytest.fixture
def closed_round(make_round):
    """A round that closed a day after NOW (its attempts are at NOW)."""
    return make_round(closes_at=NOW + dt.timedelta(days=1))


@pytest.fixture
def tiers(closed_round):
    def tiers(*spec, round_=closed_round):
        return [PrizeTier.create(contest=round_.contest_id, round=round_, position=i, name=name, count=count,
                                 max_share=share)
                for i, (name, count, share) in enumerate(spec, 1)]

    return tiers


@pytest.fixture
def contestants(closed_round, make_user, cell, make_attempt):
    """contestants(10, 9, 9, …): one contestant per score, in that order, equal on every other key."""

    def contestants(*scores, round_=closed_round):
        users = [make_user(unit=cell) for _ in scores]
        for user, score in zip(users, scores):
            make_attempt(round_, user, score)
        return users

    return contestants


def prizes_of(round_):
    return {a.user_id: (a.tier.name if a.tier_id else None, a.is_manual)
            for a in Award.select().where(Award.round == round_)}


def test_confirming_gives_the_tiers_in_order(closed_round, tiers, contestants, make_user):
    organiser = make_user()
    users = contestants(10, 9, 8, 7, 6, 5)
    tiers(("Giải Nhất", 1, None), ("Giải Nhì", 2, None), ("Giải Ba", 2, None))
    outcome = prizes.confirm_round(organiser, closed_round, LATER)
    assert (outcome.awarded, outcome.decisions) == (5, [])
    expected = ["Giải Nhất", "Giải Nhì", "Giải Nhì", "Giải Ba", "Giải Ba"]
    assert prizes_of(closed_round) == {u.id: (t, False) for u, t in zip(users, expected)}
    round_ = reload(closed_round)
    assert (round_.confirmed_at, round_.confirmed_by_id) == (LATER, organiser.id)
    assert AuditLog.get(AuditLog.action == "contest.round_confirmed").actor_id == organiser.id


def test_a_tier_is_capped_at_its_share_of_the_participants(closed_round, tiers, contestants, make_user):
    users = contestants(*range(20, 0, -1))  # 20 participants
    tiers(("Giải Nhất", 5, 10), ("Khuyến khích", 10, 25))  # 10 % of 20 = 2; 25 % = 5
    prizes.confirm_round(make_user(), closed_round, LATER)
    got = prizes_of(closed_round)
    assert [got.get(u.id, (None,))[0] for u in users[:8]] == ["Giải Nhất"] * 2 + ["Khuyến khích"] * 5 + [None]


def test_a_tie_at_the_boundary_is_left_to_the_organiser(closed_round, tiers, contestants, make_user):
    first, *tied, fifth = contestants(10, 9, 9, 9, 8)
    tiers(("Giải Nhất", 2, None), ("Giải Nhì", 3, None))
    outcome = prizes.confirm_round(make_user(), closed_round, LATER)
    [decision] = outcome.decisions
    assert (decision.rank, set(decision.user_ids), decision.tier.name, decision.remaining) == \
        (2, {u.id for u in tied}, "Giải Nhất", 1)
    assert decision.text == "3 người bằng nhau ở hạng 2, Giải Nhất còn 1 suất: Ban Tổ chức quyết định."
    # Nobody got the second Giải Nhất by a hidden order: the tied three all have Giải Nhì, the fifth nothing.
    assert prizes_of(closed_round) == {first.id: ("Giải Nhất", False), **{u.id: ("Giải Nhì", False) for u in tied}}
    assert [d.rank for d in prizes.decisions_for(closed_round.contest, closed_round)] == [2]
    assert fifth.id not in prizes_of(closed_round)


def test_the_organiser_settles_the_tie_by_hand_and_it_is_kept(closed_round, tiers, contestants, make_user):
    organiser = make_user()
    first, a, b, c, fifth = contestants(10, 9, 9, 9, 8)
    nhat, nhi = tiers(("Giải Nhất", 2, None), ("Giải Nhì", 3, None))
    prizes.confirm_round(organiser, closed_round, LATER)
    award = Award.get(Award.user == a, Award.round == closed_round)
    prizes.adjust(organiser, award, nhat, "Bốc thăm công khai ngày 27/5", LATER, address="10.0.0.9")
    log = AuditLog.get(AuditLog.action == "contest.prize_adjusted")
    details = json.loads(log.details)
    assert (log.actor_id, log.address, details["before"], details["after"], details["user"]) == \
        (organiser.id, "10.0.0.9", "Giải Nhì", "Giải Nhất", a.id)
    assert details["reason"] == "Bốc thăm công khai ngày 27/5"
    assert prizes.decisions_for(closed_round.contest, closed_round) == []  # settled
    # Giving the prizes again keeps the hand-made one, which takes its place in Giải Nhất.
    outcome = prizes.award_round(organiser, reload(closed_round), LATER)
    assert outcome.decisions == []
    assert prizes_of(closed_round) == {first.id: ("Giải Nhất", False), a.id: ("Giải Nhất", True),
                                       b.id: ("Giải Nhì", False), c.id: ("Giải Nhì", False),
                                       fifth.id: ("Giải Nhì", False)}


def test_a_prize_given_or_withdrawn_by_hand_survives_awarding_again(closed_round, tiers, contestants, make_user):
    organiser = make_user()
    first, second, third = contestants(10, 9, 8)
    nhat, kk = tiers(("Giải Nhất", 1, None), ("Khuyến khích", 1, None))
    prizes.confirm_round(organiser, closed_round, LATER)
    prizes.adjust(organiser, Award.get(Award.user == first), None, "Vi phạm thể lệ (dùng hai tài khoản)", LATER)
    prizes.adjust(organiser, None, kk, "Thí sinh cao tuổi nhất", LATER, round_=closed_round, user=third)
    prizes.award_round(organiser, reload(closed_round), LATER)
    # The withdrawal stays; the hand-given Khuyến khích takes that tier's only place; Giải Nhất goes down the list.
    assert prizes_of(closed_round) == {first.id: (None, True), second.id: ("Giải Nhất", False),
                                       third.id: ("Khuyến khích", True)}
    assert AuditLog.select().where(AuditLog.action == "contest.prize_adjusted").count() == 2


@pytest.mark.parametrize("reason", ["", "   "])
def test_an_adjustment_needs_a_reason(closed_round, tiers, contestants, make_user, reason):
    [user] = contestants(10)
    [nhat] = tiers(("Giải Nhất", 1, None))
    prizes.confirm_round(make_user(), closed_round, LATER)
    with pytest.raises(DomainError) as caught:
        prizes.adjust(make_user(), Award.get(Award.user == user), None, reason, LATER)
    assert caught.value.field == "reason"
    assert prizes_of(closed_round) == {user.id: ("Giải Nhất", False)}
    assert not AuditLog.select().where(AuditLog.action == "contest.prize_adjusted").exists()


def test_an_adjustment_is_checked(closed_round, tiers, contestants, make_user, make_round):
    [user] = contestants(10)
    [nhat] = tiers(("Giải Nhất", 1, None))
    organiser = make_user()
    with pytest.raises(Conflict):  # before the round is confirmed
        prizes.adjust(organiser, None, nhat, "Lý do", LATER, round_=closed_round, user=user)
    prizes.confirm_round(organiser, closed_round, LATER)
    other = make_round(contest=closed_round.contest)
    [foreign] = tiers(("Giải Nhất", 1, None), round_=other)
    with pytest.raises(DomainError) as caught:  # another round's prize
        prizes.adjust(organiser, Award.get(Award.user == user), foreign, "Lý do", LATER)
    assert caught.value.field == "tier"
    with pytest.raises(DomainError) as caught:  # not a contestant of the round
        prizes.adjust(organiser, None, nhat, "Lý do", LATER, round_=closed_round, user=make_user())
    assert caught.value.field == "user"


def test_confirming_waits_for_the_round_to_close(closed_round, contestants, make_user, make_round):
    contestants(10)
    with pytest.raises(Conflict, match="chỉ xác nhận được kết quả sau khi vòng thi kết thúc"):
        prizes.confirm_round(make_user(), closed_round, NOW)
    assert reload(closed_round).confirmed_at is None
    endless = make_round(closes_at=None)
    with pytest.raises(Conflict, match="chưa có thời điểm kết thúc"):
        prizes.confirm_round(make_user(), endless, LATER)
    prizes.confirm_round(make_user(), closed_round, LATER)
    with pytest.raises(Conflict):  # once
        prizes.confirm_round(make_user(), reload(closed_round), LATER)
    with pytest.raises(Conflict):  # frozen
        ranking.rank_round(reload(closed_round), LATER)


def test_confirming_grades_attempts_cut_off_by_the_close(closed_round, make_user, cell, make_attempt):
    user = make_user(unit=cell)
    attempt = make_attempt(closed_round, user, None, state="in_progress")
    attempt.deadline_at = closed_round.quiz.closes_at
    attempt.save()
    just_closed = closed_round.quiz.closes_at + dt.timedelta(seconds=5)
    with pytest.raises(Conflict, match="đang được nộp"):  # within the grace
        prizes.confirm_round(make_user(), closed_round, just_closed)
    assert reload(attempt).state == "in_progress" and reload(closed_round).confirmed_at is None
    prizes.confirm_round(make_user(), closed_round, LATER)
    assert reload(attempt).state == "finished"


def test_publishing_needs_a_confirmed_round(closed_round, contestants, make_user):
    contestants(10)
    with pytest.raises(Conflict, match="Cần xác nhận kết quả vòng thi trước khi công bố"):
        prizes.publish_round(make_user(), closed_round, LATER)
    prizes.confirm_round(make_user(), closed_round, LATER)
    prizes.publish_round(make_user(), closed_round, LATER)
    assert reload(closed_round).published_at == LATER
    with pytest.raises(Conflict):  # published results change only by hand, with a reason
        prizes.award_round(make_user(), reload(closed_round), LATER)


def test_the_live_leaderboard_is_ranked_again_when_stale(make_round, make_user, cell, make_attempt):
    round_ = make_round()
    make_attempt(round_, make_user(unit=cell), 7)
    prizes.set_live_leaderboard(make_user(), round_, True, NOW)
    assert reload(round_).live_leaderboard and RoundEntry.select().count() == 1
    make_attempt(round_, make_user(unit=cell), 9)
    assert not prizes.refresh_live(reload(round_), NOW + dt.timedelta(seconds=30))  # fresh enough
    assert RoundEntry.select().count() == 1
    assert prizes.refresh_live(reload(round_), NOW + prizes.LIVE_REFRESH + dt.timedelta(seconds=1))
    assert RoundEntry.select().count() == 2
    assert AuditLog.get(AuditLog.action == "contest.live_leaderboard").details == \
        json.dumps({"contest": round_.contest_id, "round": round_.id, "on": True})


def test_the_contest_prizes_wait_for_every_round(make_contest, make_round, make_user, cell, make_attempt):
    contest = make_contest()
    one = make_round(contest=contest, closes_at=NOW + dt.timedelta(days=1))
    two = make_round(contest=contest, closes_at=NOW + dt.timedelta(days=1))
    a, b = make_user(unit=cell), make_user(unit=cell)
    for round_, scores in ((one, (10, 8)), (two, (6, 9))):
        make_attempt(round_, a, scores[0])
        make_attempt(round_, b, scores[1])
    PrizeTier.create(contest=contest, round=None, position=1, name="Giải Nhất toàn cuộc thi", count=1)
    organiser = make_user()
    prizes.confirm_round(organiser, one, LATER)
    with pytest.raises(Conflict, match=r"còn chưa xác nhận: vòng 2\)"):
        prizes.award_contest(organiser, contest, LATER)
    with pytest.raises(Conflict):
        prizes.publish_contest(organiser, contest, LATER)
    prizes.confirm_round(organiser, two, LATER)
    with pytest.raises(Conflict, match="Cần trao giải theo bảng xếp hạng chung cuộc"):
        prizes.publish_contest(organiser, contest, LATER)
    assert prizes.award_contest(organiser, contest, LATER).awarded == 1
    award = Award.get(Award.round.is_null())
    assert (award.user_id, award.rank) == (b.id, 1)  # 17 against 16
    prizes.publish_contest(organiser, contest, LATER)
    assert reload(contest).results_published_at == LATER
    assert [w.name for w in prizes.winners(contest)] == ["Giải Nhất toàn cuộc thi"]


def test_the_tables_show_names_units_and_prizes(closed_round, tiers, contestants, make_user, cell):
    users = contestants(10, 9)
    tiers(("Giải Nhất", 1, None))
    prizes.confirm_round(make_user(), closed_round, LATER)
    rows = prizes.table(closed_round.contest, closed_round)
    assert prizes.entries_count(closed_round.contest, closed_round) == 2
    assert [(r.name, r.unit, r.entry.rank, r.prize) for r in rows] == \
        [(users[0].full_name, cell.name, 1, "Giải Nhất"), (users[1].full_name, cell.name, 2, None)]
    [tier] = prizes.winners(closed_round.contest, closed_round)
    assert (tier.name, tier.collective, tier.winners) == ("Giải Nhất", False, [(users[0].full_name, cell.name, 1)])
