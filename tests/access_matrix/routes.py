"""Every route of the app, classified: the URL to request (filled from a place's ids), the body to send, and the
policy each cell of its row must follow.

A route is named as ``app.url_map`` names it: (rule, method). A rule the table does not name fails
test_every_route_is_classified, so a new page cannot go unchecked.
"""

import dataclasses
import string

from .policy import (admin_only, any_organiser, cell_board, files_unit_pledge, follows_job, in_period,
                     listed_period_to_members, listed_to_job_creator, listed_to_managers, listed_to_owner_attempt,
                     listed_to_owner_certificate, listed_to_roster_viewers, listed_to_takers, logged_in, manages,
                     manages_account, manages_hidden, own_attempt, own_certificate, own_pledge_in_period,
                     period_board, pledge_boards, public, reads_pledge, reads_pledge_review_page, reads_roster_import,
                     reads_unit_pledge, reviews_pledge, reviews_unit_pledge, roster_viewer, sees_contest,
                     sees_showcase, takes_quiz, takes_quiz_api, unit_pledges_page)

# Families of ids whose object belongs to a person: the "own" actors get their own object there.
PERSONAL = ("attempt", "certificate", "pledge", "user", "job", "roster_import")


@dataclasses.dataclass(frozen=True)
class Route:
    rule: str
    method: str
    url: str  # str.format template over a place's ids (and a variant's values)
    policy: object
    data: dict = None  # form fields (values are templates too)
    json: dict = None
    variants: tuple = ({},)  # several URLs for one rule: {"fmt": "xlsx"}, {"fmt": "csv"}…
    may_write: object = None  # who may change rows through it (default: who passes ``policy``)
    shows: tuple = None  # (marker, who sees it): a list page names the home cell's object only to them

    @property
    def writes(self):
        return self.may_write or self.policy

    @property
    def key(self):
        return (self.rule, self.method)

    @property
    def families(self):
        """The ids the URL and body name."""
        texts = [self.url] + [str(v) for v in (self.data or {}).values()]
        return {name for text in texts for _lit, name, _spec, _conv in string.Formatter().parse(text) if name}

    @property
    def has_ids(self):
        return bool(self.families - {"fmt"})


