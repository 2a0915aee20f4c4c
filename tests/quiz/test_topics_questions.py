"""Topics and questions: validation with Vietnamese messages, duplicates, versioning of used questions."""

import dataclasses
import datetime as dt
import itertools

import pytest

from portal.accounts.models import AuditLog
from portal.errors import DomainError
from portal.quiz import questions as q_ops
from portal.quiz import topics as topic_ops
from portal.quiz.models import Attempt, AttemptQuestion, Question, Quiz, QuizQuestion
from portal.quiz.questions import OptionInput, QuestionInput
from tests.conftest import reload

_codes = itertools.count(1)
NOW = dt.datetime(2025, 3, 1, 8, 0)


def single(text="Đảng Cộng sản Việt Nam được thành lập năm nào?", right=0, n=4, **kw):
    options = [OptionInput(f"Phương án {i + 1} cho câu {text[:10]}", 100 if i == right else 0) for i in range(n)]
    return QuestionInput(kind="single", text=text, options=options, **kw)


@pytest.fixture
def district(make_unit):
    return make_unit("HU", "Đảng bộ huyện Hòa Vang", "committee")


@pytest.fixture
def make_topic(app, district):
    def make_topic(owner=None, code=None, **kw):
        return topic_ops.create_topic(None, code or f"CD{next(_codes)}", kw.pop("title", "Chuyên đề năm 2025"),
                                      kw.pop("year", 2025), owner_unit=owner or district, **kw)

    return make_topic


@pytest.fixture
def make_question(make_topic):
    def make_question(topic=None, text=None, **kw):
        topic = topic or make_topic()
        return q_ops.create_question(None, topic, single(text or f"Câu hỏi số {next(_codes)}?", **kw))

    return make_question


def draw_into_attempt(question, user=None):
    """Record that an attempt drew ``question`` (what the engine does at start)."""
    quiz = Quiz.create(title="Bài thi thử", owner_unit=question.topic.owner_unit)
    attempt = Attempt.create(quiz=quiz, user=user, number=1, started_at=NOW)
    ids = ",".join(str(o.id) for o in q_ops.ordered_options(question))
    return AttemptQuestion.create(attempt=attempt, position=0, question=question, option_order=ids)


def message(exc_info):
    return str(exc_info.value)


# -- normalised text ----------------------------------------------------------------------------

def test_normalise_for_match_folds_case_composition_and_spaces():
    nfd = "Đảng  bộ\nxã   HÒA Vang".replace("ả", "a\u0309")
    assert q_ops.normalise_for_match(nfd) == q_ops.normalise_for_match("đảng bộ xã hòa vang") == "đảng bộ xã hòa vang"


# -- topics -------------------------------------------------------------------------------------

def test_create_topic_records_an_audit_entry(app, district, make_user):
    organiser = make_user(role="organiser", scope=district)
    topic = topic_ops.create_topic(organiser, "CD2025", "  Học tập   và làm theo  ", "2025", "Mô tả", district,
                                   address="10.0.0.1")
    assert (topic.title, topic.year) == ("Học tập và làm theo", 2025)
    entry = AuditLog.get(AuditLog.action == "topic.create")
    assert entry.actor_id == organiser.id and "CD2025" in entry.target


@pytest.mark.parametrize("code, title, year, field, text", [
    ("CĐ 2025", "Chuyên đề", None, "code", "Mã chuyên đề:"),
    ("CD1", "", None, "title", "Tên chuyên đề: "),
    ("CD1", "Chuyên đề", "năm nay", "year", "Năm:"),
])
def test_topic_validation_names_the_field(app, district, code, title, year, field, text):
    with pytest.raises(DomainError) as exc:
        topic_ops.create_topic(None, code, title, year, owner_unit=district)
    assert exc.value.field == field and message(exc).startswith(text)


def test_topic_code_is_unique(make_topic):
    make_topic(code="CD2025")
    with pytest.raises(DomainError, match="Mã chuyên đề: mã CD2025 đã được dùng"):
        make_topic(code="CD2025")


