"""Exemplary models' pages: the organiser's stories page (/manage/pledges/<period>/stories: write, publish,
withdraw, compile the yearbook PDF) and the showcase members read (/pledges/<period>/exemplary).

Who sees the organiser's pages is who sees the period's board (``overview.board_roots``); a story is
changed by who manages its unit, read by who sees the showcase once published (``accounts.permissions``).
"""

import io

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..accounts import permissions
from ..accounts.models import Unit, utcnow
from ..certificates.models import Asset
from ..errors import DomainError
from ..extensions import client_address
from . import exemplary, overview, workflow, yearbook
from .blueprints import pledge_admin, pledges
from .forms import StoryForm
from .models import ExemplaryStory, PledgePeriod

PHOTO_MAX_AGE = 86_400  # a stored photo never changes (a new upload is a new Asset, a new URL)


def _actor():
    return current_user._get_current_object()


def _load(period_id):
    period = PledgePeriod.get_or_none(PledgePeriod.id == period_id) or abort(404)
    roots = overview.board_roots(current_user, period)
    if not roots:
        abort(403)
    return period, roots


def _story(story_id):
    story = ExemplaryStory.get_or_none(ExemplaryStory.id == story_id)
    if story is None or not permissions.can(current_user, "story.manage", story):
        abort(404)
    return story


@pledge_admin.route("/<int:period_id>/stories")
def stories_page(period_id):
    period, roots = _load(period_id)
    everyone = request.args.get("all") == "1"
    entries = exemplary.entries(period, roots, everyone=everyone)
    written = {e.story.id for e in entries if e.story}
    # Stories whose pledge no longer lists (e.g. the member left): still shown, to withdraw or delete.
    every = exemplary.stories(period, roots)
    others = [s for s in every if s.id not in written]
    published = [s for s in every if s.published]
    return render_template("pledges/manage/stories.html", period=period, entries=entries, others=others,
                           published=published, everyone=everyone, level_labels=workflow.LEVEL_LABELS,
                           kind_labels=workflow.KIND_LABELS, default_title=yearbook.default_title(period))


def _render_form(period, form, candidate=None, story=None, status=200):
    return render_template("pledges/manage/story_form.html", period=period, form=form, candidate=candidate,
                           story=story), status


def _form_error(form, exc):
    field = getattr(form, exc.field or "", None)
    if field is not None and hasattr(field, "errors"):
        field.errors = [*field.errors, str(exc)]
    else:
        flash(str(exc), "error")


@pledge_admin.route("/<int:period_id>/stories/new", methods=["GET", "POST"])
def new_story(period_id):
    period, roots = _load(period_id)
    pledge_id = request.values.get("pledge", type=int)
    candidate = exemplary.candidate(period, roots, pledge_id) or abort(404)
    if request.method == "GET":
        return _render_form(period, StoryForm(data=exemplary.draft(candidate, period)), candidate)
    form = StoryForm()
    if not form.validate():  # the CSRF token
        return _render_form(period, form, candidate, status=400)
    try:
        story = exemplary.create(_actor(), period, candidate.pledge.id, form.values(), utcnow(), photo=form.upload(),
                                 address=client_address())
    except DomainError as exc:
        _form_error(form, exc)
        return _render_form(period, form, candidate, status=400)
    flash(_("The story of %(name)s is saved. Publish it to show it on the showcase.", name=story.name), "success")
    return redirect(url_for(".stories_page", period_id=period.id, _anchor=f"story-{story.id}"))


@pledge_admin.route("/stories/<int:story_id>/edit", methods=["GET", "POST"])
def edit_story(story_id):
    story = _story(story_id)
    period = story.period
    if request.method == "GET":
        data = {name: getattr(story, name) for name in exemplary.TEXT_FIELDS}
        return _render_form(period, StoryForm(data=data), story=story)
    form = StoryForm()
    if not form.validate():
        return _render_form(period, form, story=story, status=400)
    try:
        exemplary.update(_actor(), story, form.values(), utcnow(), photo=form.upload(),
                         remove_photo=bool(form.remove_photo.data), address=client_address())
    except DomainError as exc:
        _form_error(form, exc)
        return _render_form(period, form, story=story, status=400)
    flash(_("The story of %(name)s is saved.", name=story.name), "success")
    return redirect(url_for(".stories_page", period_id=period.id, _anchor=f"story-{story.id}"))