def _routes():
    rows = []

    def add(rule, methods, url, policy, **extra):
        for method in methods.split(","):
            rows.append(Route(rule, method, url, policy, **extra))

    formats = lambda *names: tuple({"fmt": n} for n in names)  # noqa: E731

    # -- logging in, the home page, one's password ----------------------------------------------------------
    add("/", "GET", "/", logged_in)
    add("/login", "GET,POST", "/login", public)
    add("/logout", "POST", "/logout", public)  # 302 to the login page (no next=): that is the page asked for
    add("/account/password", "GET,POST", "/account/password", logged_in)

    # -- admin: units, accounts, roles, the audit log ---------------------------------------------------------
    add("/admin/audit", "GET", "/admin/audit", admin_only)
    add("/admin/units", "GET", "/admin/units", admin_only)
    add("/admin/units/new", "GET,POST", "/admin/units/new", admin_only)
    add("/admin/units/<int:unit_id>", "GET,POST", "/admin/units/{unit}", admin_only)
    add("/admin/units/<int:unit_id>/delete", "POST", "/admin/units/{unit}/delete", admin_only)
    add("/admin/users", "GET", "/admin/users", admin_only)
    add("/admin/users/new", "GET,POST", "/admin/users/new", admin_only)
    add("/admin/users/<int:user_id>", "GET,POST", "/admin/users/{user}", admin_only)
    for action in ("lock", "unlock", "password", "roles"):
        add(f"/admin/users/<int:user_id>/{action}", "POST", f"/admin/users/{{user}}/{action}", admin_only)
    add("/admin/roles/<int:grant_id>/revoke", "POST", "/admin/roles/{grant}/revoke", admin_only)

    # -- rosters ------------------------------------------------------------------------------------------------
    add("/members/", "GET", "/members/", roster_viewer, shows=("owner", listed_to_roster_viewers))
    add("/members/export.xlsx", "GET", "/members/export.xlsx", roster_viewer)
    add("/members/<int:user_id>/reset-password", "POST", "/members/{user}/reset-password", manages_account)
    add("/members/import", "GET,POST", "/members/import", any_organiser)
    add("/members/import/confirm", "POST", "/members/import/confirm", any_organiser)
    add("/members/import/template.<fmt>", "GET", "/members/import/template.{fmt}", any_organiser,
        variants=formats("xlsx", "csv"))
    add("/members/imports/<int:import_id>", "GET", "/members/imports/{roster_import}", reads_roster_import)
    add("/members/imports/<int:import_id>/credentials.<fmt>", "GET",
        "/members/imports/{roster_import}/credentials.{fmt}", reads_roster_import, variants=formats("pdf", "xlsx"))
    add("/members/imports/<int:import_id>/credentials/delete", "POST",
        "/members/imports/{roster_import}/credentials/delete", reads_roster_import)

    # -- quizzes: the member's pages and the JSON API ---------------------------------------------------------
    add("/quiz/", "GET", "/quiz/", logged_in, shows=("quiz", listed_to_takers))
    add("/quiz/history", "GET", "/quiz/history", logged_in, shows=("quiz", listed_to_owner_attempt))
    add("/quiz/<int:quiz_id>", "GET", "/quiz/{quiz}", takes_quiz)
    add("/quiz/<int:quiz_id>/start", "POST", "/quiz/{quiz}/start", takes_quiz)
    add("/quiz/attempts/<int:attempt_id>", "GET", "/quiz/attempts/{attempt}", own_attempt)
    add("/quiz/attempts/<int:attempt_id>/result", "GET", "/quiz/attempts/{attempt}/result", own_attempt)
    add("/quiz/attempts/<int:attempt_id>/submit", "POST", "/quiz/attempts/{attempt}/submit", own_attempt)
    add("/api/v1/openapi.json", "GET", "/api/v1/openapi.json", public)
    add("/api/v1/quizzes/<int:quiz_id>/attempts", "POST", "/api/v1/quizzes/{quiz}/attempts", takes_quiz_api)
    add("/api/v1/attempts/<int:attempt_id>", "GET", "/api/v1/attempts/{attempt}", own_attempt)
    add("/api/v1/attempts/<int:attempt_id>/answers", "PUT,POST", "/api/v1/attempts/{attempt}/answers", own_attempt,
        json={"seq": 1, "answers": {}})
    add("/api/v1/attempts/<int:attempt_id>/submit", "POST", "/api/v1/attempts/{attempt}/submit", own_attempt,
        json={})
    add("/api/v1/attempts/<int:attempt_id>/questions/<int:position>/check", "POST",
        "/api/v1/attempts/{attempt}/questions/1/check", own_attempt)

    # -- quizzes: the organisers' pages ---------------------------------------------------------------------------
    add("/manage/", "GET", "/manage/", any_organiser)
    add("/manage/import/template.<fmt>", "GET", "/manage/import/template.{fmt}", any_organiser,
        variants=formats("xlsx", "csv"))
    add("/manage/topics", "GET", "/manage/topics", any_organiser, shows=("topic", listed_to_managers))
    add("/manage/topics/new", "GET,POST", "/manage/topics/new", any_organiser)
    add("/manage/topics/<int:topic_id>", "GET", "/manage/topics/{topic}", manages)
    add("/manage/topics/<int:topic_id>/edit", "GET,POST", "/manage/topics/{topic}/edit", manages)
    add("/manage/topics/<int:topic_id>/export.<fmt>", "GET", "/manage/topics/{topic}/export.{fmt}", manages,
        variants=formats("gift", "xlsx"))
    add("/manage/topics/<int:topic_id>/import", "GET,POST", "/manage/topics/{topic}/import", manages)
    add("/manage/topics/<int:topic_id>/import/confirm", "POST", "/manage/topics/{topic}/import/confirm", manages)
    add("/manage/topics/<int:topic_id>/questions/new", "GET,POST", "/manage/topics/{topic}/questions/new", manages)
    add("/manage/questions/<int:question_id>", "GET,POST", "/manage/questions/{question}", manages)
    add("/manage/questions/<int:question_id>/retire", "POST", "/manage/questions/{question}/retire", manages)
    add("/manage/questions/<int:question_id>/restore", "POST", "/manage/questions/{question}/restore", manages)
    add("/manage/quizzes", "GET", "/manage/quizzes", any_organiser, shows=("quiz", listed_to_managers))
    add("/manage/quizzes/new", "GET,POST", "/manage/quizzes/new", any_organiser)
    add("/manage/quizzes/<int:quiz_id>", "GET,POST", "/manage/quizzes/{quiz}", manages)
    add("/manage/quizzes/<int:quiz_id>/publish", "POST", "/manage/quizzes/{quiz}/publish", manages)
    add("/manage/quizzes/<int:quiz_id>/unpublish", "POST", "/manage/quizzes/{quiz}/unpublish", manages)
    add("/manage/quizzes/<int:quiz_id>/results", "GET", "/manage/quizzes/{quiz}/results", manages)
    add("/manage/quizzes/<int:quiz_id>/results.xlsx", "GET", "/manage/quizzes/{quiz}/results.xlsx", manages)
    add("/manage/quizzes/<int:quiz_id>/analysis", "GET", "/manage/quizzes/{quiz}/analysis", manages)
    add("/manage/quizzes/<int:quiz_id>/survey", "GET", "/manage/quizzes/{survey}/survey", manages)
    add("/manage/quizzes/<int:quiz_id>/survey.xlsx", "GET", "/manage/quizzes/{survey}/survey.xlsx", manages)
    add("/manage/attempts/<int:attempt_id>", "GET", "/manage/attempts/{attempt}", manages)

    # -- contests: contestants and the public -------------------------------------------------------------------
    add("/contests/", "GET", "/contests/", public, shows=("contest", listed_to_takers))
    add("/contests/<int:contest_id>", "GET", "/contests/{contest}", sees_contest)
    add("/contests/<int:contest_id>/banner", "GET", "/contests/{contest}/banner", sees_contest)
    add("/contests/<int:contest_id>/results", "GET", "/contests/{contest}/results", sees_contest)
    add("/contests/<int:contest_id>/rounds/<int:round_id>/results", "GET",
        "/contests/{contest}/rounds/{round}/results", sees_contest)
    add("/contests/<int:contest_id>/register", "GET,POST", "/contests/{public_contest}/register", public)
    add("/contests/<int:contest_id>/register/done", "GET", "/contests/{public_contest}/register/done", public)

    # -- contests: the organisers' pages --------------------------------------------------------------------------
    add("/manage/contests/", "GET", "/manage/contests/", any_organiser, shows=("contest", listed_to_managers))
    add("/manage/contests/new", "GET,POST", "/manage/contests/new", any_organiser)
    contest = "/manage/contests/<int:contest_id>"
    for tail, methods in (("", "GET"), ("/edit", "GET,POST"), ("/publish", "POST"), ("/unpublish", "POST"),
                          ("/banner", "POST"), ("/banner/remove", "POST"), ("/rounds/new", "GET,POST"),
                          ("/tiers", "GET,POST"), ("/tiers/units", "GET,POST"), ("/ranking", "GET"),
                          ("/ranking/recompute", "POST"), ("/ranking/award", "POST"), ("/ranking/prizes", "POST"),
                          ("/ranking/publish", "POST"), ("/stats", "GET"), ("/stats/collective", "POST"),
                          ("/stats/collective/adjust", "POST"), ("/flags", "GET"), ("/registrations", "GET"),
                          ("/registrations.csv", "GET"), ("/certificates", "GET,POST"),
                          ("/certificates/preview", "POST"), ("/certificates/sample.pdf", "GET"),
                          ("/certificates/issue", "POST")):
        add(contest + tail, methods, "/manage/contests/{contest}" + tail, manages)
    add(contest + "/certificates/download", "POST", "/manage/contests/{contest}/certificates/download", manages,
        data={"fmt": "pdf"})
    add(contest + "/results.<fmt>", "GET", "/manage/contests/{contest}/results.{fmt}", manages,
        variants=formats("xlsx", "csv", "pdf"))
    round_ = contest + "/rounds/<int:round_id>"
    for tail, methods in (("/edit", "GET,POST"), ("/tiers", "GET,POST"), ("/tiers/units", "GET,POST"),
                          ("/ranking", "GET"), ("/ranking/recompute", "POST"), ("/ranking/confirm", "POST"),
                          ("/ranking/award", "POST"), ("/ranking/live", "POST"), ("/ranking/prizes", "POST"),
                          ("/ranking/publish", "POST"), ("/stats", "GET"), ("/stats/collective", "POST"),
                          ("/stats/collective/adjust", "POST")):
        add(round_ + tail, methods, "/manage/contests/{contest}/rounds/{round}" + tail, manages)
    add(round_ + "/results.<fmt>", "GET", "/manage/contests/{contest}/rounds/{round}/results.{fmt}", manages,
        variants=formats("xlsx", "csv", "pdf"))

    # -- certificates -------------------------------------------------------------------------------------------
    add("/certificates/mine", "GET", "/certificates/mine", logged_in,
        shows=("certificate", listed_to_owner_certificate))
    add("/certificates/<code>.pdf", "GET", "/certificates/{certificate}.pdf", own_certificate)
    add("/verify", "GET,POST", "/verify", public)
    add("/verify/<code>", "GET", "/verify/{certificate}", public)
    add("/manage/certificates", "GET", "/manage/certificates", any_organiser, shows=("owner", listed_to_managers))
    add("/manage/certificates/new", "GET,POST", "/manage/certificates/new", any_organiser)
    add("/manage/certificates/<code>", "GET", "/manage/certificates/{certificate}", manages)
    add("/manage/certificates/<code>/correct", "GET,POST", "/manage/certificates/{certificate}/correct", manages)
    add("/manage/certificates/<code>/revoke", "POST", "/manage/certificates/{certificate}/revoke", manages)
    add("/manage/certificates/designs", "GET", "/manage/certificates/designs", any_organiser,
        shows=("design", listed_to_managers))
    add("/manage/certificates/designs/new", "GET,POST", "/manage/certificates/designs/new", any_organiser)
    add("/manage/certificates/designs/<int:design_id>", "GET,POST", "/manage/certificates/designs/{design}",
        manages)
    add("/manage/certificates/designs/<int:design_id>/preview/<kind>.pdf", "GET",
        "/manage/certificates/designs/{design}/preview/merit.pdf", manages)

    # -- jobs ---------------------------------------------------------------------------------------------------
    add("/jobs/", "GET", "/jobs/", logged_in, shows=("job", listed_to_job_creator))
    add("/jobs/<int:job_id>", "GET", "/jobs/{job}", follows_job)
    add("/jobs/<int:job_id>.json", "GET", "/jobs/{job}.json", follows_job)
    add("/jobs/<int:job_id>/download", "GET", "/jobs/{job}/download", follows_job)

    # -- pledges: members, secretaries, unit pledges, the showcase --------------------------------------------
    add("/pledges", "GET", "/pledges", logged_in, shows=("period", listed_period_to_members))
    add("/pledges/<int:period_id>", "GET,POST", "/pledges/{period}", in_period)
    add("/pledges/<int:period_id>/notes", "POST", "/pledges/{period}/notes", own_pledge_in_period)
    add("/pledges/<int:period_id>/reports/<stage>", "POST", "/pledges/{period}/reports/mid_year",
        own_pledge_in_period)
    add("/pledges/<int:period_id>/accept", "POST", "/pledges/{period}/accept", own_pledge_in_period)
    add("/pledges/<int:pledge_id>.pdf", "GET", "/pledges/{pledge}.pdf", reads_pledge)
    add("/pledges/review/<int:pledge_id>", "GET", "/pledges/review/{pledge}", reads_pledge_review_page)
    for action in ("acknowledge", "return", "evaluate"):
        add(f"/pledges/review/<int:pledge_id>/{action}", "POST", f"/pledges/review/{{pledge}}/{action}",
            reviews_pledge)
    add("/pledges/board", "GET", "/pledges/board", pledge_boards)
    add("/pledges/board/<int:period_id>", "GET", "/pledges/board/{period}", cell_board)
    add("/pledges/board/<int:period_id>/<int:cell_id>", "GET", "/pledges/board/{period}/{cell}", cell_board)
    add("/pledges/board/<int:period_id>/<int:cell_id>/acknowledge", "POST",
        "/pledges/board/{period}/{cell}/acknowledge", cell_board, data={"pledge": "{pledge}"}, may_write=reviews_pledge)
    add("/pledges/units", "GET", "/pledges/units", logged_in)
    add("/pledges/units/<int:period_id>", "GET", "/pledges/units/{period}", unit_pledges_page)
    unit = "/pledges/units/<int:period_id>/<int:unit_id>/<kind>"
    add(unit, "GET,POST", "/pledges/units/{period}/{cell}/breakthrough", files_unit_pledge)
    add(unit + "/report/<stage>", "POST", "/pledges/units/{period}/{cell}/breakthrough/report/mid_year",
        files_unit_pledge)
    add(unit + "/accept", "POST", "/pledges/units/{period}/{cell}/breakthrough/accept", files_unit_pledge)
    add("/pledges/units/review/<int:pledge_id>", "GET", "/pledges/units/review/{unit_pledge}", reads_unit_pledge)
    for action in ("acknowledge", "return", "evaluate"):
        add(f"/pledges/units/review/<int:pledge_id>/{action}", "POST",
            f"/pledges/units/review/{{unit_pledge}}/{action}", reviews_unit_pledge)
    add("/pledges/exemplary", "GET", "/pledges/exemplary", logged_in)
    add("/pledges/<int:period_id>/exemplary", "GET", "/pledges/{period}/exemplary", sees_showcase)
    add("/pledges/exemplary/<int:story_id>/photo", "GET", "/pledges/exemplary/{story}/photo", sees_showcase)

    # -- pledges: the organisers' pages ---------------------------------------------------------------------------
    add("/manage/pledges/", "GET", "/manage/pledges/", any_organiser, shows=("period", listed_to_managers))
    add("/manage/pledges/new", "GET,POST", "/manage/pledges/new", any_organiser)
    add("/manage/pledges/<int:period_id>", "GET", "/manage/pledges/{period}", period_board)
    add("/manage/pledges/<int:period_id>/edit", "GET,POST", "/manage/pledges/{period}/edit", manages)
    add("/manage/pledges/<int:period_id>/export.xlsx", "GET", "/manage/pledges/{period}/export.xlsx", period_board)
    add("/manage/pledges/<int:period_id>/cells/<int:cell_id>.pdf", "GET", "/manage/pledges/{period}/cells/{cell}.pdf",
        cell_board)
    add("/manage/pledges/<int:period_id>/commend", "GET,POST", "/manage/pledges/{period}/commend", period_board,
        data={"design": "{design}", "pledge": "{commended}"})
    add("/manage/pledges/<int:period_id>/stories", "GET", "/manage/pledges/{period}/stories", period_board)
    add("/manage/pledges/<int:period_id>/stories/new", "GET,POST",
        "/manage/pledges/{period}/stories/new?pledge={commended}", period_board)
    add("/manage/pledges/<int:period_id>/yearbook.pdf", "POST", "/manage/pledges/{period}/yearbook.pdf",
        period_board, data={"story": "{story}"})
    add("/manage/pledges/stories/<int:story_id>/edit", "GET,POST", "/manage/pledges/stories/{story}/edit",
        manages_hidden)
    add("/manage/pledges/stories/<int:story_id>/publish", "POST", "/manage/pledges/stories/{story}/publish",
        manages_hidden)
    add("/manage/pledges/stories/<int:story_id>/delete", "POST", "/manage/pledges/stories/{story}/delete",
        manages_hidden)
    return rows


ROUTES = _routes()
