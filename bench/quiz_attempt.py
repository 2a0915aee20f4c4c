"""Attempt path benchmarks: start, save and submit of a 30-question quiz, in-process (no HTTP)."""

import datetime as dt

from bench.foundation import instance, timed

QUESTIONS = 30
MEMBERS = 300


def _bank_and_quiz():
    from portal.accounts.models import Unit
    from portal.quiz.models import Option, Question, Quiz, QuizDraw, Topic

    root = Unit.get(Unit.code == "HU")
    topic = Topic.create(code="BENCH", title="Chuyên đề đo tốc độ", year=2025, owner_unit=root)
    for n in range(2 * QUESTIONS):
        text = f"Câu hỏi đo tốc độ số {n}?"
        question = Question.create(topic=topic, kind="single", text=text, normalised_text=text.casefold(),
                                   explanation="Giải thích.")
        Option.insert_many([{"question": question.id, "position": i, "text": f"Phương án {i}",
                             "weight": 100 if i == 0 else 0} for i in range(4)]).execute()
    quiz = Quiz.create(title="Bài thi đo tốc độ", owner_unit=root, is_published=True, attempts_allowed=1,
                       time_limit_seconds=1800)
    QuizDraw.create(quiz=quiz, topic=topic, count=QUESTIONS)
    return quiz


def _members(n):
    from portal.accounts.models import Unit, User

    cell = Unit.get(Unit.code == "HU-HN-T1")
    users = [User.create(username=f"bench{i}", full_name=f"Người đo {i}", unit=cell, password_hash="-")
             for i in range(n)]
    for user in users:
        user.unit = cell  # as a logged-in user arrives, with its unit
    return users


def bench_attempt():
    from portal.accounts.models import utcnow
    from portal.quiz import engine

    results = []
    with instance() as app:
        with app.extensions["portal_db"].connection_context():
            quiz = _bank_and_quiz()
            members = _members(MEMBERS)
            now = utcnow()
            attempts = []

            def start(i):
                attempts.append(engine.start_attempt(quiz, members[i], now))

            results.append(timed(f"attempt start ({QUESTIONS} questions drawn)", MEMBERS, start))
            for attempt, member in zip(attempts, members):
                engine.save_answers(attempt, member, {p: ["1"] for p in range(1, QUESTIONS + 1)}, 1, now)

            def save(i):
                k = i % MEMBERS
                answers = {p: ["1"] for p in range(1, QUESTIONS + 1)}
                answers[1 + i % QUESTIONS] = [str(i % 4)]
                saved = engine.save_answers(attempts[k], members[k], answers, 2 + i, now + dt.timedelta(seconds=1))
                assert saved.applied

            results.append(timed(f"attempt save ({QUESTIONS} answers sent, 1 changed)", 3 * MEMBERS, save))

            def submit(i):
                assert engine.submit_attempt(attempts[i], members[i], now).state == "finished"

            results.append(timed(f"attempt submit ({QUESTIONS} questions graded)", MEMBERS, submit))
    return results
