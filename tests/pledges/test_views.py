"""The member's and the secretary's pledge pages over HTTP."""

import datetime as dt
import re

import pytest
from flask_babel import gettext as _

from portal.pledges import workflow
from portal.pledges.models import Evaluation, Pledge, ProgressNote, SelfReport
from tests.conftest import reload
from tests.pledges.conftest import COMMITMENTS, TODAY, item_values


@pytest.fixture
def period(make_period, committee):
    return make_period(committee)


def form_data(items=(1,), **changes):
    data = dict(COMMITMENTS)
    for row, n in enumerate(items):
        data.update({f"items-{row}-{key}": value for key, value in item_values(n).items()})
    data.update(changes)
    return data


def page(response):
    return response.get_data(as_text=True)


# ---------------------------------------------------------------- the member


def test_the_member_sees_the_periods_of_their_unit_with_their_state(client, auth, member, period, make_period,
                                                                    make_unit, make_pledge):
    make_period(make_unit(kind="committee"), title="Đợt của đơn vị khác")
    make_pledge(period, member, state="returned")
    auth.login(member.username)
    html = page(client.get("/pledges"))
    assert period.title in html and "Đợt của đơn vị khác" not in html
    assert f'state-returned">{_("Returned")}<' in html


def test_the_pledge_page_is_prefilled_with_three_item_rows(client, auth, member, period):
    auth.login(member.username)
    html = page(client.get(f"/pledges/{period.id}"))
    assert "Nguyễn Thị Mai" in html and "Giáo viên" in html and "17/05/1985" in html
    assert "Chi bộ thôn An Sơn" in html and "Đảng bộ xã Hòa Ninh" in html
    assert all(f'name="items-{n}-content"' in html for n in range(3)) and 'name="items-3-content"' not in html
    assert all(f'name="{key}"' in html for key in COMMITMENTS)
    assert Pledge.select().count() == 0  # looking does not create anything


def test_the_member_saves_a_draft_then_submits_it(client, auth, member, period):
    auth.login(member.username)
    response = client.post(f"/pledges/{period.id}", data=form_data(action="save"))
    assert response.status_code == 302
    pledge = Pledge.get(Pledge.user == member.id)
    assert (pledge.state, pledge.commitment_texts["ethics"]) == ("draft", COMMITMENTS["ethics"])
    html = page(client.get(f"/pledges/{period.id}"))
    assert item_values(1)["content"] in html  # the form shows what was saved
    response = client.post(f"/pledges/{period.id}", data=form_data(items=(1, 2), action="submit"),
                           follow_redirects=True)
    assert (reload(pledge).state, len(workflow.items_of(pledge))) == ("submitted", 2)
    html = page(response)
    assert 'name="ideology"' not in html and 'name="items-0-content"' not in html  # read-only now
    assert item_values(2)["content"] in html


def test_an_item_without_content_is_shown_next_to_its_field(client, auth, member, period):
    auth.login(member.username)
    data = form_data(**{"items-1-measure": "Mỗi tuần một lần"}, action="submit")
    html = page(client.post(f"/pledges/{period.id}", data=data))
    error = re.search(r'<p class="error" id="items-1-content-error">([^<]+)</p>', html)
    assert error and error.group(1) == _("%(item)s: write what you will do.", item=_("Item %(n)s", n=2))
    assert "Mỗi tuần một lần" in html  # what was typed is kept
    assert Pledge.get(Pledge.user == member.id).state == "draft"


def test_submitting_without_items_is_refused_with_a_message(client, auth, member, period):
    auth.login(member.username)
    html = page(client.post(f"/pledges/{period.id}", data=form_data(items=(), action="submit")))
    assert _("Register at least one thing to do before submitting.") in html
    assert Pledge.get(Pledge.user == member.id).state == "draft"


def test_a_late_submission_is_flagged(client, auth, member, make_period, committee):
    period = make_period(committee, register_by=TODAY - dt.timedelta(days=1))
    auth.login(member.username)
    html = page(client.post(f"/pledges/{period.id}", data=form_data(action="submit"), follow_redirects=True))
    assert Pledge.get(Pledge.user == member.id).submitted_late
    assert f'class="badge bad late">{_("Late")}<' in html


