"""The pledge sheet (XLSX) read back cell by cell: one row per member, formula-like text kept as text."""

import datetime as dt
import io

import openpyxl

from portal.pledges import exports, workflow
from tests.pledges.test_overview import (MEETING, ORG_NOW, file_pledge, org_members, org_period,  # noqa: F401
                                         org_tree)

HEADER_ROW = 5  # three lines above the table, then a blank one


def sheet_of(response):
    assert response.status_code == 200, response.status_code
    assert response.mimetype == exports.MIMETYPE
    return openpyxl.load_workbook(io.BytesIO(response.data)).active


def values(ws, row):
    return [cell.value for cell in ws[row]]


def test_a_cells_sheet_has_every_member_with_items_report_and_evaluation(client, login, make_user, org_tree,
                                                                         org_period):
    cell = org_tree["an_son"]
    mai = make_user(unit=cell, full_name="Nguyễn Thị Mai", position="Giáo viên", birth_date=dt.date(1988, 2, 3))
    file_pledge(org_period, mai, "closed", level="excellent",
                         comment="Đồng chí thực hiện vượt các nội dung đã đăng ký.", items=[
                             {"content": "Vận động 15 hộ giữ vệ sinh", "measure": "Tổng vệ sinh Chủ nhật",
                              "deadline": "Hằng tháng", "evidence": "Đường làng sạch"},
                             {"content": "Giúp một hộ nghèo", "measure": "Hỗ trợ giống gà", "deadline": "Quý III/2026",
                              "evidence": "Hộ có thu nhập"}])
    make_user(unit=cell, full_name="Trần Văn An")  # no pledge yet
    file_pledge(org_period, make_user(unit=cell, full_name="Võ Thị Yến"), "submitted", late=True)
    login(role="organiser", scope=org_tree["district"])
    response = client.get(f"/manage/pledges/{org_period.id}/export.xlsx?unit={cell.id}")
    assert response.headers["Content-Disposition"].endswith(f"dang-ky-lam-theo-2026-{cell.code}.xlsx")
    ws = sheet_of(response)
    assert ws["A1"].value == "DANH SÁCH ĐĂNG KÝ LÀM THEO VÀ KẾT QUẢ ĐÁNH GIÁ NĂM 2026"
    assert ws["A2"].value == "Đăng ký làm theo năm 2026 · Chi bộ thôn An Sơn"
    assert values(ws, HEADER_ROW) == ["STT", "Họ và tên", "Ngày sinh", "Chức vụ", "Chi bộ", "Trạng thái",
                                      "Việc đăng ký làm theo (nội dung · biện pháp · thời hạn · sản phẩm)",
                                      "Tự đánh giá cuối năm (đã làm / chưa làm)", "Nhận xét của tập thể chi bộ",
                                      "Mức xếp loại đề xuất", "Ngày họp chi bộ"]
    assert ws.freeze_panes == f"A{HEADER_ROW + 1}"
    # Vietnamese order, by the given name: An, Mai, Yến
    assert values(ws, HEADER_ROW + 1)[:6] == [1, "Trần Văn An", dt.datetime(1985, 5, 17), None,
                                              "Chi bộ thôn An Sơn", "Chưa đăng ký"]
    row = values(ws, HEADER_ROW + 2)
    assert row[:6] == [2, "Nguyễn Thị Mai", dt.datetime(1988, 2, 3), "Giáo viên", "Chi bộ thôn An Sơn", "Hoàn tất"]
    assert row[6] == ("1. Vận động 15 hộ giữ vệ sinh · Tổng vệ sinh Chủ nhật · Hằng tháng · Đường làng sạch\n"
                      "2. Giúp một hộ nghèo · Hỗ trợ giống gà · Quý III/2026 · Hộ có thu nhập")
    assert row[7] == ("1. Đã làm: Đã vận động đủ 15 hộ.; Chưa làm: Còn 1 buổi chưa làm.\n"
                      "2. Đã làm: Đã vận động đủ 15 hộ.; Chưa làm: Còn 1 buổi chưa làm.")
    assert row[8:] == ["Đồng chí thực hiện vượt các nội dung đã đăng ký.", "Hoàn thành xuất sắc nhiệm vụ",
                       dt.datetime.combine(MEETING, dt.time())]
    assert ws.cell(HEADER_ROW + 2, 11).number_format == "dd/mm/yyyy"
    assert ws.cell(HEADER_ROW + 2, 7).alignment.wrap_text  # the items show one per line in Excel
    assert values(ws, HEADER_ROW + 3)[5] == "Đã nộp (nộp muộn)"
    assert ws.max_row == HEADER_ROW + 3


