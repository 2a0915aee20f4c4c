"""Pledge PDFs: a pledge in the official form layout (A4 portrait), and a cell's pledges in one file.

``pledge_data(pledge)`` freezes what the paper shows into a dict of primitives; the template
``pledges/documents/pledge.html`` stands alone and receives nothing else. Rendering goes through
``documents.render_pdf`` (the bundled Noto Serif fonts, a fetcher that reads only data: URIs and
portal/static/). A cell's file is one HTML document with a page break before each pledge: one
WeasyPrint run, so the fonts are loaded once however many members.

The fixed texts are the form's own Vietnamese, as on the paper the cells file.
"""

import datetime as dt
import unicodedata
from pathlib import Path

import jinja2
from flask_babel import to_user_timezone

from .. import documents
from ..certificates.render import ascii_name
from ..formatting import name_key, official_date, place_name
from .models import Pledge
from .workflow import current_evaluation, items_of, reports_of

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"

# The six headings of "I. CAM KẾT TU DƯỠNG, RÈN LUYỆN", in Pledge.COMMITMENTS order.
HEADINGS = {
    "ideology": "Về tư tưởng chính trị",
    "ethics": "Về phẩm chất đạo đức, lối sống",
    "discipline": "Về ý thức tổ chức kỷ luật",
    "style": "Về tác phong, lề lối làm việc",
    "duties": "Về thực hiện chức trách, nhiệm vụ được giao",
    "remedy": "Khắc phục hạn chế, khuyết điểm năm trước",
}
LEVELS = {
    "excellent": "Hoàn thành xuất sắc nhiệm vụ",
    "good": "Hoàn thành tốt nhiệm vụ",
    "fulfilled": "Hoàn thành nhiệm vụ",
    "not_fulfilled": "Không hoàn thành nhiệm vụ",
}
STAGES = {"mid_year": "Tự đánh giá giữa năm", "year_end": "Tự đánh giá cuối năm"}
TITLES = {
    "member": "BẢN CAM KẾT TU DƯỠNG, RÈN LUYỆN, PHẤN ĐẤU VÀ ĐĂNG KÝ LÀM THEO TƯ TƯỞNG, ĐẠO ĐỨC, "
              "PHONG CÁCH HỒ CHÍ MINH NĂM\u00a0{year}",
    "breakthrough": "ĐĂNG KÝ KHÂU ĐỘT PHÁ NĂM\u00a0{year}",
    "model": "ĐĂNG KÝ GƯƠNG ĐIỂN HÌNH TIÊN TIẾN NĂM\u00a0{year}",
}
SHORT_TITLES = {"member": "Bản cam kết năm {year}", "breakthrough": "Khâu đột phá năm {year}",
                "model": "Đăng ký gương điển hình tiên tiến năm {year}"}
# States from which a pledge belongs in the cell's file (drafts and returned ones are the member's own).
FILED = ("submitted", "acknowledged", "reported", "evaluated", "closed")

_jinja = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True, undefined=jinja2.StrictUndefined,
    trim_blocks=True, lstrip_blocks=True,
)


def _upper(text):
    return unicodedata.normalize("NFC", text or "").upper()


def cell_title(unit):
    """ "CHI BỘ THÔN AN SƠN": a cell's name as its header line prints it (the name may omit "Chi bộ")."""
    name = _upper(unit.name)
    if unit.kind == "cell" and not name.startswith("CHI BỘ"):
        name = f"CHI BỘ {name}"
    return name


def _local_date(value):
    if value is None:
        return None
    return to_user_timezone(value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value).date()


def _date(value):
    return value.strftime("%d/%m/%Y") if value else ""


def _pledge_unit(pledge):
    """The unit the paper is headed with: a member's cell now (the record follows the member), or the
    pledging unit."""
    if pledge.kind == "member" and pledge.user is not None and pledge.user.unit_id is not None:
        return pledge.user.unit
    return pledge.unit


