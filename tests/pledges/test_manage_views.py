"""The organiser's pledge pages: the periods, opening and editing one, the committee board, who may see what."""

import datetime as dt
import re

from portal.pledges.models import PledgePeriod
from tests.pledges.test_overview import (ORG_NOW, file_pledge, org_members, org_period,  # noqa: F401 (fixtures)
                                         org_tree)

PERIOD_FORM = {"year": "2027", "title": "Đăng ký làm theo năm 2027", "topic": "Ý chí tự lực, tự cường",
               "basis": "Căn cứ Chỉ thị 05-CT/TW ngày 15/5/2016 của Bộ Chính trị", "opens_on": "2027-01-04",
               "register_by": "2027-03-31", "mid_year_by": "2027-07-15", "year_end_by": "2027-12-15",
               "excellent_cap": "15"}


def text(response):
    return response.get_data(as_text=True)


def test_an_organiser_opens_a_period_from_the_suggested_form(client, login, org_tree):
    login(role="organiser", scope=org_tree["district"])
    page = text(client.get("/manage/pledges/new"))
    assert "Học tập và làm theo tư tưởng, đạo đức, phong cách Hồ Chí Minh về ý chí tự lực, tự cường và khát vọng " \
           "phát triển đất nước phồn vinh, hạnh phúc" in page
    assert "Căn cứ Chỉ thị 05-CT/TW ngày 15/5/2016 của Bộ Chính trị" in page
    assert "Đảng bộ huyện Hòa Vang" in page and "Chi bộ thôn An Sơn" not in page  # committees to choose from
    response = client.post("/manage/pledges/new", data={**PERIOD_FORM, "owner_unit": str(org_tree["district"].id)})
    period = PledgePeriod.get(PledgePeriod.year == 2027)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/manage/pledges/{period.id}")
    assert (period.owner_unit_id, period.register_by, period.excellent_cap) == (org_tree["district"].id,
                                                                               dt.date(2027, 3, 31), 15)
    listing = text(client.get("/manage/pledges/"))
    assert "Đăng ký làm theo năm 2027" in listing and f"/manage/pledges/{period.id}/edit" in listing


def test_a_deadline_before_the_opening_is_refused_at_its_field(client, login, org_tree):
    login(role="organiser", scope=org_tree["district"])
    response = client.post("/manage/pledges/new", data={**PERIOD_FORM, "owner_unit": str(org_tree["district"].id),
                                                        "register_by": "2026-12-01"})
    assert response.status_code == 200 and PledgePeriod.select().count() == 0
    assert re.search(r'id="register_by-error">[^<]*01/12/2026', text(response))


def test_a_second_period_for_the_same_year_is_refused(client, login, org_tree, org_period):
    login(role="organiser", scope=org_tree["district"])
    response = client.post("/manage/pledges/new", data={**PERIOD_FORM, "year": "2026", "opens_on": "2026-01-05",
                                                        "register_by": "2026-03-31", "mid_year_by": "2026-07-15",
                                                        "year_end_by": "2026-12-15",
                                                        "owner_unit": str(org_tree["district"].id)})
    assert response.status_code == 200 and PledgePeriod.select().count() == 1
    assert 'id="year-error"' in text(response)


def test_the_organiser_edits_the_period(client, login, org_tree, org_period):
    login(role="organiser", scope=org_tree["district"])
    page = text(client.get(f"/manage/pledges/{org_period.id}/edit"))
    assert 'value="2026-03-31"' in page
    response = client.post(f"/manage/pledges/{org_period.id}/edit", data={
        **PERIOD_FORM, "year": "2026", "opens_on": "2026-01-05", "register_by": "2026-04-15",
        "mid_year_by": "2026-07-15", "year_end_by": "2026-12-15", "owner_unit": str(org_tree["district"].id)})
    assert response.status_code == 302
    assert PledgePeriod.get_by_id(org_period.id).register_by == dt.date(2026, 4, 15)


