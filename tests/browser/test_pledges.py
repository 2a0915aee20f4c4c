"""A pledge from end to end in a real browser: a member files it on a phone, the secretary returns it, the member
fixes and resubmits it, the secretary acknowledges it, the member files the year-end report, the secretary records
the collective evaluation, and the member reads it, which closes the record."""

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from portal.accounts.models import Unit, utcnow
from portal.pledges import workflow
from portal.pledges.models import Pledge, PledgePeriod
from tests.browser.conftest import DESKTOP
from tests.browser.test_contest import log_in_as
from tests.browser.test_login import assert_fits_width

pytestmark = pytest.mark.browser

PHONE_390 = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
TITLE = "Đăng ký làm theo của Chi bộ thôn An Sơn (trình duyệt)"
ITEM = "Vận động bà con thôn An Sơn phân loại rác tại nguồn"
RETURN_COMMENT = "Đồng chí ghi rõ biện pháp và sản phẩm của việc 1."
COLLECTIVE = "Tập thể chi bộ nhất trí: đồng chí thực hiện tốt việc đã đăng ký."


def open_period():
    """A period of the demo member's cell, open since a month, registration due in a month."""
    today = workflow.local_today(utcnow())
    cell = Unit.get(Unit.code == "HU-HN-T1")
    return workflow.save_period(None, None, cell, {
        "title": TITLE, "year": today.year, "topic": "Học tập và làm theo tư tưởng, đạo đức, phong cách Hồ Chí Minh",
        "opens_on": today - dt.timedelta(days=30), "register_by": today + dt.timedelta(days=30),
        "mid_year_by": today + dt.timedelta(days=60), "year_end_by": today + dt.timedelta(days=90)}, utcnow())


