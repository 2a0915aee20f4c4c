"""Results sheets: XLSX read back cell by cell, CSV, PDF, the downloads and `portal export-results`."""

import csv
import datetime as dt
import io
import subprocess

import openpyxl
import peewee as pw
import pytest

from portal.accounts.models import User
from portal.contests import exports, ranking
from portal.contests.models import Award, PrizeTier, Registration
from tests.contests.conftest import NOW

INJECTIONS = ['=HYPERLINK("http://example.com/x","Bấm vào đây")', "+1", "-2", "@SUM(A1:A9)", "\tx", "\rx"]
PERSON_HEADERS = ["STT", "Họ và tên", "Ngày sinh", "Đơn vị", "Đơn vị cấp trên", "Điểm", "Thời gian làm bài",
                  "Dự đoán", "Lần thi", "Xếp hạng", "Giải", "Nộp bài lúc"]
HEADER = 8  # the header row: title, contest, round, window, status, counts, a blank line above it


@pytest.fixture
def people(make_user, make_unit, committee, cell):
    """Four members with Vietnamese names, one of them in a second cell."""
    other = make_unit("HV-HP", "Chi bộ thôn Hòa Phước", parent=committee, declared_members=0)
    return {
        "nhung": make_user(full_name="Nguyễn Thị Hồng Nhung", unit=cell, birth_date=dt.date(1990, 3, 8)),
        "duc": make_user(full_name="Trần Văn Đức", unit=cell, birth_date=dt.date(1975, 12, 1)),
        "anh": make_user(full_name="Lê Thị Ánh", unit=other, birth_date=dt.date(1988, 1, 30)),
        "an": make_user(full_name="Phạm Ngọc Ẩn", unit=cell, birth_date=None),
    }


@pytest.fixture
def ranked(make_round, make_attempt, people):
    """A ranked round: Nhung first with a prize, Đức and Ánh tied second, Ẩn fourth without a prediction."""
    round_ = make_round(prediction="perfect")
    make_attempt(round_, people["nhung"], 10, seconds=200, prediction=1, at=NOW - dt.timedelta(hours=2))
    make_attempt(round_, people["duc"], 6, seconds=400, at=NOW - dt.timedelta(hours=3))  # a first try
    make_attempt(round_, people["duc"], 9, seconds=300, prediction=3, at=NOW - dt.timedelta(hours=1))
    make_attempt(round_, people["anh"], 9, seconds=300, prediction=3, at=NOW - dt.timedelta(hours=1))
    make_attempt(round_, people["an"], 7, seconds=3725, prediction=None, at=NOW)
    assert ranking.rank_round(round_, NOW) == 4
    tier = PrizeTier.create(contest=round_.contest, round=round_, position=1, name="Giải Nhất", count=1)
    Award.create(contest=round_.contest, round=round_, tier=tier, user=people["nhung"], rank=1)
    return round_


def xlsx_of(round_or_contest):
    out = io.BytesIO()
    exports.write_xlsx(round_or_contest, out, NOW)
    out.seek(0)
    return openpyxl.load_workbook(out)


def rows_of(ws, first, width=len(PERSON_HEADERS)):
    return [[c.value for c in row] for row in ws.iter_rows(min_row=first, max_col=width)]


# -- XLSX ------------------------------------------------------------------------------------------

