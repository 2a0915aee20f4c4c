"""Accounts and roles: /admin/users."""

import datetime as dt
import re

import pytest

from portal.accounts.models import AuditLog, RoleGrant, User
from tests.conftest import PASSWORD, reload


@pytest.fixture
def admin(login):
    return login(role="admin", full_name="Trần Quốc Bảo")


def page(response):
    return response.get_data(as_text=True)


def error_of(html, field_id):
    found = re.search(rf'<p class="error" id="{field_id}-error">([^<]*)</p>', html)
    return found.group(1) if found else None


def secrets_on(html):
    return re.findall(r'<span class="secret">([^<]+)</span>', html)


def profile(**overrides):
    values = {"full_name": "Nguyễn Văn An", "username": "", "birth_date": "1985-05-17", "gender": "male",
              "unit": "", "position": "Đảng viên", "phone": "0912 345 678", "email": ""}
    values.update(overrides)
    return values


# ---------------------------------------------------------------- the list


def test_list_shows_columns_roles_and_last_login(client, admin, make_unit, make_user):
    cell = make_unit("T1", "Chi bộ thôn An Sơn")
    make_user(username="bithu", full_name="Phạm Văn Dũng", unit=cell, role="secretary", position="Bí thư",
              last_login_at=dt.datetime(2026, 3, 1, 1, 30))
    make_user(username="khoa", full_name="Lê Văn Khoá", unit=cell, is_active=False)

    html = page(client.get("/admin/users"))

    row = html[html.index("Phạm Văn Dũng"):]
    row = row[:row.index("</tr>")]
    for text in ("bithu", "Chi bộ thôn An Sơn", "Bí thư", "Bí thư chi bộ · T1", "Đang hoạt động",
                 "08:30 01/03/2026"):
        assert text in row
    locked = html[html.index("Lê Văn Khoá"):]
    assert "Đã khoá" in locked[:locked.index("</tr>")]
    assert "3 tài khoản" in html


@pytest.mark.parametrize("query, found", [("dũng", True), ("bithu", True), ("0988", True), ("Khoá", False)])
def test_search_by_name_username_or_phone(client, admin, make_user, query, found):
    make_user(username="bithu", full_name="Phạm Văn Dũng", phone="0988111222")
    html = page(client.get("/admin/users", query_string={"q": query}))
    assert ("Phạm Văn Dũng" in html) is found
    if not found:
        assert "Không có tài khoản nào phù hợp với bộ lọc." in html


def test_filter_by_unit_takes_the_subtree(client, admin, make_unit, make_user):
    commune = make_unit("HN", "Đảng bộ xã Hòa Ninh", "committee")
    inside = make_user(full_name="Người Trong Xã", unit=make_unit("HN-T1", parent=commune))
    outside = make_user(full_name="Người Ngoài Xã")
    html = page(client.get("/admin/users", query_string={"unit": commune.id}))
    assert inside.full_name in html and outside.full_name not in html
    assert "1 tài khoản phù hợp với bộ lọc" in html


@pytest.mark.parametrize("role, status, shown", [
    ("organiser", "", {"Tổ Chức"}),
    ("member", "", {"Đảng Viên", "Bị Khoá"}),
    ("", "locked", {"Bị Khoá"}),
    ("", "active", {"Tổ Chức", "Đảng Viên", "Trần Quốc Bảo"}),
])
def test_filter_by_role_and_status(client, admin, make_user, role, status, shown):
    make_user(full_name="Tổ Chức", role="organiser")
    make_user(full_name="Đảng Viên")
    make_user(full_name="Bị Khoá", is_active=False)
    html = page(client.get("/admin/users", query_string={"role": role, "status": status}))
    for name in ("Tổ Chức", "Đảng Viên", "Bị Khoá", "Trần Quốc Bảo"):
        assert (f">{name}</a>" in html) is (name in shown), name


def test_list_is_paginated_by_50(client, admin, make_unit, make_user):
    cell = make_unit()
    for n in range(55):
        make_user(full_name=f"Đảng viên {n:02d}", unit=cell)
    first = page(client.get("/admin/users"))
    assert "Trang 1/2" in first and "56 tài khoản" in first
    assert first.count('<a href="/admin/users/') == 50
    second = page(client.get("/admin/users?page=2"))
    assert second.count('<a href="/admin/users/') == 6  # 55 members + the admin


# ---------------------------------------------------------------- create


def test_create_shows_the_initial_password_once(client, admin, make_unit):
    cell = make_unit("T1", "Chi bộ thôn An Sơn")
    response = client.post("/admin/users/new", data=profile(unit=str(cell.id)))
    assert response.status_code == 302
    user = User.get(User.full_name == "Nguyễn Văn An")
    assert user.username == "annv"  # suggested from the name
    assert user.unit_id == cell.id and user.birth_date == dt.date(1985, 5, 17) and user.phone == "0912345678"
    assert user.must_change_password

    html = page(client.get(response.headers["Location"]))
    assert "Đã tạo tài khoản annv cho đồng chí Nguyễn Văn An." in html
    username, password = secrets_on(html)
    assert username == "annv" and len(password) >= 8
    assert "Ctrl+P" in html
    assert secrets_on(page(client.get(response.headers["Location"]))) == []  # only once

    other = client.application.test_client()
    login = other.post("/login", data={"username": "annv", "password": password})
    assert login.headers["Location"].endswith("/account/password")  # must change it first


