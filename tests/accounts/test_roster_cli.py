"""`portal import-members FILE [--dry-run] [--as USERNAME]`."""

import os

import pytest
from openpyxl import load_workbook

from portal.accounts.models import AuditLog, RosterImport, User
from portal.accounts.units import create_unit
from tests.accounts.test_roster import csv_bytes, person, xlsx_bytes


@pytest.fixture
def tree(app):
    district = create_unit(None, "HU", "Đảng bộ huyện Hòa Vang", "committee")
    ninh = create_unit(None, "HN", "Đảng bộ xã Hòa Ninh", "committee", parent=district)
    cb1 = create_unit(None, "CB1", "Chi bộ thôn An Sơn", "cell", parent=ninh)
    phu = create_unit(None, "HP", "Đảng bộ xã Hòa Phú", "committee", parent=district)
    cb3 = create_unit(None, "CB3", "Chi bộ thôn Hòa Khê", "cell", parent=phu)
    return {u.code: u for u in (district, ninh, cb1, phu, cb3)}


@pytest.fixture
def roster_file(tmp_path):
    def roster_file(data, name="danh-sach.csv"):
        path = tmp_path / name
        path.write_bytes(data)
        return str(path)

    return roster_file


def test_dry_run_prints_the_plan_and_writes_nothing(tree, runner, roster_file):
    path = roster_file(csv_bytes(person(), person(name="Trần Thị Lụa", born="02/09/1990", gender="Nữ")))
    result = runner.invoke(args=["import-members", path, "--dry-run"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split()[:4] == ["Dòng", "Thao", "tác", "Họ"]
    assert "2     tạo mới" in result.output and "Nguyễn Văn An" in result.output
    assert "Chi bộ thôn An Sơn (CB1)" in result.output
    assert "chưa ghi gì" in result.output
    assert User.select().count() == 0 and RosterImport.select().count() == 0


def test_apply_writes_the_credentials_sheet_and_prints_its_paths(tree, runner, roster_file, app):
    path = roster_file(xlsx_bytes(person(), person(name="Trần Thị Lụa", born="02/09/1990", gender="Nữ")),
                       "ds.xlsx")
    result = runner.invoke(args=["import-members", path])
    assert result.exit_code == 0, result.output
    assert "Đã nhập: 2 tạo mới, 0 cập nhật, 0 không đổi." in result.output
    ri = RosterImport.get()
    folder = os.path.join(app.instance_path, "credentials", ri.credentials_key)
    pdf, xlsx = os.path.join(folder, "credentials.pdf"), os.path.join(folder, "credentials.xlsx")
    assert pdf in result.output and xlsx in result.output
    with open(pdf, "rb") as fh:
        assert fh.read(5) == b"%PDF-"
    values = [c.value for row in load_workbook(xlsx).active.iter_rows() for c in row]
    assert "Nguyễn Văn An" in values and "annv" in values
    assert ri.actor_id is None
    assert AuditLog.get(AuditLog.action == "roster.import").actor_name == "portal (CLI)"
    # the same file again: nothing changes
    again = runner.invoke(args=["import-members", path])
    assert "0 tạo mới, 0 cập nhật, 2 không đổi" in again.output
    assert "credentials" not in again.output


def test_rejected_rows_exit_1_with_the_problems(tree, runner, roster_file):
    path = roster_file(csv_bytes(person(), person(name="Lê Văn Bình", born="31/02/1980", unit="XYZ")))
    result = runner.invoke(args=["import-members", path])
    assert result.exit_code == 1
    assert "Dòng 3, cột Ngày sinh: '31/02/1980' không phải là ngày hợp lệ" in result.output
    assert "Dòng 3, cột Đơn vị (mã): không có đơn vị nào mã 'XYZ'" in result.output
    assert "bị từ chối" in result.output
    assert User.select().count() == 0


def test_a_bad_file_exits_1(tree, runner, roster_file):
    result = runner.invoke(args=["import-members", roster_file(b"", "empty.csv")])
    assert result.exit_code == 1 and "Tệp trống." in result.output
    result = runner.invoke(args=["import-members", roster_file(b"not excel", "ds.xlsx")])
    assert result.exit_code == 1 and "không phải là tệp Excel (.xlsx) thật" in result.output


def test_acting_as_an_organiser_keeps_to_their_scope(tree, runner, roster_file, make_user):
    organiser = make_user(role="organiser", scope=tree["HN"], unit=tree["CB1"])
    path = roster_file(csv_bytes(person(unit="CB3")))
    result = runner.invoke(args=["import-members", path, "--as", organiser.username])
    assert result.exit_code == 1
    assert "không có quyền nhập vào đơn vị 'CB3'" in result.output
    ok = runner.invoke(args=["import-members", roster_file(csv_bytes(person()), "ok.csv"), "--as",
                             organiser.username])
    assert ok.exit_code == 0, ok.output
    assert RosterImport.get().actor_id == organiser.id


def test_acting_as_someone_unknown_or_without_rights(tree, runner, roster_file, make_user):
    path = roster_file(csv_bytes(person()))
    result = runner.invoke(args=["import-members", path, "--as", "nobody"])
    assert result.exit_code == 1 and "Không có tài khoản" in result.output
    member = make_user()
    result = runner.invoke(args=["import-members", path, "--as", member.username])
    assert result.exit_code == 1 and "không có quyền nhập danh sách" in result.output
