"""Contest set-up in the domain: checks naming the field, rounds as quizzes, edits once taken, prize tiers, banner."""

import dataclasses
import datetime as dt
import json
import os

import pytest
from flask_babel import gettext

from portal.accounts.models import AuditLog
from portal.contests import setup
from portal.contests.models import Award, Contest, PrizeTier, Round
from portal.errors import DomainError
from portal.quiz.models import Option, Question, Quiz, QuizAudience, Topic
from portal.quiz.setup import DrawInput
from tests.conftest import reload
from tests.contests.conftest import NOW

START = NOW - dt.timedelta(days=1)
END = NOW + dt.timedelta(days=60)
MONDAY = dt.datetime(2025, 5, 19, 3, 0)  # Monday 10:00 in Vietnam
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00" + b"\0" * 40
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\0" * 40 + b"\xff\xd9"


@pytest.fixture
def organiser(make_user, committee):
    return make_user(role="organiser", scope=committee, unit=committee)


@pytest.fixture
def topic(committee):
    """A topic of the committee with 20 single-choice questions."""
    topic = Topic.create(code="CD-HCM", title="Học tập và làm theo Bác", year=2025, owner_unit=committee)
    for i in range(20):
        text = f"Câu hỏi {i + 1}?"
        q = Question.create(topic=topic, kind="single", text=text, normalised_text=text.casefold())
        Option.create(question=q, position=0, text="Đúng", weight=100)
        Option.create(question=q, position=1, text="Sai", weight=0)
    return topic


def contest_input(committee, **fields):
    values = {"title": "Hội thi tìm hiểu tư tưởng Hồ Chí Minh", "owner_unit": committee, "starts_at": START,
              "ends_at": END, "rules_text": "Điều 1. Đối tượng dự thi.\n\nĐiều 2. Giải thưởng."}
    values.update(fields)
    return setup.ContestInput(**values)


def round_input(topic, **fields):
    values = {"title": "Tuần 1", "opens_at": MONDAY, "closes_at": MONDAY + dt.timedelta(days=7, hours=-1),
              "draws": [DrawInput(topic, 10)], "attempts_allowed": 3, "grading_method": "highest",
              "time_limit_minutes": 15}
    values.update(fields)
    return setup.RoundInput(**values)


@pytest.fixture
def contest(organiser, committee):
    return setup.create_contest(organiser, contest_input(committee))


def audit_actions():
    return [a.action for a in AuditLog.select().order_by(AuditLog.id)]


# -- the contest ---------------------------------------------------------------------------------

def test_a_contest_is_created_unpublished_with_the_usual_prizes(organiser, committee, cell):
    contest = setup.create_contest(organiser, contest_input(committee, units=[cell], is_public=True,
                                                              ranking_rules=["score", "time"]),
                                   address="10.0.0.1")
    contest = reload(contest)
    assert contest.title == "Hội thi tìm hiểu tư tưởng Hồ Chí Minh" and not contest.is_published
    assert contest.is_public and contest.ranking_rules == "score,time" and contest.created_by_id == organiser.id
    assert [u.id for u in setup.eligible_units(contest)] == [cell.id]
    assert [(t.name, t.count) for t in setup.tiers(contest)] == [
        ("Giải Nhất", 1), ("Giải Nhì", 2), ("Giải Ba", 3), ("Giải Khuyến khích", 5)]
    entry = AuditLog.get(AuditLog.action == "contest.create")
    assert entry.address == "10.0.0.1" and json.loads(entry.details)["units"] == cell.code


@pytest.mark.parametrize("fields, field, label", [
    ({"title": "   "}, "title", "Contest title"),
    ({"owner_unit": None}, "owner_unit", "Organising unit"),
    ({"starts_at": None}, "starts_at", "Starts"),
    ({"ends_at": None}, "ends_at", "Ends"),
    ({"ends_at": START}, "ends_at", "Ends"),
    ({"ranking_rules": ["score", "luck"]}, "ranking_rules", "Ranking rules"),
    ({"aggregate": "median"}, "aggregate", "Contest-wide ranking"),
    ({"collective_measure": "votes"}, "collective_measure", "Collective prizes"),
    ({"collective_points_per_prize": "-1"}, "collective_points_per_prize", "Points per individual prize won"),
    ({"rules_text": "x" * 20001}, "rules_text", "Rules"),
])
def test_a_bad_contest_is_refused_naming_the_field(organiser, committee, fields, field, label):
    with pytest.raises(DomainError) as exc:
        setup.create_contest(organiser, contest_input(committee, **fields))
    assert exc.value.field == field
    assert str(exc.value).startswith(gettext(label) + ":")
    assert Contest.select().count() == 0


