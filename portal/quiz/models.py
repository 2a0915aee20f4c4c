"""Topics and their question banks, quizzes, attempts and their answers.

Questions are immutable once an attempt has drawn them: editing a used
question retires it and creates a new one (``replaced_by``), so every attempt
can be reviewed exactly as it was seen and question data can be cached per
process.
"""

import peewee as pw

from ..accounts.models import Unit, User, utcnow
from ..db import BaseModel, NFCCharField, NFCTextField


class Topic(BaseModel):
    """A study topic (chuyên đề), annual or whole-term, owned by a unit subtree."""

    code = pw.CharField(max_length=32, unique=True)
    title = NFCCharField(max_length=255)
    year = pw.IntegerField(null=True)
    description = NFCTextField(default="")
    owner_unit = pw.ForeignKeyField(Unit, backref="topics", on_delete="RESTRICT")
    created_at = pw.DateTimeField(default=utcnow)

    def __str__(self):
        return self.title


class Question(BaseModel):
    # survey_single, survey_multiple (choices with no right answer) and text (a free answer): surveys only.
    KINDS = ("single", "multiple", "truefalse", "survey_single", "survey_multiple", "text")
    GRADINGS = ("all_or_nothing", "partial")

    topic = pw.ForeignKeyField(Topic, backref="questions", on_delete="CASCADE")
    kind = pw.CharField(max_length=16, default="single")
    title = NFCCharField(max_length=255, default="")
    text = NFCTextField()
    # NFC, casefolded, whitespace collapsed: duplicates are found by this.
    normalised_text = pw.TextField()
    explanation = NFCTextField(default="")
    difficulty = pw.SmallIntegerField(null=True)  # 1 easy, 2 medium, 3 hard
    tags = NFCCharField(max_length=255, default="")  # comma-separated
    grading = pw.CharField(max_length=16, default="all_or_nothing")
    is_active = pw.BooleanField(default=True)
    replaced_by = pw.ForeignKeyField("self", null=True, backref="+", on_delete="SET NULL")
    created_at = pw.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("topic", "normalised_text"), False),)

    @property
    def tag_list(self):
        return [t.strip() for t in self.tags.split(",") if t.strip()]


class Option(BaseModel):
    """One answer option; ``weight`` is the percent of the mark it earns (negative: a penalty)."""

    question = pw.ForeignKeyField(Question, backref="options", on_delete="CASCADE")
    position = pw.SmallIntegerField()
    text = NFCTextField()
    weight = pw.SmallIntegerField(default=0)
    feedback = NFCTextField(default="")

    class Meta:
        indexes = ((("question", "position"), True),)

    @property
    def is_correct(self):
        return self.weight > 0


class Quiz(BaseModel):
    GRADING_METHODS = ("highest", "first", "last", "average")
    # What a member sees of a finished attempt, cumulative.
    REVIEW_LEVELS = ("score", "correctness", "answers")

    title = NFCCharField(max_length=255)
    description = NFCTextField(default="")
    owner_unit = pw.ForeignKeyField(Unit, backref="quizzes", on_delete="RESTRICT")
    is_practice = pw.BooleanField(default=False)
    is_survey = pw.BooleanField(default=False)
    is_anonymous = pw.BooleanField(default=False)  # surveys only
    shuffle_questions = pw.BooleanField(default=True)
    shuffle_options = pw.BooleanField(default=True)
    time_limit_seconds = pw.IntegerField(null=True)
    opens_at = pw.DateTimeField(null=True)
    closes_at = pw.DateTimeField(null=True)
    attempts_allowed = pw.IntegerField(default=1)  # 0: unlimited
    grading_method = pw.CharField(max_length=16, default="highest")
    review_after_submit = pw.CharField(max_length=16, default="correctness")
    review_after_close = pw.CharField(max_length=16, default="answers")
    is_published = pw.BooleanField(default=False)
    is_listed = pw.BooleanField(default=True)  # in the members' quiz list; a contest round is shown by its contest
    # A whole number the member gives when submitting (a contest's tie-break prediction); none: not asked.
    prediction_prompt = NFCTextField(null=True)
    created_by = pw.ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    created_at = pw.DateTimeField(default=utcnow)

    def is_open(self, now):
        return (self.is_published and (self.opens_at is None or self.opens_at <= now)
                and (self.closes_at is None or now < self.closes_at))

    def __str__(self):
        return self.title


