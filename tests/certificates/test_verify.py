"""Public verification: /verify/<code> says valid, revoked, replaced or not found, in Vietnamese, to anyone."""

import pytest

from portal.accounts import users as user_ops
from portal.certificates import issue

from .test_issue import NOW, PUBLIC, make_design, person


@pytest.fixture
def committee(make_unit):
    return make_unit("HV", "Đảng bộ huyện Hòa Vang", "committee")


@pytest.fixture
def member(make_user, make_unit, committee):
    return make_user(full_name="Lê Thị Thu Hằng", unit=make_unit("HV-AS", "Chi bộ thôn An Sơn", parent=committee))


@pytest.fixture
def certificate(committee, member):
    design = make_design(committee)
    [certificate], _skipped = issue.issue_many(None, design, [person(member)], NOW, PUBLIC)
    return certificate


def page(response):
    return response.get_data(as_text=True)


def test_a_valid_certificate(client, certificate):
    response = client.get(f"/verify/{certificate.display_code}")
    text = page(response)
    assert response.status_code == 200
    assert "Hợp lệ." in text and "Giấy khen này là thật và còn hiệu lực." in text
    assert "GIẤY KHEN" in text and "Đồng chí Lê Thị Thu Hằng" in text
    assert "Chi bộ thôn An Sơn, Đảng bộ huyện Hòa Vang" in text
    assert "đạt Giải Nhất Tuần 1." in text and "BAN THƯỜNG VỤ HUYỆN ỦY HÒA VANG" in text
    assert "Hòa Vang, 19/05/2025" in text and "123-QĐ/HU · 15/05/2025" in text
    assert '<meta name="robots" content="noindex">' in text
    assert "Đã thu hồi" not in text


@pytest.mark.parametrize("typed", ["{code}", "{lower}", "{plain}"])
def test_the_code_may_be_typed_loosely(client, certificate, typed):
    code = typed.format(code=certificate.display_code, lower=certificate.display_code.lower(), plain=certificate.code)
    assert "Hợp lệ." in page(client.get(f"/verify/{code}"))


def test_a_revoked_certificate_says_when_and_why(client, certificate):
    issue.revoke(None, certificate, "Vi phạm thể lệ hội thi", NOW)
    text = page(client.get(f"/verify/{certificate.display_code}"))
    assert "Đã thu hồi." in text and "đã bị thu hồi lúc 03:00 19/05/2025" in text
    assert "Vi phạm thể lệ hội thi" in text and "Hợp lệ." not in text


def test_a_replaced_certificate_points_to_the_valid_version(client, certificate):
    newer = issue.replace(None, certificate, {"prize": "Giải Nhì"}, "Nhầm giải", NOW, PUBLIC)
    newest = issue.replace(None, newer, {"prize": "Giải Ba"}, "Lại nhầm", NOW, PUBLIC)
    text = page(client.get(f"/verify/{certificate.display_code}"))
    assert "Đã được thay thế." in text and "Hợp lệ." not in text
    assert f'href="/verify/{newest.display_code}"' in text and f"Xem bản còn hiệu lực, mã {newest.display_code}" in text
    newest_page = page(client.get(f"/verify/{newest.display_code}"))
    assert "Hợp lệ." in newest_page and "Giải Ba" in newest_page and "bản số 3" in newest_page


def test_an_unknown_code(client, certificate):
    response = client.get("/verify/ABCDE-FGHJK")
    assert response.status_code == 404
    text = page(response)
    assert "Không tìm thấy" in text and "Không có giấy khen nào mang mã ABCDE-FGHJK." in text
    assert "Lê Thị Thu Hằng" not in text
    assert client.get("/verify/%3Cscript%3E").status_code == 404


def test_the_page_keeps_the_name_printed_after_a_rename(client, certificate, member, make_user):
    user_ops.update_user(make_user(role="admin"), member, full_name="Lê Thị Hằng")
    text = page(client.get(f"/verify/{certificate.display_code}"))
    assert "Lê Thị Thu Hằng" in text and "Lê Thị Hằng<" not in text


def test_the_form_to_type_a_code(client, certificate):
    text = page(client.get("/verify"))
    assert "Xác thực giấy khen" in text and 'name="code"' in text and 'method="get"' in text
    response = client.get("/verify", query_string={"code": f" {certificate.code.lower()} "})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/verify/{certificate.display_code}")
    response = client.post("/verify", data={"code": certificate.display_code})
    assert response.headers["Location"].endswith(f"/verify/{certificate.display_code}")
    assert "Hãy nhập mã in trên giấy khen" in page(client.get("/verify", query_string={"code": "  "}))


def test_the_qr_address_is_the_verification_page(client, certificate):
    url = certificate.values["verify_url"]
    assert url == f"http://portal.test/verify/{certificate.display_code}"
    assert "Hợp lệ." in page(client.get(url.removeprefix("http://portal.test")))


class TestRateLimit:
    @pytest.fixture
    def app_config(self):
        return {"RATELIMIT_ENABLED": True, "RATELIMIT_VERIFY": "3 per minute"}

    def test_too_many_lookups_from_one_address_are_refused(self, client, certificate):
        for _i in range(3):
            assert client.get("/verify/ABCDE-FGHJK").status_code == 404
        refused = client.get(f"/verify/{certificate.display_code}")
        assert refused.status_code == 429 and "Quá nhiều yêu cầu" in page(refused)
        other = client.get(f"/verify/{certificate.display_code}", environ_base={"REMOTE_ADDR": "10.0.0.7"})
        assert other.status_code == 200
