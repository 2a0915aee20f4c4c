"""Certificates from contest results: the recipients of a round and of the contest, issuing, the CLI."""

import datetime as dt
import re

import pytest

from portal.certificates.models import Certificate
from portal.contests import certify, prizes
from portal.contests.models import Award, PrizeTier
from portal.errors import DomainError
from tests.conftest import reload
from tests.contests.conftest import NOW

LATER = NOW + dt.timedelta(days=8)  # the round has closed and its results are confirmed
PUBLIC = "http://portal.test"
BODY = "BAN THƯỜNG VỤ HUYỆN ỦY HÒA VANG"


@pytest.fixture
def units(make_unit, committee):
    commune = make_unit("HV-HN", "Đảng bộ xã Hòa Ninh", "committee", parent=committee)
    return {"commune": commune,
            "dong_lam": make_unit("HV-HN-DL", "Chi bộ thôn Đông Lâm", parent=commune),
            "an_son": make_unit("HV-HN-AS", "Chi bộ thôn An Sơn", parent=commune),
            "yte": make_unit("HV-YT", "Chi bộ Trung tâm Y tế huyện", parent=committee)}


@pytest.fixture
def people(make_user, units):
    return {"huong": make_user(full_name="Nguyễn Thị Ngọc Hưởng", unit=units["dong_lam"]),
            "y": make_user(full_name="Đặng Quỳnh Ỷ", unit=units["yte"]),
            "hang": make_user(full_name="Lê Thị Thu Hằng", unit=units["an_son"]),
            "other": make_user(full_name="Phạm Văn Dũng", unit=units["an_son"])}


def _tier(round_, position, name, count, collective=False):
    return PrizeTier.create(contest=round_.contest_id, round=round_, position=position, name=name, count=count,
                            collective=collective)


@pytest.fixture
def published_round(make_round, make_attempt, people, units):
    """Round 1, closed and published: Hưởng first, Ỷ second, Hằng third (her prize withdrawn), a unit prize."""
    round_ = make_round(closes_at=NOW + dt.timedelta(days=1), title="Tuần 1")
    _tier(round_, 1, "Giải Nhất", 1)
    _tier(round_, 2, "Giải Nhì", 1)
    _tier(round_, 3, "Giải Ba", 1)
    for user, score in ((people["huong"], 10), (people["y"], 9), (people["hang"], 8), (people["other"], 5)):
        make_attempt(round_, user, score)
    prizes.confirm_round(None, round_, LATER)
    hang = Award.get(Award.round == round_.id, Award.user == people["hang"].id)
    prizes.adjust(None, hang, None, "Vi phạm thể lệ", LATER)
    collective = _tier(round_, 1, "Giải Nhất tập thể", 1, collective=True)
    Award.create(contest=round_.contest_id, round=round_, tier=collective, unit=units["commune"])
    prizes.publish_round(None, round_, LATER)
    return reload(round_)


@pytest.fixture
def design(published_round):
    contest = published_round.contest
    return certify.save_design(None, contest, {"issuing_body": BODY}, LATER)


def test_a_round_gives_one_recipient_per_prize_and_none_for_a_withdrawn_one(published_round, people, units):
    recipients = certify.recipients_for_round(published_round)
    assert [r.name for r in recipients] == ["Nguyễn Thị Ngọc Hưởng", "Đặng Quỳnh Ỷ", "Đảng bộ xã Hòa Ninh"]
    huong, y, commune = recipients
    assert (huong.kind, huong.user.id, huong.unit) == ("merit", people["huong"].id, None)
    assert huong.unit_line == "Chi bộ thôn Đông Lâm, Đảng bộ xã Hòa Ninh"
    assert y.unit_line == "Chi bộ Trung tâm Y tế huyện, Đảng bộ huyện Hòa Vang"
    assert huong.values["giai"] == "Giải Nhất" and y.values["giai"] == "Giải Nhì"
    assert huong.values["vong"] == "Tuần 1" and huong.values["round"] == "Tuần 1"
    assert huong.values["hoi_thi"] == published_round.contest.title and huong.values["nam"] == "2025"
    assert huong.values["ho_ten"] == "Nguyễn Thị Ngọc Hưởng"
    award = Award.get(Award.round == published_round.id, Award.user == people["huong"].id)
    assert huong.source == f"contest:{published_round.contest_id}/round:{published_round.id}/award:{award.id}"
    assert (commune.user, commune.unit.id, commune.unit_line) == (None, units["commune"].id, "Đảng bộ huyện Hòa Vang")
    assert commune.values["giai"] == "Giải Nhất tập thể"


def test_the_unit_printed_is_the_one_the_round_was_taken_from(published_round, people, units):
    people["huong"].unit = units["an_son"]  # moved to another cell after the round
    people["huong"].full_name = "Nguyễn Thị Ngọc Hưởng (mới)"
    people["huong"].save()
    huong = certify.recipients_for_round(published_round)[0]
    assert huong.unit_line == "Chi bộ thôn Đông Lâm, Đảng bộ xã Hòa Ninh"
    assert huong.name == "Nguyễn Thị Ngọc Hưởng (mới)"  # the name as it reads at issue time


def test_participation_certificates_go_to_every_contestant(published_round, people):
    recipients = certify.recipients_for_round(published_round, include_participation=True)
    extra = [r for r in recipients if r.kind == "participation"]
    assert [r.name for r in extra] == ["Nguyễn Thị Ngọc Hưởng", "Đặng Quỳnh Ỷ", "Lê Thị Thu Hằng", "Phạm Văn Dũng"]
    assert extra[3].source == (f"contest:{published_round.contest_id}/round:{published_round.id}"
                               f"/entry:{people['other'].id}")
    assert extra[3].values["giai"] == ""


