"""Unit pledges: a cell's breakthrough task and exemplary-model registration, filed by its secretary and
reviewed by the organiser of the committee above."""

import subprocess
import unicodedata

import pytest

from portal.accounts.models import utcnow
from portal.pledges import workflow
from portal.pledges.models import Evaluation, Pledge, PledgeEvent

ITEM = {"items-0-content": "Xây dựng tuyến đường hoa thôn An Sơn dài 500 mét",
        "items-0-measure": "Mỗi hộ trồng và chăm sóc hoa trước nhà", "items-0-deadline": "Quý III/2026",
        "items-0-evidence": "Tuyến đường hoa hoàn thành, ảnh chụp"}


@pytest.fixture
def period(make_period, committee):
    return make_period(committee)


def url(period, unit, kind="breakthrough"):
    return f"/pledges/units/{period.id}/{unit.id}/{kind}"


def the_pledge(period, unit, kind="breakthrough"):
    return Pledge.get(Pledge.period == period.id, Pledge.unit == unit.id, Pledge.kind == kind)


def login_as(client, auth, user):
    auth.logout()
    assert auth.login(user.username).status_code == 302


def test_the_secretary_files_a_breakthrough_task_and_the_organiser_above_evaluates_it(
        client, auth, period, cell, secretary, organiser):
    login_as(client, auth, secretary)
    page = client.get(f"/pledges/units/{period.id}").get_data(as_text=True)
    assert cell.name in page and url(period, cell) in page

    response = client.post(url(period, cell), data={**ITEM, "action": "save"})
    assert response.status_code == 302
    assert the_pledge(period, cell).state == "draft"
    response = client.post(url(period, cell), data={**ITEM, "action": "submit"}, follow_redirects=True)
    pledge = the_pledge(period, cell)
    assert pledge.state == "submitted" and pledge.commitment_texts == {k: "" for k in Pledge.COMMITMENTS}
    assert "Xây dựng tuyến đường hoa" in response.get_data(as_text=True)

    login_as(client, auth, organiser)
    listing = client.get(f"/pledges/units/{period.id}").get_data(as_text=True)
    assert f"/pledges/units/review/{pledge.id}" in listing
    assert client.get(f"/pledges/units/review/{pledge.id}").status_code == 200
    assert client.post(f"/pledges/units/review/{pledge.id}/acknowledge").status_code == 302
    assert the_pledge(period, cell).state == "acknowledged"

    login_as(client, auth, secretary)
    item = workflow.items_of(pledge)[0]
    response = client.post(f"{url(period, cell)}/report/mid_year",
                           data={f"reports-{item.id}-done": "Đã trồng 300 mét hoa"})
    assert response.status_code == 302 and the_pledge(period, cell).state == "reported"

    login_as(client, auth, organiser)
    today = workflow.local_today(utcnow())
    response = client.post(f"/pledges/units/review/{pledge.id}/evaluate",
                           data={"meeting_date": today.isoformat(), "comment": "Chi bộ thực hiện tốt khâu đột phá",
                                 "level": "excellent"})
    assert response.status_code == 302
    assert the_pledge(period, cell).state == "evaluated"
    evaluation = Evaluation.get(Evaluation.pledge == pledge.id)
    assert evaluation.level == "excellent" and evaluation.recorded_by_id == organiser.id

    login_as(client, auth, secretary)
    assert client.post(f"{url(period, cell)}/accept").status_code == 302
    assert the_pledge(period, cell).state == "closed"
    actions = [e.action for e in PledgeEvent.select().where(PledgeEvent.pledge == pledge.id).order_by(PledgeEvent.id)]
    assert actions == ["start", "save", "save", "submit", "acknowledge", "report", "evaluate", "close"]

    pdf = client.get(f"/pledges/{pledge.id}.pdf")
    assert pdf.status_code == 200
    text = " ".join(unicodedata.normalize("NFC", subprocess.run(
        ["pdftotext", "-", "-"], input=pdf.data, capture_output=True, check=True).stdout.decode()).split())
    for expected in ("ĐĂNG KÝ KHÂU ĐỘT PHÁ NĂM", "Tên đơn vị: Chi bộ thôn An Sơn", "Xây dựng tuyến đường hoa",
                     "Chi bộ thực hiện tốt khâu đột phá", "Hoàn thành xuất sắc nhiệm vụ",
                     "XÁC NHẬN CỦA CẤP ỦY CẤP TRÊN"):
        assert expected in text, expected
    assert "CAM KẾT TU DƯỠNG" not in text  # a unit has no self-cultivation commitments


