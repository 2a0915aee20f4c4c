"""Contest factories: a contest on a committee, rounds on quizzes, finished attempts with chosen keys."""

import datetime as dt
import itertools

import pytest

from portal.contests.models import Contest, Round
from portal.quiz.models import Attempt, Quiz

NOW = dt.datetime(2025, 5, 19, 3, 0)  # UTC: Monday 10:00 in Vietnam
_n = itertools.count(1)


@pytest.fixture
def committee(make_unit):
    return make_unit("HV", "Đảng bộ huyện Hòa Vang", "committee")


@pytest.fixture
def cell(make_unit, committee):
    return make_unit("HV-AS", "Chi bộ thôn An Sơn", parent=committee, declared_members=20)


@pytest.fixture
def make_contest(committee):
    def make_contest(**fields):
        values = {"title": "Hội thi học tập và làm theo tư tưởng, đạo đức, phong cách Hồ Chí Minh năm 2025",
                  "owner_unit": committee, "is_published": True}
        values.update(fields)
        return Contest.create(**values)

    return make_contest


@pytest.fixture
def make_round(make_contest):
    """make_round(contest=None, prediction="perfect", **quiz fields): a round on a published quiz, open a week."""

    def make_round(contest=None, prediction="perfect", number=None, **quiz_fields):
        contest = contest or make_contest()
        values = {"title": f"Vòng {next(_n)}", "owner_unit": contest.owner_unit, "is_published": True,
                  "opens_at": NOW - dt.timedelta(days=1), "closes_at": NOW + dt.timedelta(days=6),
                  "attempts_allowed": 3, "grading_method": "highest",
                  "prediction_prompt": "Có bao nhiêu người trả lời đúng tất cả các câu hỏi?" if prediction else None}
        values.update(quiz_fields)
        quiz = Quiz.create(**values)
        number = number or Round.select().where(Round.contest == contest).count() + 1
        return Round.create(contest=contest, number=number, quiz=quiz, prediction=prediction)

    return make_round


@pytest.fixture
def make_attempt():
    """make_attempt(round_, user, score, max_score=10, seconds=300, prediction=None, at=NOW, number=None)."""

    def make_attempt(round_, user, score, max_score=10, seconds=300, prediction=None, at=None, number=None,
                     state="finished", unit=None):
        at = at or NOW
        if number is None:
            number = Attempt.select().where(Attempt.quiz == round_.quiz_id, Attempt.user == user).count() + 1
        return Attempt.create(quiz=round_.quiz_id, user=user, number=number, unit=unit or user.unit,
                              started_at=at - dt.timedelta(seconds=seconds), finished_at=at, state=state,
                              score=score if state == "finished" else None, max_score=max_score,
                              time_used_ms=seconds * 1000 if state == "finished" else None, prediction=prediction)

    return make_attempt