def test_organiser_cannot_own_a_topic_outside_scope(app, district, make_unit, make_user):
    other = make_unit("HV", "Đảng bộ huyện khác", "committee")
    organiser = make_user(role="organiser", scope=district)
    with pytest.raises(DomainError) as exc:
        topic_ops.create_topic(organiser, "CD1", "Chuyên đề", 2025, owner_unit=other)
    assert exc.value.field == "owner_unit"


def test_update_topic_returns_changes_only(make_topic):
    topic = make_topic(code="CD1", title="Cũ")
    assert topic_ops.update_topic(None, topic, "CD1", "Mới", 2025, "", topic.owner_unit) == {"title": ["Cũ", "Mới"]}
    assert topic_ops.update_topic(None, topic, "CD1", "Mới", 2025, "", topic.owner_unit) == {}


def test_question_counts_by_difficulty_leave_out_retired(make_topic, make_question):
    topic = make_topic()
    make_question(topic, difficulty=1)
    make_question(topic, difficulty=1)
    make_question(topic, difficulty=3)
    q_ops.retire_question(None, make_question(topic, difficulty=3))
    make_question(topic)
    assert topic_ops.question_counts([topic.id])[topic.id] == {1: 2, 3: 1, None: 1}


# -- question validation ------------------------------------------------------------------------

def test_create_single_choice_question_stores_options_in_order(make_topic):
    topic = make_topic()
    question = q_ops.create_question(None, topic, QuestionInput(
        kind="single", text="Thủ đô của Việt Nam?", difficulty="2", tags="địa lý, , Địa lý,  thủ đô ",
        options=[OptionInput("Hà Nội", 100), OptionInput("Huế"), OptionInput("Sài Gòn", 0, "Không phải")]))
    stored = reload(question)
    assert stored.normalised_text == "thủ đô của việt nam?" and stored.difficulty == 2
    assert stored.tags == "địa lý, thủ đô"
    assert [(o.text, o.weight, o.feedback) for o in q_ops.ordered_options(stored)] == [
        ("Hà Nội", 100, ""), ("Huế", 0, ""), ("Sài Gòn", 0, "Không phải")]


@pytest.mark.parametrize("data, text", [
    (QuestionInput(kind="single", text="   ", options=[]), "Nội dung câu hỏi: "),
    (QuestionInput(kind="single", text="Câu?", options=[OptionInput("A", 100)]), "ít nhất 2 phương án"),
    (QuestionInput(kind="single", text="Câu?", options=[OptionInput(f"{i}", 100 * (i == 0)) for i in range(9)]),
     "tối đa 8 phương án"),
    (QuestionInput(kind="single", text="Câu?", options=[OptionInput("Một"), OptionInput("Hai")]),
     "ít nhất một phương án đúng"),
    (QuestionInput(kind="single", text="Câu?", options=[OptionInput("Một", 100), OptionInput("Hai", 100)]),
     "đúng một phương án đúng (đang có: A, B)"),
    (QuestionInput(kind="single", text="Câu?", options=[OptionInput("Một", 100), OptionInput("")]),
     "Phương án B: "),
    (QuestionInput(kind="single", text="Câu?", options=[OptionInput("Một", 100), OptionInput("  một ")]),
     "Phương án B trùng với Phương án A"),
    (QuestionInput(kind="multiple", text="Câu?", grading="partial",
                   options=[OptionInput("Một", 50), OptionInput("Hai", 40), OptionInput("Ba")]),
     "cộng lại phải bằng 100% (hiện là 90%)"),
    (QuestionInput(kind="single", text="Câu?", options=[OptionInput("Một", 100), OptionInput("Hai", 150)]),
     "Phương án B: trọng số"),
    (QuestionInput(kind="single", text="Câu?", difficulty=7, options=[OptionInput("Một", 100), OptionInput("Hai")]),
     "Độ khó: "),
])
def test_question_validation_names_the_field_or_option(make_topic, data, text):
    topic = make_topic()
    with pytest.raises(DomainError) as exc:
        q_ops.create_question(None, topic, data)
    assert text in message(exc)
    assert Question.select().count() == 0