def test_the_person_sheet_cell_by_cell(ranked):
    wb = xlsx_of(ranked)
    assert wb.sheetnames == ["Cá nhân", "Đơn vị"]
    ws = wb["Cá nhân"]
    assert ws["A1"].value == "KẾT QUẢ VÒNG 1"
    assert ws["A2"].value.startswith("Hội thi học tập và làm theo tư tưởng")
    assert ws["A4"].value == "Thời gian thi: từ 10:00 ngày 18/05/2025 đến 10:00 ngày 25/05/2025."  # Vietnam time
    assert ws["A5"].value == "Kết quả tạm thời: Ban Tổ chức chưa xác nhận."
    assert ws["A6"].value == "Số người dự thi: 4; số lượt thi: 5; số người đạt điểm tối đa (10 điểm): 1."
    header = HEADER
    assert [c.value for c in ws[header]] == PERSON_HEADERS
    assert ws.freeze_panes == f"A{header + 1}"
    assert ws.auto_filter.ref == f"A{header}:L{header + 4}"
    vn = dt.timedelta(hours=7)
    assert rows_of(ws, header + 1)[:4] == [
        [1, "Nguyễn Thị Hồng Nhung", dt.datetime(1990, 3, 8), "Chi bộ thôn An Sơn", "Đảng bộ huyện Hòa Vang", 10,
         dt.timedelta(seconds=200), 1, 1, 1, "Giải Nhất", NOW - dt.timedelta(hours=2) + vn],
        [2, "Lê Thị Ánh", dt.datetime(1988, 1, 30), "Chi bộ thôn Hòa Phước", "Đảng bộ huyện Hòa Vang", 9,
         dt.timedelta(seconds=300), 3, 1, 2, None, NOW - dt.timedelta(hours=1) + vn],
        [3, "Trần Văn Đức", dt.datetime(1975, 12, 1), "Chi bộ thôn An Sơn", "Đảng bộ huyện Hòa Vang", 9,
         dt.timedelta(seconds=300), 3, 2, 2, None, NOW - dt.timedelta(hours=1) + vn],
        [4, "Phạm Ngọc Ẩn", None, "Chi bộ thôn An Sơn", "Đảng bộ huyện Hòa Vang", 7,
         dt.timedelta(seconds=3725), None, 1, 4, None, NOW + vn],
    ]
    # formats a person sees: dates, durations, the shared rank marked, times to the second
    assert ws.cell(header + 1, 3).number_format == "dd/mm/yyyy"
    assert ws.cell(header + 1, 7).number_format == "[h]:mm:ss"
    assert ws.cell(header + 2, 10).number_format == '0" (đồng hạng)"'
    assert ws.cell(header + 1, 10).number_format == "0"
    assert ws.cell(header + 1, 12).number_format == "hh:mm:ss dd/mm/yyyy"
    assert ws.column_dimensions["B"].width > 20 and ws.column_dimensions["A"].width < 10
    notes = [r[0] for r in rows_of(ws, header + 5, 1) if r[0]]
    assert notes == [
        "Thứ tự xếp hạng: điểm cao hơn; dự đoán gần đúng hơn; thời gian làm bài ngắn hơn; nộp bài sớm hơn.",
        "Đáp án câu hỏi dự đoán (số người trả lời đúng tất cả các câu hỏi): 1.",
        'Những người cùng thứ hạng (ghi "đồng hạng") bằng nhau trên mọi tiêu chí xếp hạng; Ban Tổ chức xem xét, '
        "quyết định.",
    ]


def test_the_unit_sheet_rolls_up_through_the_tree(ranked, cell, make_unit, committee):
    make_unit("HV-TT", "Chi bộ thôn Thái Lai", parent=committee, declared_members=15)  # nobody took part
    ws = xlsx_of(ranked)["Đơn vị"]
    header = HEADER
    assert [c.value for c in ws[header]] == ["Đơn vị", "Số đảng viên", "Số người dự thi", "Tỷ lệ %", "Lượt thi",
                                             "Điểm TB (%)", "Giải Nhất"]
    assert ws.freeze_panes == f"A{header + 1}"
    lines = rows_of(ws, header + 1, 7)
    # the committee: its own 10 declared members (the factory's default) and everything below it
    assert lines[:5] == [
        ["Đảng bộ huyện Hòa Vang", 45, 4, pytest.approx(4 / 45), 5, pytest.approx(87.5), 1],
        ["Chi bộ thôn An Sơn", 20, 3, 0.15, 4, pytest.approx(260 / 3), 1],
        ["Chi bộ thôn Hòa Phước", 0, 1, None, 1, pytest.approx(90), 0],  # no declared members: no rate
        ["Chi bộ thôn Thái Lai", 15, 0, 0, 0, None, 0],
        ["Tổng cộng", 45, 4, pytest.approx(4 / 45), 5, pytest.approx(87.5), 1],
    ]
    assert ws.cell(header + 2, 1).alignment.indent == 1  # a cell below its committee
    assert ws.cell(header + 2, 4).number_format == "0.0%"


