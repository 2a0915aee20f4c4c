"""The organisation tree pages: /admin/units."""

import re

import pytest

from portal.accounts.models import AuditLog, Unit
from tests.conftest import reload


@pytest.fixture
def admin(login):
    return login(role="admin")


def page(response):
    return response.get_data(as_text=True)


def error_of(html, field_id):
    """The error message shown under the field with this id."""
    found = re.search(rf'<p class="error" id="{field_id}-error">([^<]*)</p>', html)
    return found.group(1) if found else None


def form(unit=None, **overrides):
    values = {"code": "HN", "name": "Đảng bộ xã Hòa Ninh", "kind": "committee", "parent": "",
              "declared_members": "0"}
    if unit is not None:
        values.update(code=unit.code, name=unit.name, kind=unit.kind, parent=str(unit.parent_id or ""),
                      declared_members=str(unit.declared_members))
    values.update(overrides)
    return values


def test_tree_is_indented_in_order_with_counts_and_total(client, admin, make_unit, make_user):
    district = make_unit("HU", "Đảng bộ huyện Hòa Vang", "committee", declared_members=0)
    commune = make_unit("HN", "Đảng bộ xã Hòa Ninh", "committee", parent=district, declared_members=0)
    cell = make_unit("HN-T1", "Chi bộ thôn An Sơn", "cell", parent=commune, declared_members=23)
    make_unit("HU-YT", "Chi bộ Trung tâm Y tế", "cell", parent=district, declared_members=16)
    for _ in range(3):
        make_user(unit=cell)

    html = page(client.get("/admin/units"))

    # Parents before children; siblings by name.
    names = ["Đảng bộ huyện Hòa Vang", "Chi bộ Trung tâm Y tế", "Đảng bộ xã Hòa Ninh", "Chi bộ thôn An Sơn"]
    positions = [html.index(n) for n in names]
    assert positions == sorted(positions)
    row = html[html.index('id="unit-%d"' % cell.id):]
    row = row[:row.index("</tr>")]
    assert "HN-T1" in row and "Chi bộ" in row and ">23<" in row and ">3</a>" in row
    assert "\u2003\u2003└" in row  # two levels deep
    assert "Tổng cộng (4 đơn vị)" in html
    assert "39 đảng viên" in html  # 23 + 16 declared
    assert "Cả đơn vị trực thuộc: 39 đảng viên, 3 tài khoản" in html  # the district's subtree


def test_empty_tree_says_where_to_start(client, admin):
    assert "Chưa có đơn vị nào" in page(client.get("/admin/units"))


def test_create_a_cell_under_a_committee(client, admin, make_unit):
    district = make_unit("HU", "Đảng bộ huyện", "committee")
    new_page = page(client.get(f"/admin/units/new?parent={district.id}"))
    assert f'<option selected value="{district.id}">' in new_page

    response = client.post("/admin/units/new", data=form(code="HU-T1", name="Chi bộ thôn Một", kind="cell",
                                                         parent=str(district.id), declared_members="12"))

    assert response.status_code == 302
    cell = Unit.get(Unit.code == "HU-T1")
    assert cell.parent_id == district.id and cell.declared_members == 12 and cell.path.startswith(district.path)
    assert "Đã tạo đơn vị Chi bộ thôn Một." in page(client.get(response.headers["Location"]))


def test_duplicate_code_is_shown_next_to_the_code(client, admin, make_unit):
    make_unit("HU", "Đảng bộ huyện", "committee")
    response = client.post("/admin/units/new", data=form(code="HU"))
    assert response.status_code == 200
    assert error_of(page(response), "code") == "Mã đơn vị: mã HU đã được dùng cho đơn vị khác."
    assert Unit.select().count() == 1


def test_a_cell_cannot_be_a_parent(client, admin, make_unit):
    cell = make_unit("T1", kind="cell")
    response = client.post("/admin/units/new", data=form(code="T2", kind="cell", parent=str(cell.id)))
    assert error_of(page(response), "parent") == "Chi bộ không thể có đơn vị trực thuộc."


def test_declared_members_must_be_a_number(client, admin):
    response = client.post("/admin/units/new", data=form(declared_members="mười"))
    assert error_of(page(response), "declared_members") == "Số đảng viên: hãy nhập một số nguyên không âm."


