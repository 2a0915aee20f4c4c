"""The organiser pages under /manage: topics, questions, quizzes."""

import datetime as dt
import re

import pytest

from portal.quiz import questions as q_ops
from portal.quiz import setup
from portal.quiz.models import AttemptQuestion, Question, Quiz, QuizDraw, Topic
from portal.quiz.setup import DrawInput, QuizInput
from tests.conftest import PASSWORD, reload
from tests.quiz.test_topics_questions import (district, draw_into_attempt, make_question, make_topic,  # noqa: F401
                                              single)


def page(response):
    return response.get_data(as_text=True)


def error_of(html, field_id):
    found = re.search(rf'<p class="error" id="{field_id}-error">([^<]*)</p>', html)
    return found.group(1) if found else None


@pytest.fixture
def organiser(login, district):
    return login(role="organiser", scope=district)


@pytest.fixture
def topic(make_topic):
    return make_topic(code="CD2025", title="Chuyên đề năm 2025")


def question_form(**overrides):
    values = {"kind": "single", "text": "Đảng Cộng sản Việt Nam ra đời năm nào?", "difficulty": "1",
              "grading": "all_or_nothing", "tags": "lịch sử", "explanation": "Ngày 3/2/1930.",
              "options-0-text": "1930", "options-0-correct": "y", "options-1-text": "1945",
              "options-2-text": "1954"}
    values.update(overrides)
    return values


def quiz_form(topic, **overrides):
    values = {"title": "Thi tìm hiểu tháng 3", "kind": "exam", "owner_unit": str(topic.owner_unit_id),
              "draws-0-topic": str(topic.id), "draws-0-count": "2", "draws-0-difficulty": "",
              "shuffle_questions": "y", "shuffle_options": "y", "time_limit_minutes": "15",
              "opens_at": "2025-03-01T08:00", "closes_at": "2025-03-08T17:30", "attempts_allowed": "2",
              "grading_method": "highest", "review_after_submit": "correctness", "review_after_close": "answers"}
    values.update(overrides)
    return values


# -- access ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", [None, "secretary"])
def test_members_and_secretaries_are_refused(client, login, topic, role):
    login(role=role)
    for url in ("/manage/topics", f"/manage/topics/{topic.id}", "/manage/quizzes", "/manage/quizzes/new"):
        assert client.get(url).status_code == 403
    assert "Ngân hàng câu hỏi" not in page(client.get("/"))


def test_anonymous_visitors_go_to_login(client):
    response = client.get("/manage/topics")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_organiser_outside_the_scope_is_refused(client, login, make_unit, topic, make_question):
    question = make_question(topic)
    quiz = setup.create_quiz(None, QuizInput(title="Bài thi", owner_unit=topic.owner_unit,
                                             draws=[DrawInput(topic, 1)]))
    login(role="organiser", scope=make_unit("HV", "Đảng bộ huyện khác", "committee"))
    assert "CD2025" not in page(client.get("/manage/topics"))
    for url in (f"/manage/topics/{topic.id}", f"/manage/topics/{topic.id}/edit", f"/manage/questions/{question.id}",
                f"/manage/topics/{topic.id}/questions/new", f"/manage/quizzes/{quiz.id}"):
        assert client.get(url).status_code == 403, url
    assert client.post(f"/manage/questions/{question.id}/retire").status_code == 403
    assert client.post(f"/manage/quizzes/{quiz.id}/publish").status_code == 403
    assert reload(question).is_active and not reload(quiz).is_published


def test_organiser_sees_the_menu_links(client, organiser):
    html = page(client.get("/"))
    assert "Ngân hàng câu hỏi" in html and 'href="/manage/quizzes"' in html


# -- topics ---------------------------------------------------------------------------------------

def test_topic_list_counts_questions_by_difficulty(client, organiser, topic, make_question):
    for level in (1, 1, 2, 3):
        make_question(topic, difficulty=level)
    q_ops.retire_question(None, make_question(topic, difficulty=3))
    html = page(client.get("/manage/topics"))
    row = html[html.index("Chuyên đề năm 2025"):]
    row = row[:row.index("</tr>")]
    assert "Dễ: 2 · Trung bình: 1 · Khó: 1" in row and "<strong>4</strong>" in row


