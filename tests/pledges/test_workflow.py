"""The pledge workflow as a state machine: every step allowed or refused, by role, by unit and by state."""

import datetime as dt

import pytest
from flask_babel import gettext as _
from werkzeug.exceptions import Forbidden

from portal.errors import Conflict, DomainError
from portal.pledges import workflow
from portal.pledges.models import Evaluation, Pledge, PledgeItem, SelfReport
from tests.conftest import reload
from tests.pledges.conftest import COMMITMENTS, NOW, TODAY, item_values


def _report(actor, pledge, now=NOW, stage="mid_year"):
    values = {item.id: {"done": "Đã tắt điện khi ra về", "next_steps": "Tiếp tục"}
              for item in workflow.items_of(pledge)}
    return workflow.file_report(actor, pledge, stage, values, now)


# action: (who may do it, the states it starts from, the call)
ACTIONS = {
    "save": ("own", ("draft", "returned"),
             lambda a, p: workflow.save_draft(a, p, COMMITMENTS, [item_values(1), item_values(2)], NOW)),
    "submit": ("own", ("draft", "returned"), lambda a, p: workflow.submit(a, p, NOW)),
    "return": ("secretary", ("submitted",), lambda a, p: workflow.return_pledge(a, p, "Ghi rõ cách đo.", NOW)),
    "acknowledge": ("secretary", ("submitted",), lambda a, p: workflow.acknowledge(a, p, NOW)),
    "note": ("own", ("acknowledged", "reported", "evaluated"),
             lambda a, p: workflow.add_note(a, p, "Tháng 3: đã lắp công tắc hẹn giờ.", NOW)),
    "report": ("own", ("acknowledged", "reported"), _report),
    "evaluate": ("secretary", ("acknowledged", "reported"),
                 lambda a, p: workflow.evaluate(a, p, TODAY, "Hoàn thành tốt.", "good", NOW)),
    "accept": ("own", ("evaluated",), lambda a, p: workflow.accept_evaluation(a, p, NOW)),
}
RESULT = {"save": None, "submit": "submitted", "return": "returned", "acknowledge": "acknowledged", "note": None,
          "report": "reported", "evaluate": "evaluated", "accept": "closed"}
ROLES = ("own", "other_member", "secretary", "other_secretary", "organiser", "admin")


@pytest.fixture
def people(member, secretary, other_secretary, organiser, make_user, cell):
    return {"own": member, "other_member": make_user(unit=cell), "secretary": secretary,
            "other_secretary": other_secretary, "organiser": organiser, "admin": make_user(role="admin")}


@pytest.fixture
def period(make_period, committee):
    return make_period(committee)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", ACTIONS)
def test_each_step_is_allowed_to_one_role_only(action, role, people, period, member, make_pledge):
    who, states, call = ACTIONS[action]
    pledge = make_pledge(period, member, state=states[0])
    if who == role:
        call(people[role], pledge)
        expected = RESULT[action] or states[0]
        assert reload(pledge).state == expected
        assert workflow.history(pledge)[-1].actor_id == people[role].id
    else:
        with pytest.raises(Forbidden):
            call(people[role], pledge)
        assert reload(pledge).state == states[0]
        assert len(workflow.history(pledge)) == 1  # only the start: nothing was written


@pytest.mark.parametrize("state", Pledge.STATES)
@pytest.mark.parametrize("action", ACTIONS)
def test_each_step_starts_only_from_its_states(action, state, people, period, member, make_pledge):
    who, states, call = ACTIONS[action]
    pledge = make_pledge(period, member, state=state)
    if state in states:
        call(people[who], pledge)
        assert reload(pledge).state == (RESULT[action] or state)
    else:
        with pytest.raises(DomainError):  # Conflict, or (a correction without its reason) a DomainError
            call(people[who], pledge)
        assert reload(pledge).state == state


def test_the_member_starts_a_draft_prefilled_from_the_account(member, period):
    pledge = workflow.start(member, period, NOW, "10.0.0.7")
    assert (pledge.state, pledge.full_name, pledge.position, pledge.unit_id) == \
        ("draft", "Nguyễn Thị Mai", "Giáo viên", member.unit_id)
    assert pledge.birth_date == member.birth_date
    assert workflow.start(member, period, NOW).id == pledge.id  # the same pledge the next time
    assert [(e.action, e.address) for e in workflow.history(pledge)] == [("start", "10.0.0.7")]


def test_a_period_of_another_subtree_or_not_yet_open_is_refused(member, make_unit, make_period, committee):
    elsewhere = make_period(make_unit(kind="committee", name="Đảng bộ xã Hòa Phú"))
    with pytest.raises(DomainError, match="Chi bộ thôn An Sơn"):
        workflow.start(member, elsewhere, NOW)
    later = make_period(committee, opens_on=TODAY + dt.timedelta(days=3))
    with pytest.raises(DomainError, match=(TODAY + dt.timedelta(days=3)).strftime("%d/%m/%Y")):
        workflow.start(member, later, NOW)