def test_a_returned_pledge_shows_the_comment_and_can_be_fixed(client, auth, member, period, make_pledge):
    make_pledge(period, member, state="returned")
    auth.login(member.username)
    html = page(client.get(f"/pledges/{period.id}"))
    assert 'id="return-comment"' in html and "Việc thứ nhất cần ghi rõ cách đo kết quả." in html
    assert 'name="items-0-content"' in html  # editable again


def test_the_member_adds_a_note_and_files_a_report(client, auth, member, period, make_pledge):
    pledge = make_pledge(period, member, state="acknowledged", items=2)
    first, second = workflow.items_of(pledge)
    auth.login(member.username)
    client.post(f"/pledges/{period.id}/notes", data={"text": "Tháng 3: đã lắp công tắc hẹn giờ."})
    assert [n.text for n in ProgressNote.select()] == ["Tháng 3: đã lắp công tắc hẹn giờ."]

    data = {f"reports-{first.id}-done": "Đã làm đều đặn", f"reports-{second.id}-next_steps": "Sẽ làm"}
    html = page(client.post(f"/pledges/{period.id}/reports/year_end", data=data))
    assert re.search(rf'id="year_end-reports-{second.id}-done-error">[^<]*{_("Item %(n)s", n=2)}', html)
    assert "Đã làm đều đặn" in html  # kept as typed
    data[f"reports-{second.id}-not_done"] = "Chưa làm vì thiếu kinh phí"
    response = client.post(f"/pledges/{period.id}/reports/year_end", data=data)
    assert response.status_code == 302
    assert reload(pledge).state == "reported"
    assert {r.item_id: r.not_done for r in SelfReport.select()} == \
        {first.id: "", second.id: "Chưa làm vì thiếu kinh phí"}
    assert client.post(f"/pledges/{period.id}/reports/quarterly", data=data).status_code == 404


def test_the_member_reads_the_evaluation_and_closes_the_record(client, auth, member, period, make_pledge):
    pledge = make_pledge(period, member, state="evaluated")
    auth.login(member.username)
    html = page(client.get(f"/pledges/{period.id}"))
    assert "Đồng chí hoàn thành tốt việc đăng ký." in html and str(workflow.LEVEL_LABELS["good"]) in html
    assert f'/pledges/{period.id}/accept' in html
    client.post(f"/pledges/{period.id}/accept")
    assert reload(pledge).state == "closed"
    html = page(client.get(f"/pledges/{period.id}"))
    assert f'/pledges/{period.id}/accept' not in html and "textarea" not in html  # nothing left to edit


def test_a_period_of_another_unit_and_unknown_ids_are_not_found(client, auth, member, make_period, make_unit):
    elsewhere = make_period(make_unit(kind="committee"))
    auth.login(member.username)
    assert client.get(f"/pledges/{elsewhere.id}").status_code == 404
    assert client.get("/pledges/99999").status_code == 404
    assert client.post(f"/pledges/{elsewhere.id}", data=form_data(action="save")).status_code == 404
    assert Pledge.select().count() == 0


# ---------------------------------------------------------------- the secretary


@pytest.fixture
def board_members(make_user, cell, period, make_pledge, member):
    """Mai (not started), Bình (submitted), Chi (submitted, late), Dũng (acknowledged)."""
    rows = {"Trần Văn Bình": "submitted", "Võ Thị Chi": "submitted", "Đỗ Văn Dũng": "acknowledged"}
    made = {}
    for name, state in rows.items():
        made[name] = make_pledge(period, make_user(unit=cell, full_name=name), state=state,
                                 submitted_late=name == "Võ Thị Chi")
    return made


def test_a_secretary_of_one_cell_goes_straight_to_its_board(client, auth, secretary, period, cell):
    auth.login(secretary.username)
    response = client.get(f"/pledges/board/{period.id}")
    assert response.headers["Location"].endswith(f"/pledges/board/{period.id}/{cell.id}")
    assert client.get("/pledges/board").headers["Location"].endswith(f"/pledges/board/{period.id}")