def test_the_units_must_be_the_organisers_own(organiser, committee, make_unit):
    other = make_unit("TK", "Đảng bộ huyện Thanh Khê", "committee")
    with pytest.raises(DomainError) as exc:
        setup.create_contest(organiser, contest_input(other))
    assert exc.value.field == "owner_unit"
    with pytest.raises(DomainError) as exc:
        setup.create_contest(organiser, contest_input(committee, units=[make_unit(parent=other)]))
    assert exc.value.field == "units" and "Thanh Khê" not in str(exc.value)  # names the unit, not its parent


def test_the_score_always_ranks_first(organiser, committee):
    contest = setup.create_contest(organiser, contest_input(committee, ranking_rules="time,prediction,time"))
    assert reload(contest).ranking_rules == "score,time,prediction"


def test_publishing_opens_the_rounds_and_unpublishing_hides_them(organiser, contest, topic):
    first = setup.add_round(organiser, contest, round_input(topic))
    assert not reload(first.quiz).is_published  # a draft contest's rounds are drafts
    setup.publish_contest(organiser, contest, now=NOW)
    assert reload(contest).is_published and reload(first.quiz).is_published
    second = setup.add_round(organiser, contest, round_input(topic, title=""), now=NOW)
    assert reload(second.quiz).is_published and second.quiz.title == "Vòng 2"  # opens at once, named by number
    setup.unpublish_contest(organiser, contest)
    assert not reload(contest).is_published
    assert not any(reload(r.quiz).is_published for r in (first, second))
    assert {"contest.publish", "contest.unpublish", "round.create"} <= set(audit_actions())


def test_changing_the_eligible_units_re_aims_the_rounds(organiser, contest, topic, committee, cell):
    round_ = setup.add_round(organiser, contest, round_input(topic))
    assert QuizAudience.select().where(QuizAudience.quiz == round_.quiz_id).count() == 0  # the whole committee
    changes = setup.update_contest(organiser, contest, contest_input(committee, units=[cell]))
    assert changes["units"] == ["", cell.code]
    assert [a.unit_id for a in QuizAudience.select().where(QuizAudience.quiz == round_.quiz_id)] == [cell.id]
    assert setup.update_contest(organiser, reload(contest), contest_input(committee, units=[cell])) == {}


def test_the_dates_must_keep_the_rounds_inside(organiser, contest, topic, committee):
    setup.add_round(organiser, contest, round_input(topic))
    with pytest.raises(DomainError) as exc:
        setup.update_contest(organiser, contest, contest_input(committee, starts_at=MONDAY + dt.timedelta(hours=1)))
    assert exc.value.field == "starts_at" and "Tuần 1" in str(exc.value)
    with pytest.raises(DomainError) as exc:
        setup.update_contest(organiser, contest, contest_input(committee, ends_at=MONDAY + dt.timedelta(days=2)))
    assert exc.value.field == "ends_at"


@pytest.mark.parametrize("fields, field", [
    ({"ranking_rules": ["score", "time"]}, "ranking_rules"),
    ({"aggregate": "average"}, "aggregate"),
    ({"owner_unit": "cell"}, "owner_unit"),
])
def test_once_members_took_part_the_ranking_and_owner_stay(organiser, contest, topic, committee, cell, make_user,
                                                           make_attempt, fields, field):
    round_ = setup.add_round(organiser, contest, round_input(topic))
    make_attempt(round_, make_user(unit=cell), 8)
    if fields.get("owner_unit") == "cell":
        fields = {"owner_unit": cell}
    with pytest.raises(DomainError) as exc:
        setup.update_contest(organiser, contest, contest_input(committee, **fields))
    assert exc.value.field == field
    assert setup.update_contest(organiser, contest, contest_input(committee, title="Hội thi (sửa tên)"))


# -- rounds --------------------------------------------------------------------------------------

