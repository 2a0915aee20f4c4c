"""Certificate pages: a member's own list and downloads, the organiser's list, detail, issue, correct, revoke and
design pages, and who may see what."""

import io
import re

import pytest

from portal.accounts.models import AuditLog
from portal.certificates import issue
from portal.certificates.models import Certificate, Design

from ..conftest import PASSWORD, reload
from .test_issue import DESIGN, NOW, PUBLIC, make_design, person


@pytest.fixture
def committee(make_unit):
    return make_unit("HV", "Đảng bộ huyện Hòa Vang", "committee")


@pytest.fixture
def cell(make_unit, committee):
    return make_unit("HV-AS", "Chi bộ thôn An Sơn", parent=committee)


@pytest.fixture
def design(committee):
    return make_design(committee)


@pytest.fixture
def member(make_user, cell):
    return make_user(full_name="Đặng Quỳnh Ỷ", unit=cell)


@pytest.fixture
def certificate(design, member):
    [certificate], _skipped = issue.issue_many(None, design, [person(member)], NOW, PUBLIC)
    return certificate


@pytest.fixture
def stranger_committee(make_unit):
    return make_unit("DL", "Đảng bộ huyện Đại Lộc", "committee")


def page(response):
    return response.get_data(as_text=True)


# -- the member's own certificates -----------------------------------------------------------------

def test_a_member_sees_only_their_own_certificates(client, auth, design, member, certificate, make_user, cell):
    other = make_user(full_name="Lê Thị Thu Hằng", unit=cell)
    issue.issue_many(None, design, [person(other, "contest:1/round:1/award:2")], NOW, PUBLIC)
    auth.login(member.username)
    text = page(client.get("/certificates/mine"))
    assert "Giấy khen của tôi" in text
    assert certificate.display_code in text
    assert "Đã có thành tích xuất sắc trong Hội thi tìm hiểu lịch sử Đảng bộ huyện, đạt Giải Nhất Tuần 1." in text
    assert "Lê Thị Thu Hằng" not in text
    assert f'href="/certificates/{certificate.code}.pdf"' in text


def test_the_member_list_shows_revoked_and_replaced_ones_as_such(client, auth, design, member, certificate):
    [second], _skipped = issue.issue_many(None, design, [person(member, "contest:1/round:2/award:1", vong="Tuần 2")],
                                          NOW, PUBLIC)
    new = issue.replace(None, certificate, {"prize": "Giải Nhì"}, "Nhầm giải", NOW, PUBLIC)
    issue.revoke(None, second, "Vi phạm thể lệ", NOW)
    auth.login(member.username)
    text = page(client.get("/certificates/mine"))
    assert "Đã thu hồi" in text and "Vi phạm thể lệ" in text
    assert "Đã được thay bằng bản mới" in text and f"bản còn hiệu lực là {new.display_code}" in text
    assert text.count("Tải về (PDF)") == 3


def test_a_member_without_certificates_is_told_so(client, login):
    login()
    assert "Đồng chí chưa có giấy khen nào" in page(client.get("/certificates/mine"))


def test_the_menu_links_to_my_certificates(client, login):
    login()
    assert 'href="/certificates/mine"' in page(client.get("/"))


