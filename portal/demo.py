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
DEMO_LIFE = Path(__file__).with_name("demo_life.gift")

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
        _load_pledges(units, utcnow())
    return True


def _load_quizzes(units, now):
    """Two topics with their banks, a practice quiz, a timed quiz with finished attempts, and a survey."""
    from .quiz import bank, parsers, setup
    from .quiz.topics import create_topic

    def topic_from(path, code, title, year, description):
        topic = create_topic(None, code, title, year=year, owner_unit=units["HU"], description=description)
        bank.apply_import(topic, parsers.parse_gift(path.read_text(encoding="utf-8")), None, filename=path.name,
                          now=now)
        return topic

    term = topic_from(DEMO_QUESTIONS, "CD-2025",
                      "Ý chí tự lực, tự cường và khát vọng phát triển đất nước phồn vinh, hạnh phúc", 2025,
                      "Chuyên đề toàn khóa nhiệm kỳ Đại hội XIII về học tập và làm theo tư tưởng, đạo đức, "
                      "phong cách Hồ Chí Minh.")
    life = topic_from(DEMO_LIFE, "HCM-CD", "Cuộc đời, sự nghiệp và tác phẩm của Chủ tịch Hồ Chí Minh", None,
                      "Câu hỏi về cuộc đời, sự nghiệp, tác phẩm của Người và các quy định của Đảng về chuẩn mực "
                      "đạo đức, trách nhiệm nêu gương.")
    day = dt.timedelta(days=1)
    practice, exam, survey = (setup.create_quiz(None, data, now=now) for data in [
        setup.QuizInput(title="Ôn tập chuyên đề năm 2025", owner_unit=units["HU"], kind="practice",
                        description="Luyện tập không giới hạn số lần, xem ngay đáp án từng câu.",
                        draws=[setup.DrawInput(term, 5), setup.DrawInput(life, 5)], attempts_allowed=0,
                        opens_at=now - 7 * day, closes_at=now + 365 * day, review_after_submit="answers"),
        setup.QuizInput(title="Thi tìm hiểu tư tưởng, đạo đức, phong cách Hồ Chí Minh – tuần 1",
                        owner_unit=units["HU"], kind="exam",
                        description="20 câu hỏi, làm trong 15 phút, mỗi đồng chí được làm 2 lần; tính lần cao nhất.",
                        draws=[setup.DrawInput(term, 10), setup.DrawInput(life, 10)], time_limit_minutes=15,
                        attempts_allowed=2, opens_at=now - 7 * day, closes_at=now + 30 * day),
        setup.QuizInput(title="Khảo sát ý kiến về sinh hoạt chuyên đề năm 2025", owner_unit=units["HU"],
                        kind="survey", is_anonymous=True, fixed_questions=_survey_questions(units, now),
                        description="Ý kiến của đồng chí giúp cấp ủy tổ chức sinh hoạt chuyên đề năm sau tốt hơn. "
                                    "Phiếu không ghi tên.",
                        shuffle_questions=False, shuffle_options=False,
                        opens_at=now - 7 * day, closes_at=now + 60 * day),
    ])
    for quiz in (practice, exam, survey):
        setup.publish(None, quiz, now=now)
    _take_quizzes(exam, survey, now)
    _load_contest(units, term, life, now)


