"""Issuing certificates: codes, placeholders, designs, the frozen snapshot, corrections and revocations."""

import datetime as dt
import json

import pytest

from portal.accounts import users as user_ops
from portal.accounts.models import AuditLog, User
from portal.certificates import issue
from portal.certificates.issue import Recipient
from portal.certificates.models import Certificate, Design
from portal.errors import Conflict, DomainError

from ..conftest import reload

NOW = dt.datetime(2025, 5, 18, 20, 0)  # UTC: already Monday 19 May, 03:00, in Vietnam
PUBLIC = "http://portal.test"

DESIGN = {
    "name": "Giấy khen Hội thi 2025", "header": "party", "superior_body": "ĐẢNG BỘ THÀNH PHỐ ĐÀ NẴNG",
    "issuing_committee": "HUYỆN ỦY HÒA VANG", "issuing_body": "BAN THƯỜNG VỤ HUYỆN ỦY HÒA VANG",
    "merit_achievement": "Đã có thành tích xuất sắc trong {hoi_thi}, đạt {giai} {vong}.",
    "participation_achievement": "Đã tích cực tham gia {hoi_thi} {vong}.",
    "decision_number": "123-QĐ/HU", "decision_date": dt.date(2025, 5, 15), "place": "Hòa Vang",
    "signer_on_behalf": "T/M BAN THƯỜNG VỤ", "signer_title": "BÍ THƯ", "signer_name": "Nguyễn Văn Bình",
}
CONTEST = {"hoi_thi": "Hội thi tìm hiểu lịch sử Đảng bộ huyện", "vong": "Tuần 1", "giai": "Giải Nhất"}


def make_design(owner, actor=None, **overrides):
    return issue.save_design(actor, None, {**DESIGN, **overrides}, owner, NOW)


def person(user, source="contest:1/round:1/award:1", kind="merit", **values):
    return Recipient(kind, source, user=user, values={**CONTEST, **values})


@pytest.fixture
def committee(make_unit):
    return make_unit("HV", "Đảng bộ huyện Hòa Vang", "committee")


@pytest.fixture
def cell(make_unit, committee):
    return make_unit("HV-AS", "Chi bộ thôn An Sơn", parent=committee)


@pytest.fixture
def member(make_user, cell):
    return make_user(full_name="Nguyễn Thị Ngọc Hưởng", unit=cell)


@pytest.fixture
def organiser(make_user, committee):
    return make_user(role="organiser", unit=committee)


@pytest.fixture
def design(committee, organiser):
    return make_design(committee, organiser)


# -- codes -----------------------------------------------------------------------------------------

def test_codes_are_ten_unambiguous_symbols(app):
    codes = issue.new_codes(200)
    assert len(set(codes)) == 200
    for code in codes:
        assert len(code) == 10 and not set(code) & set("ILOU") and set(code) <= set(issue.CODE_ALPHABET)


def test_a_code_already_issued_is_drawn_again(app, design, member, monkeypatch):
    [first], _skipped = issue.issue_many(None, design, [person(member)], NOW, PUBLIC)
    drawn = iter(first.code + "K7Q2M9XMAB")
    monkeypatch.setattr(issue.secrets, "choice", lambda alphabet: next(drawn))
    assert issue.new_codes(1) == ["K7Q2M9XMAB"]


@pytest.mark.parametrize("typed", ["K7Q2M-9XMAB", "k7q2m9xmab", " k7q2m 9xmab ", "K7Q2M–9XMAB",
                                   "http://portal.test/verify/K7Q2M-9XMAB"])
def test_find_reads_the_code_however_it_was_typed(app, design, member, typed, monkeypatch):
    drawn = iter("K7Q2M9XMAB")
    monkeypatch.setattr(issue.secrets, "choice", lambda alphabet: next(drawn))
    [certificate], _skipped = issue.issue_many(None, design, [person(member)], NOW, PUBLIC)
    assert issue.find(typed).id == certificate.id


def test_find_reads_o_as_zero_and_i_l_as_one(app, design, member, monkeypatch):
    drawn = iter("A0B1C1D0EF")
    monkeypatch.setattr(issue.secrets, "choice", lambda alphabet: next(drawn))
    [certificate], _skipped = issue.issue_many(None, design, [person(member)], NOW, PUBLIC)
    assert issue.find("aob1-clDOef").id == certificate.id
    assert issue.find("AOBIC LDOEF").id == certificate.id


