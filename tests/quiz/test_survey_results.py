"""Survey results for organisers: counts and shares, unit filter, anonymity, the page and the XLSX."""

import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from portal.errors import DomainError
from portal.quiz import engine, survey_results
from portal.quiz import questions as question_ops
from portal.quiz.setup import fixed_questions
from tests.quiz.conftest import NOW
from tests.quiz.test_engine import counting_queries

HOUR = dt.timedelta(hours=1)
# A survey question has no right answer, but the bank insists on one.
OPINIONS = [("Rất bổ ích", 100), ("Bổ ích", 0), ("Chưa bổ ích", 0)]
WISHES = [("Tài liệu in", 50), ("Video", 50), ("Trao đổi nhóm", 0)]


def respond(survey, user, answers, when=NOW):
    attempt = engine.start_attempt(survey, user, when)
    engine.save_answers(attempt, user, answers, 1, when)
    engine.submit_attempt(attempt, user, when)
    return attempt


@pytest.fixture
def make_survey(make_quiz, make_question):
    """A survey of four questions: single, multiple, true/false, free text."""

    def make_survey(**fields):
        questions = [make_question("single", OPINIONS, text="Đồng chí đánh giá buổi sinh hoạt thế nào?"),
                     make_question("multiple", WISHES, text="Đồng chí muốn học bằng hình thức nào?"),
                     make_question("truefalse", text="Đồng chí đã đọc tài liệu trước buổi sinh hoạt."),
                     make_question("text", text="Đồng chí có đề xuất gì?")]
        return make_quiz(questions=questions, is_survey=True, title="Khảo sát sinh hoạt chuyên đề", **fields)

    return make_survey


@pytest.fixture
def members(make_user, cell):
    return [make_user(unit=cell) for _ in range(4)]


def answered(survey, members):
    """Three of the four members respond, an hour apart; the fourth does not."""
    respond(survey, members[0], {1: ["0"], 2: ["0", "1"], 3: ["0"], 4: "Nên có thêm tài liệu."}, NOW)
    respond(survey, members[1], {1: ["0"], 2: ["1"], 3: ["1"], 4: "  "}, NOW + HOUR)
    respond(survey, members[2], {1: ["1"], 2: ["1", "2"], 4: "Tổ chức vào buổi tối."}, NOW + 2 * HOUR)


def counts(question):
    return [(o.text, o.count) for o in question.options]


# -- the domain -----------------------------------------------------------------------------------

def test_counts_and_shares_of_each_option(make_survey, members):
    survey = make_survey()
    answered(survey, members)
    engine.start_attempt(survey, members[3], NOW)  # in progress: not a response
    summary = survey_results.summarise(survey)
    assert (summary.response_count, summary.invited) == (3, 4)
    assert summary.response_rate == pytest.approx(0.75)
    single, multiple, truefalse, text = summary.questions
    assert [q.number for q in summary.questions] == [1, 2, 3, 4]
    assert counts(single) == [("Rất bổ ích", 2), ("Bổ ích", 1), ("Chưa bổ ích", 0)]
    assert [round(o.share, 3) for o in single.options] == [0.667, 0.333, 0.0]
    # Multiple choice: the share of respondents who ticked it, so the shares add up to more than 100%.
    assert counts(multiple) == [("Tài liệu in", 1), ("Video", 3), ("Trao đổi nhóm", 1)]
    assert multiple.options[1].share == 1.0 and sum(o.share for o in multiple.options) > 1
    assert counts(truefalse) == [("Đúng", 1), ("Sai", 1)]
    assert (truefalse.asked, truefalse.answered, truefalse.skipped) == (3, 2, 1)
    assert text.is_text and text.options == []
    assert text.answers == ["Tổ chức vào buổi tối.", "Nên có thêm tài liệu."]  # newest first, blanks left out
    assert (text.answered, text.skipped) == (2, 1)


def test_a_survey_without_responses_lists_its_questions_with_nothing_counted(make_survey, members):
    summary = survey_results.summarise(make_survey())
    assert (summary.response_count, summary.invited, len(summary.questions)) == (0, 4, 4)
    assert all(o.count == 0 and o.share is None for q in summary.questions for o in q.options)


def test_the_response_rate_counts_active_members_of_the_audience_only(make_survey, members, make_user, make_unit,
                                                                      committee):
    make_user(unit=members[0].unit, is_active=False)
    make_user(unit=make_unit())  # outside the committee
    other_cell = make_unit(parent=committee)
    make_user(unit=other_cell)
    assert survey_results.summarise(make_survey()).invited == 5
    assert survey_results.summarise(make_survey(audience=[members[0].unit])).invited == 4