def test_create_topic_offers_only_units_in_scope(client, organiser, district, make_unit):
    cell = make_unit("HU-T1", "Chi bộ thôn Một", parent=district)
    other = make_unit("HV", "Đảng bộ huyện khác", "committee")
    html = page(client.get("/manage/topics/new"))
    assert "Chi bộ thôn Một" in html and "Đảng bộ huyện khác" not in html

    refused = client.post("/manage/topics/new", data={"code": "CD1", "title": "Chuyên đề", "owner_unit": str(other.id)})
    assert error_of(page(refused), "owner_unit") == "Đơn vị chủ quản: hãy chọn một trong các đơn vị đồng chí phụ trách."

    response = client.post("/manage/topics/new", data={"code": "CD2025", "title": "Chuyên đề năm 2025",
                                                       "year": "2025", "owner_unit": str(cell.id)})
    topic = Topic.get(Topic.code == "CD2025")
    assert response.headers["Location"].endswith(f"/manage/topics/{topic.id}") and topic.owner_unit_id == cell.id
    assert "Đã tạo chuyên đề Chuyên đề năm 2025." in page(client.get(response.headers["Location"]))


def test_edit_topic_shows_the_error_next_to_the_code(client, organiser, topic, make_topic):
    make_topic(code="CD2024")
    response = client.post(f"/manage/topics/{topic.id}/edit", data={
        "code": "CD2024", "title": topic.title, "year": "2025", "owner_unit": str(topic.owner_unit_id)})
    assert error_of(page(response), "code") == "Mã chuyên đề: mã CD2024 đã được dùng cho chuyên đề khác."
    assert reload(topic).code == "CD2025"


# -- questions ------------------------------------------------------------------------------------

def test_question_text_is_shown_inert(client, organiser, topic):
    q_ops.create_question(None, topic, q_ops.QuestionInput(
        kind="single", text="<script>alert(1)</script> là gì?", explanation="<img src=x onerror=alert(2)>",
        options=[q_ops.OptionInput("<b>Đậm</b>", 100), q_ops.OptionInput("javascript:alert(3)")]))
    html = page(client.get(f"/manage/topics/{topic.id}"))
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; là gì?" in html
    assert "<img src=x" not in html and "&lt;b&gt;Đậm&lt;/b&gt;" in html
    assert 'href="javascript:' not in html


def test_topic_page_marks_right_options_and_filters(client, organiser, topic, make_question):
    make_question(topic, text="Câu hỏi về Điều lệ Đảng?", difficulty=1, tags="điều lệ")
    hard = make_question(topic, text="Câu hỏi về Nghị quyết?", difficulty=3, right=2)
    html = page(client.get(f"/manage/topics/{topic.id}?difficulty=3"))
    assert "Câu hỏi về Nghị quyết?" in html and "Câu hỏi về Điều lệ Đảng?" not in html
    card = html[html.index(f'id="q{hard.id}"'):]
    right = re.findall(r'<li class="right">\s*<span class="letter">(\w)</span>', card[:card.index("</article>")])
    assert right == ["C"]
    assert "1 câu hỏi khớp bộ lọc" in html
    html = page(client.get(f"/manage/topics/{topic.id}?tag=điều lệ"))
    assert "Câu hỏi về Điều lệ Đảng?" in html and "Câu hỏi về Nghị quyết?" not in html
    html = page(client.get(f"/manage/topics/{topic.id}?q=NGHỊ QUYẾT"))
    assert "Câu hỏi về Nghị quyết?" in html and "Câu hỏi về Điều lệ Đảng?" not in html


def test_topic_page_is_paginated(client, organiser, topic, make_question):
    for i in range(21):
        make_question(topic, text=f"Câu hỏi thứ {i}?")
    html = page(client.get(f"/manage/topics/{topic.id}"))
    assert "Trang 1/2" in html
    assert "Câu hỏi thứ 0?" not in html  # newest first
    assert "Câu hỏi thứ 0?" in page(client.get(f"/manage/topics/{topic.id}?page=2"))