def test_true_false_question_gets_the_two_fixed_options(make_topic):
    question = q_ops.create_question(None, make_topic(), QuestionInput(
        kind="truefalse", text="Chi bộ là tổ chức cơ sở của Đảng.", options=q_ops.truefalse_options(False)))
    assert [(o.text, o.is_correct) for o in q_ops.ordered_options(question)] == [("Đúng", False), ("Sai", True)]


def test_partial_credit_shares_what_typed_weights_leave(make_topic):
    options = q_ops.options_from_marks("multiple", "partial", [
        ("Một", True, "", ""), ("Hai", True, "", ""), ("Ba", True, "", ""), ("Bốn", False, "-50", ""),
        ("", False, "", "")])
    assert [o.weight for o in options] == [34, 33, 33, -50]
    question = q_ops.create_question(None, make_topic(), QuestionInput(
        kind="multiple", text="Chọn các ý đúng", grading="partial", options=options))
    assert question.grading == "partial"


def test_a_wrong_option_with_a_positive_weight_is_refused(app):
    with pytest.raises(DomainError, match="Phương án B: hãy đánh dấu là đúng"):
        q_ops.options_from_marks("multiple", "partial", [("Một", True, "", ""), ("Hai", False, "20", "")])


def test_all_or_nothing_ignores_typed_weights(make_topic):
    options = q_ops.options_from_marks("multiple", "all_or_nothing",
                                       [("Một", True, "30", ""), ("Hai", True, "", ""), ("Ba", False, "", "")])
    assert [o.weight for o in options] == [100, 100, 0]


def test_duplicate_text_in_the_same_topic_is_refused_but_not_in_another(make_topic, make_question):
    topic = make_topic()
    first = make_question(topic, text="Đảng ta   ra đời năm nào?")
    with pytest.raises(DomainError, match=f"số {first.id}") as exc:
        make_question(topic, text="ĐẢNG TA ra đời năm nào?".replace("ả", "a\u0309"))
    assert exc.value.field == "text"
    make_question(make_topic(), text="Đảng ta ra đời năm nào?")


# -- editing and versioning ---------------------------------------------------------------------

def test_unused_question_is_edited_in_place(make_question):
    question = make_question(text="Câu cũ?")
    saved = q_ops.update_question(None, question, single("Câu mới?", right=2))
    assert saved.id == question.id and Question.select().count() == 1
    stored = reload(question)
    assert stored.text == "Câu mới?" and stored.normalised_text == "câu mới?" and stored.is_active
    assert [o.is_correct for o in q_ops.ordered_options(stored)] == [False, False, True, False]
    assert AuditLog.select().where(AuditLog.action == "question.update").count() == 1


def test_question_used_by_an_attempt_gets_a_new_version(make_question):
    question = make_question(text="Câu cũ?")
    drawn = draw_into_attempt(question)
    old_option_ids = drawn.option_order

    saved = q_ops.update_question(None, question, single("Câu mới?", right=1), now=NOW)

    assert saved.id != question.id and saved.is_active and saved.text == "Câu mới?"
    old = reload(question)
    assert not old.is_active and old.replaced_by_id == saved.id and old.text == "Câu cũ?"
    # The attempt still shows exactly what it drew.
    assert reload(drawn).question_id == old.id
    assert ",".join(str(o.id) for o in q_ops.ordered_options(old)) == old_option_ids
    assert [o.is_correct for o in q_ops.ordered_options(saved)] == [False, True, False, False]
    assert AuditLog.get(AuditLog.action == "question.new_version").target.startswith(f"question:{saved.id}")


def test_new_version_takes_the_old_ones_place_in_fixed_lists(make_question):
    question = make_question()
    quiz = Quiz.create(title="Bài cố định", owner_unit=question.topic.owner_unit)
    QuizQuestion.create(quiz=quiz, question=question, position=0)
    draw_into_attempt(question)
    saved = q_ops.update_question(None, question, single("Đã sửa?"))
    assert [qq.question_id for qq in QuizQuestion.select().where(QuizQuestion.quiz == quiz)] == [saved.id]


