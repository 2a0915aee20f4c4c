"""Question bank benchmarks: read a 5,000-question GIFT file, preview it, import it in one transaction."""

import itertools

from bench.foundation import instance, timed

N_QUESTIONS = 5000


def gift_file(n=N_QUESTIONS, seed=0):
    """A GIFT bank of ``n`` Vietnamese questions: single choice with feedback, weighted multiple choice,
    true/false, with titles, tags, difficulties and a few escapes; texts differ by ``seed``."""
    blocks = ["$CATEGORY: Chuyên đề năm 2025/Học tập và làm theo tư tưởng, đạo đức, phong cách Hồ Chí Minh\n"]
    difficulties = itertools.cycle(("Dễ", "Trung bình", "Khó"))
    for i in range(n):
        head = f"// [tag:Chuyên đề {i % 12 + 1}] [difficulty:{next(difficulties)}]\n::Câu {seed}-{i}::"
        if i % 3 == 0:
            blocks.append(
                f"{head}Theo Chỉ thị số {i} (đợt {seed}), nhiệm vụ trọng tâm của chi bộ \\: nội dung nào sau đây? {{\n"
                f"\t~Tổ chức học tập chuyên đề {i} hằng tháng#Chưa đủ.\n"
                f"\t=Đưa việc học tập và làm theo gương Bác thành việc làm thường xuyên {i}#Chính xác.\n"
                f"\t~Chỉ tổ chức khi có đợt thi đua {i}\n"
                f"\t~Giao cho đoàn thanh niên thực hiện {i}\n"
                f"\t####Xem Kết luận số 01-KL/TW ngày 18/5/2021.\n}}\n")
        elif i % 3 == 1:
            blocks.append(
                f"{head}Những phẩm chất nào thuộc đạo đức cách mạng (câu {seed}-{i})? {{\n"
                f"\t~%50%Cần, kiệm, liêm, chính {i}\n\t~%50%Chí công vô tư {i}\n"
                f"\t~%-100%Cá nhân chủ nghĩa {i}\n\t~Quan liêu, xa dân {i}\n}}\n")
        else:
            blocks.append(f"{head}Chi bộ là hạt nhân chính trị ở cơ sở (mệnh đề {seed}-{i}).{{TRUE#Chưa đúng.#Đúng.}}\n")
    return "\n".join(blocks)


def bench_gift_import():
    from portal.accounts.models import Unit
    from portal.quiz import bank, parsers
    from portal.quiz.models import Question, Topic

    results = []
    with instance() as app:
        with app.extensions["portal_db"].connection_context():
            text = gift_file()
            size = len(text.encode()) // 1024

            def parse(i):
                result = parsers.parse_gift(text)
                assert len(result.questions) == N_QUESTIONS and not result.problems, result.problems[:3]

            results.append(timed(f"parse GIFT, {N_QUESTIONS:,} questions ({size:,} KiB)", 5, parse))

            owner = Unit.select().first()
            parsed = parsers.parse_gift(text)
            preview_topic = Topic.create(code="BENCH-PREVIEW", title="Bench", owner_unit=owner)

            def preview(i):
                assert bank.preview_import(preview_topic, parsed).counts["create"] == N_QUESTIONS

            results.append(timed(f"preview import, {N_QUESTIONS:,} questions", 5, preview))

            def apply(i):
                topic = Topic.create(code=f"BENCH-{i}", title=f"Bench {i}", owner_unit=owner)
                result = bank.apply_import(topic, parsers.parse_gift(gift_file(seed=i + 1)), None)
                assert result.created == N_QUESTIONS
                assert Question.select().where(Question.topic == topic).count() == N_QUESTIONS

            results.append(timed(f"parse + import in one transaction, {N_QUESTIONS:,} questions", 3, apply))

            full = Topic.get(Topic.code == "BENCH-0")
            results.append(timed(f"export GIFT, {N_QUESTIONS:,} questions", 3, lambda i: bank.export_gift(full)))
            results.append(timed(f"export XLSX, {N_QUESTIONS:,} questions", 3, lambda i: bank.export_xlsx(full)))
    return results