SURVEY = [
    ("survey_single", "Đồng chí đánh giá thế nào về nội dung sinh hoạt chuyên đề năm 2025 ở chi bộ mình?",
     ["Rất thiết thực", "Thiết thực", "Bình thường", "Chưa thiết thực"]),
    ("survey_single", "Chi bộ của đồng chí sinh hoạt chuyên đề bao lâu một lần?",
     ["Hằng tháng", "Hằng quý", "Sáu tháng một lần", "Chưa sinh hoạt"]),
    ("survey_multiple", "Những hình thức học tập nào giúp đồng chí hiểu chuyên đề tốt nhất? (chọn nhiều)",
     ["Nghe báo cáo viên", "Thảo luận ở chi bộ", "Thi tìm hiểu trực tuyến", "Tự đọc tài liệu",
      "Tham quan di tích, gương điển hình"]),
    ("text", "Đồng chí có đề xuất gì để việc học tập và làm theo Bác ở chi bộ hiệu quả hơn?", []),
]
SURVEY_SUGGESTIONS = [
    "Nên gắn chuyên đề với việc cụ thể của thôn, như giữ vệ sinh đường làng.",
    "Đề nghị cấp tài liệu ngắn gọn, dễ đọc trên điện thoại.",
    "Mời các gương điển hình trong xã đến chia sẻ ở buổi sinh hoạt.",
    "Tổ chức thi trực tuyến hằng quý để đảng viên ôn lại kiến thức.",
    "Sinh hoạt chuyên đề nên ngắn hơn, dành thời gian cho thảo luận.",
    "Biểu dương kịp thời đảng viên làm theo Bác có kết quả tốt.",
]


def _survey_questions(units, now):
    from .quiz import questions
    from .quiz.topics import create_topic

    topic = create_topic(None, "KS-2025", "Câu hỏi khảo sát năm 2025", year=2025, owner_unit=units["HU"],
                         description="Câu hỏi lấy ý kiến đảng viên, không có đáp án đúng.")
    return [questions.create_question(None, topic, questions.QuestionInput(
        kind=kind, text=text, options=[questions.OptionInput(o) for o in options]), now=now)
        for kind, text, options in SURVEY]


def _take_quizzes(exam, survey, now):
    """Finished attempts at the timed quiz (some members twice) and anonymous survey responses.

    Each member answers right with a probability of their own, so the
    results and the item analysis have a spread to show; the demo member
    ``dangvien`` has one attempt left and has not answered the survey.
    """
    from .quiz import cache, engine, scoring

    rng = random.Random(1945)
    members = list(User.select().where(User.username.not_in(["admin", "tochuc"])).order_by(User.id))
    for user in members:
        if user.username != "dangvien" and rng.random() > 0.7:
            continue
        skill = rng.uniform(0.4, 0.97)
        for _ in range(2 if rng.random() < 0.25 and user.username != "dangvien" else 1):
            started = now - dt.timedelta(days=rng.uniform(0.2, 6.5))
            attempt = engine.start_attempt(exam, user, started, rng)
            rows = scoring.rows(attempt)
            data = cache.load([r.question_id for r in rows])
            answers = {}
            for row in rows:
                order = scoring.parse_ids(row.option_order)
                weights = data[row.question_id].weights
                right = [i for i, oid in enumerate(order) if weights[oid] > 0]
                if rng.random() < 0.03:
                    continue  # left unanswered
                if rng.random() < skill:
                    answers[row.position] = [str(i) for i in right]
                else:
                    wrong = [i for i in range(len(order)) if i not in right] or right
                    answers[row.position] = [str(rng.choice(wrong))]
            used = dt.timedelta(seconds=rng.randint(150, 840))
            engine.save_answers(attempt, user, answers, 1, started + used / 2)
            engine.submit_attempt(attempt, user, started + used)
            skill = min(skill + 0.1, 0.99)
        if user.username == "dangvien" or rng.random() > 0.6:
            continue
        started = now - dt.timedelta(days=rng.uniform(0.2, 6.5))
        attempt = engine.start_attempt(survey, user, started, rng)
        answers = {1: [str(rng.choices(range(4), weights=[5, 8, 3, 1])[0])],
                   2: [str(rng.choices(range(4), weights=[9, 4, 1, 1])[0])],
                   3: [str(i) for i in sorted(rng.sample(range(5), rng.randint(1, 3)))]}
        if rng.random() < 0.4:
            answers[4] = rng.choice(SURVEY_SUGGESTIONS)
        engine.save_answers(attempt, user, answers, 1, started + dt.timedelta(minutes=2))
        engine.submit_attempt(attempt, user, started + dt.timedelta(minutes=3))


