"""Organiser pages: topics and their question banks, quiz set-up and publishing.

Each handler loads, checks ``quiz.manage`` on what it touches, makes one
domain call with the current user as actor, then flashes and redirects (or
renders the form again with the domain's message next to the field it names).
"""

import io
import os
import math

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms import FieldList

from ..accounts import permissions, roster
from ..accounts.models import Unit, utcnow
from ..errors import DomainError
from ..extensions import client_address
from . import bank, parsers
from . import questions as question_ops
from . import setup as quiz_ops
from . import topics as topic_ops
from .forms import (ConfirmImportForm, ImportForm, PostForm, QuestionFilterForm, QuestionForm, QuizForm, TopicForm,
                    question_form_data, question_input, quiz_form_data, quiz_input, unit_choices)
from .models import AttemptQuestion, Question, Quiz, Topic

quiz_admin = Blueprint("quiz_admin", __name__, url_prefix="/manage")

QUESTIONS_PER_PAGE = 20
BLANK_DRAW_ROWS = 2


@quiz_admin.before_request
@login_required
def _logged_in():
    """Anonymous visitors go to the login page; each view then checks its own permission."""


@quiz_admin.context_processor
def _labels():
    return {"kind_labels": question_ops.KIND_LABELS, "difficulty_labels": question_ops.DIFFICULTY_LABELS,
            "grading_labels": question_ops.GRADING_LABELS, "quiz_kind_labels": quiz_ops.KIND_LABELS,
            "letters": question_ops.LETTERS}


def _actor():
    return current_user._get_current_object()


def _get(model, id_):
    return model.get_or_none(model.id == id_) or abort(404)


def _field_error(form, exc):
    """Show a domain error next to its field; a list of rows (options, draws) shows it above the rows."""
    field = getattr(form, exc.field, None) if exc.field else None
    if isinstance(field, FieldList):
        return {exc.field: str(exc)}
    if field is not None and hasattr(field, "errors"):
        field.errors = list(field.errors) + [str(exc)]
    else:
        flash(str(exc), "error")
    return {}


# Another area that runs a quiz of its own (a contest round) registers here a function quiz -> (title, URL of
# its page) or None: such a quiz is set up from that page, not from the quiz pages.
MANAGED_ELSEWHERE = []


def _managed_elsewhere(quiz):
    """Refuse to change a contest round's quiz here (its rules live with the round): a redirect, or None."""
    if quiz.is_listed:
        return None
    owner = next(filter(None, (where(quiz) for where in MANAGED_ELSEWHERE)), None)
    flash(_("This quiz is a round of a contest: change it from the contest's page."), "error")
    return redirect(owner[1] if owner else url_for(".quizzes"))


def _scope_units():
    """The units the user manages, in tree order."""
    allowed = {u.id for u in permissions.units_for(current_user, "quiz.manage")}
    return [u for u in Unit.in_tree_order() if u.id in allowed]


# ---------------------------------------------------------------- topics


@quiz_admin.route("/")
def index():
    permissions.require(current_user, "quiz.manage")
    return redirect(url_for(".topics"))


@quiz_admin.route("/topics")
def topics():
    permissions.require(current_user, "quiz.manage")
    rows = list(topic_ops.manageable(_actor()))
    return render_template("quiz/manage/topics.html", topics=rows,
                           counts=topic_ops.question_counts([t.id for t in rows]))


def _topic_form(topic=None):
    if topic is None:
        form = TopicForm()
    else:
        form = TopicForm(data={"code": topic.code, "title": topic.title, "year": str(topic.year or ""),
                               "owner_unit": str(topic.owner_unit_id), "description": topic.description})
    units = _scope_units()
    form.owner_unit.choices = unit_choices(units)
    return form, {str(u.id): u for u in units}


@quiz_admin.route("/topics/new", methods=["GET", "POST"])
def new_topic():
    permissions.require(current_user, "quiz.manage")
    form, units = _topic_form()
    if form.validate_on_submit():
        try:
            topic = topic_ops.create_topic(_actor(), form.code.data, form.title.data, form.year.data,
                                           form.description.data, units.get(form.owner_unit.data),
                                           address=client_address())
        except DomainError as exc:
            _field_error(form, exc)
        else:
            flash(_("Topic %(title)s created. Now add its questions.", title=topic.title), "success")
            return redirect(url_for(".topic", topic_id=topic.id))
    return render_template("quiz/manage/topic_form.html", form=form, topic=None)


