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
