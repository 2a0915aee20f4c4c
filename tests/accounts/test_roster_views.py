"""The member list and the roster import pages (HTTP)."""

import datetime as dt
import io
import os
import re

import pytest
from openpyxl import load_workbook

from portal.accounts.models import AuditLog, RosterImport, User
from portal.accounts.passwords import verify_password
from tests.accounts.test_roster import HEAD_USER, csv_bytes, person, tree, xlsx_bytes  # noqa: F401 (tree is a fixture)
from tests.conftest import PASSWORD


@pytest.fixture
def organiser(tree, login):
    """An organiser of the Hòa Ninh commune, logged in."""
    return login(role="organiser", scope=tree["HN"], unit=tree["CB1"], full_name="Lê Thị Thu Hà")


def upload(client, data, filename="danh-sach.csv"):
    return client.post("/members/import", data={"file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def confirm_fields(page):
    return dict(re.findall(r'name="(token|sha256)" type="hidden" value="([^"]*)"', page))


def text(response):
    return response.get_data(as_text=True)


# Access -------------------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["/members/", "/members/import", "/members/export.xlsx",
                                 "/members/import/template.xlsx"])
def test_a_member_is_refused(tree, login, client, url):
    login(unit=tree["CB1"])
    response = client.get(url)
    assert response.status_code == 403
    assert "Đồng chí không có quyền truy cập trang này" in text(response)


def test_anonymous_is_sent_to_login(client, app):
    response = client.get("/members/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_secretary_sees_the_cell_but_cannot_import(tree, login, client, make_user):
    make_user(full_name="Phạm Văn Dũng", unit=tree["CB1"])
    make_user(full_name="Người Ở Chi Bộ Khác", unit=tree["CB2"])
    login(role="secretary", unit=tree["CB1"])
    page = text(client.get("/members/"))
    assert "Phạm Văn Dũng" in page and "Người Ở Chi Bộ Khác" not in page
    assert "Cấp lại mật khẩu" not in page
    assert client.get("/members/import").status_code == 403
    assert upload(client, csv_bytes(person())).status_code == 403
    assert client.post("/members/import/confirm", data={"token": "x" * 32, "sha256": "0" * 64}).status_code == 403


# The member list ----------------------------------------------------------------------------

def test_member_list_columns_groups_and_counts(tree, organiser, client, make_user):
    make_user(username="huongtt", full_name="Trần Thị Hương", unit=tree["CB2"], gender="female",
              birth_date=dt.date(1979, 3, 8), position="Bí thư chi bộ", phone="0987654321")
    make_user(full_name="Ở Xã Khác", unit=tree["CB3"])
    page = text(client.get("/members/"))
    for header in ("Họ và tên", "Tên đăng nhập", "Ngày sinh", "Giới tính", "Đơn vị", "Chức vụ",
                   "Số điện thoại", "Trạng thái"):
        assert f">{header}</th>" in page
    assert "Trần Thị Hương" in page and "huongtt" in page and "08/03/1979" in page
    assert "Nữ" in page and "Bí thư chi bộ" in page and "0987654321" in page and "đang hoạt động" in page
    assert "Ở Xã Khác" not in page  # outside the organiser's commune
    assert "1 tài khoản / 19 đảng viên" in page  # Chi bộ thôn Đông Lâm
    assert "Cấp lại mật khẩu" in page
    # the unit filter lists the organiser's units, indented by depth
    assert re.search(r'<option value="\d+">\xa0\xa0\xa0Chi bộ thôn An Sơn</option>', page)
    assert "Chi bộ thôn Hòa Khê" not in page


def test_an_admin_sees_every_unit(tree, login, client, make_user):
    make_user(full_name="Ở Xã Khác", unit=tree["CB3"])
    login(role="admin")
    page = text(client.get("/members/"))
    assert "Ở Xã Khác" in page
    assert re.search(r'<option value="\d+">Đảng bộ huyện Hòa Vang</option>', page)
    assert re.search(r'<option value="\d+">(\xa0){6}Chi bộ thôn Hòa Khê</option>', page)


def test_filter_by_unit_and_search_by_name(tree, organiser, client, make_user):
    make_user(full_name="Trần Thị Hương", unit=tree["CB2"])
    make_user(full_name="Phạm Văn Dũng", unit=tree["CB1"])
    page = text(client.get(f"/members/?unit={tree['CB2'].id}"))
    assert "Trần Thị Hương" in page and "Phạm Văn Dũng" not in page
    page = text(client.get("/members/?q=Dũng"))
    assert "Phạm Văn Dũng" in page and "Trần Thị Hương" not in page
    # a unit outside the scope shows the whole scope, never the other unit's members
    make_user(full_name="Ở Xã Khác", unit=tree["CB3"])
    assert "Ở Xã Khác" not in text(client.get(f"/members/?unit={tree['CB3'].id}"))


@pytest.mark.parametrize("query", ["unit=", "unit=abc", "page=x", "unit=&q=&page="])
def test_empty_or_junk_filters_show_everything_without_an_error(tree, organiser, client, make_user, query):
    make_user(full_name="Trần Thị Hương", unit=tree["CB2"])
    response = client.get(f"/members/?{query}")
    assert response.status_code == 200
    page = text(response)
    assert "Trần Thị Hương" in page and "Invalid" not in page and "Not a valid" not in page


def test_member_list_is_paginated_by_fifty(tree, organiser, client, make_user):
    for i in range(55):
        make_user(full_name=f"Đảng Viên {i:02d}", unit=tree["CB2"])
    first = text(client.get(f"/members/?unit={tree['CB2'].id}"))
    assert "Đảng Viên 00" in first and "Đảng Viên 54" not in first
    assert "Trang 1/2" in first
    second = text(client.get(f"/members/?unit={tree['CB2'].id}&page=2"))
    assert "Đảng Viên 54" in second and "Đảng Viên 00" not in second


def test_reset_password_shows_the_new_password_once(tree, organiser, client, make_user):
    member = make_user(full_name="Trần Thị Hương", unit=tree["CB2"])
    response = client.post(f"/members/{member.id}/reset-password")
    page = text(response)
    assert response.status_code == 200
    password = re.search(r'<span class="secret">([^<]+)</span>', page).group(1)
    assert verify_password(User.get_by_id(member.id).password_hash, password)
    assert User.get_by_id(member.id).must_change_password
    assert "data-print" in page and "chỉ hiển thị một lần" in page
    assert response.headers["Cache-Control"] == "no-store"
    assert password not in text(client.get("/members/"))


def test_reset_password_is_refused_outside_scope_and_for_secretaries(tree, organiser, client, make_user, auth):
    outsider = make_user(unit=tree["CB3"])
    assert client.post(f"/members/{outsider.id}/reset-password").status_code == 403
    admin = make_user(unit=tree["CB1"], role="admin")
    assert client.post(f"/members/{admin.id}/reset-password").status_code == 403
    assert client.post("/members/999999/reset-password").status_code == 404
    assert verify_password(User.get_by_id(outsider.id).password_hash, PASSWORD)


def test_export_is_excel_with_safe_cells(tree, organiser, client, make_user):
    make_user(full_name="=HYPERLINK(\"http://evil\")", unit=tree["CB1"], position="+1+1")
    make_user(full_name="Trần Thị Hương", unit=tree["CB2"], birth_date=dt.date(1979, 3, 8))
    response = client.get("/members/export.xlsx")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    ws = load_workbook(io.BytesIO(response.data)).active
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    assert rows[0][:4] == ["Họ và tên", "Ngày sinh", "Giới tính", "Đơn vị (mã)"]
    names = [r[0] for r in rows[1:]]
    assert "Trần Thị Hương" in names and "'=HYPERLINK(\"http://evil\")" in names
    assert ws.cell(row=2 + names.index("Trần Thị Hương"), column=2).value == "08/03/1979"
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)


