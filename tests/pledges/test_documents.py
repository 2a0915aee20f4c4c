"""The pledge PDFs: a member's pledge in the official form, who may download it, and a cell's file."""

import datetime as dt
import subprocess
import unicodedata

import pytest

from portal.pledges import documents, workflow
from tests.conftest import reload

NOW = dt.datetime(2026, 3, 10, 3, 0)  # UTC: 10:00 in Vietnam
LATER = dt.datetime(2026, 12, 20, 3, 0)
NAME = "Nguyễn Thị Ngọc Hưởng"


@pytest.fixture
def committee(make_unit):
    return make_unit("HV", "Đảng bộ huyện Hòa Vang", "committee")


@pytest.fixture
def cell(make_unit, committee):
    return make_unit("HV-AS", "Chi bộ thôn An Sơn", parent=committee)


@pytest.fixture
def period(committee):
    return workflow.save_period(None, None, committee, {
        "title": "Đăng ký làm theo năm 2026", "year": 2026,
        "topic": "Học tập và làm theo tư tưởng, đạo đức, phong cách Hồ Chí Minh về ý chí tự lực, tự cường",
        "basis": "Căn cứ Chỉ thị 05-CT/TW ngày 15/5/2016 của Bộ Chính trị.",
        "opens_on": dt.date(2026, 1, 1), "register_by": dt.date(2026, 3, 31), "mid_year_by": dt.date(2026, 7, 15),
        "year_end_by": dt.date(2026, 12, 15)}, NOW)


@pytest.fixture
def secretary(make_user, cell):
    return make_user(role="secretary", unit=cell, full_name="Trần Văn Bí")


def file_pledge(user, period, content="Dọn vệ sinh đường làng mỗi tháng", submit=True):
    pledge = workflow.start(user, period, NOW)
    workflow.save_draft(user, pledge, {"ideology": "Kiên định lập trường chính trị", "ethics": "Sống giản dị"},
                        [{"content": content, "measure": "Vận động bà con cùng làm", "deadline": "Cả năm",
                          "evidence": "Ảnh chụp"}], NOW)
    if submit:
        workflow.submit(user, pledge, NOW)
    return pledge


@pytest.fixture
def evaluated(make_user, cell, period, secretary):
    """A member's pledge acknowledged, reported mid-year, evaluated, then corrected."""
    member = make_user(unit=cell, full_name=NAME, position="Trưởng thôn")
    pledge = file_pledge(member, period)
    workflow.acknowledge(secretary, pledge, NOW)
    item = workflow.items_of(pledge)[0]
    workflow.file_report(member, pledge, "mid_year", {item.id: {"done": "Đã tổ chức sáu buổi dọn vệ sinh",
                                                                "next_steps": "Tiếp tục"}}, NOW)
    workflow.evaluate(secretary, pledge, dt.date(2026, 12, 18), "Nhận xét cũ cần đính chính", "fulfilled", LATER)
    workflow.evaluate(secretary, reload(pledge), dt.date(2026, 12, 18), "Gương mẫu, nhiệt tình với công việc chung",
                      "good", LATER + dt.timedelta(minutes=5), reason="Ghi nhầm mức")
    return reload(pledge)


def pdf_text(content):
    out = subprocess.run(["pdftotext", "-layout", "-", "-"], input=content, capture_output=True, check=True).stdout
    return " ".join(unicodedata.normalize("NFC", out.decode()).split())


def pdf_info(content):
    out = subprocess.run(["pdfinfo", "-"], input=content, capture_output=True, check=True).stdout.decode()
    return dict(line.split(":", 1) for line in out.splitlines() if ":" in line)