def test_the_owner_downloads_the_pdf(client, auth, member, certificate):
    auth.login(member.username)
    response = client.get(f"/certificates/{certificate.code}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert f"giay-khen-Dang-Quynh-Y-{certificate.code}.pdf" in disposition
    assert disposition.isascii()


def test_someone_elses_certificate_is_not_found(client, login, certificate):
    login()
    assert client.get(f"/certificates/{certificate.code}.pdf").status_code == 404
    assert client.get("/certificates/K7Q2M9XMAB.pdf").status_code == 404


def test_downloads_need_a_login(client, certificate):
    response = client.get(f"/certificates/{certificate.code}.pdf")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_an_organiser_downloads_within_their_subtree_only(client, login, committee, certificate, stranger_committee):
    login(role="organiser", unit=committee)
    assert client.get(f"/certificates/{certificate.code}.pdf").data.startswith(b"%PDF")


def test_an_organiser_of_another_committee_gets_nothing(client, login, certificate, stranger_committee):
    login(role="organiser", unit=stranger_committee)
    assert client.get(f"/certificates/{certificate.code}.pdf").status_code == 404
    assert client.get(f"/manage/certificates/{certificate.code}").status_code == 403
    assert client.get(f"/manage/certificates/{certificate.code}/correct").status_code == 403
    response = client.post(f"/manage/certificates/{certificate.code}/revoke", data={"reason": "Thu hồi"})
    assert response.status_code == 403
    assert reload(certificate).status == "valid"
    assert certificate.recipient_name not in page(client.get("/manage/certificates"))


def test_members_cannot_reach_the_organiser_pages(client, login, certificate):
    login()
    assert client.get("/manage/certificates").status_code == 403
    assert client.get(f"/manage/certificates/{certificate.code}").status_code == 403
    assert client.get("/manage/certificates/designs").status_code == 403


# -- the organiser's list and detail -----------------------------------------------------------------

@pytest.fixture
def organiser(login, committee):
    return login(role="organiser", unit=committee)


def test_the_list_filters_by_name_status_and_kind(client, organiser, design, member, certificate, make_user, cell):
    other = make_user(full_name="Lê Thị Thu Hằng", unit=cell)
    [taking_part], _skipped = issue.issue_many(None, design, [person(other, "contest:1/round:1/entry:5",
                                                                     kind="participation")], NOW, PUBLIC)
    issue.revoke(None, taking_part, "Nhầm người", NOW)
    text = page(client.get("/manage/certificates"))
    assert "2 giấy khen" in text and "Đặng Quỳnh Ỷ" in text and "Lê Thị Thu Hằng" in text
    text = page(client.get("/manage/certificates", query_string={"q": "thu hằng"}))
    assert "Lê Thị Thu Hằng" in text and "Đặng Quỳnh Ỷ" not in text
    text = page(client.get("/manage/certificates", query_string={"q": certificate.display_code.lower()}))
    assert "Đặng Quỳnh Ỷ" in text and "Lê Thị Thu Hằng" not in text
    text = page(client.get("/manage/certificates", query_string={"status": "revoked"}))
    assert "Lê Thị Thu Hằng" in text and "Đặng Quỳnh Ỷ" not in text
    text = page(client.get("/manage/certificates", query_string={"kind": "merit"}))
    assert "Đặng Quỳnh Ỷ" in text and "Lê Thị Thu Hằng" not in text
    text = page(client.get("/manage/certificates", query_string={"source": "contest:1/round:1/entry:"}))
    assert "Lê Thị Thu Hằng" in text and "Đặng Quỳnh Ỷ" not in text


def test_the_list_has_fifty_to_a_page(client, organiser, design, make_user, cell):
    people = [make_user(full_name=f"Trần Văn Số {i:02d}", unit=cell) for i in range(51)]
    issue.issue_many(None, design, [person(u, f"contest:1/round:1/award:{u.id}") for u in people], NOW, PUBLIC)
    first = page(client.get("/manage/certificates"))
    assert "51 giấy khen" in first and len(re.findall(r"Trần Văn Số \d\d</a>", first)) == 50
    second = page(client.get("/manage/certificates", query_string={"page": 2}))
    assert len(re.findall(r"Trần Văn Số \d\d</a>", second)) == 1


def test_the_detail_shows_the_frozen_values_and_the_history(client, organiser, certificate):
    new = issue.replace(organiser, certificate, {"recipient_name": "Đặng Quỳnh Ý"}, "Sai dấu", NOW, PUBLIC)
    text = page(client.get(f"/manage/certificates/{new.code}"))
    assert "Đặng Quỳnh Ý" in text and "BAN THƯỜNG VỤ HUYỆN ỦY HÒA VANG" in text and "123-QĐ/HU" in text
    assert certificate.display_code in text and "Sai dấu" in text and "Đã đính chính" in text
    old = page(client.get(f"/manage/certificates/{certificate.code}"))
    assert "Đã được thay bằng bản đính chính" in old and f"/manage/certificates/{new.code}" in old
    assert "Thu hồi giấy khen này" not in old


def test_revoking_from_the_detail_page(client, organiser, certificate):
    response = client.post(f"/manage/certificates/{certificate.code}/revoke", data={"reason": "Vi phạm thể lệ"})
    assert response.status_code == 302
    certificate = reload(certificate)
    assert (certificate.status, certificate.revoke_reason, certificate.revoked_by_id) == (
        "revoked", "Vi phạm thể lệ", organiser.id)
    assert "Đã thu hồi giấy khen" in page(client.get(response.headers["Location"]))


def test_revoking_without_a_reason_is_refused(client, organiser, certificate):
    response = client.post(f"/manage/certificates/{certificate.code}/revoke", data={"reason": " "})
    assert response.status_code == 422 and "Không được để trống." in page(response)
    assert reload(certificate).status == "valid"


def test_correcting_from_the_form(client, organiser, certificate):
    form = page(client.get(f"/manage/certificates/{certificate.code}/correct"))
    assert 'value="Đặng Quỳnh Ỷ"' in form
    data = {**{k: certificate.values[k] for k in ("recipient_name", "recipient_unit", "achievement", "contest",
                                                  "round", "prize", "decision_number", "decision_date")},
            "recipient_name": "Đặng Quỳnh Ý", "reason": "Sai dấu trong tên"}
    response = client.post(f"/manage/certificates/{certificate.code}/correct", data=data)
    assert response.status_code == 302
    new = Certificate.get(Certificate.replaces == certificate.id)
    assert response.headers["Location"].endswith(f"/manage/certificates/{new.code}")
    assert (new.recipient_name, new.version, reload(certificate).status) == ("Đặng Quỳnh Ý", 2, "replaced")
    again = page(client.post(f"/manage/certificates/{new.code}/correct", data={**data, "reason": "Lại"}))
    assert "Chưa có gì thay đổi" in again


def test_a_revoked_certificate_offers_no_correction(client, organiser, certificate):
    issue.revoke(None, certificate, "Nhầm", NOW)
    text = page(client.get(f"/manage/certificates/{certificate.code}/correct"))
    assert "không thể đính chính giấy khen đã thu hồi" in text and "<textarea" not in text


# -- issuing one by hand ---------------------------------------------------------------------------

def test_issuing_one_to_a_member(client, organiser, design, member):
    assert "Giấy khen Hội thi 2025" in page(client.get("/manage/certificates/new"))
    response = client.post("/manage/certificates/new", data={
        "kind": "merit", "design": str(design.id), "recipient_kind": "user", "username": member.username,
        "contest": "Phong trào thi đua năm 2025", "round": "", "prize": "Giải Nhất"})
    assert response.status_code == 302
    certificate = Certificate.get()
    assert certificate.user_id == member.id and certificate.issued_by_id == organiser.id
    assert certificate.values["achievement"] == ("Đã có thành tích xuất sắc trong Phong trào thi đua năm 2025, "
                                                 "đạt Giải Nhất.")
    assert AuditLog.get(AuditLog.action == "certificate.issue").actor_id == organiser.id


def test_issuing_one_to_a_unit(client, organiser, design, cell):
    response = client.post("/manage/certificates/new", data={
        "kind": "merit", "design": str(design.id), "recipient_kind": "unit", "unit_code": "HV-AS",
        "achievement": "Đã có thành tích xuất sắc trong phong trào thi đua năm {nam}."})
    assert response.status_code == 302
    certificate = Certificate.get()
    assert (certificate.unit_id, certificate.values["recipient_prefix"]) == (cell.id, "")


def test_issuing_one_to_someone_outside_the_units_is_refused(client, organiser, design, make_user,
                                                             stranger_committee):
    outsider = make_user(unit=stranger_committee)
    text = page(client.post("/manage/certificates/new", data={
        "kind": "merit", "design": str(design.id), "recipient_kind": "user", "username": outsider.username}))
    assert f"không có đảng viên {outsider.username}" in text
    assert Certificate.select().count() == 0


def test_issuing_needs_a_design_first(client, organiser):
    assert "Hãy tạo mẫu giấy khen trước" in page(client.get("/manage/certificates/new"))


# -- designs ---------------------------------------------------------------------------------------

def _design_form(**overrides):
    data = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in DESIGN.items()}
    data.update(next_golden_book_number="1")
    data.update(overrides)
    return data