def test_add_a_single_choice_question(client, organiser, topic):
    assert "Phương án H" in page(client.get(f"/manage/topics/{topic.id}/questions/new"))
    response = client.post(f"/manage/topics/{topic.id}/questions/new", data=question_form())
    question = Question.get(Question.topic == topic)
    assert response.status_code == 302
    assert [(o.text, o.is_correct) for o in q_ops.ordered_options(question)] == [
        ("1930", True), ("1945", False), ("1954", False)]
    assert question.difficulty == 1 and question.tags == "lịch sử"
    assert f"Đã thêm câu hỏi số {question.id}." in page(client.get(response.headers["Location"]))


def test_add_a_true_false_question(client, organiser, topic):
    client.post(f"/manage/topics/{topic.id}/questions/new",
                data=question_form(kind="truefalse", text="Chi bộ là tổ chức cơ sở của Đảng.", truefalse_answer="true"))
    question = Question.get(Question.topic == topic)
    assert [(o.text, o.is_correct) for o in q_ops.ordered_options(question)] == [("Đúng", True), ("Sai", False)]
    html = page(client.get(f"/manage/questions/{question.id}"))
    assert re.search(r'<input checked[^>]*value="true"|<input[^>]*value="true"[^>]*checked', html)


def test_add_a_survey_question_with_no_right_answer(client, organiser, topic):
    """A rating question has no right answer: ticks and weights sent along are ignored."""
    response = client.post(f"/manage/topics/{topic.id}/questions/new", data=question_form(
        kind="survey_single", text="Đồng chí đánh giá thế nào về sinh hoạt chuyên đề năm nay?",
        **{"options-0-text": "Rất bổ ích", "options-1-text": "Bổ ích", "options-2-text": "Chưa bổ ích",
           "options-1-weight": "50"}))
    question = Question.get(Question.topic == topic)
    assert response.status_code == 302 and question.kind == "survey_single"
    assert [(o.text, o.weight) for o in q_ops.ordered_options(question)] == [
        ("Rất bổ ích", 0), ("Bổ ích", 0), ("Chưa bổ ích", 0)]
    assert "Khảo sát: chọn một (không có đáp án đúng)" in page(client.get(f"/manage/topics/{topic.id}"))


def test_question_errors_name_the_option_and_keep_the_input(client, organiser, topic):
    response = client.post(f"/manage/topics/{topic.id}/questions/new",
                           data=question_form(**{"options-1-correct": "y"}))
    html = page(response)
    assert response.status_code == 200 and Question.select().count() == 0
    assert "câu một lựa chọn phải có đúng một phương án đúng (đang có: A, B)" in html
    assert "Đảng Cộng sản Việt Nam ra đời năm nào?" in html


def test_partial_credit_weights_from_the_form(client, organiser, topic):
    client.post(f"/manage/topics/{topic.id}/questions/new", data=question_form(
        kind="multiple", grading="partial", text="Chọn các ý đúng", **{"options-1-correct": "y",
                                                                        "options-2-weight": "-50"}))
    question = Question.get(Question.topic == topic)
    assert [o.weight for o in q_ops.ordered_options(question)] == [50, 50, -50]
    html = page(client.get(f"/manage/topics/{topic.id}"))
    assert "Điểm từng phần" in html and "✓ Đúng 50%" in html


def test_editing_a_used_question_makes_a_new_version(client, organiser, topic, make_question):
    question = make_question(topic, text="Câu cũ?")
    draw_into_attempt(question)
    assert "đã xuất hiện trong 1 lượt thi" in page(client.get(f"/manage/questions/{question.id}"))
    response = client.post(f"/manage/questions/{question.id}", data=question_form(text="Câu mới?"))
    new = Question.get(Question.text == "Câu mới?")
    assert new.id != question.id and not reload(question).is_active
    assert AttemptQuestion.get().question_id == question.id
    html = page(client.get(response.headers["Location"]))
    assert f"được lưu thành phiên bản mới, câu số {new.id}" in html


def test_editing_an_unused_question_keeps_its_number(client, organiser, topic, make_question):
    question = make_question(topic, text="Câu cũ?")
    client.post(f"/manage/questions/{question.id}", data=question_form(text="Câu mới?"))
    assert reload(question).text == "Câu mới?" and Question.select().count() == 1


