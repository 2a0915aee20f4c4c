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


def test_demo_gives_a_question_bank_and_two_open_quizzes(runner, client, auth):
    from portal.quiz.models import Question, Quiz

    assert runner.invoke(args=["demo"]).exit_code == 0
    assert Question.select().where(Question.is_active == True).count() == 16  # noqa: E712
    assert all(q.is_open(utcnow()) for q in Quiz.select())
    auth.login("dangvien", "demo2026")
    home = client.get("/").get_data(as_text=True)
    assert "Ôn tập chuyên đề năm 2025" in home
    assert "Thi tìm hiểu tư tưởng, đạo đức, phong cách Hồ Chí Minh – tuần 1" in home
