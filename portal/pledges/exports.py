"""The pledge sheet of a cell or a subtree (XLSX): one row per member, for the year-end classification.

Every active member of the subtree has a row, a pledge or not, in tree order of their cells then by
name. The personal block comes from the pledge as filed (from the account when there is none); the
items, the year-end self-report and the collective's evaluation in force (a correction supersedes)
are written one line per item in one cell. The sheet is an official paper with fixed Vietnamese
column names, so its texts are Vietnamese literals here, not interface messages. ``documents.xlsx_bytes``
writes it: formula-like text stays text, the header row is frozen.
"""

import re

from .. import documents
from ..accounts.models import Unit, User
from ..formatting import format_date_vi, name_key
from .documents import LEVELS  # the official wording, printed whatever the reader's language
from .models import Evaluation, Pledge, PledgeItem, SelfReport
from .overview import in_force
from .workflow import local_today

MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADERS = ["STT", "Họ và tên", "Ngày sinh", "Chức vụ", "Chi bộ", "Trạng thái",
           "Việc đăng ký làm theo (nội dung · biện pháp · thời hạn · sản phẩm)",
           "Tự đánh giá cuối năm (đã làm / chưa làm)", "Nhận xét của tập thể chi bộ", "Mức xếp loại đề xuất",
           "Ngày họp chi bộ"]
WIDTHS = [6, 26, 12, 24, 28, 14, 70, 60, 50, 28, 14]
STATES = {
    "not_started": "Chưa đăng ký",
    "draft": "Đang soạn",
    "submitted": "Đã nộp",
    "returned": "Trả lại để sửa",
    "acknowledged": "Đã tiếp nhận",
    "reported": "Đã tự đánh giá",
    "evaluated": "Đã đánh giá",
    "closed": "Hoàn tất",
}


def _line(*parts):
    return " · ".join(" ".join(p.split()) for p in parts if p and p.strip())


def _items_text(items):
    return "\n".join(f"{n}. {_line(i.content, i.measure, i.deadline, i.evidence)}" for n, i in enumerate(items, 1))


def _report_text(items, reports):
    lines = []
    for n, item in enumerate(items, 1):
        report = reports.get(item.id)
        if report is None:
            continue
        parts = []
        if report.done.strip():
            parts.append("Đã làm: " + " ".join(report.done.split()))
        if report.not_done.strip():
            parts.append("Chưa làm: " + " ".join(report.not_done.split()))
        lines.append(f"{n}. " + "; ".join(parts))
    return "\n".join(lines)


def member_rows(period, unit):
    """The sheet's rows for the active members of ``unit``'s subtree (a few queries, whatever its size)."""
    order = {u.id: i for i, u in enumerate(Unit.in_tree_order())}
    members = list(User.select(User, Unit).join(Unit, on=(User.unit == Unit.id))
                   .where(User.is_active == True, Unit.path.startswith(unit.path)))  # noqa: E712
    members.sort(key=lambda m: (order.get(m.unit_id, 0), name_key(m.full_name), m.id))

    def of_period(query, model):
        return (query.join(Pledge, on=(model.pledge == Pledge.id)).join(User, on=(Pledge.user == User.id))
                .join(Unit, on=(User.unit == Unit.id))
                .where(Pledge.period == period.id, Pledge.kind == "member", Unit.path.startswith(unit.path)))

    pledges = {p.user_id: p for p in Pledge.select(Pledge).join(User, on=(Pledge.user == User.id))
               .join(Unit, on=(User.unit == Unit.id))
               .where(Pledge.period == period.id, Pledge.kind == "member", Unit.path.startswith(unit.path))}
    items = {}
    for item in of_period(PledgeItem.select(PledgeItem), PledgeItem).order_by(PledgeItem.position):
        items.setdefault(item.pledge_id, []).append(item)
    reports = {}
    for report in of_period(SelfReport.select(SelfReport), SelfReport).where(SelfReport.stage == "year_end"):
        reports.setdefault(report.pledge_id, {})[report.item_id] = report
    evaluations = {e.pledge_id: e for e in of_period(Evaluation.select(Evaluation), Evaluation).where(in_force())}

    rows = []
    for n, member in enumerate(members, 1):
        pledge = pledges.get(member.id)
        if pledge is None:
            rows.append([n, member.full_name, member.birth_date, member.position or "", member.unit.name,
                         STATES["not_started"], "", "", "", "", None])
            continue
        mine = items.get(pledge.id, [])
        evaluation = evaluations.get(pledge.id) if pledge.state in ("evaluated", "closed") else None
        state = STATES[pledge.state] + (" (nộp muộn)" if pledge.submitted_late else "")
        rows.append([n, pledge.full_name or member.full_name, pledge.birth_date or member.birth_date,
                     pledge.position or member.position or "", member.unit.name, state, _items_text(mine),
                     _report_text(mine, reports.get(pledge.id, {})),
                     evaluation.comment if evaluation else "", LEVELS.get(evaluation.level, "") if evaluation else "",
                     evaluation.meeting_date if evaluation else None])
    return rows


def _sheet_title(unit, several):
    """ "Đăng ký làm theo", or with several subtrees the unit's code (Excel: 31 characters, no []:*?/\\)."""
    if not several:
        return "Đăng ký làm theo"
    return re.sub(r"[\[\]:*?/\\]+", "-", unit.code)[:31] or str(unit.id)


def workbook(period, units, now):
    """The XLSX of the subtree of ``units`` (a unit, or several: one sheet each) for ``period``, as bytes."""
    units = [units] if isinstance(units, Unit) else list(units)
    sheets = []
    for unit in units:
        rows = member_rows(period, unit)
        sheets.append(documents.Sheet(
            title=_sheet_title(unit, len(units) > 1), headers=HEADERS, rows=rows, widths=WIDTHS,
            wrap_columns=[6, 7, 8],
            preamble=[f"DANH SÁCH ĐĂNG KÝ LÀM THEO VÀ KẾT QUẢ ĐÁNH GIÁ NĂM {period.year}",
                      f"{period.title} · {unit.name}",
                      f"Lập ngày {format_date_vi(local_today(now))}; {len(rows)} đảng viên."]))
    return documents.xlsx_bytes(sheets, title=f"{period.title} · {', '.join(u.name for u in units)}")


def download_name(period, units):
    """An ASCII file name: dang-ky-lam-theo-2026-HU-HN-T1.xlsx (several subtrees: their codes joined)."""
    units = [units] if isinstance(units, Unit) else list(units)
    codes = [re.sub(r"[^A-Za-z0-9-]+", "-", u.code).strip("-") or str(u.id) for u in units]
    return f"dang-ky-lam-theo-{period.year}-{'_'.join(codes)[:120]}.xlsx"

