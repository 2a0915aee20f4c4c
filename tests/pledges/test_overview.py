"""The committee board's numbers: per unit, rolled up through a three-level tree, levels in force only."""

import datetime as dt

import pytest

from portal.pledges import overview, workflow
from portal.pledges.models import PledgePeriod

ORG_NOW = dt.datetime(2026, 11, 20, 3, 0)  # UTC, 10:00 in Vietnam
ON_TIME = dt.datetime(2026, 3, 2, 3, 0)  # before the registration deadline
MEETING = dt.date(2026, 11, 18)
STEPS = ("draft", "submitted", "acknowledged", "reported", "evaluated", "closed")


@pytest.fixture
def org_tree(make_unit):
    """District > commune committee > two cells, and a cell right under the district."""
    district = make_unit("HV", "Đảng bộ huyện Hòa Vang", "committee")
    commune = make_unit("HV-HN", "Đảng bộ xã Hòa Ninh", "committee", parent=district)
    an_son = make_unit("HV-HN-AS", "Chi bộ thôn An Sơn", parent=commune)
    dong_lam = make_unit("HV-HN-DL", "Chi bộ thôn Đông Lâm", parent=commune)
    health = make_unit("HV-YT", "Chi bộ Trung tâm Y tế huyện", parent=district)
    return {"district": district, "commune": commune, "an_son": an_son, "dong_lam": dong_lam, "health": health}


@pytest.fixture
def org_period(org_tree):
    return PledgePeriod.create(owner_unit=org_tree["district"], year=2026, title="Đăng ký làm theo năm 2026",
                               topic="Ý chí tự lực, tự cường", opens_on=dt.date(2026, 1, 5),
                               register_by=dt.date(2026, 3, 31), mid_year_by=dt.date(2026, 7, 15),
                               year_end_by=dt.date(2026, 12, 15), excellent_cap=20)


def file_pledge(period, member, state, level="good", items=None, comment=None, late=False):
    """A member's pledge brought to ``state`` through the workflow (the member files, the CLI reviews),
    submitted on time unless ``late``."""
    filed = ORG_NOW if late else ON_TIME
    pledge = workflow.start(member, period, filed)
    workflow.save_draft(member, pledge, {"ideology": "Kiên định lập trường."}, items or [
        {"content": "Vận động 15 hộ giữ vệ sinh đường làng", "measure": "Tổng vệ sinh sáng Chủ nhật",
         "deadline": "Hằng tháng", "evidence": "Đường làng sạch"}], filed)
    if state == "draft":
        return pledge
    workflow.submit(member, pledge, filed)
    if state == "returned":
        return workflow.return_pledge(None, pledge, "Ghi rõ số hộ.", ORG_NOW)
    if state == "submitted":
        return pledge
    workflow.acknowledge(None, pledge, ORG_NOW)
    if state == "acknowledged":
        return pledge
    workflow.file_report(member, pledge, "year_end", {item.id: {"done": "Đã vận động đủ 15 hộ.",
                                                                "not_done": "Còn 1 buổi chưa làm."}
                                                      for item in workflow.items_of(pledge)}, ORG_NOW)
    if state == "reported":
        return pledge
    workflow.evaluate(None, pledge, MEETING, comment or "Hoàn thành tốt việc đã đăng ký.", level, ORG_NOW)
    if state == "closed":
        workflow.accept_evaluation(member, pledge, ORG_NOW)
    return pledge


@pytest.fixture
def org_members(org_tree, org_period, make_user):
    """An Sơn: one member in each state; Đông Lâm: two evaluated (one excellent), one not started and an
    inactive member's closed pledge (not counted); the health centre: two members, no pledge."""
    an_son = [make_user(unit=org_tree["an_son"]) for _ in STEPS]
    for member, state in zip(an_son, STEPS):
        file_pledge(org_period, member, state, level="excellent" if state == "closed" else "good")
    returned = make_user(unit=org_tree["an_son"])
    file_pledge(org_period, returned, "returned")
    dong_lam = [make_user(unit=org_tree["dong_lam"]) for _ in range(3)]
    file_pledge(org_period, dong_lam[0], "evaluated", level="excellent")
    file_pledge(org_period, dong_lam[1], "closed", level="fulfilled")
    gone = make_user(unit=org_tree["dong_lam"])
    file_pledge(org_period, gone, "closed", level="excellent")
    gone.is_active = False
    gone.save()
    health = [make_user(unit=org_tree["health"]) for _ in range(2)]
    return {"an_son": an_son + [returned], "dong_lam": dong_lam, "health": health}