# The import page and the template -----------------------------------------------------------

def test_import_page_explains_the_rules(tree, organiser, client):
    page = text(client.get("/members/import"))
    assert "/members/import/template.xlsx" in page and "/members/import/template.csv" in page
    assert "Tên đăng nhập" in page and "trùng họ tên và ngày sinh" in page
    assert "không nhập dòng nào" in page and "7 ngày" in page


def test_templates_download(tree, organiser, client):
    response = client.get("/members/import/template.xlsx")
    assert response.status_code == 200
    wb = load_workbook(io.BytesIO(response.data))
    assert [c.value for c in wb.worksheets[0][1]] == HEAD_USER
    assert [r[0].value for r in wb.worksheets[1].iter_rows(min_row=2)] == ["HN", "CB1", "CB2"]
    response = client.get("/members/import/template.csv")
    assert response.data.startswith("\ufeffHọ và tên,Ngày sinh,Giới tính,Đơn vị (mã)".encode())
    assert client.get("/members/import/template.pdf").status_code == 404


# Upload, preview, confirm -------------------------------------------------------------------

def test_preview_writes_nothing_then_confirm_imports(tree, organiser, client, app):
    data = csv_bytes(person(unit="CB2"), person(name="Trần Thị Lụa", born="02/09/1990", gender="Nữ"))
    response = upload(client, data)
    page = text(response)
    assert response.status_code == 200
    assert "Xem trước khi nhập" in page and "Xác nhận nhập danh sách" in page
    assert re.search(r"<strong>2</strong>tạo mới", page)
    assert "annv" in page and "Chi bộ thôn Đông Lâm (CB2)" in page
    assert User.select().where(User.username == "annv").count() == 0
    fields = confirm_fields(page)
    stored = os.path.join(app.instance_path, "imports", fields["token"] + ".bin")
    with open(stored, "rb") as fh:
        assert fh.read() == data

    response = client.post("/members/import/confirm", data=fields)
    assert response.status_code == 302
    ri = RosterImport.get()
    assert response.headers["Location"].endswith(f"/members/imports/{ri.id}")
    assert not os.path.exists(stored)
    assert User.get(User.username == "annv").unit_id == tree["CB2"].id
    assert AuditLog.get(AuditLog.action == "roster.import").actor_id == organiser.id

    page = text(client.get(f"/members/imports/{ri.id}"))
    assert "Đã nhập xong: 2 tạo mới, 0 cập nhật, 0 không đổi." in page
    assert f"/members/imports/{ri.id}/credentials.pdf" in page
    assert f"/members/imports/{ri.id}/credentials.xlsx" in page

    pdf = client.get(f"/members/imports/{ri.id}/credentials.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert pdf.headers["Cache-Control"] == "no-store"
    ws = load_workbook(io.BytesIO(client.get(f"/members/imports/{ri.id}/credentials.xlsx").data)).active
    values = [c.value for row in ws.iter_rows() for c in row]
    assert "Trần Thị Lụa" in values and "luatt" in values


def test_rejected_rows_offer_no_confirmation(tree, organiser, client, app):
    response = upload(client, xlsx_bytes(person(), person(name="Lê Văn Bình", born="31/02/1980"),
                                         person(name="Ở Xã Khác", unit="CB3")), "ds.xlsx")
    page = text(response)
    assert "Dòng 3, cột Ngày sinh: &#39;31/02/1980&#39; không phải là ngày hợp lệ" in page
    assert "Dòng 4, cột Đơn vị (mã): đồng chí không có quyền nhập vào đơn vị &#39;CB3&#39;" in page
    assert "Xác nhận nhập danh sách" not in page and 'name="token"' not in page
    assert "sửa các dòng này trong tệp rồi tải lên lại" in page
    assert not os.path.exists(os.path.join(app.instance_path, "imports")) or \
        not os.listdir(os.path.join(app.instance_path, "imports"))
    assert User.select().count() == 1  # the organiser


@pytest.mark.parametrize("data, filename, message", [
    (b"", "ds.csv", "Tệp trống."),
    (csv_bytes(), "ds.csv", "chỉ có dòng tiêu đề"),
    (b"PK\x03\x04 not really", "ds.xlsx", "không phải là tệp Excel (.xlsx) thật"),
    (csv_bytes(person()), "ds.xlsx", "không phải là tệp Excel (.xlsx) thật"),
    (csv_bytes(person()), "ds.txt", "không phải tệp CSV hay Excel (.xlsx)"),
    (csv_bytes(person(), encoding="utf-16"), "ds.csv", "CSV UTF-8"),
    (csv_bytes(["An"], headers=["Họ và tên"]), "ds.csv", "thiếu cột bắt buộc"),
])
def test_file_problems_are_shown_on_the_form(tree, organiser, client, data, filename, message):
    page = text(upload(client, data, filename))
    assert message in page.replace("&#34;", '"')
    assert "Kiểm tra tệp" in page  # the upload form again
    assert User.select().count() == 1


def test_upload_without_a_file(tree, organiser, client):
    page = text(client.post("/members/import", data={}, content_type="multipart/form-data"))
    assert "Hãy chọn tệp để tải lên." in page


def test_confirm_checks_the_uploader_and_the_hash(tree, organiser, client, auth, login, make_user):
    fields = confirm_fields(text(upload(client, csv_bytes(person()))))
    tampered = dict(fields, sha256="0" * 64)
    response = client.post("/members/import/confirm", data=tampered, follow_redirects=True)
    assert "không khớp với tệp đồng chí đã tải lên" in text(response)
    auth.logout()
    login(role="organiser", scope=tree["HN"], unit=tree["CB1"])
    response = client.post("/members/import/confirm", data=fields, follow_redirects=True)
    assert "không khớp với tệp đồng chí đã tải lên" in text(response)
    assert User.select().where(User.username == "annv").count() == 0


def test_confirm_replans_and_refuses_when_rows_became_invalid(tree, organiser, client, make_user):
    fields = confirm_fields(text(upload(client, csv_bytes(person()))))
    for username in ("annv", "an.nguyen"):  # two namesakes appear after the preview
        make_user(username=username, full_name="Nguyễn Văn An", birth_date=dt.date(1985, 5, 17), unit=tree["CB1"])
    response = client.post("/members/import/confirm", data=fields)
    assert response.status_code == 409
    assert "trùng với nhiều tài khoản" in text(response)
    assert RosterImport.select().count() == 0


def test_reimporting_the_same_file_changes_nothing(tree, organiser, client):
    data = csv_bytes(person(), person(name="Trần Thị Lụa", born="02/09/1990", gender="Nữ"))
    client.post("/members/import/confirm", data=confirm_fields(text(upload(client, data))))
    page = text(upload(client, data))
    assert re.search(r"<strong>2</strong>không đổi", page)
    assert "nhập tệp này sẽ không thay đổi gì" in page
    response = client.post("/members/import/confirm", data=confirm_fields(page))
    second = RosterImport.select().order_by(RosterImport.id.desc()).get()
    assert (second.created_count, second.unchanged_count, second.credentials_key) == (0, 2, "")
    page = text(client.get(response.headers["Location"]))
    assert "credentials.pdf" not in page
    assert User.select().count() == 3


# Credentials sheet access -------------------------------------------------------------------

@pytest.fixture
def imported(tree, organiser, client):
    client.post("/members/import/confirm", data=confirm_fields(text(upload(client, csv_bytes(person())))))
    return RosterImport.get()


def test_only_the_importer_or_an_admin_gets_the_sheet(imported, client, auth, login, tree):
    url = f"/members/imports/{imported.id}/credentials.pdf"
    auth.logout()
    login(role="organiser", scope=tree["HN"], unit=tree["CB1"])
    assert client.get(url).status_code == 403
    assert client.get(f"/members/imports/{imported.id}").status_code == 403
    auth.logout()
    login(role="admin")
    assert client.get(url).status_code == 200
    assert client.get("/members/imports/999999").status_code == 404


def test_an_expired_sheet_is_a_404_page_pointing_to_password_resets(imported, client):
    RosterImport.update(credentials_expire_at=dt.datetime(2020, 1, 1)).execute()
    response = client.get(f"/members/imports/{imported.id}/credentials.xlsx")
    assert response.status_code == 404
    assert "cấp lại mật khẩu" in text(response)
    assert "đã hết hạn hoặc đã bị xóa" in text(client.get(f"/members/imports/{imported.id}"))


def test_the_importer_can_delete_the_sheet(imported, client, app):
    folder = os.path.join(app.instance_path, "credentials", imported.credentials_key)
    assert os.path.isdir(folder)
    response = client.post(f"/members/imports/{imported.id}/credentials/delete", follow_redirects=True)
    assert "Đã xóa danh sách tài khoản và mật khẩu." in text(response)
    assert not os.path.exists(folder)
    assert client.get(f"/members/imports/{imported.id}/credentials.pdf").status_code == 404


# Size limits and CSRF -----------------------------------------------------------------------

@pytest.mark.parametrize("app_config", [{"MAX_CONTENT_LENGTH": 2048}])
def test_an_upload_over_the_configured_limit_gets_413(tree, organiser, client):
    response = upload(client, csv_bytes(*[person(name=f"Người Số {i}") for i in range(100)]))
    assert response.status_code == 413
    assert "Tệp quá lớn" in text(response)
    assert User.select().count() == 1


@pytest.mark.parametrize("app_config", [{"ROSTER_MAX_ROWS": 2}])
def test_the_row_limit_is_configurable(tree, organiser, client):
    page = text(upload(client, csv_bytes(*[person(name=f"Người Số {i}") for i in range(3)])))
    assert "Tệp có nhiều hơn 2 dòng đảng viên" in page
    assert "Tối đa 2 dòng" in page


def test_a_50_mb_upload_gets_413(tree, organiser, client):
    body = (b'--b\r\nContent-Disposition: form-data; name="file"; filename="ds.csv"\r\n\r\n'
            + b"a" * (50 * 1024 * 1024) + b"\r\n--b--\r\n")
    response = client.post("/members/import", data=body, content_type="multipart/form-data; boundary=b")
    assert response.status_code == 413
    assert "Tệp quá lớn" in text(response)


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_confirm_and_reset_need_the_csrf_token(tree, client, make_user):
    organiser = make_user(role="organiser", scope=tree["HN"], unit=tree["CB1"])
    login_page = text(client.get("/login"))
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login_page).group(1)
    client.post("/login", data={"username": organiser.username, "password": PASSWORD, "csrf_token": token})
    member = make_user(unit=tree["CB1"])
    assert client.post(f"/members/{member.id}/reset-password").status_code == 400
    assert client.post("/members/import/confirm", data={"token": "x" * 32, "sha256": "0" * 64}).status_code == 400
    page = text(client.get("/members/import"))
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post("/members/import", data={"file": (io.BytesIO(csv_bytes(person())), "ds.csv"),
                                                    "csrf_token": token}, content_type="multipart/form-data")
    assert "Xác nhận nhập danh sách" in text(response)
