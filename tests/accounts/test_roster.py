"""Roster import, domain level (no HTTP): reading files, planning, applying all or nothing."""

import csv
import datetime as dt
import io
import json
import os
import unicodedata
import zipfile

import pytest
from openpyxl import Workbook

from portal import db as dbmod
from portal.accounts import credentials, roster
from portal.accounts.models import AuditLog, RoleGrant, RosterImport, User
from portal.accounts.passwords import verify_password
from portal.accounts.units import create_unit

# Roster files for these tests and for test_roster_views / test_roster_cli.

HEAD = ["Họ và tên", "Ngày sinh", "Giới tính", "Đơn vị (mã)", "Chức vụ", "Số điện thoại", "Email"]
HEAD_USER = HEAD + ["Tên đăng nhập"]

NOW = dt.datetime(2026, 11, 22, 3, 0)  # UTC, 10:00 in Hà Nội
TODAY = NOW.date()


def csv_bytes(*rows, headers=HEAD, delimiter=",", bom=False, encoding="utf-8"):
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(headers)
    writer.writerows(rows)
    return (("\ufeff" if bom else "") + out.getvalue()).encode(encoding)


def xlsx_bytes(*rows, headers=HEAD):
    wb = Workbook()
    ws = wb.active
    ws.append(headers)
    for row in rows:
        ws.append(list(row))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def person(name="Nguyễn Văn An", born="17/05/1985", gender="Nam", unit="CB1", position="Đảng viên",
           phone="0912345678", email="", username=None):
    row = [name, born, gender, unit, position, phone, email]
    return row if username is None else row + [username]



def parse(data, filename="danh-sach.csv", max_rows=100):
    return roster.parse_roster(data, filename, TODAY, max_rows)


def problems(plan_or_roster):
    rows = plan_or_roster.rows
    return [str(p) for r in rows for p in r.problems]


def file_error(data, filename="danh-sach.csv", **kwargs):
    with pytest.raises(roster.RosterFileError) as info:
        parse(data, filename, **kwargs)
    return str(info.value)


@pytest.fixture
def tree(app):
    """District → commune committee → two cells, and a second commune with one cell."""
    district = create_unit(None, "HU", "Đảng bộ huyện Hòa Vang", "committee")
    ninh = create_unit(None, "HN", "Đảng bộ xã Hòa Ninh", "committee", parent=district)
    cb1 = create_unit(None, "CB1", "Chi bộ thôn An Sơn", "cell", parent=ninh, declared_members=23)
    cb2 = create_unit(None, "CB2", "Chi bộ thôn Đông Lâm", "cell", parent=ninh, declared_members=19)
    phu = create_unit(None, "HP", "Đảng bộ xã Hòa Phú", "committee", parent=district)
    cb3 = create_unit(None, "CB3", "Chi bộ thôn Hòa Khê", "cell", parent=phu, declared_members=27)
    return {u.code: u for u in (district, ninh, cb1, cb2, phu, cb3)}


def apply(data, actor=None, tmp_path=None, filename="danh-sach.csv", now=NOW):
    sheets = os.path.join(str(tmp_path), "credentials") if tmp_path else "/nonexistent"
    return roster.apply_import(parse(data, filename), actor, now, sheets, "Đảng bộ huyện Hòa Vang",
                               "http://portal.test", address="10.0.0.1")


# Reading files ------------------------------------------------------------------------------

@pytest.mark.parametrize("data, filename", [
    (csv_bytes(person()), "ds.csv"),
    (csv_bytes(person(), bom=True), "ds.CSV"),
    (csv_bytes(person(), delimiter=";"), "ds.csv"),
    (csv_bytes(person(), delimiter=";", bom=True), "ds.csv"),
    (xlsx_bytes(person()), "ds.xlsx"),
])
def test_reads_csv_and_xlsx(app, data, filename):
    parsed = parse(data, filename)
    [row] = parsed.rows
    assert row.number == 2
    assert row.values["full_name"] == "Nguyễn Văn An"
    assert row.values["birth_date"] == dt.date(1985, 5, 17)
    assert row.values["gender"] == "male"
    assert row.values["unit"] == "CB1"
    assert row.values["phone"] == "0912345678"
    assert not row.problems


