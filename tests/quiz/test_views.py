"""The member's quiz pages (HTTP): home, list, intro, attempt, result, history."""

import datetime as dt
import re

import pytest

from portal.accounts.models import utcnow
from portal.quiz.models import Attempt
from tests.quiz.test_api import make_quiz, member, token  # noqa: F401 (member is a fixture)


def text(response):
    return response.get_data(as_text=True)


def start_in_page(client, quiz):
    """Press Start on the intro page; return the attempt."""
    response = client.post(f"/quiz/{quiz.id}/start")
    assert response.status_code == 302
    attempt_id = int(re.search(r"/quiz/attempts/(\d+)$", response.headers["Location"]).group(1))
    return Attempt.get_by_id(attempt_id)


def view_of(client, attempt):
    return client.get(f"/api/v1/attempts/{attempt.id}").get_json()


def test_anonymous_visitors_go_to_login(client, app):
    for url in ("/quiz/", "/quiz/history", "/quiz/1", "/quiz/attempts/1"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_home_lists_what_is_open_to_the_member(client, member, make_unit):
    assert "Hiện chưa có bài thi hay cuộc thi nào dành cho đơn vị của đồng chí" in text(client.get("/"))
    make_quiz(member.unit, title="Ôn tập Nghị quyết Đại hội XIV", is_practice=True)
    make_quiz(member.unit, title="Bản nháp chưa công bố", is_published=False)
    make_quiz(member.unit, title="Bài thi đã đóng", closes_at=utcnow() - dt.timedelta(days=1))
    make_quiz(member.unit, title="Bài thi chưa mở", opens_at=utcnow() + dt.timedelta(days=1))
    make_quiz(make_unit(), title="Bài thi của chi bộ khác")
    page = text(client.get("/"))
    assert "Đang mở cho đồng chí" in page and "Ôn tập Nghị quyết Đại hội XIV" in page
    for hidden in ("Bản nháp chưa công bố", "Bài thi đã đóng", "Bài thi chưa mở", "Bài thi của chi bộ khác",
                   "Hiện chưa có bài thi"):
        assert hidden not in page
    assert "Ôn tập Nghị quyết Đại hội XIV" in text(client.get("/quiz/"))
    assert "Bài thi của tôi" in page  # the menu link


def test_the_intro_page_tells_the_rules(client, member):
    quiz = make_quiz(member.unit, questions=3, time_limit_seconds=15 * 60, attempts_allowed=2,
                     closes_at=utcnow() + dt.timedelta(days=2), description="Chuyên đề năm 2026.")
    page = text(client.get(f"/quiz/{quiz.id}"))
    for fact in ("Chuyên đề năm 2026.", "15 phút", "Còn 2/2 lượt", "Đóng lúc", "Câu hỏi",
                 "Thời gian bắt đầu tính khi đồng chí bấm", "Bắt đầu"):
        assert fact in page, fact
    assert f'action="/quiz/{quiz.id}/start"' in page


def test_a_quiz_of_another_unit_or_unpublished_is_not_found(client, member, make_unit):
    for quiz in (make_quiz(make_unit()), make_quiz(member.unit, is_published=False)):
        assert client.get(f"/quiz/{quiz.id}").status_code == 404
        assert client.post(f"/quiz/{quiz.id}/start").status_code == 404


def test_start_opens_the_attempt_page_with_its_questions(client, member):
    quiz = make_quiz(member.unit, questions=2, time_limit_seconds=600)
    attempt = start_in_page(client, quiz)
    page = text(client.get(f"/quiz/attempts/{attempt.id}"))
    assert "Câu hỏi số 1" in page and "Câu hỏi số 2" in page
    assert '<meta name="csrf-token"' in page and "/static/js/quiz.js" in page
    assert f'data-answers-url="/api/v1/attempts/{attempt.id}/answers"' in page
    assert re.search(r'data-deadline="\d{4}-\d\d-\d\dT[\d:.]+Z"', page)
    assert "<script>" not in page  # CSP: no inline scripts
    assert "Giải thích" not in page and "Mất kết nối — câu trả lời sẽ được lưu khi có mạng" in page
    # the intro page now offers to continue the same attempt
    intro = text(client.get(f"/quiz/{quiz.id}"))
    assert "Làm tiếp" in intro and f"/quiz/attempts/{attempt.id}" in intro
    assert start_in_page(client, quiz).id == attempt.id


def test_the_attempt_page_shows_saved_answers_after_a_reload(client, member):
    quiz = make_quiz(member.unit, questions=2)
    attempt = start_in_page(client, quiz)
    view = view_of(client, attempt)
    client.put(f"/api/v1/attempts/{attempt.id}/answers", json={"seq": 3, "answers": {"2": [token(view, 2)]}})
    page = text(client.get(f"/quiz/attempts/{attempt.id}"))
    assert re.search(rf'name="q2" value="{token(view, 2)}" checked', page)
    assert not re.search(r'name="q1" value="\d" checked', page)
    assert 'data-seq="3"' in page


def test_another_members_attempt_pages_are_not_found(client, member, make_user, auth):
    quiz = make_quiz(member.unit)
    attempt = start_in_page(client, quiz)
    auth.logout()
    auth.login(make_user(unit=member.unit).username)
    for url in (f"/quiz/attempts/{attempt.id}", f"/quiz/attempts/{attempt.id}/result"):
        assert client.get(url).status_code == 404
    assert client.post(f"/quiz/attempts/{attempt.id}/submit").status_code == 404


def test_the_form_submits_without_javascript_and_shows_the_review(client, member):
    quiz = make_quiz(member.unit, questions=2, review_after_submit="answers")
    attempt = start_in_page(client, quiz)
    view = view_of(client, attempt)
    response = client.post(f"/quiz/attempts/{attempt.id}/submit", data={"q1": token(view, 1),
                                                                       "q2": token(view, 2, "Sai")})
    assert response.headers["Location"].endswith(f"/quiz/attempts/{attempt.id}/result")
    page = text(client.get(response.headers["Location"]))
    assert "Điểm của đồng chí" in page and "1 / 2" in page and "50%" in page
    assert "Đáp án đúng" in page and "Giải thích cho câu 2." in page and "Đồng chí chọn" in page
    # the attempt page of a finished attempt goes to the result
    assert client.get(f"/quiz/attempts/{attempt.id}").headers["Location"].endswith("/result")


def test_a_score_only_review_keeps_the_answers_until_the_quiz_closes(client, member):
    quiz = make_quiz(member.unit, questions=1, review_after_submit="score", review_after_close="answers",
                     closes_at=utcnow() + dt.timedelta(days=1))
    attempt = start_in_page(client, quiz)
    client.post(f"/quiz/attempts/{attempt.id}/submit", data={"q1": token(view_of(client, attempt), 1)})
    page = text(client.get(f"/quiz/attempts/{attempt.id}/result"))
    assert "1 / 1" in page
    assert "Đáp án sẽ được hiển thị tại đây sau khi bài thi đóng" in page
    assert "Giải thích" not in page and "Câu hỏi số 1" not in page


def test_used_up_attempts_are_told(client, member):
    quiz = make_quiz(member.unit, questions=1, attempts_allowed=1)
    attempt = start_in_page(client, quiz)
    client.post(f"/quiz/attempts/{attempt.id}/submit")
    page = text(client.get(f"/quiz/{quiz.id}"))
    assert "Đồng chí đã dùng hết số lượt làm bài thi này." in page
    assert f'action="/quiz/{quiz.id}/start"' not in page
    refused = client.post(f"/quiz/{quiz.id}/start", follow_redirects=True)
    assert "lượt" in text(refused) and Attempt.select().count() == 1


def test_history_lists_attempts_with_scores_and_reviews(client, member):
    assert "Đồng chí chưa làm bài thi nào." in text(client.get("/quiz/history"))
    quiz = make_quiz(member.unit, title="Kiểm tra Chỉ thị 05", questions=2)
    done = start_in_page(client, quiz)
    client.post(f"/quiz/attempts/{done.id}/submit", data={"q1": token(view_of(client, done), 1)})
    going = start_in_page(client, quiz)
    page = text(client.get("/quiz/history"))
    assert page.count("Kiểm tra Chỉ thị 05") == 2
    assert "1 / 2" in page and "Đang làm" in page
    assert f"/quiz/attempts/{done.id}/result" in page and f"/quiz/attempts/{going.id}\"" in page


def test_an_anonymous_survey_says_so_and_thanks(client, member):
    quiz = make_quiz(member.unit, questions=1, kind="text", title="Khảo sát sinh hoạt chi bộ",
                     is_survey=True, is_anonymous=True)
    intro = text(client.get(f"/quiz/{quiz.id}"))
    assert "Khảo sát này ẩn danh" in intro and "Trả lời khảo sát" in intro
    attempt = start_in_page(client, quiz)
    assert "Khảo sát này ẩn danh" in text(client.get(f"/quiz/attempts/{attempt.id}"))
    response = client.post(f"/quiz/attempts/{attempt.id}/submit", data={"q1": "Nên tổ chức thường xuyên hơn."},
                           follow_redirects=True)
    page = text(response)
    assert "Câu trả lời đã được ghi nhận ẩn danh." in page
    assert "Đồng chí đã trả lời khảo sát này." in page
    assert "Khảo sát sinh hoạt chi bộ" not in text(client.get("/quiz/history"))


@pytest.mark.parametrize("minutes, shown", [(None, "Không giới hạn thời gian"), (30, r"\b(30:00|29:5\d)\b")])
def test_the_attempt_page_shows_the_time_left(client, member, minutes, shown):
    quiz = make_quiz(member.unit, questions=1, time_limit_seconds=minutes and minutes * 60)
    attempt = start_in_page(client, quiz)
    assert re.search(shown, text(client.get(f"/quiz/attempts/{attempt.id}")))


def test_history_finalises_an_attempt_whose_time_ran_out(client, member):
    quiz = make_quiz(member.unit, questions=2, time_limit_seconds=600)
    attempt = start_in_page(client, quiz)
    answers = {"1": [token(view_of(client, attempt), 1)]}
    client.put(f"/api/v1/attempts/{attempt.id}/answers", json={"seq": 1, "answers": answers})
    Attempt.update(deadline_at=utcnow() - dt.timedelta(hours=1)).where(Attempt.id == attempt.id).execute()
    page = text(client.get("/quiz/history"))
    assert "Đang làm" not in page and "1 / 2" in page
    assert f"/quiz/attempts/{attempt.id}/result" in page


def test_a_correctness_review_shows_right_and_wrong_but_not_the_answers(client, member):
    quiz = make_quiz(member.unit, questions=2, review_after_submit="correctness", review_after_close="correctness")
    attempt = start_in_page(client, quiz)
    view = view_of(client, attempt)
    client.post(f"/quiz/attempts/{attempt.id}/submit", data={"q1": token(view, 1), "q2": token(view, 2, "Sai")})
    page = text(client.get(f"/quiz/attempts/{attempt.id}/result"))
    assert re.search(r'verdict badge ok">\s*Đúng<', page) and re.search(r'verdict badge bad">\s*Sai<', page)
    assert "Đồng chí chọn" in page and "wrong-choice" in page
    assert "Đáp án đúng" not in page and "Giải thích" not in page