def test_a_member_files_a_pledge_the_secretary_evaluates_it(new_context, live_server, screenshot):
    problems = []
    with live_server.database():
        period_id = open_period().id

    # -- The member fills the pledge on a phone and submits it
    member = log_in_as(new_context, "dangvien", PHONE_390, problems)
    member.locator(".menu summary").click()
    member.get_by_role("link", name="Đăng ký làm theo", exact=True).click()
    member.get_by_role("link", name=re.compile(re.escape(TITLE))).click()
    expect(member.get_by_role("heading", name=TITLE)).to_be_visible()
    expect(member.locator(".personal")).to_contain_text("Nguyễn Thị Mai")
    expect(member.locator(".personal")).to_contain_text("Chi bộ thôn An Sơn")
    member.get_by_label("Về tư tưởng chính trị").fill("Học tập đầy đủ các chuyên đề, kiên định lập trường.")
    member.get_by_label("Về phẩm chất đạo đức, lối sống").fill("Sống giản dị, gương mẫu ở khu dân cư.")
    first = member.locator("fieldset.item-row").first
    first.get_by_label("Nội dung việc đăng ký làm theo").fill(ITEM)
    assert_fits_width(member)
    screenshot(member, "pledge-form-phone")
    member.get_by_role("button", name="Nộp cho bí thư chi bộ").click()
    expect(member.get_by_text("Đã nộp bản đăng ký cho bí thư chi bộ.")).to_be_visible()
    expect(member.locator(".pledge-state .badge").first).to_have_text("Đã nộp")
    expect(member.get_by_label("Về tư tưởng chính trị")).to_have_count(0)  # read-only once submitted

    # -- The secretary returns it with a comment
    secretary = log_in_as(new_context, "bithu", DESKTOP, problems)
    secretary.goto(f"/pledges/board/{period_id}")  # one cell: straight to its board
    expect(secretary.get_by_role("heading", name="Chi bộ thôn An Sơn")).to_be_visible()
    row = secretary.locator(".board-row").filter(has_text="Nguyễn Thị Mai")
    expect(row).to_contain_text("Đã nộp")
    screenshot(secretary, "pledge-board-desktop")
    row.get_by_role("link", name="Nguyễn Thị Mai").click()
    expect(secretary.locator("#items")).to_contain_text(ITEM)
    secretary.get_by_role("button", name="Trả lại cho đảng viên").click()  # no comment: refused next to the field
    expect(secretary.locator("#comment-error")).to_be_visible()
    secretary.get_by_label("Nội dung cần sửa").fill(RETURN_COMMENT)
    secretary.get_by_role("button", name="Trả lại cho đảng viên").click()
    expect(secretary.get_by_text("Đã trả lại bản đăng ký cho đồng chí Nguyễn Thị Mai kèm ý kiến.")).to_be_visible()

    # -- The member sees the comment, fixes the pledge and submits it again
    member.reload()
    expect(member.locator("#return-comment")).to_contain_text(RETURN_COMMENT)
    screenshot(member, "pledge-returned-phone")
    first.get_by_label("Biện pháp thực hiện").fill("Họp tổ dân phố, phát tờ rơi, làm mẫu tại gia đình")
    first.get_by_label("Sản phẩm, kết quả dự kiến").fill("80% hộ gia đình phân loại rác")
    member.get_by_role("button", name="Nộp cho bí thư chi bộ").click()
    expect(member.get_by_text("Đã nộp bản đăng ký cho bí thư chi bộ.")).to_be_visible()
    expect(member.locator("#return-comment")).to_have_count(0)

    # -- The secretary acknowledges it from the board (ticked, then one button)
    secretary.goto(f"/pledges/board/{period_id}")
    row.get_by_role("checkbox").check()
    secretary.get_by_role("button", name="Tiếp nhận các bản đã đánh dấu").click()
    expect(secretary.get_by_text("Đã tiếp nhận 1 bản đăng ký.")).to_be_visible()
    expect(row).to_contain_text("Đã tiếp nhận")

    # -- The member adds a progress note and files the year-end self-report
    member.reload()
    member.get_by_label("Ghi chép kết quả thực hiện").fill("Đã họp 2 tổ dân phố, phát 150 tờ rơi.")
    member.get_by_role("button", name="Thêm ghi chép").click()
    expect(member.get_by_text("Đã ghi kết quả thực hiện.")).to_be_visible()
    year_end = member.locator("#year_end")
    year_end.get_by_role("button", name="Nộp tự đánh giá cuối năm").click()  # empty: the item is named
    expect(member.locator("#year_end .error")).to_contain_text("Việc 1")
    year_end.get_by_label("Việc đã làm được").fill("120 trên 150 hộ đã phân loại rác tại nguồn.")
    year_end.get_by_label("Hướng thực hiện tiếp theo").fill("Mở rộng sang thôn Đông Lâm.")
    assert_fits_width(member)
    screenshot(member, "pledge-report-phone")
    year_end.get_by_role("button", name="Nộp tự đánh giá cuối năm").click()
    expect(member.get_by_text("Đã nộp bản Tự đánh giá cuối năm.")).to_be_visible()

    # -- The secretary records the collective evaluation
    secretary.goto(f"/pledges/board/{period_id}")
    row.get_by_role("link", name="Nguyễn Thị Mai").click()
    expect(secretary.locator("#year_end-filed")).to_contain_text("120 trên 150 hộ")
    secretary.get_by_label("Nhận xét của tập thể chi bộ").fill(COLLECTIVE)
    secretary.get_by_label("Hoàn thành tốt nhiệm vụ").check()
    screenshot(secretary, "pledge-evaluate-desktop")
    secretary.get_by_role("button", name="Ghi nhận xét").click()
    expect(secretary.get_by_text("Đã ghi nhận xét của tập thể chi bộ đối với đồng chí Nguyễn Thị Mai.")).to_be_visible()

    # -- The member reads the evaluation and closes the record
    member.reload()
    expect(member.locator("#evaluation")).to_contain_text(COLLECTIVE)
    expect(member.locator("#evaluation")).to_contain_text("Hoàn thành tốt nhiệm vụ")
    assert_fits_width(member)
    screenshot(member, "pledge-evaluated-phone")
    member.get_by_role("button", name="Tôi đã đọc").click()
    expect(member.get_by_text("Cảm ơn đồng chí đã xác nhận đọc nhận xét.")).to_be_visible()
    expect(member.locator(".pledge-state .badge").first).to_have_text("Đã kết thúc")
    expect(member.get_by_role("button", name="Tôi đã đọc")).to_have_count(0)
    screenshot(member, "pledge-closed-phone")

    with live_server.database():
        pledge = Pledge.get(Pledge.period == PledgePeriod.get_by_id(period_id))
        assert pledge.state == "closed"
        assert [e.action for e in workflow.history(pledge)] == [
            "start", "save", "submit", "return", "save", "submit", "acknowledge", "note", "report", "evaluate",
            "close"]
    assert problems == []
