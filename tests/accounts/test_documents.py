"""Document helpers (PDF behind a locked-down fetcher, safe spreadsheets) and the credentials sheet."""

import datetime as dt
import io
import shutil
import subprocess

import pytest
from openpyxl import load_workbook

from portal import documents
from portal.accounts import credentials

ACCOUNTS = [
    {"full_name": "Nguyễn Thị Hằng", "unit": "Chi bộ thôn An Sơn (CB1)", "unit_id": None, "username": "hangnt",
     "password": "ab3kx7pq9m"},
    {"full_name": "Đặng Thùy Dương", "unit": "Chi bộ thôn An Sơn (CB1)", "unit_id": None, "username": "duongdt",
     "password": "zz8mn4rt2w"},
    {"full_name": "Huỳnh Ngọc Ẩn", "unit": "Chi bộ Quân sự (CB0)", "unit_id": None, "username": "annh",
     "password": "q7w8e9r2t3"},
]


def pdf_text(data, tmp_path):
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext (poppler-utils) is not installed")
    path = tmp_path / "doc.pdf"
    path.write_bytes(data)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return "\f".join(" ".join(page.split()) for page in text.split("\f"))  # headers wrap inside their cells


# Formula injection --------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["=1+1", "+84912", "-2+3", "@SUM(A1)", "\t=1", "\r=1",
                                   '=HYPERLINK("http://evil","x")'])
def test_cells_that_excel_would_run_get_an_apostrophe(value):
    assert documents.safe_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["Nguyễn Văn An", "", None, 42, -3, 1.5, dt.date(2026, 1, 1), "a=b"])
def test_other_cells_are_left_alone(value):
    assert documents.safe_cell(value) == value


def test_xlsx_never_contains_a_formula():
    data = documents.xlsx_bytes([documents.Sheet(
        title="Thử", headers=["=Tiêu đề", "Ngày"], rows=[["=cmd|' /C calc'!A0", dt.date(1985, 5, 17)], ["-1", 5]],
        preamble=["@đầu trang"], footer=["+chân trang"])])
    ws = load_workbook(io.BytesIO(data)).active
    cells = [c for row in ws.iter_rows() for c in row if c.value is not None]
    assert all(c.data_type != "f" for c in cells)
    values = [c.value for c in cells]
    assert "'=cmd|' /C calc'!A0" in values and "'=Tiêu đề" in values and "'@đầu trang" in values
    assert "'+chân trang" in values and "'-1" in values and 5 in values
    date_cell = next(c for c in cells if isinstance(c.value, dt.datetime))
    assert date_cell.number_format == "dd/mm/yyyy"


def test_csv_has_a_bom_and_safe_cells():
    data = documents.csv_bytes(["Họ và tên", "Ghi chú"], [["Trần Thị Lụa", "=2*3"], ["Lê Văn Bình", None]])
    assert data.startswith("\ufeffHọ và tên,Ghi chú\r\n".encode())
    assert "Trần Thị Lụa,'=2*3\r\nLê Văn Bình,\r\n" in data.decode("utf-8-sig")


# The URL fetcher ----------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["http://example.com/x.png", "https://127.0.0.1/", "ftp://x/y",
                                 "file:///etc/passwd", "file://otherhost/portal/static/favicon.svg",
                                 (documents.STATIC_DIR / "../../pyproject.toml").as_uri(),
                                 documents.STATIC_DIR.as_uri() + "/../__init__.py"])
def test_fetcher_refuses_everything_outside_static(url):
    with pytest.raises(documents.FetchRefused):
        documents.url_fetcher()(url)


def test_fetcher_serves_bundled_fonts_and_data_uris():
    font = documents.url_fetcher()((documents.STATIC_DIR / "fonts" / "NotoSerif-Regular.ttf").as_uri())
    assert font.read(4) == b"\x00\x01\x00\x00"
    font.close()
    data = documents.url_fetcher()("data:text/plain;base64,eGluIGNow6Bv")
    assert data.read() == "xin chào".encode()
    data.close()