def test_headers_in_any_order_case_spacing_and_nfd_and_extra_columns(app):
    headers = ["STT", "  ĐƠN VỊ   (MÃ) ", unicodedata.normalize("NFD", "họ và tên"), "ngày sinh", "Ghi chú"]
    data = csv_bytes(["1", "CB1", unicodedata.normalize("NFD", "Trần Thị Lụa"), "02/09/1990", "x"],
                     headers=headers)
    [row] = parse(data).rows
    assert row.values["full_name"] == "Trần Thị Lụa"
    assert unicodedata.is_normalized("NFC", row.values["full_name"])
    assert row.values["unit"] == "CB1"
    assert row.values["gender"] is None  # no such column: left as it is


def test_row_numbers_follow_the_spreadsheet_and_blank_rows_are_skipped(app):
    data = csv_bytes(person(name="Lê Văn Một"), ["", "", "", "", "", "", ""], person(name="Lê Văn Hai", born="x"))
    parsed = parse(data)
    assert [r.number for r in parsed.rows] == [2, 4]
    assert problems(parsed) == ["Dòng 4, cột Ngày sinh: 'x' không phải là ngày hợp lệ"]


@pytest.mark.parametrize("text", ["17/05/1985", "7/5/1985", "17-05-1985", "17.05.1985", "1985-05-17",
                                  "1985-05-17 00:00:00"])
def test_accepted_date_formats(app, text):
    [row] = parse(csv_bytes(person(born=text))).rows
    assert not row.problems
    assert row.values["birth_date"] in (dt.date(1985, 5, 17), dt.date(1985, 5, 7))


def test_real_excel_date_cells(app):
    [row] = parse(xlsx_bytes(person(born=dt.datetime(1979, 12, 3))), "ds.xlsx").rows
    assert row.values["birth_date"] == dt.date(1979, 12, 3)


@pytest.mark.parametrize("text, message", [
    ("31/02/1980", "'31/02/1980' không phải là ngày hợp lệ"),
    ("17/13/1985", "'17/13/1985' không phải là ngày hợp lệ"),
    ("1985", "'1985' không phải là ngày hợp lệ"),
    ("năm 1985", "'năm 1985' không phải là ngày hợp lệ"),
    ("01/01/2030", "'01/01/2030' là ngày trong tương lai"),
    ("31/12/1899", "'31/12/1899' là ngày trước năm 1900"),
])
def test_bad_dates_name_row_and_column(app, text, message):
    parsed = parse(csv_bytes(person(), person(name="Lê Thị Bích", born=text)))
    assert problems(parsed) == [f"Dòng 3, cột Ngày sinh: {message}"]


def test_a_future_excel_date_is_refused(app):
    parsed = parse(xlsx_bytes(person(born=dt.datetime(2031, 1, 1))), "ds.xlsx")
    assert problems(parsed) == ["Dòng 2, cột Ngày sinh: '01/01/2031' là ngày trong tương lai"]


@pytest.mark.parametrize("text, gender", [
    ("Nam", "male"), ("nam", "male"), ("NAM", "male"), ("Male", "male"),
    ("Nữ", "female"), ("nu", "female"), ("NỮ", "female"), (unicodedata.normalize("NFD", "nữ"), "female"),
    ("Female", "female"), ("", None),
])
def test_gender_spellings(app, text, gender):
    [row] = parse(csv_bytes(person(gender=text))).rows
    assert not row.problems
    assert row.values["gender"] == gender


def test_every_bad_cell_is_named(app):
    row = ["", "", "khác", "", "x" * 300, "12345", "not-an-email", ""]
    parsed = parse(csv_bytes(row, person(username="Bad Name!"), headers=HEAD_USER))
    assert problems(parsed) == [
        "Dòng 2, cột Họ và tên: không được để trống",
        "Dòng 2, cột Ngày sinh: không được để trống (cần để phân biệt những người trùng họ tên; nếu không rõ "
        "ngày sinh, hãy ghi tên đăng nhập)",
        "Dòng 2, cột Giới tính: 'khác' không phải là giới tính: ghi Nam hoặc Nữ",
        "Dòng 2, cột Đơn vị (mã): không được để trống",
        "Dòng 2, cột Chức vụ: dài quá 255 ký tự",
        "Dòng 2, cột Số điện thoại: '12345' không phải là số điện thoại: ghi 10 hoặc 11 chữ số, bắt đầu "
        "bằng 0, ví dụ 0912345678",
        "Dòng 2, cột Email: 'not-an-email' không phải là địa chỉ email hợp lệ",
        "Dòng 3, cột Tên đăng nhập: 'bad name!' không phải là tên đăng nhập hợp lệ: dùng 3–64 chữ thường "
        "không dấu, chữ số, '.', '-' hoặc '_'",
    ]


