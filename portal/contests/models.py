"""Contests (hội thi): rounds run on quizzes, the ranking of each round, prize tiers, awards, registrations.

A round is a quiz plus what a contest adds: the prediction tie-break and the
ranking. ``RoundEntry`` is the ranking materialised: one row per contestant
with the attempt that counts, computed in the database by ``ranking.rank_round``
and frozen when the organiser confirms the round.
"""

import peewee as pw

from ..accounts.models import Unit, User, utcnow
from ..certificates.models import Design
from ..db import BaseModel, NFCCharField, NFCTextField
from ..quiz.models import Attempt, Quiz


class Contest(BaseModel):
    RANK_KEYS = ("score", "prediction", "time", "submitted")
    AGGREGATES = ("sum", "average")
    COLLECTIVE_MEASURES = ("participants", "rate", "average", "points")

    title = NFCCharField(max_length=255)
    owner_unit = pw.ForeignKeyField(Unit, backref="contests", on_delete="RESTRICT")
    rules_text = NFCTextField(default="")  # thể lệ, plain text shown to contestants
    starts_at = pw.DateTimeField(null=True)
    ends_at = pw.DateTimeField(null=True)
    is_public = pw.BooleanField(default=False)  # visitors may register; otherwise members only
    banner = pw.CharField(max_length=255, default="")  # a file name under the instance's uploads
    # The ranking keys in order, comma-separated; equal on all of them means the same rank, flagged.
    ranking_rules = pw.CharField(max_length=64, default="score,prediction,time,submitted")
    aggregate = pw.CharField(max_length=16, default="sum")  # contest-wide: sum or average of the rounds
    collective_measure = pw.CharField(max_length=16, default="rate")
    collective_points_per_prize = pw.IntegerField(default=5)  # the points formula: per individual prize won
    is_published = pw.BooleanField(default=False)  # shown to contestants (the rounds open by their quizzes)
    results_published_at = pw.DateTimeField(null=True)  # the contest-wide results and prizes
    certificate_design = pw.ForeignKeyField(Design, null=True, backref="+", on_delete="SET NULL")  # giấy khen texts
    created_by = pw.ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    created_at = pw.DateTimeField(default=utcnow)

    @property
    def rules_list(self):
        return [k for k in self.ranking_rules.split(",") if k in self.RANK_KEYS]

    def __str__(self):
        return self.title


class ContestUnit(BaseModel):
    """A unit whose subtree may take part; none means the owner's whole subtree."""

    contest = pw.ForeignKeyField(Contest, backref="units", on_delete="CASCADE")
    unit = pw.ForeignKeyField(Unit, backref="+", on_delete="CASCADE")

    class Meta:
        indexes = ((("contest", "unit"), True),)


class Round(BaseModel):
    PREDICTIONS = ("perfect", "participants")  # what the prediction question asks for
    COUNTING = ("highest", "last", "first")  # the quiz's grading method: which attempt counts

    contest = pw.ForeignKeyField(Contest, backref="rounds", on_delete="CASCADE")
    number = pw.SmallIntegerField()
    quiz = pw.ForeignKeyField(Quiz, backref="+", unique=True, on_delete="RESTRICT")
    prediction = pw.CharField(max_length=16, null=True)  # None: no prediction question
    # The true value, computed when ranking; frozen with the ranking once confirmed.
    prediction_truth = pw.BigIntegerField(null=True)
    live_leaderboard = pw.BooleanField(default=False)  # contestants see the provisional ranking
    ranked_at = pw.DateTimeField(null=True)
    confirmed_at = pw.DateTimeField(null=True)
    confirmed_by = pw.ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    published_at = pw.DateTimeField(null=True)

    class Meta:
        indexes = ((("contest", "number"), True),)

    @property
    def is_confirmed(self):
        return self.confirmed_at is not None

    @property
    def is_published(self):
        return self.published_at is not None


