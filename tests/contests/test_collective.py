"""Collective prizes: the units below the organiser ranked by the contest's measure, awarded from the tiers."""

import datetime as dt
import json
import types

import pytest

from portal.accounts.models import AuditLog
from portal.contests import collective, ranking
from portal.contests.models import Award, PrizeTier, Round
from portal.errors import Conflict, DomainError
from tests.conftest import reload
from tests.contests.conftest import NOW
from tests.contests.test_stats import build

# The tree of test_stats: below R compete A (5 participants of 9 declared, average 68%),
# B (3 of 2 declared: 150%, average 66.67%) and C (5 declared, nobody took part: it does not compete).


@pytest.fixture
def tree(make_unit, make_user, make_contest, make_round, make_attempt):
    return build(make_unit, make_user, make_contest, make_round, make_attempt)


def tiers(contest, *counts, round_=None, max_share=None):
    names = ["Giải Nhất", "Giải Nhì", "Giải Ba", "Giải Khuyến khích"]
    return [PrizeTier.create(contest=contest, round=round_, collective=True, position=i + 1, name=names[i],
                             count=n, max_share=max_share) for i, n in enumerate(counts)]


def table(result):
    return [(s.row.code, s.value, s.rank, s.tied, s.tier.name if s.tier else None, s.pending)
            for s in result.standings]


def confirm(round_):
    """Rank the round afresh and confirm it (collective prizes are given from confirmed numbers)."""
    round_ = reload(round_)
    round_.confirmed_at = None
    ranking.rank_round(round_, NOW)
    Round.update(confirmed_at=NOW).where(Round.id == round_.id).execute()


def set_measure(contest, measure, per_prize=5):
    contest.collective_measure = measure
    contest.collective_points_per_prize = per_prize
    contest.save()


@pytest.mark.parametrize("measure, expected", [
    ("participants", [("A", 5, 1), ("B", 3, 2), ("C", None, None)]),
    ("rate", [("B", 150.0, 1), ("A", 55.56, 2), ("C", None, None)]),
    ("average", [("A", 68.0, 1), ("B", 66.67, 2), ("C", None, None)]),
    # 55.56% + 50 points × A's two individual prizes; 150% for B, no prize
    ("points", [("A", 155.56, 1), ("B", 150.0, 2), ("C", None, None)]),
])
def test_each_measure(tree, measure, expected):
    set_measure(tree.contest, measure, per_prize=50)
    tier = PrizeTier.create(contest=tree.contest, round=tree.round, position=1, name="Giải Nhất", count=2)
    for name in ("u1", "u2"):
        Award.create(contest=tree.contest, round=tree.round, tier=tier, user=tree.users[name], rank=1)
    result = collective.standings(tree.contest, None, NOW)
    assert [(s.row.code, s.value, s.rank) for s in result.standings] == expected
    assert result.measure == measure and not result.ties


def test_points_average_the_rate_over_the_rounds_held(tree, make_round, make_attempt):
    set_measure(tree.contest, "points", per_prize=5)
    two = make_round(contest=tree.contest)
    make_attempt(two, tree.users["u1"], 10)
    make_round(contest=tree.contest)  # not held yet: not in the average
    result = collective.standings(tree.contest, None, NOW)
    by = {s.row.code: s for s in result.standings}
    assert result.rounds_held == 2
    assert by["A"].round_rates == pytest.approx([500 / 9, 100 / 9]) and by["A"].value == pytest.approx(33.33)
    assert by["B"].round_rates == pytest.approx([150, 0]) and by["B"].value == 75


def test_a_round_uses_its_own_numbers(tree, make_round, make_attempt):
    set_measure(tree.contest, "participants")
    two = make_round(contest=tree.contest)
    make_attempt(two, tree.users["u5"], 10)
    make_attempt(two, tree.users["u6"], 10)
    tiers(tree.contest, 1, round_=two)
    with pytest.raises(Conflict):
        collective.award(tree.contest, two, None, NOW)  # not confirmed yet
    confirm(two)
    result = collective.award(tree.contest, reload(two), None, NOW)
    assert table(result)[0] == ("B", 2, 1, False, "Giải Nhất", False)
    assert [s.value for s in result.standings[1:]] == [None, None]  # A and C: nobody in this round
    award = Award.get(Award.unit == tree.B.id)
    assert award.round_id == two.id and award.user_id is None and not award.is_manual and award.rank == 1


