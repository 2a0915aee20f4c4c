"""The certificate document: what is printed, where, and how bulk output comes out."""

import io
import re
import subprocess
import unicodedata
import zipfile

import pytest
from PIL import Image

from portal.certificates import render

HARD_NAMES = ["Nguyễn Thị Ngọc Hưởng", "Đặng Quỳnh Ỷ", "Lê Thị Thu Hằng"]
LONG_NAME = "Tôn Nữ Hoàng Thị Phương Thảo Nguyễn Ngọc Quỳnh Như Ý Đặng Thị Huyền Trang Lê Thị Thu Hằng"


def write(tmp_path, content, name="c.pdf"):
    path = tmp_path / name
    path.write_bytes(content)
    return path


def text_of(path, *options):
    return subprocess.run(["pdftotext", *options, str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def words(path):
    """One flat text of the PDF, whatever the line breaks."""
    return " ".join(text_of(path).split())


def info(path, *options):
    return subprocess.run(["pdfinfo", *options, str(path)], capture_output=True, text=True, check=True).stdout


def pages(path):
    return int(re.search(r"^Pages:\s+(\d+)", info(path), re.M).group(1))


def picture(path, tmp_path, dpi=150):
    """The first page as a Pillow image."""
    subprocess.run(["pdftoppm", "-png", "-r", str(dpi), "-f", "1", "-l", "1", "-singlefile", str(path),
                    str(tmp_path / "page")], check=True)
    return Image.open(tmp_path / "page.png").convert("RGB")


@pytest.mark.parametrize("name", HARD_NAMES)
def test_hard_names_print_exactly_in_nfc(name, tmp_path):
    typed = unicodedata.normalize("NFD", name)  # as some input methods produce it
    path = write(tmp_path, render.render_certificate(render.sample_data({"recipient_name": typed})))
    text = text_of(path)
    assert unicodedata.normalize("NFC", name) in text
    assert f"Đồng chí: {name}" in " ".join(text.split())


def test_the_official_texts_are_printed(tmp_path):
    text = words(write(tmp_path, render.render_certificate(render.sample_data())))
    for line in ["ĐẢNG BỘ TỈNH QUẢNG NAM", "HUYỆN ỦY HIỆP ĐỨC", "ĐẢNG CỘNG SẢN VIỆT NAM",
                 "BAN THƯỜNG VỤ HUYỆN ỦY HIỆP ĐỨC", "TẶNG", "GIẤY KHEN", "Đồng chí: Nguyễn Thị Ngọc Hưởng",
                 "Chi bộ thôn Đông Lâm, Đảng bộ xã Bình Lâm", "đạt Giải Nhất Tuần 1.", "Số sổ vàng: 45",
                 "Quyết định số 123-QĐ/HU ngày 26 tháng 5 năm 2025", "Hiệp Đức, ngày 26 tháng 5 năm 2025",
                 "T/M BAN THƯỜNG VỤ", "BÍ THƯ", "Nguyễn Văn Bình", "Mã xác thực: K7Q2M-9XMAB",
                 "http://127.0.0.1:5000/verify/K7Q2M-9XMAB"]:
        assert line in text, line
    assert "CỘNG HÒA" not in text


def test_the_state_header(tmp_path):
    data = render.sample_data({"header": "state", "superior_body": "", "issuing_committee": "",
                               "issuing_body": "CHỦ TỊCH ỦY BAN NHÂN DÂN HUYỆN HIỆP ĐỨC",
                               "decision_number": "456/QĐ-UBND", "golden_book_number": ""})
    text = words(write(tmp_path, render.render_certificate(data)))
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM Độc lập - Tự do - Hạnh phúc" in text
    assert "ĐẢNG CỘNG SẢN VIỆT NAM" not in text
    assert "CHỦ TỊCH ỦY BAN NHÂN DÂN HUYỆN HIỆP ĐỨC TẶNG GIẤY KHEN" in text
    assert "Quyết định số 456/QĐ-UBND" in text and "Số sổ vàng" not in text


def test_the_state_header_with_the_issuer_on_the_left(tmp_path):
    data = render.sample_data({"header": "state", "superior_body": "UBND TỈNH QUẢNG NAM",
                               "issuing_committee": "SỞ NỘI VỤ"})
    text = text_of(write(tmp_path, render.render_certificate(data)), "-layout")
    first = next(line for line in text.splitlines() if line.strip())
    assert re.search(r"UBND TỈNH QUẢNG NAM\s{3,}CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", first)


def test_the_party_header_puts_the_committee_left_and_the_party_right(tmp_path):
    text = text_of(write(tmp_path, render.render_certificate(render.sample_data())), "-layout")
    first = next(line for line in text.splitlines() if line.strip())
    assert re.search(r"ĐẢNG BỘ TỈNH QUẢNG NAM\s{3,}ĐẢNG CỘNG SẢN VIỆT NAM", first)


def test_a_unit_and_a_certificate_of_participation(tmp_path):
    data = render.sample_data({"kind": "participation", "title": "GIẤY CHỨNG NHẬN", "recipient_prefix": "",
                               "recipient_name": "Chi bộ thôn Đông Lâm", "recipient_unit": "Đảng bộ xã Bình Lâm",
                               "achievement": "Đã tham gia Hội thi năm 2025."})
    path = write(tmp_path, render.render_certificate(data))
    text = words(path)
    assert "GIẤY CHỨNG NHẬN Chi bộ thôn Đông Lâm Đảng bộ xã Bình Lâm Đã tham gia Hội thi năm 2025." in text
    assert "Đồng chí" not in text
    assert "Title: Giấy chứng nhận - Chi bộ thôn Đông Lâm" in " ".join(info(path).split())


def test_the_qr_code_opens_the_verification_page(tmp_path):
    import zxingcpp

    data = render.sample_data({"code": "Q3W7RM4T2P", "verify_url": "https://portal.example.vn/verify/Q3W7R-M4T2P"})
    image = picture(write(tmp_path, render.render_certificate(data)), tmp_path, dpi=150)
    results = zxingcpp.read_barcodes(image)
    assert [r.text for r in results] == [data["verify_url"]]
    assert results[0].format == zxingcpp.BarcodeFormat.QRCode


def test_a_very_long_name_stays_on_one_line_inside_the_frame(tmp_path):
    path = write(tmp_path, render.render_certificate(render.sample_data({"recipient_name": LONG_NAME})))
    assert pages(path) == 1
    lines = [line.strip() for line in text_of(path, "-layout").splitlines()]
    assert any(line == f"Đồng chí: {LONG_NAME}" for line in lines)
    # Every word of the name within the content box (26 mm margins on a 297 mm page).
    bbox = text_of(path, "-bbox")
    right_edge = (297 - 26) * 72 / 25.4
    name_words = set(LONG_NAME.split())
    boxes = [(float(m.group(1)), float(m.group(2)), m.group(3)) for m in
             re.finditer(r'<word xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)" yMax="[\d.]+">([^<]+)</word>', bbox)]
    assert name_words <= {w for _, _, w in boxes}
    assert all(26 * 72 / 25.4 <= x0 and x1 <= right_edge for x0, x1, w in boxes if w in name_words)


def test_a_short_name_is_printed_large():
    short = render.context(render.sample_data({"recipient_name": "Lê Ý"}))
    long = render.context(render.sample_data({"recipient_name": LONG_NAME}))
    assert short["name_pt"] == render.NAME_MAX_PT
    assert long["name_pt"] < short["name_pt"]


def test_long_texts_still_fit_one_page(tmp_path):
    data = render.sample_data({
        "recipient_name": LONG_NAME,
        "recipient_unit": "Chi bộ Trường Trung học cơ sở Nguyễn Bỉnh Khiêm thuộc Đảng bộ xã Quế Thọ, " * 3,
        "achievement": "Đã có thành tích xuất sắc trong Hội thi tìm hiểu về học tập và làm theo tư tưởng, "
                       "đạo đức, phong cách Hồ Chí Minh năm 2025. " * 6,
    })
    path = write(tmp_path, render.render_certificate(data))
    assert pages(path) == 1
    assert "Nguyễn Văn Bình" in words(path)  # the signer is still there, below the text


def test_metadata_title_author_subject(tmp_path):
    meta = info(write(tmp_path, render.render_certificate(render.sample_data())))
    assert re.search(r"^Title:\s+Giấy khen - Nguyễn Thị Ngọc Hưởng$", meta, re.M)
    assert re.search(r"^Author:\s+BAN THƯỜNG VỤ HUYỆN ỦY HIỆP ĐỨC$", meta, re.M)
    assert re.search(r"^Subject:\s+Đã có thành tích xuất sắc", meta, re.M)
    assert re.search(r"^Page size:\s+841.89 x 595.2\d* pts \(A4\)$", meta, re.M)  # landscape


def test_archival_output_is_pdf_a(tmp_path):
    plain = write(tmp_path, render.render_certificate(render.sample_data()), "plain.pdf")
    archival = write(tmp_path, render.render_certificate(render.sample_data(), archival=True), "a.pdf")
    xmp = info(archival, "-meta")
    assert 'pdfaid:part="3"' in xmp and 'pdfaid:conformance="B"' in xmp
    assert "pdfaid" not in info(plain, "-meta")
    assert "Nguyễn Thị Ngọc Hưởng" in words(archival)


def test_dates_as_official_papers_write_them():
    assert render.vietnamese_date("2025-05-26") == "ngày 26 tháng 5 năm 2025"
    assert render.vietnamese_date("2025-02-05") == "ngày 05 tháng 02 năm 2025"
    assert render.vietnamese_date("") == ""
    assert render.date_line("Hiệp Đức", "2025-12-01") == "Hiệp Đức, ngày 01 tháng 12 năm 2025"
    assert render.decision_line("123-QĐ/HU", "") == "Quyết định số 123-QĐ/HU"
    assert render.decision_line("", "") == ""


def test_without_decision_or_golden_book_those_lines_are_left_out(tmp_path):
    data = render.sample_data({"decision_number": "", "decision_date": "", "golden_book_number": ""})
    text = words(write(tmp_path, render.render_certificate(data)))
    assert "Quyết định" not in text and "sổ vàng" not in text
    assert "Mã xác thực: K7Q2M-9XMAB" in text


def close(pixel, expected, tolerance=6):
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, expected))


