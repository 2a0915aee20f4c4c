"""Reading and writing question files (GIFT, Aiken, CSV, XLSX): pure functions, no database."""

import csv
import dataclasses
import io
import re
import unicodedata
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from portal import create_app
from portal.quiz import parsers
from portal.quiz.parsers import ParsedOption as O
from portal.quiz.parsers import ParsedQuestion

MOODLE = Path(__file__).resolve().parents[2].parent / "shared/fixtures/gift/moodle-examples.txt"
TAG = re.compile(r"<\s*/?\s*[A-Za-z!?]")


@pytest.fixture(scope="module", autouse=True)
def vietnamese(tmp_path_factory):
    """An app context for the Vietnamese messages; parsing touches no database."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PORTAL_INSTANCE_PATH", str(tmp_path_factory.mktemp("instance")))
        app = create_app({"TESTING": True, "SECRET_KEY": "dev"})
        with app.app_context():
            yield app


def gift(text):
    return parsers.parse_gift(text)


def problems(result):
    return [str(p) for p in result.problems]


def one(text, parse=gift):
    result = parse(text)
    assert not result.problems and not result.unsupported, problems(result)
    assert len(result.questions) == 1
    return result.questions[0]


def without_lines(questions):
    return [dataclasses.replace(q, line=0) for q in questions]


def no_tags(question):
    texts = [question.text, question.title, question.explanation]
    texts += [part for o in question.options for part in (o.text, o.feedback)]
    return not any(TAG.search(t) for t in texts)


# Moodle's own examples ----------------------------------------------------------------------

MOODLE_SUPPORTED = {
    8: "single", 10: "single", 12: "truefalse", 25: "single", 27: "single", 29: "single", 35: "single",
    49: "truefalse", 51: "truefalse", 93: "single", 98: "single", 113: "truefalse", 115: "single", 117: "single",
    130: "multiple", 136: "multiple", 143: "single", 148: "single", 167: "single", 169: "single",
    171: "truefalse", 184: "single", 190: "single",
}
MOODLE_UNSUPPORTED = {
    14: "shortanswer", 16: "numerical", 43: "shortanswer", 45: "shortanswer", 55: "matching", 61: "matching",
    70: "numerical", 72: "numerical", 74: "numerical", 76: "numerical", 85: "numerical", 90: "shortanswer",
    103: "shortanswer", 108: "shortanswer", 123: "shortanswer", 173: "shortanswer", 175: "numerical",
    177: "matching", 195: "shortanswer", 202: "numerical",
}


@pytest.fixture(scope="module")
def moodle():
    return gift(MOODLE.read_text(encoding="utf-8"))


def test_moodle_examples_every_choice_question_is_read_with_its_line(moodle):
    assert moodle.problems == []
    assert {q.line: q.kind for q in moodle.questions} == MOODLE_SUPPORTED


def test_moodle_examples_other_kinds_are_listed_by_line_with_a_reason(moodle):
    assert {u.line: u.kind for u in moodle.unsupported} == MOODLE_UNSUPPORTED
    by_line = {u.line: str(u) for u in moodle.unsupported}
    assert by_line[14].startswith("Dòng 14: Câu trả lời ngắn, không nhập vì chỉ có đáp án '='")
    assert by_line[55].startswith("Dòng 55: Câu hỏi ghép cặp, không nhập vì")
    assert by_line[202].startswith("Dòng 202: Câu hỏi dạng số, không nhập vì")  # after the comment on line 201
    assert next(u.text for u in moodle.unsupported if u.line == 14) == "Who's buried in Grant's tomb?"


def test_moodle_examples_read_as_moodle_reads_them(moodle):
    q = {q.line: q for q in moodle.questions}
    assert q[8].text == "Who's buried in Grant's tomb?"
    assert q[8].options == [O("Grant"), O("Jefferson"), O("no one", 100)]
    # Missing word: the answer block becomes a blank, even across lines.
    assert q[10].text == "Grant is _____ in Grant's tomb."
    assert q[29].text == "The American holiday of Thanksgiving is celebrated on the _____ Thursday of November."
    assert q[93].title == "Thanksgiving Date"
    # The first feedback of a true/false question is for the wrong answer.
    assert q[113].options == [O("Đúng", 0, "No one is buried in Grant's tomb."), O("Sai", 100)]
    assert q[51].options == [O("Đúng", 100), O("Sai", 0)]
    # Single choice with partial credit, as Moodle allows.
    assert q[117].title == "Jesus' hometown" and q[117].text == "Jesus Christ was from _____."
    assert [o.weight for o in q[117].options] == [0, 25, 50, 100]
    assert q[117].options[1].feedback == "He was born here, but not raised here."
    # Multiple answers, with penalties.
    assert [o.weight for o in q[136].options] == [-50, 50, 50, -50] and q[136].grading == "partial"
    # Escapes, and feedback running over several lines.
    assert [o.text for o in q[143].options] == ["= 2 + 2", "= 2 + 3", "= 2 + 4"]
    assert [o.text for o in q[148].options] == ["~", "=", "#", "{", "}", "\\"]
    assert q[148].options[5].feedback.startswith("Correct! \\ (backslash) is not a control character. BUT,\nit")
    assert all(no_tags(x) for x in moodle.questions)


def test_moodle_examples_survive_a_round_trip_through_to_gift(moodle):
    again = gift(parsers.to_gift(moodle.questions))
    assert again.problems == [] and again.unsupported == []
    assert without_lines(again.questions) == without_lines(moodle.questions)


# GIFT features ------------------------------------------------------------------------------

def test_title_feedback_general_feedback_category_and_comment_tokens():
    result = gift("""$CATEGORY: $course$/top/Chuyên đề 2025/Phần 1