def test_a_pledge_without_items_cannot_be_submitted(member, period, make_pledge):
    pledge = make_pledge(period, member, items=0)
    with pytest.raises(DomainError) as refused:
        workflow.submit(member, pledge, NOW)
    assert refused.value.field == "items"
    assert reload(pledge).state == "draft"


def test_an_item_without_content_and_a_fourth_item_are_refused_naming_them(member, period, make_pledge):
    pledge = make_pledge(period, member)
    with pytest.raises(DomainError) as refused:
        workflow.save_draft(member, pledge, COMMITMENTS, [item_values(1), {"measure": "Mỗi tuần"}], NOW)
    assert refused.value.field == "items-1-content"
    assert str(refused.value) == _("%(item)s: write what you will do.", item=_("Item %(n)s", n=2))
    with pytest.raises(DomainError) as refused:
        workflow.save_draft(member, pledge, COMMITMENTS, [item_values(n) for n in range(1, 5)], NOW)
    assert refused.value.field == "items"
    assert [i.content for i in workflow.items_of(pledge)] == [item_values(1)["content"]]  # nothing half-written


@pytest.mark.parametrize("days, late", [(-1, False), (0, False), (1, True)])
def test_a_submission_after_the_deadline_is_accepted_and_marked_late(days, late, member, period, make_pledge):
    pledge = make_pledge(period, member)
    now = NOW + dt.timedelta(days=30 + days)  # register_by is today + 30 days
    workflow.submit(member, pledge, now)
    assert (reload(pledge).state, reload(pledge).submitted_late) == ("submitted", late)


def test_a_late_self_report_is_marked_late(member, period, make_pledge):
    pledge = make_pledge(period, member, state="acknowledged")
    _report(member, pledge, now=NOW + dt.timedelta(days=121))  # mid_year_by is today + 120 days
    assert [r.late for r in SelfReport.select().where(SelfReport.pledge == pledge.id)] == [True]


def test_an_empty_self_report_names_the_item(member, period, make_pledge):
    pledge = make_pledge(period, member, state="acknowledged", items=2)
    first, second = workflow.items_of(pledge)
    values = {first.id: {"done": "Đã làm"}, second.id: {"done": " ", "not_done": "", "next_steps": "Sẽ làm"}}
    with pytest.raises(DomainError) as refused:
        workflow.file_report(member, pledge, "year_end", values, NOW)
    assert str(refused.value) == _("%(item)s: write what was done, or what was not done and why.",
                                   item=_("Item %(n)s", n=2))
    assert refused.value.field == f"reports-{second.id}-done"
    assert reload(pledge).state == "acknowledged"
    assert SelfReport.select().where(SelfReport.pledge == pledge.id).count() == 0


def test_returning_needs_a_comment_and_shows_it_until_resubmitted(member, secretary, period, make_pledge):
    pledge = make_pledge(period, member, state="submitted")
    with pytest.raises(DomainError) as refused:
        workflow.return_pledge(secretary, pledge, "  ", NOW)
    assert refused.value.field == "comment"
    workflow.return_pledge(secretary, pledge, "Việc 1 cần ghi rõ sản phẩm.", NOW)
    assert (reload(pledge).state, reload(pledge).return_comment) == ("returned", "Việc 1 cần ghi rõ sản phẩm.")
    workflow.save_draft(member, pledge, COMMITMENTS, [item_values(1)], NOW)
    workflow.submit(member, pledge, NOW)
    assert (reload(pledge).state, reload(pledge).return_comment) == ("submitted", "")


def test_nothing_closed_can_be_edited(member, secretary, period, make_pledge):
    pledge = make_pledge(period, member, state="closed")
    for step in (lambda: workflow.save_draft(member, pledge, COMMITMENTS, [item_values(1)], NOW),
                 lambda: workflow.submit(member, pledge, NOW),
                 lambda: workflow.add_note(member, pledge, "Thêm", NOW),
                 lambda: _report(member, pledge),
                 lambda: workflow.accept_evaluation(member, pledge, NOW),
                 lambda: workflow.acknowledge(secretary, pledge, NOW),
                 lambda: workflow.return_pledge(secretary, pledge, "Sửa", NOW)):
        with pytest.raises(Conflict):
            step()
    assert reload(pledge).state == "closed"
    assert PledgeItem.select().where(PledgeItem.pledge == pledge.id).count() == 1


def test_a_correction_supersedes_the_evaluation_with_its_reason(member, secretary, period, make_pledge):
    pledge = make_pledge(period, member, state="closed")
    first = workflow.current_evaluation(pledge)
    with pytest.raises(DomainError) as refused:
        workflow.evaluate(secretary, pledge, TODAY, "Hoàn thành xuất sắc.", "excellent", NOW)
    assert refused.value.field == "reason"
    entry = workflow.evaluate(secretary, pledge, TODAY, "Hoàn thành xuất sắc.", "excellent",
                              NOW + dt.timedelta(minutes=5), "10.0.0.9", reason="Ghi nhầm mức xếp loại.")
    assert workflow.current_evaluation(pledge).id == entry.id
    assert (entry.supersedes_id, entry.reason, entry.level) == (first.id, "Ghi nhầm mức xếp loại.", "excellent")
    assert Evaluation.get_by_id(first.id).level == "good"  # never edited
    assert reload(pledge).state == "closed"
    assert workflow.history(pledge)[-1].action == "correct_evaluation"


