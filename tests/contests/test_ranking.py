"""Ranking rules: the pure specification, and the database ranking that must agree with it."""

import datetime as dt
import random

import pytest

from portal.contests import ranking
from portal.contests.models import ContestEntry, Registration, RoundEntry
from portal.contests.ranking import Entry, rank_entries
from portal.errors import Conflict
from tests.conftest import reload
from tests.contests.conftest import NOW

T0 = dt.datetime(2025, 5, 19, 3, 0)


def e(user, score, prediction=None, seconds=300, minute=0, max_score=10):
    return Entry(user_id=user, score=score, max_score=max_score, prediction=prediction,
                 time_used_ms=seconds * 1000, finished_at=T0 + dt.timedelta(minutes=minute))


def order(entries, rules=ranking.DEFAULT_RULES, truth=None):
    return [(entry.user_id, rank, tied) for entry, rank, tied in rank_entries(entries, rules, truth)]


# -- the rule, as a pure function ----------------------------------------------------------------

@pytest.mark.parametrize("entries, truth, expected", [
    # the score decides
    ([e(1, 7), e(2, 9), e(3, 8)], 5, [(2, 1, False), (3, 2, False), (1, 3, False)]),
    # equal scores: the prediction closest to the truth wins, whichever side it is on
    ([e(1, 10, 90), e(2, 10, 103), e(3, 10, 100)], 100, [(3, 1, False), (2, 2, False), (1, 3, False)]),
    # no prediction ranks after every prediction, however wild
    ([e(1, 10, None), e(2, 10, 10 ** 9)], 100, [(2, 1, False), (1, 2, False)]),
    # equal score and distance: the shorter time
    ([e(1, 10, 95, seconds=200), e(2, 10, 105, seconds=150)], 100, [(2, 1, False), (1, 2, False)]),
    # equal up to the time: the earlier submission
    ([e(1, 10, 95, 150, minute=5), e(2, 10, 105, 150, minute=2)], 100, [(2, 1, False), (1, 2, False)]),
    # equal on every key: a shared rank, flagged; the next rank skips ("1, 1, 3")
    ([e(1, 10, 95, 150, 2), e(2, 10, 105, 150, 2), e(3, 9)], 100, [(1, 1, True), (2, 1, True), (3, 3, False)]),
    # a score is compared as a share of its maximum
    ([e(1, 18, max_score=20), e(2, 9.5, max_score=10)], None, [(2, 1, False), (1, 2, False)]),
])
def test_each_key_decides_in_turn(entries, truth, expected):
    assert order(entries, truth=truth) == expected


def test_the_organiser_chooses_and_orders_the_keys():
    entries = [e(1, 10, 100, seconds=500, minute=1), e(2, 10, 50, seconds=100, minute=3)]
    assert order(entries, ("score", "prediction", "time"), truth=100)[0][0] == 1
    assert order(entries, ("score", "time", "prediction"), truth=100)[0][0] == 2
    assert order(entries, ("score",), truth=100) == [(1, 1, True), (2, 1, True)]  # only the score: a tie


def test_without_a_prediction_question_the_key_is_skipped():
    entries = [e(1, 10, 100, seconds=300), e(2, 10, None, seconds=200)]
    assert order(entries, truth=None)[0][0] == 2


@pytest.mark.parametrize("rules, expected", [
    ("time,score", ("score", "time")), ("prediction,bogus,prediction", ("score", "prediction")), ("", ("score",)),
    (["submitted", "time"], ("score", "submitted", "time")),
])
def test_rules_are_cleaned_with_the_score_first(rules, expected):
    assert ranking.clean_rules(rules) == expected


@pytest.mark.parametrize("kind, expected", [("perfect", 2), ("participants", 4), (None, None)])
def test_the_truth_of_the_prediction(kind, expected):
    entries = [e(1, 10), e(2, 10), e(3, 9), e(4, 0)]
    assert ranking.prediction_truth(kind, entries) == expected


def test_no_entries_rank_to_nothing():
    assert rank_entries([]) == [] and ranking.prediction_truth("perfect", []) == 0


