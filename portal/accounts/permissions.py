"""Every access decision, from the user's roles and their unit scope.

Views, templates (through the ``can`` global) and the CLI ask here; nothing
else decides who may do what.

    admin       everything
    organiser   members, rosters, quizzes and contests of the units in a subtree
    secretary   the roster and the pledges of one cell
    member      their own account and what is open to their unit
"""

import operator
from functools import reduce

import peewee as pw
from werkzeug.exceptions import Forbidden

from ..db import Prepared
from .models import Unit


class AccessDenied(Forbidden):
    pass


def _grants(user, role):
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return []
    return [g for g in user.grants if g.role == role]


def is_admin(user):
    return bool(_grants(user, "admin"))


def organiser_scopes(user):
    """Units whose subtrees the user organises."""
    return [g.unit for g in _grants(user, "organiser") if g.unit is not None]


def secretary_cells(user):
    return [g.unit for g in _grants(user, "secretary") if g.unit is not None]


def _within_any(unit, scopes):
    return unit is not None and any(unit.is_within(s) for s in scopes)


def _is_member(user):
    return user is not None and getattr(user, "is_authenticated", False) and user.is_active


def _admin(user, obj=None):
    return is_admin(user)


def _manage_members(user, unit=None):
    """Import rosters, edit member details, reset passwords in a unit (any unit when None)."""
    if is_admin(user):
        return True
    scopes = organiser_scopes(user)
    return bool(scopes) if unit is None else _within_any(unit, scopes)


def _view_members(user, unit=None):
    """See the roster of a unit."""
    if _manage_members(user, unit):
        return True
    cells = secretary_cells(user)
    return bool(cells) if unit is None else any(unit.id == c.id for c in cells)


def _manage_user(user, target):
    """Edit another account's details or reset its password."""
    if is_admin(user):
        return True
    if target is None or target.unit is None:
        return False
    scopes = organiser_scopes(user)
    # Never power over an account with wider or equal rights: the organiser of a grassroots
    # committee must not reset the password of an admin (even a locked one), of the district
    # organiser who happens to sit in one of its cells, or of a fellow organiser of the same
    # committee (that would be taking over their account); an organiser of a unit below is fine.
    for grant in target.grants:
        if grant.role == "admin" or not _within_any(grant.unit, scopes):
            return False
        if grant.role == "organiser" and target.id != user.id and \
                not any(grant.unit.is_within(s) and grant.unit.id != s.id for s in scopes):
            return False
    return _within_any(target.unit, scopes)


def _own_roster_import(user, roster_import):
    """See a roster import's result and its credentials sheet: whoever imported it, or an admin."""
    if is_admin(user):
        return True
    return roster_import is not None and roster_import.actor_id == user.id and _manage_members(user)


def _owner_unit(obj):
    """The unit that owns a topic or a quiz, a question's topic, or a unit itself."""
    if isinstance(obj, Unit):
        return obj
    if hasattr(obj, "owner_unit_id"):
        return obj.owner_unit
    topic = getattr(obj, "topic", None)
    return topic.owner_unit if topic is not None else None


def _manage_quiz(user, obj=None):
    """Question banks and quizzes owned by a unit in the organiser's subtree (any organiser when None)."""
    if is_admin(user):
        return True
    scopes = organiser_scopes(user)
    return bool(scopes) if obj is None else _within_any(_owner_unit(obj), scopes)


# Other areas may let more people take a quiz (a public contest lets its registered visitors take its
# rounds): functions (user, quiz) -> bool, registered by those areas at import.
EXTRA_TAKERS = []


def _take_quiz(user, quiz):
    """Take (or answer) a published quiz whose audience includes the user's unit; none means the owner's subtree."""
    if quiz is None or not quiz.is_published:
        return False
    unit = _unit_of(user)  # the members of the audience first: nearly everybody who asks
    if unit is not None and _within_any(unit, _audience(quiz)):
        return True
    return any(extra(user, quiz) for extra in EXTRA_TAKERS)