def test_a_contest_has_its_ranking_its_units_and_a_sheet_per_round(ranked, make_round, make_attempt, people):
    second = make_round(contest=ranked.contest)
    make_attempt(second, people["an"], 10, seconds=100)
    ranking.rank_round(second, NOW)
    ranking.rank_contest(ranked.contest, NOW)
    wb = xlsx_of(ranked.contest)
    assert wb.sheetnames == ["Cá nhân", "Đơn vị", "Vòng 1", "Vòng 2"]
    ws = wb["Cá nhân"]
    assert ws["A1"].value == "KẾT QUẢ HỘI THI"
    header = next(r for r in range(1, 10) if ws.cell(r, 1).value == "STT")
    assert [c.value for c in ws[header]] == [
        "STT", "Họ và tên", "Ngày sinh", "Đơn vị", "Đơn vị cấp trên", "Tổng điểm", "Tổng thời gian làm bài",
        "Số vòng dự thi", "Xếp hạng", "Giải", "Nộp bài lần cuối"]
    assert ws.freeze_panes == f"A{header + 1}"
    first = rows_of(ws, header + 1, 11)[0]
    assert first[1:2] + first[5:9] == ["Phạm Ngọc Ẩn", 17, dt.timedelta(seconds=3825), 2, 1]
    assert wb["Vòng 2"]["A1"].value == "KẾT QUẢ VÒNG 2"
    assert wb["Vòng 2"].cell(HEADER + 1, 2).value == "Phạm Ngọc Ẩn"


def test_a_public_registrant_of_an_other_unit(make_contest, make_round, make_attempt, make_user):
    contest = make_contest(is_public=True)
    round_ = make_round(contest=contest)
    user = make_user(full_name="Đoàn Thị Xuân", birth_date=None)
    User.update(unit=None).where(User.id == user.id).execute()
    Registration.create(contest=contest, user=user, full_name="Đoàn Thị Xuân", birth_date=dt.date(2001, 9, 2),
                        gender="female", other_unit="Đoàn Thanh niên xã Hòa Bắc", phone="0905123456")
    make_attempt(round_, User.get_by_id(user.id), 8)
    ranking.rank_round(round_, NOW)
    wb = xlsx_of(round_)
    person = rows_of(wb["Cá nhân"], HEADER + 1)[0]
    assert person[1:5] == ["Đoàn Thị Xuân", dt.datetime(2001, 9, 2), "Đoàn Thanh niên xã Hòa Bắc", None]
    units = {r[0]: r for r in rows_of(wb["Đơn vị"], HEADER + 1, 6)}
    assert units["Khác (không thuộc cây đơn vị)"][1:5] == [0, 1, None, 1]
    assert units["Tổng cộng"][2] == 1


@pytest.mark.parametrize("payload", INJECTIONS)
def test_formula_like_text_stays_text(payload, make_round, make_attempt, make_user, make_unit, committee):
    unit = make_unit("HV-X", "Chi bộ tạm", parent=committee)
    user = make_user(unit=unit)
    # Straight to the database: the model's NFC clean-up would strip a leading tab or CR.
    User.update({User.full_name: pw.Value(payload, converter=False)}).where(User.id == user.id).execute()
    type(unit).update({type(unit).name: pw.Value(payload, converter=False)}).where(
        type(unit).id == unit.id).execute()
    round_ = make_round()
    make_attempt(round_, user, 5)
    ranking.rank_round(round_, NOW)
    wb = xlsx_of(round_)
    row = HEADER + 1
    for ws, col in ((wb["Cá nhân"], 2), (wb["Cá nhân"], 4)):
        c = ws.cell(row, col)
        # text, exactly as typed (a CR travels as the XML escape _x000D_, which Excel reads back, openpyxl not)
        assert c.data_type == "s" and c.value in (payload, payload.replace("\r", "_x000D_"))
        assert c.quotePrefix  # and marked so, so that editing the cell keeps it text
    units = wb["Đơn vị"]
    found = [c for c in units["A"] if c.value in (payload, payload.replace("\r", "_x000D_"))]
    assert found and found[0].data_type == "s" and found[0].quotePrefix
    raw = b"".join(exports.csv_stream(round_)).decode("utf-8-sig")
    assert '"\'' + payload.replace('"', '""') + '"' in raw  # OWASP: an apostrophe first, and the field quoted
    record = list(csv.reader(io.StringIO(raw)))[1]
    assert record[1] == "'" + payload and record[3] == "'" + payload