def test_creating_and_editing_a_design(client, organiser, committee, cell):
    form = page(client.get("/manage/certificates/designs/new"))
    assert "Đã có thành tích xuất sắc trong {hoi_thi}" in form and 'value="party"' in form
    response = client.post("/manage/certificates/designs/new", data=_design_form(owner_unit=str(committee.id)))
    assert response.status_code == 302
    design = Design.get()
    assert (design.owner_unit_id, design.decision_number, design.header) == (committee.id, "123-QĐ/HU", "party")
    response = client.post(f"/manage/certificates/designs/{design.id}",
                           data=_design_form(owner_unit=str(committee.id), header="state", golden_book="y"))
    assert response.status_code == 302
    assert (reload(design).header, reload(design).golden_book) == ("state", True)
    assert "Giấy khen Hội thi 2025" in page(client.get("/manage/certificates/designs"))


def _png():
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (300, 200), (183, 28, 28)).save(out, "PNG")
    return out.getvalue()


def test_a_design_takes_a_logo_and_lets_it_go(client, organiser, committee, design):
    data = _design_form(owner_unit=str(committee.id), logo=(io.BytesIO(_png()), "logo.png"))
    response = client.post(f"/manage/certificates/designs/{design.id}", data=data,
                           content_type="multipart/form-data")
    assert response.status_code == 302
    logo = reload(design).logo
    assert (logo.mime, logo.width, logo.height) == ("image/png", 300, 200)
    [certificate], _skipped = issue.issue_many(None, reload(design), [person(organiser)], NOW, PUBLIC)
    assert certificate.values["logo"] == logo.sha256
    assert "300 × 200" in page(client.get(f"/manage/certificates/designs/{design.id}"))
    client.post(f"/manage/certificates/designs/{design.id}", data=_design_form(owner_unit=str(committee.id),
                                                                               remove_logo="y"))
    assert reload(design).logo_id is None and reload(certificate).values["logo"] == logo.sha256