_UNIT = Prepared(lambda mark: Unit.select().where(Unit.id == mark))
_NAMED = {}  # a model linking units to a quiz or a contest -> its prepared SELECT (``_named_units``)


def _named_units(links, key, owned):
    """The units that ``links`` (a quiz's audience, a contest's eligible units) names for ``owned``, through
    its foreign key ``key``; the owner's unit when it names none. One statement, prepared once per model."""
    select = _NAMED.get(links)
    if select is None:
        column = getattr(links, key)
        select = _NAMED[links] = Prepared(lambda owned_id, owner_id: Unit.select().where(
            Unit.id.in_(links.select(links.unit).where(column == owned_id))
            | ((Unit.id == owner_id) & ~pw.fn.EXISTS(links.select(links.unit).where(column == owned_id)))))
    return select.objects(owned.id, owned.owner_unit_id)


def _unit_of(user):
    """The user's unit, read with SQL prepared once and kept on the user object for the request (starting an
    attempt asks; Peewee's own lazy read would build its SELECT each time)."""
    if user.unit_id is None:
        return None
    if "unit" not in user.__rel__:
        user.unit = _UNIT.first(user.unit_id)
    return user.unit


def _audience(quiz):
    """The units a quiz is aimed at (none: its owner's subtree), kept on the quiz object for the request."""
    units = getattr(quiz, "_audience_units", None)
    if units is None:
        # the quiz area's QuizAudience, through the backref (no import cycle)
        units = quiz._audience_units = _named_units(quiz.audience.model, "quiz", quiz)
    return units


def _manage_contest(user, contest=None):
    """Set up, rank, award and publish contests owned by a unit in the organiser's subtree (any when None)."""
    return _manage_quiz(user, contest)


def _eligible(unit, contest):
    """Whether ``unit`` lies in a contest's eligible units (none named: its owner's subtree); the units are
    kept on the contest object for the request (its page asks more than once)."""
    scopes = getattr(contest, "_eligible_units", None)
    if scopes is None:  # the contest area's ContestUnit, through the backref, as for a quiz's audience
        scopes = contest._eligible_units = _named_units(contest.units.model, "contest", contest)
    return _within_any(unit, scopes)


def _take_part(user, contest):
    """Take a published contest's rounds: a member of an eligible unit (or, for a public one, a registrant)."""
    if contest is None or not contest.is_published:
        return False
    if _eligible(user.unit, contest):
        return True
    return any(extra(user, contest) for extra in CONTEST_ENTRANTS)


# Functions (user, contest) -> bool: the contests area registers "registered for this public contest".
CONTEST_ENTRANTS = []


def _own_attempt(user, attempt):
    """Read, answer, submit and review one's own attempt."""
    return attempt is not None and attempt.user_id is not None and attempt.user_id == user.id


def _manage_certificates(user, obj=None):
    """Designs, certificates and bulk jobs owned by a unit in the organiser's subtree (any when None)."""
    return _manage_quiz(user, obj)


def _own_certificate(user, certificate):
    """Download one's own certificate (a person's; a unit's belongs to its organisers)."""
    return certificate is not None and certificate.user_id is not None and certificate.user_id == user.id


def _manage_pledges(user, obj=None):
    """Open pledge periods, see the boards and exports of units in the organiser's subtree (any when None);
    ``obj`` is a period (its owner unit) or a unit."""
    return _manage_quiz(user, obj)


def _pledge_cell(pledge):
    """The cell a pledge belongs to now: a member's current cell (the record follows the member)."""
    if pledge.kind == "member" and pledge.user is not None and pledge.user.unit_id is not None:
        return pledge.user.unit
    return pledge.unit


def _file_pledge(user, pledge):
    """Write the words of a pledge: the member's own; a unit's by its secretary (a cell) or organiser."""
    if pledge is None:
        return False
    if pledge.kind == "member":
        return pledge.user_id is not None and pledge.user_id == user.id
    return any(c.id == pledge.unit_id for c in secretary_cells(user)) or \
        any(s.id == pledge.unit_id for s in organiser_scopes(user))