def test_retire_and_restore_from_the_list(client, organiser, topic, make_question):
    question = make_question(topic)
    response = client.post(f"/manage/questions/{question.id}/retire")
    assert not reload(question).is_active
    assert f"Đã ngừng dùng câu hỏi số {question.id}" in page(client.get(response.headers["Location"]))
    assert "Dùng lại" in page(client.get(f"/manage/topics/{topic.id}?status=retired"))
    client.post(f"/manage/questions/{question.id}/restore")
    assert reload(question).is_active


# -- quizzes --------------------------------------------------------------------------------------

@pytest.fixture
def bank(topic, make_question):
    for level in (1, 1, 3):
        make_question(topic, difficulty=level)
    return topic


def test_create_a_quiz_with_vietnam_times(client, organiser, bank):
    response = client.post("/manage/quizzes/new", data=quiz_form(bank))
    quiz = Quiz.get()
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/manage/quizzes/{quiz.id}")
    assert quiz.opens_at == dt.datetime(2025, 3, 1, 1, 0) and quiz.closes_at == dt.datetime(2025, 3, 8, 10, 30)
    assert quiz.time_limit_seconds == 900 and quiz.created_by_id == organiser.id
    assert [(d.topic_id, d.count) for d in QuizDraw.select()] == [(bank.id, 2)]
    html = page(client.get(f"/manage/quizzes/{quiz.id}"))
    assert 'value="2025-03-01T08:00"' in html and "08:00 01/03/2025" in html
    assert "Bản nháp" in html

    listing = page(client.get("/manage/quizzes"))
    assert "Thi tìm hiểu tháng 3" in listing and "Thi" in listing and "08:00 01/03/2025 – 17:30 08/03/2025" in listing


@pytest.mark.parametrize("overrides, where, text", [
    ({"draws-0-count": "5"}, None, "Dòng rút câu hỏi 1 (CD2025): chuyên đề chỉ có 3 câu hỏi đang dùng phù hợp, cần 5 câu."),
    ({"closes_at": "2025-02-01T08:00"}, "closes_at", "Đóng lúc: thời điểm đóng phải sau thời điểm mở."),
    ({"opens_at": "mai"}, "opens_at", "Mở lúc: hãy nhập ngày và giờ, ví dụ 20/11/2025 08:00."),
    ({"time_limit_minutes": "0"}, "time_limit_minutes", "Thời gian làm bài: hãy nhập số phút"),
    ({"fixed_questions": "abc"}, "fixed_questions", "Danh sách cố định: abc không phải là số của câu hỏi."),
])
def test_quiz_form_errors_are_shown_where_they_belong(client, organiser, bank, overrides, where, text):
    response = client.post("/manage/quizzes/new", data=quiz_form(bank, **overrides))
    html = page(response)
    assert response.status_code == 200 and Quiz.select().count() == 0
    if where:
        assert error_of(html, where).startswith(text)
    else:
        assert text in html


def test_publish_and_unpublish(client, organiser, bank):
    quiz = setup.create_quiz(None, QuizInput(title="Thi tháng 3", owner_unit=bank.owner_unit))
    response = client.post(f"/manage/quizzes/{quiz.id}/publish")
    assert "Chưa công bố được. Câu hỏi: hãy thêm" in page(client.get(response.headers["Location"]))
    setup.update_quiz(None, quiz, QuizInput(title="Thi tháng 3", owner_unit=bank.owner_unit,
                                            draws=[DrawInput(bank, 2)]))
    response = client.post(f"/manage/quizzes/{quiz.id}/publish")
    assert reload(quiz).is_published
    html = page(client.get(response.headers["Location"]))
    assert "Đã công bố bài thi Thi tháng 3." in html and "Thôi công bố" in html
    client.post(f"/manage/quizzes/{quiz.id}/unpublish")
    assert not reload(quiz).is_published