def test_a_correction_replaces_the_level_in_the_sheet(client, login, make_user, org_tree, org_period):
    member = make_user(unit=org_tree["an_son"])
    pledge = file_pledge(org_period, member, "evaluated", level="excellent")
    workflow.evaluate(None, pledge, MEETING, "Điều chỉnh: hoàn thành tốt.", "good", ORG_NOW,
                      reason="Vượt tỷ lệ quy định.")
    login(role="organiser", scope=org_tree["district"])
    row = values(sheet_of(client.get(f"/manage/pledges/{org_period.id}/export.xlsx?unit={org_tree['an_son'].id}")),
                 HEADER_ROW + 1)
    assert row[5] == "Đã đánh giá" and row[8:10] == ["Điều chỉnh: hoàn thành tốt.", "Hoàn thành tốt nhiệm vụ"]


def test_formula_like_text_stays_text(client, login, make_user, org_tree, org_period):
    evil = '=HYPERLINK("http://example.com/x","Bấm vào đây")'
    member = make_user(unit=org_tree["an_son"], full_name=evil, position="+84 905 000 000")
    file_pledge(org_period, member, "evaluated", comment="@SUM(A1:A9)", items=[
        {"content": evil, "measure": "-1", "deadline": "", "evidence": ""}])
    login(role="organiser", scope=org_tree["district"])
    ws = sheet_of(client.get(f"/manage/pledges/{org_period.id}/export.xlsx?unit={org_tree['an_son'].id}"))
    cells = ws[HEADER_ROW + 1]
    assert all(cell.data_type != "f" for cell in cells)
    assert cells[1].value == "'" + evil and cells[3].value == "'+84 905 000 000"
    assert cells[6].value == f"1. {evil} · -1" and cells[8].value == "'@SUM(A1:A9)"


def test_the_whole_subtree_in_tree_order_and_only_the_active_members(client, login, org_tree, org_period,
                                                                      org_members):
    login(role="organiser", scope=org_tree["district"])
    ws = sheet_of(client.get(f"/manage/pledges/{org_period.id}/export.xlsx"))
    rows = [values(ws, r) for r in range(HEADER_ROW + 1, ws.max_row + 1)]
    assert len(rows) == 12 and [r[0] for r in rows] == list(range(1, 13))
    assert [r[4] for r in rows] == ["Chi bộ Trung tâm Y tế huyện"] * 2 + ["Chi bộ thôn An Sơn"] * 7 + \
        ["Chi bộ thôn Đông Lâm"] * 3
    states = sorted(r[5] for r in rows if r[4] == "Chi bộ thôn An Sơn")
    assert states == sorted(["Đang soạn", "Đã nộp", "Đã tiếp nhận", "Đã tự đánh giá", "Đã đánh giá", "Hoàn tất",
                             "Trả lại để sửa"])


def test_a_unit_outside_the_organisers_part_is_refused(client, login, org_tree, org_period):
    login(role="organiser", scope=org_tree["commune"])
    assert client.get(f"/manage/pledges/{org_period.id}/export.xlsx?unit={org_tree['health'].id}").status_code == 403
    ws = sheet_of(client.get(f"/manage/pledges/{org_period.id}/export.xlsx"))
    assert ws["A2"].value.endswith("Đảng bộ xã Hòa Ninh")
    assert client.get(f"/manage/pledges/{org_period.id}/export.xlsx?unit=99999").status_code == 404


def test_an_organiser_of_two_separate_parts_gets_one_sheet_for_each(client, login, org_tree, org_period,
                                                                    org_members):
    from portal.accounts.models import RoleGrant

    organiser = login(role="organiser", scope=org_tree["commune"])
    RoleGrant.create(user=organiser, role="organiser", unit=org_tree["health"])
    response = client.get(f"/manage/pledges/{org_period.id}/export.xlsx")
    assert response.headers["Content-Disposition"].endswith("dang-ky-lam-theo-2026-HV-HN_HV-YT.xlsx")
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["HV-HN", "HV-YT"]
    assert book["HV-HN"]["A2"].value.endswith("Đảng bộ xã Hòa Ninh")
    assert book["HV-YT"]["A2"].value.endswith("Chi bộ Trung tâm Y tế huyện")
    cells = {values(book["HV-YT"], r)[4] for r in range(HEADER_ROW + 1, book["HV-YT"].max_row + 1)}
    assert cells == {"Chi bộ Trung tâm Y tế huyện"}