def test_awarding_writes_units_and_is_logged(tree, make_user):
    set_measure(tree.contest, "participants")
    first, second, _third = tiers(tree.contest, 1, 1, 1)
    organiser = make_user(role="organiser", unit=tree.R)
    confirm(tree.round)
    result = collective.award(tree.contest, None, organiser, NOW, address="10.0.0.7")
    assert [(s.row.code, s.tier.name if s.tier else None) for s in result.standings] == \
        [("A", "Giải Nhất"), ("B", "Giải Nhì"), ("C", None)]
    got = {(a.unit_id, a.tier_id, a.rank, a.user_id, a.is_manual, a.round_id) for a in Award.select()}
    assert got == {(tree.A.id, first.id, 1, None, False, None), (tree.B.id, second.id, 2, None, False, None)}
    log = AuditLog.get(AuditLog.action == "contest.collective_awarded")
    details = json.loads(log.details)
    assert log.actor_id == organiser.id and log.address == "10.0.0.7"
    assert details["measure"] == "participants" and details["awarded"][0][:2] == ["A", "Giải Nhất"]
    assert [a.tier.name for a in result.standings[0].awards] == ["Giải Nhất"]


def test_awarding_again_replaces_the_automatic_awards_and_keeps_the_manual(tree, make_user, make_attempt):
    set_measure(tree.contest, "participants")
    first, second = tiers(tree.contest, 1, 1)
    confirm(tree.round)
    collective.award(tree.contest, None, None, NOW)
    # The organiser gives B its prize by hand; then three more members of B take part: B now leads.
    Award.delete().where(Award.unit == tree.B.id).execute()
    manual = Award.create(contest=tree.contest, tier=second, unit=tree.B, is_manual=True,
                          reason="Quyết định của Ban tổ chức")
    for _ in range(3):
        make_attempt(tree.round, make_user(unit=tree.B1), 10)
    confirm(tree.round)
    result = collective.award(tree.contest, None, None, NOW + dt.timedelta(minutes=5))
    # B keeps its manual prize (its place is taken from Giải Nhì) and gets no automatic one besides;
    # A, second by the measure, gets the place left: Giải Nhất, as for people.
    assert [(s.row.code, s.rank, s.tier.name if s.tier else None) for s in result.standings[:2]] == \
        [("B", 1, None), ("A", 2, "Giải Nhất")]
    awards = {(a.unit_id, a.tier_id, a.is_manual) for a in Award.select()}
    assert awards == {(tree.B.id, second.id, True), (tree.A.id, first.id, False)}
    assert Award.get_by_id(manual.id).reason == "Quyết định của Ban tổ chức"
    assert [a.is_manual for a in result.standings[0].awards] == [True]
    assert Award.select().where(Award.unit == tree.A.id).count() == 1  # replaced, not added


def test_equal_measures_share_the_rank_and_a_group_that_does_not_fit_moves_on(tree, make_user, make_attempt):
    set_measure(tree.contest, "participants")
    for _ in range(2):
        make_attempt(tree.round, make_user(unit=tree.B1), 10)  # B: 5 participants, as many as A
    first, second = tiers(tree.contest, 1, 2)
    confirm(tree.round)
    result = collective.award(tree.contest, None, None, NOW)
    # Giải Nhất has one place for two equal units: neither gets it; both go on to Giải Nhì, flagged.
    assert table(result)[:2] == [("A", 5, 1, True, "Giải Nhì", True), ("B", 5, 1, True, "Giải Nhì", True)]
    decision = result.standings[0].decisions[0]
    assert (decision.tier.name, decision.remaining, decision.rank) == ("Giải Nhất", 1, 1)
    assert {a.tier_id for a in Award.select()} == {second.id} and Award.select().count() == 2
    PrizeTier.update(count=2).where(PrizeTier.id == first.id).execute()
    result = collective.award(tree.contest, None, None, NOW)
    assert table(result)[:2] == [("A", 5, 1, True, "Giải Nhất", False), ("B", 5, 1, True, "Giải Nhất", False)]


def test_published_results_are_not_awarded_again(tree):
    tiers(tree.contest, 1)
    confirm(tree.round)
    tree.contest.results_published_at = NOW
    tree.contest.save()
    with pytest.raises(Conflict):
        collective.award(tree.contest, None, None, NOW)


def test_nothing_to_award(tree, make_contest, make_unit, make_round):
    with pytest.raises(Conflict):
        collective.award(tree.contest, None, None, NOW)  # the round is not confirmed
    confirm(tree.round)
    with pytest.raises(DomainError):
        collective.award(tree.contest, None, None, NOW)  # no collective tier
    root = make_unit("E", "Đảng bộ chưa có ai dự thi", "committee")
    make_unit(parent=root)
    empty = make_contest(owner_unit=root)
    Round.update(confirmed_at=NOW).where(Round.id == make_round(contest=empty).id).execute()
    tiers(empty, 1)
    with pytest.raises(DomainError):
        collective.award(empty, None, None, NOW)  # no unit has a participant


