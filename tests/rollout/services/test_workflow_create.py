import pytest
from guardian.shortcuts import get_perms

from accounts.models import User
from core.errors import ApplicationError
from rollout.models import ActivityEntry, Workflow
from rollout.services import workflows as svc
from tests.factories import UserFactory


def _create(actor: User, owner: User | None, **overrides: str) -> Workflow:
    values = {
        "name": "Invoice coding",
        "slug": "invoice-coding",
        "business_action": "GL code posted to the invoice",
    }
    values.update(overrides)
    return svc.workflow_create(actor=actor, owner=owner, **values)


def test_create_grants_owner_permissions_and_logs(ops_leader, workflow_owner):
    workflow = _create(ops_leader, workflow_owner)

    assert workflow.owner == workflow_owner
    assert set(get_perms(workflow_owner, workflow)) == {
        "view_workflow",
        "change_workflow",
        "use_workflow",
    }
    entry = ActivityEntry.objects.get(workflow=workflow)
    assert (entry.actor, entry.verb) == (ops_leader, "created")
    assert entry.changes == {"owner": ["—", "Owen Owner"]}
    assert workflow.last_activity_at == entry.created_at


def test_create_refuses_a_duplicate_slug_and_writes_nothing(ops_leader, workflow_owner):
    _create(ops_leader, workflow_owner)

    with pytest.raises(ApplicationError) as exc:
        _create(ops_leader, workflow_owner, name="Another")

    assert exc.value.message == svc.MSG_SLUG_TAKEN.format(slug="invoice-coding")
    assert exc.value.field == "slug"
    assert Workflow.objects.count() == 1
    assert ActivityEntry.objects.count() == 1


def test_create_requires_an_owner(ops_leader):
    with pytest.raises(ApplicationError) as exc:
        _create(ops_leader, None)

    assert exc.value.message == svc.MSG_OWNER_REQUIRED
    assert not Workflow.objects.exists()


def test_create_refuses_an_inactive_owner(ops_leader):
    gone = UserFactory(display_name="Gone Away", is_active=False)

    with pytest.raises(ApplicationError) as exc:
        _create(ops_leader, gone)

    assert exc.value.message == svc.MSG_OWNER_INACTIVE.format(owner=gone)
    assert not Workflow.objects.exists()


def test_only_ops_leaders_create(workflow_owner):
    with pytest.raises(ApplicationError) as exc:
        _create(workflow_owner, workflow_owner)

    assert exc.value.message == svc.MSG_NOT_OPS_LEADER
    assert not Workflow.objects.exists()


@pytest.mark.parametrize("slug", ["Has Spaces", "under_score", "trailing-", "-leading", "a--b", ""])
def test_create_refuses_a_malformed_slug(ops_leader, workflow_owner, slug):
    with pytest.raises(ApplicationError) as exc:
        _create(ops_leader, workflow_owner, slug=slug)

    assert exc.value.field == "slug"
    assert not Workflow.objects.exists()


def test_a_name_with_a_line_break_is_refused(ops_leader, workflow_owner):
    """Issue 13, item 1: a workflow's name is part of every notice email's subject."""
    from core.text import MSG_ONE_LINE

    with pytest.raises(ApplicationError) as error:
        _create(ops_leader, workflow_owner, name="Support\r\nBcc: all@example.com")
    assert (error.value.field, error.value.message) == ("name", MSG_ONE_LINE)
    assert not Workflow.objects.exists()
