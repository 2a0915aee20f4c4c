"""Exemplary models: stories of commended members and units, the draft taken from the pledge, publishing, the
showcase and who reads it, the photo, and the yearbook PDF."""

import io
import re
import subprocess

import pytest
from PIL import Image

from portal.accounts.models import AuditLog
from portal.certificates.models import Asset
from portal.errors import DomainError
from portal.formatting import name_key, vi_key
from portal.pledges import commend, exemplary, yearbook
from portal.pledges.models import ExemplaryStory
from tests.pledges.test_commend import design, make_design, people  # noqa: F401
from tests.pledges.test_overview import MEETING, ORG_NOW, file_pledge, org_period, org_tree  # noqa: F401

STORY = {"name": "Nguyễn Thị Mai", "unit_line": "Chi bộ thôn An Sơn, Đảng bộ xã Hòa Ninh",
         "title": "Người giữ sạch đường làng", "story": "Đoạn thứ nhất về việc làm.\n\nĐoạn thứ hai: kết quả.",
         "photo_caption": "Đồng chí Mai cùng bà con ra quân"}


def jpeg(width=1600, height=1200, color=(180, 30, 20)):
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "JPEG")
    return out.getvalue()


def pdf_text(content):
    return subprocess.run(["pdftotext", "-", "-"], input=content, capture_output=True, check=True).stdout.decode()


@pytest.fixture
def commended(org_tree, org_period, people, design):
    """Mai, Dung, Hoa and the commune commended (certificates issued); Bình evaluated, not commended."""
    ids = [people[k].id for k in ("mai", "dung", "hoa", "commune")]
    commend.issue(None, org_period, ids, design, ORG_NOW, "http://portal.test")
    return people


# -- the domain ------------------------------------------------------------------------------------------------

def test_the_list_holds_the_commended_and_with_everyone_every_evaluated_pledge(org_tree, org_period, commended):
    roots = [org_tree["district"]]
    names = [e.candidate.name for e in exemplary.entries(org_period, roots)]
    assert sorted(names) == sorted(["Nguyễn Thị Mai", "Phạm Thị Dung", "Võ Thị Hoa", "Đảng bộ xã Hòa Ninh"])
    everyone = [e.candidate.name for e in exemplary.entries(org_period, roots, everyone=True)]
    assert "Trần Văn Bình" in everyone and "Lê Văn Cường" not in everyone  # evaluated; only acknowledged
    commune_only = [e.candidate.name for e in exemplary.entries(org_period, [org_tree["commune"]])]
    assert "Võ Thị Hoa" not in commune_only and "Phạm Thị Dung" in commune_only


def test_the_draft_is_taken_from_the_items_the_reports_and_the_collectives_comment(org_tree, org_period, commended):
    candidate = next(c for c in commend.candidates(org_period, [org_tree["district"]], None)
                     if c.pledge.id == commended["mai"].id)
    draft = exemplary.draft(candidate, org_period)
    assert draft["name"] == "Nguyễn Thị Mai"
    assert draft["unit_line"] == "Chi bộ thôn An Sơn, Đảng bộ xã Hòa Ninh"
    assert draft["title"] == "Vận động 15 hộ giữ vệ sinh đường làng"
    assert "Năm 2026, đồng chí Nguyễn Thị Mai" in draft["story"]
    assert "Vận động 15 hộ giữ vệ sinh đường làng" in draft["story"]
    evaluation = commended["mai"].evaluations.get()
    assert " ".join(evaluation.comment.split()) in draft["story"]
    assert "Hoàn thành xuất sắc nhiệm vụ" in draft["story"]
    unit = next(c for c in commend.candidates(org_period, [org_tree["district"]], None)
                if c.pledge.id == commended["commune"].id)
    unit_draft = exemplary.draft(unit, org_period)
    assert "Đảng bộ xã Hòa Ninh đăng ký khâu đột phá" in unit_draft["story"]
    assert "Cấp ủy cấp trên đánh giá: Hoàn thành xuất sắc khâu đột phá chuyển đổi số." in unit_draft["story"]