@quiz_admin.route("/topics/<int:topic_id>/edit", methods=["GET", "POST"])
def edit_topic(topic_id):
    topic = _get(Topic, topic_id)
    permissions.require(current_user, "quiz.manage", topic)
    form, units = _topic_form(topic)
    if form.validate_on_submit():
        try:
            changes = topic_ops.update_topic(_actor(), topic, form.code.data, form.title.data, form.year.data,
                                             form.description.data, units.get(form.owner_unit.data),
                                             address=client_address())
        except DomainError as exc:
            _field_error(form, exc)
            topic = _get(Topic, topic_id)
        else:
            flash(_("Topic %(title)s saved.", title=topic.title) if changes else _("Nothing was changed."),
                  "success" if changes else "info")
            return redirect(url_for(".topic", topic_id=topic.id))
    return render_template("quiz/manage/topic_form.html", form=form, topic=topic)


@quiz_admin.route("/topics/<int:topic_id>")
def topic(topic_id):
    topic = _get(Topic, topic_id)
    permissions.require(current_user, "quiz.manage", topic)
    form = QuestionFilterForm(request.args)
    tags = question_ops.topic_tags(topic)
    form.tag.choices = [("", _("All tags"))] + [(t, t) for t in tags]
    difficulty = form.difficulty.data
    status = form.status.data if form.status.data in ("active", "retired", "all") else "active"
    query = question_ops.search(topic, q=(form.q.data or "").strip() or None,
                                difficulty=int(difficulty) if (difficulty or "").isdigit() else None,
                                kind=form.kind.data if form.kind.data in question_ops.KIND_LABELS else None,
                                tag=form.tag.data or None,
                                active={"active": True, "retired": False}.get(status))
    total = query.count()
    pages = max(1, math.ceil(total / QUESTIONS_PER_PAGE))
    page = min(max(1, request.args.get("page", 1, type=int)), pages)
    rows = list(query.paginate(page, QUESTIONS_PER_PAGE))
    filters = {k: v for k, v in {"q": (form.q.data or "").strip(), "difficulty": difficulty,
                                 "kind": form.kind.data, "tag": form.tag.data,
                                 "status": status if status != "active" else ""}.items() if v}
    return render_template("quiz/manage/topic.html", topic=topic, form=form, rows=rows,
                           options=question_ops.with_options(rows), total=total, page=page, pages=pages,
                           filters=filters, counts=topic_ops.question_counts([topic.id])[topic.id],
                           post_form=PostForm())


# ---------------------------------------------------------------- questions


def _render_question(form, topic, question=None, errors=None):
    uses = (AttemptQuestion.select().where(AttemptQuestion.question == question).count()
            if question is not None else 0)
    return render_template("quiz/manage/question_form.html", form=form, topic=topic, question=question,
                           uses=uses, errors=errors or {}, post_form=PostForm(),
                           replaced_by=question.replaced_by if question is not None and question.replaced_by_id
                           else None)


@quiz_admin.route("/topics/<int:topic_id>/questions/new", methods=["GET", "POST"])
def new_question(topic_id):
    topic = _get(Topic, topic_id)
    permissions.require(current_user, "quiz.manage", topic)
    form = QuestionForm()
    if request.method == "GET":
        form.kind.data, form.grading.data = "single", "all_or_nothing"
        form.difficulty.data = request.args.get("difficulty", "")
    errors = {}
    if form.validate_on_submit():
        try:
            question = question_ops.create_question(_actor(), topic, question_input(form), address=client_address())
        except DomainError as exc:
            errors = _field_error(form, exc)
        else:
            flash(_("Question no. %(id)s added.", id=question.id), "success")
            if request.form.get("then") == "another":
                return redirect(url_for(".new_question", topic_id=topic.id, difficulty=form.difficulty.data or None))
            return redirect(url_for(".topic", topic_id=topic.id, _anchor=f"q{question.id}"))
    return _render_question(form, topic, errors=errors)