def test_a_round_is_an_unlisted_quiz_for_the_contests_units(organiser, committee, cell, topic):
    contest = setup.create_contest(organiser, contest_input(committee, units=[cell]))
    round_ = setup.add_round(organiser, contest, round_input(topic, grading_method="last", prediction="perfect"),
                             address="10.0.0.2")
    quiz = reload(round_.quiz)
    assert round_.number == 1 and reload(round_).prediction == "perfect"
    assert quiz.title == "Tuần 1" and quiz.owner_unit_id == committee.id and not quiz.is_listed
    assert quiz.prediction_prompt == setup.PREDICTION_PROMPTS["perfect"]
    assert quiz.prediction_prompt.startswith("Theo đồng chí, có bao nhiêu người trả lời đúng tất cả")
    assert quiz.grading_method == "last" and quiz.attempts_allowed == 3 and quiz.time_limit_seconds == 900
    assert (quiz.opens_at, quiz.closes_at) == (MONDAY, MONDAY + dt.timedelta(days=7, hours=-1))
    assert quiz.review_after_submit == "score" and quiz.review_after_close == "answers"
    assert [a.unit_id for a in QuizAudience.select().where(QuizAudience.quiz == quiz)] == [cell.id]
    assert [(t.name, t.count) for t in setup.tiers(contest, round_)][-1] == ("Giải Khuyến khích", 5)
    assert audit_actions()[-2:] == ["quiz.create", "round.create"]
    second = setup.add_round(organiser, contest, round_input(topic, prediction=None, grading_method="first"))
    assert second.number == 2 and reload(second.quiz).prediction_prompt is None
    assert reload(second.quiz).grading_method == "first"


@pytest.mark.parametrize("fields, field", [
    ({"draws": []}, "draws"),
    ({"draws": [DrawInput(None, 5)]}, "draws"),
    ("too many", "draws"),
    ({"opens_at": None}, "opens_at"),
    ({"closes_at": None}, "closes_at"),
    ({"closes_at": MONDAY}, "closes_at"),
    ({"opens_at": START - dt.timedelta(hours=1)}, "opens_at"),
    ({"closes_at": END + dt.timedelta(hours=1)}, "closes_at"),
    ({"prediction": "weather"}, "prediction"),
    ({"grading_method": "average"}, "grading_method"),
    ({"attempts_allowed": "-2"}, "attempts_allowed"),
    ({"time_limit_minutes": "0"}, "time_limit_minutes"),
    ({"title": "V" * 256}, "title"),
])
def test_a_bad_round_is_refused_naming_the_field(organiser, contest, topic, fields, field):
    if fields == "too many":
        fields = {"draws": [DrawInput(topic, 21)]}
    with pytest.raises(DomainError) as exc:
        setup.add_round(organiser, contest, round_input(topic, **fields))
    assert exc.value.field == field and str(exc.value)
    assert Round.select().count() == 0 and Quiz.select().count() == 0


def test_before_anyone_takes_it_everything_may_change(organiser, contest, topic):
    round_ = setup.add_round(organiser, contest, round_input(topic))
    changes = setup.update_round(organiser, round_, round_input(topic, draws=[DrawInput(topic, 12)],
                                                                 prediction="participants", grading_method="last",
                                                                 attempts_allowed=1))
    assert set(changes) == {"draws", "prediction", "grading_method", "attempts_allowed"}
    quiz = reload(round_.quiz)
    assert quiz.grading_method == "last" and quiz.attempts_allowed == 1
    assert quiz.prediction_prompt == setup.PREDICTION_PROMPTS["participants"]
    assert reload(round_).prediction == "participants"
    assert audit_actions()[-2:] == ["quiz.update", "round.update"]
    assert setup.update_round(organiser, reload(round_), round_input(
        topic, draws=[DrawInput(topic, 12)], prediction="participants", grading_method="last",
        attempts_allowed=1)) == {}


@pytest.mark.parametrize("fields, field", [
    ("more questions", "draws"),
    ({"grading_method": "last"}, "grading_method"),
    ({"prediction": "participants"}, "prediction"),
    ({"prediction": None}, "prediction"),
    ({"attempts_allowed": 2}, "attempts_allowed"),
    ({"time_limit_minutes": 20}, "time_limit_minutes"),
    ({"opens_at": MONDAY + dt.timedelta(hours=1)}, "opens_at"),
    ({"closes_at": MONDAY + dt.timedelta(days=3)}, "closes_at"),
])
def test_once_taken_what_grades_or_ranks_is_refused(organiser, contest, topic, make_user, cell, make_attempt,
                                                    fields, field):
    round_ = setup.add_round(organiser, contest, round_input(topic))
    make_attempt(round_, make_user(unit=cell), 8)
    if fields == "more questions":
        fields = {"draws": [DrawInput(topic, 11)]}
    with pytest.raises(DomainError) as exc:
        setup.update_round(organiser, round_, round_input(topic, **fields))
    assert exc.value.field == field and str(exc.value)
    assert reload(round_.quiz).grading_method == "highest" and reload(round_).prediction == "perfect"


