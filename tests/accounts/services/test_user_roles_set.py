import pytest

from accounts.roles import EXECUTIVES, OPS_LEADERS, is_executive, is_ops_leader, role_names
from accounts.services import MSG_LAST_OPS_LEADER, MSG_UNKNOWN_ROLE, user_roles_set
from core.errors import ApplicationError
from rollout.models import ActivityEntry
from tests.factories import UserFactory, ops_leader_user


def test_granting_a_role_takes_effect_and_is_recorded(ops_leader, other_user):
    user = user_roles_set(actor=ops_leader, user=other_user, roles=[EXECUTIVES])

    assert is_executive(user)
    entry = ActivityEntry.objects.get(verb="changed roles of")
    assert entry.workflow is None
    assert entry.actor == ops_leader
    assert entry.target == "user stranger@example.com"
    assert entry.changes == {"roles": ["—", EXECUTIVES]}


def test_removing_roles_takes_effect_and_is_recorded(ops_leader):
    both = UserFactory(roles=[OPS_LEADERS, EXECUTIVES])

    user = user_roles_set(actor=ops_leader, user=both, roles=[])

    assert role_names(user) == frozenset()
    assert ActivityEntry.objects.get(verb="changed roles of").changes == {
        "roles": [f"{EXECUTIVES}, {OPS_LEADERS}", "—"]
    }


def test_setting_the_same_roles_records_nothing(ops_leader, executive):
    user_roles_set(actor=ops_leader, user=executive, roles=[EXECUTIVES])

    assert not ActivityEntry.objects.filter(verb="changed roles of").exists()


def test_unknown_role_is_refused_and_changes_nothing(ops_leader, executive):
    with pytest.raises(ApplicationError) as exc:
        user_roles_set(actor=ops_leader, user=executive, roles=["Superusers"])

    assert exc.value.message == MSG_UNKNOWN_ROLE.format(role="Superusers")
    assert exc.value.field == "roles"
    executive.refresh_from_db()
    assert is_executive(executive)
    assert not ActivityEntry.objects.filter(verb="changed roles of").exists()


def test_the_last_active_ops_leader_keeps_the_role(ops_leader):
    with pytest.raises(ApplicationError) as exc:
        user_roles_set(actor=ops_leader, user=ops_leader, roles=[EXECUTIVES])

    assert exc.value.message == MSG_LAST_OPS_LEADER
    ops_leader.refresh_from_db()
    assert is_ops_leader(ops_leader)
    assert not is_executive(ops_leader)
    assert not ActivityEntry.objects.filter(verb="changed roles of").exists()


def test_a_deactivated_ops_leader_does_not_count_as_another_one(ops_leader):
    ops_leader_user(is_active=False)

    with pytest.raises(ApplicationError):
        user_roles_set(actor=ops_leader, user=ops_leader, roles=[])


def test_an_ops_leader_may_step_down_while_another_remains(ops_leader):
    ops_leader_user()

    user = user_roles_set(actor=ops_leader, user=ops_leader, roles=[])

    assert not is_ops_leader(user)