CONTEST_RULES = """Điều 1. Đối tượng dự thi
Cán bộ, đảng viên trong Đảng bộ huyện Hòa Vang và người dân quan tâm (đăng ký dự thi trên cổng).

Điều 2. Hình thức thi
Thi trắc nghiệm trực tuyến, mỗi tuần một vòng; mỗi vòng 20 câu hỏi, làm trong 20 phút, mỗi người được thi tối đa 3 lần; tính lần có điểm cao nhất (bằng điểm thì tính lần thi sớm hơn).

Điều 3. Câu hỏi dự đoán
Khi nộp bài, người dự thi trả lời câu hỏi: "Có bao nhiêu người trả lời đúng tất cả các câu hỏi của vòng thi này?". Câu trả lời chỉ dùng để xếp hạng những người bằng điểm nhau.

Điều 4. Xếp hạng và giải thưởng
Xếp theo thứ tự: điểm cao hơn; dự đoán gần đúng nhất; thời gian làm bài ngắn hơn; nộp bài sớm hơn. Mỗi vòng có 1 giải Nhất, 2 giải Nhì, 3 giải Ba và 5 giải Khuyến khích; giải tập thể trao cho đơn vị có tỷ lệ đảng viên tham gia cao nhất."""


def _load_contest(units, term, life, now):
    """Contest 1: round 1 closed a week ago with a few hundred attempts, ranked, awarded and published; round 2 open."""
    from .contests import collective, prizes
    from .contests.models import Round
    from .contests import setup as contest_setup
    from .quiz import cache, engine, scoring
    from .quiz.setup import DrawInput

    day = dt.timedelta(days=1)
    began = now - 14 * day
    contest = contest_setup.create_contest(None, contest_setup.ContestInput(
        title="Hội thi trực tuyến tìm hiểu tư tưởng, đạo đức, phong cách Hồ Chí Minh năm 2025",
        owner_unit=units["HU"], rules_text=CONTEST_RULES, starts_at=began, ends_at=now + 14 * day,
        is_public=True), now=began)

    def add(title, opens, closes):
        return contest_setup.add_round(None, contest, contest_setup.RoundInput(
            title=title, prediction="perfect", opens_at=opens, closes_at=closes, attempts_allowed=3,
            grading_method="highest", draws=[DrawInput(term, 10), DrawInput(life, 10)], time_limit_minutes=20),
            now=began)

    first = add("Vòng 1 (tuần 1)", began, now - 7 * day)
    second = add("Vòng 2 (tuần 2)", now - day, now + 6 * day)
    for round_ in (first, second):
        contest_setup.set_prize_tiers(None, contest, round_, True, [("Giải Nhất", 1, None), ("Giải Nhì", 1, None),
                                                                  ("Giải Ba", 1, None)])
    contest_setup.publish_contest(None, contest, now=began)
    first, second = (Round.get_by_id(r.id) for r in (first, second))  # with their quizzes as now published

    rng = random.Random(1969)
    members = list(User.select().where(User.username != "admin").order_by(User.id))

    def take(round_, user, at, skill):
        attempt = engine.start_attempt(round_.quiz, user, at, rng)
        rows = scoring.rows(attempt)
        data = cache.load([r.question_id for r in rows])
        answers = {}
        for row in rows:
            order = scoring.parse_ids(row.option_order)
            weights = data[row.question_id].weights
            right = [i for i, oid in enumerate(order) if weights[oid] > 0]
            if rng.random() < skill:
                answers[row.position] = [str(i) for i in right]
            else:
                answers[row.position] = [str(rng.choice([i for i in range(len(order)) if i not in right] or right))]
        used = dt.timedelta(seconds=rng.randint(240, 1150))
        engine.save_answers(attempt, user, answers, 1, at + used / 2, prediction=rng.randint(3, 30))
        engine.submit_attempt(attempt, user, at + used)

    for user in members:
        if rng.random() < 0.15:
            continue  # did not take part
        skill = rng.uniform(0.6, 0.99)
        for _ in range(rng.choice([1, 1, 2, 3, 3])):
            take(first, user, began + dt.timedelta(hours=rng.uniform(1, 160)), skill)
            skill = min(0.995, skill + 0.05)
        if user.username != "dangvien" and rng.random() < 0.3:
            take(second, user, now - dt.timedelta(hours=rng.uniform(1, 20)), skill)
    prizes.confirm_round(None, first, now)
    collective.award(contest, first, None, now)
    prizes.publish_round(None, first, now)
    _issue_certificates(contest, first.id, now)