@quiz_admin.route("/questions/<int:question_id>", methods=["GET", "POST"])
def edit_question(question_id):
    question = _get(Question, question_id)
    topic = question.topic
    permissions.require(current_user, "quiz.manage", topic)
    if request.method == "GET":
        return _render_question(QuestionForm(data=question_form_data(question)), topic, question)
    form = QuestionForm()
    errors = {}
    if form.validate_on_submit():
        try:
            saved = question_ops.update_question(_actor(), question, question_input(form), address=client_address())
        except DomainError as exc:
            errors = _field_error(form, exc)
        else:
            if saved.id != question.id:
                flash(_("Members have already answered question no. %(old)s, so your edit was saved as a new "
                        "version, no. %(new)s. Past attempts keep the old wording.", old=question.id, new=saved.id),
                      "success")
            else:
                flash(_("Question no. %(id)s saved.", id=saved.id), "success")
            return redirect(url_for(".topic", topic_id=topic.id, _anchor=f"q{saved.id}"))
    return _render_question(form, topic, question, errors)


@quiz_admin.route("/questions/<int:question_id>/retire", methods=["POST"])
def retire_question(question_id):
    question = _get(Question, question_id)
    permissions.require(current_user, "quiz.manage", question.topic)
    if not PostForm().validate_on_submit():
        abort(400)
    try:
        question_ops.retire_question(_actor(), question, address=client_address())
    except DomainError as exc:
        flash(str(exc), "error")
    else:
        flash(_("Question no. %(id)s is retired: new attempts will not draw it.", id=question.id), "success")
    return redirect(url_for(".topic", topic_id=question.topic_id))


@quiz_admin.route("/questions/<int:question_id>/restore", methods=["POST"])
def restore_question(question_id):
    question = _get(Question, question_id)
    permissions.require(current_user, "quiz.manage", question.topic)
    if not PostForm().validate_on_submit():
        abort(400)
    try:
        question_ops.restore_question(_actor(), question, address=client_address())
    except DomainError as exc:
        flash(str(exc), "error")
    else:
        flash(_("Question no. %(id)s is in use again.", id=question.id), "success")
    return redirect(url_for(".topic", topic_id=question.topic_id, _anchor=f"q{question.id}"))


# ---------------------------------------------------------------- quizzes


@quiz_admin.route("/quizzes")
def quizzes():
    permissions.require(current_user, "quiz.manage")
    rows = list(quiz_ops.manageable(_actor()))
    return render_template("quiz/manage/quizzes.html", quizzes=rows,
                           attempts=quiz_ops.attempt_counts([q.id for q in rows]))


def _quiz_choices(form):
    """Fill the selects of a QuizForm; returns the units and topics the user may choose, by id."""
    units = _scope_units()
    form.owner_unit.choices = unit_choices(units)
    form.audience.choices = unit_choices(units)
    topic_rows = list(topic_ops.manageable(_actor()))
    topic_choices = [("", _("— Choose a topic —"))] + [
        (str(t.id), f"{t.code} – {t.title}" + (f" ({t.year})" if t.year else "")) for t in topic_rows]
    while len(form.draws.entries) < len([e for e in form.draws if e.topic.data]) + BLANK_DRAW_ROWS \
            and len(form.draws.entries) < form.draws.max_entries:
        form.draws.append_entry()
    for entry in form.draws:
        entry.topic.choices = topic_choices
    return {str(u.id): u for u in units}, {str(t.id): t for t in topic_rows}


def _render_quiz(form, quiz=None, errors=None):
    """The quiz form with what it shows beside the fields; ``form``'s selects are already filled."""
    stored = quiz_ops.QuizInput.of(quiz) if quiz is not None else None
    counts = topic_ops.question_counts([int(e.topic.data) for e in form.draws if (e.topic.data or "").isdigit()])
    return render_template(
        "quiz/manage/quiz_form.html", form=form, quiz=quiz, stored=stored, errors=errors or {},
        post_form=PostForm(), topic_counts=counts, audience_units=_scope_units(),
        attempts=quiz_ops.attempt_counts([quiz.id]).get(quiz.id, 0) if quiz is not None else 0,
        question_total=quiz_ops.question_total(stored) if stored else 0,
        grading_method_labels=quiz_ops.GRADING_METHOD_LABELS, review_labels=quiz_ops.REVIEW_LABELS)


