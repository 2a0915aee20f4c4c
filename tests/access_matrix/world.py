"""The world the access matrix runs in, built once per database backend.

Two places, each a cell with everything the portal keeps about it:

    district HV ─ commune HV-HN ─┬─ cell An Sơn (A)       the home place: every object the matrix targets
                                 └─ cell Đông Lâm (B)      the sibling cell
    district DL ─ cell DL-X (X)                            the foreign place: the same objects again

Every object of a place sits in its cell: the topic, quizzes, contest, design, pledge period and job are owned
by the cell; the attempt, certificate and pledges are a member's of the cell. The actors stand in one relation
each to the home place (own, same cell, sibling cell, parent committee, other committee); the "own" actors own
a copy of each personal object (attempt, certificate, pledge, job, roster import, account).
"""

import dataclasses
import datetime as dt
import io
import json
import os
import secrets

from PIL import Image

from portal.accounts.models import RoleGrant, RosterImport, User, utcnow
from portal.accounts.passwords import hash_password
from portal.accounts.units import create_unit
from portal.certificates import issue
from portal.certificates.issue import Recipient
from portal.certificates.models import Design
from portal.contests import setup as contest_setup
from portal.contests.models import Contest, Round
from portal.jobs import Job, JobChunk
from portal.pledges import exemplary, workflow
from portal.pledges.models import PledgePeriod
from portal.quiz import engine
from portal.quiz.models import Option, Question, Quiz, QuizQuestion, Topic

PASSWORD = "mat-khau-ma-tran-1"
PUBLIC_URL = "http://portal.test"
MISSING_ID = 987_654_321  # beyond every table's last id
MISSING_CODE = "ZZZZZZZZZZ"

DESIGN = {
    "name": "Giấy khen ma trận", "header": "party", "superior_body": "ĐẢNG BỘ THÀNH PHỐ ĐÀ NẴNG",
    "issuing_committee": "HUYỆN ỦY HÒA VANG", "issuing_body": "BAN THƯỜNG VỤ HUYỆN ỦY HÒA VANG",
    "merit_achievement": "Đã có thành tích xuất sắc trong {hoi_thi}.",
    "participation_achievement": "Đã tích cực tham gia {hoi_thi}.", "place": "Hòa Vang",
    "signer_on_behalf": "T/M BAN THƯỜNG VỤ", "signer_title": "BÍ THƯ", "signer_name": "Nguyễn Văn Bình",
}
ITEM = {"content": "Vận động 15 hộ giữ vệ sinh đường làng", "measure": "Tổng vệ sinh sáng Chủ nhật",
        "deadline": "Hằng tháng", "evidence": "Đường làng sạch"}


@dataclasses.dataclass
class Actor:
    """Who sends the request: a role, its relation to the home place, the account (None: anonymous)."""

    role: str
    relation: str
    user: object = None
    cookie: str = None
    unit: object = None  # the unit the account belongs to
    scope: object = None  # the unit of the role's grant (secretary: a cell; organiser: a subtree)

    @property
    def key(self):
        return self.role if self.role == "anonymous" else f"{self.role}/{self.relation}"


# role, relation, the account's unit, the grant's unit (names of World.units)
ACTORS = (
    ("anonymous", "-", None, None),
    ("member", "own", "A", None),
    ("member", "same_cell", "A", None),
    ("member", "sibling_cell", "B", None),
    ("member", "parent_committee", "C", None),
    ("member", "other_committee", "X", None),
    ("secretary", "own", "A", "A"),
    ("secretary", "same_cell", "A", "A"),
    ("secretary", "sibling_cell", "B", "B"),
    # A secretary is appointed to a cell (users.grant_role refuses a committee): no "parent committee" one.
    ("secretary", "other_committee", "X", "X"),
    ("organiser", "own", "A", "C"),  # the commune's organiser, a member of cell A
    ("organiser", "same_cell", "A", "A"),
    ("organiser", "sibling_cell", "B", "B"),
    ("organiser", "parent_committee", "C", "C"),
    ("organiser", "other_committee", "E", "E"),
    ("admin", "own", "A", None),
    ("admin", "other_committee", None, None),  # the usual admin account: no unit
)