def test_counts_roll_up_from_cells_to_the_committees(org_tree, org_period, org_members):
    board = overview.board(org_period, [org_tree["district"]])
    rows = board.by_id
    an_son = rows[org_tree["an_son"].id]
    assert (an_son.members, an_son.started, an_son.registered, an_son.returned) == (7, 7, 5, 1)
    assert (an_son.acknowledged, an_son.reported, an_son.evaluated, an_son.closed) == (4, 3, 2, 1)
    assert an_son.levels == {"excellent": 1, "good": 1, "fulfilled": 0, "not_fulfilled": 0}
    dong_lam = rows[org_tree["dong_lam"].id]
    assert (dong_lam.members, dong_lam.registered, dong_lam.evaluated, dong_lam.closed) == (3, 2, 2, 1)
    commune = rows[org_tree["commune"].id]
    assert (commune.members, commune.registered, commune.evaluated, commune.closed) == (10, 7, 4, 2)
    assert commune.levels == {"excellent": 2, "good": 1, "fulfilled": 1, "not_fulfilled": 0}
    district = rows[org_tree["district"].id]
    assert (district.members, district.registered, district.evaluated) == (12, 7, 4)
    assert rows[org_tree["health"].id].members == 2 and rows[org_tree["health"].id].started == 0
    assert board.total.members == 12 and board.total.excellent == 2
    # tree order with depths, the focus of the chart being the units right under the district
    assert [r.name for r in board.rows] == ["Đảng bộ huyện Hòa Vang", "Chi bộ Trung tâm Y tế huyện",
                                            "Đảng bộ xã Hòa Ninh", "Chi bộ thôn An Sơn", "Chi bộ thôn Đông Lâm"]
    assert [r.depth for r in board.rows] == [0, 1, 1, 2, 2]
    assert [r.name for r in board.focus()] == ["Chi bộ Trung tâm Y tế huyện", "Đảng bộ xã Hòa Ninh"]


def test_a_correction_supersedes_the_level_it_corrects(org_tree, org_period, make_user):
    member = make_user(unit=org_tree["an_son"])
    pledge = file_pledge(org_period, member, "closed", level="excellent")
    workflow.evaluate(None, pledge, MEETING, "Chi bộ họp lại, điều chỉnh mức xếp loại.", "good", ORG_NOW,
                      reason="Tỷ lệ xuất sắc vượt quy định.")
    row = overview.board(org_period, [org_tree["district"]]).by_id[org_tree["an_son"].id]
    assert row.levels == {"excellent": 0, "good": 1, "fulfilled": 0, "not_fulfilled": 0}
    assert row.evaluated == 1 and row.closed == 1


def test_a_member_counts_in_the_cell_they_are_in_now(org_tree, org_period, make_user):
    member = make_user(unit=org_tree["an_son"])
    file_pledge(org_period, member, "acknowledged")
    member.unit = org_tree["health"]
    member.save()
    rows = overview.board(org_period, [org_tree["district"]]).by_id
    assert rows[org_tree["an_son"].id].registered == 0
    assert rows[org_tree["health"].id].registered == rows[org_tree["health"].id].acknowledged == 1


def test_the_excellent_cap_warns_for_the_units_above_it(org_tree, org_period, org_members):
    board = overview.board(org_period, [org_tree["district"]])
    over = {row.name: (row.excellent, row.rated) for row in board.over_cap()}
    # An Sơn 1 of 2, Đông Lâm 1 of 2, the commune and the district 2 of 4: all above 20%
    assert over == {"Đảng bộ huyện Hòa Vang": (2, 4), "Đảng bộ xã Hòa Ninh": (2, 4), "Chi bộ thôn An Sơn": (1, 2),
                    "Chi bộ thôn Đông Lâm": (1, 2)}
    org_period.excellent_cap = 50  # exactly at the cap is allowed
    assert overview.board(org_period, [org_tree["district"]]).over_cap() == []


def test_a_committee_organiser_inside_the_tree_sees_only_their_subtree(org_tree, org_period, org_members, make_user):
    district = make_user(role="organiser", scope=org_tree["district"])  # their own accounts sit elsewhere
    commune = make_user(role="organiser", scope=org_tree["commune"])
    other = make_user(role="organiser")
    assert overview.board_roots(district, org_period) == [org_tree["district"]]
    assert overview.board_roots(commune, org_period) == [org_tree["commune"]]
    assert overview.board_roots(other, org_period) == []
    board = overview.board(org_period, [org_tree["commune"]])
    assert [r.name for r in board.rows][0] == "Đảng bộ xã Hòa Ninh" and board.total.members == 10
    assert org_tree["health"].id not in board.by_id


def test_the_chart_stacks_levels_over_each_units_members(org_tree, org_period, org_members):
    board = overview.board(org_period, [org_tree["district"]])
    chart = overview.level_chart(board.focus(), org_period.excellent_cap)
    health, commune = chart.bars
    assert [(s.level, s.count, s.x, s.width) for s in commune.segments] == [
        ("excellent", 2, 0.0, 20.0), ("good", 1, 20.0, 10.0), ("fulfilled", 1, 30.0, 10.0)]
    assert commune.registered_width == 70.0 and commune.over_cap
    assert health.segments == [] and health.registered_width == 0.0 and not health.over_cap
    assert chart.height == 2 * chart.row_height