# -- in the database -----------------------------------------------------------------------------

def entries_of(round_):
    return [(x.user_id, x.rank, x.tied) for x in RoundEntry.select().where(RoundEntry.round == round_)
            .order_by(RoundEntry.rank, RoundEntry.user)]


def test_the_counted_attempt_is_the_best_then_the_earliest(make_round, make_user, cell, make_attempt):
    round_ = make_round()
    a, b = make_user(unit=cell), make_user(unit=cell)
    make_attempt(round_, a, 6, at=NOW)
    best = make_attempt(round_, a, 9, seconds=400, at=NOW + dt.timedelta(hours=1))
    make_attempt(round_, a, 9, seconds=100, at=NOW + dt.timedelta(hours=2))  # as good, but later
    make_attempt(round_, b, 8)
    make_attempt(round_, b, 10, state="in_progress")  # not finished: not counted
    assert ranking.rank_round(round_, NOW) == 2
    entry = RoundEntry.get(RoundEntry.user == a)
    assert (entry.attempt_id, entry.score, entry.attempts, entry.rank) == (best.id, 9, 3, 1)
    assert RoundEntry.get(RoundEntry.user == b).attempts == 1


@pytest.mark.parametrize("method, score", [("first", 6), ("last", 7), ("highest", 9)])
def test_which_attempt_counts_follows_the_round(make_round, make_user, cell, make_attempt, method, score):
    round_ = make_round(grading_method=method)
    user = make_user(unit=cell)
    for s in (6, 9, 7):
        make_attempt(round_, user, s)
    ranking.rank_round(round_, NOW)
    assert RoundEntry.get(RoundEntry.user == user).score == score


def test_the_truth_and_distances_are_computed_and_ties_flagged(make_round, make_user, cell, make_attempt):
    round_ = make_round(prediction="perfect")
    users = [make_user(unit=cell) for _ in range(5)]
    make_attempt(round_, users[0], 10, prediction=3, seconds=200)
    make_attempt(round_, users[1], 10, prediction=1, seconds=200)
    make_attempt(round_, users[2], 10, prediction=7, seconds=200)  # as far from the truth (4) as users[1]
    make_attempt(round_, users[3], 10, prediction=None)
    make_attempt(round_, users[4], 7, prediction=4)
    ranking.rank_round(round_, NOW)
    assert reload(round_).prediction_truth == 4
    assert entries_of(round_) == [(users[0].id, 1, False)] + sorted([(users[1].id, 2, True), (users[2].id, 2, True)]) \
        + [(users[3].id, 4, False), (users[4].id, 5, False)]
    assert RoundEntry.get(RoundEntry.user == users[1]).distance == 3


def test_a_round_with_no_attempts_ranks_to_nothing(make_round):
    round_ = make_round(prediction="participants")
    assert ranking.rank_round(round_, NOW) == 0
    assert reload(round_).prediction_truth == 0 and entries_of(round_) == []


def test_the_unit_at_the_time_of_the_attempt_counts(make_round, make_user, make_unit, committee, cell,
                                                     make_attempt):
    round_ = make_round()
    user = make_user(unit=cell)
    make_attempt(round_, user, 8)
    user.unit = make_unit("HV-DL", "Chi bộ thôn Đông Lâm", parent=committee)
    user.save()
    ranking.rank_round(round_, NOW)
    assert RoundEntry.get(RoundEntry.user == user).unit_id == cell.id


def test_a_registered_visitor_counts_in_the_unit_they_chose(make_round, make_user, cell, make_attempt):
    round_ = make_round()
    visitor = make_user(unit=None)
    visitor.unit = None
    visitor.save()
    Registration.create(contest=round_.contest, user=visitor, full_name=visitor.full_name,
                        birth_date=dt.date(1990, 1, 1), gender="male", unit=cell, phone="0905123456")
    make_attempt(round_, visitor, 8, unit=None)
    ranking.rank_round(round_, NOW)
    assert RoundEntry.get(RoundEntry.user == visitor).unit_id == cell.id


