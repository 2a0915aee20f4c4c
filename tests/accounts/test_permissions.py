"""Who may do what, by role and unit scope (portal/accounts/permissions.py), without HTTP."""

import pytest
from flask_login import AnonymousUserMixin

from portal.accounts import permissions, users
from portal.accounts.models import Unit
from portal.accounts.permissions import can, units_for

ADMIN_ONLY = ("units.manage", "users.manage_all", "roles.grant", "audit.view")


@pytest.fixture
def tree(make_unit):
    """HU → (HN → T1, T2), (HP → P1): a district, two communes and their cells."""
    hu = make_unit("HU", "Đảng bộ huyện", "committee")
    hn = make_unit("HN", "Đảng bộ xã Hòa Ninh", "committee", parent=hu)
    hp = make_unit("HP", "Đảng bộ xã Hòa Phú", "committee", parent=hu)
    return {"HU": hu, "HN": hn, "HP": hp,
            "T1": make_unit("T1", "Chi bộ thôn 1", parent=hn),
            "T2": make_unit("T2", "Chi bộ thôn 2", parent=hn),
            "P1": make_unit("P1", "Chi bộ Phú 1", parent=hp)}


def codes(query):
    return {u.code for u in query}


def test_admin_may_do_everything_everywhere(tree, make_user):
    admin = make_user(role="admin")
    member = make_user(unit=tree["P1"])
    assert all(can(admin, p) for p in ADMIN_ONLY + ("members.manage", "members.view", "home.view"))
    assert can(admin, "members.manage", tree["P1"]) and can(admin, "user.manage", member)
    assert codes(units_for(admin, "members.manage")) == set(tree)
    assert codes(units_for(admin, "units.manage")) == set(tree)


def test_organiser_acts_on_the_subtree_only(tree, make_user):
    organiser = make_user(role="organiser", unit=tree["T1"], scope=tree["HN"])
    assert not any(can(organiser, p) for p in ADMIN_ONLY)
    assert can(organiser, "members.manage") and can(organiser, "members.view")
    for code, inside in {"HN": True, "T1": True, "T2": True, "HU": False, "HP": False, "P1": False}.items():
        assert can(organiser, "members.manage", tree[code]) is inside, code
        assert can(organiser, "members.view", tree[code]) is inside, code
    assert codes(units_for(organiser, "members.manage")) == {"HN", "T1", "T2"}
    assert codes(units_for(organiser, "members.view")) == {"HN", "T1", "T2"}
    assert codes(units_for(organiser, "units.manage")) == set()


def test_organiser_manages_members_of_the_subtree_but_no_one_with_wider_rights(tree, make_user):
    organiser = make_user(role="organiser", unit=tree["T1"], scope=tree["HN"])
    assert can(organiser, "user.manage", make_user(unit=tree["T2"]))
    assert can(organiser, "user.manage", make_user(role="secretary", unit=tree["T2"]))
    assert not can(organiser, "user.manage", make_user(unit=tree["P1"]))
    assert not can(organiser, "user.manage", make_user(unit=None))
    assert not can(organiser, "user.manage", None)
    # An admin, even a locked one, or the district organiser sitting in one of the cells.
    assert not can(organiser, "user.manage", make_user(role="admin", unit=tree["T2"]))
    assert not can(organiser, "user.manage", make_user(role="admin", unit=tree["T2"], is_active=False))
    assert not can(organiser, "user.manage", make_user(role="organiser", unit=tree["T2"], scope=tree["HU"]))
    # a fellow organiser of the same committee is not theirs to take over; one of a unit below is
    assert not can(organiser, "user.manage", make_user(role="organiser", unit=tree["T2"], scope=tree["HN"]))
    assert can(organiser, "user.manage", make_user(role="organiser", unit=tree["T2"], scope=tree["T2"]))
    assert can(organiser, "user.manage", organiser)  # their own account


