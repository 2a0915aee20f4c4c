"""Script in every user-supplied field is inert: the demo organisation with markup written into unit and member
names, quiz titles, questions and options, contest titles and rules, pledge texts and stories; every page a
member, a secretary and an organiser open shows it as text, under a Content-Security-Policy that allows no
inline script; the pledge PDF prints it as text."""

import re
import subprocess

import pytest

from portal import demo
from portal.accounts.models import Unit, User
from portal.contests.models import Contest
from portal.pledges.models import ExemplaryStory, Pledge, PledgeItem, PledgePeriod
from portal.quiz.models import Option, Question, Quiz

EVIL = '<script>alert("x")</script><img src=x onerror=alert(1)>'
RAW = re.compile(r"<script>alert|<img src=x onerror", re.I)


@pytest.fixture
def hostile(app):
    demo.load()
    tag = lambda value: f"{value} {EVIL}"  # noqa: E731
    for unit in Unit.select():
        Unit.update(name=tag(unit.name)).where(Unit.id == unit.id).execute()
    User.update(full_name=User.full_name.concat(" " + EVIL)).execute()
    Quiz.update(title=Quiz.title.concat(" " + EVIL), description=EVIL).execute()
    Question.update(text=Question.text.concat(" " + EVIL), explanation=EVIL).execute()
    Option.update(text=Option.text.concat(" " + EVIL)).execute()
    Contest.update(title=Contest.title.concat(" " + EVIL), rules_text=EVIL).execute()
    PledgePeriod.update(title=PledgePeriod.title.concat(" " + EVIL), topic=EVIL).execute()
    Pledge.update(full_name=Pledge.full_name.concat(" " + EVIL)).execute()
    PledgeItem.update(content=PledgeItem.content.concat(" " + EVIL), measure=EVIL).execute()
    ExemplaryStory.update(title=ExemplaryStory.title.concat(" " + EVIL), story=EVIL).execute()
    return PledgePeriod.get().id


def crawl(client, start):
    """The pages reachable from ``start`` by the site's own links (GET only, no downloads), up to 60."""
    seen, queue, pages = set(), list(start), {}
    while queue and len(pages) < 60:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url)
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        html = response.get_data(as_text=True)
        pages[url] = (response, html)
        for link in re.findall(r'href="(/[^"#]*)"', html):
            link = link.replace("&amp;", "&")
            if not link.startswith(("/static", "/logout")) and not re.search(r"\.(pdf|xlsx|csv|zip|gift)\b", link):
                queue.append(link)
    return pages


@pytest.mark.parametrize("username", ["dangvien", "bithu", "tochuc"])
def test_markup_in_every_field_is_shown_as_text_on_every_page(client, auth, hostile, username):
    assert auth.login(username, demo.DEMO_PASSWORD).status_code == 302
    pages = crawl(client, ["/", f"/pledges/{hostile}/exemplary", "/pledges", "/quiz/", "/contests/",
                           f"/manage/pledges/{hostile}", f"/manage/pledges/{hostile}/stories"])
    assert len(pages) >= 10, sorted(pages)
    escaped = 0
    for url, (response, html) in pages.items():
        assert not RAW.search(html), f"{url} renders markup from a field"
        escaped += html.count("&lt;script&gt;alert")
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), f"{url} has an inline script"
    assert escaped > 20  # the fields were really on the pages, as text


def test_markup_in_a_pledge_prints_as_text_in_its_pdf(client, auth, hostile, tmp_path):
    assert auth.login("dangvien", demo.DEMO_PASSWORD).status_code == 302
    pledge = Pledge.get(Pledge.user == User.get(User.username == "dangvien"))
    response = client.get(f"/pledges/{pledge.id}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    path = tmp_path / "pledge.pdf"
    path.write_bytes(response.data)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert '<script>alert("x")</script>' in " ".join(text.split())
