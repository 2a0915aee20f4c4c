"""Importing question files into a topic (preview, all or nothing, duplicates), exporting, and the CLI commands."""

import io
import json
import unicodedata

import pytest
from openpyxl import load_workbook

from portal.accounts.models import AuditLog
from portal.errors import DomainError
from portal.quiz import bank, parsers
from portal.quiz.models import Option, Question, Topic
from tests.quiz.test_parsers import MOODLE, ROWS, xlsx_data

GOOD = """// [tag:Lịch sử Đảng] [difficulty:Dễ]
::Năm thành lập::Đảng Cộng sản Việt Nam được thành lập năm nào? {
    ~1925#Năm thành lập Hội Việt Nam Cách mạng Thanh niên.
    =1930#Chính xác.
    ~1945
    ####Ngày 03/02/1930, tại Hương Cảng.
}

Những phẩm chất nào Bác Hồ nêu về người cán bộ? {
    ~%50%Cần, kiệm
    ~%50%Liêm, chính
    ~%-100%Quan liêu
}

Chi bộ là tổ chức cơ sở của Đảng.{FALSE#Chưa đúng: tổ chức cơ sở đảng gồm chi bộ cơ sở và đảng bộ cơ sở.#Chính xác.}

Thủ đô của nước ta là thành phố nào? {=Hà Nội ~Huế}
"""
BAD = GOOD + """
Câu hỏi có hai đáp án đúng? {
    =Một
    =Hai
    ~Ba
}
"""


@pytest.fixture
def topic(make_unit):
    return Topic.create(code="CD2025", title="Chuyên đề năm 2025", year=2025,
                        owner_unit=make_unit("HU", "Đảng bộ huyện Hòa Vang", "committee"))


def questions(topic):
    return list(Question.select().where(Question.topic == topic).order_by(Question.id))


def options(question):
    return [(o.text, o.weight, o.feedback) for o in Option.select().where(Option.question == question)
            .order_by(Option.position)]


def test_apply_writes_questions_options_and_an_audit_entry(topic):
    result = bank.apply_import(topic, parsers.parse_gift(GOOD), None, "10.0.0.1", filename="chuyen-de.gift")
    assert result.created == 4
    first, second, third, fourth = questions(topic)
    assert (first.title, first.text, first.difficulty, first.tags) == (
        "Năm thành lập", "Đảng Cộng sản Việt Nam được thành lập năm nào?", 1, "Lịch sử Đảng")
    assert first.explanation == "Ngày 03/02/1930, tại Hương Cảng."
    assert options(first)[1] == ("1930", 100, "Chính xác.")
    assert (second.kind, second.grading) == ("multiple", "partial")
    assert [w for _t, w, _f in options(second)] == [50, 50, -100]
    # The feedback of each true/false answer is kept.
    assert (third.kind, options(third)) == ("truefalse", [
        ("Đúng", 0, "Chưa đúng: tổ chức cơ sở đảng gồm chi bộ cơ sở và đảng bộ cơ sở."), ("Sai", 100, "Chính xác.")])
    assert fourth.normalised_text == "thủ đô của nước ta là thành phố nào?"
    entry = AuditLog.get(AuditLog.action == "questions.import")
    assert entry.target == f"topic:{topic.id} CD2025" and entry.address == "10.0.0.1"
    assert json.loads(entry.details)["created"] == 4


def test_a_problem_anywhere_imports_nothing(topic):
    parsed = parsers.parse_gift(BAD)
    with pytest.raises(bank.ImportRejected) as info:
        bank.apply_import(topic, parsed, None)
    assert str(info.value) == "Chưa nhập câu hỏi nào: 1 câu hỏi có lỗi. Hãy sửa tệp rồi nhập lại."
    assert info.value.plan.problems[0].startswith("Dòng 19: câu hỏi một lựa chọn lại có nhiều đáp án đúng")
    assert questions(topic) == [] and not AuditLog.select().where(AuditLog.action == "questions.import").exists()