@pytest.mark.parametrize("raw, phone", [
    ("0912 345 678", "0912345678"), ("+84 912.345.678", "0912345678"), ("(024) 3825 1234", "02438251234"),
])
def test_phones_are_normalised(app, raw, phone):
    [row] = parse(csv_bytes(person(phone=raw))).rows
    assert row.values["phone"] == phone


def test_excel_number_cell_phone_gets_its_leading_zero_back(app):
    [row] = parse(xlsx_bytes(person(phone=912345678)), "ds.xlsx").rows
    assert row.values["phone"] == "0912345678"


def test_text_is_nfc_with_single_spaces(app):
    name = unicodedata.normalize("NFD", "  Nguyễn   Thị\u00a0Hằng \u200b")
    [row] = parse(csv_bytes(person(name=name, position=unicodedata.normalize("NFD", "Bí thư")))).rows
    assert row.values["full_name"] == "Nguyễn Thị Hằng"
    assert row.values["position"] == "Bí thư"


# Whole-file problems ------------------------------------------------------------------------

def test_empty_file(app):
    assert file_error(b"") == "Tệp trống."
    assert file_error(b"\xef\xbb\xbf \r\n") == "Tệp trống."


def test_headers_only(app):
    assert "chỉ có dòng tiêu đề" in file_error(csv_bytes())
    assert "chỉ có dòng tiêu đề" in file_error(xlsx_bytes(), "ds.xlsx")


def test_missing_required_headers_are_named(app):
    message = file_error(csv_bytes(["An"], headers=["Họ và tên", "Giới tính"]))
    assert 'thiếu cột bắt buộc: "Ngày sinh", "Đơn vị (mã)"' in message
    assert "(dòng 1)" in message


@pytest.mark.parametrize("filename", ["ds.txt", "ds.pdf", "danh sach", "ds.docx"])
def test_only_csv_or_xlsx_by_extension(app, filename):
    assert "không phải tệp CSV hay Excel (.xlsx)" in file_error(csv_bytes(person()), filename)


def test_old_excel_format_is_explained(app):
    assert "lưu lại dưới dạng" in file_error(b"\xd0\xcf\x11\xe0 old excel", "ds.xls")


def test_xlsx_that_is_not_an_xlsx(app):
    message = file_error(csv_bytes(person()), "ds.xlsx")
    assert message.startswith("ds.xlsx không phải là tệp Excel (.xlsx) thật")


def test_zip_that_is_not_an_xlsx(app):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("hello.txt", "xin chào")
    assert "không phải là tệp Excel (.xlsx) thật" in file_error(out.getvalue(), "ds.xlsx")
    broken = xlsx_bytes(person())[:2000]  # a truncated workbook
    assert "không phải là tệp Excel (.xlsx) thật" in file_error(broken, "ds.xlsx")


def test_excel_bytes_named_csv(app):
    assert "không phải là tệp CSV" in file_error(xlsx_bytes(person()), "ds.csv")


def test_non_utf8_csv_asks_for_csv_utf8(app):
    data = csv_bytes(person(), encoding="utf-16")
    assert "CSV UTF-8" in file_error(data)
    message = file_error("Ho va ten,Ngay sinh,Don vi (ma)\nLê Văn Tám,1/1/1980,CB1\n".encode("cp1258"))
    assert message.startswith("danh-sach.csv không được lưu theo bảng mã UTF-8")
    assert "CSV UTF-8" in message


