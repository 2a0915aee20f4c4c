"""Commendations: the evaluated pledges an organiser may commend, issuing them certificates of merit, and the page."""

import re

import pytest

from portal.certificates import issue as certificates
from portal.certificates.models import Certificate
from portal.errors import DomainError
from portal.pledges import commend
from portal.pledges.models import Evaluation, Pledge
from tests.pledges.test_overview import MEETING, ORG_NOW, file_pledge, org_period, org_tree  # noqa: F401

PUBLIC = "http://portal.test"
DESIGN = {
    "name": "Giấy khen làm theo gương Bác 2026", "header": "party", "superior_body": "ĐẢNG BỘ THÀNH PHỐ ĐÀ NẴNG",
    "issuing_committee": "HUYỆN ỦY HÒA VANG", "issuing_body": "BAN THƯỜNG VỤ HUYỆN ỦY HÒA VANG",
    "merit_achievement": "Đã {giai} trong việc học tập và làm theo tư tưởng, đạo đức, phong cách Hồ Chí Minh "
                         "năm {nam} ({hoi_thi}).",
    "participation_achievement": "Đã tham gia {hoi_thi}.", "place": "Hòa Vang",
    "signer_on_behalf": "T/M BAN THƯỜNG VỤ", "signer_title": "BÍ THƯ", "signer_name": "Nguyễn Văn Bình",
}


def make_design(owner, **overrides):
    return certificates.save_design(None, None, {**DESIGN, **overrides}, owner, ORG_NOW)


def names(rows):
    return sorted(row.name for row in rows)


@pytest.fixture
def people(org_tree, org_period, make_user):
    """An Sơn: Mai excellent (closed), Bình good (evaluated), Cường acknowledged only; Đông Lâm: Dung excellent;
    the health centre (right under the district): Hoa excellent; and the commune's own breakthrough task,
    evaluated excellent by the district."""
    made = {}
    for key, unit, name, state, level in (
            ("mai", "an_son", "Nguyễn Thị Mai", "closed", "excellent"),
            ("binh", "an_son", "Trần Văn Bình", "evaluated", "good"),
            ("cuong", "an_son", "Lê Văn Cường", "acknowledged", None),
            ("dung", "dong_lam", "Phạm Thị Dung", "evaluated", "excellent"),
            ("hoa", "health", "Võ Thị Hoa", "closed", "excellent")):
        member = make_user(unit=org_tree[unit], full_name=name)
        made[key] = file_pledge(org_period, member, state, level=level or "good")
    unit_pledge = Pledge.create(period=org_period, kind="breakthrough", unit=org_tree["commune"], state="evaluated",
                                full_name=org_tree["commune"].name, created_at=ORG_NOW, updated_at=ORG_NOW)
    Evaluation.create(pledge=unit_pledge, meeting_date=MEETING, level="excellent", recorded_at=ORG_NOW,
                      comment="Hoàn thành xuất sắc khâu đột phá chuyển đổi số.")
    made["commune"] = unit_pledge
    return made


@pytest.fixture
def design(org_tree):
    return make_design(org_tree["district"])


def test_candidates_are_the_evaluated_pledges_at_a_level_within_the_scope(org_tree, org_period, people):
    district = commend.candidates(org_period, org_tree["district"])
    assert names(district) == ["Nguyễn Thị Mai", "Phạm Thị Dung", "Võ Thị Hoa", "Đảng bộ xã Hòa Ninh"]
    assert {row.name: row.level for row in commend.candidates(org_period, org_tree["an_son"], None)} == {
        "Nguyễn Thị Mai": "excellent", "Trần Văn Bình": "good"}  # Cường is only acknowledged
    commune = commend.candidates(org_period, org_tree["commune"], "excellent")
    assert names(commune) == ["Nguyễn Thị Mai", "Phạm Thị Dung", "Đảng bộ xã Hòa Ninh"]
    mai = next(row for row in commune if row.name == "Nguyễn Thị Mai")
    assert mai.unit_line == "Chi bộ thôn An Sơn, Đảng bộ xã Hòa Ninh" and mai.certificate is None
    unit_row = next(row for row in commune if not row.is_member)
    assert unit_row.comment.startswith("Hoàn thành xuất sắc khâu đột phá")
    assert commend.candidates(org_period, org_tree["dong_lam"], "good") == []


