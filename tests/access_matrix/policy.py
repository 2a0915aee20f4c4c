"""What each cell of the matrix expects: outcomes, the facts about an actor and a target, and the policies.

A policy is a function of a ``Ctx`` (who asks, about which place's object) returning one outcome. The policies
say what the design promises (DESIGN.md "People", accounts/permissions.py's docstrings); they are written from
the roles' duties, not copied from the code that decides.
"""

import dataclasses

OK = "ok"  # passed the access check: 2xx, a redirect to a page (not the login), or 400/409/422 for the content
DENY = "403"
HIDE = "404"  # refused without saying the object exists
LOGIN = "login"  # anonymous: 302 to /login?next=… (HTML) or 401 (the JSON API)
REFUSED = (DENY, HIDE)  # either refusal: a guessed id of nothing at all
ERROR = "500"


def outcome(response):
    """The outcome a response shows."""
    status = response.status_code
    if status == 401:
        return LOGIN
    if status in (301, 302, 303, 307, 308):
        location = response.headers.get("Location", "")
        path = location.split("://", 1)[-1]
        path = path[path.find("/"):] if "://" in location else path
        if path.startswith("/login?") and "next=" in path:
            return LOGIN
        return OK
    if status == 403:
        return DENY
    if status == 404:
        return HIDE
    if status >= 500:
        return ERROR
    if status in (405, 429):
        return str(status)  # never expected: a wrong method in the table, or throttling left on
    return OK


def matches(expected, actual):
    return actual in expected if isinstance(expected, tuple) else actual == expected


@dataclasses.dataclass
class Ctx:
    """The facts a policy decides on, for one actor and one target place ("A" home, "E" foreign)."""

    role: str
    relation: str
    place: str
    owns: frozenset  # families of the URL whose object is the actor's own (their attempt, pledge…)
    has: frozenset  # families the actor owns an object of in this place (the pledge behind /pledges/<period>)
    unit_in: bool  # the actor's unit is the target's cell
    sec: bool  # secretary of the target's cell
    org: bool  # organiser of a subtree holding the target's cell
    org_exact: bool  # organiser of exactly the target's cell
    org_parent: bool  # organiser of a subtree holding the committee above the cell
    any_sec: bool
    any_org: bool

    @property
    def anon(self):
        return self.role == "anonymous"

    @property
    def admin(self):
        return self.role == "admin"

    def own(self, family):
        return family in self.owns


def context(actor, place, place_cell, owns, has):
    grants = [] if actor.user is None else [(g.role, g.unit) for g in actor.user.grants]
    orgs = [unit for role, unit in grants if role == "organiser"]
    secs = [unit for role, unit in grants if role == "secretary"]
    parent = place_cell.parent
    return Ctx(role=actor.role, relation=actor.relation, place=place, owns=frozenset(owns), has=frozenset(has),
               unit_in=actor.unit is not None and actor.unit.id == place_cell.id,
               sec=any(u.id == place_cell.id for u in secs),
               org=any(place_cell.is_within(u) for u in orgs),
               org_exact=any(u.id == place_cell.id for u in orgs),
               org_parent=any(parent.is_within(u) for u in orgs),
               any_sec=bool(secs), any_org=bool(orgs))


# -- the policies ------------------------------------------------------------------------------------------------

def public(c):
    """Anyone, logged in or not."""
    return OK


def logged_in(c):
    """Any account; lists and forms show only what is the user's."""
    return LOGIN if c.anon else OK


def admin_only(c):
    """Units, accounts, roles and the audit log: admins."""
    return LOGIN if c.anon else OK if c.admin else DENY


def any_organiser(c):
    """Lists and new-object forms of the organisers' areas: any organiser (each sees their own subtree)."""
    return LOGIN if c.anon else OK if c.admin or c.any_org else DENY


def roster_viewer(c):
    """The member list: secretaries (their cell) and organisers (their subtree)."""
    return LOGIN if c.anon else OK if c.admin or c.any_org or c.any_sec else DENY


def manages(c):
    """An organiser's object (topic, question, quiz, contest, design, certificate, period): its subtree's organisers;
    others are told no (403: the organisers' pages say so rather than hide)."""
    return LOGIN if c.anon else OK if c.admin or c.org else DENY


def manages_hidden(c):
    """An exemplary story: its subtree's organisers; to anyone else it does not exist."""
    return LOGIN if c.anon else OK if c.admin or c.org else HIDE


def own_attempt(c):
    """An attempt: its member only, not even an admin (the organisers read it on their own pages); to anyone else
    it does not exist."""
    return LOGIN if c.anon else OK if c.own("attempt") else HIDE


def takes_quiz(c):
    """A quiz open to the member's unit (the owner's subtree): anyone else does not see it."""
    return LOGIN if c.anon else OK if c.unit_in else HIDE


def takes_quiz_api(c):
    """Starting an attempt through the API: 403 for a quiz not open to the unit (the API's documented answer)."""
    return LOGIN if c.anon else OK if c.unit_in else DENY