def test_too_many_rows(app):
    rows = [person(name=f"Người Số {i}") for i in range(6)]
    assert "nhiều hơn 5 dòng" in file_error(csv_bytes(*rows), max_rows=5)
    assert len(parse(csv_bytes(*rows[:5]), max_rows=5).rows) == 5


def test_a_title_row_above_the_headers_is_allowed(app):
    data = ("DANH SÁCH ĐẢNG VIÊN CHI BỘ\n\n" + csv_bytes(person()).decode()).encode()
    [row] = parse(data).rows
    assert row.number == 4
    assert row.values["full_name"] == "Nguyễn Văn An"


# Planning -----------------------------------------------------------------------------------

def test_plan_creates_with_suggested_usernames_and_writes_nothing(tree, make_user):
    make_user(username="annv", full_name="Nguyễn Văn An", birth_date=dt.date(1970, 1, 1), unit=tree["CB1"])
    before = User.select().count()
    plan = roster.plan_import(parse(csv_bytes(
        person(), person(name="Nguyễn Văn Anh", born="01/01/1990"), person(name="Nguyễn Văn An", born="02/02/1992"),
    )), None)
    assert [r.action for r in plan.rows] == ["create", "create", "create"]
    assert [r.username for r in plan.rows] == ["annv2", "anhnv", "annv3"]
    assert plan.rows[0].unit_label == "Chi bộ thôn An Sơn (CB1)"
    assert plan.counts == {"create": 3, "update": 0, "unchanged": 0, "reject": 0}
    assert User.select().count() == before


def test_plan_matches_by_name_and_birth_date_case_and_form_insensitive(tree, make_user):
    member = make_user(username="annv", full_name="Nguyễn Văn An", birth_date=dt.date(1985, 5, 17),
                       unit=tree["CB1"], gender="male", position="Đảng viên", phone="0912345678")
    name = unicodedata.normalize("NFD", "NGUYỄN VĂN AN")
    plan = roster.plan_import(parse(csv_bytes(person(name=name, unit="CB2", position="Bí thư", phone=""))), None)
    [row] = plan.rows
    assert row.action == "update"
    assert row.user.id == member.id
    assert [(c.column, c.old, c.new) for c in row.changes] == [
        ("Họ và tên", "Nguyễn Văn An", "NGUYỄN VĂN AN"),
        ("Đơn vị (mã)", "Chi bộ thôn An Sơn (CB1)", "Chi bộ thôn Đông Lâm (CB2)"),
        ("Chức vụ", "Đảng viên", "Bí thư"),
    ]  # the empty phone cell leaves the phone as it is


def test_plan_matches_by_username_and_creates_a_named_account_when_absent(tree, make_user):
    member = make_user(username="lua.tt", full_name="Trần Thị Lụa", unit=tree["CB1"], gender="female",
                       birth_date=dt.date(1990, 9, 2), position="", phone="", email="")
    plan = roster.plan_import(parse(csv_bytes(
        person(name="Trần Thị Lụa", born="02/09/1990", gender="Nữ", position="", phone="", username="LUA.TT"),
        person(name="Trần Thị Lụa", born="02/09/1990", gender="Nữ", unit="CB2", phone="", username="lua2"),
        headers=HEAD_USER)), None)
    assert [(r.action, r.username) for r in plan.rows] == [("unchanged", "lua.tt"), ("create", "lua2")]
    assert plan.rows[0].user.id == member.id
    assert "lua.tt" in plan.rows[1].notes[0]  # warned: the same person may already have an account


def test_two_accounts_with_the_same_name_and_birth_date_reject_the_row(tree, make_user):
    for username in ("annv", "annv2"):
        make_user(username=username, full_name="Nguyễn Văn An", birth_date=dt.date(1985, 5, 17), unit=tree["CB1"])
    plan = roster.plan_import(parse(csv_bytes(person())), None)
    assert plan.rejected
    assert problems(plan) == ["Dòng 2: trùng với nhiều tài khoản: annv (CB1), annv2 (CB1). Hãy ghi tên đăng nhập "
                              "để chỉ rõ tài khoản nào."]


def test_unknown_unit_code(tree):
    plan = roster.plan_import(parse(csv_bytes(person(unit="XYZ"))), None)
    assert problems(plan) == ["Dòng 2, cột Đơn vị (mã): không có đơn vị nào mã 'XYZ'"]