def test_a_correction_moves_a_pledge_to_its_new_level(org_tree, org_period, people):
    from portal.pledges import workflow

    workflow.evaluate(None, people["binh"], MEETING, "Bổ sung: vượt chỉ tiêu vận động.", "excellent", ORG_NOW,
                      reason="Họp lại chi bộ")
    assert "Trần Văn Bình" in names(commend.candidates(org_period, org_tree["an_son"]))
    assert names(commend.candidates(org_period, org_tree["an_son"], "good")) == []


def test_issuing_gives_each_a_certificate_of_merit_with_the_name_and_the_level(org_tree, org_period, people,
                                                                               design, make_user):
    organiser = make_user(role="organiser", unit=org_tree["district"])
    people["mai"].user.full_name = "Nguyễn Thị Ngọc Mai"  # renamed since she filed: printed as her account reads
    people["mai"].user.save()
    chosen = [people["mai"].id, people["commune"].id]
    issued, skipped = commend.issue(organiser, org_period, chosen, design, ORG_NOW, PUBLIC, address="10.0.0.9")
    assert (len(issued), skipped) == (2, 0)
    by_source = {c.source: c for c in Certificate.select()}
    mai = by_source[f"pledge:{people['mai'].id}"].values
    assert mai["recipient_prefix"] == "Đồng chí" and mai["recipient_name"] == "Nguyễn Thị Ngọc Mai"
    assert mai["recipient_unit"] == "Chi bộ thôn An Sơn, Đảng bộ xã Hòa Ninh"
    assert mai["achievement"] == ("Đã Hoàn thành xuất sắc nhiệm vụ trong việc học tập và làm theo tư tưởng, đạo "
                                  "đức, phong cách Hồ Chí Minh năm 2026 (Đăng ký làm theo năm 2026).")
    assert mai["kind"] == "merit" and mai["title"] == "GIẤY KHEN"
    commune = by_source[f"pledge:{people['commune'].id}"]
    assert commune.unit_id == org_tree["commune"].id and commune.user_id is None
    assert commune.values["recipient_prefix"] == "" and commune.values["recipient_name"] == "Đảng bộ xã Hòa Ninh"
    listed = {row.name: row.certificate for row in commend.candidates(org_period, org_tree["district"])}
    assert listed["Nguyễn Thị Ngọc Mai"].code == by_source[f"pledge:{people['mai'].id}"].code
    assert listed["Phạm Thị Dung"] is None

    again, skipped = commend.issue(organiser, org_period, chosen + [people["dung"].id], design, ORG_NOW, PUBLIC)
    assert (len(again), skipped) == (1, 2) and again[0].recipient_name == "Phạm Thị Dung"
    assert Certificate.select().count() == 3


def test_an_unevaluated_pledge_is_refused_and_nothing_is_issued(org_tree, org_period, people, design):
    with pytest.raises(DomainError, match="Lê Văn Cường: bản đăng ký chưa được đánh giá"):
        commend.issue(None, org_period, [people["mai"].id, people["cuong"].id], design, ORG_NOW, PUBLIC)
    assert Certificate.select().count() == 0


def test_an_organiser_commends_only_in_their_part_with_their_designs(org_tree, org_period, people, design,
                                                                     make_user, make_unit):
    commune_organiser = make_user(role="organiser", unit=org_tree["commune"])
    commune_design = make_design(org_tree["commune"], name="Giấy khen Đảng ủy xã")
    with pytest.raises(DomainError, match="Võ Thị Hoa không thuộc các đơn vị đồng chí quản lý"):
        commend.issue(commune_organiser, org_period, [people["hoa"].id], commune_design, ORG_NOW, PUBLIC)
    with pytest.raises(DomainError, match="không quản lý mẫu giấy khen"):
        commend.issue(commune_organiser, org_period, [people["mai"].id], design, ORG_NOW, PUBLIC)  # the district's
    issued, _ = commend.issue(commune_organiser, org_period, [people["mai"].id], commune_design, ORG_NOW, PUBLIC)
    assert [c.recipient_name for c in issued] == ["Nguyễn Thị Mai"]

    elsewhere = make_unit("DV", "Đảng bộ huyện Đại Lộc", "committee")
    stranger = make_user(role="organiser", unit=elsewhere)
    with pytest.raises(DomainError, match="Đồng chí không quản lý đợt đăng ký làm theo này"):
        commend.issue(stranger, org_period, [people["dung"].id], make_design(elsewhere), ORG_NOW, PUBLIC)
    with pytest.raises(DomainError, match="Đồng chí hãy đánh dấu ít nhất một"):
        commend.issue(commune_organiser, org_period, [], commune_design, ORG_NOW, PUBLIC)
    assert Certificate.select().count() == 1