def test_the_board_shows_each_unit_the_cap_warning_and_links_to_the_cell_boards(app, client, login, org_tree,
                                                                                  org_period, org_members):
    if "pledges.cell_board" not in app.view_functions:  # the members' area adds it; stand in for it until then
        app.add_url_rule("/pledges/board/<int:period_id>/<int:cell_id>", "pledges.cell_board", lambda **kw: "")
    login(role="organiser", scope=org_tree["district"])
    page = text(client.get(f"/manage/pledges/{org_period.id}"))
    for name in ("Đảng bộ huyện Hòa Vang", "Đảng bộ xã Hòa Ninh", "Chi bộ thôn An Sơn", "Chi bộ thôn Đông Lâm",
                 "Chi bộ Trung tâm Y tế huyện"):
        assert name in page
    # An Sơn: 1 excellent of 2 evaluated, against a cap of 20%
    assert re.search(r"Chi bộ thôn An Sơn: 50\s?% [^<]*\(1\s*(?:/|[^<()]*)\s*2\)[^<]*20\s?%", page)
    assert f'href="/pledges/board/{org_period.id}/{org_tree["an_son"].id}"' in page
    assert f'href="/pledges/board/{org_period.id}/{org_tree["commune"].id}"' not in page  # committees have none
    assert "<svg" in page and page.count('class="chart-bar"') >= 4
    assert f'/manage/pledges/{org_period.id}/export.xlsx?unit={org_tree["dong_lam"].id}' in page


def test_the_board_sorts_by_a_column(client, login, org_tree, org_period, org_members):
    login(role="organiser", scope=org_tree["district"])
    page = text(client.get(f"/manage/pledges/{org_period.id}?sort=members&dir=asc"))
    names = re.findall(r'class="unit-name"[^>]*>([^<]+)<', page)
    assert names == ["Chi bộ Trung tâm Y tế huyện", "Chi bộ thôn Đông Lâm", "Chi bộ thôn An Sơn",
                     "Đảng bộ xã Hòa Ninh", "Đảng bộ huyện Hòa Vang"]


def test_the_organiser_of_a_committee_inside_the_tree_sees_its_part_only(client, login, org_tree, org_period,
                                                                         org_members):
    login(role="organiser", scope=org_tree["commune"])
    assert "Đăng ký làm theo năm 2026" in text(client.get("/manage/pledges/"))
    page = text(client.get(f"/manage/pledges/{org_period.id}"))
    assert "Chi bộ thôn An Sơn" in page and "Chi bộ Trung tâm Y tế huyện" not in page
    assert client.get(f"/manage/pledges/{org_period.id}/edit").status_code == 403
    assert client.get(f"/manage/pledges/{org_period.id}/export.xlsx?unit={org_tree['health'].id}").status_code == 403


def test_the_organiser_of_another_committee_is_refused(client, login, make_unit, org_tree, org_period):
    elsewhere = make_unit("HS", "Đảng bộ huyện Hòa Sơn", "committee")
    login(role="organiser", scope=elsewhere)
    assert "Đăng ký làm theo năm 2026" not in text(client.get("/manage/pledges/"))
    assert client.get(f"/manage/pledges/{org_period.id}").status_code == 403
    assert client.get(f"/manage/pledges/{org_period.id}/edit").status_code == 403
    assert client.get(f"/manage/pledges/{org_period.id}/export.xlsx").status_code == 403
    response = client.post("/manage/pledges/new", data={**PERIOD_FORM, "owner_unit": str(org_tree["district"].id)})
    assert response.status_code == 200 and PledgePeriod.select().count() == 1  # not a unit of theirs


def test_a_secretary_cannot_open_the_organiser_pages(client, login, org_tree, org_period):
    login(role="secretary", unit=org_tree["an_son"])
    assert client.get("/manage/pledges/").status_code == 403
    assert client.get("/manage/pledges/new").status_code == 403
    assert client.get(f"/manage/pledges/{org_period.id}").status_code == 403
    assert 'href="/manage/pledges/"' not in text(client.get("/"))


def test_the_menu_shows_pledges_to_organisers(client, login, org_tree):
    login(role="organiser", scope=org_tree["district"])
    assert 'href="/manage/pledges/"' in text(client.get("/"))


def test_anonymous_visitors_go_to_the_login_page(client, org_period):
    response = client.get(f"/manage/pledges/{org_period.id}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
