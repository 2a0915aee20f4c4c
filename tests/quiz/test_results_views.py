"""The organiser's results, item analysis and attempt review pages (HTTP)."""

import datetime as dt
import io
import re

import pytest
from flask_babel import gettext
from openpyxl import load_workbook

from portal.quiz import engine
from portal.quiz.models import Attempt
from tests.quiz.conftest import NOW
from tests.quiz.test_analysis import A, B, cells, people, sit  # noqa: F401 (fixtures)


def page(response):
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def reviews(html):
    """The attempts a results page links to."""
    return set(re.findall(r'href="/manage/attempts/(\d+)"', html))


@pytest.fixture
def quiz(make_question, make_quiz, people):
    quiz = make_quiz(questions=[make_question("single", text="Đảng ra đời năm nào?"), make_question("truefalse")],
                     title="Thi tìm hiểu tháng Ba")
    for member, answers in zip(people, [(A, A), (A, B), (B, A), (B, B)]):
        sit(quiz, member, {1: [answers[0]], 2: [answers[1]]})
    return quiz


@pytest.fixture
def organiser(login, committee):
    return login(role="organiser", scope=committee)


def urls(quiz):
    attempt = Attempt.select().where(Attempt.quiz == quiz).first()
    return [f"/manage/quizzes/{quiz.id}/results", f"/manage/quizzes/{quiz.id}/results.xlsx",
            f"/manage/quizzes/{quiz.id}/analysis", f"/manage/attempts/{attempt.id}"]


def test_the_organiser_sees_each_members_result(client, organiser, quiz, people):
    html = page(client.get(f"/manage/quizzes/{quiz.id}/results"))
    for name in ("Đảng viên 1", "Đảng viên 4", "Chi bộ thôn A", "Chi bộ thôn B", "2/2", "0/2"):
        assert name in html, name
    assert html.index("Đảng viên 1") < html.index("Đảng viên 4")  # best result first
    first = Attempt.get(Attempt.user == people[0].id)
    assert f'href="/manage/attempts/{first.id}"' in html
    assert f'href="/manage/quizzes/{quiz.id}/analysis"' in html


def test_the_unit_filter_keeps_one_cells_members(client, organiser, quiz, cells):
    html = page(client.get(f"/manage/quizzes/{quiz.id}/results?unit={cells[1].id}"))
    assert "Đảng viên 3" in html and "Đảng viên 1" not in html
    assert f'<option value="{cells[1].id}" selected>' in html


def test_results_are_paginated_by_fifty(client, organiser, quiz, make_user, cells):
    for n in range(50):
        user = make_user(unit=cells[0], full_name=f"Người thứ {n:02d}")
        Attempt.create(quiz=quiz, user=user, number=1, state="finished", score=0, max_score=2,
                       started_at=NOW, finished_at=NOW + dt.timedelta(minutes=3))
    first = page(client.get(f"/manage/quizzes/{quiz.id}/results"))
    second = page(client.get(f"/manage/quizzes/{quiz.id}/results?page=2"))
    assert "Đảng viên 1" in first and "Người thứ 49" in second and "Người thứ 49" not in first
    assert len(reviews(first)) == 50 and len(reviews(second)) == 4


def test_the_item_analysis_page(client, organiser, quiz):
    html = page(client.get(f"/manage/quizzes/{quiz.id}/analysis"))
    assert "Đảng ra đời năm nào?" in html and "Năm 1930" in html
    assert "<svg" in html and 'class="dist-right"' in html and "✓" in html
    assert html.count("50,0%") >= 2  # each question's facility index: half the members got it right
    assert ' style="' not in html and "<script>" not in html  # the CSP allows neither


def test_the_attempt_review_shows_choices_and_right_answers(client, organiser, quiz, people):
    attempt = Attempt.get(Attempt.user == people[2].id)
    html = page(client.get(f"/manage/attempts/{attempt.id}"))
    assert "Đảng viên 3" in html and "Đảng ra đời năm nào?" in html
    assert html.count("wrong-choice") == 1 and "Năm 1945" in html


def test_an_attempt_in_progress_shows_no_answers(client, organiser, make_quiz, member):
    quiz = make_quiz(closes_at=None)
    attempt = engine.start_attempt(quiz, member, NOW)
    html = page(client.get(f"/manage/attempts/{attempt.id}"))
    assert member.full_name in html and "Năm 1930" not in html


def test_members_are_refused(client, auth, quiz, people):
    auth.login(people[0].username)
    for url in urls(quiz):
        assert client.get(url).status_code == 403, url


def test_another_committees_organiser_is_refused(client, login, make_unit, quiz):
    other = make_unit("DX", "Đảng bộ xã Hòa Phong", "committee")
    login(role="organiser", scope=other)
    for url in urls(quiz):
        assert client.get(url).status_code == 403, url


def test_surveys_and_missing_quizzes_are_not_found(client, organiser, make_quiz):
    survey = make_quiz(is_survey=True)
    for url in (f"/manage/quizzes/{survey.id}/results", f"/manage/quizzes/{survey.id}/analysis",
                f"/manage/quizzes/{survey.id}/results.xlsx", "/manage/quizzes/999999/results",
                "/manage/attempts/999999"):
        assert client.get(url).status_code == 404, url


def test_the_spreadsheet_opens_with_its_headers_and_no_formulas(app, client, organiser, quiz, people):
    people[1].full_name = "=cmd|' /C calc'!A0"
    people[1].save()
    response = client.get(f"/manage/quizzes/{quiz.id}/results.xlsx")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    assert "attachment" in response.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.data))
    results, items = book.worksheets
    rows = [[c.value for c in row] for row in results.iter_rows()]
    with app.test_request_context():
        expected = [gettext("Full name"), gettext("Unit"), gettext("Score")]
    header = next(row for row in rows if row[1] == expected[0])
    assert header[2:4] == expected[1:]
    names = [row[1] for row in rows[rows.index(header) + 1:]]
    assert "'=cmd|' /C calc'!A0" in names and "=cmd|' /C calc'!A0" not in names
    assert not any(c.data_type == "f" for row in results.iter_rows() for c in row)
    assert header[9] and rows[rows.index(header) + 1][9] == "01/03/2025 15:05"  # Vietnam time
    assert items.max_row > 2