def test_workbook_never_turns_text_into_formulas(ranked):
    """No cell in the whole workbook is a formula."""
    wb = xlsx_of(ranked)
    assert not [c.coordinate for ws in wb for row in ws.iter_rows() for c in row if c.data_type == "f"]


# -- CSV -------------------------------------------------------------------------------------------

def test_csv_has_a_bom_and_the_person_columns(ranked):
    data = b"".join(exports.csv_stream(ranked))
    assert data.startswith("\ufeff".encode())
    records = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert records[0] == PERSON_HEADERS
    assert records[1] == ["1", "Nguyễn Thị Hồng Nhung", "08/03/1990", "Chi bộ thôn An Sơn", "Đảng bộ huyện Hòa Vang",
                          "10", "0:03:20", "1", "1", "1", "Giải Nhất", "19/05/2025 08:00:00"]
    assert records[4][1:3] == ["Phạm Ngọc Ẩn", ""] and records[4][6:8] == ["1:02:05", ""]
    assert len(records) == 5


def test_csv_streams_in_chunks(ranked):
    chunks = list(exports.csv_chunks(exports.ROUND_COLUMNS, exports.round_people(ranked), batch=2))
    assert len(chunks) == 3  # header and two rows, two rows, the rest (nothing)


# -- PDF -------------------------------------------------------------------------------------------

def pdf_pages(content, tmp_path):
    path = tmp_path / "pages.pdf"
    path.write_bytes(content)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    return int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))


def pdf_text(content, tmp_path):
    path = tmp_path / "sheet.pdf"
    path.write_bytes(content)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return " ".join(text.split())  # a long name may wrap in its cell


def test_pdf_has_the_header_title_winner_and_signature(ranked, tmp_path):
    content = exports.pdf_bytes(ranked, NOW)
    assert pdf_pages(content, tmp_path) == 1
    text = pdf_text(content, tmp_path)
    for expected in ("ĐẢNG BỘ HUYỆN HÒA VANG", "BAN TỔ CHỨC HỘI THI", "ĐẢNG CỘNG SẢN VIỆT NAM", "KẾT QUẢ VÒNG 1",
                     "Nguyễn Thị Hồng Nhung", "Giải Nhất", "Phạm Ngọc Ẩn", "đồng hạng",
                     "Hòa Vang, ngày 19 tháng 5 năm 2025", "T/M BAN TỔ CHỨC", "TRƯỞNG BAN"):
        assert expected in text, expected
    assert "Danh sách gồm" not in text  # everyone is listed


def test_a_large_round_prints_the_winners_and_the_first_ranks(ranked, tmp_path, people):
    data = exports.pdf_data(ranked, NOW, top=1)
    assert [r["full_name"] for r in data["rows"]] == ["Nguyễn Thị Hồng Nhung"]
    Award.create(contest=ranked.contest, round=ranked, tier=PrizeTier.get(), user=people["an"], rank=4,
                 is_manual=True, reason="Điều chỉnh")
    Award.create(contest=ranked.contest, round=ranked, tier=None, user=people["duc"], rank=2,  # withdrawn
                 is_manual=True, reason="Thu hồi")
    data = exports.pdf_data(ranked, NOW, top=1)
    assert [r["full_name"] for r in data["rows"]] == ["Nguyễn Thị Hồng Nhung", "Phạm Ngọc Ẩn"]
    assert data["note"].startswith("Danh sách gồm 2 người: những người đạt giải và những người xếp hạng cao nhất "
                                   "(đến hạng 1), trong tổng số 4 người dự thi.")
    assert "Danh sách gồm 2 người" in pdf_text(exports.render_pdf(data), tmp_path)