def test_the_unit_filter_keeps_the_members_of_the_unit_subtree(make_survey, members, make_user, make_unit, committee):
    survey = make_survey()
    answered(survey, members)
    other_cell = make_unit("HV-HN", "Chi bộ thôn Hòa Ninh", parent=committee)
    outsider = make_user(unit=other_cell)
    respond(survey, outsider, {1: ["2"], 4: "Ý kiến của chi bộ Hòa Ninh"}, NOW + 3 * HOUR)
    everyone = survey_results.summarise(survey)
    assert (everyone.response_count, everyone.invited) == (4, 5)
    assert {u.name for u in everyone.unit_choices} >= {"Chi bộ thôn An Sơn", "Chi bộ thôn Hòa Ninh"}
    hoa_ninh = survey_results.summarise(survey, [other_cell])
    assert (hoa_ninh.response_count, hoa_ninh.invited) == (1, 1)
    assert counts(hoa_ninh.questions[0]) == [("Rất bổ ích", 0), ("Bổ ích", 0), ("Chưa bổ ích", 1)]
    assert hoa_ninh.questions[3].answers == ["Ý kiến của chi bộ Hòa Ninh"]
    assert [(r.full_name, r.unit) for r in hoa_ninh.responses] == [(outsider.full_name, "Chi bộ thôn Hòa Ninh")]
    assert survey_results.summarise(survey, [committee]).response_count == 4


def test_an_anonymous_survey_cannot_be_filtered_and_names_nobody(make_survey, members, cell):
    survey = make_survey(is_anonymous=True)
    answered(survey, members)
    summary = survey_results.summarise(survey)
    assert summary.response_count == 3 and summary.unit_choices == []
    assert all((r.full_name, r.unit) == ("", "") for r in summary.responses)
    with pytest.raises(DomainError):
        survey_results.summarise(survey, [cell])


def test_the_results_take_the_same_few_queries_however_many_responded(make_survey, members, make_user, cell):
    survey = make_survey()
    answered(survey, members)
    with counting_queries() as few:
        survey_results.summarise(survey)
    for _ in range(5):
        respond(survey, make_user(unit=cell), {1: ["1"], 4: "Thêm một ý kiến"})
    with counting_queries() as many:
        summary = survey_results.summarise(survey)
    assert summary.response_count == 8
    assert len(many) == len(few) <= 8, many


def test_an_edited_question_keeps_its_earlier_answers_apart(make_survey, members):
    survey = make_survey()
    respond(survey, members[0], {1: ["0"]})
    first = fixed_questions(survey)[0]
    data = question_ops.QuestionInput.of(first)
    data.text = "Đồng chí đánh giá buổi sinh hoạt chuyên đề thế nào?"
    edited = question_ops.update_question(None, first, data)
    assert edited.id != first.id
    respond(survey, members[1], {1: ["1"]})
    summary = survey_results.summarise(survey)
    assert [(q.number, q.id, q.replaced) for q in summary.questions[:2]] == [(1, edited.id, False), (2, first.id, True)]
    assert counts(summary.questions[0])[:2] == [("Rất bổ ích", 0), ("Bổ ích", 1)]
    assert counts(summary.questions[1])[:2] == [("Rất bổ ích", 1), ("Bổ ích", 0)]


def test_the_xlsx_has_a_summary_and_one_row_per_response(app, make_survey, members):
    survey = make_survey()
    answered(survey, members)
    with app.test_request_context():
        content = survey_results.survey_xlsx(survey, survey_results.summarise(survey))
    totals, answers = load_workbook(io.BytesIO(content)).worksheets
    rows = [r for r in totals.iter_rows(values_only=True)]
    assert (1, "Đồng chí đánh giá buổi sinh hoạt thế nào?", "Rất bổ ích", 2, 66.7) in rows
    assert (2, "Đồng chí muốn học bằng hình thức nào?", "Video", 3, 100.0) in rows
    table = list(answers.iter_rows(values_only=True))
    assert len(table) == 4  # header and three responses
    newest = table[1]
    assert newest[:3] == (1, members[2].full_name, "Chi bộ thôn An Sơn")
    assert newest[4:] == ("Bổ ích", "Video; Trao đổi nhóm", None, "Tổ chức vào buổi tối.")


# -- the pages ------------------------------------------------------------------------------------