# The texts of the demo contest's giấy khen: the district committee of Hòa Vang (Đà Nẵng) awards them.
DEMO_DESIGN = {
    "name": "Giấy khen Hội thi trực tuyến năm 2025", "header": "party",
    "superior_body": "ĐẢNG BỘ THÀNH PHỐ ĐÀ NẴNG", "issuing_committee": "HUYỆN ỦY HÒA VANG",
    "issuing_body": "BAN THƯỜNG VỤ HUYỆN ỦY HÒA VANG",
    "merit_achievement": "Đã có thành tích xuất sắc trong {hoi_thi}, đạt {giai} {vong}.",
    "participation_achievement": "Đã tích cực tham gia {hoi_thi}, {vong}.",
    "decision_number": "125-QĐ/HU", "place": "Hòa Vang", "signer_on_behalf": "T/M BAN THƯỜNG VỤ",
    "signer_title": "PHÓ BÍ THƯ THƯỜNG TRỰC", "signer_name": "Nguyễn Văn Bình",
}


def _issue_certificates(contest, round_id, now):
    """Contest 1's certificate texts, and the certificates of round 1's prize winners (ready to verify)."""
    from flask import current_app

    from .certificates.issue import local_date
    from .contests import certify
    from .contests.models import Round

    certify.save_design(None, contest, dict(DEMO_DESIGN, decision_date=local_date(now)), now)
    certify.issue_for_round(None, Round.get_by_id(round_id), now, current_app.config["PUBLIC_URL"])


# -- pledges ---------------------------------------------------------------------------------------

PLEDGE_TOPIC = ("Học tập và làm theo tư tưởng, đạo đức, phong cách Hồ Chí Minh về ý chí tự lực, tự cường và khát "
                "vọng phát triển đất nước phồn vinh, hạnh phúc")
PLEDGE_BASIS = ("Căn cứ Chỉ thị 05-CT/TW ngày 15/5/2016 của Bộ Chính trị về đẩy mạnh học tập và làm theo tư tưởng, "
                "đạo đức, phong cách Hồ Chí Minh; Kế hoạch của Ban Thường vụ Huyện ủy Hòa Vang năm 2026")