def test_unpublished_results_are_refused(make_round, make_contest):
    round_ = make_round()
    with pytest.raises(DomainError, match="chưa được công bố|not published"):
        certify.recipients_for_round(round_)
    with pytest.raises(DomainError, match="chưa được công bố|not published"):
        certify.recipients_for_contest(make_contest())


def test_issuing_needs_the_texts_first(published_round):
    with pytest.raises(DomainError, match="giấy khen|certificates"):
        certify.issue_for_round(None, published_round, LATER, PUBLIC)
    assert Certificate.select().count() == 0


def test_issuing_a_round_twice_gives_each_prize_one_certificate(published_round, design, people):
    issued, skipped = certify.issue_for_round(None, published_round, LATER, PUBLIC)
    assert (len(issued), skipped) == (3, 0)
    huong = Certificate.get(Certificate.user == people["huong"].id)
    values = huong.values
    assert values["recipient_name"] == "Nguyễn Thị Ngọc Hưởng" and values["prize"] == "Giải Nhất"
    assert values["recipient_unit"] == "Chi bộ thôn Đông Lâm, Đảng bộ xã Hòa Ninh"
    assert "Giải Nhất" in values["achievement"] and published_round.contest.title in values["achievement"]
    assert huong.design_id == design.id and huong.kind == "merit"
    issued, skipped = certify.issue_for_round(None, published_round, LATER, PUBLIC, include_participation=True)
    assert (len(issued), skipped) == (4, 3)  # four contestants' certificates of participation, prizes skipped
    assert certify.valid_certificates(published_round.contest, published_round).count() == 7


def test_contest_wide_prizes(published_round, design, people):
    contest = published_round.contest
    with pytest.raises(DomainError, match="chưa được công bố|not published"):
        certify.issue_for_contest(None, contest, LATER, PUBLIC)
    prizes.award_contest(None, contest, LATER)  # no contest-wide tiers yet: ranked, nothing given
    PrizeTier.create(contest=contest, round=None, position=1, name="Giải Nhất", count=1)
    prizes.award_contest(None, contest, LATER)
    prizes.publish_contest(None, contest, LATER)
    contest = reload(contest)
    (winner,) = certify.recipients_for_contest(contest)
    assert winner.name == "Nguyễn Thị Ngọc Hưởng" and winner.values["vong"] == certify.CONTEST_WIDE
    assert winner.values["round"] == "" and winner.source.startswith(f"contest:{contest.id}/award:")
    issued, skipped = certify.issue_for_contest(None, contest, LATER, PUBLIC)
    assert (len(issued), skipped) == (1, 0)
    # the contest's certificates and the round's are counted apart
    assert certify.valid_certificates(contest).count() == 1
    assert certify.valid_certificates(contest, published_round).count() == 0


def test_a_published_round_without_prizes_is_refused(make_round, make_attempt, people):
    round_ = make_round(closes_at=NOW + dt.timedelta(days=1))
    make_attempt(round_, people["huong"], 10)
    prizes.confirm_round(None, round_, LATER)
    prizes.publish_round(None, round_, LATER)
    certify.save_design(None, round_.contest, {"issuing_body": BODY}, LATER)
    with pytest.raises(DomainError, match="giải|prizes"):
        certify.issue_for_round(None, reload(round_), LATER, PUBLIC)


def test_default_texts_come_from_the_owner_unit(make_contest, make_unit, committee):
    province = make_unit("QN", "Đảng bộ tỉnh Quảng Nam", "committee")
    district = make_unit("QN-HD", "Đảng bộ huyện Hiệp Đức", "committee", parent=province)
    values = certify.default_design_values(make_contest(owner_unit=district))
    assert values["issuing_committee"] == "ĐẢNG BỘ HUYỆN HIỆP ĐỨC"
    assert values["superior_body"] == "ĐẢNG BỘ TỈNH QUẢNG NAM"
    assert values["place"] == "" and "{giai}" in values["merit_achievement"]


def test_cli_issues_a_round(runner, published_round, design):
    result = runner.invoke(args=["issue-certificates", "--round", str(published_round.id)])
    assert result.exit_code == 0, result.output
    assert "Đã cấp 3 giấy" in result.output and "bỏ qua 0" in result.output
    again = runner.invoke(args=["issue-certificates", "--round", str(published_round.id), "--participation"])
    assert again.exit_code == 0 and "Đã cấp 4 giấy" in again.output and "bỏ qua 3" in again.output


@pytest.mark.parametrize("args, message", [
    (["--round", "1", "--contest", "1"], "đúng một trong hai"),
    ([], "đúng một trong hai"),
    (["--round", "abc"], "số nguyên dương"),
    (["--round", "999"], "Không có vòng thi mã 999"),
    (["--contest", "999"], "Không có hội thi mã 999"),
])
def test_cli_refuses_bad_arguments(runner, app, args, message):
    result = runner.invoke(args=["issue-certificates", *args])
    assert result.exit_code == 1 and message in result.output


def test_cli_explains_what_is_missing(runner, published_round, make_round):
    no_design = runner.invoke(args=["issue-certificates", "--round", str(published_round.id)])
    assert no_design.exit_code == 1 and re.search("giấy khen|texts of the certificates", no_design.output)
    unpublished = make_round(contest=published_round.contest)
    result = runner.invoke(args=["issue-certificates", "--round", str(unpublished.id)])
    assert result.exit_code == 1 and re.search("chưa được công bố|not published", result.output)