def test_secretary_sees_the_own_cell_only(tree, make_user):
    secretary = make_user(role="secretary", unit=tree["T1"])
    assert not any(can(secretary, p) for p in ADMIN_ONLY)
    assert can(secretary, "members.view") and can(secretary, "members.view", tree["T1"])
    assert not can(secretary, "members.view", tree["T2"]) and not can(secretary, "members.view", tree["HN"])
    assert not can(secretary, "members.manage") and not can(secretary, "members.manage", tree["T1"])
    assert not can(secretary, "user.manage", make_user(unit=tree["T1"]))
    assert codes(units_for(secretary, "members.view")) == {"T1"}
    assert codes(units_for(secretary, "members.manage")) == set()


def test_plain_member_sees_only_the_home_page(tree, make_user):
    member = make_user(unit=tree["T1"])
    assert can(member, "home.view")
    for permission in ADMIN_ONLY + ("members.manage", "members.view"):
        assert not can(member, permission) and not can(member, permission, tree["T1"])
    assert not can(member, "user.manage", member)
    assert codes(units_for(member, "members.view")) == set()


@pytest.mark.parametrize("role", ["admin", "organiser", "secretary", None])
def test_an_inactive_account_may_do_nothing(tree, make_user, role):
    user = make_user(role=role, unit=tree["T1"], is_active=False)
    for permission in ADMIN_ONLY + ("members.manage", "members.view", "home.view"):
        assert not can(user, permission) and not can(user, permission, tree["T1"])
    assert codes(units_for(user, "members.view")) == set()
    with pytest.raises(permissions.AccessDenied):
        permissions.require(user, "home.view")


def test_anonymous_visitors_may_do_nothing(tree):
    for visitor in (None, AnonymousUserMixin()):
        assert not can(visitor, "home.view") and not can(visitor, "members.view", tree["T1"])
        assert codes(units_for(visitor, "members.view")) == set()


def test_roles_add_up_on_top_of_membership(tree, make_user):
    user = make_user(role="secretary", unit=tree["P1"])
    users.grant_role(None, user, "organiser", tree["HN"])
    assert can(user, "members.view", tree["P1"])  # as secretary
    assert can(user, "members.manage", tree["T2"])  # as organiser
    assert not can(user, "members.manage", tree["P1"])
    assert codes(units_for(user, "members.view")) == {"P1", "HN", "T1", "T2"}


def test_a_revoked_role_stops_counting(tree, make_user):
    admin = make_user(role="admin")
    user = make_user(role="organiser", unit=tree["T1"], scope=tree["HN"])
    assert can(user, "members.manage", tree["T1"])
    users.revoke_role(admin, user.grants[0])
    assert not can(user, "members.manage", tree["T1"])


def test_a_scope_is_a_path_prefix_not_a_number_prefix(make_unit, make_user):
    first = make_unit(kind="committee")
    lookalike = make_unit(kind="committee")
    while not str(lookalike.id).startswith(str(first.id)):  # /1/ against /10/, say
        lookalike = make_unit(kind="committee")
    organiser = make_user(role="organiser", unit=first, scope=first)
    assert not can(organiser, "members.manage", lookalike)
    assert codes(units_for(organiser, "members.manage")) == {first.code}


def test_require_raises_403(tree, make_user):
    member = make_user(unit=tree["T1"])
    with pytest.raises(permissions.AccessDenied) as raised:
        permissions.require(member, "units.manage")
    assert raised.value.code == 403
    permissions.require(member, "home.view")  # no exception


def test_units_for_is_a_query_usable_in_a_filter(tree, make_user):
    organiser = make_user(role="organiser", unit=tree["T1"], scope=tree["HP"])
    inside = make_user(unit=tree["P1"])
    make_user(unit=tree["T2"])
    found = users.search(units=units_for(organiser, "members.manage"))
    assert [u.id for u in found] == [inside.id]
    assert Unit.select().count() == len(tree)