def own_certificate(c):
    """A certificate's PDF: its holder and the organisers of its unit; nobody else learns the code exists."""
    return LOGIN if c.anon else OK if c.own("certificate") or c.admin or c.org else HIDE


def sees_contest(c):
    """A members-only contest's pages: its eligible members and its organisers; hidden from everyone else."""
    return OK if c.admin or c.org or c.unit_in else HIDE


def follows_job(c):
    """A background job: its creator and the organisers of its unit."""
    return LOGIN if c.anon else OK if c.own("job") or c.admin or c.org else DENY


def reads_roster_import(c):
    """A roster import's result and credentials sheet: whoever imported it, and admins."""
    return LOGIN if c.anon else OK if c.admin or c.own("roster_import") else DENY


def manages_account(c):
    """Resetting a member's password from the roster: the organisers of their unit (never over wider rights)."""
    return LOGIN if c.anon else OK if c.admin or c.org else DENY


def in_period(c):
    """A pledge period's member page: members of the units it covers."""
    return LOGIN if c.anon else OK if c.unit_in else HIDE


def own_pledge_in_period(c):
    """Notes, self-reports and accepting the evaluation act on the member's own pledge of the period."""
    return LOGIN if c.anon else OK if c.unit_in and "pledge" in c.has else HIDE


def reads_pledge(c):
    """A member's pledge (its PDF): the member, the secretary of their cell, the organisers above, admins; to
    anyone else it does not exist."""
    return LOGIN if c.anon else OK if c.own("pledge") or c.sec or c.org or c.admin else HIDE


def reads_pledge_review_page(c):
    """The secretary's review page of a member's pledge: who may read the pledge (403 for anyone else)."""
    return LOGIN if c.anon else OK if c.own("pledge") or c.sec or c.org or c.admin else DENY


def reviews_pledge(c):
    """Acknowledge, return, evaluate a member's pledge: the secretary of their cell, never their own pledge
    (the collective's evaluation of a secretary is recorded by the deputy)."""
    return LOGIN if c.anon else OK if c.sec and not c.own("pledge") else DENY


def pledge_boards(c):
    """The list of boards: secretaries and organisers."""
    return LOGIN if c.anon else OK if c.admin or c.any_sec or c.any_org else DENY


def cell_board(c):
    """A cell's board (and its PDF): its secretary, organisers above it, admins."""
    return LOGIN if c.anon else OK if c.admin or c.sec or c.org else DENY


def period_board(c):
    """The committee board of a period (export, commendations, stories, yearbook): who manages the period."""
    return LOGIN if c.anon else OK if c.admin or c.org else DENY


def sees_showcase(c):
    """A period's showcase (and a published story's photo): its members and the organisers of its tree."""
    return LOGIN if c.anon else OK if c.admin or c.unit_in or c.org else HIDE


def unit_pledges_page(c):
    """The unit pledges of a period: who files one in it (its cells' secretaries, its organisers) or reviews one
    (the organisers above); an admin sees it (and files and reviews none)."""
    return LOGIN if c.anon else OK if c.sec or c.org or c.admin else DENY


def files_unit_pledge(c):
    """A cell's unit pledge: its secretary or the organiser of exactly that cell (an admin files for nobody)."""
    return LOGIN if c.anon else OK if c.sec or c.org_exact else DENY


def reads_unit_pledge(c):
    """A unit pledge's review page: its filers, the organisers above, admins; hidden from anyone else."""
    return LOGIN if c.anon else OK if c.admin or c.sec or c.org else HIDE


def reviews_unit_pledge(c):
    """Acknowledge, return, evaluate a unit pledge: the organisers of the committee above it; its readers are
    told no, anyone else does not see it."""
    if c.anon:
        return LOGIN
    if c.org_parent:
        return OK
    return DENY if reads_unit_pledge(c) == OK else HIDE


# -- what a list shows of the home cell's objects (functions of a Ctx -> bool) -----------------------------------

def listed_to_roster_viewers(c):
    """The member list shows the cell's members to its secretary, the organisers above it and admins."""
    return c.admin or c.sec or c.org


def listed_to_managers(c):
    """An organiser's list (topics, quizzes, contests, designs, certificates, periods) holds their subtree's."""
    return c.admin or c.org


def listed_to_takers(c):
    """The quizzes and contests open to the member's unit."""
    return c.unit_in


def listed_to_owner_attempt(c):
    return "attempt" in c.has


def listed_to_owner_certificate(c):
    return c.relation == "own" and c.role == "member"  # the home member's own certificate: theirs alone


def listed_to_job_creator(c):
    return c.role == "organiser" and c.relation == "own"


def listed_period_to_members(c):
    """The member's pledge periods: those covering their unit (and the showcases they may read)."""
    return c.unit_in or c.admin or c.org


def missing(policy):
    """A guessed id of nothing: a refusal; the login page for anonymous visitors where the page needs a login."""
    def expect(c):
        if c.anon:
            return LOGIN if policy(c) == LOGIN else HIDE
        return REFUSED
    return expect