def test_an_evaluation_checks_its_meeting_date_and_level(member, secretary, period, make_pledge):
    pledge = make_pledge(period, member, state="reported")
    cases = [(TODAY, "best", "level"), (TODAY + dt.timedelta(days=1), "good", "meeting_date"),
             (period.opens_on - dt.timedelta(days=1), "good", "meeting_date"), (None, "good", "meeting_date")]
    for meeting, level, field in cases:
        with pytest.raises(DomainError) as refused:
            workflow.evaluate(secretary, pledge, meeting, "Tốt", level, NOW)
        assert refused.value.field == field
    assert reload(pledge).state == "reported"


def test_accepting_the_evaluation_closes_the_record(member, period, make_pledge):
    pledge = make_pledge(period, member, state="evaluated")
    workflow.accept_evaluation(member, pledge, NOW)
    assert (reload(pledge).state, reload(pledge).closed_at) == ("closed", NOW)
    assert workflow.current_evaluation(pledge).acknowledged_at == NOW


def test_a_member_moved_mid_year_is_reviewed_by_the_new_cell(member, secretary, other_secretary, other_cell, period,
                                                             make_pledge):
    pledge = make_pledge(period, member, state="submitted")
    member.unit = other_cell
    member.save()
    pledge = Pledge.get_by_id(pledge.id)
    with pytest.raises(Forbidden):
        workflow.acknowledge(secretary, pledge, NOW)
    workflow.acknowledge(other_secretary, pledge, NOW)
    assert reload(pledge).acknowledged_by_id == other_secretary.id
    rows = workflow.cell_board(period, other_cell, TODAY)
    assert {m.id: state for m, _p, state, _o in rows}[member.id] == "acknowledged"  # on the new cell's board


def test_two_secretaries_racing_to_acknowledge_one_wins(member, secretary, make_user, cell, period, make_pledge):
    deputy = make_user(role="secretary", unit=cell)
    pledge = make_pledge(period, member, state="submitted")
    seen_by_secretary, seen_by_deputy = Pledge.get_by_id(pledge.id), Pledge.get_by_id(pledge.id)
    workflow.acknowledge(secretary, seen_by_secretary, NOW)
    with pytest.raises(Conflict) as refused:
        workflow.acknowledge(deputy, seen_by_deputy, NOW)
    assert str(refused.value) == _("Someone else changed this pledge a moment ago; reload the page and try again.")
    assert reload(pledge).acknowledged_by_id == secretary.id
    assert [e.action for e in workflow.history(pledge)].count("acknowledge") == 1


def test_acknowledge_many_skips_what_the_secretary_does_not_review(member, secretary, make_user, cell, other_cell,
                                                                   period, make_pledge):
    mine = [make_pledge(period, make_user(unit=cell), state="submitted") for _ in range(2)]
    draft = make_pledge(period, member)
    elsewhere = make_pledge(period, make_user(unit=other_cell), state="submitted")
    assert workflow.acknowledge_many(secretary, mine + [draft, elsewhere], NOW) == 2
    assert [reload(p).state for p in mine + [draft, elsewhere]] == ["acknowledged", "acknowledged", "draft",
                                                                     "submitted"]


def test_a_secretary_never_reviews_their_own_pledge_the_deputy_does(secretary, make_user, cell, period,
                                                                     make_pledge):
    own = make_pledge(period, secretary, state="submitted")
    with pytest.raises(Forbidden):
        workflow.acknowledge(secretary, own, NOW)
    assert workflow.acknowledge_many(secretary, [own], NOW) == 0 and reload(own).state == "submitted"
    deputy = make_user(role="secretary", unit=cell, full_name="Võ Thị Phó")
    workflow.acknowledge(deputy, own, NOW)
    assert reload(own).state == "acknowledged"


def test_the_board_flags_overdue_members(member, make_user, cell, period, make_pledge):
    late_reporter = make_user(unit=cell, full_name="Trần Văn Bình")
    done = make_user(unit=cell, full_name="Võ Thị Chi")
    make_pledge(period, late_reporter, state="acknowledged")
    make_pledge(period, done, state="reported")
    after_registration = period.register_by + dt.timedelta(days=1)
    after_mid_year = period.mid_year_by + dt.timedelta(days=1)
    flags = {m.full_name: (state, overdue) for m, _p, state, overdue in workflow.cell_board(period, cell, TODAY)}
    assert flags["Nguyễn Thị Mai"] == ("not_started", False)
    flags = {m.full_name: overdue for m, _p, _s, overdue in workflow.cell_board(period, cell, after_registration)}
    assert flags == {"Nguyễn Thị Mai": True, "Trần Văn Bình": False, "Võ Thị Chi": False}
    flags = {m.full_name: overdue for m, _p, _s, overdue in workflow.cell_board(period, cell, after_mid_year)}
    assert flags["Trần Văn Bình"] is True  # no mid-year report