def test_the_board_lists_every_member_filters_and_acknowledges_in_bulk(client, auth, secretary, period, cell,
                                                                       board_members):
    auth.login(secretary.username)
    html = page(client.get(f"/pledges/board/{period.id}/{cell.id}"))
    for name in ("Nguyễn Thị Mai", "Trần Văn Bình", "Võ Thị Chi", "Đỗ Văn Dũng", "Phạm Văn Dũng"):
        assert name in html
    assert html.count('type="checkbox" name="pledge"') == 2  # the two submitted ones
    assert html.count('class="board-row overdue"') == 0  # before the deadline
    html = page(client.get(f"/pledges/board/{period.id}/{cell.id}?state=submitted"))
    assert "Trần Văn Bình" in html and "Đỗ Văn Dũng" not in html and "Nguyễn Thị Mai" not in html
    ids = [board_members["Trần Văn Bình"].id, board_members["Võ Thị Chi"].id]
    response = client.post(f"/pledges/board/{period.id}/{cell.id}/acknowledge", data={"pledge": ids},
                           follow_redirects=True)
    assert _("Pledges acknowledged: %(n)s.", n=2) in page(response)
    assert [reload(board_members[n]).state for n in ("Trần Văn Bình", "Võ Thị Chi")] == ["acknowledged"] * 2


def test_the_board_highlights_the_overdue_and_lists_them_to_remind(client, auth, secretary, make_period, committee,
                                                                   cell, make_user, make_pledge):
    period = make_period(committee, opens_on=TODAY - dt.timedelta(days=200), register_by=TODAY - dt.timedelta(days=150),
                         mid_year_by=TODAY - dt.timedelta(days=10))
    make_pledge(period, make_user(unit=cell, full_name="Trần Văn Bình"), state="acknowledged")
    make_user(unit=cell, full_name="Võ Thị Chi")
    auth.login(secretary.username)
    html = page(client.get(f"/pledges/board/{period.id}/{cell.id}"))
    assert html.count('class="board-row overdue"') == 3  # Bình's mid-year report, Chi and the secretary not started
    reminder = re.search(r'<textarea id="reminder-text"[^>]*>([^<]*)</textarea>', html).group(1)
    assert "Trần Văn Bình" in reminder and "Võ Thị Chi" in reminder
    assert period.mid_year_by.strftime("%d/%m/%Y") in reminder and period.register_by.strftime("%d/%m/%Y") in reminder


def test_the_secretary_returns_with_a_comment_then_acknowledges(client, auth, secretary, member, period,
                                                               make_pledge):
    pledge = make_pledge(period, member, state="submitted")
    auth.login(secretary.username)
    html = page(client.get(f"/pledges/review/{pledge.id}"))
    assert item_values(1)["content"] in html and COMMITMENTS["remedy"] in html
    html = page(client.post(f"/pledges/review/{pledge.id}/return", data={"comment": ""}))
    assert 'id="comment-error"' in html and reload(pledge).state == "submitted"
    client.post(f"/pledges/review/{pledge.id}/return", data={"comment": "Ghi rõ sản phẩm."})
    assert (reload(pledge).state, reload(pledge).return_comment) == ("returned", "Ghi rõ sản phẩm.")
    Pledge.update(state="submitted").where(Pledge.id == pledge.id).execute()
    client.post(f"/pledges/review/{pledge.id}/acknowledge")
    assert reload(pledge).acknowledged_by_id == secretary.id
    response = client.post(f"/pledges/review/{pledge.id}/acknowledge", follow_redirects=True)
    assert 'flash-error' in page(response)  # already acknowledged: a Conflict, flashed


