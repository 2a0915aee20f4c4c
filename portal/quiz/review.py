"""What a person may see of an attempt, as plain dicts: the only place that decides it.

While an attempt is in progress nobody sees correctness, weights, feedback
or explanations. Once it is finished its member sees what the quiz's review
policy allows at ``now`` (``review_after_submit`` until the quiz closes,
``review_after_close`` after), cumulatively:

    score        the score only
    correctness  also each question's mark and whether it was right
    answers      also the right options, option feedback and explanations

An organiser who manages the quiz sees a finished attempt in full.

Options are named by their place in the attempt's own order ("0", "1", …),
never by database id, so a page reveals neither the author's order nor
which option is right; ``engine.save_answers`` takes the same ids back.
"""

from flask_babel import gettext as _

from ..accounts import permissions
from ..errors import NotFound
from . import cache, grading, scoring
from .questions import MULTIPLE_KINDS, SURVEY_KINDS

LEVELS = ("score", "correctness", "answers")


def kind_of(quiz):
    return "survey" if quiz.is_survey else "practice" if quiz.is_practice else "exam"


def member_level(attempt, quiz, now):
    """The review level of ``attempt`` for its member at ``now``; None while in progress."""
    if attempt.state != "finished":
        return None
    if quiz.is_survey:
        return "score"  # nothing is right or wrong: the member sees their answers
    level = quiz.review_after_submit
    if quiz.closes_at is not None and now >= quiz.closes_at:
        # Closing never shows less than submitting did.
        level = max(level, quiz.review_after_close, key=_rank)
    return level


def _rank(level):
    return LEVELS.index(level) if level in LEVELS else 0


def option_tokens(row):
    """The opaque ids of a row's options, in the order shown: {database id: token}."""
    return {option_id: str(i) for i, option_id in enumerate(scoring.parse_ids(row.option_order))}


def answer_of(row, question):
    """The member's saved answer as the page knows it: option tokens, or the text (on every save, for every
    question: read from the stored text without parsing numbers)."""
    if question.kind == "text":
        return row.answer_text
    if not row.answer:
        return []
    shown = row.option_order.split(",")
    return [str(shown.index(i)) for i in row.answer.split(",") if i in shown]


def answers(saved, questions):
    """{position: answer} of the saved rows."""
    return {row.position: answer_of(row, questions[row.question_id]) for row in saved}


def _question(row, question, level):
    chosen = set(scoring.parse_ids(row.answer))
    answer = answer_of(row, question)
    item = {
        "position": row.position,
        "kind": question.kind,
        "text": question.text,
        "multiple": question.kind in MULTIPLE_KINDS,
        "options": [],
        "answer": answer,
        "answered": bool(answer),
    }
    by_id = {o.id: o for o in question.options}
    for token, option_id in enumerate(scoring.parse_ids(row.option_order)):
        option = by_id[option_id]
        shown = {"id": str(token), "text": option.text, "chosen": option_id in chosen}
        if level == "answers":
            shown.update(correct=option.weight > 0, weight=option.weight, feedback=option.feedback)
        item["options"].append(shown)
    if level in ("correctness", "answers") and question.kind not in SURVEY_KINDS:
        item.update(mark=row.mark, outcome=grading.outcome(row.mark), correct=grading.is_right(row.mark))
    if level == "answers":
        item["explanation"] = question.explanation
    return item


def attempt_view(attempt, now, for_user):
    """The attempt as ``for_user`` may see it at ``now`` (an overdue attempt is finalised first).

    Keys: id, quiz_id, title, kind, anonymous, number, state, started_at,
    deadline_at, finished_at, seq, review (the level, None in progress),
    score and max_score (finished and graded only), questions (in the
    attempt's order, each with position, kind, text, multiple, options
    [{id, text, chosen}], answer, answered, and more as the level allows),
    answers {position: answer} and unanswered [positions].
    """
    scoring.finalise_if_overdue(attempt, now)
    quiz = attempt.quiz
    if attempt.user_id is None and attempt.state == "finished" and quiz.is_survey and quiz.is_anonymous:
        return _anonymous_view(attempt, quiz)
    if for_user is not None and attempt.user_id is not None and attempt.user_id == for_user.id:
        level = member_level(attempt, quiz, now)
    elif permissions.can(for_user, "quiz.manage", quiz):
        level = "answers" if attempt.state == "finished" else None
    else:
        raise NotFound(_("Not found."))
    saved = scoring.rows(attempt)
    questions = cache.load([r.question_id for r in saved])
    items = [_question(row, questions[row.question_id], level) for row in saved]
    finished = attempt.state == "finished"
    if quiz.is_practice and not finished:
        for row, item in zip(saved, items):
            if row.mark is not None:
                item["checked"] = practice_feedback(row, questions[row.question_id])
    graded = finished and not quiz.is_survey
    return {
        "id": attempt.id,
        "quiz_id": quiz.id,
        "title": quiz.title,
        "kind": kind_of(quiz),
        "anonymous": bool(quiz.is_survey and quiz.is_anonymous),
        "number": attempt.number,
        "state": attempt.state,
        "started_at": attempt.started_at,
        "deadline_at": attempt.deadline_at,
        "finished_at": attempt.finished_at,
        "seq": attempt.last_seq,
        "review": level,
        "score": attempt.score if graded else None,
        "max_score": attempt.max_score if graded else None,
        "questions": items,
        "answers": {item["position"]: item["answer"] for item in items},
        "unanswered": [item["position"] for item in items if not item["answered"]],
        "prediction_prompt": quiz.prediction_prompt,
        "prediction": attempt.prediction,
    }


def _anonymous_view(attempt, quiz):
    """A submitted anonymous response belongs to nobody: the one who just sent it is thanked, no more."""
    return {"id": attempt.id, "quiz_id": quiz.id, "title": quiz.title, "kind": "survey", "anonymous": True,
            "number": None, "state": "finished", "started_at": None, "deadline_at": None, "finished_at": None,
            "seq": 0, "review": "score", "score": None, "max_score": None, "questions": [], "answers": {},
            "unanswered": []}


def practice_feedback(row, question):
    """A practice question checked right after answering: its mark, the right options, the explanation."""
    tokens = option_tokens(row)
    value = grading.mark_question(question, scoring.parse_ids(row.answer))
    chosen = set(scoring.parse_ids(row.answer))
    return {
        "position": row.position,
        "mark": value,
        "outcome": grading.outcome(value),
        "correct": grading.is_right(value),
        "correct_options": [tokens[i] for i in grading.right_options(question) if i in tokens],
        "feedback": {tokens[o.id]: o.feedback for o in question.options
                     if o.id in chosen and o.feedback and o.id in tokens},
        "explanation": question.explanation,
    }