def test_create_accepts_a_typed_dd_mm_yyyy_date(client, admin):
    client.post("/admin/users/new", data=profile(birth_date="17/05/1985", username="an.nv"))
    assert User.get(User.username == "an.nv").birth_date == dt.date(1985, 5, 17)


@pytest.mark.parametrize("overrides, field, message", [
    ({"phone": "12345"}, "phone", "Số điện thoại: nhập số điện thoại Việt Nam, ví dụ 0912345678."),
    ({"birth_date": "31/02/1980"}, "birth_date", "Ngày sinh: hãy nhập một ngày có thật, ví dụ 17/05/1985."),
    ({"full_name": ""}, "full_name", "Không được để trống."),
    ({"username": "Ông An"}, "username", None),
])
def test_create_shows_bad_input_next_to_the_field(client, admin, overrides, field, message):
    response = client.post("/admin/users/new", data=profile(**overrides))
    assert response.status_code == 200
    error = error_of(page(response), field)
    assert error is not None and (message is None or error == message)
    assert User.select().count() == 1  # only the admin


def test_create_refuses_a_taken_username(client, admin, make_user):
    make_user(username="annv")
    html = page(client.post("/admin/users/new", data=profile(username="annv")))
    assert error_of(html, "username") == "Tên đăng nhập: annv đã có người dùng."


# ---------------------------------------------------------------- edit, lock, password


def test_edit_saves_and_records_what_changed(client, admin, make_unit, make_user):
    user = make_user(full_name="Nguyễn Văn An", position="Đảng viên")
    other_cell = make_unit("T2", "Chi bộ số hai")
    edit_page = page(client.get(f"/admin/users/{user.id}"))
    assert 'value="1985-05-17"' in edit_page  # the date input's own format

    response = client.post(f"/admin/users/{user.id}", data=profile(
        position="Phó Bí thư", unit=str(other_cell.id), birth_date="1985-05-18", phone=""))

    assert response.status_code == 302
    user = reload(user)
    assert user.position == "Phó Bí thư" and user.unit_id == other_cell.id
    assert user.birth_date == dt.date(1985, 5, 18)
    assert "Đã lưu thay đổi thông tin của đồng chí Nguyễn Văn An." in page(client.get(response.headers["Location"]))
    entry = AuditLog.get(AuditLog.action == "user.update")
    assert entry.actor_id == admin.id and "Phó Bí thư" in entry.details


def test_edit_with_a_bad_email_keeps_the_account(client, admin, make_user):
    user = make_user(email="")
    html = page(client.post(f"/admin/users/{user.id}", data=profile(email="not-an-email")))
    assert error_of(html, "email") == "Email: địa chỉ email không hợp lệ."
    assert reload(user).email == ""


def test_lock_ends_the_members_sessions_and_unlock_restores_login(app, client, admin, make_user):
    user = make_user()
    member = app.test_client()
    member.post("/login", data={"username": user.username, "password": PASSWORD})
    assert member.get("/").status_code == 200

    html = page(client.post(f"/admin/users/{user.id}/lock", follow_redirects=True))

    assert "mọi phiên đăng nhập của tài khoản đã kết thúc" in html
    assert not reload(user).is_active
    assert member.get("/").status_code == 302  # logged out
    client.post(f"/admin/users/{user.id}/unlock")
    assert reload(user).is_active
    assert member.post("/login", data={"username": user.username, "password": PASSWORD}).status_code == 302


def test_an_admin_cannot_lock_themselves(client, admin):
    html = page(client.post(f"/admin/users/{admin.id}/lock", follow_redirects=True))
    assert "Không thể tự khoá tài khoản của chính mình." in html
    assert reload(admin).is_active


def test_reset_password_shows_the_new_one_once(app, client, admin, make_user):
    user = make_user()
    response = client.post(f"/admin/users/{user.id}/password")
    html = page(client.get(response.headers["Location"]))
    assert "Đã cấp mật khẩu mới cho đồng chí" in html
    _username, password = secrets_on(html)
    other = app.test_client()
    assert other.post("/login", data={"username": user.username, "password": PASSWORD}).status_code == 200
    assert other.post("/login", data={"username": user.username, "password": password}).status_code == 302
    assert reload(user).must_change_password


# ---------------------------------------------------------------- roles