def test_the_secretary_evaluates_then_corrects_with_a_reason(client, auth, secretary, member, period, make_pledge):
    pledge = make_pledge(period, member, state="reported")
    auth.login(secretary.username)
    data = {"meeting_date": TODAY.isoformat(), "comment": "Tập thể chi bộ nhất trí.", "level": "excellent"}
    html = page(client.post(f"/pledges/review/{pledge.id}/evaluate", data={**data, "level": ""}))
    assert _("Proposed level: choose one of the four levels.") in html and reload(pledge).state == "reported"
    client.post(f"/pledges/review/{pledge.id}/evaluate", data=data)
    assert (reload(pledge).state, workflow.current_evaluation(pledge).level) == ("evaluated", "excellent")
    html = page(client.get(f"/pledges/review/{pledge.id}"))
    assert 'name="reason"' in html  # now a correction form
    html = page(client.post(f"/pledges/review/{pledge.id}/evaluate", data={**data, "level": "good"}))
    assert 'id="reason-error"' in html
    client.post(f"/pledges/review/{pledge.id}/evaluate", data={**data, "level": "good", "reason": "Nhầm mức."})
    assert Evaluation.select().count() == 2 and workflow.current_evaluation(pledge).reason == "Nhầm mức."
    html = page(client.get(f"/pledges/review/{pledge.id}"))
    assert "previous-evaluations" in html and "Tập thể chi bộ nhất trí." in html


def test_an_organiser_reads_boards_and_pledges_without_writing(client, auth, organiser, member, period, cell,
                                                               other_cell, board_members):
    auth.login(organiser.username)
    html = page(client.get(f"/pledges/board/{period.id}"))  # two cells to choose from
    assert f"/pledges/board/{period.id}/{cell.id}" in html and f"/pledges/board/{period.id}/{other_cell.id}" in html
    html = page(client.get(f"/pledges/board/{period.id}/{cell.id}"))
    assert "Trần Văn Bình" in html and 'name="pledge"' not in html
    pledge = board_members["Trần Văn Bình"]
    html = page(client.get(f"/pledges/review/{pledge.id}"))
    assert "Trần Văn Bình" in html and f"/pledges/review/{pledge.id}/acknowledge" not in html
    assert client.post(f"/pledges/review/{pledge.id}/acknowledge").status_code == 403
    client.post(f"/pledges/board/{period.id}/{cell.id}/acknowledge", data={"pledge": [pledge.id]})
    assert reload(pledge).state == "submitted"


def test_another_cells_secretary_is_forbidden_and_unknown_ids_are_not_found(client, auth, other_secretary, member,
                                                                            period, cell, make_pledge):
    pledge = make_pledge(period, member, state="submitted")
    auth.login(other_secretary.username)
    assert client.get(f"/pledges/board/{period.id}/{cell.id}").status_code == 403
    assert client.get(f"/pledges/review/{pledge.id}").status_code == 403
    assert client.post(f"/pledges/review/{pledge.id}/acknowledge").status_code == 403
    assert client.post(f"/pledges/board/{period.id}/{cell.id}/acknowledge",
                       data={"pledge": [pledge.id]}).status_code == 403
    assert reload(pledge).state == "submitted"
    assert client.get("/pledges/review/99999").status_code == 404
    assert client.get(f"/pledges/board/99999/{cell.id}").status_code == 404
    assert client.get(f"/pledges/board/{period.id}/99999").status_code == 404


def test_a_member_cannot_open_a_board(client, auth, member, period, cell):
    auth.login(member.username)
    assert client.get(f"/pledges/board/{period.id}/{cell.id}").status_code == 403
    assert client.get(f"/pledges/board/{period.id}").status_code == 403


def test_forms_need_the_csrf_token(app, client, auth, member, period):
    auth.login(member.username)
    app.config["WTF_CSRF_ENABLED"] = True
    assert client.post(f"/pledges/{period.id}", data=form_data(action="save")).status_code == 400
    assert Pledge.select().count() == 0
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page(client.get(f"/pledges/{period.id}")))
    response = client.post(f"/pledges/{period.id}", data=form_data(action="save", csrf_token=token.group(1)))
    assert response.status_code == 302 and Pledge.get(Pledge.user == member.id).state == "draft"