def test_the_pledge_pdf_shows_the_form_the_items_and_the_collectives_comment(client, auth, evaluated):
    auth.login(evaluated.user.username)
    response = client.get(f"/pledges/{evaluated.id}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "ban-cam-ket-2026-Nguyen-Thi-Ngoc-Huong.pdf" in response.headers["Content-Disposition"]
    text = pdf_text(response.data)
    for expected in ("ĐẢNG BỘ HUYỆN HÒA VANG", "CHI BỘ THÔN AN SƠN", "ĐẢNG CỘNG SẢN VIỆT NAM",
                     "Hòa Vang, ngày 10 tháng 3 năm 2026",
                     "BẢN CAM KẾT TU DƯỠNG, RÈN LUYỆN, PHẤN ĐẤU VÀ ĐĂNG KÝ LÀM THEO TƯ TƯỞNG, ĐẠO ĐỨC,",
                     "PHONG CÁCH HỒ CHÍ MINH NĂM 2026", "Căn cứ Chỉ thị 05-CT/TW",
                     f"Họ và tên: {NAME}", "Ngày sinh: 17/05/1985", "Chức vụ: Trưởng thôn",
                     "I. CAM KẾT TU DƯỠNG, RÈN LUYỆN", "1. Về tư tưởng chính trị: Kiên định lập trường chính trị",
                     "2. Về phẩm chất đạo đức, lối sống: Sống giản dị", "Về ý thức tổ chức kỷ luật",
                     "Về tác phong, lề lối làm việc", "Về thực hiện chức trách, nhiệm vụ được giao",
                     "Khắc phục hạn chế, khuyết điểm năm trước", "II. ĐĂNG KÝ LÀM THEO", "Biện pháp",
                     "Sản phẩm/minh", "Dọn vệ sinh", "Vận động bà con", "Tự đánh giá giữa năm",
                     "Đã tổ chức sáu", "NHẬN XÉT CỦA TẬP THỂ CHI BỘ", "Cuộc họp chi bộ ngày 18/12/2026",
                     "Gương mẫu, nhiệt tình với công việc chung",
                     "Mức xếp loại đề xuất: Hoàn thành tốt nhiệm vụ", "XÁC NHẬN CỦA CHI BỘ", "NGƯỜI CAM KẾT",
                     "Trần Văn Bí"):
        assert expected in text, expected
    assert "Nhận xét cũ" not in text and "Hoàn thành nhiệm vụ." not in text  # the superseded entry is gone
    assert "Tự đánh giá cuối năm" not in text  # no year-end report filed
    assert f"(Ký, ghi rõ họ tên) Trần Văn Bí {NAME}" in text  # the two signatures, side by side
    info = pdf_info(response.data)
    assert info["Title"].strip() == f"Bản cam kết năm 2026 - {NAME}"
    assert info["Author"].strip() == "Chi bộ thôn An Sơn"
    assert info["Pages"].strip() in ("1", "2")


def test_a_draft_prints_blank_lines_for_the_collective_and_a_draft_mark(app, make_user, cell, period):
    member = make_user(unit=cell, full_name=NAME)
    pledge = file_pledge(member, period, submit=False)
    text = pdf_text(documents.render_pledge(documents.pledge_data(pledge)))
    assert "BẢN NHÁP" in text
    assert "Cuộc họp chi bộ ngày …… tháng …… năm 2026" in text
    assert "Mức xếp loại đề xuất: …" in text


@pytest.mark.parametrize("who", ["member", "other_secretary", "sibling_organiser"])
def test_others_cannot_download_a_pledge(client, auth, make_user, make_unit, committee, evaluated, who):
    other_cell = make_unit("HV-BS", "Chi bộ thôn Bình Sơn", parent=committee)
    sibling = make_unit("DB", "Đảng bộ huyện Đại Bình", "committee")
    user = {"member": lambda: make_user(unit=evaluated.unit),
            "other_secretary": lambda: make_user(role="secretary", unit=other_cell),
            "sibling_organiser": lambda: make_user(role="organiser", unit=sibling)}[who]()
    auth.login(user.username)
    assert client.get(f"/pledges/{evaluated.id}.pdf").status_code == 404


@pytest.mark.parametrize("role", ["secretary", "organiser"])
def test_the_cells_secretary_and_the_organiser_above_download_it(client, auth, make_user, committee, cell,
                                                                  evaluated, role):
    user = make_user(role="secretary", unit=cell) if role == "secretary" else make_user(role="organiser",
                                                                                        unit=committee)
    auth.login(user.username)
    response = client.get(f"/pledges/{evaluated.id}.pdf")
    assert response.status_code == 200
    assert NAME in pdf_text(response.data)


def test_the_cells_file_has_every_filed_pledge_on_its_own_pages_in_name_order(client, auth, make_user, cell,
                                                                               period, secretary, evaluated):
    names = ["Lê Thị Ánh", "Võ Văn Cường"]
    for name in names:
        file_pledge(make_user(unit=cell, full_name=name), period, content=f"Việc của {name.split()[-1]}")
    file_pledge(make_user(unit=cell, full_name="Phạm Văn Nháp"), period, submit=False)  # a draft stays out
    auth.login(secretary.username)
    response = client.get(f"/manage/pledges/{period.id}/cells/{cell.id}.pdf")
    assert response.status_code == 200
    assert "ban-cam-ket-2026-Chi-bo-thon-An-Son.pdf" in response.headers["Content-Disposition"]
    info = pdf_info(response.data)
    assert int(info["Pages"]) >= 3
    assert info["Title"].strip() == "Bản cam kết năm 2026 - Chi bộ thôn An Sơn"
    assert info["Author"].strip() == "Chi bộ thôn An Sơn"
    text = pdf_text(response.data)
    # Vietnamese order: by the given name (Ánh, Cường, Hưởng), as the lists of a cell are kept
    positions = [text.index(f"Họ và tên: {name}") for name in ["Lê Thị Ánh", "Võ Văn Cường", NAME]]
    assert positions == sorted(positions)
    assert "Phạm Văn Nháp" not in text
    # each pledge starts a page of its own
    pages = subprocess.run(["pdftotext", "-", "-"], input=response.data, capture_output=True,
                           check=True).stdout.decode().split("\f")
    starts = [n for n, page in enumerate(pages) if "ĐẢNG CỘNG SẢN VIỆT NAM" in page]
    assert len(starts) == 3 and all("Họ và tên" in pages[n] for n in starts)


def test_the_cells_file_is_refused_to_another_cells_secretary(client, auth, make_user, make_unit, committee, cell,
                                                               period, evaluated):
    other = make_user(role="secretary", unit=make_unit("HV-BS", "Chi bộ thôn Bình Sơn", parent=committee))
    auth.login(other.username)
    assert client.get(f"/manage/pledges/{period.id}/cells/{cell.id}.pdf").status_code == 403
    member = evaluated.user
    auth.logout()
    auth.login(member.username)
    assert client.get(f"/manage/pledges/{period.id}/cells/{cell.id}.pdf").status_code == 403


def test_an_empty_cell_says_there_is_nothing_to_print(client, auth, make_user, cell, period, secretary):
    auth.login(secretary.username)
    response = client.get(f"/manage/pledges/{period.id}/cells/{cell.id}.pdf", follow_redirects=True)
    assert response.status_code == 200
    assert "application/pdf" not in response.content_type