// Moodle's tokens, and the portal's own
// [tag:Lịch sử Đảng] [tag:Năm 2025] [difficulty:Khó]
::Câu 1::Đảng Cộng sản Việt Nam ra đời năm nào? {
    ~1925 #Năm thành lập Hội Việt Nam Cách mạng Thanh niên.
    =1930 #Chính xác.
    ~1945
    ####Ngày 03/02/1930, tại Hương Cảng.
}
""")
    q = result.questions[0]
    assert (q.line, q.title, q.kind) == (5, "Câu 1", "single")
    assert q.text == "Đảng Cộng sản Việt Nam ra đời năm nào?"
    assert q.options[0] == O("1925", 0, "Năm thành lập Hội Việt Nam Cách mạng Thanh niên.")
    assert q.options[1] == O("1930", 100, "Chính xác.")
    assert q.explanation == "Ngày 03/02/1930, tại Hương Cảng."
    assert q.category == "Chuyên đề 2025/Phần 1"
    assert (q.tags, q.difficulty) == (["Lịch sử Đảng", "Năm 2025"], 3)


def test_a_category_applies_to_the_questions_after_it_even_without_a_blank_line():
    result = gift("Câu một? {=a ~b}\n\n$CATEGORY: Phần 2\nCâu hai? {=a ~b}\n\nCâu ba? {=a ~b}")
    assert [(q.line, q.category) for q in result.questions] == [(1, ""), (4, "Phần 2"), (6, "Phần 2")]


@pytest.mark.parametrize("block, right, feedback", [
    ("{T}", True, ("", "")),
    ("{F}", False, ("", "")),
    ("{TRUE}", True, ("", "")),
    ("{false}", False, ("", "")),
    ("{TRUE#Sai rồi#Đúng rồi}", True, ("Đúng rồi", "Sai rồi")),
    ("{FALSE#Sai rồi#Đúng rồi}", False, ("Sai rồi", "Đúng rồi")),
])
def test_true_false(block, right, feedback):
    q = one("Chi bộ là tổ chức cơ sở của Đảng." + block)
    assert q.kind == "truefalse"
    assert q.options == [O("Đúng", 100 if right else 0, feedback[0]), O("Sai", 0 if right else 100, feedback[1])]


def test_weights_make_multiple_choice_and_decimals_add_up_to_100():
    q = one("Chọn các phẩm chất? {~%33.33333%Cần ~%33.33333%Kiệm ~%33.33333%Liêm ~%-100%Tham}")
    assert q.kind == "multiple" and q.grading == "partial"
    assert [o.weight for o in q.options] == [34, 33, 33, -100]


def test_escapes_and_multi_line_text():
    q = one("Câu hỏi có ký tự đặc biệt\\: \\~ \\= \\# \\{ \\} \\\\ và\\nxuống dòng\n"
            "tiếp tục ở dòng sau? {=Đáp án \\= 1 ~Sai \\# 2}")
    assert q.text == "Câu hỏi có ký tự đặc biệt: ~ = # { } \\ và\nxuống dòng\ntiếp tục ở dòng sau?"
    assert [o.text for o in q.options] == ["Đáp án = 1", "Sai # 2"]


@pytest.mark.parametrize("source, text", [
    ("[html]<p>Đoạn <b>một</b></p><p>Đoạn&nbsp;hai &amp; ba</p>", "Đoạn một\nĐoạn hai & ba"),
    ("[markdown]Ai là **tác giả** của `Đường Kách mệnh`?", "Ai là tác giả của Đường Kách mệnh?"),
    ("[plain]Giá trị 2 < 3 và &amp; giữ nguyên", "Giá trị 2 < 3 và &amp; giữ nguyên"),
    ("[moodle]Dòng một <br> dòng hai", "Dòng một\ndòng hai"),
])
def test_format_markers_end_up_as_plain_text(source, text):
    assert one(source + "{=a ~b}").text == text


@pytest.mark.parametrize("source", [
    "<script>alert('x')</script>Câu hỏi?",
    "Câu hỏi <img src=x onerror=alert(1)>?",
    "[html]Câu &lt;script&gt;alert(1)&lt;/script&gt; hỏi?",
    "Câu <scr<script>ipt>alert(1)</script> hỏi?",
    "[markdown]Câu [bấm vào đây](javascript:alert(1)) hỏi?",
    "Câu <a href=\"javascript:alert(1)\">liên kết</a> hỏi?",
])
def test_no_tag_survives_and_javascript_stays_inert_text(source):
    q = one(source + "{=<b>Có</b> ~<i onmouseover\\=alert(1)>Không</i>####<style>p \\{ color: red \\}</style>Giải thích}")
    assert no_tags(q)
    assert [o.text for o in q.options] == ["Có", "Không"] and q.explanation == "Giải thích"
    assert "alert('x')" not in q.text  # script contents go with the tag


def test_javascript_address_is_kept_as_characters():
    q = one("[markdown]Đọc [tài liệu](javascript:alert(1)) rồi trả lời {=a ~b}")
    assert q.text == "Đọc tài liệu (javascript:alert(1)) rồi trả lời"


# Each bad question follows a good one on lines 1-2, so it starts on line 3.
@pytest.mark.parametrize("source, message", [
    ("Câu hỏi? {\n=Hà Nội\n~Huế",
     "Dòng 3: dấu '{' ở dòng 3 không được đóng bằng dấu '}' (câu hỏi kết thúc ở dòng 5)"),
    ("Câu hỏi? {=Hà Nội\n~Huế}}", "Dòng 3: thêm một dấu '}' ở dòng 4"),
    ("Câu hỏi }? {=a ~b}", "Dòng 3: dấu '}' ở dòng 3 không có dấu '{' mở tương ứng"),
    ("Câu hỏi?\n{~Hà Nội\n~Huế}", "Dòng 3: chưa có đáp án đúng: hãy đánh dấu phương án đúng bằng '='"),
    ("Câu hỏi? {\n=Hà Nội\n=Huế\n~Vinh}",
     "Dòng 3: câu hỏi một lựa chọn lại có nhiều đáp án đúng (dấu '=' ở dòng 4, 5)"),
    ("Câu hỏi? {~%50%a ~%30%b ~c}", "Dòng 3: tổng trọng số của các phương án đúng là 80%; tổng này phải bằng 100%"),
    ("Câu hỏi? {~%150%a ~b}", "Dòng 3: trọng số %150% ở dòng 3 không phải là số từ -100 đến 100"),
    ("Câu hỏi? {=a ~}", "Dòng 3: phương án ở dòng 3 bị trống"),
    ("Câu hỏi? {=a ~b ~c ~d ~e ~f ~g ~h ~i}", "Dòng 3: có 9 phương án: mỗi câu hỏi cần từ 2 đến 8 phương án"),
    ("::Tiêu đề Câu hỏi? {=a ~b}", "Dòng 3: tiêu đề mở bằng '::' nhưng không có '::' đóng"),
    ("// [difficulty:rất khó]\nCâu hỏi? {=a ~b}", "Dòng 4: 'rất khó' không phải là độ khó"),
])
def test_malformed_gift_names_the_line_and_rejects_only_that_question(source, message):
    result = gift("Câu đúng trước? {=a ~b}\n\n" + source + "\n\nCâu đúng sau? {=c ~d}")
    assert len(result.problems) == 1, problems(result)
    assert problems(result)[0].startswith(message), problems(result)
    assert [q.text for q in result.questions] == ["Câu đúng trước?", "Câu đúng sau?"]


def test_a_single_option_is_refused_not_crashed_on():
    # Moodle's own check: a choice question needs at least two options.
    assert problems(gift("Câu hỏi? {~a}")) == ["Dòng 1: có 1 phương án: mỗi câu hỏi cần từ 2 đến 8 phương án"]


def test_rubbish_never_crashes():
    for text in ["{", "}", "::", "::a::", "{}", "{=}", "{~}", "$CATEGORY:", "\\", "{#}", "~=#", "a{T#}b{",
                 "\ufeff", "// only a comment", "{=a ~b}", "::t::{~a =b}"]:
        result = gift(text)
        assert isinstance(result.questions, list)


def test_nfd_input_gives_nfc_text():
    source = "// [tag:Chuyên đề]\n::Tiêu đề::Ngày thành lập Đảng? {=Mồng 3 tháng 2 ~Mồng 2 tháng 9#Đó là Quốc khánh}"
    q = one(unicodedata.normalize("NFD", source))
    for text in (q.text, q.title, q.tags[0], q.options[0].text, q.options[1].feedback):
        assert unicodedata.is_normalized("NFC", text)
    assert q.text == "Ngày thành lập Đảng?" and q.tags == ["Chuyên đề"]


# Writing GIFT -------------------------------------------------------------------------------

TRICKY = [
    ParsedQuestion(line=1, kind="single", title="Câu: một {mở}", text="Dòng một\nDòng hai có ~ = # { } : \\ và ::",
                   options=[O("%50% đảng viên", 100, "Phản hồi #1"), O("[html] không phải định dạng", 0),
                            O("a < b & c", 50, "")],
                   explanation="Giải thích ####", difficulty=2, tags=["Thẻ [1]", "Thẻ hai"], category="Năm 2025/A"),
    ParsedQuestion(line=2, kind="multiple", text="Chọn hai?", options=[O("A", 50), O("B", 50), O("C", -100)],
                   grading="all_or_nothing", category="Năm 2025/A"),
    ParsedQuestion(line=3, kind="truefalse", text="[plain]Bắt đầu bằng ngoặc vuông",
                   options=[O("Đúng", 0, ""), O("Sai", 100, "Đúng vậy")], explanation="Vì sao"),
    ParsedQuestion(line=4, kind="truefalse", text="Câu thứ tư", options=[O("Đúng", 100, "Hay"), O("Sai", 0, "Tiếc")]),
]


def test_to_gift_round_trips_special_characters_and_portal_fields():
    result = gift(parsers.to_gift(TRICKY))
    assert result.problems == [] and result.unsupported == []
    assert without_lines(result.questions) == without_lines(TRICKY)


def test_to_gift_gives_all_or_nothing_questions_weights_that_moodle_accepts():
    q = ParsedQuestion(line=1, kind="multiple", text="Ba đáp án?", grading="all_or_nothing",
                       options=[O("a", 100), O("b", 100), O("c", 100), O("d", 0)])
    text = parsers.to_gift([q])
    assert "~%34%a" in text and "~%33%b" in text and "~%33%c" in text and "[grading:all-or-nothing]" in text


# Aiken --------------------------------------------------------------------------------------

AIKEN = """Thủ đô của nước Việt Nam
Dân chủ Cộng hòa đặt ở đâu?
A. Hà Nội
B) Huế
C. Sài Gòn
ANSWER: A