@pytest.mark.parametrize("typed", ["", "K7Q2M", "K7Q2M9XMABX", "ZZZZZ-ZZZZZ", "K7Q2M-9XMAU"])
def test_find_gives_none_for_codes_never_issued(app, typed):
    assert issue.find(typed) is None


# -- placeholders --------------------------------------------------------------------------------

def test_fill_puts_the_values_in_and_leaves_no_gap_for_empty_ones():
    text = issue.fill("Đã có thành tích trong {hoi_thi}, đạt {giai} {vong}.",
                      {"hoi_thi": "Hội thi 2025", "giai": "Giải Nhì", "vong": ""})
    assert text == "Đã có thành tích trong Hội thi 2025, đạt Giải Nhì."


def test_fill_leaves_no_comma_behind_an_empty_value():
    assert issue.fill("Đã tham gia {hoi_thi}, {vong}.", {"hoi_thi": "Hội thi 2025"}) == "Đã tham gia Hội thi 2025."


def test_fill_keeps_doubled_braces_as_braces():
    assert issue.fill("Mẫu {{giai}}: {giai}", {"giai": "Giải Ba"}) == "Mẫu {giai}: Giải Ba"


@pytest.mark.parametrize("template, named", [
    ("Đạt {ho_ten.__class__}", "{ho_ten.__class__}"),
    ("Đạt {ho_ten.__init__.__globals__}", "{ho_ten.__init__.__globals__}"),
    ("Đạt {giai[0]}", "{giai[0]}"),
    ("Đạt {0}", "{0}"),
    ("Đạt {ho_ten!r}", "{ho_ten!r}"),
    ("Đạt {x:>10}", "{x:>10}"),
    ("Đạt {giai:{vong}}", "{giai:{vong}}"),
    ("Đạt {ten_giai}", "{ten_giai}"),
    ("Đạt {}", "{}"),
])
def test_fill_refuses_anything_but_a_bare_known_name(template, named):
    with pytest.raises(DomainError) as refused:
        issue.fill(template, {"ho_ten": "A", "giai": "B", "vong": "C"}, field="merit_achievement")
    assert named in str(refused.value)
    assert refused.value.field == "merit_achievement"


@pytest.mark.parametrize("template, brace, near", [
    ("Đã có thành tích, đạt {giai", '"{"', "đạt {giai"),
    ("Đã có thành tích, đạt giai} nhé", '"}"', "đạt giai} nhé"),
    ("Đạt {giai {vong}", '"{"', "Đạt {giai {vong}"),
])
def test_fill_names_the_unbalanced_brace(template, brace, near):
    with pytest.raises(DomainError) as refused:
        issue.fill(template, {}, field="participation_achievement")
    message = str(refused.value)
    assert brace in message and near in message
    assert refused.value.field == "participation_achievement"


# -- designs -------------------------------------------------------------------------------------

def test_a_design_is_saved_and_audited(app, design, organiser):
    assert design.issuing_body == "BAN THƯỜNG VỤ HUYỆN ỦY HÒA VANG"
    assert design.decision_date == dt.date(2025, 5, 15)
    entry = AuditLog.get(AuditLog.action == "certificate.design")
    assert entry.actor_id == organiser.id and entry.target.startswith(f"design:{design.id} ")
    changed = issue.save_design(organiser, design, {"signer_name": "Trần Thị Bích"}, design.owner_unit, NOW)
    assert changed.signer_name == "Trần Thị Bích" and changed.decision_number == "123-QĐ/HU"  # the rest stays
    last = AuditLog.select().where(AuditLog.action == "certificate.design").order_by(AuditLog.id.desc()).get()
    assert json.loads(last.details) == {"signer_name": ["Nguyễn Văn Bình", "Trần Thị Bích"]}


@pytest.mark.parametrize("values, field, words", [
    ({"name": " "}, "name", "không được để trống"),
    ({"issuing_body": ""}, "issuing_body", "không được để trống"),
    ({"merit_achievement": "Đạt {giai!s}"}, "merit_achievement", "{giai!s}"),
    ({"participation_achievement": "Tham gia {hoi_thi"}, "participation_achievement", '"{"'),
    ({"merit_achievement": "x" * 1001}, "merit_achievement", "1000"),
    ({"decision_date": None}, "decision_date", "123-QĐ/HU"),
    ({"decision_number": ""}, "decision_number", "15/05/2025"),
    ({"decision_date": dt.date(2205, 5, 15)}, "decision_date", "15/05/2205"),
    ({"decision_date": "31/02/2025"}, "decision_date", "26/05/2025"),
    ({"header": "royal"}, "header", None),
    ({"next_golden_book_number": "0"}, "next_golden_book_number", None),
])
def test_a_design_with_a_mistake_is_refused_naming_the_field(app, committee, organiser, values, field, words):
    with pytest.raises(DomainError) as refused:
        make_design(committee, organiser, **values)
    assert refused.value.field == field
    if words:
        assert words in str(refused.value)
    assert Design.select().count() == 0