def test_a_design_refuses_a_file_that_is_no_image(client, organiser, committee, design):
    data = _design_form(owner_unit=str(committee.id), border=(io.BytesIO(b"%PDF-1.4 not a picture"), "khung.png"))
    text = page(client.post(f"/manage/certificates/designs/{design.id}", data=data,
                            content_type="multipart/form-data"))
    assert "Ảnh khung viền hoặc nền:" in text
    assert reload(design).border_id is None


def test_a_design_with_a_bad_placeholder_is_shown_again_with_the_message(client, organiser, committee):
    text = page(client.post("/manage/certificates/designs/new", data=_design_form(
        owner_unit=str(committee.id), merit_achievement="Đạt {ho_ten.__class__}")))
    assert "{ho_ten.__class__} không phải trường điền tự động" in text
    assert Design.select().count() == 0


def test_a_design_goes_only_to_the_organisers_units(client, organiser, stranger_committee):
    text = page(client.get("/manage/certificates/designs/new"))
    assert "Đảng bộ huyện Đại Lộc" not in text
    client.post("/manage/certificates/designs/new", data=_design_form(owner_unit=str(stranger_committee.id)))
    assert Design.select().count() == 0


def test_another_committees_design_is_out_of_reach(client, login, design, stranger_committee):
    login(role="organiser", unit=stranger_committee)
    assert client.get(f"/manage/certificates/designs/{design.id}").status_code == 403
    assert "Giấy khen Hội thi 2025" not in page(client.get("/manage/certificates/designs"))


def test_a_sample_pdf_of_a_design(client, organiser, design):
    response = client.get(f"/manage/certificates/designs/{design.id}/preview/merit.pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")


# -- CSRF ------------------------------------------------------------------------------------------

class TestWithCsrf:
    @pytest.fixture
    def app_config(self):
        return {"WTF_CSRF_ENABLED": True}

    @staticmethod
    def token(text):
        return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"',
                         text).group(1, 2)

    def test_a_revoke_without_the_token_is_refused(self, client, committee, certificate, make_user):
        user = make_user(role="organiser", unit=committee)
        first, second = self.token(page(client.get("/login")))
        client.post("/login", data={"username": user.username, "password": PASSWORD, "csrf_token": first or second})
        refused = client.post(f"/manage/certificates/{certificate.code}/revoke", data={"reason": "Thu hồi"})
        assert refused.status_code == 400
        assert reload(certificate).status == "valid"
        first, second = self.token(page(client.get(f"/manage/certificates/{certificate.code}")))
        done = client.post(f"/manage/certificates/{certificate.code}/revoke",
                           data={"reason": "Thu hồi", "csrf_token": first or second})
        assert done.status_code == 302 and reload(certificate).status == "revoked"