def test_a_confirmed_round_is_frozen(make_round, make_user, cell, make_attempt):
    round_ = make_round()
    make_attempt(round_, make_user(unit=cell), 8)
    ranking.rank_round(round_, NOW)
    round_.confirmed_at = NOW
    round_.save()
    with pytest.raises(Conflict):
        ranking.rank_round(round_, NOW)


def test_ranking_again_updates_every_place(make_round, make_user, cell, make_attempt):
    """A live round is ranked again and again: new attempts move people, lost attempts drop them, ties clear."""
    round_ = make_round(prediction="participants")
    a, b, c = (make_user(unit=cell) for _ in range(3))
    make_attempt(round_, a, 8, seconds=200)
    make_attempt(round_, b, 8, seconds=200)
    gone = make_attempt(round_, c, 5)
    assert ranking.rank_round(round_, NOW) == 3
    assert entries_of(round_) == sorted([(a.id, 1, True), (b.id, 1, True)]) + [(c.id, 3, False)]
    better = make_attempt(round_, b, 9, at=NOW + dt.timedelta(hours=1))
    gone.delete_instance()
    assert ranking.rank_round(round_, NOW) == 2
    assert entries_of(round_) == [(b.id, 1, False), (a.id, 2, False)]
    entry = RoundEntry.get(RoundEntry.user == b)
    assert (entry.attempt_id, entry.score, entry.attempts) == (better.id, 9, 2)
    assert reload(round_).prediction_truth == 2


@pytest.mark.parametrize("seed", range(4))
def test_the_database_agrees_with_the_rule(make_round, make_contest, make_user, cell, make_attempt, seed):
    """Random rounds full of ties: the SQL ranking gives every contestant the pure rule's rank and flag."""
    rng = random.Random(seed)
    rules = [("score", "prediction", "time", "submitted"), ("score", "time"), ("score", "submitted", "prediction"),
             ("score",)][seed]
    round_ = make_round(contest=make_contest(ranking_rules=",".join(rules)), prediction="perfect")
    users = [make_user(unit=cell) for _ in range(30)]
    for user in users:
        make_attempt(round_, user, rng.choice([7, 8.5, 10, 10]), seconds=rng.choice([100, 200]),
                     prediction=rng.choice([None, 3, 9, 11, 14]), at=NOW + dt.timedelta(minutes=rng.choice([1, 2])))
    ranking.rank_round(round_, NOW)
    stored = {x.user_id: x for x in RoundEntry.select().where(RoundEntry.round == round_)}
    spec = [Entry(x.user_id, x.score, x.max_score, x.finished_at, x.time_used_ms, x.prediction)
            for x in stored.values()]
    truth = ranking.prediction_truth("perfect", spec)
    expected = {entry.user_id: (rank, tied) for entry, rank, tied in rank_entries(spec, rules, truth)}
    assert {uid: (x.rank, x.tied) for uid, x in stored.items()} == expected
    assert any(tied for _, tied in expected.values())  # the case that matters was exercised


def test_the_contest_ranking_sums_or_averages_the_rounds(make_contest, make_round, make_user, cell, make_attempt):
    contest = make_contest()
    one, two = make_round(contest=contest), make_round(contest=contest)
    a, b, c = (make_user(unit=cell) for _ in range(3))
    make_attempt(one, a, 10, seconds=100)
    make_attempt(two, a, 6, seconds=100)
    make_attempt(one, b, 9, seconds=100)
    make_attempt(two, b, 7, seconds=50)
    make_attempt(one, c, 10, seconds=100)  # one round only
    for r in (one, two):
        ranking.rank_round(r, NOW)
    ranking.rank_contest(contest, NOW)
    got = {x.user_id: (x.total, x.rounds, x.rank, x.tied) for x in ContestEntry.select()}
    assert got == {a.id: (16, 2, 2, False), b.id: (16, 2, 1, False), c.id: (10, 1, 3, False)}  # b: less time
    contest.aggregate = "average"
    contest.save()
    ranking.rank_contest(contest, NOW)
    got = {x.user_id: (x.total, x.rank) for x in ContestEntry.select()}
    assert got == {c.id: (10, 1), a.id: (8, 3), b.id: (8, 2)}