@pledge_admin.route("/stories/<int:story_id>/publish", methods=["POST"])
def publish_story(story_id):
    story = _story(story_id)
    publish = request.form.get("published") == "1"
    exemplary.set_published(_actor(), story, publish, utcnow(), address=client_address())
    flash(_("%(name)s is on the showcase.", name=story.name) if publish
          else _("%(name)s is withdrawn from the showcase.", name=story.name), "success")
    return redirect(url_for(".stories_page", period_id=story.period_id, _anchor=f"story-{story.id}"))


@pledge_admin.route("/stories/<int:story_id>/delete", methods=["POST"])
def delete_story(story_id):
    story = _story(story_id)
    period_id, name = story.period_id, story.name
    exemplary.delete(_actor(), story, address=client_address())
    flash(_("The story of %(name)s is deleted.", name=name), "success")
    return redirect(url_for(".stories_page", period_id=period_id))


@pledge_admin.route("/<int:period_id>/yearbook.pdf", methods=["POST"])
def yearbook_pdf(period_id):
    """The ticked published stories compiled into the yearbook; nothing is stored."""
    period, roots = _load(period_id)
    try:
        chosen = exemplary.selection(period, roots, request.form.getlist("story", type=int))
    except DomainError as exc:
        flash(_("No yearbook was made. %(reason)s", reason=str(exc)), "error")
        return redirect(url_for(".stories_page", period_id=period.id))
    unit = roots[0] if len(roots) == 1 else period.owner_unit
    data = yearbook.yearbook_data(period, unit, chosen, workflow.local_today(utcnow()),
                                  title=request.form.get("title", "")[:255],
                                  foreword=request.form.get("foreword", "")[:exemplary.MAX_STORY])
    return send_file(io.BytesIO(yearbook.render(data)), mimetype="application/pdf", as_attachment=True,
                     download_name=yearbook.file_name(period, unit))


# -- the showcase ----------------------------------------------------------------------------------------------

@pledges.route("/exemplary")
def showcases():
    """The periods whose showcase the member may read; straight to it when there is one."""
    periods = exemplary.showcase_periods(current_user)
    if len(periods) == 1:
        return redirect(url_for(".showcase", period_id=periods[0].id))
    return render_template("pledges/showcases.html", periods=periods)


@pledges.route("/<int:period_id>/exemplary")
def showcase(period_id):
    period = PledgePeriod.get_or_none(PledgePeriod.id == period_id)
    if period is None or not permissions.can(current_user, "showcase.view", period):
        abort(404)
    unit_id = request.args.get("unit", type=int)
    unit = None
    if unit_id is not None:
        unit = Unit.get_or_none(Unit.id == unit_id)
        if unit is None or not workflow.covers(period, unit):
            abort(404)
    stories = exemplary.showcase(period, unit)
    committees = [u for u in Unit.in_tree_order() if u.kind != "cell" and workflow.covers(period, u)]
    return render_template("pledges/showcase.html", period=period, stories=stories, unit=unit,
                           committees=committees, depth_offset=period.owner_unit.depth,
                           manages=bool(overview.board_roots(current_user, period)))


@pledges.route("/exemplary/<int:story_id>/photo")
def story_photo(story_id):
    story = ExemplaryStory.get_or_none(ExemplaryStory.id == story_id)
    if story is None or story.photo_id is None or not permissions.can(current_user, "story.read", story):
        abort(404)
    asset = Asset.get_by_id(story.photo_id)
    response = send_file(io.BytesIO(bytes(asset.data)), mimetype=asset.mime, etag=asset.sha256,
                         max_age=PHOTO_MAX_AGE, conditional=True)
    response.cache_control.private = True
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