def _review_pledge(user, pledge):
    """Acknowledge, return and evaluate: a member's by the secretary (or deputy) of their cell now; a unit's
    by an organiser of the committee above it."""
    if pledge is None:
        return False
    if pledge.kind == "member":
        if pledge.user_id == user.id:  # the secretary's own pledge: the deputy, or the committee above
            return False
        cell = _pledge_cell(pledge)
        return cell is not None and any(c.id == cell.id for c in secretary_cells(user))
    parent = pledge.unit.parent if pledge.unit.parent_id is not None else None
    return _within_any(parent, organiser_scopes(user))


def _view_pledge(user, pledge):
    """Read a pledge: who files or reviews it, and organisers of its unit (they see, they do not write)."""
    if pledge is None:
        return False
    return (is_admin(user) or _file_pledge(user, pledge) or _review_pledge(user, pledge)
            or _within_any(_pledge_cell(pledge), organiser_scopes(user)))


def _pledge_board(user, unit=None):
    """A cell's board: its secretary, or an organiser above it (any such unit when None)."""
    if is_admin(user):
        return True
    cells = secretary_cells(user)
    if unit is None:
        return bool(cells or organiser_scopes(user))
    return any(c.id == unit.id for c in cells) or _within_any(unit, organiser_scopes(user))


def _manage_story(user, story):
    """Write, publish and withdraw the story of an exemplary model: an organiser of its unit."""
    return story is not None and (is_admin(user) or _within_any(story.unit, organiser_scopes(user)))


def _view_showcase(user, period):
    """A period's showcase of exemplary models: everyone in its tree, and organisers inside or above it."""
    if period is None:
        return False
    owner = period.owner_unit
    return (is_admin(user) or _within_any(user.unit, [owner])
            or any(s.is_within(owner) or owner.is_within(s) for s in organiser_scopes(user)))


def _read_story(user, story):
    """One story (its page, its photo): who manages it; once published, whoever sees the showcase."""
    return _manage_story(user, story) or (story is not None and story.published
                                          and _view_showcase(user, story.period))


RULES = {
    "units.manage": _admin,
    "users.manage_all": _admin,
    "roles.grant": _admin,
    "audit.view": _admin,
    "members.manage": _manage_members,
    "members.view": _view_members,
    "user.manage": _manage_user,
    "roster_import.view": _own_roster_import,
    "home.view": lambda user, obj=None: _is_member(user),
    "quiz.manage": _manage_quiz,
    "quiz.take": _take_quiz,
    "attempt.own": _own_attempt,
    "contest.manage": _manage_contest,
    "contest.take_part": _take_part,
    "certificate.manage": _manage_certificates,
    "certificate.own": _own_certificate,
    "pledge.manage": _manage_pledges,
    "pledge.file": _file_pledge,
    "pledge.review": _review_pledge,
    "pledge.view": _view_pledge,
    "pledge.board": _pledge_board,
    "story.manage": _manage_story,
    "story.read": _read_story,
    "showcase.view": _view_showcase,
}


def can(user, permission, obj=None):
    """True when ``user`` may do ``permission`` (on ``obj`` where the rule takes one)."""
    if not _is_member(user):
        return False
    return RULES[permission](user, obj)


def require(user, permission, obj=None):
    if not can(user, permission, obj):
        raise AccessDenied()


def units_for(user, permission):
    """The units on which ``user`` may do ``permission``, as a query in tree order."""
    if is_admin(user):
        return Unit.select()
    subtrees = organiser_scopes(user) if permission in ("members.manage", "members.view", "quiz.manage",
                                                        "contest.manage", "certificate.manage",
                                                        "pledge.manage") else []
    cells = secretary_cells(user) if permission == "members.view" else []
    conds = [Unit.path.startswith(s.path) for s in subtrees] + [Unit.id == c.id for c in cells]
    if not conds:
        return Unit.select().where(Unit.id.is_null())
    return Unit.select().where(reduce(operator.or_, conds))