class QuizAudience(BaseModel):
    """A unit whose subtree may take the quiz; none means the owner's subtree."""

    quiz = pw.ForeignKeyField(Quiz, backref="audience", on_delete="CASCADE")
    unit = pw.ForeignKeyField(Unit, backref="+", on_delete="CASCADE")

    class Meta:
        indexes = ((("quiz", "unit"), True),)


class QuizDraw(BaseModel):
    """Draw ``count`` questions from a topic (optionally of one difficulty) for each attempt."""

    quiz = pw.ForeignKeyField(Quiz, backref="draws", on_delete="CASCADE")
    topic = pw.ForeignKeyField(Topic, backref="+", on_delete="RESTRICT")
    count = pw.IntegerField()
    difficulty = pw.SmallIntegerField(null=True)
    position = pw.SmallIntegerField(default=0)


class QuizQuestion(BaseModel):
    """A fixed question list, used instead of draws when present."""

    quiz = pw.ForeignKeyField(Quiz, backref="fixed_questions", on_delete="CASCADE")
    question = pw.ForeignKeyField(Question, backref="+", on_delete="RESTRICT")
    position = pw.SmallIntegerField()

    class Meta:
        indexes = ((("quiz", "question"), True),)


class Attempt(BaseModel):
    """One sitting of a quiz by one person, with its own deadline fixed at start."""

    STATES = ("in_progress", "finished")

    quiz = pw.ForeignKeyField(Quiz, backref="attempts", on_delete="CASCADE")
    user = pw.ForeignKeyField(User, null=True, backref="attempts", on_delete="CASCADE")
    number = pw.IntegerField()  # 1, 2, … per (quiz, user): the unique index stops racing starts
    # The member's unit when the attempt started: results count it there even if they move later.
    unit = pw.ForeignKeyField(Unit, null=True, backref="+", on_delete="SET NULL")
    started_at = pw.DateTimeField()
    deadline_at = pw.DateTimeField(null=True)
    finished_at = pw.DateTimeField(null=True)
    state = pw.CharField(max_length=16, default="in_progress")
    # The highest save sequence applied: a stale tab's lower number is ignored.
    last_seq = pw.IntegerField(default=0)
    score = pw.FloatField(null=True)
    max_score = pw.FloatField(null=True)
    time_used_ms = pw.IntegerField(null=True)  # finished_at - started_at, set when finishing
    prediction = pw.BigIntegerField(null=True)  # the answer to the quiz's prediction prompt

    class Meta:
        indexes = (
            (("quiz", "user", "number"), True),
            (("quiz", "state"), False),
            (("state", "deadline_at"), False),  # the periodic job's search for overdue attempts
        )

    @property
    def is_finished(self):
        return self.state == "finished"


class AttemptQuestion(BaseModel):
    """A drawn question of an attempt: its place, its option order, the answer and the mark."""

    attempt = pw.ForeignKeyField(Attempt, backref="questions", on_delete="CASCADE")
    position = pw.SmallIntegerField()
    question = pw.ForeignKeyField(Question, backref="+", on_delete="RESTRICT")
    option_order = pw.CharField(max_length=255)  # option ids as shown, "12,9,10,11"
    answer = pw.CharField(max_length=255, default="")  # chosen option ids, "9,11"
    answer_text = NFCTextField(default="")  # free-text survey answers
    answered_at = pw.DateTimeField(null=True)
    mark = pw.FloatField(null=True)

    class Meta:
        indexes = ((("attempt", "position"), True),)


class SurveyResponse(BaseModel):
    """That a member answered a survey; for an anonymous survey the only link to them."""

    quiz = pw.ForeignKeyField(Quiz, backref="+", on_delete="CASCADE")
    user = pw.ForeignKeyField(User, backref="+", on_delete="CASCADE")
    responded_at = pw.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("quiz", "user"), True),)


MODELS = [Topic, Question, Option, Quiz, QuizAudience, QuizDraw, QuizQuestion, Attempt, AttemptQuestion, SurveyResponse]
