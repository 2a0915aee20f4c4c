"""The organiser's contest pages over HTTP: creating a contest and a round through the forms, who may see them."""

import datetime as dt
import re

import pytest

from portal.accounts.models import utcnow
from portal.contests.models import Contest, PrizeTier, Round
from portal.quiz.models import Option, Question, Quiz, Topic
from tests.conftest import reload
from tests.contests.test_setup import PNG

NOW = utcnow().replace(second=0, microsecond=0)


def local(value):
    """A UTC time as the organiser types it (Vietnam time, datetime-local)."""
    return (value + dt.timedelta(hours=7)).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture
def topic(committee):
    topic = Topic.create(code="CD-2025", title="Chuyên đề năm 2025", year=2025, owner_unit=committee)
    for i in range(12):
        q = Question.create(topic=topic, kind="single", text=f"Câu {i}?", normalised_text=f"câu {i}?")
        Option.create(question=q, position=0, text="Đúng", weight=100)
        Option.create(question=q, position=1, text="Sai", weight=0)
    return topic


@pytest.fixture
def organiser(login, committee):
    return login(role="organiser", scope=committee, unit=committee)


def contest_form(committee, **fields):
    data = {"title": "Hội thi tìm hiểu Nghị quyết Đại hội", "owner_unit": str(committee.id),
            "starts_at": local(NOW - dt.timedelta(days=1)), "ends_at": local(NOW + dt.timedelta(days=30)),
            "rules_text": "Điều 1.\n\nĐiều 2.", "rule_2": "prediction", "rule_3": "time", "rule_4": "submitted",
            "aggregate": "sum", "collective_measure": "rate", "collective_points_per_prize": "5"}
    data.update(fields)
    return data


def round_form(topic, **fields):
    data = {"title": "Tuần 1", "description": "", "prediction": "perfect",
            "opens_at": local(NOW - dt.timedelta(hours=1)), "closes_at": local(NOW + dt.timedelta(days=7)),
            "time_limit_minutes": "20", "draws-0-topic": str(topic.id), "draws-0-count": "10",
            "draws-0-difficulty": "", "fixed_questions": "", "shuffle_questions": "y", "shuffle_options": "y",
            "attempts_allowed": "2", "grading_method": "highest", "review_after_submit": "score",
            "review_after_close": "answers"}
    data.update(fields)
    return data


def test_an_organiser_sets_up_a_contest_and_a_round_through_the_forms(client, organiser, committee, cell, topic):
    page = client.get("/manage/contests/new")
    assert page.status_code == 200 and "contest_admin" not in page.get_data(as_text=True)
    response = client.post("/manage/contests/new", data=contest_form(committee, units=[str(cell.id)],
                                                                       is_public="y"))
    assert response.status_code == 302
    contest = Contest.get()
    assert response.headers["Location"].endswith(f"/manage/contests/{contest.id}")
    assert contest.is_public and contest.ranking_rules == "score,prediction,time,submitted"
    assert contest.starts_at == NOW - dt.timedelta(days=1)  # typed in Vietnam time, stored in UTC

    form = client.get(f"/manage/contests/{contest.id}/rounds/new").get_data(as_text=True)
    assert "CD-2025" in form and 'name="draws-0-topic"' in form
    response = client.post(f"/manage/contests/{contest.id}/rounds/new", data=round_form(topic))
    assert response.status_code == 302, response.get_data(as_text=True)
    round_ = Round.get()
    quiz = reload(round_.quiz)
    assert not quiz.is_listed and quiz.prediction_prompt and quiz.attempts_allowed == 2
    assert quiz.time_limit_seconds == 1200 and not quiz.is_published

    page = client.get(f"/manage/contests/{contest.id}").get_data(as_text=True)
    assert "Tuần 1" in page and f"/manage/contests/{contest.id}/rounds/{round_.id}/ranking" in page
    assert client.post(f"/manage/contests/{contest.id}/publish").status_code == 302
    assert reload(contest).is_published and reload(quiz).is_published
    assert "Tuần 1" in client.get("/manage/contests/").get_data(as_text=True) or \
        contest.title in client.get("/manage/contests/").get_data(as_text=True)


def test_a_refused_form_comes_back_with_the_message_at_its_field(client, organiser, committee, topic):
    response = client.post("/manage/contests/new", data=contest_form(
        committee, ends_at=local(NOW - dt.timedelta(days=2))))
    assert response.status_code == 200 and Contest.select().count() == 0
    page = response.get_data(as_text=True)
    assert 'id="ends_at-error"' in page and "Hội thi tìm hiểu Nghị quyết Đại hội" in page
    client.post("/manage/contests/new", data=contest_form(committee))
    contest = Contest.get()
    response = client.post(f"/manage/contests/{contest.id}/rounds/new",
                           data=round_form(topic, **{"draws-0-count": "13"}))
    assert response.status_code == 200 and Round.select().count() == 0
    assert 'class="error" role="alert"' in response.get_data(as_text=True)  # above the draw rows


