"""A contest from end to end in a real browser: an organiser sets it up, a member takes its round on a phone,
the organiser confirms and publishes the results and downloads the sheet, the member sees the results."""

import datetime as dt
import re
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from playwright.sync_api import expect

from portal.accounts.models import utcnow
from portal.contests.models import Contest, Round
from portal.demo import DEMO_PASSWORD
from portal.quiz.models import Option, Question, Quiz, Topic
from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.test_login import assert_fits_width, log_in

pytestmark = pytest.mark.browser

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
TITLE = "Hội thi tìm hiểu chuyên đề năm 2025 trên trình duyệt"
ROUND_TITLE = "Vòng 1 – Tuần thi thứ nhất"
RULES = ("Đối tượng dự thi: đảng viên trong Đảng bộ huyện Hòa Vang.\n\n"
         "Mỗi vòng thi có 5 câu hỏi, làm trong 10 phút. Xếp hạng theo điểm, rồi theo câu hỏi dự đoán.")
MEMBER = "Nguyễn Thị Mai"  # the demo member "dangvien"


def local_input(moment):
    """A UTC time as a datetime-local value in Vietnam time, as the organiser types it."""
    return moment.replace(tzinfo=dt.timezone.utc).astimezone(VIETNAM).strftime("%Y-%m-%dT%H:%M")


def right_answers():
    """The texts of the right options of each question of the demo topic CD-2025, by question text."""
    rows = (Option.select(Question.text, Option.text).join(Question).join(Topic)
            .where(Topic.code == "CD-2025", Option.weight > 0).tuples())
    answers = {}
    for question, option in rows:
        answers.setdefault(question, set()).add(option)
    return answers


def log_in_as(new_context, username, form_factor, problems):
    """A new browser logged in as ``username``; console errors (CSP refusals too) go to ``problems``."""
    page = new_context(**form_factor).new_page()
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto("/login")
    log_in(page, username, DEMO_PASSWORD)
    expect(page.get_by_role("heading", name=re.compile("^Xin chào đồng chí"))).to_be_visible()
    return page