def test_writing_a_story_stores_it_with_a_checked_photo_and_an_audit_entry(app, org_tree, org_period, commended,
                                                                           make_user):
    organiser = make_user(role="organiser", scope=org_tree["district"])
    story = exemplary.create(organiser, org_period, commended["mai"].id, STORY, ORG_NOW, photo=jpeg(3000, 2000),
                             address="10.0.0.9")
    assert (story.title, story.unit_id, story.published) == ("Người giữ sạch đường làng", org_tree["an_son"].id,
                                                             False)
    asset = Asset.get_by_id(story.photo_id)
    assert max(asset.width, asset.height) == exemplary.PHOTO_SIDE and asset.mime == "image/jpeg"
    entry = AuditLog.select().where(AuditLog.action == "story.create").get()
    assert entry.target == f"story:{story.id}" and entry.address == "10.0.0.9"
    with pytest.raises(DomainError, match="đã có bài viết|already has a story"):
        exemplary.create(organiser, org_period, commended["mai"].id, STORY, ORG_NOW)


@pytest.mark.parametrize("field, value", [("name", " "), ("title", ""), ("story", "  \n "),
                                          ("title", "x" * 256), ("story", "x" * 20_001)])
def test_a_story_missing_a_field_or_too_long_is_refused_naming_the_field(org_tree, org_period, commended, field,
                                                                         value):
    with pytest.raises(DomainError) as refused:
        exemplary.create(None, org_period, commended["mai"].id, {**STORY, field: value}, ORG_NOW)
    assert refused.value.field == field
    assert ExemplaryStory.select().count() == 0


def test_a_bad_photo_is_refused_and_nothing_is_written(org_tree, org_period, commended):
    with pytest.raises(DomainError) as refused:
        exemplary.create(None, org_period, commended["mai"].id, STORY, ORG_NOW, photo=b"<svg onload=alert(1)>")
    assert refused.value.field == "photo"
    assert ExemplaryStory.select().count() == 0 and Asset.select().count() == 0


def test_a_story_needs_an_evaluated_pledge_in_the_organisers_units(org_tree, org_period, commended, make_user,
                                                                   make_unit):
    commune_org = make_user(role="organiser", scope=org_tree["commune"])
    with pytest.raises(DomainError):  # Hoa's cell is under the district, not the commune
        exemplary.create(commune_org, org_period, commended["hoa"].id, STORY, ORG_NOW)
    cuong = next(p for p in org_period.pledges if p.full_name == "Lê Văn Cường")
    with pytest.raises(DomainError):  # acknowledged only
        exemplary.create(None, org_period, cuong.id, STORY, ORG_NOW)
    stranger = make_user(role="organiser", scope=make_unit("DV", "Đảng bộ huyện Đại Lộc", "committee"))
    with pytest.raises(DomainError):
        exemplary.create(stranger, org_period, commended["mai"].id, STORY, ORG_NOW)
    assert ExemplaryStory.select().count() == 0


def test_editing_publishing_and_withdrawing_a_story(org_tree, org_period, commended, make_user):
    organiser = make_user(role="organiser", scope=org_tree["commune"])
    story = exemplary.create(organiser, org_period, commended["mai"].id, STORY, ORG_NOW, photo=jpeg())
    exemplary.update(organiser, story, {**STORY, "title": "Tiêu đề mới"}, ORG_NOW, remove_photo=True)
    story = ExemplaryStory.get_by_id(story.id)
    assert story.title == "Tiêu đề mới" and story.photo_id is None
    assert exemplary.showcase(org_period) == []
    exemplary.set_published(organiser, story, True, ORG_NOW)
    assert [s.id for s in exemplary.showcase(org_period)] == [story.id]
    exemplary.set_published(organiser, story, False, ORG_NOW)
    assert exemplary.showcase(org_period) == []
    other = make_user(role="organiser", scope=org_tree["health"])
    with pytest.raises(DomainError):
        exemplary.update(other, story, STORY, ORG_NOW)
    actions = [a for (a,) in AuditLog.select(AuditLog.action).where(AuditLog.action.startswith("story."))
               .order_by(AuditLog.id).tuples()]
    assert actions == ["story.create", "story.update", "story.publish", "story.withdraw"]


