"""`portal demo` opens the 2026 pledge period of the demo district with pledges in every state."""

import datetime as dt
import io

import openpyxl

from portal.accounts import permissions
from portal.accounts.models import Unit, User
from portal.pledges import commend, overview, workflow
from portal.pledges.models import Evaluation, Pledge, PledgeEvent, PledgePeriod, ProgressNote


def test_demo_period_has_pledges_in_every_state(runner):
    assert runner.invoke(args=["demo"]).exit_code == 0
    period = PledgePeriod.get(PledgePeriod.title == "Đăng ký làm theo năm 2026")
    assert period.owner_unit.code == "HU" and period.year == 2026 and "Chỉ thị 05-CT/TW" in period.basis
    states = {state for (state,) in Pledge.select(Pledge.state).where(Pledge.period == period).tuples()}
    assert states == set(Pledge.STATES)
    returned = Pledge.get(Pledge.period == period, Pledge.state == "returned")
    assert returned.return_comment.startswith("Đồng chí ghi rõ")
    assert ProgressNote.select().join(Pledge).where(Pledge.state == "acknowledged").exists()
    assert Evaluation.select().where(Evaluation.supersedes.is_null(False)).count() == 1  # one correction
    # every step has its history entry, the members' own under their names
    submitted = Pledge.get(Pledge.period == period, Pledge.state == "submitted")
    actions = [e.action for e in PledgeEvent.select().where(PledgeEvent.pledge == submitted).order_by(PledgeEvent.id)]
    assert actions == ["start", "save", "submit"]
    submit = PledgeEvent.get(PledgeEvent.pledge == submitted, PledgeEvent.action == "submit")
    assert submit.actor_id == submitted.user_id


def test_bithu_has_pledges_to_review_and_dangvien_a_pledge_of_their_own(runner):
    assert runner.invoke(args=["demo"]).exit_code == 0
    period = PledgePeriod.get(PledgePeriod.year == 2026)
    bithu, dangvien = User.get(User.username == "bithu"), User.get(User.username == "dangvien")
    an_son = Unit.get(Unit.code == "HU-HN-T1")
    board = workflow.cell_board(period, an_son, dt.date(2026, 11, 30))
    pledges = [pledge for _member, pledge, _state, _overdue in board if pledge is not None]
    to_acknowledge = [p for p in pledges if p.state == "submitted" and permissions.can(bithu, "pledge.review", p)]
    to_evaluate = [p for p in pledges if p.state == "reported" and permissions.can(bithu, "pledge.review", p)]
    assert len(to_acknowledge) >= 3 and len(to_evaluate) >= 2
    assert any(p.submitted_late for p in to_acknowledge)
    mine = Pledge.get(Pledge.period == period, Pledge.user == dangvien)
    assert mine.state == "reported" and workflow.items_of(mine) and permissions.can(dangvien, "pledge.file", mine)
    assert ProgressNote.select().where(ProgressNote.pledge == mine).exists()
    acknowledged_by = PledgeEvent.get(PledgeEvent.pledge == mine, PledgeEvent.action == "acknowledge")
    assert acknowledged_by.actor_id == bithu.id and acknowledged_by.actor_name == "Phạm Văn Dũng"


def test_the_demo_committee_board_shows_the_cells_and_warns_of_dong_lam(runner, client, auth):
    assert runner.invoke(args=["demo"]).exit_code == 0
    period = PledgePeriod.get(PledgePeriod.year == 2026)
    board = overview.board(period, [period.owner_unit])
    rows = {row.code: row for row in board.rows}
    assert rows["HU-HN-T2"].evaluated == rows["HU-HN-T2"].registered > 0
    assert [row.code for row in board.over_cap() if row.kind == "cell"] == ["HU-HN-T2"]
    assert rows["HU"].registered > 40 and rows["HU"].closed >= 15
    auth.login("tochuc", "demo2026")
    page = client.get(f"/manage/pledges/{period.id}").get_data(as_text=True)
    assert "Chi bộ thôn Đông Lâm: 33" in page and "Chi bộ thôn An Sơn" in page
    sheet = client.get(f"/manage/pledges/{period.id}/export.xlsx?unit={Unit.get(Unit.code == 'HU-HN-T1').id}")
    ws = openpyxl.load_workbook(io.BytesIO(sheet.data)).active
    names = [ws.cell(row, 2).value for row in range(6, ws.max_row + 1)]
    assert "Nguyễn Thị Mai" in names and "Phạm Văn Dũng" in names


def test_the_demo_commends_the_excellent_and_publishes_two_stories(runner, client, auth):
    from portal.certificates.models import Certificate
    from portal.pledges.models import ExemplaryStory

    assert runner.invoke(args=["demo"]).exit_code == 0
    period = PledgePeriod.get(PledgePeriod.year == 2026)
    excellent_closed = len([c for c in commend.candidates(period, period.owner_unit, "excellent")
                            if c.pledge.state == "closed"])  # the evaluation in force, not a corrected one
    assert excellent_closed >= 3
    assert Certificate.select().where(Certificate.source.startswith("pledge:")).count() == excellent_closed
    stories = list(ExemplaryStory.select().order_by(ExemplaryStory.id))
    assert [s.published for s in stories] == [True, True, False]
    auth.login("dangvien", "demo2026")  # a member of the district reads the showcase
    page = client.get(f"/pledges/{period.id}/exemplary").get_data(as_text=True)
    assert stories[0].title in page and stories[1].title in page and stories[2].title not in page
