"""The organisation tree: paths, moves, refusals (domain functions, no HTTP)."""

import json

import pytest

from portal.accounts import units
from portal.accounts.models import AuditLog, Unit
from portal.errors import Conflict, DomainError


@pytest.fixture
def tree(app):
    """District committee → two grassroots committees → cells."""
    district = units.create_unit(None, "HU", "Đảng bộ huyện Hòa Vang", "committee")
    ninh = units.create_unit(None, "HN", "Đảng bộ xã Hòa Ninh", "committee", parent=district)
    phu = units.create_unit(None, "HP", "Đảng bộ xã Hòa Phú", "committee", parent=district)
    an_son = units.create_unit(None, "HN-T1", "Chi bộ thôn An Sơn", "cell", parent=ninh, declared_members=23)
    dong_lam = units.create_unit(None, "HN-T2", "Chi bộ thôn Đông Lâm", "cell", parent=ninh, declared_members=19)
    return {u.code: u for u in (district, ninh, phu, an_son, dong_lam)}


def fresh(unit):
    return Unit.get_by_id(unit.id)


def codes(query):
    return sorted(u.code for u in query)


def test_tree_paths_give_subtrees_and_ancestors(tree):
    an_son = fresh(tree["HN-T1"])
    assert an_son.path == f"/{tree['HU'].id}/{tree['HN'].id}/{an_son.id}/"
    assert an_son.depth == 2
    assert [u.name for u in an_son.ancestors()] == ["Đảng bộ huyện Hòa Vang", "Đảng bộ xã Hòa Ninh"]
    assert codes(Unit.subtree(tree["HN"])) == ["HN", "HN-T1", "HN-T2"]
    assert codes(Unit.subtree(tree["HU"])) == ["HN", "HN-T1", "HN-T2", "HP", "HU"]
    assert [u.code for u in Unit.in_tree_order()] == ["HU", "HN", "HN-T1", "HN-T2", "HP"]
    assert fresh(tree["HN-T1"]).declared_members == 23


def test_creating_a_unit_is_audited(tree):
    entry = AuditLog.get(AuditLog.action == "unit.create", AuditLog.target.endswith(" HN-T1"))
    assert entry.actor_name == "portal (CLI)"
    assert json.loads(entry.details)["parent"] == "HN"


def test_moving_a_committee_carries_its_cells(tree):
    units.update_unit(None, fresh(tree["HN"]), "HN", "Đảng bộ xã Hòa Ninh", "committee",
                      parent=fresh(tree["HP"]), declared_members=0)
    hp, hn = fresh(tree["HP"]), fresh(tree["HN"])
    assert hn.path == f"{hp.path}{hn.id}/"
    for code in ("HN-T1", "HN-T2"):
        assert fresh(tree[code]).path == f"{hn.path}{tree[code].id}/"
    assert codes(Unit.subtree(hp)) == ["HN", "HN-T1", "HN-T2", "HP"]
    assert [u.code for u in fresh(tree["HN-T1"]).ancestors()] == ["HU", "HP", "HN"]
    entry = AuditLog.get(AuditLog.action == "unit.update")
    assert json.loads(entry.details) == {"parent": ["HU", "HP"]}


def test_moving_to_the_top_level(tree):
    units.update_unit(None, fresh(tree["HN"]), "HN", "Đảng bộ xã Hòa Ninh", "committee", None, 0)
    assert fresh(tree["HN-T2"]).path == f"/{tree['HN'].id}/{tree['HN-T2'].id}/"
    assert codes(Unit.subtree(tree["HU"])) == ["HP", "HU"]


@pytest.mark.parametrize("moved, new_parent", [("HN", "HN"), ("HU", "HN")])
def test_a_unit_cannot_move_into_itself_or_below_itself(tree, moved, new_parent):
    unit = fresh(tree[moved])
    with pytest.raises(DomainError, match="Không thể đặt một đơn vị vào chính nó hoặc vào đơn vị trực thuộc của nó."):
        units.update_unit(None, unit, unit.code, unit.name, unit.kind, fresh(tree[new_parent]), 0)
    assert fresh(tree[moved]).path == unit.path
    assert fresh(tree[moved]).parent_id == unit.parent_id