COMMITMENTS = {
    "ideology": "Kiên định chủ nghĩa Mác - Lê-nin, tư tưởng Hồ Chí Minh; chấp hành nghiêm chủ trương của Đảng, "
                "chính sách, pháp luật của Nhà nước và quy định của địa phương.",
    "ethics": "Giữ gìn phẩm chất đạo đức, lối sống giản dị, trung thực, khiêm tốn; không vi phạm những điều đảng "
              "viên không được làm.",
    "discipline": "Chấp hành nghiêm nguyên tắc tập trung dân chủ; sinh hoạt chi bộ đầy đủ, đóng đảng phí đúng quy "
                  "định.",
    "style": "Gần dân, trọng dân, nói đi đôi với làm; đúng giờ, đúng hẹn, giải quyết công việc đến nơi đến chốn.",
    "duties": "Hoàn thành tốt nhiệm vụ được giao; tích cực tham gia các phong trào thi đua của địa phương.",
    "remedy": "Khắc phục hạn chế năm 2025: phát biểu ý kiến trong sinh hoạt chi bộ còn ít, chưa chủ động đề xuất.",
}
# (content, measure, deadline, evidence) by the kind of cell: a village's, an office's, the health centre's.
PLEDGE_ITEMS = {
    "village": [
        ("Vận động bà con giữ gìn vệ sinh môi trường, không xả rác ra đường làng",
         "Phụ trách vận động 15 hộ trong xóm tham gia tổng vệ sinh sáng Chủ nhật cuối tháng", "Hằng tháng",
         "Tuyến đường xóm xanh, sạch; 15 hộ ký cam kết"),
        ("Giúp đỡ một hộ nghèo trong thôn phát triển kinh tế",
         "Hỗ trợ giống gà và hướng dẫn kỹ thuật chăn nuôi cho một hộ nghèo trong xóm", "Quý III/2026",
         "Hộ được giúp đỡ có thêm nguồn thu nhập ổn định"),
        ("Nêu gương trong gia đình, vận động người thân chấp hành tốt chủ trương của địa phương",
         "Vận động gia đình hiến đất mở rộng đường bê tông liên thôn", "Quý II/2026",
         "Gia đình hiến 30 m² đất làm đường"),
        ("Tham gia giữ gìn an ninh trật tự, phòng chống tệ nạn xã hội ở thôn",
         "Tham gia tổ an ninh tự quản, tuần tra đêm 2 lần mỗi tháng", "Cả năm",
         "Sổ trực tuần tra; không để xảy ra trộm cắp trong xóm"),
        ("Thực hành tiết kiệm trong việc cưới, việc tang",
         "Vận động các gia đình trong xóm tổ chức đám cưới gọn nhẹ, không kéo dài", "Cả năm",
         "Không có đám cưới kéo dài quá một ngày trong xóm"),
    ],
    "office": [
        ("Giải quyết công việc đúng hạn, không để hồ sơ tồn đọng",
         "Lập sổ theo dõi văn bản đến, xử lý xong trong 3 ngày làm việc", "Cả năm",
         "100% văn bản được xử lý đúng hạn"),
        ("Tiết kiệm điện, nước, văn phòng phẩm tại cơ quan",
         "Tắt điện, điều hòa khi ra khỏi phòng; in hai mặt, dùng văn bản điện tử", "Cả năm",
         "Chi phí văn phòng phẩm của phòng giảm 10% so với năm 2025"),
        ("Tự học nâng cao trình độ, thực hiện chuyển đổi số trong công việc",
         "Hoàn thành khóa bồi dưỡng kỹ năng số; ký số toàn bộ văn bản phát hành", "Quý III/2026",
         "Giấy chứng nhận hoàn thành khóa học"),
        ("Giữ thái độ niềm nở, tận tình khi tiếp công dân",
         "Hướng dẫn một lần đầy đủ, không để người dân phải đi lại nhiều lần", "Cả năm",
         "Không có phản ánh về thái độ phục vụ"),
    ],
    "health": [
        ("Thực hiện lời dạy của Bác “Lương y phải như từ mẫu”",
         "Tận tình chăm sóc người bệnh, giải thích rõ ràng khi người bệnh và người nhà hỏi", "Cả năm",
         "Tỷ lệ người bệnh hài lòng trên 95% theo phiếu khảo sát"),
        ("Khám sức khỏe miễn phí cho người cao tuổi neo đơn",
         "Cùng tổ y tế lưu động khám, cấp thuốc cho người cao tuổi ở hai thôn vùng sâu", "Quý II/2026",
         "Danh sách 60 người cao tuổi được khám"),
    ],
}
RETURN_COMMENT = ("Đồng chí ghi rõ số hộ sẽ vận động và thời gian hoàn thành; phần sản phẩm dự kiến còn chung chung, "
                  "chưa đo đếm được.")