def page(response):
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def test_the_organiser_sees_counts_bars_and_free_answers(client, login, committee, make_survey, members):
    survey = make_survey()
    answered(survey, members)
    login(role="organiser", scope=committee)
    html = page(client.get(f"/manage/quizzes/{survey.id}/survey"))
    assert "Khảo sát sinh hoạt chuyên đề" in html and "75,0%" in html
    assert "Rất bổ ích" in html and "66,7%" in html
    assert '<rect x="0" y="0" width="66.7"' in html  # the bar, drawn without style attributes
    assert " style=" not in html and "<script>" not in html.split("</head>")[1]
    assert "Tổ chức vào buổi tối." in html
    assert 'name="unit"' in html and "Chi bộ thôn An Sơn" in html
    assert members[0].full_name not in html  # the page lists answers, not who gave them


def test_the_page_filters_by_unit(client, login, committee, make_survey, members, make_unit, make_user):
    survey = make_survey()
    answered(survey, members)
    other_cell = make_unit("HV-HN", "Chi bộ thôn Hòa Ninh", parent=committee)
    respond(survey, make_user(unit=other_cell), {4: "Ý kiến của chi bộ Hòa Ninh"})
    login(role="organiser", scope=committee)
    html = page(client.get(f"/manage/quizzes/{survey.id}/survey?unit={other_cell.id}"))
    assert "Ý kiến của chi bộ Hòa Ninh" in html and "Tổ chức vào buổi tối." not in html
    assert f'<option value="{other_cell.id}" selected>' in html
    workbook = load_workbook(io.BytesIO(client.get(f"/manage/quizzes/{survey.id}/survey.xlsx?unit={other_cell.id}")
                                        .get_data()))
    assert len(list(workbook.worksheets[1].iter_rows())) == 2


def test_an_anonymous_survey_page_and_xlsx_name_nobody(client, login, committee, make_survey, members, cell):
    survey = make_survey(is_anonymous=True)
    answered(survey, members)
    login(role="organiser", scope=committee)
    html = page(client.get(f"/manage/quizzes/{survey.id}/survey?unit={cell.id}"))  # the filter is ignored
    assert "Tổ chức vào buổi tối." in html and "66,7%" in html
    assert 'name="unit"' not in html
    assert not any(m.full_name in html for m in members)
    response = client.get(f"/manage/quizzes/{survey.id}/survey.xlsx")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    cells = [str(v) for ws in load_workbook(io.BytesIO(response.get_data())).worksheets
             for row in ws.iter_rows(values_only=True) for v in row if v is not None]
    assert "Tổ chức vào buổi tối." in cells
    assert not any(m.full_name in c for m in members for c in cells)
    assert not any("An Sơn" in c for c in cells)


def test_text_answers_are_escaped_on_the_page_and_neutralised_in_the_xlsx(client, login, committee, make_survey,
                                                                           members):
    survey = make_survey()
    respond(survey, members[0], {4: '<script>alert("x")</script>'})
    respond(survey, members[1], {4: '=HYPERLINK("http://evil.example","Bấm vào")'})
    login(role="organiser", scope=committee)
    html = page(client.get(f"/manage/quizzes/{survey.id}/survey"))
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html and '<script>alert("x")' not in html
    response = client.get(f"/manage/quizzes/{survey.id}/survey.xlsx")
    assert response.headers["Content-Disposition"].startswith("attachment")
    answers = load_workbook(io.BytesIO(response.get_data())).worksheets[1]
    texts = [row[-1] for row in answers.iter_rows(min_row=2, values_only=True)]
    assert '\'=HYPERLINK("http://evil.example","Bấm vào")' in texts
    assert all(cell.data_type != "f" for row in answers.iter_rows() for cell in row)


def test_members_and_other_organisers_are_refused(client, login, make_survey, members, make_unit):
    survey = make_survey()
    login(unit=members[0].unit)
    assert client.get(f"/manage/quizzes/{survey.id}/survey").status_code == 403
    client.post("/logout")
    login(role="organiser", scope=make_unit("DX", "Đảng bộ xã khác", "committee"))
    for url in (f"/manage/quizzes/{survey.id}/survey", f"/manage/quizzes/{survey.id}/survey.xlsx"):
        assert client.get(url).status_code == 403, url


def test_a_quiz_that_is_not_a_survey_has_no_survey_results(client, login, committee, make_quiz):
    quiz = make_quiz()
    login(role="organiser", scope=committee)
    assert client.get(f"/manage/quizzes/{quiz.id}/survey").status_code == 404
    assert client.get(f"/manage/quizzes/{quiz.id}/survey.xlsx").status_code == 404
    assert client.get("/manage/quizzes/999999/survey").status_code == 404