@dataclasses.dataclass
class World:
    units: dict
    actors: list
    places: dict  # "A" / "E" -> {family: id or code}
    own: dict  # place -> actor key -> {family: id or code} of the objects that actor owns there
    instance_path: str
    files: list = dataclasses.field(default_factory=list)  # (path, bytes): restored before each request
    markers: dict = dataclasses.field(default_factory=dict)  # what a list page shows of the home cell's objects

    def actor(self, key):
        return next(a for a in self.actors if a.key == key)

    def restore_files(self):
        """Put back the files a request may have deleted (a credentials sheet, a banner)."""
        for path, content in self.files:
            if not os.path.exists(path):
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "wb") as fh:
                    fh.write(content)


def image(fmt, colour):
    out = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(out, fmt)
    return out.getvalue()


class _Builder:
    def __init__(self, instance_path):
        self.instance_path = instance_path
        self.now = utcnow().replace(microsecond=0)
        self.today = workflow.local_today(self.now)
        self.n = 0
        self.password_hash = hash_password(PASSWORD)
        self.files = []
        self.markers = {}  # cell code -> what a list page shows of the cell's objects

    def seq(self):
        self.n += 1
        return self.n

    def user(self, unit, name=None):
        n = self.seq()
        return User.create(username=f"mt{n}", full_name=name or f"Nguyễn Văn Ma Trận {n}", unit=unit,
                           password_hash=self.password_hash, birth_date=dt.date(1985, 5, 17), gender="male")

    def grant(self, user, role, unit):
        return RoleGrant.create(user=user, role=role, unit=unit)

    # -- quizzes ------------------------------------------------------------------------------------------

    def topic(self, owner):
        n = self.seq()
        topic = Topic.create(code=f"MT{n}", title=f"Chuyên đề ma trận {owner.name}", year=self.today.year,
                             owner_unit=owner)
        questions = []
        for k in range(2):
            text = f"Câu hỏi ma trận {n}.{k}?"
            question = Question.create(topic=topic, kind="single", text=text, normalised_text=text.casefold(),
                                       grading="all_or_nothing")
            for position, (option, weight) in enumerate((("Năm 1930", 100), ("Năm 1945", 0))):
                Option.create(question=question, position=position, text=option, weight=weight)
            questions.append(question)
        return topic, questions

    def quiz(self, owner, questions, **fields):
        values = {"title": f"Bài ôn tập ma trận {owner.name} {self.seq()}", "owner_unit": owner, "is_published": True,
                  "opens_at": self.now - dt.timedelta(days=1), "closes_at": self.now + dt.timedelta(days=60),
                  "shuffle_questions": False, "shuffle_options": False, "attempts_allowed": 0}
        values.update(fields)
        quiz = Quiz.create(**values)
        for position, question in enumerate(questions, start=1):
            QuizQuestion.create(quiz=quiz, question=question, position=position)
        return quiz

    # -- contests -----------------------------------------------------------------------------------------

    def contest(self, owner, questions, design, public=False):
        title = f"Hội thi {'công khai' if public else 'ma trận'} {owner.name}"
        contest = Contest.create(title=title, owner_unit=owner, is_published=True,
                                 is_public=public, results_published_at=None if public else self.now,
                                 rules_text="Thể lệ.\n\nĐiều 2.", certificate_design=design)
        quiz = self.quiz(owner, questions, is_listed=False, is_practice=False, attempts_allowed=3,
                         prediction_prompt="Bao nhiêu người trả lời đúng?")
        round_ = Round.create(contest=contest, number=1, quiz=quiz, prediction="perfect",
                              published_at=None if public else self.now)
        return contest, round_

    def banner(self, contest):
        content = image("PNG", (200, 30, 30))
        uploads = os.path.join(self.instance_path, "uploads")
        contest_setup.save_banner(None, contest, content, uploads)
        self.files.append((contest_setup.banner_path(uploads, Contest.get_by_id(contest.id)), content))

    # -- certificates and jobs ----------------------------------------------------------------------------

    def certificate(self, design, user):
        recipient = Recipient("merit", f"manual:matrix-{self.seq()}", user=user,
                              values={"hoi_thi": "Hội thi ma trận"})
        [certificate], _skipped = issue.issue_many(None, design, [recipient], self.now, PUBLIC_URL)
        return certificate

    def job(self, owner_unit, creator, certificate, title):
        job = Job.create(kind="certificates", state="done", done=1, total=1, owner_unit=owner_unit,
                         created_by=creator, result_name="giay-khen.pdf", result_mime="application/pdf",
                         result_size=9, finished_at=self.now,
                         params=json.dumps({"ids": [certificate.id], "fmt": "pdf", "title": title}))
        JobChunk.create(job=job, seq=0, data=b"%PDF-stub")
        return job

    def roster_import(self, actor):
        key = secrets.token_hex(16)
        folder = os.path.join(self.instance_path, "credentials", key)
        for name in ("credentials.pdf", "credentials.xlsx"):
            self.files.append((os.path.join(folder, name), b"stub"))
        return RosterImport.create(actor=actor, filename="danh-sach.xlsx", file_sha256="0" * 64, created_count=1,
                                   credentials_key=key, credentials_expire_at=self.now + dt.timedelta(days=7))

    # -- pledges ------------------------------------------------------------------------------------------

    def period(self, owner):
        today = self.today
        return PledgePeriod.create(owner_unit=owner, year=today.year, title=f"Đăng ký làm theo {owner.name}",
                                   topic="Ý chí tự lực, tự cường", opens_on=today - dt.timedelta(days=60),
                                   register_by=today + dt.timedelta(days=30),
                                   mid_year_by=today + dt.timedelta(days=120),
                                   year_end_by=today + dt.timedelta(days=300))

    def member_pledge(self, period, member, state):
        """A member's pledge brought to ``state`` through the workflow (the CLI reviews)."""
        now = self.now
        pledge = workflow.start(member, period, now)
        workflow.save_draft(member, pledge, {"ideology": "Kiên định lập trường."}, [ITEM], now)
        workflow.submit(member, pledge, now)
        if state == "submitted":
            return pledge
        workflow.acknowledge(None, pledge, now)
        workflow.file_report(member, pledge, "year_end",
                             {item.id: {"done": "Đã vận động đủ 15 hộ."} for item in workflow.items_of(pledge)}, now)
        workflow.evaluate(None, pledge, self.today, "Hoàn thành xuất sắc việc đã đăng ký.", "excellent", now)
        return pledge

    def unit_pledge(self, period, unit):
        pledge = workflow.start(None, period, self.now, kind="breakthrough", unit=unit)
        workflow.save_draft(None, pledge, {}, [ITEM], self.now)
        workflow.submit(None, pledge, self.now)
        return pledge

    def story(self, organiser, period, pledge, colour):
        values = {"name": pledge.full_name, "unit_line": pledge.unit.name, "title": "Người giữ sạch đường làng",
                  "story": "Đoạn thứ nhất.\n\nĐoạn thứ hai.", "photo_caption": "Ảnh"}
        story = exemplary.create(organiser, period, pledge.id, values, self.now, photo=image("JPEG", colour))
        exemplary.set_published(organiser, story, True, self.now)
        return story

    # -- a place ------------------------------------------------------------------------------------------

    def place(self, cell, owner, organiser, secretary_grant, colour):
        """Every object of the matrix, sitting in ``cell``; the personal ones are ``owner``'s."""
        topic, questions = self.topic(cell)
        practice = self.quiz(cell, questions, is_practice=True)
        survey = self.quiz(cell, questions, is_survey=True, title="Khảo sát ma trận")
        attempt = engine.start_attempt(practice, owner, self.now)
        design = issue.save_design(None, None, {**DESIGN, "name": f"Giấy khen ma trận {cell.name}"}, cell, self.now)
        contest, round_ = self.contest(cell, questions, design)
        self.banner(contest)
        public_contest, _public_round = self.contest(cell, questions, design, public=True)
        certificate = self.certificate(design, owner)
        period = self.period(cell)
        pledge = self.member_pledge(period, owner, "submitted")
        unit_pledge = self.unit_pledge(period, cell)
        commended = self.member_pledge(period, self.user(cell, "Nguyễn Thị Mai"), "evaluated")
        story = self.story(organiser, period, commended, colour)
        job_title = f"Tệp giấy khen {cell.name}"
        job = self.job(cell, organiser, certificate, job_title)
        roster_import = self.roster_import(organiser)
        self.markers[cell.code] = {
            "owner": owner.full_name, "topic": topic.title, "quiz": practice.title, "contest": contest.title,
            "design": design.name, "period": period.title, "certificate": certificate.display_code, "job": job_title,
        }
        return {
            "unit": cell.id, "cell": cell.id, "user": owner.id, "grant": secretary_grant.id,
            "topic": topic.id, "question": questions[0].id, "quiz": practice.id, "survey": survey.id,
            "attempt": attempt.id, "design": design.id, "contest": contest.id, "round": round_.id,
            "public_contest": public_contest.id, "certificate": certificate.code, "period": period.id,
            "pledge": pledge.id, "unit_pledge": unit_pledge.id, "commended": commended.id, "story": story.id,
            "job": job.id, "roster_import": roster_import.id,
        }