def test_grant_organiser_and_secretary_on_top_of_membership(client, admin, make_unit, make_user):
    commune = make_unit("HN", "Đảng bộ xã Hòa Ninh", "committee")
    cell = make_unit("HN-T1", "Chi bộ thôn An Sơn", parent=commune)
    user = make_user(unit=cell)

    client.post(f"/admin/users/{user.id}/roles", data={"grant-role": "organiser", "grant-unit": str(commune.id)})
    response = client.post(f"/admin/users/{user.id}/roles", data={"grant-role": "secretary",
                                                                   "grant-unit": str(cell.id)})

    html = page(client.get(response.headers["Location"]))
    assert "Đã cấp vai trò Bí thư chi bộ – Chi bộ thôn An Sơn cho đồng chí" in html
    assert {(g.role, g.unit_id) for g in RoleGrant.select().where(RoleGrant.user == user)} == {
        ("organiser", commune.id), ("secretary", cell.id)}
    assert html.count("Thu hồi</button>") == 2
    assert reload(user).unit_id == cell.id  # still a member of the cell


@pytest.mark.parametrize("data, field, message", [
    ({"grant-role": "secretary", "grant-unit": "COMMITTEE"}, "grant-unit",
     "Phạm vi: bí thư được phân công cho một chi bộ."),
    ({"grant-role": "organiser", "grant-unit": ""}, "grant-unit", "Phạm vi: chọn đơn vị áp dụng vai trò này."),
])
def test_grant_shows_the_scope_rule_next_to_the_scope(client, admin, make_unit, make_user, data, field, message):
    committee = make_unit("HN", kind="committee")
    user = make_user()
    data = {k: (str(committee.id) if v == "COMMITTEE" else v) for k, v in data.items()}
    html = page(client.post(f"/admin/users/{user.id}/roles", data=data))
    assert error_of(html, field) == message
    assert not RoleGrant.select().where(RoleGrant.user == user).exists()


def test_grant_twice_is_refused(client, admin, make_user):
    user = make_user(full_name="Lê Thị Hà", role="admin")
    html = page(client.post(f"/admin/users/{user.id}/roles", data={"grant-role": "admin"}))
    assert "Lê Thị Hà đã có vai trò này." in html


def test_revoke_a_role(client, admin, make_user):
    user = make_user(role="organiser")
    grant = RoleGrant.get(RoleGrant.user == user)
    html = page(client.post(f"/admin/roles/{grant.id}/revoke", follow_redirects=True))
    assert "Đã thu hồi vai trò Ban tổ chức" in html
    assert not RoleGrant.select().where(RoleGrant.user == user).exists()


def test_the_last_admin_cannot_be_revoked(client, admin, make_user):
    make_user(role="admin", is_active=False)  # a locked admin cannot step in
    grant = RoleGrant.get(RoleGrant.user == admin)
    html = page(client.post(f"/admin/roles/{grant.id}/revoke", follow_redirects=True))
    assert "Cổng cần có ít nhất một người quản trị." in html
    assert RoleGrant.get_or_none(RoleGrant.id == grant.id) is not None


def test_an_admin_who_gives_up_the_role_goes_home(client, admin, make_user):
    make_user(role="admin")
    grant = RoleGrant.get(RoleGrant.user == admin)
    response = client.post(f"/admin/roles/{grant.id}/revoke")
    assert response.headers["Location"] == "/"
    assert client.get("/admin/users").status_code == 403


# ---------------------------------------------------------------- access


@pytest.mark.parametrize("role", [None, "secretary", "organiser"])
def test_only_admins_manage_accounts(client, login, make_user, role):
    target = make_user(role="organiser")
    grant = RoleGrant.get(RoleGrant.user == target)
    login(role=role)
    for path in ("/admin/users", "/admin/users/new", f"/admin/users/{target.id}"):
        assert client.get(path).status_code == 403, path
    for path in (f"/admin/users/{target.id}", f"/admin/users/{target.id}/lock", f"/admin/users/{target.id}/password",
                 f"/admin/users/{target.id}/roles", f"/admin/roles/{grant.id}/revoke", "/admin/users/new"):
        assert client.post(path, data=profile(**{"grant-role": "admin"})).status_code == 403, path
    target = reload(target)
    assert target.is_active and not target.must_change_password
    assert RoleGrant.select().where(RoleGrant.user == target).count() == 1
    assert not AuditLog.select().where(AuditLog.actor.is_null(False)).exists()


def test_button_and_role_forms_carry_their_csrf_token(app, client, admin, make_unit, make_user):
    app.config["WTF_CSRF_ENABLED"] = True
    cell = make_unit()
    user = make_user(unit=cell)
    assert client.post(f"/admin/users/{user.id}/lock").status_code == 400
    html = page(client.get(f"/admin/users/{user.id}"))
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    assert client.post(f"/admin/users/{user.id}/lock", data={"csrf_token": token}).status_code == 302
    grant_token = re.search(r'name="grant-csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    response = client.post(f"/admin/users/{user.id}/roles", data={
        "grant-csrf_token": grant_token, "grant-role": "secretary", "grant-unit": str(cell.id)})
    assert response.status_code == 302
    assert not reload(user).is_active and RoleGrant.get(RoleGrant.user == user).role == "secretary"