@pytest.mark.parametrize("name, place", [
    ("Đảng bộ huyện Hòa Vang", "Hòa Vang"), ("Chi bộ thôn An Sơn", "An Sơn"), ("Đảng ủy xã Hòa Phong", "Hòa Phong"),
    ("Đảng bộ thành phố Đà Nẵng", "Đà Nẵng"), ("Ban Tuyên giáo", "Ban Tuyên giáo"),
])
def test_the_place_of_issue_comes_from_the_organising_unit(name, place):
    assert exports.place_name(type("U", (), {"name": name})()) == place


@pytest.mark.parametrize("when, expected", [
    (dt.datetime(2025, 2, 5), "Hòa Vang, ngày 05 tháng 02 năm 2025"),
    (dt.datetime(2025, 11, 20), "Hòa Vang, ngày 20 tháng 11 năm 2025"),
])
def test_the_date_line_is_written_as_on_official_papers(when, expected):
    assert exports.date_line("Hòa Vang", when) == expected


# -- a round nobody took ---------------------------------------------------------------------------

def test_an_empty_round_exports_headers_and_a_note(make_round, tmp_path):
    round_ = make_round()
    ranking.rank_round(round_, NOW)
    wb = xlsx_of(round_)
    ws = wb["Cá nhân"]
    header = next(r for r in range(1, 10) if ws.cell(r, 1).value == "STT")
    assert [c.value for c in ws[header]] == PERSON_HEADERS
    assert ws.cell(header + 1, 1).value == exports.NO_ENTRANTS == "Chưa có người dự thi"
    assert ws.freeze_panes == f"A{header + 1}"
    units = wb["Đơn vị"]
    assert units.cell(header + 1, 1).value == "Chưa có người dự thi"
    assert list(csv.reader(io.StringIO(b"".join(exports.csv_stream(round_)).decode("utf-8-sig")))) == \
        [PERSON_HEADERS]
    assert "Chưa có người dự thi" in pdf_text(exports.pdf_bytes(round_, NOW), tmp_path)


def test_an_empty_contest_exports(make_contest, tmp_path):
    contest = make_contest()
    wb = xlsx_of(contest)
    assert wb.sheetnames == ["Cá nhân", "Đơn vị"]
    assert exports.NO_ENTRANTS in [c.value for c in wb["Cá nhân"]["A"]]
    assert "KẾT QUẢ HỘI THI" in pdf_text(exports.pdf_bytes(contest, NOW), tmp_path)


# -- downloads -------------------------------------------------------------------------------------

def fetch(client, url):
    """GET a download, read it whole and close it (a server closes a streamed response after sending it)."""
    with client.get(url) as response:
        response.data  # noqa: B018 (reads the stream)
    return response


@pytest.fixture
def organiser(login, committee):
    return login(role="organiser", scope=committee)


@pytest.mark.parametrize("fmt, mimetype, magic", [
    ("xlsx", exports.MIMETYPES["xlsx"], b"PK"), ("csv", "text/csv; charset=utf-8", "\ufeff".encode()),
    ("pdf", "application/pdf", b"%PDF"),
])
def test_the_organiser_downloads_a_round(client, organiser, ranked, fmt, mimetype, magic):
    response = fetch(client, f"/manage/contests/{ranked.contest_id}/rounds/{ranked.id}/results.{fmt}")
    assert response.status_code == 200
    assert response.mimetype == mimetype.split(";")[0]
    assert response.headers["Content-Disposition"] == f"attachment; filename=ket-qua-vong-1.{fmt}" or \
        response.headers["Content-Disposition"] == f'attachment; filename="ket-qua-vong-1.{fmt}"'
    body = response.data
    assert body.startswith(magic)
    if fmt == "csv":
        assert "Nguyễn Thị Hồng Nhung" in body.decode("utf-8-sig")


