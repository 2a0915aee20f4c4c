"""The contest-day data: 500 units, 40,000 members and a contest whose 20-question round is open now.

Built into a fresh instance folder (SQLite at instance/portal.db), or into a
PostgreSQL database: one named by PORTAL_BENCH_DATABASE_URL (it must be
empty), or one this module creates on a PostgreSQL server and drops at the
end (``fresh_postgres``).

Every member gets the same password, stored as one precomputed argon2id hash
made with the portal's own parameters: hashing 40,000 passwords would take
about ten minutes, and a login still verifies the hash in full.

    python -m bench.load.dataset DIR      # build into DIR and keep it (for `portal serve` and locust by hand)
"""

import contextlib
import dataclasses
import datetime as dt
import json
import os
import random
import sys
import tempfile
import time
import uuid
from urllib.parse import urlsplit, urlunsplit

N_UNITS = 500  # the root committee, 19 committees under it, 480 cells
N_COMMITTEES = 19
N_CELLS = N_UNITS - 1 - N_COMMITTEES
N_MEMBERS = 40_000
N_QUESTIONS = 20  # drawn per attempt
BANK_SIZE = 100  # the topic's questions the round draws from
OPTIONS = 4
PASSWORD = "Hoithi2026"  # every member's; shared hash, see the module docstring
USERNAME = "dv{:05d}"
BATCH = 1000

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô"]
MIDDLE = ["Văn", "Thị", "Đức", "Ngọc", "Hữu", "Thu", "Minh", "Thanh"]
GIVEN = ["An", "Bình", "Chi", "Dũng", "Giang", "Hà", "Hải", "Hương", "Khánh", "Lan", "Long", "Mai", "Nam", "Yến"]


@dataclasses.dataclass
class Dataset:
    """What the load test needs to know about a built instance."""

    instance_path: str
    database_url: str  # None: SQLite in the instance folder
    contest_id: int
    quiz_id: int
    members: int
    password: str = PASSWORD
    username: str = USERNAME

    @property
    def database_label(self):
        return "PostgreSQL" if self.database_url else "SQLite"

    def describe(self):
        return dataclasses.asdict(self)


def _insert(model, rows):
    for i in range(0, len(rows), BATCH):
        model.insert_many(rows[i:i + BATCH]).execute()


def _question_text(rng, n):
    """A question about as long as the real ones (120-200 characters)."""
    return (f"Câu {n}: Theo tinh thần chuyên đề năm 2025, nội dung nào sau đây thể hiện đúng yêu cầu "
            f"về {rng.choice(['tự lực, tự cường', 'nêu gương', 'đoàn kết', 'đổi mới sáng tạo'])} "
            f"của cán bộ, đảng viên trong giai đoạn {rng.choice(['hiện nay', '2025-2030', 'mới'])} (mã {n})?")


def _bank(root, rng):
    from portal.quiz.models import Option, Question, Topic

    topic = Topic.create(code="HT-2025", title="Chuyên đề năm 2025 (hội thi đo tải)", year=2025, owner_unit=root)
    for n in range(1, BANK_SIZE + 1):
        text = _question_text(rng, n)
        question = Question.create(topic=topic, kind="single", text=text, normalised_text=text.casefold(),
                                   explanation="Căn cứ Chỉ thị số 05-CT/TW và chuyên đề năm 2025.")
        right = rng.randrange(OPTIONS)
        Option.insert_many([{"question": question.id, "position": i,
                             "text": f"Phương án {'ABCD'[i]}: nội dung trả lời số {i + 1} của câu {n}",
                             "weight": 100 if i == right else 0} for i in range(OPTIONS)]).execute()
    return topic