def test_unit_codes_match_case_insensitively(tree):
    [row] = roster.plan_import(parse(csv_bytes(person(unit="cb1"))), None).rows
    assert row.action == "create" and row.unit.code == "CB1"


def test_duplicate_username_in_the_file_names_both_rows(tree):
    plan = roster.plan_import(parse(csv_bytes(
        person(username="annv"), person(name="Lê Văn Bình", username="binhlv"),
        person(name="Lê Văn Cường", username="annv"), headers=HEAD_USER)), None)
    assert [r.action for r in plan.rows] == ["reject", "create", "reject"]
    assert problems(plan) == [
        "Dòng 2, cột Tên đăng nhập: 'annv' cũng có ở dòng 4",
        "Dòng 4, cột Tên đăng nhập: 'annv' cũng có ở dòng 2",
    ]


def test_the_same_person_twice_in_the_file(tree):
    plan = roster.plan_import(parse(csv_bytes(person(), person(name="nguyễn văn an", unit="CB2"))), None)
    assert problems(plan) == [
        "Dòng 2: trùng người với dòng 3 (cùng họ tên và ngày sinh)",
        "Dòng 3: trùng người với dòng 2 (cùng họ tên và ngày sinh)",
    ]


def test_username_of_another_person_in_another_row(tree, make_user):
    make_user(username="annv", full_name="Nguyễn Văn An", birth_date=dt.date(1985, 5, 17), unit=tree["CB1"])
    plan = roster.plan_import(parse(csv_bytes(
        person(username=""), person(name="Phạm Thị Bé", username="annv"), headers=HEAD_USER)), None)
    assert problems(plan) == [
        "Dòng 2: cùng một người (tài khoản 'annv') với dòng 3",
        "Dòng 3, cột Tên đăng nhập: 'annv' là tài khoản của Nguyễn Văn An ở dòng 2, một người khác",
    ]


def test_suggested_usernames_avoid_usernames_claimed_by_other_rows(tree):
    plan = roster.plan_import(parse(csv_bytes(
        person(username=""), person(name="Ngô Văn An", born="01/01/1970", username="annv"), headers=HEAD_USER)), None)
    assert [(r.action, r.username) for r in plan.rows] == [("create", "annv2"), ("create", "annv")]


def test_organiser_imports_only_into_their_subtree(tree, make_user):
    organiser = make_user(role="organiser", scope=tree["HN"], unit=tree["CB1"])
    plan = roster.plan_import(parse(csv_bytes(person(unit="CB2"), person(name="Lê Văn Bình", unit="CB3"))),
                              organiser)
    assert [r.action for r in plan.rows] == ["create", "reject"]
    assert problems(plan) == ["Dòng 3, cột Đơn vị (mã): đồng chí không có quyền nhập vào đơn vị 'CB3' "
                              "(Chi bộ thôn Hòa Khê) vì đơn vị này nằm ngoài phạm vi đồng chí quản lý"]


def test_organiser_may_not_update_accounts_outside_scope_or_admins(tree, make_user):
    organiser = make_user(role="organiser", scope=tree["HN"], unit=tree["CB1"])
    make_user(username="binhlv", full_name="Lê Văn Bình", unit=tree["CB3"])
    make_user(username="quantri", full_name="Quản Trị", unit=tree["CB1"], role="admin")
    plan = roster.plan_import(parse(csv_bytes(
        person(name="Lê Văn Bình", unit="CB1", username="binhlv"),
        person(name="Quản Trị", unit="CB1", username="quantri", position="Chuyên viên"), headers=HEAD_USER)),
        organiser)
    assert problems(plan) == [
        "Dòng 2: đồng chí không được sửa tài khoản 'binhlv' (Chi bộ thôn Hòa Khê (CB3)) vì tài khoản này "
        "nằm ngoài phạm vi đồng chí quản lý hoặc có quyền rộng hơn",
        "Dòng 3: tài khoản 'quantri' là tài khoản quản trị, không thể sửa bằng cách nhập danh sách",
    ]


