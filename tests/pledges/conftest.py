"""Pledge fixtures: a committee with two cells, their secretaries, an organiser, and factories for a period and
for a pledge in any state (made directly, fast; the workflow's own steps are tested in test_workflow.py)."""

import datetime as dt
import json

import pytest
from zoneinfo import ZoneInfo

from portal import config

from portal.accounts.models import utcnow
from portal.pledges.models import Evaluation, Pledge, PledgeEvent, PledgeItem, PledgePeriod, SelfReport

NOW = utcnow().replace(microsecond=0)
# The local date the workflow sees at NOW (the portal's time zone), usable outside an app context.
TODAY = NOW.replace(tzinfo=dt.timezone.utc).astimezone(ZoneInfo(config.BABEL_DEFAULT_TIMEZONE)).date()
COMMITMENTS = {
    "ideology": "Kiên định lập trường, tư tưởng chính trị; học tập đầy đủ các chuyên đề.",
    "ethics": "Giữ gìn phẩm chất đạo đức, lối sống giản dị.",
    "discipline": "Chấp hành nghiêm Điều lệ Đảng, sinh hoạt chi bộ đầy đủ.",
    "style": "Gần dân, lắng nghe ý kiến của nhân dân.",
    "duties": "Hoàn thành tốt nhiệm vụ được giao.",
    "remedy": "Khắc phục việc nộp báo cáo chậm.",
}


def item_values(n):
    return {"content": f"Việc làm theo số {n}: tiết kiệm điện, nước tại cơ quan",
            "measure": "Tắt thiết bị khi ra khỏi phòng", "deadline": "Cả năm 2026",
            "evidence": "Hóa đơn điện giảm 10%"}


@pytest.fixture
def committee(make_unit):
    return make_unit(code="DB-XA", name="Đảng bộ xã Hòa Ninh", kind="committee")


@pytest.fixture
def cell(make_unit, committee):
    return make_unit(code="CB-AS", name="Chi bộ thôn An Sơn", parent=committee)


@pytest.fixture
def other_cell(make_unit, committee):
    return make_unit(code="CB-DL", name="Chi bộ thôn Đông Lâm", parent=committee)


@pytest.fixture
def member(make_user, cell):
    return make_user(unit=cell, full_name="Nguyễn Thị Mai", position="Giáo viên")


@pytest.fixture
def secretary(make_user, cell):
    return make_user(role="secretary", unit=cell, full_name="Phạm Văn Dũng")


@pytest.fixture
def other_secretary(make_user, other_cell):
    return make_user(role="secretary", unit=other_cell, full_name="Lê Văn Hải")


@pytest.fixture
def organiser(make_user, committee):
    return make_user(role="organiser", unit=committee, full_name="Lê Thị Thu Hà")


@pytest.fixture
def make_period(app):
    """A period for ``owner_unit``'s subtree, open now: registration due in a month, reports later."""

    def make_period(owner_unit, **overrides):
        today = TODAY
        values = {"owner_unit": owner_unit, "year": today.year, "title": f"Đăng ký làm theo năm {today.year}",
                  "topic": "Học tập và làm theo tư tưởng, đạo đức, phong cách Hồ Chí Minh",
                  "basis": "Căn cứ Chỉ thị 05-CT/TW", "opens_on": today - dt.timedelta(days=60),
                  "register_by": today + dt.timedelta(days=30), "mid_year_by": today + dt.timedelta(days=120),
                  "year_end_by": today + dt.timedelta(days=300)}
        values.update(overrides)
        return PledgePeriod.create(**values)

    return make_period


ORDER = ("draft", "submitted", "acknowledged", "reported", "evaluated", "closed")


@pytest.fixture
def make_pledge(app):
    """``user``'s pledge for ``period`` in ``state``, with ``items`` items and what that state implies (a
    return comment, a year-end report, an evaluation at level "good"), and a start event."""

    def make_pledge(period, user, state="draft", items=1, **overrides):
        values = {"period": period, "kind": "member", "user": user, "unit": user.unit, "state": state,
                  "full_name": user.full_name, "birth_date": user.birth_date, "position": user.position or "",
                  "commitments": json.dumps(COMMITMENTS, ensure_ascii=False), "created_at": NOW, "updated_at": NOW}
        if state != "draft":
            values["submitted_at"] = NOW
        if state == "returned":
            values["return_comment"] = "Việc thứ nhất cần ghi rõ cách đo kết quả."
        if state in ORDER[2:]:
            values["acknowledged_at"] = NOW
        if state == "closed":
            values["closed_at"] = NOW
        values.update(overrides)
        pledge = Pledge.create(**values)
        made = [PledgeItem.create(pledge=pledge, position=n, **item_values(n)) for n in range(1, items + 1)]
        PledgeEvent.create(pledge=pledge, at=NOW, actor=user, actor_name=user.full_name, action="start",
                           to_state=state)
        if state in ORDER[3:]:
            for item in made:
                SelfReport.create(pledge=pledge, item=item, stage="year_end", done="Đã thực hiện đều đặn",
                                  filed_at=NOW)
        if state in ORDER[4:]:
            Evaluation.create(pledge=pledge, meeting_date=TODAY, level="good",
                              comment="Đồng chí hoàn thành tốt việc đăng ký.", recorded_at=NOW,
                              acknowledged_at=NOW if state == "closed" else None)
        return pledge

    return make_pledge