def encode_png(image):
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _png(color, size):
    return encode_png(Image.new("RGB", size, color))


def test_border_and_logo_images_are_printed(tmp_path):
    images = {"b" * 64: ("image/png", _png((20, 160, 60), (350, 248))),
              "l" * 64: ("image/png", _png((30, 60, 200), (120, 120)))}
    data = render.sample_data({"border": "b" * 64, "logo": "l" * 64})
    path = write(tmp_path, render.render_certificate(data, images))
    listing = subprocess.run(["pdfimages", "-list", str(path)], capture_output=True, text=True, check=True).stdout
    sizes = {tuple(line.split()[3:5]) for line in listing.splitlines()[2:]}
    assert sizes == {("350", "248"), ("120", "120")}
    page = picture(path, tmp_path, dpi=30)
    assert close(page.getpixel((3, 3)), (20, 160, 60))  # the border covers the whole page, behind
    assert close(page.getpixel((page.width // 2, 25)), (30, 60, 200))  # the logo, top centre
    assert "Nguyễn Thị Ngọc Hưởng" in words(path)  # the text is over the picture


def test_without_a_border_image_the_page_has_its_own_frame(tmp_path):
    page = picture(write(tmp_path, render.render_certificate(render.sample_data())), tmp_path, dpi=100)
    assert page.getpixel((3, 3)) == (255, 255, 255)
    row = [page.getpixel((x, page.height // 2)) for x in range(round(7 / 25.4 * 100), round(10 / 25.4 * 100))]
    assert any(close(pixel, (164, 22, 26)) for pixel in row)  # the red line 8 mm in from the edge


def test_a_missing_image_is_left_out(tmp_path, caplog):
    path = write(tmp_path, render.render_certificate(render.sample_data({"logo": "f" * 64}), {}))
    assert "Nguyễn Thị Ngọc Hưởng" in words(path)
    assert "f" * 64 in caplog.text


def test_document_html_is_a_standalone_preview():
    html = render.document_html(render.sample_data(), static_url="/static/")
    assert '<link rel="stylesheet" href="/static/css/certificate.css">' in html
    assert "<title>Giấy khen - Nguyễn Thị Ngọc Hưởng</title>" in html
    assert "<svg" in html  # the QR code travels with the page


def _many(n):
    return [render.sample_data({"recipient_name": f"{HARD_NAMES[i % 3]} {i + 1}", "code": f"K7Q2M{i:05d}"})
            for i in range(n)]


@pytest.mark.parametrize("processes", [1, 2])
def test_write_pdf_gives_a_page_per_certificate_in_order(processes, tmp_path):
    n = 2 * render.CHUNK + 3  # three chunks
    seen = []
    datas = _many(n)
    path = tmp_path / "all.pdf"
    assert render.write_pdf(datas, path, progress=lambda done, total: seen.append((done, total)),
                            processes=processes) == n
    assert pages(path) == n
    assert seen[-1] == (n, n) and [done for done, _ in seen] == sorted(done for done, _ in seen)
    for number in (1, render.CHUNK + 1, n):
        page = " ".join(text_of(path, "-f", str(number), "-l", str(number)).split())
        assert f"Đồng chí: {datas[number - 1]['recipient_name']}" in page
        assert f"Mã xác thực: {render.display_code(datas[number - 1]['code'])}" in page
    meta = " ".join(info(path).split())
    assert f"Title: Giấy khen - {datas[0]['contest']} - Tuần 1" in meta
    assert "Author: BAN THƯỜNG VỤ HUYỆN ỦY HIỆP ĐỨC" in meta


def test_write_pdf_embeds_a_border_once_for_all_pages(tmp_path):
    import random

    rng = random.Random(5)
    noise = Image.frombytes("RGB", (400, 283), bytes(rng.randrange(256) for _ in range(400 * 283 * 3)))
    images = {"d" * 64: ("image/png", encode_png(noise))}
    datas = [dict(data, border="d" * 64) for data in _many(render.CHUNK + 2)]
    render.write_pdf(datas, tmp_path / "all.pdf", images=images)
    listing = subprocess.run(["pdfimages", "-list", str(tmp_path / "all.pdf")], capture_output=True, text=True,
                             check=True).stdout.splitlines()[2:]
    assert len(listing) == len(datas)  # one picture on every page…
    assert len({line.split()[10] for line in listing}) == 1  # …which is one object in the file
    single = len(render.render_certificate(datas[0], images))
    assert (tmp_path / "all.pdf").stat().st_size < 3 * single


@pytest.mark.parametrize("processes", [1, 2])
def test_write_zip_gives_one_pdf_per_certificate_with_ascii_names(processes, tmp_path):
    n = render.CHUNK + 1
    datas = _many(n)
    seen = []
    assert render.write_zip(datas, tmp_path / "all.zip", progress=lambda done, total: seen.append(done),
                            processes=processes) == n
    with zipfile.ZipFile(tmp_path / "all.zip") as archive:
        names = archive.namelist()
        assert len(names) == n
        assert names[0] == "001-Nguyen-Thi-Ngoc-Huong-1-K7Q2M00000.pdf"
        assert names[1] == "002-Dang-Quynh-Y-2-K7Q2M00001.pdf"
        assert all(name.isascii() and re.fullmatch(r"\d{3}-[A-Za-z0-9-]+\.pdf", name) for name in names)
        last = write(tmp_path, archive.read(names[-1]), "last.pdf")
    assert pages(last) == 1
    assert datas[-1]["recipient_name"] in words(last)
    assert seen[-1] == n


def test_empty_batches_give_empty_outputs(tmp_path):
    assert render.write_zip([], tmp_path / "none.zip") == 0
    with zipfile.ZipFile(tmp_path / "none.zip") as archive:
        assert archive.namelist() == []
    assert render.write_pdf([], tmp_path / "none.pdf") == 0


def test_ascii_names():
    assert render.ascii_name("Đặng Quỳnh Ỷ") == "Dang-Quynh-Y"
    assert render.ascii_name("Nguyễn Thị Ngọc Hưởng") == "Nguyen-Thi-Ngoc-Huong"
    assert render.ascii_name("../../etc/passwd") == "etc-passwd"
    assert render.ascii_name("") == "giay-khen"
