"""A member takes a quiz in a real browser: on a phone, through a reload, to the result."""

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from portal.accounts.models import Unit, utcnow
from portal.quiz.models import Attempt
from portal.demo import DEMO_PASSWORD
from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.test_login import assert_fits_width, log_in
from tests.quiz.test_api import make_quiz

pytestmark = pytest.mark.browser


def quiz_for_the_demo_member(title, **fields):
    """A quiz of the district committee, so open to the demo member "dangvien"."""
    values = {"questions": 5, "time_limit_seconds": 20 * 60, "shuffle_questions": True, "shuffle_options": True,
              "attempts_allowed": 1, "review_after_submit": "answers"}
    values.update(fields)
    return make_quiz(Unit.get(Unit.code == "HU"), title=title, **values)


def question_texts(page):
    return page.locator(".question .q-text").all_text_contents()


def choose(page, number, prefix):
    """Tick the option of question ``number`` whose text starts with ``prefix``; wait until it is saved."""
    question = page.locator(".question").nth(number - 1)
    question.locator(".option", has_text=re.compile("^\\s*[A-H]?\\.?\\s*" + prefix)).first.click()
    expect(page.locator(".save-state")).to_have_text("Đã lưu")


def test_member_takes_a_quiz_on_a_phone_reloads_and_submits(new_context, live_server, screenshot):
    with live_server.database():
        quiz = quiz_for_the_demo_member("Kiểm tra chuyên đề năm 2026 trên điện thoại")
    page = new_context(**PHONE).new_page()
    page.goto("/login")
    log_in(page, "dangvien", DEMO_PASSWORD)
    expect(page.get_by_role("link", name=re.compile("Kiểm tra chuyên đề năm 2026 trên điện thoại"))).to_be_visible()
    assert_fits_width(page)
    screenshot(page, "home-with-quizzes-phone")
    page.get_by_role("link", name=re.compile("Kiểm tra chuyên đề năm 2026 trên điện thoại")).click()
    expect(page.get_by_text("Còn 1/1 lượt")).to_be_visible()
    screenshot(page, "quiz-intro-timed-phone")
    page.get_by_role("button", name="Bắt đầu").click()

    expect(page).to_have_url(re.compile(r"/quiz/attempts/\d+$"))
    attempt_url = page.url
    order = question_texts(page)
    assert len(order) == 5
    # One question at a time on a phone, with a countdown from 20 minutes
    expect(page.locator(".question").nth(0)).to_be_visible()
    expect(page.locator(".question").nth(1)).to_be_hidden()
    expect(page.locator(".timer")).to_have_text(re.compile(r"^(20:00|19:5\d)$"))
    assert_fits_width(page)

    choose(page, 1, "Đúng")
    page.get_by_role("button", name="Câu sau ›").click()
    page.context.set_offline(True)
    page.locator(".question").nth(1).locator(".option", has_text="Sai").first.click()
    expect(page.locator(".save-state")).to_have_text("Mất kết nối — câu trả lời sẽ được lưu khi có mạng")
    page.context.set_offline(False)
    expect(page.locator(".save-state")).to_have_text("Đã lưu")
    expect(page.locator(".nav-q.answered")).to_have_count(2)
    expect(page.locator(".answered-count")).to_have_text("2")
    screenshot(page, "quiz-attempt-phone")

    page.reload()
    assert question_texts(page) == order  # the same questions in the same order
    expect(page.locator(".question").nth(0).locator("input:checked")).to_have_count(1)
    expect(page.locator(".question").nth(1).locator("input:checked")).to_have_count(1)
    expect(page.locator(".question").nth(2).locator("input:checked")).to_have_count(0)
    expect(page.locator(".nav-q.answered")).to_have_count(2)

    # The same attempt on another device: same questions, order, answers and deadline
    other = new_context(**DESKTOP).new_page()
    other.goto("/login")
    log_in(other, "dangvien", DEMO_PASSWORD)
    other.goto(attempt_url)
    assert question_texts(other) == order
    expect(other.locator(".nav-q.answered")).to_have_count(2)
    expect(other.locator(".timer")).to_have_text(re.compile(r"^(20:00|19:[0-5]\d)$"))
    other.close()

    page.locator(".nav-q").nth(2).click()  # jump to question 3 with the navigator
    expect(page.locator(".question").nth(2)).to_be_visible()
    choose(page, 3, "Đúng")

    page.get_by_role("button", name="Nộp bài").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator(".unanswered li")).to_have_text(["Câu 4", "Câu 5"])
    screenshot(page, "quiz-confirm-phone")
    dialog.get_by_role("button", name="Nộp bài").click()

    expect(page).to_have_url(attempt_url + "/result")
    expect(page.get_by_text("Điểm của đồng chí")).to_be_visible()
    expect(page.locator(".score-big")).to_have_text("2 / 5")
    expect(page.locator(".review .question")).to_have_count(5)
    assert_fits_width(page)
    screenshot(page, "quiz-result-phone")

    page.goto(attempt_url)  # a finished attempt cannot be taken again
    expect(page).to_have_url(attempt_url + "/result")