def test_an_organiser_cannot_save_a_design_for_another_committee(app, make_unit, organiser):
    other = make_unit("DL", "Đảng bộ huyện Đại Lộc", "committee")
    with pytest.raises(DomainError) as refused:
        make_design(other, organiser)
    assert refused.value.field == "owner_unit"


# -- issuing -------------------------------------------------------------------------------------

def test_issuing_freezes_every_printed_value(app, design, member, organiser):
    issue.save_design(organiser, design, {"golden_book": True, "next_golden_book_number": 45}, design.owner_unit,
                      NOW)
    [certificate], skipped = issue.issue_many(organiser, design, [person(member)], NOW, PUBLIC)
    data = certificate.values
    assert skipped == 0
    assert data == {
        "kind": "merit", "header": "party", "superior_body": "ĐẢNG BỘ THÀNH PHỐ ĐÀ NẴNG",
        "issuing_committee": "HUYỆN ỦY HÒA VANG", "issuing_body": "BAN THƯỜNG VỤ HUYỆN ỦY HÒA VANG",
        "title": "GIẤY KHEN", "recipient_prefix": "Đồng chí", "recipient_name": "Nguyễn Thị Ngọc Hưởng",
        "recipient_unit": "Chi bộ thôn An Sơn, Đảng bộ huyện Hòa Vang",
        "achievement": "Đã có thành tích xuất sắc trong Hội thi tìm hiểu lịch sử Đảng bộ huyện, đạt Giải Nhất Tuần 1.",
        "contest": "Hội thi tìm hiểu lịch sử Đảng bộ huyện", "round": "Tuần 1", "prize": "Giải Nhất",
        "decision_number": "123-QĐ/HU", "decision_date": "2025-05-15", "golden_book_number": "45",
        "place": "Hòa Vang", "date": "2025-05-19", "signer_on_behalf": "T/M BAN THƯỜNG VỤ", "signer_title": "BÍ THƯ",
        "signer_name": "Nguyễn Văn Bình", "border": "", "logo": "", "code": certificate.code,
        "verify_url": f"http://portal.test/verify/{certificate.display_code}", "version": 1,
    }
    assert (certificate.status, certificate.user_id, certificate.owner_unit_id) == ("valid", member.id,
                                                                                   design.owner_unit_id)
    assert reload(design).next_golden_book_number == 46


def test_participation_and_collective_certificates(app, design, cell, member):
    issued, _skipped = issue.issue_many(None, design, [
        person(member, "contest:1/round:1/entry:1", kind="participation", giai=""),
        Recipient("merit", "contest:1/round:1/award:9", unit=cell, values=CONTEST),
    ], NOW, PUBLIC)
    taking_part, collective = (c.values for c in issued)
    assert taking_part["title"] == "GIẤY CHỨNG NHẬN"
    assert taking_part["achievement"] == "Đã tích cực tham gia Hội thi tìm hiểu lịch sử Đảng bộ huyện Tuần 1."
    assert (collective["recipient_prefix"], collective["recipient_name"], collective["recipient_unit"]) == (
        "", "Chi bộ thôn An Sơn", "Đảng bộ huyện Hòa Vang")
    assert issued[1].unit_id == cell.id and issued[1].user_id is None


def test_issuing_the_same_results_again_gives_nothing_twice(app, design, member, make_user, cell, organiser):
    other = make_user(unit=cell)
    batch = [person(member, "contest:1/round:1/award:1"), person(other, "contest:1/round:1/award:2")]
    issued, skipped = issue.issue_many(organiser, design, batch, NOW, PUBLIC)
    assert (len(issued), skipped) == (2, 0)
    again, skipped = issue.issue_many(organiser, design, batch + [person(other, "contest:1/round:1/award:2")],
                                      NOW, PUBLIC)
    assert (again, skipped) == ([], 3)
    assert Certificate.select().count() == 2
    [entry] = AuditLog.select().where(AuditLog.action == "certificate.issue")
    details = json.loads(entry.details)
    assert (details["count"], details["skipped"], details["source"]) == (2, 0, "contest:1/round:1/award:")


