"""Demo data: a district committee with grassroots committees, cells and members."""

import datetime as dt
import random
from pathlib import Path

from .accounts import users
from .accounts.models import RoleGrant, Unit, User
from .accounts.passwords import hash_password
from .accounts.units import create_unit
from .accounts.models import utcnow
from .db import database

DEMO_QUESTIONS = Path(__file__).with_name("demo_quiz.gift")

DEMO_PASSWORD = "demo2026"

# (code, name, kind, declared members, children)
TREE = ("HU", "Đảng bộ huyện Hòa Vang", "committee", 0, [
    ("HU-CQ", "Đảng bộ Cơ quan Huyện ủy", "committee", 0, [
        ("HU-CQ-VP", "Chi bộ Văn phòng Huyện ủy", "cell", 18, []),
        ("HU-CQ-TG", "Chi bộ Ban Tuyên giáo Huyện ủy", "cell", 9, []),
        ("HU-CQ-TC", "Chi bộ Ban Tổ chức Huyện ủy", "cell", 11, []),
    ]),
    ("HU-HN", "Đảng bộ xã Hòa Ninh", "committee", 0, [
        ("HU-HN-T1", "Chi bộ thôn An Sơn", "cell", 23, []),
        ("HU-HN-T2", "Chi bộ thôn Đông Lâm", "cell", 19, []),
        ("HU-HN-TH", "Chi bộ Trường Tiểu học Hòa Ninh", "cell", 14, []),
    ]),
    ("HU-HP", "Đảng bộ xã Hòa Phú", "committee", 0, [
        ("HU-HP-T1", "Chi bộ thôn Hòa Khê", "cell", 27, []),
        ("HU-HP-T2", "Chi bộ thôn Phú Túc", "cell", 21, []),
        ("HU-HP-QS", "Chi bộ Quân sự xã Hòa Phú", "cell", 8, []),
    ]),
    ("HU-YT", "Chi bộ Trung tâm Y tế huyện", "cell", 16, []),
])

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương"]
MIDDLE_M = ["Văn", "Đức", "Hữu", "Minh", "Quang", "Công", "Thanh", "Xuân"]
MIDDLE_F = ["Thị", "Thu", "Ngọc", "Thanh", "Kim", "Mỹ", "Phương", "Hồng"]
GIVEN_M = ["An", "Bình", "Cường", "Dũng", "Hải", "Hùng", "Khánh", "Long", "Nam", "Phúc", "Quốc", "Sơn", "Thắng", "Tuấn", "Việt"]
GIVEN_F = ["Anh", "Chi", "Dung", "Giang", "Hà", "Hạnh", "Hương", "Lan", "Linh", "Mai", "Nga", "Oanh", "Thảo", "Trang", "Yến"]
POSITIONS = ["Đảng viên", "Chuyên viên", "Giáo viên", "Trưởng thôn", "Cán bộ", "Nhân viên", "Bác sĩ", "Điều dưỡng"]

# The accounts printed by `make run`: (username, full name, unit code, position, role, role unit)
NAMED = [
    ("admin", "Trần Quốc Bảo", "HU-CQ-VP", "Chuyên viên Văn phòng Huyện ủy", "admin", None),
    ("tochuc", "Lê Thị Thu Hà", "HU-CQ-TG", "Phó Trưởng Ban Tuyên giáo Huyện ủy", "organiser", "HU"),
    ("bithu", "Phạm Văn Dũng", "HU-HN-T1", "Bí thư Chi bộ thôn An Sơn", "secretary", "HU-HN-T1"),
    ("dangvien", "Nguyễn Thị Mai", "HU-HN-T1", "Đảng viên", None, None),
]


def _build(node, parent, created):
    code, name, kind, declared, children = node
    unit = create_unit(None, code, name, kind, parent=parent, declared_members=declared,
                       sort_order=len(created))
    created[code] = unit
    for child in children:
        _build(child, unit, created)