def pledge_data(pledge):
    """Everything the paper shows, as primitives (strings, numbers, lists and dicts of them)."""
    period = pledge.period
    unit = _pledge_unit(pledge)
    parent = unit.parent if unit.parent_id is not None else None
    is_member = pledge.kind == "member"
    items = items_of(pledge)
    reports = reports_of(pledge)
    evaluation = current_evaluation(pledge)
    signed_on = _local_date(pledge.submitted_at)
    stages = []
    for stage in ("mid_year", "year_end"):
        filed = reports[stage]
        if not filed:
            continue
        rows = [{"no": n, "content": item.content, "done": filed[item.id].done, "not_done": filed[item.id].not_done,
                 "next_steps": filed[item.id].next_steps}
                for n, item in enumerate(items, start=1) if item.id in filed]
        filed_at = max(report.filed_at for report in filed.values())
        stages.append({"title": STAGES[stage], "filed_on": _date(_local_date(filed_at)),
                       "late": any(report.late for report in filed.values()), "rows": rows})
    texts = pledge.commitment_texts
    reviewer = (evaluation.recorded_by if evaluation and evaluation.recorded_by_id
                else pledge.acknowledged_by if pledge.acknowledged_by_id else None)
    return {
        "kind": pledge.kind,
        "state": pledge.state,
        "draft": pledge.state in ("draft", "returned"),
        "year": period.year,
        "title": TITLES[pledge.kind].format(year=period.year),
        "document_title": f"{SHORT_TITLES[pledge.kind].format(year=period.year)} - {pledge.full_name}",
        "topic": period.topic,
        "basis": period.basis,
        "superior": _upper(parent.name) if parent is not None else "",
        "unit_line": cell_title(unit),
        "unit_name": unit.name,
        "parent_name": parent.name if parent is not None else "",
        "place": place_name(parent) if parent is not None else place_name(unit),
        "date": official_date(signed_on) if signed_on else f"ngày …… tháng …… năm {period.year}",
        "full_name": pledge.full_name,
        "birth_date": _date(pledge.birth_date),
        "position": pledge.position,
        "commitments": [{"heading": HEADINGS[key], "text": texts.get(key, "")} for key in Pledge.COMMITMENTS]
        if is_member else [],
        "items": [{"no": n, "content": item.content, "measure": item.measure, "deadline": item.deadline,
                   "evidence": item.evidence} for n, item in enumerate(items, start=1)],
        "reports": stages,
        "evaluation": {
            "meeting_date": _date(evaluation.meeting_date),
            "comment": evaluation.comment,
            "level": LEVELS[evaluation.level],
            "corrected": evaluation.supersedes_id is not None,
        } if evaluation is not None else None,
        "reviewer_name": reviewer.full_name if reviewer is not None else "",
        "author": unit.name,
    }


def _html(datas, title, author):
    return _jinja.get_template("pledges/documents/pledge.html").render(
        pledges=datas, title=title, author=author, levels=list(LEVELS.values()))


def render_pledge(data):
    """The PDF of one pledge (from ``pledge_data``)."""
    return documents.render_pdf(_html([data], data["document_title"], data["author"]))


def render_cell(datas, title=None, author=None):
    """One PDF of several pledges, each starting on a new page, in the order given (a cell's, for filing)."""
    datas = list(datas)
    first = datas[0] if datas else {}
    title = title or (f"Bản cam kết năm {first['year']} - {first['unit_name']}" if first else "Bản cam kết")
    return documents.render_pdf(_html(datas, title, author if author is not None else first.get("author", "")))


def cell_pledges(period, cell):
    """The filed member pledges of the members of ``cell`` now, in the board's name order."""
    from ..accounts.models import User

    return sorted(Pledge.select(Pledge, User).join(User, on=(Pledge.user == User.id))
                  .where(Pledge.period == period.id, Pledge.kind == "member", User.unit == cell.id,
                         User.is_active == True, Pledge.state.in_(FILED)),  # noqa: E712
                  key=lambda p: (name_key(p.user.full_name), p.user.id))


def cell_data(period, cell):
    return [pledge_data(pledge) for pledge in cell_pledges(period, cell)]


def file_name(data):
    """ "ban-cam-ket-2026-Nguyen-Thi-Ngoc-Huong.pdf": ASCII, so every browser and system keeps it."""
    prefix = {"member": "ban-cam-ket", "breakthrough": "khau-dot-pha", "model": "guong-dien-hinh"}[data["kind"]]
    return f"{prefix}-{data['year']}-{ascii_name(data['full_name'])}.pdf"


def cell_file_name(period, cell):
    return f"ban-cam-ket-{period.year}-{ascii_name(cell.name)}.pdf"