def test_the_organiser_downloads_a_contest(client, organiser, ranked):
    ranking.rank_contest(ranked.contest, NOW)
    response = fetch(client, f"/manage/contests/{ranked.contest_id}/results.xlsx")
    assert response.status_code == 200
    assert f"ket-qua-hoi-thi-{ranked.contest_id}.xlsx" in response.headers["Content-Disposition"]
    wb = openpyxl.load_workbook(io.BytesIO(response.data))
    assert wb.sheetnames == ["Cá nhân", "Đơn vị", "Vòng 1"]


def test_an_unknown_format_is_not_found(client, organiser, ranked):
    assert client.get(f"/manage/contests/{ranked.contest_id}/results.docx").status_code == 404
    assert client.get(f"/manage/contests/{ranked.contest_id}/rounds/{ranked.id + 99}/results.csv").status_code == 404


@pytest.mark.parametrize("who", ["member", "other committee", "visitor"])
def test_only_the_organiser_may_download(client, login, make_unit, ranked, cell, who):
    if who == "member":
        login(unit=cell)
    elif who == "other committee":
        login(role="organiser", scope=make_unit("DN", "Đảng bộ xã Hòa Bắc", "committee"))
    for url in (f"/manage/contests/{ranked.contest_id}/rounds/{ranked.id}/results.xlsx",
                f"/manage/contests/{ranked.contest_id}/results.csv"):
        response = fetch(client, url)
        if who == "visitor":
            assert response.status_code == 302 and "/login" in response.headers["Location"]
        else:
            assert response.status_code == 403


# -- the command line ------------------------------------------------------------------------------

def test_export_results_writes_each_format(runner, ranked, tmp_path):
    for fmt in exports.FORMATS:
        target = tmp_path / f"vong.{fmt}"
        result = runner.invoke(args=["export-results", "--round", str(ranked.id), "-o", str(target)])
        assert result.exit_code == 0, result.output
        assert "Đã xuất kết quả vòng 1" in result.output
        assert target.stat().st_size > 100
    assert openpyxl.load_workbook(tmp_path / "vong.xlsx")["Cá nhân"]["A1"].value == "KẾT QUẢ VÒNG 1"
    target = tmp_path / "hoi-thi.bin"
    result = runner.invoke(args=["export-results", "--contest", str(ranked.contest_id), "--format", "csv",
                                 "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert target.read_bytes().startswith('\ufeff"STT","Họ và tên"'.encode())


@pytest.mark.parametrize("args, message", [
    ([], "Hãy chọn đúng một trong hai"),
    (["--round", "1", "--contest", "1"], "Hãy chọn đúng một trong hai"),
    (["--round", "abc"], "phải là một số nguyên dương"),
    (["--round", "999"], "Không có vòng thi mã 999"),
    (["--contest", "999"], "Không có hội thi mã 999"),
    (["--round", "{round}", "--format", "docx"], "Định dạng không hợp lệ"),
    (["--round", "{round}", "-o", "{tmp}/kq.txt"], "Định dạng không hợp lệ"),
    (["--round", "{round}", "-o", "{tmp}/khong-co/kq.xlsx"], "Không có thư mục"),
])
def test_export_results_refuses_bad_input_in_vietnamese(runner, ranked, tmp_path, args, message):
    args = [a.format(round=ranked.id, tmp=tmp_path) for a in args]
    if "-o" not in args:
        args += ["-o", str(tmp_path / "kq.xlsx")]
    result = runner.invoke(args=["export-results", *args])
    assert result.exit_code == 1
    assert message in result.output
    assert not (tmp_path / "kq.xlsx").exists()