NOTES = ["Tháng 4/2026: đã gặp và vận động được 9/15 hộ; chi bộ đã biểu dương tại buổi sinh hoạt tháng 5.",
         "Tháng 8/2026: hoàn thành phần việc quý III, có ảnh chụp và biên bản kèm theo."]
EVALUATION_COMMENTS = {
    "excellent": "Đồng chí thực hiện đầy đủ, vượt các nội dung đã đăng ký, có sản phẩm cụ thể; là tấm gương để "
                 "đảng viên trong chi bộ học tập.",
    "good": "Đồng chí hoàn thành tốt các việc đã đăng ký, có sản phẩm cụ thể; cần chủ động hơn trong phát biểu ý "
            "kiến tại sinh hoạt chi bộ.",
    "fulfilled": "Đồng chí hoàn thành các việc đã đăng ký nhưng còn chậm so với thời hạn đề ra.",
    "not_fulfilled": "Đồng chí chưa thực hiện được việc đã đăng ký, chưa báo cáo kết quả đúng hạn; chi bộ đề nghị "
                     "khắc phục trong năm 2027.",
}
# Per cell: the states of its members' pledges in the order of their accounts (the rest have not started);
# an evaluated or closed one as "closed:good". The named accounts of An Sơn come first (see _load_pledges).
PLEDGE_PLAN = {
    "HU-HN-T1": ["submitted", "submitted", "submitted", "submitted_late", "returned", "draft", "draft", "acknowledged",
                 "acknowledged", "reported", "reported", "evaluated:good"],
    "HU-HN-T2": ["closed:excellent", "closed:excellent", "closed:excellent", "closed:good", "closed:good",
                 "closed:good", "closed:fulfilled", "corrected:good", "evaluated:excellent", "evaluated:good",
                 "evaluated:fulfilled", "evaluated:not_fulfilled"],
    "HU-CQ-VP": ["acknowledged", "acknowledged", "acknowledged", "acknowledged", "reported", "reported", "reported",
                 "submitted", "submitted", "returned", "draft", "draft"],
    "HU-HP-T1": ["closed:excellent", "closed:good", "closed:good", "closed:good", "closed:good", "closed:good",
                 "closed:good", "closed:fulfilled", "closed:fulfilled", "closed:fulfilled", "reported", "reported",
                 "reported", "reported"],
    "HU-YT": ["submitted", "submitted", "submitted", "submitted", "acknowledged"],
}


