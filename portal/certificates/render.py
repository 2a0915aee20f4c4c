"""Certificate PDFs: one A4 landscape page per certificate, rendered by WeasyPrint from a snapshot.

A snapshot (``Certificate.data``) is a dict of primitives (see ``sample_data``); the template
``certificates/document.html`` stands alone and receives nothing else. Everything WeasyPrint reads
goes through ``documents.url_fetcher``: data: URIs (the QR code is inline SVG, the organiser's
images come as data: URIs) and the bundled fonts and stylesheet under portal/static/. A refused URL
is left out with a warning in the log; the certificate still renders.

Speed: each process parses the stylesheet and loads the fonts once (``_engine``) and keeps a small
image cache, so a warm certificate costs little more than WeasyPrint's own layout. Bulk output is
rendered in chunks, so memory stays flat however many certificates there are, and can be split
across processes.
"""

import base64
import datetime as dt
import io
import logging
import multiprocessing
import os
import re
import unicodedata
import warnings
import zipfile
from functools import lru_cache
from pathlib import Path

import jinja2
import segno
from markupsafe import Markup

from .. import documents, formatting
from ..accounts.users import ascii_fold

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
STYLESHEET = documents.STATIC_DIR / "css" / "certificate.css"
FONTS = {
    "regular": documents.STATIC_DIR / "fonts" / "NotoSerif-Regular.ttf",
    "bold": documents.STATIC_DIR / "fonts" / "NotoSerif-Bold.ttf",
    "italic": documents.STATIC_DIR / "fonts" / "NotoSerif-Italic.ttf",
}
ARCHIVAL_VARIANT = "pdf/a-3b"
CHUNK = 20  # certificates per rendered part: bounds memory in bulk output

# The layout's boxes (certificate.css), in points: 1 mm = 72 / 25.4 pt.
MM = 72 / 25.4
BODY_WIDTH = 245 * MM  # the page (297 mm) less the content's side margins (2 x 26 mm)
ACHIEVEMENT_WIDTH = BODY_WIDTH - 12 * MM
NAME_MAX_PT, UNIT_MAX_PT, ACHIEVEMENT_MAX_PT = 28, 16, 16
UNIT_MIN_PT, ACHIEVEMENT_MIN_PT = 11, 10
UNIT_LINE_HEIGHT, ACHIEVEMENT_LINE_HEIGHT = 1.3, 1.35
# Height between the top of the content and the foot (209.8 mm less the content's margins 20 + 17 and
# the foot's 52 mm), and what the issuing body, "TẶNG" and the title take with their margins; the
# header (its text, or the logo) and the name line come on top.
BODY_HEIGHT = (209.8 - 20 - 17 - 52) * MM
FIXED_HEIGHT = (7 * MM + 17 * 1.3) + (1.5 * MM + 16 * 1.3) + (5.5 * MM + 50 * 1.15) + 1.5 * MM + 3 * MM
ISSUER_WIDTH = BODY_WIDTH * 0.42  # the header's left column
HEAD_LINE, RULE_HEIGHT, LOGO_HEIGHT = 12 * 1.3, 1.2 * MM, 18 * MM
FIT = 0.96  # HarfBuzz kerning and rounding: keep a little room below the measured width

_jinja = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True, undefined=jinja2.StrictUndefined,
    trim_blocks=True, lstrip_blocks=True,
)