Những tỉnh nào thuộc Tây Nguyên?
a) Gia Lai
b) Bình Định
c) Đắk Lắk
ANSWER: A, C
"""


def test_aiken_questions():
    result = parsers.parse_aiken(AIKEN)
    assert result.problems == []
    first, second = result.questions
    assert (first.line, first.kind) == (1, "single")
    assert first.text == "Thủ đô của nước Việt Nam\nDân chủ Cộng hòa đặt ở đâu?"
    assert first.options == [O("Hà Nội", 100), O("Huế"), O("Sài Gòn")]
    assert (second.line, second.kind, second.right_letters) == (8, "multiple", ["A", "C"])


@pytest.mark.parametrize("source, message", [
    ("Câu hỏi?\nA. x\nB. y\n\nCâu khác?\nA. x\nB. y\nANSWER: B",
     "Dòng 1: thiếu dòng 'ANSWER:' sau các phương án của câu hỏi này"),
    ("Câu hỏi?\nA. x\nB. y", "Dòng 1: thiếu dòng 'ANSWER:' sau các phương án của câu hỏi này"),
    ("Câu hỏi?\nA. x\nB. y\nC. z\nANSWER: E",
     "Dòng 1: 'ANSWER: E' ở dòng 5 chỉ phương án E, nhưng các phương án chỉ từ A đến C"),
    ("Câu hỏi?\nA. x\nC. y\nANSWER: A", "Dòng 1: các phương án phải đánh chữ A, B, C… theo thứ tự: dòng 3 ghi C"),
    ("Câu hỏi?\nA. x\nB. y\nANSWER: ", "Dòng 1: dòng 'ANSWER:' (dòng 4) chưa ghi phương án nào"),
    ("Câu hỏi?\nA. x\nANSWER: A", "Dòng 1: có 1 phương án: mỗi câu hỏi cần từ 2 đến 8 phương án"),
    ("ANSWER: A", "Dòng 1: dòng 'ANSWER:' không có câu hỏi nào đứng trước"),
])
def test_aiken_problems_name_the_line(source, message):
    result = parsers.parse_aiken(source)
    assert any(p.startswith(message) for p in problems(result)), problems(result)


def test_aiken_nfd_gives_nfc():
    q = parsers.parse_aiken(unicodedata.normalize("NFD", AIKEN)).questions[0]
    assert q.options[0].text == "Hà Nội" and unicodedata.is_normalized("NFC", q.text)


# Tables -------------------------------------------------------------------------------------

HEAD = ["Câu hỏi", "Phương án A", "Phương án B", "Phương án C", "Phương án D", "Đáp án", "Giải thích", "Độ khó",
        "Chủ đề"]
ROWS = [
    ["Đảng ta ra đời năm nào?", "1925", "1930", "1945", "", "B", "Ngày 03/02/1930.", "Dễ", "Lịch sử, Đảng"],
    ["Chọn các phẩm chất?", "Cần", "Kiệm", "Tham", "Liêm", "A, B, D", "", "trung binh", ""],
    ["Chi bộ là tổ chức cơ sở của Đảng.", "", "", "", "", "Sai", "", "KHÓ", ""],
]


def csv_data(rows, headers=HEAD, delimiter=",", bom=False):
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(headers)
    writer.writerows(rows)
    return (("\ufeff" if bom else "") + out.getvalue()).encode()


def xlsx_data(rows, headers=HEAD):
    wb = Workbook()
    wb.active.append(headers)
    for row in rows:
        wb.active.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def expected_table_questions():
    return [
        ParsedQuestion(line=2, kind="single", text="Đảng ta ra đời năm nào?",
                       options=[O("1925"), O("1930", 100), O("1945")], explanation="Ngày 03/02/1930.",
                       difficulty=1, tags=["Lịch sử", "Đảng"]),
        ParsedQuestion(line=3, kind="multiple", text="Chọn các phẩm chất?",
                       options=[O("Cần", 34), O("Kiệm", 33), O("Tham"), O("Liêm", 33)], difficulty=2),
        ParsedQuestion(line=4, kind="truefalse", text="Chi bộ là tổ chức cơ sở của Đảng.",
                       options=[O("Đúng"), O("Sai", 100)], difficulty=3),
    ]


@pytest.mark.parametrize("data, name", [
    (csv_data(ROWS), "cau-hoi.csv"),
    (csv_data(ROWS, delimiter=";", bom=True), "cau-hoi.csv"),
    (xlsx_data(ROWS), "cau-hoi.xlsx"),
    (xlsx_data(ROWS, headers=[unicodedata.normalize("NFD", h.upper()) for h in HEAD]), "cau-hoi.xlsx"),
    (csv_data(ROWS, headers=["cau hoi", "PA A", "phuong an  b", "C", "Phương án D", "Đáp án đúng", "Lời giải",
                             "Mức độ", "Thẻ"]), "cau-hoi.csv"),
])
def test_tables_in_csv_and_xlsx_with_tolerant_headers(data, name):
    result = parsers.parse_table(data, name)
    assert result.problems == []
    assert result.questions == expected_table_questions()


@pytest.mark.parametrize("row, message", [
    (["Câu?", "x", "y", "z", "", "D", "", "", ""],
     "Dòng 2, cột Đáp án: đáp án D nằm ngoài các phương án đã điền (A–C)"),
    (["Câu?", "x", "", "z", "", "A", "", "", ""],
     "Dòng 2, cột Phương án B: phương án này bị trống trong khi phương án sau có nội dung"),
    (["Câu?", "x", "y", "", "", "K", "", "", ""], "Dòng 2, cột Đáp án: 'K' không phải là đáp án"),
    (["Câu?", "x", "y", "", "", "", "", "", ""], "Dòng 2, cột Đáp án: không được để trống"),
    (["", "x", "y", "", "", "A", "", "", ""], "Dòng 2, cột Câu hỏi: không được để trống"),
    (["Câu?", "x", "y", "", "", "A", "", "rất khó", ""], "Dòng 2, cột Độ khó: 'rất khó' không phải là độ khó"),
    (["Câu?", "x", "", "", "", "A", "", "", ""], "Dòng 2: có 1 phương án: mỗi câu hỏi cần từ 2 đến 8 phương án"),
    (["Câu?", "x", "y", "", "", "Đúng", "", "", ""],
     "Dòng 2, cột Đáp án: 'Đúng' là đáp án của câu hỏi đúng/sai, khi đó các ô phương án phải để trống"),
])
def test_table_problems_name_the_row_and_column(row, message):
    result = parsers.parse_table(xlsx_data([row, ROWS[0]]), "cau-hoi.xlsx")
    assert problems(result)[0].startswith(message), problems(result)
    assert [q.line for q in result.questions] == [3]


def test_table_without_the_required_headers_is_refused_as_a_whole():
    with pytest.raises(parsers.ImportFileError) as info:
        parsers.parse_table(csv_data(ROWS, headers=["Câu hỏi"] + HEAD[1:5]), "cau-hoi.csv")
    assert str(info.value).startswith('Dòng tiêu đề (dòng 1) thiếu cột bắt buộc: "Đáp án".')


def test_table_cells_are_nfc_plain_text():
    row = [unicodedata.normalize("NFD", "<b>Đảng</b> ta <script>x()</script>ra đời năm nào?"),
           "1930", "<a href='javascript:alert(1)'>1945</a>", "", "", "A", "", "", ""]
    q = parsers.parse_table(csv_data([row]), "cau-hoi.csv").questions[0]
    assert q.text == "Đảng ta ra đời năm nào?" and q.options[1].text == "1945"
    assert unicodedata.is_normalized("NFC", q.text)


def test_to_xlsx_round_trips_and_protects_formulas():
    questions = expected_table_questions()
    questions[0].options[0] = O("=1+1 là công thức?")
    questions[0].text = "@Câu hỏi bắt đầu bằng @"
    data = parsers.to_xlsx(questions)
    sheet = load_workbook(io.BytesIO(data)).active
    assert [c.value for c in sheet[1]] == parsers.TABLE_HEADERS
    assert sheet["A2"].value == "'@Câu hỏi bắt đầu bằng @" and sheet["B2"].value == "'=1+1 là công thức?"
    assert not any(isinstance(c.value, str) and c.value.startswith("=") for row in sheet.iter_rows() for c in row)
    again = parsers.parse_table(data, "ngan-hang.xlsx")
    assert again.problems == [] and again.questions == questions


@pytest.mark.parametrize("template, name", [(parsers.template_xlsx, "mau.xlsx"), (parsers.template_csv, "mau.csv")])
def test_templates_hold_the_headers_and_valid_examples(template, name):
    result = parsers.parse_table(template(), name)
    assert result.problems == []
    assert [q.kind for q in result.questions] == ["single", "multiple", "truefalse"]


def test_file_formats_are_guessed_from_the_name_and_a_txt_is_looked_into():
    assert parsers.guess_format("a.gift") == "gift" and parsers.guess_format("b.XLSX") == "xlsx"
    assert parsers.guess_format("c.txt", AIKEN.encode()) == "aiken"
    assert parsers.guess_format("d.txt", b"Q? {=a ~b}") == "gift"
    with pytest.raises(parsers.ImportFileError) as info:
        parsers.parse_file(b"x", "cau-hoi.docx")
    assert "chỉ đọc câu hỏi từ tệp GIFT" in str(info.value)
    with pytest.raises(parsers.ImportFileError) as info:
        parsers.parse_file("Câu hỏi? {=Có ~Không}".encode("cp1258", "replace"), "cau-hoi.gift")  # an old 8-bit encoding
    assert "không dùng bảng mã UTF-8" in str(info.value)