def test_a_revoked_certificate_can_be_issued_anew(app, design, member, organiser):
    [first], _skipped = issue.issue_many(organiser, design, [person(member)], NOW, PUBLIC)
    issue.revoke(organiser, first, "Cấp nhầm người", NOW)
    [second], skipped = issue.issue_many(organiser, design, [person(member)], NOW, PUBLIC)
    assert skipped == 0 and second.code != first.code and second.status == "valid"


def test_an_issued_certificate_keeps_the_name_after_the_member_is_renamed(app, design, member, organiser, make_user):
    admin = make_user(role="admin")
    [certificate], _skipped = issue.issue_many(organiser, design, [person(member)], NOW, PUBLIC)
    user_ops.update_user(admin, member, full_name="Nguyễn Thị Hưởng")
    assert User.get_by_id(member.id).full_name == "Nguyễn Thị Hưởng"
    certificate = reload(certificate)
    assert certificate.recipient_name == "Nguyễn Thị Ngọc Hưởng"
    assert certificate.values["recipient_name"] == "Nguyễn Thị Ngọc Hưởng"


def test_a_design_changed_later_leaves_issued_certificates_alone(app, design, member, organiser):
    [certificate], _skipped = issue.issue_many(organiser, design, [person(member)], NOW, PUBLIC)
    issue.save_design(organiser, design, {"signer_name": "Trần Thị Bích", "merit_achievement": "Đạt {giai}."},
                      design.owner_unit, NOW)
    data = reload(certificate).values
    assert data["signer_name"] == "Nguyễn Văn Bình" and data["achievement"].startswith("Đã có thành tích")


def test_an_organiser_cannot_issue_on_another_committees_design(app, design, member, make_unit, make_user):
    stranger = make_user(role="organiser", unit=make_unit("DL", "Đảng bộ huyện Đại Lộc", "committee"))
    with pytest.raises(DomainError):
        issue.issue_many(stranger, design, [person(member)], NOW, PUBLIC)
    assert Certificate.select().count() == 0


def test_a_design_without_the_wording_refuses_the_whole_batch(app, committee, member, make_user, cell):
    design = make_design(committee, participation_achievement="")
    batch = [person(make_user(unit=cell), "a:1"), person(member, "a:2", kind="participation")]
    with pytest.raises(DomainError) as refused:
        issue.issue_many(None, design, batch, NOW, PUBLIC)
    assert refused.value.field == "participation_achievement"
    assert Certificate.select().count() == 0  # nothing half-written


def test_issue_one_by_hand_and_its_own_wording(app, design, member, organiser):
    recipient = issue.recipient_for(organiser, "merit", username=member.username,
                                    values={"achievement": "Có thành tích trong phong trào thi đua năm {nam}."})
    certificate = issue.issue_one(organiser, design, recipient, NOW, PUBLIC)
    assert certificate.source.startswith("manual:")
    assert certificate.values["achievement"] == "Có thành tích trong phong trào thi đua năm 2025."
    with pytest.raises(Conflict) as refused:
        issue.issue_one(organiser, design, person(member, certificate.source), NOW, PUBLIC)
    assert certificate.display_code in str(refused.value)


def test_recipients_by_hand_come_from_the_organisers_units(app, organiser, member, make_user, make_unit):
    outsider = make_user(unit=make_unit("DL-1", "Chi bộ Đại Lộc"))
    with pytest.raises(DomainError) as refused:
        issue.recipient_for(organiser, "merit", username=outsider.username)
    assert refused.value.field == "username"
    assert issue.recipient_for(organiser, "merit", unit_code="hv-as").unit.code == "HV-AS"


# -- correcting and revoking ---------------------------------------------------------------------

@pytest.fixture
def certificate(design, member, organiser):
    [certificate], _skipped = issue.issue_many(organiser, design, [person(member)], NOW, PUBLIC)
    return certificate


def test_correcting_issues_a_new_version_and_replaces_the_old(app, certificate, organiser):
    later = NOW + dt.timedelta(days=3)
    changes = {"recipient_name": "Nguyễn Thị Ngọc Hường", "decision_date": "2025-05-16"}
    new = issue.replace(organiser, certificate, changes, "Sai dấu trong tên", later, PUBLIC)
    old = reload(certificate)
    assert (old.status, new.status, new.replaces_id, new.version) == ("replaced", "valid", old.id, 2)
    assert new.code != old.code and new.source == old.source and new.recipient_name == "Nguyễn Thị Ngọc Hường"
    data = new.values
    assert (data["recipient_name"], data["decision_date"], data["version"]) == (*changes.values(), 2)
    assert data["date"] == old.values["date"] and data["verify_url"].endswith(new.display_code)
    assert old.values["recipient_name"] == "Nguyễn Thị Ngọc Hưởng"  # the old record is kept as it was
    assert [c.id for c in issue.versions(old)] == [old.id, new.id]
    entry = AuditLog.get(AuditLog.action == "certificate.replace")
    details = json.loads(entry.details)
    assert details["reason"] == "Sai dấu trong tên" and details["code"] == [old.display_code, new.display_code]