def test_the_showcase_lists_collectives_first_then_people_in_vietnamese_order(org_tree, org_period, commended):
    for key in ("mai", "dung", "hoa", "commune"):
        pledge = commended[key]
        name = pledge.user.full_name if pledge.user_id else pledge.unit.name
        story = exemplary.create(None, org_period, pledge.id, {**STORY, "name": name}, ORG_NOW)
        exemplary.set_published(None, story, True, ORG_NOW)
    shown = [s.name for s in exemplary.showcase(org_period)]
    assert shown[0] == "Đảng bộ xã Hòa Ninh"  # the collective first
    assert shown[1:] == ["Nguyễn Thị Mai", "Phạm Thị Dung", "Võ Thị Hoa"]  # the commune's cells, then the health centre
    assert [s.name for s in exemplary.showcase(org_period, org_tree["dong_lam"])] == ["Phạm Thị Dung"]


def test_vietnamese_order_of_names_and_words():
    names = ["Vũ Văn An", "Đặng Thị Ánh", "Nguyễn Văn Bình", "Lê Thị Bình", "Trần Văn An", "Dương Thị Ánh"]
    assert sorted(names, key=name_key) == ["Trần Văn An", "Vũ Văn An", "Dương Thị Ánh", "Đặng Thị Ánh",
                                           "Lê Thị Bình", "Nguyễn Văn Bình"]
    assert sorted(["Vũ", "Đặng", "Dương", "Anh", "Ánh", "Ăn", "Ân", "Ảnh"], key=vi_key) == [
        "Anh", "Ảnh", "Ánh", "Ăn", "Ân", "Dương", "Đặng", "Vũ"]


def test_the_yearbook_prints_the_cover_contents_and_each_story_with_its_photo(app, org_tree, org_period, commended):
    made = []
    for key, photo in (("commune", None), ("mai", jpeg())):
        pledge = commended[key]
        name = pledge.user.full_name if pledge.user_id else pledge.unit.name
        story = exemplary.create(None, org_period, pledge.id, {**STORY, "name": name,
                                                               "title": f"Câu chuyện về {name}"}, ORG_NOW, photo=photo)
        exemplary.set_published(None, story, True, ORG_NOW)
        made.append(story)
    chosen = exemplary.selection(org_period, [org_tree["district"]], [s.id for s in made])
    data = yearbook.yearbook_data(org_period, org_tree["district"], chosen, MEETING,
                                  foreword="Lời mở đầu của Ban Thường vụ.")
    assert [e["name"] for e in data["collectives"]] == ["Đảng bộ xã Hòa Ninh"]
    assert [e["name"] for e in data["people"]] == ["Nguyễn Thị Mai"]
    assert data["people"][0]["photo"].startswith("data:image/jpeg;base64,")
    assert data["date_line"] == "Hòa Vang, tháng 11 năm 2026"
    content = yearbook.render(data)
    text = " ".join(pdf_text(content).split())
    for expected in ("KỶ YẾU", "GƯƠNG ĐIỂN HÌNH TIÊN TIẾN", "NĂM 2026", "ĐẢNG BỘ HUYỆN HÒA VANG", "MỤC LỤC",
                     "LỜI GIỚI THIỆU", "Lời mở đầu của Ban Thường vụ.", "TẬP THỂ ĐIỂN HÌNH", "CÁ NHÂN ĐIỂN HÌNH",
                     "Đoạn thứ hai: kết quả.", "Đồng chí Mai cùng bà con ra quân"):
        assert expected in text, expected
    assert re.search(r"1\. Câu chuyện về Đảng bộ xã Hòa Ninh .*?\d", text)  # the contents give page numbers
    assert yearbook.file_name(org_period, org_tree["district"]) == "ky-yeu-guong-dien-hinh-2026-Dang-bo-huyen-Hoa-Vang.pdf"


def test_the_yearbook_takes_only_published_stories_of_the_organisers_units(org_tree, org_period, commended):
    story = exemplary.create(None, org_period, commended["hoa"].id, STORY, ORG_NOW)
    with pytest.raises(DomainError, match="Hoa|Mai"):
        exemplary.selection(org_period, [org_tree["district"]], [story.id])  # not published
    exemplary.set_published(None, story, True, ORG_NOW)
    with pytest.raises(DomainError):
        exemplary.selection(org_period, [org_tree["commune"]], [story.id])  # not in the commune
    with pytest.raises(DomainError):
        exemplary.selection(org_period, [org_tree["district"]], [])


# -- the pages -------------------------------------------------------------------------------------------------

