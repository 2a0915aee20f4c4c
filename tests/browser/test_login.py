"""A member logs in on a phone and on a desktop, in a real browser."""

import re

import pytest
from playwright.sync_api import expect

from portal.accounts import users
from portal.accounts.models import Unit
from portal.demo import DEMO_PASSWORD
from tests.browser.conftest import DESKTOP, PHONE

pytestmark = pytest.mark.browser


def log_in(page, username, password):
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(password)
    page.get_by_role("button", name="Đăng nhập").click()


def assert_fits_width(page):
    """Nothing sticks out sideways: the page never scrolls horizontally."""
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{page.url} is {overflow}px wider than the screen"


def test_member_logs_in_on_a_phone_and_sees_home_in_vietnamese(new_context):
    page = new_context(**PHONE).new_page()
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next=%2F$"))
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    expect(page.get_by_role("heading", name="Đăng nhập")).to_be_visible()
    assert_fits_width(page)

    log_in(page, "dangvien", DEMO_PASSWORD)

    expect(page.get_by_role("heading", name="Xin chào đồng chí Nguyễn Thị Mai")).to_be_visible()
    expect(page.get_by_text("Chi bộ thôn An Sơn")).to_be_visible()
    expect(page.get_by_role("heading", name="Đang mở cho đồng chí")).to_be_visible()
    assert_fits_width(page)


def test_wrong_password_is_told_in_vietnamese(new_context):
    page = new_context(**PHONE).new_page()
    page.goto("/login")
    log_in(page, "dangvien", "not-" + DEMO_PASSWORD)
    expect(page.get_by_role("alert")).to_have_text("Tên đăng nhập hoặc mật khẩu không đúng.")


def test_member_with_initial_password_must_choose_a_new_one(new_context, live_server, screenshot):
    with live_server.database():
        unit = Unit.get(Unit.code == "HU-HN-T2")
        _user, initial = users.create_user(None, "moi.dangvien", "Võ Thị Hồng", unit=unit)
    page = new_context(**PHONE).new_page()
    page.goto("/login")
    log_in(page, "moi.dangvien", initial)

    expect(page).to_have_url(re.compile(r"/account/password$"))
    expect(page.get_by_text("Đồng chí đang dùng mật khẩu ban đầu được cấp.")).to_be_visible()
    page.goto("/")  # nothing else opens before the change
    expect(page).to_have_url(re.compile(r"/account/password$"))

    page.get_by_label("Mật khẩu hiện tại").fill(initial)
    page.get_by_label("Mật khẩu mới", exact=True).fill("hoa-sen-2026")
    page.get_by_label("Nhập lại mật khẩu mới").fill("hoa-sen-2026")
    screenshot(page, "change-password-phone")
    page.get_by_role("button", name="Lưu mật khẩu mới").click()

    expect(page.get_by_text("Đã đổi mật khẩu.")).to_be_visible()
    expect(page.get_by_role("heading", name="Xin chào đồng chí Võ Thị Hồng")).to_be_visible()


@pytest.mark.parametrize("form_factor", ["phone", "desktop"])
def test_login_and_home_pages_look_right(new_context, form_factor, screenshot):
    page = new_context(**(PHONE if form_factor == "phone" else DESKTOP)).new_page()
    page.goto("/login")
    assert screenshot(page, f"login-{form_factor}").stat().st_size > 0
    assert_fits_width(page)
    log_in(page, "bithu", DEMO_PASSWORD)
    expect(page.get_by_role("heading", name="Xin chào đồng chí Phạm Văn Dũng")).to_be_visible()
    assert screenshot(page, f"home-{form_factor}").stat().st_size > 0
    assert_fits_width(page)
    page.get_by_label("Trình đơn").click()
    expect(page.get_by_role("button", name="Đăng xuất")).to_be_visible()
    assert screenshot(page, f"menu-{form_factor}").stat().st_size > 0


def test_pages_load_nothing_from_elsewhere_and_break_no_policy(new_context, base_url):
    page = new_context(**PHONE).new_page()
    requested, problems = [], []
    page.on("request", lambda request: requested.append(request.url))
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))

    page.goto("/login")
    log_in(page, "tochuc", DEMO_PASSWORD)
    expect(page.get_by_role("heading", name="Xin chào đồng chí Lê Thị Thu Hà")).to_be_visible()
    page.get_by_label("Trình đơn").click()
    page.get_by_role("link", name="Đổi mật khẩu").click()
    expect(page.get_by_role("heading", name="Đổi mật khẩu")).to_be_visible()

    assert any(url.endswith("/static/css/portal.css") for url in requested)
    elsewhere = [url for url in requested if not url.startswith(base_url + "/") and not url.startswith("data:")]
    assert elsewhere == []
    assert problems == []  # a CSP violation (inline script or style) shows up here