def test_planning_costs_the_same_queries_for_ten_or_forty_rows(tree, make_user, monkeypatch):
    for i in range(40):
        make_user(username=f"old{i}", full_name=f"Người Cũ Số {i}", birth_date=dt.date(1980, 1, 1 + i % 28),
                  unit=tree["CB1"])
    organiser = make_user(role="organiser", scope=tree["HU"], unit=tree["CB1"])

    def count_queries(n):
        rows = [person(name=f"Người Cũ Số {i}", born=f"{1 + i % 28:02d}/01/1980", unit="CB2") for i in range(n)]
        rows += [person(name=f"Người Mới Số {i}", born="01/01/1990") for i in range(n)]
        parsed = parse(csv_bytes(*rows))
        db = dbmod.database.obj
        calls = []
        original = db.execute_sql
        monkeypatch.setattr(db, "execute_sql", lambda *a, **k: calls.append(a[0]) or original(*a, **k))
        organiser.forget_grants()
        plan = roster.plan_import(parsed, organiser)
        monkeypatch.setattr(db, "execute_sql", original)
        assert plan.counts["update"] == n and plan.counts["create"] == n
        return len([sql for sql in calls if not sql.startswith("PREPARE ")])  # PostgreSQL: once per connection

    assert count_queries(10) == count_queries(40) <= 8


# Applying -----------------------------------------------------------------------------------

def test_apply_creates_accounts_with_initial_passwords_and_a_sheet(tree, make_user, tmp_path):
    existing = make_user(username="binhlv", full_name="Lê Văn Bình", birth_date=dt.date(1980, 3, 4),
                         unit=tree["CB1"], position="")
    data = csv_bytes(person(), person(name="Trần Thị Lụa", born="02/09/1990", gender="Nữ", unit="CB2"),
                     person(name="Lê Văn Bình", born="04/03/1980", position="Phó Bí thư"))
    result = apply(data, tmp_path=tmp_path)
    assert result.plan.counts == {"create": 2, "update": 1, "unchanged": 0, "reject": 0}

    an = User.get(User.username == "annv")
    assert (an.full_name, an.unit_id, an.gender, an.birth_date) == ("Nguyễn Văn An", tree["CB1"].id, "male",
                                                                    dt.date(1985, 5, 17))
    assert an.must_change_password and an.is_active
    by_username = {a["username"]: a for a in result.accounts}
    assert verify_password(an.password_hash, by_username["annv"]["password"])
    assert verify_password(User.get(User.username == "luatt").password_hash, by_username["luatt"]["password"])
    assert User.get_by_id(existing.id).position == "Phó Bí thư"

    ri = result.roster_import
    assert (ri.created_count, ri.updated_count, ri.unchanged_count) == (2, 1, 0)
    assert ri.filename == "danh-sach.csv" and ri.file_sha256 == roster.file_sha256(data)
    assert ri.credentials_expire_at == NOW + dt.timedelta(days=7)
    folder = tmp_path / "credentials" / ri.credentials_key
    assert sorted(os.listdir(folder)) == ["credentials.pdf", "credentials.xlsx"]
    assert result.sheet_paths == {"xlsx": str(folder / "credentials.xlsx"), "pdf": str(folder / "credentials.pdf")}

    [entry] = AuditLog.select().where(AuditLog.action == "roster.import")
    assert json.loads(entry.details)["created"] == 2 and json.loads(entry.details)["updated"] == 1
    assert entry.address == "10.0.0.1"
    assert AuditLog.select().where(AuditLog.action.in_(["user.create", "user.update"])).count() == 0


def test_reimporting_the_same_file_changes_nothing(tree, tmp_path):
    data = xlsx_bytes(person(), person(name="Trần Thị Lụa", born="02/09/1990", gender="Nữ", unit="CB2"))
    apply(data, tmp_path=tmp_path, filename="ds.xlsx")
    snapshot = list(User.select().order_by(User.id).tuples())
    plan = roster.plan_import(parse(data, "ds.xlsx"), None)
    assert [r.action for r in plan.rows] == ["unchanged", "unchanged"]
    again = apply(data, tmp_path=tmp_path, filename="ds.xlsx")
    assert again.plan.counts["unchanged"] == 2
    assert again.roster_import.credentials_key == "" and again.roster_import.credentials_expire_at is None
    assert again.sheet_paths == {} and again.accounts == []
    assert list(User.select().order_by(User.id).tuples()) == snapshot