def test_saving_without_a_change_keeps_the_question(make_question):
    question = make_question(text="Không đổi?", right=1)
    draw_into_attempt(question)
    again = q_ops.update_question(None, question, q_ops.QuestionInput.of(question))
    assert again.id == question.id and reload(question).is_active


def test_a_retired_question_cannot_be_edited(make_question):
    question = q_ops.retire_question(None, make_question())
    with pytest.raises(DomainError, match="đã ngừng dùng"):
        q_ops.update_question(None, question, single("Sửa?"))


def test_retire_and_restore(make_question):
    question = make_question()
    q_ops.retire_question(None, question)
    assert not reload(question).is_active
    q_ops.restore_question(None, question)
    assert reload(question).is_active
    assert [e.action for e in AuditLog.select().order_by(AuditLog.id)][-2:] == ["question.retire", "question.restore"]


def test_a_question_in_a_fixed_list_cannot_be_retired(make_question):
    question = make_question()
    quiz = Quiz.create(title="Bài thi tháng 3", owner_unit=question.topic.owner_unit)
    QuizQuestion.create(quiz=quiz, question=question, position=0)
    with pytest.raises(DomainError, match="Bài thi tháng 3"):
        q_ops.retire_question(None, question)


def test_a_replaced_question_cannot_be_restored(make_question):
    question = make_question()
    draw_into_attempt(question)
    new = q_ops.update_question(None, question, single("Bản mới?"))
    with pytest.raises(DomainError, match=f"số {new.id}"):
        q_ops.restore_question(None, reload(question))


def test_search_by_words_number_tag_kind_and_difficulty(make_topic, make_question):
    topic = make_topic()
    a = make_question(topic, text="Điều lệ Đảng quy định gì?", tags="điều lệ, năm 2025", difficulty=1)
    b = make_question(topic, text="Nghị quyết Trung ương 4?", tags="nghị quyết", difficulty=3)
    assert [q.id for q in q_ops.search(topic, q="ĐIỀU LỆ")] == [a.id]
    assert [q.id for q in q_ops.search(topic, q=f"#{b.id}")] == [b.id]
    assert [q.id for q in q_ops.search(topic, tag="năm 2025")] == [a.id]
    assert [q.id for q in q_ops.search(topic, tag="năm")] == []
    assert [q.id for q in q_ops.search(topic, difficulty=3)] == [b.id]
    assert [q.id for q in q_ops.search(topic, kind="multiple")] == []
    assert q_ops.topic_tags(topic) == ["điều lệ", "năm 2025", "nghị quyết"]


def test_labels_of_a_used_question_change_in_place(make_question):
    question = make_question(text="Câu đã dùng?", difficulty=1)
    drawn = draw_into_attempt(question)
    options = drawn.option_order
    edit = dataclasses.replace(q_ops.QuestionInput.of(question), difficulty=3, tags="khó", title="Câu khó")
    saved = q_ops.update_question(None, question, edit)
    assert saved.id == question.id and reload(question).is_active
    assert (reload(question).difficulty, reload(question).tags) == (3, "khó")
    assert ",".join(str(o.id) for o in q_ops.ordered_options(reload(question))) == options


def test_single_choice_keeps_a_partial_credit_through_the_form(app, make_topic):
    from portal.quiz.forms import question_form_data

    question = q_ops.create_question(None, make_topic(), QuestionInput(
        kind="single", text="Năm thành lập Đảng?", options=[OptionInput("1930", 100), OptionInput("1929", 50),
                                                            OptionInput("1945")]))
    rows = question_form_data(question)["options"]
    assert [(r["correct"], r["weight"]) for r in rows] == [(True, ""), (False, "50"), (False, "")]
    again = q_ops.options_from_marks("single", "all_or_nothing",
                                     [(r["text"], r["correct"], r["weight"], r["feedback"]) for r in rows])
    assert [o.weight for o in again] == [100, 50, 0]