def test_the_bank_rules_reject_what_the_reader_let_through(topic):
    parsed = parsers.parse_gift(GOOD + "\nCâu có hai phương án giống nhau? {=Hà Nội ~hà  nội}\n")
    plan = bank.preview_import(topic, parsed)
    assert plan.rejected and plan.problems == ["Dòng 19: Phương án B trùng với Phương án A."]
    with pytest.raises(bank.ImportRejected):
        bank.apply_import(topic, parsed, None)
    assert questions(topic) == []


def test_duplicates_in_the_topic_and_in_the_file_are_skipped(topic):
    bank.apply_import(topic, parsers.parse_gift("Thủ đô của nước ta là thành phố nào? {=Hà Nội ~Huế}"), None)
    again = unicodedata.normalize("NFD", GOOD.replace("Thủ đô của nước ta là", "THỦ ĐÔ  của nước ta\nlà"))
    again += "\n\nĐảng Cộng sản Việt Nam được thành lập   năm nào? {=1930 ~1931}\n"
    plan = bank.preview_import(topic, parsers.parse_gift(again))
    rows = {r.line: (r.action, r.messages) for r in plan.rows}
    assert rows[17][0] == "duplicate" and rows[17][1][0].startswith("chuyên đề đã có câu hỏi này (số ")
    assert rows[21] == ("duplicate", ["trùng với câu hỏi ở dòng 2"])
    assert plan.counts == {"create": 3, "duplicate": 2, "reject": 0, "unsupported": 0}
    result = bank.apply_import(topic, parsers.parse_gift(again), None)
    assert result.created == 3 and len(questions(topic)) == 4
    assert bank.apply_import(topic, parsers.parse_gift(again), None).created == 0


def test_moodle_examples_import_with_unsupported_kinds_listed(topic):
    parsed = parsers.parse_gift(MOODLE.read_text(encoding="utf-8"))
    plan = bank.preview_import(topic, parsed)
    assert plan.counts == {"create": 13, "duplicate": 10, "reject": 0, "unsupported": 20}
    assert [r.line for r in plan.rows] == sorted(r.line for r in plan.rows)
    row = next(r for r in plan.rows if r.line == 90)
    assert (row.action, row.kind_label) == ("unsupported", "Câu trả lời ngắn")
    assert bank.apply_import(topic, parsed, None).created == 13


def test_a_table_with_a_bad_answer_letter_imports_nothing(topic):
    parsed = parsers.parse_table(xlsx_data(ROWS + [["Câu?", "x", "y", "", "", "E", "", "", ""]]), "cau-hoi.xlsx")
    plan = bank.preview_import(topic, parsed)
    assert plan.problems == ["Dòng 5: cột Đáp án: đáp án E nằm ngoài các phương án đã điền (A–B)"]
    with pytest.raises(bank.ImportRejected):
        bank.apply_import(topic, parsed, None)
    assert questions(topic) == []


def test_organisers_import_only_into_topics_of_their_units(topic, make_user, make_unit):
    parsed = parsers.parse_gift(GOOD)
    outsider = make_user(role="organiser", scope=make_unit("XA", "Đảng bộ xã khác", "committee"))
    with pytest.raises(DomainError) as info:
        bank.apply_import(topic, parsed, outsider)
    assert str(info.value) == "Đồng chí không có quyền thay đổi ngân hàng câu hỏi của chuyên đề này."
    organiser = make_user(role="organiser", scope=topic.owner_unit)
    assert bank.apply_import(topic, parsed, organiser).created == 4
    assert AuditLog.get(AuditLog.action == "questions.import").actor_id == organiser.id


