"""`portal demo` adds contest 1: round 1 closed with a few hundred attempts, ranked, awarded, published; round 2 open."""

from portal.accounts.models import utcnow
from portal.contests.models import Award, Contest, Round, RoundEntry
from portal.quiz.models import Attempt


def test_demo_contest_has_a_published_round_and_an_open_one(runner, client, auth):
    assert runner.invoke(args=["demo"]).exit_code == 0
    contest = Contest.get_by_id(1)
    first, second = Round.get_by_id(1), Round.get_by_id(2)
    assert (first.contest_id, second.contest_id) == (contest.id, contest.id) and contest.is_published
    assert Attempt.select().where(Attempt.quiz == first.quiz_id).count() >= 150
    assert first.published_at is not None and first.prediction_truth is not None
    assert RoundEntry.select().where(RoundEntry.round == first).count() > 50
    assert Award.select().where(Award.round == first, Award.user.is_null(False)).count() == 11
    assert Award.select().where(Award.round == first, Award.unit.is_null(False)).count() >= 1
    assert second.quiz.is_open(utcnow()) and not first.quiz.is_open(utcnow())
    auth.login("dangvien", "demo2026")
    page = client.get("/contests/1").get_data(as_text=True)
    assert contest.title in page and "Vòng 2 (tuần 2)" in page
    results = client.get("/contests/1/rounds/1/results").get_data(as_text=True)
    assert "Giải Nhất" in results


def test_demo_round_1_winners_have_certificates_anyone_can_verify(runner, client):
    from portal.certificates.models import Certificate
    from portal.contests import certify

    assert runner.invoke(args=["demo"]).exit_code == 0
    contest, first = Contest.get_by_id(1), Round.get_by_id(1)
    design = contest.certificate_design
    assert design.issuing_committee == "HUYỆN ỦY HÒA VANG" and design.signer_on_behalf == "T/M BAN THƯỜNG VỤ"
    certificates = list(certify.valid_certificates(contest, first))
    prizes = Award.select().where(Award.round == first, Award.tier.is_null(False)).count()
    assert len(certificates) == prizes >= 12  # 11 people and at least one unit
    person = next(c for c in certificates if c.user_id is not None)
    data = person.values
    assert data["verify_url"] == f"http://portal.test/verify/{person.display_code}"  # the configured PUBLIC_URL
    assert data["prize"] in data["achievement"] and data["recipient_unit"]
    page = client.get(f"/verify/{person.display_code}").get_data(as_text=True)  # no login: a visitor checks it
    assert person.recipient_name in page and "HUYỆN ỦY HÒA VANG" in page
    assert Certificate.select().where(Certificate.unit.is_null(False)).count() >= 1