def load(if_empty=False):
    """Create the demo tree and accounts; return False when they are already there."""
    if Unit.select().where(Unit.code == TREE[0]).exists():
        return False
    if if_empty and Unit.select().exists():
        return False
    rng = random.Random(2026)
    shared_hash = hash_password(DEMO_PASSWORD)  # one hash for every demo account
    with database.atomic():
        units = {}
        _build(TREE, None, units)
        for username, full_name, unit_code, position, role, role_unit in NAMED:
            user = User.create(username=username, full_name=full_name, unit=units[unit_code], position=position,
                               gender="female" if " Thị " in full_name else "male",
                               birth_date=dt.date(rng.randint(1965, 1998), rng.randint(1, 12), rng.randint(1, 28)),
                               phone=f"09{rng.randint(10_000_000, 99_999_999)}", password_hash=shared_hash)
            if role:
                RoleGrant.create(user=user, role=role, unit=units[role_unit] if role_unit else None)
        taken = {n[0] for n in NAMED}
        rows = []
        for unit in units.values():
            if unit.kind != "cell":
                continue
            for _ in range(max(3, unit.declared_members * 2 // 3)):
                female = rng.random() < 0.45
                full_name = " ".join([rng.choice(FAMILY), rng.choice(MIDDLE_F if female else MIDDLE_M),
                                      rng.choice(GIVEN_F if female else GIVEN_M)])
                rows.append(dict(
                    username=users.suggest_username(full_name, taken), full_name=full_name, unit=unit,
                    gender="female" if female else "male", position=rng.choice(POSITIONS),
                    birth_date=dt.date(rng.randint(1960, 2000), rng.randint(1, 12), rng.randint(1, 28)),
                    phone=f"09{rng.randint(10_000_000, 99_999_999)}", password_hash=shared_hash))
        User.insert_many(rows).execute()
        _load_quizzes(units, utcnow())
    return True


def _load_quizzes(units, now):
    """A topic with a bank of questions, a practice quiz and a timed quiz for the whole district."""
    from .quiz import bank, parsers, setup
    from .quiz.topics import create_topic

    topic = create_topic(
        None, "CD-2025", "Ý chí tự lực, tự cường và khát vọng phát triển đất nước phồn vinh, hạnh phúc",
        year=2025, owner_unit=units["HU"],
        description="Chuyên đề toàn khóa nhiệm kỳ Đại hội XIII về học tập và làm theo tư tưởng, đạo đức, "
                    "phong cách Hồ Chí Minh.")
    parsed = parsers.parse_gift(DEMO_QUESTIONS.read_text(encoding="utf-8"))
    bank.apply_import(topic, parsed, None, filename=DEMO_QUESTIONS.name, now=now)
    day = dt.timedelta(days=1)
    quizzes = [
        setup.QuizInput(title="Ôn tập chuyên đề năm 2025", owner_unit=units["HU"], kind="practice",
                        description="Luyện tập không giới hạn số lần, xem ngay đáp án từng câu.",
                        draws=[setup.DrawInput(topic, 8)], attempts_allowed=0,
                        opens_at=now - day, closes_at=now + 365 * day, review_after_submit="answers"),
        setup.QuizInput(title="Thi tìm hiểu tư tưởng, đạo đức, phong cách Hồ Chí Minh – tuần 1",
                        owner_unit=units["HU"], kind="exam",
                        description="10 câu hỏi, làm trong 15 phút, mỗi đồng chí được làm 2 lần; tính lần cao nhất.",
                        draws=[setup.DrawInput(topic, 10)], time_limit_minutes=15, attempts_allowed=2,
                        opens_at=now - day, closes_at=now + 30 * day),
    ]
    for data in quizzes:
        setup.publish(None, setup.create_quiz(None, data, now=now), now=now)


def login_help(url=None):
    lines = [f"Mở {url or 'http://127.0.0.1:5000'} và đăng nhập (mật khẩu chung: {DEMO_PASSWORD}):"]
    labels = {"admin": "quản trị", "organiser": "ban tổ chức", "secretary": "bí thư chi bộ", None: "đảng viên"}
    for username, full_name, _unit, _pos, role, _ru in NAMED:
        lines.append(f"  {username:<10} {labels[role]:<14} {full_name}")
    return "\n".join(lines)