@pytest.mark.parametrize("tag", ['<img src="file:///etc/passwd">', '<img src="http://example.com/a.png">',
                                 '<link rel="stylesheet" href="https://cdn.example.com/x.css">'])
def test_render_pdf_stops_at_a_forbidden_resource(tag):
    with pytest.raises(documents.DocumentError, match="refused"):
        documents.render_pdf(f"<html><body><p>x</p>{tag}</body></html>")


def test_render_pdf_makes_a_pdf():
    assert documents.render_pdf("<p>Xin chào</p>").startswith(b"%PDF")


# The credentials sheet ----------------------------------------------------------------------

@pytest.fixture
def sheet(app):
    return credentials.sheet_data(ACCOUNTS, "Đảng bộ huyện Hòa Vang", "https://hoctap.example.vn",
                                  dt.datetime(2026, 11, 22, 18, 30))  # 01:30 on the 23rd in Hà Nội


def test_sheet_data_is_grouped_by_unit_and_dated_locally(sheet):
    assert [r["username"] for r in sheet["rows"]] == ["annh", "hangnt", "duongdt"]
    assert [r["no"] for r in sheet["rows"]] == [1, 2, 3]
    assert sheet["date"] == "23/11/2026"
    assert sheet["title"] == "DANH SÁCH TÀI KHOẢN ĐĂNG NHẬP CỔNG HỌC TẬP"


def test_credentials_pdf(sheet, tmp_path):
    data = credentials.render_pdf(sheet)
    assert data.startswith(b"%PDF")
    text = pdf_text(data, tmp_path)
    for expected in ("DANH SÁCH TÀI KHOẢN ĐĂNG NHẬP CỔNG HỌC TẬP", "ĐẢNG BỘ HUYỆN HÒA VANG", "23/11/2026",
                     "https://hoctap.example.vn", "Nguyễn Thị Hằng", "Đặng Thùy Dương", "Huỳnh Ngọc Ẩn",
                     "ab3kx7pq9m", "STT", "Họ và tên", "Tên đăng nhập", "Mật khẩu ban đầu", "Ký nhận",
                     "Trang 1 / 1", "TÀI LIỆU MẬT"):
        assert expected in text, expected
    if shutil.which("pdfinfo"):
        path = tmp_path / "doc.pdf"
        info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
        assert "DANH SÁCH TÀI KHOẢN ĐĂNG NHẬP CỔNG HỌC TẬP" in info and "Đảng bộ huyện Hòa Vang" in info
        assert "595.276 x 841.89 pts (A4)" in info


def test_credentials_pdf_repeats_the_header_on_every_page(app, tmp_path):
    many = [dict(ACCOUNTS[0], username=f"user{i}") for i in range(60)]
    data = credentials.render_pdf(credentials.sheet_data(many, "Tổ chức", "http://x", dt.datetime(2026, 1, 1)))
    pages = pdf_text(data, tmp_path).split("\f")
    pages = [p for p in pages if p.strip()]
    assert len(pages) >= 3
    assert all("Mật khẩu ban đầu" in p for p in pages)
    assert f"Trang {len(pages)} / {len(pages)}" in pages[-1]


def test_credentials_xlsx(sheet):
    ws = load_workbook(io.BytesIO(credentials.render_xlsx(sheet))).active
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    assert rows[0][0] == "ĐẢNG BỘ HUYỆN HÒA VANG"
    assert rows[1][0] == "DANH SÁCH TÀI KHOẢN ĐĂNG NHẬP CỔNG HỌC TẬP"
    header = rows.index(["STT", "Họ và tên", "Đơn vị", "Tên đăng nhập", "Mật khẩu ban đầu", "Ký nhận"])
    assert rows[header + 1][:5] == [1, "Huỳnh Ngọc Ẩn", "Chi bộ Quân sự (CB0)", "annh", "q7w8e9r2t3"]
    assert ws.print_title_rows == f"${header + 1}:${header + 1}"  # repeated on every printed page
    assert any("phải đổi" in str(v) or "đổi sang mật khẩu" in str(v) for r in rows for v in r)