def _load_pledges(units, now):
    """The 2026 period of the district committee with members' pledges in every state across five cells.

    The members act for themselves and ``bithu`` reviews An Sơn's pledges; the other cells have no
    secretary's account, so their reviews are made as from the command line. The steps are dated
    through 2026 (never after ``now``), and ``bithu`` is left pledges to acknowledge and to evaluate
    while ``dangvien`` has an acknowledged pledge with notes and a mid-year report.
    """
    from .pledges import workflow

    def at(month, day, hour=2):
        return min(dt.datetime(2026, month, day, hour), now - dt.timedelta(minutes=5))

    organiser = User.get(User.username == "tochuc")
    bithu = User.get(User.username == "bithu")
    period = workflow.save_period(organiser, None, units["HU"], {
        "title": "Đăng ký làm theo năm 2026", "year": 2026, "topic": PLEDGE_TOPIC, "basis": PLEDGE_BASIS,
        "opens_on": dt.date(2026, 1, 5), "register_by": dt.date(2026, 3, 31), "mid_year_by": dt.date(2026, 7, 15),
        "year_end_by": dt.date(2026, 12, 15), "excellent_cap": 20}, at(1, 3))
    meeting = min(dt.date(2026, 11, 25), workflow.local_today(now))
    rng = random.Random(1890)

    def pledge(member, state, pool, reviewer):
        rows = rng.sample(pool, 2 if len(pool) > 2 and rng.random() < 0.5 else 1)
        items = [dict(zip(("content", "measure", "deadline", "evidence"), row)) for row in rows]
        p = workflow.start(member, period, at(1, rng.randint(6, 28)))
        workflow.save_draft(member, p, COMMITMENTS, items, at(2, rng.randint(1, 20)))
        if state == "draft":
            return p
        if state == "returned":
            workflow.submit(member, p, at(3, 2))
            return workflow.return_pledge(reviewer, p, RETURN_COMMENT, at(3, 9))
        workflow.submit(member, p, at(4, 6) if state == "submitted_late" else at(3, rng.randint(1, 28)))
        if state in ("submitted", "submitted_late"):
            return p
        workflow.acknowledge(reviewer, p, at(3, 30))
        for i, text in enumerate(NOTES[:rng.randint(1, 2)]):
            workflow.add_note(member, p, text, at(4 + 4 * i, 28))
        if state == "acknowledged":
            return p
        mine = workflow.items_of(p)
        workflow.file_report(member, p, "mid_year", {item.id: {
            "done": "Đã triển khai, hoàn thành khoảng một nửa phần việc đăng ký.",
            "not_done": "Phần còn lại đang thực hiện theo kế hoạch.",
            "next_steps": "Hoàn thành trong 6 tháng cuối năm."}
            for item in mine}, at(7, 10))
        workflow.file_report(member, p, "year_end", {item.id: {
            "done": f"Đã thực hiện: {item.measure[0].lower() + item.measure[1:]}. Kết quả: {item.evidence}.",
            "not_done": "" if state != "evaluated:not_fulfilled" else "Chưa làm được do đi làm ăn xa nhiều tháng.",
            "next_steps": "Tiếp tục duy trì trong năm 2027."} for item in mine}, at(11, rng.randint(10, 20)))
        if state == "reported":
            return p
        kind, level = state.split(":")
        first = "excellent" if kind == "corrected" else level
        workflow.evaluate(reviewer, p, meeting, EVALUATION_COMMENTS[first], first, at(11, 25, 9))
        if kind == "corrected":  # the cell found the first proposal above the rules and corrected it
            workflow.evaluate(reviewer, p, meeting, EVALUATION_COMMENTS[level], level, at(11, 26, 3),
                              reason="Chi bộ họp lại: tỷ lệ xuất sắc vượt quy định, điều chỉnh mức xếp loại.")
        if kind in ("closed", "corrected"):
            workflow.accept_evaluation(member, p, at(11, 27))
        return p

    for code, plan in PLEDGE_PLAN.items():
        cell = units[code]
        pool = PLEDGE_ITEMS["office" if code.startswith("HU-CQ") else "health" if code == "HU-YT" else "village"]
        members = list(User.select().where(User.unit == cell.id, User.username.not_in(["bithu", "dangvien"]))
                       .order_by(User.id))
        reviewer = bithu if code == "HU-HN-T1" else None
        for member, state in zip(members, plan):
            pledge(member, state, pool, reviewer)
        if code == "HU-HN-T1":
            pledge(bithu, "reported", pool, None)  # the secretary's own pledge is reviewed from above
            mine = pledge(User.get(User.username == "dangvien"), "acknowledged", pool, bithu)
            workflow.file_report(mine.user, mine, "mid_year", {item.id: {
                "done": "Đã vận động được 9/15 hộ tham gia tổng vệ sinh hằng tháng.",
                "not_done": "Còn 6 hộ chưa tham gia do đi làm ăn xa.",
                "next_steps": "Tiếp tục gặp gỡ từng hộ trong quý III."} for item in workflow.items_of(mine)}, at(7, 12))
    _load_exemplary(period, at(11, 28, 3))


