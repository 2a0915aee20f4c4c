"""The contest's certificates page over HTTP: the texts and their live preview, issuing, bulk downloads."""

import io
import re
import subprocess

import pytest
from PIL import Image

from portal.certificates.models import Certificate, Design
from portal.contests import certify
from portal.contests.models import Contest
from portal.jobs import Job
from tests.conftest import reload
from tests.contests.test_certify import people, published_round, units  # noqa: F401 (fixtures)

FIELDS = {
    "header": "party", "superior_body": "ĐẢNG BỘ THÀNH PHỐ ĐÀ NẴNG", "issuing_committee": "HUYỆN ỦY HÒA VANG",
    "issuing_body": "BAN THƯỜNG VỤ HUYỆN ỦY HÒA VANG",
    "merit_achievement": "Đã có thành tích xuất sắc trong {hoi_thi}, đạt {giai} {vong}.",
    "participation_achievement": "Đã tham gia {hoi_thi}.", "decision_number": "125-QĐ/HU",
    "decision_date": "2025-05-26", "place": "Hòa Vang", "signer_on_behalf": "T/M BAN THƯỜNG VỤ",
    "signer_title": "BÍ THƯ", "signer_name": "Nguyễn Văn Bình", "preview_kind": "merit",
}


@pytest.fixture
def organiser(make_user, committee, units):  # noqa: F811
    return make_user(role="organiser", scope=committee, unit=units["an_son"])


def page_url(contest_id, what=""):
    return f"/manage/contests/{contest_id}/certificates{what}"


def text(response):
    return response.get_data(as_text=True)


def test_the_page_starts_from_the_owner_units_names(client, auth, organiser, published_round):  # noqa: F811
    auth.login(organiser.username)
    page = text(client.get(page_url(published_round.contest_id)))
    assert 'value="ĐẢNG BỘ HUYỆN HÒA VANG"' in page  # the issuing committee, prefilled
    assert "{ho_ten}" in page and "{giai}" in page  # the placeholders are explained
    assert 'id="certificate-preview"' in page and "certificate-preview.js" in page
    assert "Tuần 1" in page  # the published round, ready to be issued


def test_saving_the_texts(client, auth, organiser, published_round):  # noqa: F811
    auth.login(organiser.username)
    response = client.post(page_url(published_round.contest_id), data=FIELDS)
    assert response.status_code == 302
    contest = Contest.get_by_id(published_round.contest_id)
    design = contest.certificate_design
    assert design.issuing_body == "BAN THƯỜNG VỤ HUYỆN ỦY HÒA VANG" and design.signer_name == "Nguyễn Văn Bình"
    assert str(design.decision_date) == "2025-05-26" and design.owner_unit_id == contest.owner_unit_id
    page = text(client.get(page_url(contest.id)))
    assert 'value="Nguyễn Văn Bình"' in page and "sample.pdf" in page
    sample = client.get(page_url(contest.id, "/sample.pdf"))
    assert sample.mimetype == "application/pdf"
    printed = subprocess.run(["pdftotext", "-", "-"], input=sample.data, capture_output=True).stdout.decode()
    assert "Nguyễn Văn Bình" in printed and "BAN THƯỜNG VỤ HUYỆN ỦY HÒA VANG" in printed
    client.post(page_url(contest.id), data=dict(FIELDS, signer_name="Lê Văn Tám"))
    assert Design.select().count() == 1 and reload(design).signer_name == "Lê Văn Tám"  # changed, not duplicated


def test_a_bad_placeholder_is_named_and_nothing_is_saved(client, auth, organiser, published_round):  # noqa: F811
    auth.login(organiser.username)
    response = client.post(page_url(published_round.contest_id),
                           data=dict(FIELDS, merit_achievement="Đồng chí {ten} đạt {giai}."))
    assert response.status_code == 200
    assert re.search(r'class="error"[^>]*>[^<]*\{ten\}', text(response))
    assert Design.select().count() == 0


def test_the_preview_renders_what_is_typed_and_saves_nothing(client, auth, organiser, published_round):  # noqa: F811
    auth.login(organiser.username)
    response = client.post(page_url(published_round.contest_id, "/preview"),
                           data=dict(FIELDS, issuing_body="BAN THƯỜNG VỤ ĐẢNG ỦY XÃ HÒA NINH"))
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = text(response)
    assert "BAN THƯỜNG VỤ ĐẢNG ỦY XÃ HÒA NINH" in html and "Nguyễn Văn Bình" in html
    assert published_round.contest.title in html and "Tuần 1" in html  # the wording filled for this contest
    assert "frame-ancestors 'self'" in response.headers["Content-Security-Policy"]
    assert Design.select().count() == 0 and reload(published_round.contest).certificate_design_id is None
    participation = text(client.post(page_url(published_round.contest_id, "/preview"),
                                     data=dict(FIELDS, preview_kind="participation")))
    assert "GIẤY CHỨNG NHẬN" in participation