def test_once_taken_the_wording_the_closing_and_more_attempts_may_change(organiser, contest, topic, make_user, cell,
                                                                         make_attempt):
    round_ = setup.add_round(organiser, contest, round_input(topic))
    make_attempt(round_, make_user(unit=cell), 8)
    later = MONDAY + dt.timedelta(days=8)
    changes = setup.update_round(organiser, round_, round_input(topic, title="Tuần thứ nhất", description="Mới",
                                                                 closes_at=later, attempts_allowed=5))
    assert set(changes) == {"title", "description", "closes_at", "attempts_allowed"}
    quiz = reload(round_.quiz)
    assert (quiz.title, quiz.closes_at, quiz.attempts_allowed) == ("Tuần thứ nhất", later, 5)
    assert setup.update_round(organiser, reload(round_), round_input(
        topic, title="Tuần thứ nhất", description="Mới", closes_at=later, attempts_allowed=0))  # unlimited: more


def test_a_confirmed_round_changes_only_its_wording(organiser, contest, topic):
    round_ = setup.add_round(organiser, contest, round_input(topic))
    Round.update(confirmed_at=NOW).where(Round.id == round_.id).execute()
    round_ = reload(round_)
    round_.contest = contest
    with pytest.raises(DomainError) as exc:
        setup.update_round(organiser, round_, round_input(topic, closes_at=MONDAY + dt.timedelta(days=8)))
    assert exc.value.field == "closes_at"
    assert setup.update_round(organiser, round_, round_input(topic, title="Tuần 1 (đã chấm)"))


def test_round_states_follow_the_window(organiser, contest, topic):
    quiz = setup.add_round(organiser, contest, round_input(topic)).quiz
    assert setup.round_state(quiz, MONDAY - dt.timedelta(minutes=1)) == "scheduled"
    assert setup.round_state(quiz, MONDAY) == "open"
    assert setup.round_state(quiz, quiz.closes_at) == "closed"


# -- prize tiers ---------------------------------------------------------------------------------

def test_tiers_are_replaced_in_place_and_audited(organiser, contest, topic):
    round_ = setup.add_round(organiser, contest, round_input(topic))
    before = setup.tiers(contest, round_)
    saved = setup.set_prize_tiers(organiser, contest, round_, False,
                                  [("Giải Nhất", 2, None), ("Giải Nhì", 4, 10), ("Giải Ba", 6, None)])
    assert [(t.name, t.count, t.max_share) for t in saved] == [("Giải Nhất", 2, None), ("Giải Nhì", 4, 10),
                                                               ("Giải Ba", 6, None)]
    assert [t.id for t in saved] == [t.id for t in before[:3]]  # awards stay attached to their tier
    assert len(setup.tiers(contest)) == 4  # the contest-wide tiers are apart
    collective = setup.set_prize_tiers(organiser, contest, None, True, [("Giải Nhất", 1, None)])
    assert [t.collective for t in collective] == [True] and len(setup.tiers(contest, None, False)) == 4
    entry = AuditLog.select().where(AuditLog.action == "prizes.update").order_by(AuditLog.id).first()
    assert json.loads(entry.details)["tiers"][1][1] == ["Giải Nhì", 4, 10]


@pytest.mark.parametrize("rows", [
    [("", 1, None)],
    [("Giải Nhất", 0, None)],
    [("Giải Nhất", "một", None)],
    [("Giải Nhất", 1, 101)],
    [("Giải Nhất", 1, None), ("giải nhất", 2, None)],
    [("G" * 65, 1, None)],
    [(f"Giải {i}", 1, None) for i in range(11)],
])
def test_bad_tiers_are_refused(organiser, contest, rows):
    with pytest.raises(DomainError) as exc:
        setup.set_prize_tiers(organiser, contest, None, False, rows)
    assert exc.value.field == "tiers" and str(exc.value)
    assert len(setup.tiers(contest)) == 4


def test_tiers_of_a_confirmed_round_or_awarded_tiers_stay(organiser, contest, topic, make_user, cell):
    round_ = setup.add_round(organiser, contest, round_input(topic))
    last = setup.tiers(contest, round_)[-1]
    Award.create(contest=contest, round=round_, tier=last, user=make_user(unit=cell), rank=7)
    with pytest.raises(DomainError) as exc:
        setup.set_prize_tiers(organiser, contest, round_, False, [("Giải Nhất", 1, None)])
    assert last.name in str(exc.value)
    Round.update(confirmed_at=NOW).where(Round.id == round_.id).execute()
    with pytest.raises(DomainError):
        setup.set_prize_tiers(organiser, contest, reload(round_), False, [("Giải Nhất", 9, None)])
    Contest.update(results_published_at=NOW).where(Contest.id == contest.id).execute()
    with pytest.raises(DomainError):
        setup.set_prize_tiers(organiser, reload(contest), None, False, [("Giải Nhất", 9, None)])
    assert PrizeTier.select().where(PrizeTier.count == 9).count() == 0