def sample_data(overrides=None):
    """A full snapshot with sample values: previews, tests and the benchmark."""
    data = {
        "kind": "merit", "header": "party",
        "superior_body": "ĐẢNG BỘ TỈNH QUẢNG NAM", "issuing_committee": "HUYỆN ỦY HIỆP ĐỨC",
        "issuing_body": "BAN THƯỜNG VỤ HUYỆN ỦY HIỆP ĐỨC", "title": "GIẤY KHEN",
        "recipient_prefix": "Đồng chí", "recipient_name": "Nguyễn Thị Ngọc Hưởng",
        "recipient_unit": "Chi bộ thôn Đông Lâm, Đảng bộ xã Bình Lâm",
        "achievement": "Đã có thành tích xuất sắc trong Hội thi tìm hiểu về học tập và làm theo tư tưởng, "
                       "đạo đức, phong cách Hồ Chí Minh năm 2025, đạt Giải Nhất Tuần 1.",
        "contest": "Hội thi tìm hiểu về học tập và làm theo tư tưởng, đạo đức, phong cách Hồ Chí Minh năm 2025",
        "round": "Tuần 1", "prize": "Giải Nhất",
        "decision_number": "123-QĐ/HU", "decision_date": "2025-05-26", "golden_book_number": "45",
        "place": "Hiệp Đức", "date": "2025-05-26",
        "signer_on_behalf": "T/M BAN THƯỜNG VỤ", "signer_title": "BÍ THƯ", "signer_name": "Nguyễn Văn Bình",
        "border": "", "logo": "",
        "code": "K7Q2M9XMAB", "verify_url": "http://127.0.0.1:5000/verify/K7Q2M-9XMAB", "version": 1,
    }
    data.update(overrides or {})
    return data


# -- texts -------------------------------------------------------------------------------------------

def _date(value):
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value or "")[:10])
    except ValueError:
        return None


def vietnamese_date(value):
    """ "ngày 26 tháng 5 năm 2025" from a snapshot's ISO date (or a date)."""
    return formatting.official_date(_date(value))


def date_line(place, value):
    """ "Hiệp Đức, ngày 26 tháng 5 năm 2025" (or "Ngày …" without a place) from a snapshot's ISO date."""
    return formatting.date_line(place, _date(value))


def decision_line(number, date):
    """ "Quyết định số 123-QĐ/HU ngày 26 tháng 5 năm 2025", or "" when there is no decision."""
    when = vietnamese_date(date)
    if not number and not when:
        return ""
    return " ".join(part for part in ("Quyết định", f"số {number}" if number else "", when) if part)


def sentence_case(title):
    """ "GIẤY KHEN" -> "Giấy khen": the title as a file's metadata writes it."""
    return title[:1].upper() + title[1:].lower()


def display_code(code):
    code = code or ""
    return f"{code[:5]}-{code[5:]}" if len(code) == 10 else code


def ascii_name(text, limit=60):
    """ "Nguyễn Thị Ngọc Hưởng" -> "Nguyen-Thi-Ngoc-Huong": a file name any system accepts."""
    text = ascii_fold(text or "")
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")[:limit].strip("-") or "giay-khen"


# -- fitting text: measured on the bundled fonts ------------------------------------------------------

@lru_cache(maxsize=None)
def _advances(style):
    """({codepoint: advance}, units per em, fallback advance) of a bundled font."""
    from fontTools.ttLib import TTFont

    with TTFont(str(FONTS[style]), lazy=True) as font:
        metrics = font["hmtx"].metrics
        widths = {cp: metrics[glyph][0] for cp, glyph in font.getBestCmap().items()}
        upem = font["head"].unitsPerEm
    return widths, upem, max(widths.get(ord("M"), upem), upem * 0.6)


def text_width(text, size, style="regular"):
    """The width in points of ``text`` set on one line at ``size`` points in a bundled font."""
    widths, upem, fallback = _advances(style)
    text = unicodedata.normalize("NFC", text)
    return sum(widths.get(ord(ch), fallback) for ch in text) * size / upem


def fit_one_line(parts, width, largest):
    """The font size (<= ``largest``) at which ``parts`` [(text, style)] fill at most ``width`` points."""
    at_one = sum(text_width(text, 1, style) for text, style in parts)
    if at_one <= 0:
        return largest
    return round(min(largest, width * FIT / at_one), 2)


def count_lines(text, size, width, style="regular"):
    """How many lines greedy wrapping at word spaces gives ``text`` in a box ``width`` points wide."""
    space = text_width(" ", size, style)
    lines, used = 1, 0.0
    for word in text.split():
        w = text_width(word, size, style)
        if used and used + space + w > width * FIT:
            lines, used = lines + 1, w
        else:
            used = used + space + w if used else w
    return lines