def test_the_organiser_returns_it_with_a_comment_and_the_secretary_sees_it(client, auth, period, cell, secretary,
                                                                           organiser):
    login_as(client, auth, secretary)
    client.post(url(period, cell, "model"), data={**ITEM, "action": "submit"})
    pledge = the_pledge(period, cell, "model")
    login_as(client, auth, organiser)
    response = client.post(f"/pledges/units/review/{pledge.id}/return", data={"comment": ""})
    assert response.status_code == 422 and the_pledge(period, cell, "model").state == "submitted"
    client.post(f"/pledges/units/review/{pledge.id}/return", data={"comment": "Ghi rõ tiêu chí gương điển hình"})
    assert the_pledge(period, cell, "model").state == "returned"
    login_as(client, auth, secretary)
    page = client.get(url(period, cell, "model")).get_data(as_text=True)
    assert "Ghi rõ tiêu chí gương điển hình" in page and 'name="items-0-content"' in page


def test_an_empty_registration_is_refused_and_nothing_is_stored(client, auth, period, cell, secretary):
    login_as(client, auth, secretary)
    response = client.post(url(period, cell), data={"action": "submit"})
    assert response.status_code == 422
    assert Pledge.select().where(Pledge.unit == cell.id).count() == 0
    response = client.post(url(period, cell), data={"items-0-measure": "Chỉ có biện pháp", "action": "save"})
    assert response.status_code == 422 and 'aria-invalid="true"' in response.get_data(as_text=True)
    assert Pledge.select().where(Pledge.unit == cell.id).count() == 0


def test_a_member_cannot_file_for_the_unit(client, auth, period, cell, member):
    login_as(client, auth, member)
    assert client.get(url(period, cell)).status_code == 403
    assert client.post(url(period, cell), data={**ITEM, "action": "submit"}).status_code == 403
    assert Pledge.select().where(Pledge.unit == cell.id).count() == 0


def test_another_cells_secretary_cannot_file_for_it(client, auth, period, cell, other_secretary):
    login_as(client, auth, other_secretary)
    assert client.post(url(period, cell), data={**ITEM, "action": "save"}).status_code == 403


def test_an_organiser_of_a_sibling_committee_cannot_review(client, auth, make_unit, make_user, period, cell,
                                                           secretary):
    sibling = make_unit(code="DB-HB", name="Đảng bộ xã Hòa Bắc", kind="committee")
    stranger = make_user(role="organiser", unit=sibling)
    login_as(client, auth, secretary)
    client.post(url(period, cell), data={**ITEM, "action": "submit"})
    pledge = the_pledge(period, cell)
    login_as(client, auth, stranger)
    assert client.get(f"/pledges/units/review/{pledge.id}").status_code == 404
    assert client.post(f"/pledges/units/review/{pledge.id}/acknowledge").status_code == 404
    assert client.get(f"/pledges/{pledge.id}.pdf").status_code == 404
    assert the_pledge(period, cell).state == "submitted"


def test_the_filing_secretary_cannot_review_their_own_units_pledge(client, auth, period, cell, secretary):
    login_as(client, auth, secretary)
    client.post(url(period, cell), data={**ITEM, "action": "submit"})
    pledge = the_pledge(period, cell)
    page = client.get(f"/pledges/units/review/{pledge.id}")
    assert page.status_code == 200 and "/acknowledge" not in page.get_data(as_text=True)  # read-only for the filer
    assert client.post(f"/pledges/units/review/{pledge.id}/acknowledge").status_code == 403
    assert the_pledge(period, cell).state == "submitted"


def test_an_organiser_files_for_their_own_committee(client, auth, period, committee, organiser):
    login_as(client, auth, organiser)
    page = client.get(f"/pledges/units/{period.id}").get_data(as_text=True)
    assert url(period, committee) in page
    client.post(url(period, committee, "model"), data={**ITEM, "action": "submit"})
    assert the_pledge(period, committee, "model").state == "submitted"