def test_organiser_runs_a_contest_a_member_takes_part_on_a_phone(new_context, live_server, screenshot):
    now, problems = utcnow(), []
    with live_server.database():
        answers = right_answers()

    # -- The organiser sets up the contest and its round through the forms
    organiser = log_in_as(new_context, "tochuc", DESKTOP, problems)
    organiser.goto("/manage/contests")
    expect(organiser.get_by_role("heading", name="Hội thi", exact=True)).to_be_visible()
    organiser.get_by_role("link", name="Tạo hội thi").click()
    expect(organiser.get_by_role("heading", name="Tạo hội thi")).to_be_visible()
    organiser.get_by_label("Tên hội thi").fill(TITLE)
    expect(organiser.get_by_label("Đơn vị tổ chức")).to_have_value(re.compile(r"^\d+$"))
    organiser.get_by_label("Bắt đầu", exact=True).fill(local_input(now - dt.timedelta(days=1)))
    organiser.get_by_label("Kết thúc", exact=True).fill(local_input(now + dt.timedelta(days=30)))
    organiser.get_by_label("Thể lệ", exact=True).fill(RULES)
    screenshot(organiser, "contest-form-desktop")
    organiser.get_by_role("button", name="Tạo hội thi").click()

    expect(organiser).to_have_url(re.compile(r"/manage/contests/\d+$"))
    contest_id = int(organiser.url.rsplit("/", 1)[1])
    expect(organiser.get_by_role("heading", name=TITLE)).to_be_visible()
    expect(organiser.get_by_text(f"Đã tạo hội thi {TITLE}.")).to_be_visible()
    expect(organiser.get_by_text("Bản nháp")).to_be_visible()

    organiser.get_by_role("link", name="Thêm vòng thi").click()
    expect(organiser.get_by_role("heading", name="Thêm vòng thi")).to_be_visible()
    organiser.get_by_label("Tên vòng thi").fill(ROUND_TITLE)
    expect(organiser.get_by_label("Câu hỏi dự đoán")).to_have_value("perfect")
    organiser.get_by_label("Mở lúc").fill(local_input(now))
    organiser.get_by_label("Đóng lúc").fill(local_input(now + dt.timedelta(minutes=5)))
    organiser.get_by_label("Thời gian làm bài (phút)").fill("10")
    draw = organiser.locator(".draw-row").first
    topic = draw.get_by_label("Chuyên đề 1")
    topic.select_option(label=topic.locator("option", has_text="CD-2025").text_content())
    draw.get_by_label("Số câu hỏi").fill("5")
    screenshot(organiser, "contest-round-form-desktop")
    organiser.get_by_role("button", name="Thêm vòng thi").click()

    expect(organiser.get_by_text(f"Đã thêm {ROUND_TITLE} vào hội thi.")).to_be_visible()
    row = organiser.locator("#rounds tbody tr").filter(has_text=ROUND_TITLE)
    expect(row).to_contain_text("Đang mở")
    organiser.get_by_role("button", name="Công bố", exact=True).click()
    expect(organiser.get_by_text(f"Đã công bố hội thi {TITLE}")).to_be_visible()
    expect(organiser.locator(".contest-overview")).to_contain_text("Đã công bố")
    screenshot(organiser, "contest-published-desktop")

    # -- The member finds the contest on a phone and takes the round
    member = log_in_as(new_context, "dangvien", PHONE, problems)
    member.goto("/contests")
    entry = member.get_by_role("link", name=re.compile(TITLE))
    expect(entry).to_contain_text("Đang diễn ra")
    expect(entry).to_contain_text(f"{ROUND_TITLE} đang mở đến")
    assert_fits_width(member)
    screenshot(member, "contests-phone")
    entry.click()
    expect(member.get_by_role("heading", name=TITLE)).to_be_visible()
    expect(member.locator(".contest-rules")).to_contain_text("Đối tượng dự thi: đảng viên trong Đảng bộ huyện")
    expect(member.locator(".round-item")).to_contain_text("Đang mở")
    assert_fits_width(member)
    screenshot(member, "contest-page-phone")
    member.get_by_role("link", name="Vào thi vòng này").click()
    expect(member.get_by_role("link", name=TITLE)).to_be_visible()  # the intro leads back to the contest
    member.get_by_role("button", name="Bắt đầu").click()

    expect(member).to_have_url(re.compile(r"/quiz/attempts/\d+$"))
    member.get_by_role("button", name="Xem tất cả").click()
    questions = member.locator(".question")
    expect(questions).to_have_count(5)
    for i in range(5):
        question = questions.nth(i)
        for text in sorted(answers[question.locator(".q-text").text_content().strip()]):
            question.locator(".option").filter(has=member.get_by_text(text, exact=True)).click()
    expect(member.locator(".answered-count")).to_have_text("5")
    expect(member.locator(".save-state")).to_have_text("Đã lưu")
    prediction = member.get_by_role("textbox", name=re.compile("có bao nhiêu người trả lời đúng tất cả các câu hỏi"))
    assert prediction.bounding_box()["height"] >= 44  # easy to tap on a phone, like the other fields
    prediction.fill("1250")
    expect(member.locator(".save-state")).to_have_text("Đã lưu")
    assert_fits_width(member)
    screenshot(member, "contest-attempt-phone")
    member.get_by_role("button", name="Nộp bài").click()
    dialog = member.get_by_role("dialog")
    expect(dialog).to_contain_text("Đồng chí đã trả lời tất cả các câu.")
    dialog.get_by_role("button", name="Nộp bài").click()

    expect(member).to_have_url(re.compile(r"/quiz/attempts/\d+/result$"))
    expect(member.get_by_text("Điểm của đồng chí")).to_be_visible()
    expect(member.locator(".score-big")).to_have_text("5 / 5")
    assert_fits_width(member)
    screenshot(member, "contest-result-phone")
    member.goto(f"/contests/{contest_id}")
    expect(member.locator(".my-result")).to_contain_text("Kết quả của đồng chí: 5/5")

    # -- The round closes: its closing time passes (moved into the past rather than waited for)
    with live_server.database():
        round_ = Round.select().join(Contest).where(Contest.title == TITLE).get()
        Quiz.update(closes_at=utcnow() - dt.timedelta(seconds=1)).where(Quiz.id == round_.quiz_id).execute()

    # -- The organiser confirms the ranking, publishes it and downloads the results sheet
    organiser.goto(f"/manage/contests/{contest_id}")
    expect(row).to_contain_text("Đã kết thúc")
    row.locator(".wide-only").get_by_role("link", name="Bảng xếp hạng").click()
    expect(organiser.get_by_role("heading", name="Xếp hạng vòng 1")).to_be_visible()
    expect(organiser.locator(".results-state")).to_contain_text("Đã kết thúc: chờ xác nhận")
    organiser.get_by_role("button", name="Xác nhận xếp hạng và trao giải").click()
    expect(organiser.get_by_text("Đã xác nhận bảng xếp hạng và trao 1 giải.")).to_be_visible()
    organiser.get_by_role("button", name="Công bố kết quả").click()
    expect(organiser.get_by_text("Đã công bố kết quả vòng 1.")).to_be_visible()
    ranked = organiser.locator(".ranking-table tbody tr").filter(has_text=MEMBER)
    expect(ranked.locator(".rank-cell")).to_have_text("1")
    expect(ranked).to_contain_text("5/5")
    expect(ranked.locator(".prize-cell")).to_contain_text("Giải Nhất")
    truth = organiser.locator(".summary-counts div").filter(has_text="đáp án câu hỏi dự đoán")
    expect(truth.locator("strong")).to_have_text("1")  # one contestant answered everything right
    screenshot(organiser, "contest-ranking-desktop")

    with organiser.expect_download() as download:
        organiser.get_by_role("link", name="Excel", exact=True).click()
    assert download.value.suggested_filename.endswith(".xlsx")
    with open(download.value.path(), "rb") as sheet:  # the saved download has no .xlsx suffix
        book = openpyxl.load_workbook(sheet)
    cells = [str(c) for line in book["Cá nhân"].iter_rows(values_only=True) for c in line if c is not None]
    assert MEMBER in cells

    # -- The member sees the published results
    member.goto(f"/contests/{contest_id}")
    member.get_by_role("link", name="Kết quả vòng thi").click()
    expect(member.get_by_role("heading", name="Kết quả vòng 1")).to_be_visible()
    expect(member.locator(".my-result")).to_contain_text("Kết quả của đồng chí: 5/5 điểm, xếp hạng 1.")
    expect(member.locator(".my-result")).to_contain_text("Dự đoán của đồng chí: 1.250.")
    expect(member.locator(".winners")).to_contain_text(MEMBER)
    mine = member.locator(".ranking-table tr.row-mine")
    expect(mine).to_contain_text(MEMBER)
    expect(mine).to_contain_text("Giải Nhất")
    assert_fits_width(member)
    screenshot(member, "contest-round-results-phone")
    assert problems == []