def fit_lines(text, width, largest, smallest, max_lines=None, max_height=None, line_height=1.3):
    """The largest size from ``largest`` down to ``smallest`` (half points) at which ``text`` keeps
    within ``max_lines`` lines or ``max_height`` points; ``smallest`` when none does."""
    size = largest
    while size >= smallest:
        lines = count_lines(text, size, width)
        if (max_lines is None or lines <= max_lines) and \
                (max_height is None or lines * size * line_height <= max_height):
            return size
        size -= 0.5
    return smallest


# -- the document --------------------------------------------------------------------------------------

_URIS = {}  # (sha, role) -> data: URI of the few images in use; a bulk run names the same two again and again
BORDER_MAX_SIDE = 2048  # a background across A4: ~175 dpi, sharp enough, and every single PDF carries it
LOGO_MAX_SIDE = 600  # 26 mm wide at most on paper: 600 px is ~590 dpi


def _print_image(role, mime, content):
    """(mime, bytes) of an uploaded image as it is best embedded in every certificate.

    WeasyPrint decodes and re-encodes a PNG for each PDF it writes, but copies a JPEG as it is: a
    full-page border as PNG would cost ~150 ms per certificate. The border lies on the white page
    under everything else, so it is flattened on white, sent as a JPEG and kept to BORDER_MAX_SIDE
    (each PDF of a ZIP carries it); the logo, which may lie on the border, keeps its transparency
    and is only made small.
    """
    from PIL import Image

    image = Image.open(io.BytesIO(content))
    limit = BORDER_MAX_SIDE if role == "border" else LOGO_MAX_SIDE
    if mime == "image/jpeg" and max(image.size) <= limit:
        return mime, content
    if role == "logo" and mime == "image/png" and max(image.size) <= limit:
        return mime, content
    image.thumbnail((limit, limit), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    if role == "logo" and mime == "image/png":
        image.save(out, "PNG")
        return mime, out.getvalue()
    if image.mode in ("RGBA", "LA", "P", "PA") or "transparency" in image.info:
        image = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", image.size, (255, 255, 255, 255)), image)
    image.convert("RGB").save(out, "JPEG", quality=88)
    return "image/jpeg", out.getvalue()


def _data_uri(sha, images, role):
    if not sha:
        return ""
    uri = _URIS.get((sha, role))
    if uri is None:
        if not images or sha not in images:
            log.warning("certificate image %s is missing; rendering without it", sha)
            return ""
        mime, content = images[sha]
        if mime not in ("image/png", "image/jpeg"):
            log.warning("certificate image %s is %s, not PNG or JPEG; rendering without it", sha, mime)
            return ""
        try:
            mime, content = _print_image(role, mime, content)
        except (OSError, ValueError):
            log.warning("certificate image %s cannot be read; rendering without it", sha)
            return ""
        if len(_URIS) >= 16:
            _URIS.clear()
        uri = _URIS[(sha, role)] = f"data:{mime};base64,{base64.b64encode(content).decode('ascii')}"
    return uri


def qr_svg(url):
    """The verification URL as an inline SVG QR code (medium error correction: survives a stamp's edge)."""
    return Markup(segno.make(url, error="m", micro=False).svg_inline(border=0, omitsize=True))


def context(data, images=None):
    """The primitives the template receives: the snapshot's texts plus what is computed from them."""
    values = {key: ("" if value is None else value) for key, value in data.items()}
    for key in ("recipient_prefix", "recipient_unit", "achievement", "superior_body", "issuing_committee",
                "issuing_body", "decision_number", "decision_date", "golden_book_number", "place", "date",
                "signer_on_behalf", "signer_title", "signer_name", "border", "logo", "code", "verify_url"):
        values.setdefault(key, "")
    values = {key: unicodedata.normalize("NFC", value) if isinstance(value, str) else value
              for key, value in values.items()}
    name, prefix = values["recipient_name"], values["recipient_prefix"]
    parts = [(f"{prefix}: ", "italic")] if prefix else []
    header = "state" if values.get("header") == "state" else "party"
    unit = values["recipient_unit"]
    unit_pt = fit_lines(unit, BODY_WIDTH, UNIT_MAX_PT, UNIT_MIN_PT, max_lines=2, line_height=UNIT_LINE_HEIGHT)
    unit_height = count_lines(unit, unit_pt, BODY_WIDTH) * unit_pt * UNIT_LINE_HEIGHT if unit else 0
    name_pt = fit_one_line(parts + [(name, "bold")], BODY_WIDTH, NAME_MAX_PT)
    issuer_lines = sum(count_lines(values[key], 12, ISSUER_WIDTH, style) for key, style in
                       (("superior_body", "regular"), ("issuing_committee", "bold")) if values[key])
    head_height = max(LOGO_HEIGHT if values["logo"] else 0, max(issuer_lines, 2) * HEAD_LINE + RULE_HEIGHT)
    achievement_height = BODY_HEIGHT - head_height - FIXED_HEIGHT - name_pt * 1.25 - unit_height
    achievement_pt = fit_lines(values["achievement"], ACHIEVEMENT_WIDTH, ACHIEVEMENT_MAX_PT, ACHIEVEMENT_MIN_PT,
                               max_height=achievement_height, line_height=ACHIEVEMENT_LINE_HEIGHT)
    line = achievement_pt * ACHIEVEMENT_LINE_HEIGHT
    title = values.get("title") or ("GIẤY CHỨNG NHẬN" if values.get("kind") == "participation" else "GIẤY KHEN")
    values.update(
        header=header,
        title=title,
        centred=header == "state" and not (values["superior_body"] or values["issuing_committee"]),
        document_title=f"{sentence_case(title)} - {name}",
        name_pt=name_pt,
        unit_pt=unit_pt,
        achievement_pt=achievement_pt,
        # Beyond what fits even at the smallest size, cut the text (after a whole line) rather than
        # print it over the signature.
        achievement_max_pt=round(achievement_height // line * line + 0.5, 1),
        date_line=date_line(values["place"], values["date"]),
        decision_line=decision_line(values["decision_number"], values["decision_date"]),
        golden_book_line=f"Số sổ vàng: {values['golden_book_number']}" if values["golden_book_number"] else "",
        display_code=display_code(values["code"]),
        qr_svg=qr_svg(values["verify_url"]) if values["verify_url"] else "",
        border=_data_uri(values["border"], images, "border"),
        logo=_data_uri(values["logo"], images, "logo"),
    )
    return values


def image_css(values):
    """The rules that show the border and the logo: their data: URIs as background images."""
    rules = []
    if values["border"]:
        rules.append(f'.backdrop {{ background-image: url("{values["border"]}"); }}')
    if values["logo"]:
        rules.append(f'.emblem .logo {{ background-image: url("{values["logo"]}"); }}')
    return Markup("\n".join(rules))  # data: URIs of base64: nothing to escape


def _html(values, standalone, static_url=""):
    """The document; ``standalone`` links the stylesheet and inlines the image rules (a preview)."""
    return _jinja.get_template("certificates/document.html").render(
        values, stylesheet_url=f"{static_url}css/certificate.css" if standalone else None,
        image_css=image_css(values) if standalone else None)


def document_html(data, images=None, static_url=""):
    """The HTML WeasyPrint would get for ``data``, standalone: a preview, or an export.

    ``static_url`` is where a browser finds portal/static/ (e.g. "/static/"); relative to it by default,
    as WeasyPrint resolves it. render_certificate gets the same page with both stylesheets (the
    certificate's and the image rules) already parsed, so that it parses neither again.
    """
    return _html(context(data, images), True, static_url)


# -- WeasyPrint, once per process ------------------------------------------------------------------------

_engine_state = {}
_inherited = []  # a forked worker keeps its parent's fonts alive: dropping them would delete its files


def _engine():
    """The per-process font configuration, parsed stylesheet, fetcher and image cache."""
    state = _engine_state
    if state.get("pid") != os.getpid():
        from weasyprint import CSS
        from weasyprint.text.fonts import FontConfiguration

        if state:
            _inherited.append(dict(state))
        fonts = FontConfiguration()
        fetcher = documents.url_fetcher(fail_on_errors=False)
        stylesheet = CSS(filename=str(STYLESHEET), url_fetcher=fetcher, font_config=fonts)
        state.clear()
        state.update(pid=os.getpid(), fonts=fonts, fetcher=fetcher, stylesheets=[stylesheet], cache={},
                     image_sheets={})
    if len(state["cache"]) > 64:  # images seen: a bulk run has one or two, a long-lived worker many
        state["cache"].clear()
    return state


def _image_stylesheet(engine, values):
    """The parsed image rules for this border and logo; a batch has one pair, parsed once."""
    from weasyprint import CSS

    key = (values["border"], values["logo"])  # the URIs come from _URIS: hashed once, compared by identity
    sheets = engine["image_sheets"]
    if key not in sheets:
        if len(sheets) >= 8:
            sheets.clear()
        sheets[key] = CSS(string=str(image_css(values)), url_fetcher=engine["fetcher"],
                          font_config=engine["fonts"])
    return sheets[key]


def _document(html, archival=False, values=None):
    """Lay ``html`` out into a WeasyPrint Document with the pre-parsed stylesheets (and the image rules
    for ``values``, the context it was rendered from)."""
    from weasyprint import HTML

    engine = _engine()
    stylesheets = engine["stylesheets"]
    if values and (values["border"] or values["logo"]):
        stylesheets = [*stylesheets, _image_stylesheet(engine, values)]
    page = HTML(string=html, base_url=str(documents.STATIC_DIR) + os.sep, url_fetcher=engine["fetcher"])
    return page.render(font_config=engine["fonts"], stylesheets=stylesheets, cache=engine["cache"],
                       **_options(archival))


def _laid_out(data, images, archival=False):
    values = context(data, images)
    return _document(_html(values, False), archival, values)


def _options(archival):
    return {"pdf_variant": ARCHIVAL_VARIANT} if archival else {}


def html_to_pdf(html, archival=False):
    """PDF bytes of a certificate's HTML behind the safe fetcher; a refused URL is only left out."""
    return _write(_document(html, archival), archival)


def _write(document, archival):
    if not archival:
        return document.write_pdf()
    with warnings.catch_warnings():
        # WeasyPrint opens its sRGB profile for the PDF/A output intent and leaves the file to the
        # garbage collector, which complains; nothing of ours is left open.
        warnings.filterwarnings("ignore", r"unclosed file .*sRGB2014\.icc", ResourceWarning)
        return document.write_pdf(**_options(archival))


def render_certificate(data, images=None, archival=False):
    """The PDF of one certificate (one page). ``images``: {sha256: (mime, bytes)}, see load_images."""
    return _write(_laid_out(data, images, archival), archival)


def load_images(datas):
    """The Assets that a batch of snapshots names, as {sha256: (mime, bytes)}."""
    from .models import Asset

    shas = {sha for data in datas for sha in (data.get("border"), data.get("logo")) if sha}
    if not shas:
        return {}
    return {a.sha256: (a.mime, bytes(a.data)) for a in Asset.select().where(Asset.sha256.in_(sorted(shas)))}


# -- bulk output -------------------------------------------------------------------------------------------

_worker_images = {}  # a forked worker's copy of the batch's images, set once by the pool's initializer


def _set_worker_images(images):
    _worker_images.clear()
    _worker_images.update(images or {})


class _Captured(Exception):  # noqa: N818 (not an error: carries the PDF out of WeasyPrint's finisher)
    def __init__(self, pdf):
        super().__init__()
        self.pdf = pdf


def _capture(document, pdf):
    # WeasyPrint calls the finisher with the finished object model just before serialising it; the
    # joiner serialises the objects itself, so stop there rather than compress everything twice.
    raise _Captured(pdf)


_REFERENCE = re.compile(rb"(\d+) 0 R")
_MARK = re.compile(rb"\x01(\d+)\x02")


def _mark_references(value):
    """Replace the references ("12 0 R") in a dictionary or array, deep, by markers that cannot occur in
    PDF syntax (b"\x01" 12 b"\x02"), so that the serialised object splits exactly at its references."""
    if isinstance(value, bytes):
        match = _REFERENCE.fullmatch(value)
        return b"\x01%s\x02" % match.group(1) if match else value
    if isinstance(value, dict):
        for key in value:
            value[key] = _mark_references(value[key])
    elif isinstance(value, list):
        value[:] = [_mark_references(item) for item in value]
    return value


def _split(data):
    """[bytes, number, bytes, number, ..., bytes]: serialised object text around its marked references."""
    pieces = _MARK.split(data)
    return [piece if i % 2 == 0 else int(piece) for i, piece in enumerate(pieces)]


def _part_objects(pdf):
    """A chunk's PDF as (page tree number, page numbers, [(number, pieces)]), without its catalog and
    page tree: the joiner gives the pages its own, and renumbers every object."""
    from pydyf import Stream

    root = pdf.pages.number
    objects = []
    for obj in pdf.objects:
        if obj.free == "f" or obj is pdf.catalog or obj is pdf.pages:
            continue
        if isinstance(obj, Stream):
            _mark_references(obj.extra)
            head, separator, body = obj.data.partition(b"\nstream\n")  # no reference past the dictionary
            pieces = _split(head)
            pieces[-1] += separator + body
        else:
            _mark_references(obj)
            pieces = _split(obj.data)
        objects.append((obj.number, pieces))
    return root, list(pdf.pages["Kids"][::3]), objects


def _render_part(task):
    """One chunk laid out as one document, as objects for PdfJoiner; ``images`` None in a worker."""
    datas, images = task
    images = _worker_images if images is None else images
    laid_out = [_laid_out(data, images) for data in datas]
    pages = [page for document in laid_out for page in document.pages]
    try:
        laid_out[0].copy(pages).write_pdf(finisher=_capture)
    except _Captured as captured:
        return len(datas), _part_objects(captured.pdf)
    raise RuntimeError("WeasyPrint did not call the finisher")


class PdfJoiner:
    """Write one PDF from parts (see _part_objects) as they come: each part's objects are renumbered
    and written at once, so memory holds only offsets however many pages. A large object without
    references that a part repeats (the border picture, in every part) is written once."""

    PAGES, CATALOG, INFO = 1, 2, 3

    def __init__(self, out):
        self.out = out
        self.position = 0
        self.offsets = [0, 0, 0, 0]  # by object number; 0 free, 1-3 written at the end
        self.kids = []
        self.shared = {}  # sha256 of a large object without references -> its number
        self._emit(b"%PDF-1.7\n%\xf0\x9f\x96\xa4\n")

    def _emit(self, data):
        self.out.write(data)
        self.position += len(data)

    def _object(self, number, data):
        if number >= len(self.offsets):
            self.offsets.extend([0] * (number + 1 - len(self.offsets)))
        self.offsets[number] = self.position
        self._emit(b"%d 0 obj\n%s\nendobj\n" % (number, data))

    def add(self, part):
        import hashlib

        root, page_numbers, objects = part
        numbers, fresh = {root: self.PAGES}, []
        for old, pieces in objects:
            if len(pieces) == 1 and len(pieces[0]) > 4096:
                digest = hashlib.sha256(pieces[0]).digest()
                if digest in self.shared:
                    numbers[old] = self.shared[digest]
                    continue
                self.shared[digest] = len(self.offsets) + len(fresh)
            numbers[old] = len(self.offsets) + len(fresh)
            fresh.append((old, pieces))
        for old, pieces in fresh:
            self._object(numbers[old], b"".join(
                piece if isinstance(piece, bytes) else b"%d 0 R" % numbers[piece] for piece in pieces))
        self.kids.extend(numbers[old] for old in page_numbers)

    def close(self, info):
        """Write the page tree, catalog, ``info`` ({"Title": …}), cross-reference table and trailer."""
        from pydyf import Dictionary, String

        kids = b" ".join(b"%d 0 R" % number for number in self.kids)
        self._object(self.PAGES, b"<</Type /Pages /Kids [%s] /Count %d>>" % (kids, len(self.kids)))
        self._object(self.CATALOG, b"<</Type /Catalog /Pages %d 0 R /Lang (vi)>>" % self.PAGES)
        self._object(self.INFO, Dictionary({key: String(value) for key, value in info.items()}).data)
        start = self.position
        rows = [b"0000000000 65535 f \n"] + [b"%010d 00000 n \n" % offset for offset in self.offsets[1:]]
        self._emit(b"xref\n0 %d\n%s" % (len(self.offsets), b"".join(rows)))
        self._emit(b"trailer\n<</Size %d /Root %d 0 R /Info %d 0 R>>\nstartxref\n%d\n%%%%EOF\n"
                   % (len(self.offsets), self.CATALOG, self.INFO, start))


def _render_singles(task):
    """One chunk as one PDF per certificate (write_zip)."""
    datas, images, archival = task
    images = _worker_images if images is None else images
    return [render_certificate(data, images, archival) for data in datas]


def _parallel(function, datas, images, processes, *extra):
    """Yield function((chunk, images, *extra)) for each chunk of ``datas``, in order, in up to
    ``processes`` forked processes. Only a few chunks are in flight at a time, so memory stays flat."""
    chunks = (datas[start:start + CHUNK] for start in range(0, len(datas), CHUNK))
    if processes <= 1 or len(datas) <= CHUNK:
        for chunk in chunks:
            yield function((chunk, images or {}, *extra))
        return
    # fork: the workers inherit the code and the images (passed once, not pickled with every chunk)
    # and touch no database. Each builds its own fonts and stylesheet (see _engine).
    pool = multiprocessing.get_context("fork").Pool(processes, initializer=_set_worker_images,
                                                    initargs=(images,))
    try:
        yield from pool.imap(function, ((chunk, None, *extra) for chunk in chunks))
        pool.close()
    finally:
        pool.terminate()
        pool.join()


def _batch_metadata(datas):
    first = datas[0] if datas else {}
    title = sentence_case(first.get("title") or "GIẤY KHEN")
    subject = " - ".join(part for part in (first.get("contest"), first.get("round")) if part)
    return {"Title": f"{title} - {subject}" if subject else f"{title} ({len(datas)})",
            "Author": first.get("issuing_body") or "", "Producer": "WeasyPrint (portal)"}


def write_pdf(datas, path, images=None, progress=None, processes=1):
    """Write one print-ready PDF with a page per snapshot to ``path``; returns the number of pages.

    Rendered in chunks of CHUNK certificates (in parallel when ``processes`` > 1), each chunk's
    objects written to the file as it comes (PdfJoiner), so memory stays flat however many pages;
    ``progress(done, total)`` after each chunk.
    """
    datas = list(datas)
    total, done = len(datas), 0
    with open(path, "wb") as out:
        joiner = PdfJoiner(out)
        for count, part in _parallel(_render_part, datas, images, processes):
            joiner.add(part)
            done += count
            if progress:
                progress(done, total)
        joiner.close(_batch_metadata(datas))
    return total


def zip_name(number, data, width=3):
    """ "001-Nguyen-Thi-Ngoc-Huong-K7Q2M9XMAB.pdf": numbered in order, ASCII only."""
    return f"{number:0{width}d}-{ascii_name(data.get('recipient_name'))}-{ascii_name(data.get('code'), 16)}.pdf"


def write_zip(datas, path, images=None, progress=None, processes=1, archival=False):
    """Write a ZIP of one PDF per snapshot to ``path``, named in ASCII after the recipient; returns
    the number of files. Each chunk's PDFs are written to the archive as they come."""
    datas = list(datas)
    total, done = len(datas), 0
    width = max(3, len(str(total)))
    # PDFs are compressed already: storing them is as small and much faster.
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for pdfs in _parallel(_render_singles, datas, images, processes, archival):
            for content in pdfs:
                archive.writestr(zip_name(done + 1, datas[done], width), content)
                done += 1
            if progress:
                progress(done, total)
    return total
