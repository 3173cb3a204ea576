import pytest

from accounts.services import (
    MSG_ALREADY_INACTIVE,
    MSG_DEACTIVATE_SELF,
    MSG_LAST_OPS_LEADER,
    user_deactivate,
)
from core.errors import ApplicationError
from rollout.models import ActivityEntry
from tests.factories import make_workflow, ops_leader_user


def test_deactivating_an_owner_makes_each_owned_workflow_ownerless(
    ops_leader, workflow_owner, workflow
):
    second = make_workflow(owner=workflow_owner, actor=ops_leader, name="Invoice triage")
    unrelated = make_workflow(actor=ops_leader, name="Churn alerts")
    assert not workflow.is_ownerless

    user = user_deactivate(actor=ops_leader, user=workflow_owner)

    assert not user.is_active
    workflow_owner.refresh_from_db()
    assert not workflow_owner.is_active
    for owned in (workflow, second):
        owned.refresh_from_db()
        assert owned.is_ownerless
        entry = ActivityEntry.objects.get(workflow=owned, verb="made ownerless")
        assert entry.actor == ops_leader
        assert entry.changes == {"owner": ["Owen Owner", "Owen Owner (deactivated)"]}
        assert owned.last_activity_at == entry.created_at
    unrelated.refresh_from_db()
    assert not unrelated.is_ownerless
    assert not ActivityEntry.objects.filter(workflow=unrelated, verb="made ownerless").exists()
    account_entry = ActivityEntry.objects.get(verb="deactivated")
    assert account_entry.workflow is None
    assert account_entry.target == "user owner@example.com"
    assert account_entry.changes == {"active": ["yes", "no"]}


def test_nobody_can_deactivate_themselves(ops_leader):
    ops_leader_user()  # another ops leader exists, so only the self rule applies

    with pytest.raises(ApplicationError) as exc:
        user_deactivate(actor=ops_leader, user=ops_leader)

    assert exc.value.message == MSG_DEACTIVATE_SELF
    ops_leader.refresh_from_db()
    assert ops_leader.is_active
    assert not ActivityEntry.objects.filter(verb="deactivated").exists()


def test_the_last_active_ops_leader_cannot_be_deactivated(ops_leader, other_user):
    with pytest.raises(ApplicationError) as exc:
        user_deactivate(actor=other_user, user=ops_leader)

    assert exc.value.message == MSG_LAST_OPS_LEADER
    ops_leader.refresh_from_db()
    assert ops_leader.is_active


def test_an_ops_leader_can_be_deactivated_while_another_remains(ops_leader):
    colleague = ops_leader_user()

    assert not user_deactivate(actor=ops_leader, user=colleague).is_active


def test_deactivating_twice_is_refused(ops_leader, other_user):
    user_deactivate(actor=ops_leader, user=other_user)

    with pytest.raises(ApplicationError) as exc:
        user_deactivate(actor=ops_leader, user=other_user)

    assert exc.value.message == MSG_ALREADY_INACTIVE.format(user=other_user)
    assert ActivityEntry.objects.filter(verb="deactivated").count() == 1