class RoundEntry(BaseModel):
    """A contestant's place in a round: the attempt that counts and the keys it was ranked by."""

    # Few indexes: ranking rewrites every row of a round at once (the composite ones below cover round and unit).
    round = pw.ForeignKeyField(Round, backref="entries", on_delete="CASCADE", index=False)
    user = pw.ForeignKeyField(User, backref="+", on_delete="CASCADE")
    attempt = pw.ForeignKeyField(Attempt, backref="+", on_delete="CASCADE", index=False)
    unit = pw.ForeignKeyField(Unit, null=True, backref="+", on_delete="SET NULL", index=False)  # when attempted
    score = pw.FloatField()
    max_score = pw.FloatField()
    time_used_ms = pw.IntegerField(null=True)
    finished_at = pw.DateTimeField()
    prediction = pw.BigIntegerField(null=True)
    distance = pw.BigIntegerField(null=True)  # |prediction - truth|; None without a prediction
    attempts = pw.SmallIntegerField(default=1)  # finished attempts in the round
    rank = pw.IntegerField(default=0)  # 1 = first; equal keys share a rank
    tied = pw.BooleanField(default=False)  # another contestant is equal on every key

    class Meta:
        indexes = (
            (("round", "user"), True),
            (("round", "rank"), False),
            (("round", "unit"), False),
        )

    @property
    def is_perfect(self):
        return self.max_score > 0 and self.score >= self.max_score


class ContestEntry(BaseModel):
    """A contestant's place across the contest: the rounds' scores summed or averaged."""

    contest = pw.ForeignKeyField(Contest, backref="entries", on_delete="CASCADE", index=False)
    user = pw.ForeignKeyField(User, backref="+", on_delete="CASCADE")
    unit = pw.ForeignKeyField(Unit, null=True, backref="+", on_delete="SET NULL", index=False)  # of the latest round
    total = pw.FloatField()
    rounds = pw.SmallIntegerField()
    time_used_ms = pw.BigIntegerField(null=True)
    last_finished_at = pw.DateTimeField()
    rank = pw.IntegerField(default=0)
    tied = pw.BooleanField(default=False)

    class Meta:
        indexes = (
            (("contest", "user"), True),
            (("contest", "rank"), False),
        )


class PrizeTier(BaseModel):
    """A prize level (Giải Nhất, Nhì, Ba, Khuyến khích…) of a round, or of the contest when round is None."""

    contest = pw.ForeignKeyField(Contest, backref="prize_tiers", on_delete="CASCADE")
    round = pw.ForeignKeyField(Round, null=True, backref="prize_tiers", on_delete="CASCADE")
    collective = pw.BooleanField(default=False)  # for units (giải tập thể) rather than people
    position = pw.SmallIntegerField()  # 1 = the highest prize
    name = NFCCharField(max_length=64)
    count = pw.IntegerField()
    max_share = pw.SmallIntegerField(null=True)  # at most this percent of the participants

    class Meta:
        indexes = ((("contest", "round", "collective", "position"), False),)


class Award(BaseModel):
    """A prize given to a person or a unit, from the ranking or adjusted by hand (with a reason)."""

    contest = pw.ForeignKeyField(Contest, backref="awards", on_delete="CASCADE")
    round = pw.ForeignKeyField(Round, null=True, backref="awards", on_delete="CASCADE")
    tier = pw.ForeignKeyField(PrizeTier, null=True, backref="awards", on_delete="CASCADE")  # None: withdrawn by hand
    user = pw.ForeignKeyField(User, null=True, backref="+", on_delete="CASCADE")
    unit = pw.ForeignKeyField(Unit, null=True, backref="+", on_delete="CASCADE")
    rank = pw.IntegerField(null=True)
    is_manual = pw.BooleanField(default=False)
    reason = NFCTextField(default="")
    created_by = pw.ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    created_at = pw.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("contest", "round", "tier"), False),)


class Registration(BaseModel):
    """A visitor's registration for a public contest; it gives them an account for the contest only."""

    contest = pw.ForeignKeyField(Contest, backref="registrations", on_delete="CASCADE")
    user = pw.ForeignKeyField(User, backref="+", on_delete="CASCADE")
    full_name = NFCCharField(max_length=255)
    birth_date = pw.DateField()
    gender = pw.CharField(max_length=8)
    unit = pw.ForeignKeyField(Unit, null=True, backref="+", on_delete="SET NULL")
    other_unit = NFCCharField(max_length=255, default="")  # "other": the unit as they wrote it
    phone = pw.CharField(max_length=20)
    id_number = pw.CharField(max_length=12, null=True)  # CCCD, optional
    address = pw.CharField(max_length=64, default="")  # where they registered from (anti-abuse flags)
    created_at = pw.DateTimeField(default=utcnow)

    class Meta:
        indexes = (
            (("contest", "phone"), True),
            (("contest", "id_number"), True),
            (("contest", "user"), True),
            (("contest", "address"), False),
        )


MODELS = [Contest, ContestUnit, Round, RoundEntry, ContestEntry, PrizeTier, Award, Registration]