def text(response):
    return response.get_data(as_text=True)


def test_the_organiser_writes_from_the_draft_publishes_and_downloads_the_yearbook(client, login, org_tree,
                                                                                 org_period, commended):
    login(role="organiser", scope=org_tree["district"])
    board = text(client.get(f"/manage/pledges/{org_period.id}"))
    assert f'href="/manage/pledges/{org_period.id}/stories"' in board
    page = text(client.get(f"/manage/pledges/{org_period.id}/stories"))
    assert "Nguyễn Thị Mai" in page and "Trần Văn Bình" not in page
    assert "Trần Văn Bình" in text(client.get(f"/manage/pledges/{org_period.id}/stories?all=1"))
    form = text(client.get(f"/manage/pledges/{org_period.id}/stories/new?pledge={commended['mai'].id}"))
    assert "Vận động 15 hộ giữ vệ sinh đường làng" in form and 'enctype="multipart/form-data"' in form
    response = client.post(f"/manage/pledges/{org_period.id}/stories/new", data={
        **STORY, "pledge": str(commended["mai"].id), "photo": (io.BytesIO(jpeg()), "mai.jpg")},
        content_type="multipart/form-data")
    assert response.status_code == 302
    story = ExemplaryStory.get()
    assert story.photo_id is not None
    assert client.post(f"/manage/pledges/stories/{story.id}/publish", data={"published": "1"}).status_code == 302
    shown = text(client.get(f"/pledges/{org_period.id}/exemplary"))
    assert "Người giữ sạch đường làng" in shown and f"/pledges/exemplary/{story.id}/photo" in shown
    photo = client.get(f"/pledges/exemplary/{story.id}/photo")
    assert photo.status_code == 200 and photo.mimetype == "image/jpeg" and "private" in photo.headers["Cache-Control"]
    pdf = client.post(f"/manage/pledges/{org_period.id}/yearbook.pdf", data={"story": [str(story.id)],
                                                                             "title": "Kỷ yếu 2026", "foreword": ""})
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert "Người giữ sạch đường làng".upper() in " ".join(pdf_text(pdf.data).split())


def test_a_missing_title_is_shown_on_the_form_and_nothing_is_stored(client, login, org_tree, org_period, commended):
    login(role="organiser", scope=org_tree["district"])
    response = client.post(f"/manage/pledges/{org_period.id}/stories/new",
                           data={**STORY, "title": "", "pledge": str(commended["mai"].id)})
    assert response.status_code == 400
    assert re.search(r'class="error" id="title-error">[^<]+', text(response))
    assert ExemplaryStory.select().count() == 0


def test_members_of_the_tree_read_published_stories_and_others_do_not(client, login, auth, make_user, make_unit,
                                                                      org_tree, org_period, commended):
    story = exemplary.create(None, org_period, commended["mai"].id, STORY, ORG_NOW, photo=jpeg())
    hidden = exemplary.create(None, org_period, commended["dung"].id, {**STORY, "title": "Chưa đăng"}, ORG_NOW)
    exemplary.set_published(None, story, True, ORG_NOW)
    login(unit=org_tree["health"])  # a member elsewhere in the district
    page = text(client.get(f"/pledges/{org_period.id}/exemplary"))
    assert "Người giữ sạch đường làng" in page and "Chưa đăng" not in page
    assert client.get(f"/pledges/exemplary/{hidden.id}/photo").status_code == 404
    assert client.get(f"/pledges/exemplary/{story.id}/photo").status_code == 200
    assert client.get(f"/manage/pledges/{org_period.id}/stories").status_code == 403
    assert client.post(f"/manage/pledges/stories/{story.id}/publish", data={"published": "0"}).status_code == 404
    assert client.post(f"/manage/pledges/{org_period.id}/yearbook.pdf",
                       data={"story": [str(story.id)]}).status_code == 403
    auth.logout()
    login(unit=make_unit("DV-X", "Chi bộ xã khác", parent=make_unit("DV", "Đảng bộ huyện Đại Lộc", "committee")))
    assert client.get(f"/pledges/{org_period.id}/exemplary").status_code == 404
    assert client.get(f"/pledges/exemplary/{story.id}/photo").status_code == 404
    assert ExemplaryStory.get_by_id(story.id).published