def test_one_bad_row_means_nothing_is_written(tree, tmp_path):
    data = csv_bytes(person(), person(name="Lê Văn Bình", born="31/02/1980"))
    with pytest.raises(roster.ImportRejected) as info:
        apply(data, tmp_path=tmp_path)
    assert "Không nhập gì" in str(info.value)
    assert [str(p) for p in info.value.plan.problems] == ["Dòng 3, cột Ngày sinh: '31/02/1980' không phải là "
                                                          "ngày hợp lệ"]
    assert User.select().count() == 0
    assert RosterImport.select().count() == 0
    assert AuditLog.select().where(AuditLog.action == "roster.import").count() == 0
    assert not (tmp_path / "credentials").exists()


def test_apply_plans_again_inside_the_transaction(tree, make_user, tmp_path, monkeypatch):
    """Someone adds the same person between the preview and the confirmation: no duplicate account."""
    parsed = parse(csv_bytes(person()))
    real_plan = roster.plan_import
    calls = []

    def plan_then_race(roster_, actor):
        calls.append(1)
        if len(calls) == 2:  # after the preview, before the write
            make_user(username="an.nguyen", full_name="Nguyễn Văn An", birth_date=dt.date(1985, 5, 17),
                      unit=tree["CB1"], gender="male", position="Đảng viên", phone="0912345678", email="")
        return real_plan(roster_, actor)

    monkeypatch.setattr(roster, "plan_import", plan_then_race)
    result = roster.apply_import(parsed, None, NOW, str(tmp_path), "Tổ chức", "http://portal.test")
    assert result.plan.counts["unchanged"] == 1
    assert User.select().count() == 1