def test_a_corrected_prize_is_corrected_in_the_printed_sentence_too(app, certificate, organiser):
    new = issue.replace(organiser, certificate, {"prize": "Giải Nhì", "round": ""}, "Nhầm giải", NOW, PUBLIC)
    assert new.values["achievement"] == ("Đã có thành tích xuất sắc trong Hội thi tìm hiểu lịch sử Đảng bộ huyện, "
                                         "đạt Giải Nhì.")
    own = issue.replace(organiser, new, {"prize": "Giải Ba", "achievement": "Đạt Giải Ba chung cuộc."}, "Sửa", NOW,
                        PUBLIC)
    assert own.values["achievement"] == "Đạt Giải Ba chung cuộc."


@pytest.mark.parametrize("changes, reason, field", [
    ({"recipient_name": "Lê Thị Thu Hằng"}, "  ", "reason"),
    ({"recipient_name": ""}, "Sửa tên", "recipient_name"),
    ({"decision_date": "30/02/2025"}, "Sửa ngày", "decision_date"),
    ({"recipient_name": "Nguyễn Thị Ngọc Hưởng"}, "Không đổi gì", None),
])
def test_a_correction_needs_a_reason_and_a_real_change(app, certificate, organiser, changes, reason, field):
    with pytest.raises(DomainError) as refused:
        issue.replace(organiser, certificate, changes, reason, NOW, PUBLIC)
    assert refused.value.field == field
    assert reload(certificate).status == "valid" and Certificate.select().count() == 1


def test_only_the_newest_valid_version_can_be_corrected(app, certificate, organiser):
    new = issue.replace(organiser, certificate, {"prize": "Giải Nhì"}, "Nhầm giải", NOW, PUBLIC)
    with pytest.raises(Conflict) as refused:
        issue.replace(organiser, reload(certificate), {"prize": "Giải Ba"}, "Lại nhầm", NOW, PUBLIC)
    assert new.display_code in str(refused.value)
    issue.revoke(organiser, new, "Hủy giải", NOW)
    with pytest.raises(Conflict):
        issue.replace(organiser, reload(new), {"prize": "Giải Ba"}, "Sửa", NOW, PUBLIC)


def test_revoking_keeps_the_record_with_the_reason(app, certificate, organiser):
    issue.revoke(organiser, certificate, "Vi phạm thể lệ hội thi", NOW)
    revoked = reload(certificate)
    assert (revoked.status, revoked.revoke_reason, revoked.revoked_at, revoked.revoked_by_id) == (
        "revoked", "Vi phạm thể lệ hội thi", NOW, organiser.id)
    entry = AuditLog.get(AuditLog.action == "certificate.revoke")
    assert json.loads(entry.details)["reason"] == "Vi phạm thể lệ hội thi"
    with pytest.raises(Conflict):
        issue.revoke(organiser, revoked, "Lần nữa", NOW)


def test_revoking_needs_a_reason_and_the_newest_version(app, certificate, organiser):
    with pytest.raises(DomainError) as refused:
        issue.revoke(organiser, certificate, "", NOW)
    assert refused.value.field == "reason"
    issue.replace(organiser, certificate, {"round": "Tuần 2"}, "Nhầm tuần", NOW, PUBLIC)
    with pytest.raises(Conflict):
        issue.revoke(organiser, reload(certificate), "Thu hồi", NOW)
    assert reload(certificate).status == "replaced"


def test_an_organiser_of_another_committee_can_neither_correct_nor_revoke(app, certificate, make_unit, make_user):
    stranger = make_user(role="organiser", unit=make_unit("DL", "Đảng bộ huyện Đại Lộc", "committee"))
    with pytest.raises(DomainError):
        issue.revoke(stranger, certificate, "Thu hồi", NOW)
    with pytest.raises(DomainError):
        issue.replace(stranger, certificate, {"prize": "Giải Ba"}, "Sửa", NOW, PUBLIC)
    assert reload(certificate).status == "valid"