def test_export_to_gift_and_xlsx_brings_the_bank_back_unchanged(topic, make_unit):
    bank.apply_import(topic, parsers.parse_gift(GOOD), None)
    Question.create(topic=topic, kind="text", text="Đồng chí góp ý gì?", normalised_text="đồng chí góp ý gì?")
    gift = bank.export_gift(topic)
    assert (gift.count, gift.skipped) == (4, 1)
    assert gift.content.decode().startswith("$CATEGORY: Chuyên đề năm 2025\n")
    other = Topic.create(code="CD2026", title="Chuyên đề năm 2026", owner_unit=topic.owner_unit)
    assert bank.apply_import(other, parsers.parse_file(gift.content, "ngan-hang.gift"), None).created == 4

    def summary(t):
        return [(q.kind, q.title, q.text, q.explanation, q.difficulty, q.tags, q.grading, options(q))
                for q in questions(t) if q.kind != "text"]

    assert summary(other) == summary(topic)
    xlsx = bank.export_xlsx(topic)
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet["A2"].value == "Đảng Cộng sản Việt Nam được thành lập năm nào?" and sheet["J2"].value == "B"
    parsed = parsers.parse_table(xlsx.content, "ngan-hang.xlsx")
    assert parsed.problems == [] and len(parsed.questions) == 4
    assert bank.preview_import(topic, parsed).counts["duplicate"] == 4


# The command line ---------------------------------------------------------------------------

@pytest.fixture
def question_file(tmp_path):
    def question_file(content, name="cau-hoi.gift"):
        path = tmp_path / name
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        return str(path)

    return question_file


def test_cli_dry_run_prints_the_plan_with_line_numbers_and_writes_nothing(topic, runner, question_file):
    result = runner.invoke(args=["import-questions", question_file(GOOD + "\nAi? {=a =b ~c}\n"), "--topic", "CD2025",
                                 "--dry-run"])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0].split() == ["Dòng", "Thao", "tác", "Loại", "Câu", "hỏi", "Ghi", "chú"]
    assert lines[1].split()[:3] == ["2", "tạo", "mới"]
    assert "Dòng 19: câu hỏi một lựa chọn lại có nhiều đáp án đúng" in result.output
    assert "Không nhập gì: 1 câu hỏi có lỗi." in result.output
    assert questions(topic) == []

    result = runner.invoke(args=["import-questions", question_file(GOOD), "--topic", "CD2025", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "Tổng cộng: 4 câu mới, 0 câu trùng" in result.output and "chưa ghi gì" in result.output
    assert questions(topic) == []


def test_cli_imports_the_moodle_examples_and_exports_them(topic, runner, question_file, tmp_path):
    path = question_file(MOODLE.read_bytes(), "examples.txt")
    result = runner.invoke(args=["import-questions", path, "--topic", "CD2025"])
    assert result.exit_code == 0, result.output
    assert "Đã nhập 13 câu hỏi vào chuyên đề CD2025; bỏ qua 10 câu trùng và 20 câu thuộc loại không hỗ trợ." \
        in result.output
    assert "Câu hỏi ghép cặp" in result.output
    for name in ("bank.gift", "bank.xlsx"):
        result = runner.invoke(args=["export-questions", "--topic", "CD2025", "-o", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
        assert "Đã xuất 13 câu hỏi của chuyên đề CD2025" in result.output
    assert len(parsers.parse_file((tmp_path / "bank.xlsx").read_bytes(), "bank.xlsx").questions) == 13
    assert len(parsers.parse_gift((tmp_path / "bank.gift").read_text()).questions) == 13


def test_cli_refuses_an_unknown_topic_and_an_unreadable_file(topic, runner, question_file):
    result = runner.invoke(args=["import-questions", question_file(GOOD), "--topic", "KHONGCO"])
    assert result.exit_code == 1 and "Không có chuyên đề mã KHONGCO." in result.output
    result = runner.invoke(args=["import-questions", question_file(b"\x00\x01", "x.xlsx"), "--topic", "CD2025"])
    assert result.exit_code == 1 and "không phải là tệp Excel (.xlsx) thật" in result.output
    result = runner.invoke(args=["import-questions", question_file(GOOD, "x.doc"), "--topic", "CD2025",
                                 "--format", "aiken"])
    assert result.exit_code == 1 and "thiếu dòng 'ANSWER:'" in result.output