@quiz_admin.route("/quizzes/new", methods=["GET", "POST"])
def new_quiz():
    permissions.require(current_user, "quiz.manage")
    form = QuizForm()
    units, topic_map = _quiz_choices(form)
    errors = {}
    if form.validate_on_submit():
        try:
            quiz = quiz_ops.create_quiz(_actor(), quiz_input(form, units, topic_map), address=client_address())
        except DomainError as exc:
            errors = _field_error(form, exc)
        else:
            flash(_("Quiz %(title)s created. Check it, then publish it when it is ready.", title=quiz.title),
                  "success")
            return redirect(url_for(".edit_quiz", quiz_id=quiz.id))
    return _render_quiz(form, errors=errors)


@quiz_admin.route("/quizzes/<int:quiz_id>", methods=["GET", "POST"])
def edit_quiz(quiz_id):
    quiz = _get(Quiz, quiz_id)
    permissions.require(current_user, "quiz.manage", quiz)
    elsewhere = _managed_elsewhere(quiz)
    if elsewhere is not None:
        return elsewhere
    if request.method == "GET":
        form = QuizForm(data=quiz_form_data(quiz_ops.QuizInput.of(quiz)))
        _quiz_choices(form)
        return _render_quiz(form, quiz)
    form = QuizForm()
    units, topic_map = _quiz_choices(form)
    errors = {}
    if form.validate_on_submit():
        try:
            changes = quiz_ops.update_quiz(_actor(), quiz, quiz_input(form, units, topic_map),
                                           address=client_address())
        except DomainError as exc:
            errors = _field_error(form, exc)
            quiz = _get(Quiz, quiz_id)
        else:
            flash(_("Quiz %(title)s saved.", title=quiz.title) if changes else _("Nothing was changed."),
                  "success" if changes else "info")
            return redirect(url_for(".edit_quiz", quiz_id=quiz.id))
    return _render_quiz(form, quiz, errors)


@quiz_admin.route("/quizzes/<int:quiz_id>/publish", methods=["POST"])
def publish_quiz(quiz_id):
    quiz = _get(Quiz, quiz_id)
    permissions.require(current_user, "quiz.manage", quiz)
    elsewhere = _managed_elsewhere(quiz)
    if elsewhere is not None:
        return elsewhere
    if not PostForm().validate_on_submit():
        abort(400)
    try:
        quiz_ops.publish(_actor(), quiz, address=client_address())
    except DomainError as exc:
        flash(_("Not published. %(reason)s", reason=str(exc)), "error")
    else:
        flash(_("Quiz %(title)s is published.", title=quiz.title), "success")
    return redirect(url_for(".edit_quiz", quiz_id=quiz.id))


@quiz_admin.route("/quizzes/<int:quiz_id>/unpublish", methods=["POST"])
def unpublish_quiz(quiz_id):
    quiz = _get(Quiz, quiz_id)
    permissions.require(current_user, "quiz.manage", quiz)
    elsewhere = _managed_elsewhere(quiz)
    if elsewhere is not None:
        return elsewhere
    if not PostForm().validate_on_submit():
        abort(400)
    quiz_ops.unpublish(_actor(), quiz, address=client_address())
    flash(_("Quiz %(title)s is hidden: members can no longer start it. Attempts already made are kept.",
            title=quiz.title), "success")
    return redirect(url_for(".edit_quiz", quiz_id=quiz.id))


# ---------------------------------------------------------------- import and export

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PREVIEW_NEW_ROWS = 100  # a big file's preview lists every problem but only the first new questions


def _uploads():
    return os.path.join(current_app.instance_path, "question-imports")


