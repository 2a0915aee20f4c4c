"""The audit log: who did what, when and from where, viewable by admins at /admin/audit."""

import datetime as dt
import json

import pytest

from portal.accounts import audit
from portal.accounts.models import AuditLog, RoleGrant, Unit


@pytest.fixture
def admin(login):
    return login(role="admin", full_name="Trần Quốc Bảo")


def page(response):
    return response.get_data(as_text=True)


def rows(html):
    body = html[html.index("<tbody>"):html.index("</tbody>")]
    return body.split("<tr>")[1:]


ADDRESS = {"REMOTE_ADDR": "203.0.113.7"}


def test_each_admin_action_records_who_what_and_from_where(client, admin, make_unit, make_user):
    cell = make_unit("T1", "Chi bộ thôn An Sơn")
    user = make_user(username="annv", unit=cell)
    steps = [
        ("/admin/units/new", {"code": "HN", "name": "Đảng bộ xã", "kind": "committee", "declared_members": "0"},
         "unit.create"),
        (f"/admin/units/{cell.id}", {"code": "T1", "name": "Chi bộ thôn An Sơn", "kind": "cell",
                                     "declared_members": "30"}, "unit.update"),
        ("/admin/users/new", {"full_name": "Lê Thị Lan", "username": "lanlt"}, "user.create"),
        (f"/admin/users/{user.id}", {"full_name": "Nguyễn Văn An", "unit": str(cell.id)}, "user.update"),
        (f"/admin/users/{user.id}/lock", {}, "user.lock"),
        (f"/admin/users/{user.id}/unlock", {}, "user.unlock"),
        (f"/admin/users/{user.id}/password", {}, "user.reset_password"),
        (f"/admin/users/{user.id}/roles", {"grant-role": "secretary", "grant-unit": str(cell.id)}, "role.grant"),
    ]
    for path, data, action in steps:
        assert client.post(path, data=data, environ_base=ADDRESS).status_code == 302, path
        entry = AuditLog.select().order_by(AuditLog.id.desc()).get()
        assert (entry.action, entry.actor_id, entry.actor_name, entry.address) == (
            action, admin.id, "Trần Quốc Bảo", "203.0.113.7"), path

    grant = RoleGrant.get(RoleGrant.user == user)
    client.post(f"/admin/roles/{grant.id}/revoke", environ_base=ADDRESS)
    unit = Unit.get(Unit.code == "HN")
    client.post(f"/admin/units/{unit.id}/delete", environ_base=ADDRESS)
    assert [e.action for e in AuditLog.select().order_by(AuditLog.id.desc()).limit(2)] == [
        "unit.delete", "role.revoke"]
    assert json.loads(AuditLog.get(AuditLog.action == "unit.update").details) == {"declared_members": [10, 30]}


def test_log_page_newest_first_in_vietnamese(client, admin):
    entries = [
        audit.record(admin, "unit.create", "unit:77 HU", {"name": "Đảng bộ huyện", "kind": "committee"}, "10.0.0.1"),
        audit.record(admin, "user.update", "user:88 annv",
                     {"position": ["Đảng viên", "Bí thư"], "birth_date": ["1985-05-17", "1985-05-18"],
                      "gender": [None, "female"]}, "10.0.0.2"),
        audit.record(None, "roster.import", "roster_import:1 ds.xlsx", {"created": 40, "updated": 2}),
    ]
    for minutes, entry in zip((0, 30, 45), entries):  # stored in UTC
        AuditLog.update(at=dt.datetime(2026, 3, 1, 1, minutes)).where(AuditLog.id == entry.id).execute()

    html = page(client.get("/admin/audit"))

    newest, middle, oldest = rows(html)
    assert "Nhập danh sách đảng viên" in newest and "Dòng lệnh" in newest and "Tạo mới: 40" in newest
    assert "Tạo đơn vị" in oldest and "Loại: Đảng bộ" in oldest and "10.0.0.1" in oldest
    # dates of birth dd/mm/yyyy, genders and times in Vietnamese
    for text in ("08:30 01/03/2026", "Sửa tài khoản", "Chức vụ: Đảng viên → Bí thư",
                 "Ngày sinh: 17/05/1985 → 18/05/1985", "Giới tính: — → Nữ", "annv", "10.0.0.2", "Trần Quốc Bảo"):
        assert text in middle, text
    assert "3 mục" in html


def test_targets_link_to_what_still_exists(client, admin, make_user):
    user = make_user(username="annv")
    audit.record(admin, "user.lock", f"user:{user.id} annv")
    audit.record(admin, "unit.delete", "unit:999 GONE", {"name": "Chi bộ cũ"})
    html = page(client.get("/admin/audit"))
    assert f'<a href="/admin/users/{user.id}">annv</a>' in html
    assert "GONE" in html and "/admin/units/999" not in html


def test_filter_by_action_and_by_actor(client, admin, make_user):
    other = make_user(full_name="Lê Thị Hà", role="admin")
    audit.record(admin, "user.lock", "user:1 a")
    audit.record(other, "user.lock", "user:2 b")
    audit.record(other, "role.grant", "user:3 c", {"role": "organiser"})

    by_action = page(client.get("/admin/audit", query_string={"action": "user.lock"}))
    assert len(rows(by_action)) == 2 and "2 mục phù hợp với bộ lọc" in by_action
    assert '<option value="user.lock" selected>Khoá tài khoản</option>' in by_action
    by_actor = page(client.get("/admin/audit", query_string={"actor": other.id}))
    assert len(rows(by_actor)) == 2 and "Trần Quốc Bảo" not in "".join(rows(by_actor))
    both = page(client.get("/admin/audit", query_string={"actor": other.id, "action": "role.grant"}))
    assert len(rows(both)) == 1 and "Vai trò: Ban tổ chức" in both


def test_log_is_paginated(client, admin):
    for n in range(51):
        audit.record(admin, "user.lock", f"user:{1000 + n} u{n:02d}")
    first = page(client.get("/admin/audit"))
    assert len(rows(first)) == 50 and "u50" in first and "Trang 1/2" in first
    second = page(client.get("/admin/audit?page=2&action=user.lock"))
    assert len(rows(second)) == 1 and "u00" in second


def test_empty_log(client, admin):
    assert "Chưa có ghi nhận nào." in page(client.get("/admin/audit"))


@pytest.mark.parametrize("role", [None, "secretary", "organiser"])
def test_only_admins_read_the_log(client, login, role):
    login(role=role)
    assert client.get("/admin/audit").status_code == 403