def build(now=None, seed=2026):
    """Create the units, members, question bank and the contest with its open round; return (contest, quiz)."""
    from portal.accounts.models import User
    from portal.accounts.passwords import hash_password
    from portal.accounts.units import create_unit
    from portal.contests import setup as contest_setup
    from portal.db import database
    from portal.quiz.setup import DrawInput

    now = now or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    rng = random.Random(seed)
    shared_hash = hash_password(PASSWORD)
    with database.atomic():
        root = create_unit(None, "DBK", "Đảng bộ Khối các cơ quan (đo tải)", "committee")
        committees = [create_unit(None, f"DBK-{c:02d}", f"Đảng bộ cơ sở số {c}", "committee", parent=root)
                      for c in range(N_COMMITTEES)]
        cells = [create_unit(None, f"DBK-{i % N_COMMITTEES:02d}-{i:03d}", f"Chi bộ số {i}", "cell",
                             parent=committees[i % N_COMMITTEES], declared_members=rng.randint(70, 100)).id
                 for i in range(N_CELLS)]
        _insert(User, [{"username": USERNAME.format(i), "unit": cells[i % N_CELLS], "password_hash": shared_hash,
                        "full_name": f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}",
                        "session_token": uuid.UUID(int=rng.getrandbits(128)).hex}
                       for i in range(N_MEMBERS)])
        topic = _bank(root, rng)
    contest = contest_setup.create_contest(None, contest_setup.ContestInput(
        title="Hội thi trực tuyến tìm hiểu chuyên đề năm 2025 (đo tải)", owner_unit=root,
        rules_text="Mỗi vòng 20 câu hỏi, làm trong 30 phút; tính lần thi có điểm cao nhất.",
        starts_at=now - dt.timedelta(days=1), ends_at=now + dt.timedelta(days=30)), now=now)
    # Unlimited attempts (the synchronised start takes the same members through several starts).
    round_ = contest_setup.add_round(None, contest, contest_setup.RoundInput(
        title="Vòng 1", prediction="perfect", opens_at=now - dt.timedelta(minutes=30),
        closes_at=now + dt.timedelta(days=7), attempts_allowed=0, grading_method="highest",
        draws=[DrawInput(topic, N_QUESTIONS)], time_limit_minutes=30), now=now)
    contest_setup.publish_contest(None, contest, now=now)
    return contest.id, round_.quiz_id


# -- instances ------------------------------------------------------------------------------------

def _server_url(url, dbname):
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + dbname))


@contextlib.contextmanager
def fresh_postgres(server_url):
    """A new, empty database on the PostgreSQL server of ``server_url``; dropped on the way out."""
    import psycopg2

    name = f"portal_load_{os.getpid()}_{int(time.time())}"
    admin = psycopg2.connect(server_url)
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        yield _server_url(server_url, name)
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def _check_empty(url):
    import psycopg2

    with contextlib.closing(psycopg2.connect(url)) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
        if cur.fetchone()[0]:
            raise SystemExit(f"{url} is not empty: the load test needs a fresh database (create one, or unset "
                             "PORTAL_BENCH_DATABASE_URL to use SQLite).")


def make_instance(path, database_url=None, log=print):
    """Build the dataset into the instance folder ``path`` (and ``database_url``, if any); return a Dataset."""
    from portal import create_app
    from portal import db as dbmod

    os.makedirs(path, exist_ok=True)
    if database_url:
        _check_empty(database_url)
    saved = os.environ.get("PORTAL_INSTANCE_PATH")
    os.environ["PORTAL_INSTANCE_PATH"] = path
    try:
        app = create_app({"DATABASE_URL": database_url} if database_url else None)
    finally:
        if saved is None:
            os.environ.pop("PORTAL_INSTANCE_PATH")
        else:
            os.environ["PORTAL_INSTANCE_PATH"] = saved
    started = time.perf_counter()
    with app.app_context():
        db = app.extensions["portal_db"]
        dbmod.migrate(db)
        with db.connection_context():
            contest_id, quiz_id = build()
            if not dbmod.is_sqlite(db):
                db.execute_sql("ANALYZE")  # as autovacuum would soon after the import
    db.close()
    dataset = Dataset(path, database_url, contest_id, quiz_id, N_MEMBERS)
    with open(os.path.join(path, "load.json"), "w") as fh:
        json.dump(dataset.describe(), fh, indent=1)
    log(f"dataset: {N_UNITS} units, {N_MEMBERS:,} members, a {N_QUESTIONS}-question round from a bank of "
        f"{BANK_SIZE} ({dataset.database_label}) built in {time.perf_counter() - started:.1f} s")
    return dataset


@contextlib.contextmanager
def instance(database_url=None, log=print):
    """A Dataset in a temporary instance folder, removed (with a database this module created) at the end.

    ``database_url``: "fresh" creates a PostgreSQL database on PORTAL_BENCH_POSTGRES_URL's server; a
    postgresql:// URL uses that (empty) database; None is SQLite in the instance folder.
    """
    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="portal-load-"))
        if database_url == "fresh":
            database_url = stack.enter_context(fresh_postgres(postgres_server()))
        yield make_instance(os.path.join(tmp, "instance"), database_url, log)


def postgres_server():
    return os.environ.get("PORTAL_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    make_instance(os.path.abspath(sys.argv[1]), os.environ.get("PORTAL_BENCH_DATABASE_URL"))