def test_a_prize_given_or_withdrawn_by_hand_stays(tree, make_user):
    set_measure(tree.contest, "participants")
    first, second = tiers(tree.contest, 1, 1)
    organiser = make_user(role="organiser", unit=tree.R)
    with pytest.raises(Conflict):
        collective.adjust(organiser, tree.contest, None, tree.C, second, "Đơn vị làm tốt công tác tuyên truyền", NOW)
    confirm(tree.round)
    collective.award(tree.contest, None, organiser, NOW)
    with pytest.raises(DomainError):
        collective.adjust(organiser, tree.contest, None, tree.C, second, "  ", NOW)  # no reason
    with pytest.raises(DomainError):
        collective.adjust(organiser, tree.contest, None, tree.A1, second, "Lý do", NOW)  # not directly under R
    individual = PrizeTier.create(contest=tree.contest, position=1, name="Giải Nhất cá nhân", count=1)
    with pytest.raises(DomainError):
        collective.adjust(organiser, tree.contest, None, tree.C, individual, "Lý do", NOW)
    # C, which does not compete, is given Giải Nhì by hand; B's automatic Giải Nhì is withdrawn by hand.
    collective.adjust(organiser, tree.contest, None, tree.C, second, "Đơn vị làm tốt công tác tuyên truyền", NOW)
    withdrawn = collective.adjust(organiser, tree.contest, None, tree.B, None, "Số liệu khai báo chưa chính xác", NOW)
    assert withdrawn.tier_id is None and withdrawn.is_manual
    result = collective.award(tree.contest, None, organiser, NOW)
    got = {(a.unit_id, a.tier_id, a.is_manual) for a in Award.select()}
    assert got == {(tree.A.id, first.id, False), (tree.C.id, second.id, True), (tree.B.id, None, True)}
    by = {s.row.code: s for s in result.standings}
    assert by["B"].tier is None and by["B"].has_manual_award and by["C"].awards[0].reason.startswith("Đơn vị")
    log = AuditLog.select().where(AuditLog.action == "contest.collective_adjusted").order_by(AuditLog.id)
    assert [json.loads(e.details)["after"] for e in log] == ["Giải Nhì", None]
    assert json.loads(log[1].details)["before"] == "Giải Nhì"


# -- the rule, as pure functions -------------------------------------------------------------------

def tier(count, max_share=None, name=None):
    return types.SimpleNamespace(id=name, count=count, max_share=max_share, name=name)


def given(values, tiers_, taken=None):
    ranked = collective.rank_values(list(values.items()))
    return {key: (t.name if t else None, [d.tier.name for d in decisions])
            for key, (t, decisions) in collective.allocate(ranked, tiers_, taken=taken).items()}


@pytest.mark.parametrize("tiers_, expected", [
    # a group of equals that fits in a tier shares it
    ([tier(1, name="I"), tier(2, name="II"), tier(1, name="III")],
     {"a": ("I", []), "b": ("II", []), "c": ("II", []), "d": ("III", [])}),
    # a group that does not fit in what is left of a tier gets none of it and moves on, whole, to the next
    ([tier(2, name="I"), tier(2, name="II")],
     {"a": ("I", []), "b": ("II", ["I"]), "c": ("II", ["I"]), "d": (None, [])}),
    # … until the tiers run out
    ([tier(2, name="I")], {"a": ("I", []), "b": (None, ["I"]), "c": (None, ["I"]), "d": (None, [])}),
    # at most 50% of the 4 competing units: the tier has 2 places, not 3
    ([tier(3, max_share=50, name="I"), tier(1, name="II")],
     {"a": ("I", []), "b": (None, ["I", "II"]), "c": (None, ["I", "II"]), "d": (None, [])}),
    # an empty tier takes no place
    ([tier(0, name="I"), tier(1, name="II")], {"a": ("II", []), "b": (None, []), "c": (None, []), "d": (None, [])}),
])
def test_the_places_of_the_tiers(tiers_, expected):
    assert given({"a": 10, "b": 9, "c": 9, "d": 5}, tiers_) == expected


def test_places_given_by_hand_are_taken_from_their_tier():
    assert given({"a": 10, "b": 9}, [tier(1, name="I"), tier(1, name="II")], taken={"I": 1}) == \
        {"a": ("II", []), "b": (None, [])}


def test_ranks_are_shared():
    assert collective.rank_values([("x", 1), ("y", 3), ("z", 3), ("w", 2)]) == [
        ("y", 3, 1, True), ("z", 3, 1, True), ("w", 2, 3, False), ("x", 1, 4, False)]
    assert collective.rank_values([]) == []


def test_measures_need_participants_and_a_denominator():
    row = types.SimpleNamespace(participants=0, rate=None, average=None, prizes=0)
    assert all(collective.measure(m, row) is None for m in collective.MEASURE_LABELS)
    row = types.SimpleNamespace(participants=3, rate=None, average=50.0, prizes=1)
    assert collective.measure("rate", row) is None and collective.measure("points", row, 5, [None]) is None
    assert collective.measure("average", row) == 50 and collective.measure("points", row, 5, [40, 60]) == 55