def test_edits_that_would_change_the_ranking_are_refused_once_taken(client, organiser, committee, topic, cell,
                                                                       make_user, make_attempt):
    client.post("/manage/contests/new", data=contest_form(committee))
    contest = Contest.get()
    client.post(f"/manage/contests/{contest.id}/rounds/new", data=round_form(topic))
    round_ = Round.get()
    make_attempt(round_, make_user(unit=cell), 7)
    url = f"/manage/contests/{contest.id}/rounds/{round_.id}/edit"
    page = client.get(url).get_data(as_text=True)
    assert 'value="Tuần 1"' in page
    response = client.post(url, data=round_form(topic, grading_method="last"))
    assert response.status_code == 200 and 'id="grading_method-error"' in response.get_data(as_text=True)
    assert reload(round_.quiz).grading_method == "highest"
    response = client.post(url, data=round_form(topic, title="Tuần thứ nhất"))
    assert response.status_code == 302 and reload(round_.quiz).title == "Tuần thứ nhất"


def test_prize_tiers_through_the_form(client, organiser, committee):
    client.post("/manage/contests/new", data=contest_form(committee))
    contest = Contest.get()
    page = client.get(f"/manage/contests/{contest.id}/tiers").get_data(as_text=True)
    assert 'value="Giải Khuyến khích"' in page
    response = client.post(f"/manage/contests/{contest.id}/tiers/units", data={
        "tiers-0-name": "Giải Nhất", "tiers-0-count": "1", "tiers-1-name": "Giải Nhì", "tiers-1-count": "2",
        "tiers-1-max_share": "10", "tiers-2-name": "", "tiers-2-count": ""})
    assert response.status_code == 302
    assert [(t.name, t.count, t.max_share) for t in PrizeTier.select().where(PrizeTier.collective == True)  # noqa
            .order_by(PrizeTier.position)] == [("Giải Nhất", 1, None), ("Giải Nhì", 2, 10)]
    response = client.post(f"/manage/contests/{contest.id}/tiers", data={"tiers-0-name": "", "tiers-0-count": "3"})
    assert response.status_code == 200 and 'role="alert"' in response.get_data(as_text=True)


def test_the_banner_is_uploaded_and_served_alone(client, organiser, committee, app):
    import io

    client.post("/manage/contests/new", data=contest_form(committee))
    contest = Contest.get()
    response = client.post(f"/manage/contests/{contest.id}/banner",
                           data={"banner": (io.BytesIO(b"GIF89a not a png"), "banner.png")},
                           content_type="multipart/form-data")
    assert response.status_code == 302 and reload(contest).banner == ""
    client.post(f"/manage/contests/{contest.id}/banner", data={"banner": (io.BytesIO(PNG), "x.jpg")},
                content_type="multipart/form-data")
    assert reload(contest).banner == "banner.png"
    served = client.get(f"/contests/{contest.id}/banner")
    assert served.status_code == 200 and served.data == PNG and served.mimetype == "image/png"
    served.close()
    assert client.post(f"/manage/contests/{contest.id}/banner/remove").status_code == 302
    assert client.get(f"/contests/{contest.id}/banner").status_code == 404


def test_another_committees_organiser_and_members_are_refused(client, auth, make_user, make_unit, committee, cell,
                                                             topic, make_contest, make_round):
    contest = make_contest()
    round_ = make_round(contest)
    urls = [f"/manage/contests/{contest.id}", f"/manage/contests/{contest.id}/edit",
            f"/manage/contests/{contest.id}/rounds/new", f"/manage/contests/{contest.id}/rounds/{round_.id}/edit",
            f"/manage/contests/{contest.id}/tiers", f"/manage/contests/{contest.id}/rounds/{round_.id}/tiers"]
    other = make_unit("TK", "Đảng bộ huyện Thanh Khê", "committee")
    stranger = make_user(role="organiser", scope=other, unit=other)
    auth.login(stranger.username)
    for url in urls:
        assert client.get(url).status_code == 403, url
    assert client.post(f"/manage/contests/{contest.id}/publish").status_code == 403
    assert contest.title not in client.get("/manage/contests/").get_data(as_text=True)
    response = client.post("/manage/contests/new", data=contest_form(committee, title="Của người khác"))
    assert response.status_code == 200 and Contest.select().count() == 1  # not their unit
    auth.logout()
    member = make_user(unit=cell)
    auth.login(member.username)
    assert client.get("/manage/contests/").status_code == 403
    for url in urls:
        assert client.get(url).status_code == 403, url
    auth.logout()
    assert client.get(urls[0]).status_code == 302  # visitors go to the login page


def test_the_forms_need_the_csrf_token(app, client, organiser, committee):
    app.config["WTF_CSRF_ENABLED"] = True
    assert client.post("/manage/contests/new", data=contest_form(committee)).status_code == 400
    page = client.get("/manage/contests/new").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post("/manage/contests/new", data=contest_form(committee, csrf_token=token))
    assert response.status_code == 302 and Contest.select().count() == 1
    contest = Contest.get()
    assert client.post(f"/manage/contests/{contest.id}/publish").status_code == 400
    assert not reload(contest).is_published


def test_the_organisers_menu_links_to_contests(client, organiser):
    assert 'href="/manage/contests/"' in client.get("/").get_data(as_text=True)


def test_quiz_counts_are_unchanged_by_a_refused_round(client, organiser, committee, topic):
    client.post("/manage/contests/new", data=contest_form(committee))
    contest = Contest.get()
    client.post(f"/manage/contests/{contest.id}/rounds/new", data=round_form(topic, closes_at=""))
    assert Quiz.select().count() == 0