def test_edit_quiz_round_trips_its_settings(client, organiser, bank, district, make_unit):
    cell = make_unit("HU-T1", "Chi bộ thôn Một", parent=district)
    client.post("/manage/quizzes/new", data=quiz_form(bank, audience=[str(cell.id)]))
    quiz = Quiz.get()
    html = page(client.get(f"/manage/quizzes/{quiz.id}"))
    assert f'name="audience" value="{cell.id}" checked>' in html
    response = client.post(f"/manage/quizzes/{quiz.id}", data=quiz_form(bank, audience=[str(cell.id)]))
    assert "Không có gì thay đổi." in page(client.get(response.headers["Location"]))
    response = client.post(f"/manage/quizzes/{quiz.id}", data=quiz_form(bank, audience=[], title="Tên mới"))
    assert "Đã lưu bài thi Tên mới." in page(client.get(response.headers["Location"]))
    assert reload(quiz).title == "Tên mới" and not list(reload(quiz).audience)


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_posts_need_the_csrf_token(client, make_user, district, topic, make_question):
    user = make_user(role="organiser", scope=district)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page(client.get("/login"))).group(1)
    client.post("/login", data={"username": user.username, "password": PASSWORD, "csrf_token": token})
    question = make_question(topic)
    assert client.post(f"/manage/questions/{question.id}/retire").status_code == 400
    html = page(client.get(f"/manage/topics/{topic.id}"))
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    assert reload(question).is_active
    client.post(f"/manage/questions/{question.id}/retire", data={"csrf_token": token})
    assert not reload(question).is_active


# -- import and export ----------------------------------------------------------------------------

GIFT = """// Câu hỏi ôn tập
::Câu 1:: Đảng Cộng sản Việt Nam ra đời năm nào? {=1930 ~1945 ~1954}

Chi bộ là tổ chức cơ sở của Đảng. {T}

Thủ đô của Việt Nam là {=Hà Nội ~Huế} thành phố.

Hai cộng hai bằng mấy? {#4}
"""


def upload(client, topic, text, name="cau-hoi.gift"):
    import io

    return client.post(f"/manage/topics/{topic.id}/import", content_type="multipart/form-data",
                       data={"file": (io.BytesIO(text.encode("utf-8")), name), "format": ""})


def test_import_gift_with_preview_then_confirm(client, organiser, topic, make_question):
    make_question(topic, text="Thủ đô của Việt Nam là _____ thành phố.")
    html = page(client.get(f"/manage/topics/{topic.id}"))
    assert f'href="/manage/topics/{topic.id}/import"' in html and "Nhập câu hỏi" in html
    preview = page(upload(client, topic, GIFT))
    assert Question.select().count() == 1  # a preview writes nothing
    assert "Nhập 2 câu hỏi" in preview
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', preview).group(1)
    sha = re.search(r'name="sha256" type="hidden" value="([^"]+)"', preview).group(1)
    response = client.post(f"/manage/topics/{topic.id}/import/confirm", data={"token": token, "sha256": sha})
    assert response.status_code == 302
    assert Question.select().where(Question.topic == topic).count() == 3
    assert "Đã nhập xong: 2 câu hỏi mới" in page(client.get(response.headers["Location"]))


def test_a_bad_question_stops_the_whole_import(client, organiser, topic):
    preview = page(upload(client, topic, "Câu tốt? {=Có ~Không}\n\nCâu thiếu đáp án đúng? {~A ~B}\n"))
    assert "Chưa nhập được: 1 câu hỏi bị lỗi." in preview and 'name="token"' not in preview
    assert re.search(r'<tr class="row-reject">\s*<td class="num">3</td>', preview)
    assert Question.select().count() == 0


def test_export_gift_and_excel(client, organiser, topic, make_question):
    make_question(topic, text="Đảng ta ra đời năm nào?")
    gift = client.get(f"/manage/topics/{topic.id}/export.gift")
    assert gift.status_code == 200 and "Đảng ta ra đời năm nào?" in gift.get_data(as_text=True)
    assert "cau-hoi-CD2025" in gift.headers["Content-Disposition"]
    xlsx = client.get(f"/manage/topics/{topic.id}/export.xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    assert client.get("/manage/import/template.xlsx").data[:2] == b"PK"


def test_import_and_export_are_refused_outside_the_scope(client, login, make_unit, topic):
    login(role="organiser", scope=make_unit("HV", "Đảng bộ huyện khác", "committee"))
    assert client.get(f"/manage/topics/{topic.id}/import").status_code == 403
    assert upload(client, topic, GIFT).status_code == 403
    assert client.get(f"/manage/topics/{topic.id}/export.gift").status_code == 403
