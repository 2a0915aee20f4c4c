"""`portal finalise-overdue`: the periodic job that scores attempts whose time ran out."""

import datetime as dt

from portal.accounts.models import utcnow
from portal.quiz import engine
from portal.quiz.models import Attempt


def test_finalise_overdue_scores_attempts_whose_time_ran_out(runner, make_quiz, member):
    now = utcnow()
    quiz = make_quiz(time_limit_seconds=600, opens_at=now - dt.timedelta(days=1),
                     closes_at=now + dt.timedelta(days=1))
    attempt = engine.start_attempt(quiz, member, now - dt.timedelta(hours=1))
    result = runner.invoke(args=["finalise-overdue"])
    assert result.exit_code == 0, result.output
    assert "Đã chấm 1 bài thi quá giờ." in result.output
    finished = Attempt.get_by_id(attempt.id)
    assert finished.is_finished and finished.score == 0
    assert "Đã chấm 0 bài thi quá giờ." in runner.invoke(args=["finalise-overdue"]).output


def test_demo_gives_banks_open_quizzes_a_survey_and_finished_attempts(runner, client, auth):
    from portal.quiz.models import Attempt, Question, Quiz, SurveyResponse

    assert runner.invoke(args=["demo"]).exit_code == 0
    assert Question.select().where(Question.is_active == True).count() == 36  # noqa: E712
    assert all(q.is_open(utcnow()) for q in Quiz.select().where(Quiz.is_listed == True))  # noqa: E712
    exam = Quiz.get(Quiz.is_practice == False, Quiz.is_survey == False)  # noqa: E712
    finished = Attempt.select().where(Attempt.quiz == exam, Attempt.state == "finished")
    assert finished.count() > 40 and len({a.score for a in finished}) > 5  # a spread to analyse
    assert SurveyResponse.select().count() > 20
    auth.login("dangvien", "demo2026")
    home = client.get("/").get_data(as_text=True)
    assert "Ôn tập chuyên đề năm 2025" in home
    assert "Khảo sát ý kiến về sinh hoạt chuyên đề năm 2025" in home
    history = client.get("/quiz/history").get_data(as_text=True)
    assert "Thi tìm hiểu tư tưởng, đạo đức, phong cách Hồ Chí Minh – tuần 1" in history and "Xem lại" in history
    assert "Thi tìm hiểu tư tưởng, đạo đức, phong cách Hồ Chí Minh – tuần 1" in home