def build(instance_path):
    """Create the world in the current database (an app context is open); returns a World without cookies."""
    b = _Builder(instance_path)
    district = create_unit(None, "MT-HV", "Đảng bộ huyện Hòa Vang", "committee")
    commune = create_unit(None, "MT-HN", "Đảng bộ xã Hòa Ninh", "committee", parent=district)
    units = {
        "D": district, "C": commune,
        "A": create_unit(None, "MT-AS", "Chi bộ thôn An Sơn", "cell", parent=commune),
        "B": create_unit(None, "MT-DL", "Chi bộ thôn Đông Lâm", "cell", parent=commune),
        "E": create_unit(None, "MT-DLO", "Đảng bộ huyện Đại Lộc", "committee"),
    }
    units["X"] = create_unit(None, "MT-X", "Chi bộ thôn Phú Xuân", "cell", parent=units["E"])

    actors = []
    for role, relation, unit, scope in ACTORS:
        actor = Actor(role, relation, unit=units.get(unit), scope=units.get(scope))
        if role != "anonymous":
            actor.user = b.user(actor.unit, "Hồ Thị Mục Tiêu" if (role, relation) == ("member", "own") else None)
            if role != "member":
                b.grant(actor.user, role, actor.scope)
        actors.append(actor)
    by_key = {a.key: a for a in actors}

    home = b.place(units["A"], by_key["member/own"].user, by_key["organiser/own"].user,
                   RoleGrant.get(RoleGrant.user == by_key["secretary/own"].user.id), (180, 30, 20))
    foreign_owner = b.user(units["X"], "Phan Văn Ngoại Lai")
    foreign = b.place(units["X"], foreign_owner, by_key["organiser/other_committee"].user,
                      RoleGrant.get(RoleGrant.user == by_key["secretary/other_committee"].user.id), (20, 30, 180))

    # The "own" actors' copies of the personal objects in the home place; in the foreign place, its organiser
    # started the job and imported the roster.
    own = {"member/own": {family: home[family] for family in ("attempt", "certificate", "pledge", "user")}}
    foreign_own = {"organiser/other_committee": {"job": foreign["job"], "roster_import": foreign["roster_import"]}}
    quiz = Quiz.get_by_id(home["quiz"])
    design = Design.get_by_id(home["design"])
    period = PledgePeriod.get_by_id(home["period"])
    for key in ("secretary/own", "organiser/own", "admin/own"):
        user = by_key[key].user
        certificate = b.certificate(design, user)
        own[key] = {
            "user": user.id,
            "attempt": engine.start_attempt(quiz, user, b.now).id,
            "certificate": certificate.code,
            "pledge": b.member_pledge(period, user, "submitted").id,
        }
        if key != "secretary/own":  # those who may start jobs and import rosters
            own[key]["job"] = (b.job(units["A"], user, certificate, "Giấy khen của quản trị").id
                               if key == "admin/own" else home["job"])
            own[key]["roster_import"] = (b.roster_import(user).id if key == "admin/own"
                                         else home["roster_import"])
    return World(units=units, actors=actors, places={"A": home, "E": foreign}, own={"A": own, "E": foreign_own},
                 instance_path=instance_path, files=b.files, markers=b.markers[units["A"].code])