@pytest.mark.parametrize("form_factor", ["phone", "desktop"])
def test_quiz_pages_look_right_and_break_no_policy(new_context, live_server, base_url, form_factor, screenshot):
    with live_server.database():
        quiz = quiz_for_the_demo_member(f"Ôn tập Nghị quyết ({form_factor})", questions=4, time_limit_seconds=None,
                                        is_practice=True, attempts_allowed=0)
    page = new_context(**(PHONE if form_factor == "phone" else DESKTOP)).new_page()
    problems, elsewhere = [], []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("request", lambda r: elsewhere.append(r.url) if not r.url.startswith(base_url + "/") else None)
    page.goto("/login")
    log_in(page, "dangvien", DEMO_PASSWORD)
    page.goto(f"/quiz/{quiz.id}")
    screenshot(page, f"quiz-intro-{form_factor}")
    page.get_by_role("button", name="Bắt đầu").click()
    expect(page.locator(".timer")).to_have_count(0)  # no countdown without a time limit
    expect(page.locator(".save-state")).to_have_text("Đã lưu")
    assert_fits_width(page)
    screenshot(page, f"quiz-attempt-one-{form_factor}")

    # The member's choice of layout is remembered
    page.get_by_role("button", name="Xem tất cả").click()
    expect(page.locator(".question:visible")).to_have_count(4)
    choose(page, 2, "Sai")
    page.locator(".question").nth(1).get_by_role("button", name="Kiểm tra đáp án").click()
    expect(page.locator(".question").nth(1).locator(".feedback")).to_contain_text("Chưa đúng.")
    expect(page.locator(".question").nth(1).locator(".feedback")).to_contain_text("Giải thích cho câu")
    assert_fits_width(page)
    screenshot(page, f"quiz-attempt-all-{form_factor}")
    page.reload()
    expect(page.locator(".question:visible")).to_have_count(4)
    page.get_by_role("button", name="Từng câu một").click()
    expect(page.locator(".question:visible")).to_have_count(1)

    page.get_by_role("button", name="Nộp bài").click()
    page.get_by_role("dialog").get_by_role("button", name="Nộp bài").click()
    expect(page.get_by_text("Điểm của đồng chí")).to_be_visible()
    assert_fits_width(page)
    screenshot(page, f"quiz-result-{form_factor}")
    page.get_by_label("Trình đơn").click()
    page.get_by_role("navigation").get_by_role("link", name="Bài thi của tôi").click()
    expect(page.get_by_role("heading", name="Bài thi của tôi")).to_be_visible()
    row = page.get_by_role("listitem").filter(has_text=f"Ôn tập Nghị quyết ({form_factor})")
    expect(row).to_contain_text("0 / 4")
    expect(row.get_by_role("link", name="Xem lại")).to_be_visible()
    assert_fits_width(page)
    screenshot(page, f"quiz-history-{form_factor}")
    assert problems == [] and elsewhere == []


def test_time_up_submits_the_saved_answers(new_context, live_server):
    with live_server.database():
        quiz = quiz_for_the_demo_member("Kiểm tra có giới hạn thời gian", questions=3)
    page = new_context(**PHONE).new_page()
    page.goto("/login")
    log_in(page, "dangvien", DEMO_PASSWORD)
    page.goto(f"/quiz/{quiz.id}")
    page.get_by_role("button", name="Bắt đầu").click()
    choose(page, 1, "Đúng")
    attempt_id = int(page.url.rsplit("/", 1)[1])
    with live_server.database():  # time passes: the deadline was a moment ago (still within the grace)
        Attempt.update(deadline_at=utcnow() - dt.timedelta(seconds=2)).where(Attempt.id == attempt_id).execute()
    page.reload()
    expect(page).to_have_url(re.compile(rf"/quiz/attempts/{attempt_id}/result$"))
    expect(page.locator(".score-big")).to_have_text("1 / 3")


def test_each_save_sends_only_what_the_server_does_not_hold_yet(new_context, live_server):
    """A save carries the answer just given; answers given offline all go with the first save once back online."""
    with live_server.database():
        quiz = quiz_for_the_demo_member("Kiểm tra lưu từng câu", questions=3, shuffle_questions=False,
                                        shuffle_options=False, time_limit_seconds=None)
    page = new_context(**DESKTOP).new_page()
    sent = []
    page.on("request", lambda r: sent.append(r.post_data_json["answers"]) if r.url.endswith("/answers") else None)
    page.goto("/login")
    log_in(page, "dangvien", DEMO_PASSWORD)
    page.goto(f"/quiz/{quiz.id}")
    page.get_by_role("button", name="Bắt đầu").click()
    page.get_by_role("button", name="Xem tất cả").click()  # every question on one page
    choose(page, 1, "Đúng")
    assert sent == [{"1": ["0"]}]
    page.context.set_offline(True)
    page.locator(".question").nth(1).locator(".option", has_text="Sai").first.click()
    expect(page.locator(".save-state")).to_have_text("Mất kết nối — câu trả lời sẽ được lưu khi có mạng")
    page.locator(".question").nth(2).locator(".option", has_text="Đúng").first.click()
    page.context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")  # what a phone's browser sends on reconnecting
    expect(page.locator(".save-state")).to_have_text("Đã lưu")
    assert sent[-1] == {"2": ["1"], "3": ["0"]}  # both answers given offline, question 1 not again
    page.reload()
    for number in (1, 2, 3):
        expect(page.locator(".question").nth(number - 1).locator("input:checked")).to_have_count(1)