def test_edit_moves_the_whole_subtree(client, admin, make_unit):
    old_parent = make_unit("A", "Đảng bộ A", "committee")
    new_parent = make_unit("B", "Đảng bộ B", "committee")
    moved = make_unit("A1", "Đảng bộ A1", "committee", parent=old_parent)
    leaf = make_unit("A1-T", "Chi bộ A1-T", "cell", parent=moved)
    edit_page = page(client.get(f"/admin/units/{moved.id}"))
    # The parent select offers committees outside the unit's own subtree, indented.
    assert f'value="{old_parent.id}"' in edit_page and f'value="{moved.id}"' not in edit_page

    response = client.post(f"/admin/units/{moved.id}", data=form(moved, parent=str(new_parent.id),
                                                                  name="Đảng bộ A1 (mới)"))

    assert response.status_code == 302
    assert reload(moved).name == "Đảng bộ A1 (mới)"
    assert reload(leaf).path == f"{new_parent.path}{moved.id}/{leaf.id}/"
    entry = AuditLog.get(AuditLog.action == "unit.update")
    assert "B" in entry.details and "A" in entry.details


def test_edit_refuses_a_move_into_its_own_subtree(client, admin, make_unit):
    top = make_unit("A", "Đảng bộ A", "committee")
    below = make_unit("A1", "Đảng bộ A1", "committee", parent=top)
    response = client.post(f"/admin/units/{top.id}", data=form(top, parent=str(below.id)))
    assert error_of(page(response), "parent") == ("Không thể đặt một đơn vị vào chính nó hoặc vào "
                                                   "đơn vị trực thuộc của nó.")
    assert reload(top).parent_id is None


def test_delete_an_empty_unit(client, admin, make_unit):
    unit = make_unit("T9", "Chi bộ số 9")
    assert "Xoá đơn vị" in page(client.get(f"/admin/units/{unit.id}"))
    response = client.post(f"/admin/units/{unit.id}/delete", follow_redirects=True)
    assert "Đã xoá đơn vị Chi bộ số 9." in page(response)
    assert Unit.get_or_none(Unit.id == unit.id) is None


def test_delete_refuses_a_unit_with_accounts(client, admin, make_unit, make_user):
    unit = make_unit("T9", "Chi bộ số 9")
    make_user(unit=unit)
    response = client.post(f"/admin/units/{unit.id}/delete", follow_redirects=True)
    assert "Chi bộ số 9 vẫn còn tài khoản; hãy chuyển các tài khoản này sang đơn vị khác trước." in page(response)
    assert Unit.get_or_none(Unit.id == unit.id) is not None


def test_delete_refuses_a_unit_with_sub_units(client, admin, make_unit):
    top = make_unit("A", "Đảng bộ A", "committee")
    make_unit("A1", parent=top)
    response = client.post(f"/admin/units/{top.id}/delete", follow_redirects=True)
    assert "Hãy chuyển hoặc xoá các đơn vị trực thuộc Đảng bộ A trước." in page(response)


def test_unknown_unit_is_404(client, admin):
    assert client.get("/admin/units/999").status_code == 404


@pytest.mark.parametrize("role", [None, "secretary", "organiser"])
def test_only_admins_reach_the_unit_pages(client, login, make_unit, role):
    unit = make_unit()
    login(role=role)
    assert client.get("/admin/units").status_code == 403
    assert client.get("/admin/units/new").status_code == 403
    assert client.post("/admin/units/new", data=form()).status_code == 403
    assert client.post(f"/admin/units/{unit.id}", data=form(unit, name="X")).status_code == 403
    assert client.post(f"/admin/units/{unit.id}/delete").status_code == 403
    assert Unit.get_by_id(unit.id).name == unit.name


def test_anonymous_visitors_are_sent_to_login(client):
    response = client.get("/admin/units")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_create_with_csrf_on(app, client, admin):
    app.config["WTF_CSRF_ENABLED"] = True
    assert client.post("/admin/units/new", data=form()).status_code == 400
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                      page(client.get("/admin/units/new"))).group(1)
    response = client.post("/admin/units/new", data={**form(), "csrf_token": token})
    assert response.status_code == 302
    assert Unit.get(Unit.code == "HN").name == "Đảng bộ xã Hòa Ninh"