def test_a_failure_while_writing_leaves_nothing_behind(tree, tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(credentials, "write", broken)
    with pytest.raises(OSError):
        apply(csv_bytes(person()), tmp_path=tmp_path)
    assert User.select().count() == 0 and RosterImport.select().count() == 0


def test_a_username_taken_at_the_same_moment_rolls_everything_back(tree, tmp_path, monkeypatch):
    real = roster._create_accounts

    def racing(creates, prepared, now):  # as if another transaction had just committed this username
        User.create(username=creates[0].username, full_name="Người Khác", password_hash="x")
        return real(creates, prepared, now)

    monkeypatch.setattr(roster, "_create_accounts", racing)
    with pytest.raises(roster.DomainError, match="Cùng lúc đó có thay đổi khác"):
        apply(csv_bytes(person(), person(name="Lê Văn Bình")), tmp_path=tmp_path)
    assert User.select().count() == 0 and RosterImport.select().count() == 0
    assert not (tmp_path / "credentials").exists() or not os.listdir(tmp_path / "credentials")


def test_organiser_apply_is_checked_too(tree, make_user, tmp_path):
    organiser = make_user(role="organiser", scope=tree["HN"], unit=tree["CB1"])
    with pytest.raises(roster.ImportRejected):
        apply(csv_bytes(person(unit="CB3")), actor=organiser, tmp_path=tmp_path)
    member = make_user(unit=tree["CB1"])
    with pytest.raises(roster.DomainError, match="không có quyền nhập danh sách"):
        apply(csv_bytes(person()), actor=member, tmp_path=tmp_path)
    result = apply(csv_bytes(person(unit="CB2")), actor=organiser, tmp_path=tmp_path)
    assert result.roster_import.actor_id == organiser.id
    assert User.get(User.username == "annv").unit_id == tree["CB2"].id
    assert not RoleGrant.select().where(RoleGrant.user == User.get(User.username == "annv")).exists()


# Kept uploads and credentials sheets --------------------------------------------------------

def test_uploads_are_kept_for_the_uploader_and_the_hash(app, tmp_path):
    folder = str(tmp_path / "imports")
    token, digest = roster.store_upload(folder, b"abc", "ds.csv", 7, NOW)
    assert os.path.isfile(os.path.join(folder, f"{token}.bin"))
    assert roster.load_upload(folder, token, digest, 7) == (b"abc", "ds.csv")
    with pytest.raises(roster.DomainError, match="không khớp"):
        roster.load_upload(folder, token, digest, 8)
    with pytest.raises(roster.DomainError, match="không khớp"):
        roster.load_upload(folder, token, "0" * 64, 7)
    with pytest.raises(roster.DomainError, match="không còn"):
        roster.load_upload(folder, "../../etc/passwd", digest, 7)
    roster.discard_upload(folder, token)
    with pytest.raises(roster.DomainError, match="không còn"):
        roster.load_upload(folder, token, digest, 7)


def test_uploads_older_than_a_day_are_purged(app, tmp_path):
    folder = str(tmp_path / "imports")
    old, _ = roster.store_upload(folder, b"old", "a.csv", 1, NOW - dt.timedelta(days=2))
    recent, _ = roster.store_upload(folder, b"new", "b.csv", 1, NOW - dt.timedelta(hours=2))
    (tmp_path / "imports" / "orphan.bin").write_bytes(b"x")
    roster.purge_uploads(folder, NOW)
    assert sorted(os.listdir(folder)) == sorted([f"{recent}.bin", f"{recent}.json"])


def test_credentials_expire_and_can_be_deleted(tree, tmp_path):
    sheets = str(tmp_path / "credentials")
    ri = roster.apply_import(parse(csv_bytes(person())), None, NOW, sheets, "Tổ chức", "http://x").roster_import
    assert credentials.available_formats(sheets, ri, NOW) == ["pdf", "xlsx"]
    later = NOW + dt.timedelta(days=7, seconds=1)
    assert credentials.file_path(sheets, ri, "pdf", later) is None
    assert credentials.purge_expired(sheets, NOW) == 0
    assert credentials.purge_expired(sheets, later) == 1
    assert not os.path.exists(os.path.join(sheets, ri.credentials_key))
    assert RosterImport.get_by_id(ri.id).credentials_key == ""

    ri2 = roster.apply_import(parse(csv_bytes(person(name="Lê Văn Bình"))), None, NOW, sheets, "Tổ chức",
                              "http://x").roster_import
    credentials.delete(None, ri2, sheets)
    assert credentials.file_path(sheets, RosterImport.get_by_id(ri2.id), "xlsx", NOW) is None
    assert os.listdir(sheets) == []
    assert AuditLog.select().where(AuditLog.action == "roster.credentials_delete").count() == 1


def test_template_lists_importable_units_with_text_dates(tree, make_user):
    from openpyxl import load_workbook

    organiser = make_user(role="organiser", scope=tree["HN"], unit=tree["CB1"])
    wb = load_workbook(io.BytesIO(roster.template_xlsx(roster.template_units(organiser))))
    members, units = wb.worksheets
    assert [c.value for c in members[1]] == HEAD_USER
    assert members["A1"].font.bold
    assert members["B2"].value == "17/05/1985" and members["B2"].data_type == "s"
    assert members["D2"].value == "CB1"
    assert members.column_dimensions["A"].width >= 20
    assert [[c.value for c in row] for row in units.iter_rows(min_row=2)] == [
        ["HN", "Đảng bộ xã Hòa Ninh"], ["CB1", "    Chi bộ thôn An Sơn"], ["CB2", "    Chi bộ thôn Đông Lâm"]]
    # the template itself imports cleanly
    assert [r.action for r in roster.plan_import(parse(roster.template_csv([tree["CB1"]])), organiser).rows] \
        == ["create"]


def test_a_long_bad_cell_is_quoted_cut_short(app):
    """A paragraph pasted into the phone column: the message names the row and column and quotes the cell's
    first 80 characters, not the whole paragraph."""
    pasted = "Số điện thoại của đồng chí xin liên hệ văn phòng chi bộ vào giờ hành chính các ngày trong tuần " * 5
    [message] = problems(parse(csv_bytes(person(phone=pasted))))
    assert message.startswith("Dòng 2, cột Số điện thoại: 'Số điện thoại của đồng chí")
    quoted = message.split("'")[1]
    assert len(quoted) <= 80 and quoted.endswith("…") and pasted.startswith(quoted[:-1])
