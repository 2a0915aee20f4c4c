"""Quiz factories: topics, questions with weighted options, quizzes, and a member in their audience."""

import datetime as dt
import itertools

import pytest

from portal.quiz.models import Option, Question, Quiz, QuizAudience, QuizDraw, QuizQuestion, Topic

NOW = dt.datetime(2025, 3, 1, 8, 0)  # UTC, as stored
_n = itertools.count(1)

DEFAULT_OPTIONS = {
    "single": [("Năm 1930", 100), ("Năm 1945", 0), ("Năm 1954", 0), ("Năm 1975", 0)],
    "truefalse": [("Đúng", 100), ("Sai", 0)],
    "multiple": [("Cần", 50), ("Kiệm", 50), ("Xa hoa", 0), ("Lãng phí", 0)],
    "text": [],
}


@pytest.fixture
def committee(make_unit):
    return make_unit("HV", "Đảng bộ huyện Hòa Vang", "committee")


@pytest.fixture
def cell(make_unit, committee):
    return make_unit("HV-AS", "Chi bộ thôn An Sơn", parent=committee)


@pytest.fixture
def member(make_user, cell):
    return make_user(unit=cell)


@pytest.fixture
def make_topic(app, committee):
    def make_topic(code=None, owner=None, title="Chuyên đề năm 2025"):
        return Topic.create(code=code or f"CD{next(_n)}", title=title, year=2025, owner_unit=owner or committee)

    return make_topic


@pytest.fixture
def make_question(make_topic):
    """make_question(kind, options=[(text, weight)], ...): grading is partial when a weight is not 0 or 100."""

    def make_question(kind="single", options=None, topic=None, text=None, explanation="", difficulty=None,
                      grading=None, active=True):
        options = DEFAULT_OPTIONS[kind] if options is None else options
        if grading is None:
            grading = "partial" if kind == "multiple" and any(w not in (0, 100) for _, w in options) \
                else "all_or_nothing"
        text = text or f"Câu hỏi số {next(_n)}?"
        question = Question.create(topic=topic or make_topic(), kind=kind, text=text,
                                   normalised_text=text.casefold(), explanation=explanation,
                                   difficulty=difficulty, grading=grading, is_active=active)
        for position, (option_text, weight) in enumerate(options):
            Option.create(question=question, position=position, text=option_text, weight=weight,
                          feedback=f"Nhận xét {option_text}")
        return question

    return make_question


@pytest.fixture
def make_quiz(committee, make_question):
    """make_quiz(questions=[…] or draws=[(topic, count, difficulty)], audience=[units], **quiz fields).

    Published, open from a day before NOW to a week after, questions and
    options in the author's order; three single-choice questions when
    neither questions nor draws are given.
    """

    def make_quiz(questions=None, draws=None, audience=(), **fields):
        values = {"title": "Thi tìm hiểu Nghị quyết", "owner_unit": committee, "is_published": True,
                  "opens_at": NOW - dt.timedelta(days=1), "closes_at": NOW + dt.timedelta(days=7),
                  "shuffle_questions": False, "shuffle_options": False}
        values.update(fields)
        quiz = Quiz.create(**values)
        if questions is None and not draws:
            questions = [make_question() for _ in range(3)]
        for position, question in enumerate(questions or [], start=1):
            QuizQuestion.create(quiz=quiz, question=question, position=position)
        for position, (topic, count, difficulty) in enumerate(draws or []):
            QuizDraw.create(quiz=quiz, topic=topic, count=count, difficulty=difficulty, position=position)
        for unit in audience:
            QuizAudience.create(quiz=quiz, unit=unit)
        return quiz

    return make_quiz


def right_tokens(view, position):
    """The option ids (as the page names them) of the right options, found from the texts the factory gave."""
    question = view["questions"][position - 1]
    right = {"Năm 1930", "Đúng", "Cần", "Kiệm"}
    return [o["id"] for o in question["options"] if o["text"] in right]
