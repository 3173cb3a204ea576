import pytest
from guardian.shortcuts import get_perms

from core.errors import ApplicationError
from rollout.models import ActivityEntry, Workflow
from rollout.services import workflows as svc
from rollout.services.access import OWNER_PERMS
from tests.factories import UserFactory


@pytest.fixture
def successor(db):
    return UserFactory(email="nina@example.com", display_name="Nina New")


def test_handover_moves_the_permissions_and_logs_it(ops_leader, workflow, successor):
    old_owner = workflow.owner

    result = svc.workflow_handover(
        workflow=workflow, actor=ops_leader, new_owner=successor, note="  Owen moved teams "
    )

    assert result.owner == successor
    assert Workflow.objects.get(pk=workflow.pk).owner == successor
    assert get_perms(old_owner, workflow) == []
    assert set(get_perms(successor, workflow)) == set(OWNER_PERMS)
    entry = ActivityEntry.objects.filter(workflow=workflow).first()
    assert (entry.actor, entry.verb, entry.target, entry.note) == (
        ops_leader,
        "handed over",
        "workflow Support reply drafting",
        "Owen moved teams",
    )
    assert entry.changes == {"owner": ["Owen Owner", "Nina New"]}
    assert Workflow.objects.get(pk=workflow.pk).last_activity_at == entry.created_at


def test_handover_of_an_ownerless_workflow(ops_leader, successor):
    from accounts.services import user_deactivate
    from tests.factories import make_workflow

    gone = UserFactory(display_name="Gina Gone")
    workflow = make_workflow(owner=gone, actor=ops_leader, slug="orphan")
    user_deactivate(actor=ops_leader, user=gone)

    svc.workflow_handover(workflow=workflow, actor=ops_leader, new_owner=successor)

    workflow = Workflow.objects.with_owner().get(pk=workflow.pk)
    assert not workflow.is_ownerless
    assert get_perms(gone, workflow) == []


def _assert_unchanged(workflow: Workflow, entries: int) -> None:
    current = Workflow.objects.get(pk=workflow.pk)
    assert current.owner.email == "owner@example.com"
    assert set(get_perms(current.owner, current)) == set(OWNER_PERMS)
    assert ActivityEntry.objects.count() == entries


def test_handover_to_the_current_owner_is_refused(ops_leader, workflow):
    entries = ActivityEntry.objects.count()

    with pytest.raises(ApplicationError) as exc:
        svc.workflow_handover(workflow=workflow, actor=ops_leader, new_owner=workflow.owner)

    assert exc.value.message == svc.MSG_SAME_OWNER.format(owner="Owen Owner")
    assert exc.value.field == "new_owner"
    _assert_unchanged(workflow, entries)


def test_handover_to_an_inactive_user_is_refused(ops_leader, workflow):
    gone = UserFactory(display_name="Gina Gone", is_active=False)
    entries = ActivityEntry.objects.count()

    with pytest.raises(ApplicationError) as exc:
        svc.workflow_handover(workflow=workflow, actor=ops_leader, new_owner=gone)

    assert exc.value.message == svc.MSG_OWNER_INACTIVE.format(owner=gone)
    assert exc.value.field == "new_owner"
    _assert_unchanged(workflow, entries)


def test_handover_to_nobody_is_refused(ops_leader, workflow):
    entries = ActivityEntry.objects.count()

    with pytest.raises(ApplicationError) as exc:
        svc.workflow_handover(workflow=workflow, actor=ops_leader, new_owner=None)

    assert (exc.value.message, exc.value.field) == (svc.MSG_OWNER_REQUIRED, "new_owner")
    _assert_unchanged(workflow, entries)


def test_a_failure_while_logging_rolls_the_permissions_back(
    monkeypatch, ops_leader, workflow, successor
):
    entries = ActivityEntry.objects.count()

    def broken(**kwargs):
        raise RuntimeError("activity log unavailable")

    monkeypatch.setattr(svc, "activity_record", broken)

    with pytest.raises(RuntimeError):
        svc.workflow_handover(workflow=workflow, actor=ops_leader, new_owner=successor)

    _assert_unchanged(workflow, entries)
    assert get_perms(successor, workflow) == []