# -- the banner ----------------------------------------------------------------------------------

def test_a_banner_is_recognised_by_its_content(organiser, contest, tmp_path):
    uploads = str(tmp_path / "uploads")
    assert setup.save_banner(organiser, contest, PNG, uploads) == "banner.png"
    path = setup.banner_path(uploads, reload(contest))
    assert path == os.path.join(uploads, "contests", str(contest.id), "banner.png")
    with open(path, "rb") as fh:
        assert fh.read() == PNG
    setup.save_banner(organiser, contest, JPEG, uploads)
    assert reload(contest).banner == "banner.jpg" and not os.path.exists(path)  # the old one is gone
    for data in (b"<svg onload=alert(1)>", b"GIF89a" + b"\0" * 20, b"\x89PNG\r\n\x1a\n" + b"\0" * 20, b""):
        with pytest.raises(DomainError) as exc:
            setup.save_banner(organiser, contest, data, uploads)
        assert exc.value.field == "banner"
    with pytest.raises(DomainError):
        setup.save_banner(organiser, contest, PNG + b"\0" * setup.BANNER_MAX_BYTES, uploads)
    assert reload(contest).banner == "banner.jpg"
    setup.remove_banner(organiser, contest, uploads)
    assert reload(contest).banner == "" and setup.banner_path(uploads, reload(contest)) is None
    assert audit_actions().count("contest.banner") == 3


def test_a_tampered_banner_name_is_never_served(contest, tmp_path):
    contest.banner = "../../secret_key"
    assert setup.banner_path(str(tmp_path), contest) is None


# -- what contestants see ------------------------------------------------------------------------

def test_members_see_their_units_contests_and_public_ones(organiser, committee, cell, make_unit, make_user):
    other_cell = make_unit(parent=committee)
    narrowed = setup.create_contest(organiser, contest_input(committee, title="Cho chi bộ An Sơn", units=[cell]))
    whole = setup.create_contest(organiser, contest_input(committee, title="Cho cả huyện"))
    public = setup.create_contest(organiser, contest_input(committee, title="Công khai", units=[cell],
                                                           is_public=True))
    draft = setup.create_contest(organiser, contest_input(committee, title="Bản nháp"))
    for c in (narrowed, whole, public):
        setup.publish_contest(organiser, c, now=NOW)
    inside, outside = make_user(unit=cell), make_user(unit=other_cell)
    assert {c.title for c in setup.visible_contests(inside, NOW)} == {"Cho chi bộ An Sơn", "Cho cả huyện",
                                                                       "Công khai"}
    assert {c.title for c in setup.visible_contests(outside, NOW)} == {"Cho cả huyện", "Công khai"}
    assert {c.title for c in setup.visible_contests(outside, NOW, members_only=True)} == {"Cho cả huyện"}
    assert [c.title for c in setup.visible_contests(None, NOW)] == ["Công khai"]
    assert draft.id not in {c.id for c in setup.visible_contests(inside, NOW)}


def test_a_contestants_own_result_per_round(organiser, contest, topic, make_user, cell, make_attempt):
    first = setup.add_round(organiser, contest, round_input(topic, grading_method="last"))
    second = setup.add_round(organiser, contest, round_input(topic, title="Tuần 2"))
    member = make_user(unit=cell)
    make_attempt(first, member, 9)
    make_attempt(first, member, 6)
    make_attempt(second, member, 0, state="in_progress")
    mine = setup.my_rounds(member, setup.rounds_of(contest))
    assert (mine[first.id].result.score, mine[first.id].attempts) == (6, 2)  # the last attempt counts
    assert mine[second.id].result is None and mine[second.id].in_progress
    assert setup.my_rounds(None, setup.rounds_of(contest)) == {}


def test_inputs_round_trip(organiser, contest, topic, committee):
    round_ = setup.add_round(organiser, contest, round_input(topic))
    stored = setup.RoundInput.of(reload(round_))
    assert dataclasses.replace(stored, draws=[]) == dataclasses.replace(
        round_input(topic, review_after_submit="score"), draws=[], description="")
    assert setup.ContestInput.of(reload(contest)).ranking_rules == ("score", "prediction", "time", "submitted")