def test_a_cell_cannot_contain_units(tree):
    with pytest.raises(DomainError, match="Chi bộ không thể có đơn vị trực thuộc.") as refused:
        units.create_unit(None, "HN-T1-X", "Tổ đảng", "cell", parent=fresh(tree["HN-T1"]))
    assert refused.value.field == "parent"
    with pytest.raises(DomainError, match="Chi bộ không thể có đơn vị trực thuộc."):
        units.update_unit(None, fresh(tree["HP"]), "HP", "Đảng bộ xã Hòa Phú", "committee", fresh(tree["HN-T2"]), 0)
    assert not Unit.select().where(Unit.code == "HN-T1-X").exists()


def test_a_committee_with_units_cannot_become_a_cell(tree):
    with pytest.raises(DomainError, match="Đơn vị này có đơn vị trực thuộc nên không thể là chi bộ."):
        units.update_unit(None, fresh(tree["HN"]), "HN", "Đảng bộ xã Hòa Ninh", "cell", fresh(tree["HU"]), 0)
    assert fresh(tree["HN"]).kind == "committee"


def test_a_unit_with_sub_units_is_not_deleted(tree):
    with pytest.raises(DomainError, match="Hãy chuyển hoặc xoá các đơn vị trực thuộc Đảng bộ xã Hòa Ninh trước."):
        units.delete_unit(None, fresh(tree["HN"]))
    assert Unit.select().where(Unit.code == "HN").exists()


def test_a_unit_with_accounts_is_not_deleted(tree, make_user):
    make_user(unit=tree["HN-T1"])
    with pytest.raises(DomainError, match="Chi bộ thôn An Sơn vẫn còn tài khoản"):
        units.delete_unit(None, fresh(tree["HN-T1"]))
    assert Unit.select().where(Unit.code == "HN-T1").exists()


def test_an_empty_unit_is_deleted_and_audited(tree):
    units.delete_unit(None, fresh(tree["HN-T2"]), address="10.0.0.5")
    assert not Unit.select().where(Unit.code == "HN-T2").exists()
    entry = AuditLog.get(AuditLog.action == "unit.delete")
    assert entry.address == "10.0.0.5" and "Chi bộ thôn Đông Lâm" in entry.details


def test_a_duplicate_code_is_refused_with_its_name(tree):
    with pytest.raises(Conflict, match="Mã đơn vị: mã HN-T1 đã được dùng cho đơn vị khác.") as refused:
        units.create_unit(None, "HN-T1", "Chi bộ khác", "cell", parent=fresh(tree["HN"]))
    assert refused.value.field == "code"
    assert Unit.select().where(Unit.name == "Chi bộ khác").count() == 0
    with pytest.raises(Conflict, match="Mã đơn vị: mã HN-T1 đã được dùng cho đơn vị khác."):
        units.update_unit(None, fresh(tree["HN-T2"]), "HN-T1", "Chi bộ thôn Đông Lâm", "cell", fresh(tree["HN"]), 19)
    assert fresh(tree["HN-T2"]).code == "HN-T2"  # and the database is still usable afterwards


@pytest.mark.parametrize("code, name, kind, declared, message", [
    ("Hòa", "Chi bộ", "cell", 1, "Mã đơn vị: dùng 1–32 ký tự"),
    ("C1", "  ", "cell", 1, "Tên đơn vị: không được để trống."),
    ("C1", "Chi bộ", "branch", 1, "Loại đơn vị: chọn Đảng bộ hoặc Chi bộ."),
    ("C1", "Chi bộ", "cell", "mười", "Số đảng viên: hãy nhập một số nguyên không âm."),
    ("C1", "Chi bộ", "cell", -3, "Số đảng viên: hãy nhập một số nguyên không âm."),
])
def test_bad_values_name_the_field(app, code, name, kind, declared, message):
    with pytest.raises(DomainError, match=message):
        units.create_unit(None, code, name, kind, declared_members=declared)
    assert Unit.select().count() == 0