PLEDGE_DESIGN = {
    "name": "Giấy khen làm theo gương Bác năm 2026", "header": "party",
    "superior_body": "ĐẢNG BỘ THÀNH PHỐ ĐÀ NẴNG", "issuing_committee": "HUYỆN ỦY HÒA VANG",
    "issuing_body": "BAN THƯỜNG VỤ HUYỆN ỦY HÒA VANG",
    "merit_achievement": "Đã có thành tích tiêu biểu trong học tập và làm theo tư tưởng, đạo đức, phong cách "
                         "Hồ Chí Minh năm {nam}, {giai}.",
    "participation_achievement": "Đã tham gia {hoi_thi}.",
    "decision_number": "131-QĐ/HU", "place": "Hòa Vang", "signer_on_behalf": "T/M BAN THƯỜNG VỤ",
    "signer_title": "BÍ THƯ", "signer_name": "Trần Văn Hùng",
}
# Stories of two commended members (published) and a third being written (not yet published).
STORIES = [
    ("Người đảng viên “giữ lửa” phong trào xanh – sạch – đẹp",
     "Đồng chí là người đầu tiên trong xóm đứng ra vận động bà con tổng vệ sinh đường làng vào sáng Chủ nhật cuối "
     "tháng. Ban đầu chỉ có vài hộ tham gia; đồng chí kiên trì đến từng nhà, nói chuyện với từng người, tự mình "
     "cầm chổi, đẩy xe rác đi trước.\n\nSau một năm, cả 15 hộ được phân công đều ký cam kết và tham gia đều đặn; "
     "tuyến đường xóm trở thành tuyến đường hoa đầu tiên của thôn. Việc nhỏ nhưng làm đến nơi đến chốn, như lời "
     "Bác dạy: “Việc gì có lợi cho dân, ta phải hết sức làm”.\n\nTập thể chi bộ đánh giá đồng chí hoàn thành xuất "
     "sắc nhiệm vụ và đề nghị nhân rộng cách làm trong toàn xã.", True),
    ("Tận tình giúp hộ nghèo vươn lên",
     "Nhận giúp đỡ một hộ nghèo trong thôn, đồng chí không chỉ hỗ trợ con giống mà còn trực tiếp hướng dẫn cách "
     "làm chuồng, phòng bệnh cho đàn gà, theo dõi từng tháng.\n\nĐến cuối năm, gia đình được giúp đỡ đã có nguồn "
     "thu nhập ổn định từ chăn nuôi và làm đơn xin ra khỏi danh sách hộ nghèo. Cách làm “cầm tay chỉ việc” của "
     "đồng chí được chi bộ biểu dương tại buổi sinh hoạt chuyên đề.", True),
    ("Nêu gương từ trong gia đình", "", False),
]


def _load_exemplary(period, now):
    """A certificate of merit for each member of the period evaluated "excellent" and closed, and stories of
    exemplary models for three of them (two published, one a draft taken from the pledge)."""
    from flask import current_app

    from .certificates import issue as certificates
    from .pledges import commend, exemplary

    organiser = User.get(User.username == "tochuc")
    design = certificates.save_design(organiser, None, dict(PLEDGE_DESIGN, decision_date=certificates.local_date(now)),
                                      period.owner_unit, now)
    chosen = [c for c in commend.candidates(period, period.owner_unit, "excellent") if c.pledge.state == "closed"]
    commend.issue(organiser, period, [c.pledge.id for c in chosen], design, now, current_app.config["PUBLIC_URL"])
    for candidate, (title, story, published) in zip(chosen, STORIES):
        values = exemplary.draft(candidate, period)
        values["title"] = title
        if story:
            values["story"] = story
        made = exemplary.create(organiser, period, candidate.pledge.id, values, now)
        if published:
            exemplary.set_published(organiser, made, True, now)


def login_help(url=None):
    lines = [f"Mở {url or 'http://127.0.0.1:5000'} và đăng nhập (mật khẩu chung: {DEMO_PASSWORD}):"]
    labels = {"admin": "quản trị", "organiser": "ban tổ chức", "secretary": "bí thư chi bộ", None: "đảng viên"}
    for username, full_name, _unit, _pos, role, _ru in NAMED:
        lines.append(f"  {username:<10} {labels[role]:<14} {full_name}")
    return "\n".join(lines)