def test_the_preview_names_a_bad_placeholder(client, auth, organiser, published_round):  # noqa: F811
    auth.login(organiser.username)
    response = client.post(page_url(published_round.contest_id, "/preview"),
                           data=dict(FIELDS, merit_achievement="Đạt {giai} {hang}"))
    assert response.status_code == 422 and "{hang}" in text(response)


def test_an_uploaded_border_is_kept_with_the_texts(client, auth, organiser, published_round):  # noqa: F811
    png = io.BytesIO()
    Image.new("RGB", (600, 420), (200, 30, 30)).save(png, "PNG")
    auth.login(organiser.username)
    response = client.post(page_url(published_round.contest_id),
                           data=dict(FIELDS, border=(io.BytesIO(png.getvalue()), "vien.png")),
                           content_type="multipart/form-data")
    assert response.status_code == 302
    design = reload(published_round.contest).certificate_design
    assert design.border is not None and design.border.mime == "image/png"
    client.post(page_url(published_round.contest_id), data=dict(FIELDS, signer_name="Lê Văn Tám"))
    assert reload(design).border_id == design.border_id  # saving the texts again keeps the image
    client.post(page_url(published_round.contest_id), data=dict(FIELDS, remove_border="y"))
    assert reload(design).border_id is None


def test_issuing_and_downloading_from_the_page(client, auth, organiser, published_round):  # noqa: F811
    auth.login(organiser.username)
    contest_id = published_round.contest_id
    refused = client.post(page_url(contest_id, "/issue"), data={"round_id": published_round.id},
                          follow_redirects=True)
    assert "giấy khen" in text(refused).lower() or "texts of the certificates" in text(refused)
    assert Certificate.select().count() == 0
    client.post(page_url(contest_id), data=FIELDS)
    response = client.post(page_url(contest_id, "/issue"), data={"round_id": published_round.id})
    assert response.status_code == 302 and response.headers["Location"].endswith("#issue")
    assert certify.valid_certificates(published_round.contest, published_round).count() == 3
    page = text(client.get(page_url(contest_id)))
    assert re.search(r'id="batch-%d".*?<strong>3</strong>' % published_round.id, page, re.S)
    again = text(client.post(page_url(contest_id, "/issue"), data={"round_id": published_round.id},
                             follow_redirects=True))
    assert Certificate.select().count() == 3 and "3" in again
    response = client.post(page_url(contest_id, "/download"), data={"round_id": published_round.id, "fmt": "zip"})
    assert response.status_code == 302
    job = Job.select().order_by(Job.id.desc()).get()
    assert response.headers["Location"].endswith(f"/jobs/{job.id}")
    assert (job.total, job.state, job.result_name[-4:]) == (3, "done", ".zip")  # the test queue runs it at once


def test_the_contest_and_results_pages_link_here(client, auth, organiser, published_round):  # noqa: F811
    auth.login(organiser.username)
    target = page_url(published_round.contest_id)
    assert f'href="{target}"' in text(client.get(f"/manage/contests/{published_round.contest_id}"))
    ranking = f"/manage/contests/{published_round.contest_id}/rounds/{published_round.id}/ranking"
    assert f'href="{target}#issue"' in text(client.get(ranking))


def test_another_committees_organiser_is_refused(client, auth, make_user, make_unit, published_round):  # noqa: F811
    other = make_unit("LC", "Đảng bộ huyện Liên Chiểu", "committee")
    stranger = make_user(role="organiser", scope=other, unit=other)
    auth.login(stranger.username)
    contest_id = published_round.contest_id
    assert client.get(page_url(contest_id)).status_code == 403
    assert client.post(page_url(contest_id), data=FIELDS).status_code == 403
    assert client.post(page_url(contest_id, "/preview"), data=FIELDS).status_code == 403
    assert client.post(page_url(contest_id, "/issue"), data={"round_id": published_round.id}).status_code == 403
    assert client.get(page_url(contest_id, "/sample.pdf")).status_code == 403
    assert Design.select().count() == 0 and Certificate.select().count() == 0


def test_a_member_is_refused(client, login, published_round):  # noqa: F811
    login()
    assert client.get(page_url(published_round.contest_id)).status_code == 403


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_the_preview_needs_the_csrf_token(client, auth, organiser, published_round):  # noqa: F811
    assert auth.login(organiser.username, csrf_token=_token(client, "/login")).status_code == 302
    contest_id = published_round.contest_id
    assert client.post(page_url(contest_id, "/preview"), data=FIELDS).status_code == 400
    token = _token(client, page_url(contest_id))
    response = client.post(page_url(contest_id, "/preview"), data=FIELDS, headers={"X-CSRFToken": token})
    assert response.status_code == 200 and "HUYỆN ỦY HÒA VANG" in text(response)
    assert client.post(page_url(contest_id, "/issue"), data={"round_id": published_round.id}).status_code == 400


def _token(client, path):
    field = re.search(r'<input[^>]*name="csrf_token"[^>]*>', text(client.get(path))).group(0)
    return re.search(r'value="([^"]+)"', field).group(1)