def _import_page(topic, form):
    return render_template("quiz/manage/import.html", topic=topic, form=form,
                           max_mb=(current_app.config.get("MAX_CONTENT_LENGTH") or 0) // (1024 * 1024))


def _preview_page(topic, plan, filename, confirm=None):
    shown, new = [], 0
    for row in plan.rows:
        if row.action == "create":
            new += 1
            if new > PREVIEW_NEW_ROWS:
                continue
        shown.append(row)
    return render_template("quiz/manage/import_preview.html", topic=topic, plan=plan, filename=filename,
                           confirm=confirm, rows=shown, hidden_new=max(0, new - PREVIEW_NEW_ROWS),
                           action_label=bank.action_label)


@quiz_admin.route("/topics/<int:topic_id>/import", methods=["GET", "POST"])
def import_questions(topic_id):
    topic = _get(Topic, topic_id)
    permissions.require(current_user, "quiz.manage", topic)
    form = ImportForm()
    if not form.validate_on_submit():
        return _import_page(topic, form)
    upload = form.file.data
    data, filename = upload.read(), upload.filename or "cau-hoi"
    fmt = form.format.data if form.format.data in parsers.FORMATS else None
    try:
        parsed = parsers.parse_file(data, filename, fmt)
    except DomainError as exc:
        form.file.errors = [str(exc)]
        return _import_page(topic, form)
    plan = bank.preview_import(topic, parsed)
    confirm = None
    if not plan.rejected and plan.counts["create"]:
        token, digest = roster.store_upload(_uploads(), data, filename, current_user.id, utcnow())
        confirm = ConfirmImportForm(formdata=None, token=token, sha256=digest, format=fmt or "")
    return _preview_page(topic, plan, filename, confirm)


@quiz_admin.route("/topics/<int:topic_id>/import/confirm", methods=["POST"])
def confirm_import(topic_id):
    topic = _get(Topic, topic_id)
    permissions.require(current_user, "quiz.manage", topic)
    form = ConfirmImportForm()
    if not form.validate_on_submit():
        flash(_("The confirmation is incomplete. Please upload the file again."), "error")
        return redirect(url_for(".import_questions", topic_id=topic.id))
    folder, token = _uploads(), form.token.data
    try:
        data, filename = roster.load_upload(folder, token, form.sha256.data, current_user.id)
        parsed = parsers.parse_file(data, filename, form.format.data or None)
        result = bank.apply_import(topic, parsed, _actor(), address=client_address(), filename=filename)
    except bank.ImportRejected as exc:
        roster.discard_upload(folder, token)
        flash(str(exc), "error")
        return _preview_page(topic, exc.plan, filename), 409
    except DomainError as exc:
        flash(str(exc), "error")
        return redirect(url_for(".import_questions", topic_id=topic.id))
    roster.discard_upload(folder, token)
    counts = result.plan.counts
    flash(_("Import done: %(created)s new questions, %(duplicates)s duplicates skipped, %(unsupported)s not "
            "supported.", created=result.created, duplicates=counts["duplicate"],
            unsupported=counts["unsupported"]), "success")
    return redirect(url_for(".topic", topic_id=topic.id))


@quiz_admin.route("/import/template.<fmt>")
def import_template(fmt):
    permissions.require(current_user, "quiz.manage")
    if fmt == "xlsx":
        content, mimetype = parsers.template_xlsx(), XLSX
    elif fmt == "csv":
        content, mimetype = parsers.template_csv(), "text/csv; charset=utf-8"
    else:
        abort(404)
    return send_file(io.BytesIO(content), mimetype=mimetype, as_attachment=True,
                     download_name=f"mau-ngan-hang-cau-hoi.{fmt}")


@quiz_admin.route("/topics/<int:topic_id>/export.<fmt>")
def export_questions(topic_id, fmt):
    topic = _get(Topic, topic_id)
    permissions.require(current_user, "quiz.manage", topic)
    if fmt == "gift":
        export, mimetype = bank.export_gift(topic), "text/plain; charset=utf-8"
    elif fmt == "xlsx":
        export, mimetype = bank.export_xlsx(topic), XLSX
    else:
        abort(404)
    suffix = "gift.txt" if fmt == "gift" else "xlsx"
    return send_file(io.BytesIO(export.content), mimetype=mimetype, as_attachment=True,
                     download_name=f"cau-hoi-{topic.code}.{suffix}")