# -- the page ------------------------------------------------------------------------------------------

def text(response):
    return response.get_data(as_text=True)


def test_the_organiser_ticks_members_and_issues_their_certificates(client, login, org_tree, org_period, people,
                                                                   design):
    login(role="organiser", scope=org_tree["district"])
    board = text(client.get(f"/manage/pledges/{org_period.id}"))
    assert f'href="/manage/pledges/{org_period.id}/commend"' in board
    page = text(client.get(f"/manage/pledges/{org_period.id}/commend"))
    for name in ("Nguyễn Thị Mai", "Phạm Thị Dung", "Võ Thị Hoa", "Đảng bộ xã Hòa Ninh"):
        assert name in page
    assert "Trần Văn Bình" not in page and "Lê Văn Cường" not in page  # good; not evaluated
    assert f'<option value="{design.id}">Giấy khen làm theo gương Bác 2026' in page
    good = text(client.get(f"/manage/pledges/{org_period.id}/commend?level=good"))
    assert "Trần Văn Bình" in good and "Nguyễn Thị Mai" not in good
    in_cell = text(client.get(f"/manage/pledges/{org_period.id}/commend?unit={org_tree['dong_lam'].id}"))
    assert "Phạm Thị Dung" in in_cell and "Nguyễn Thị Mai" not in in_cell

    response = client.post(f"/manage/pledges/{org_period.id}/commend", data={
        "pledge": [str(people["mai"].id), str(people["dung"].id)], "design": str(design.id), "level": "excellent"})
    assert response.status_code == 302 and "/commend?level=excellent" in response.headers["Location"]
    after = text(client.get(response.headers["Location"]))
    assert re.search(r'class="flash flash-success"[^>]*>[^<]*\b2\b[^<]*\b0\b', after)  # issued 2, skipped 0
    codes = [c.display_code for c in Certificate.select().order_by(Certificate.id)]
    assert len(codes) == 2
    for code in codes:
        assert f'href="/verify/{code}"' in after
    assert "/manage/certificates?source=pledge" in after


def test_the_page_refuses_an_unevaluated_pledge_with_a_message(client, login, org_tree, org_period, people, design):
    login(role="organiser", scope=org_tree["district"])
    response = client.post(f"/manage/pledges/{org_period.id}/commend", data={
        "pledge": [str(people["cuong"].id)], "design": str(design.id)}, follow_redirects=True)
    assert response.status_code == 200
    assert re.search(r'class="flash flash-error"[^>]*>[^<]*Lê Văn Cường', text(response))
    assert Certificate.select().count() == 0


def test_without_a_design_the_page_links_to_creating_one(client, login, org_tree, org_period, people):
    login(role="organiser", scope=org_tree["district"])
    page = text(client.get(f"/manage/pledges/{org_period.id}/commend"))
    assert 'href="/manage/certificates/designs/new"' in page and 'name="design"' not in page


def test_another_committees_organiser_and_a_secretary_are_refused(client, login, make_unit, org_tree, org_period,
                                                                   people, design):
    login(role="organiser", scope=make_unit("DV", "Đảng bộ huyện Đại Lộc", "committee"))
    assert client.get(f"/manage/pledges/{org_period.id}/commend").status_code == 403
    assert client.post(f"/manage/pledges/{org_period.id}/commend", data={
        "pledge": [str(people["mai"].id)], "design": str(design.id)}).status_code == 403
    client.post("/logout")
    login(role="secretary", unit=org_tree["an_son"])
    assert client.get(f"/manage/pledges/{org_period.id}/commend").status_code == 403
    assert client.post(f"/manage/pledges/{org_period.id}/commend", data={
        "pledge": [str(people["mai"].id)], "design": str(design.id)}).status_code == 403
    assert Certificate.select().count() == 0
