from datetime import timedelta

import pytest
from django.utils import timezone

from core.errors import ApplicationError
from rollout.models import ActivityEntry, BlackoutWindow
from rollout.selectors.blackouts import blackout_covering
from rollout.services import blackouts as svc
from tests.factories import make_workflow


def test_org_wide_window_is_for_ops_leaders(ops_leader, workflow_owner):
    now = timezone.now()
    with pytest.raises(ApplicationError) as exc:
        svc.blackout_create(
            actor=workflow_owner, name="Freeze", starts_at=now, ends_at=now + timedelta(days=1)
        )
    assert exc.value.message == svc.MSG_BLACKOUT_ORG_WIDE_OPS_ONLY
    window = svc.blackout_create(
        actor=ops_leader, name="Freeze", starts_at=now, ends_at=now + timedelta(days=1)
    )
    assert window.workflow is None
    svc.blackout_delete(window=window, actor=ops_leader)
    assert BlackoutWindow.objects.count() == 0


def test_workflow_window_by_owner_is_logged(workflow, workflow_owner, other_user):
    now = timezone.now()
    with pytest.raises(ApplicationError) as exc:
        svc.blackout_create(
            workflow=workflow, actor=other_user, name="x", starts_at=now, ends_at=now
        )
    assert exc.value.message == svc.MSG_BLACKOUT_NOT_ALLOWED
    window = svc.blackout_create(
        workflow=workflow,
        actor=workflow_owner,
        name="Launch week",
        starts_at=now,
        ends_at=now + timedelta(days=2),
    )
    assert ActivityEntry.objects.filter(workflow=workflow, verb="added a blackout window").exists()
    svc.blackout_delete(window=window, actor=workflow_owner)
    assert ActivityEntry.objects.filter(verb="removed a blackout window").count() == 1


def test_invalid_windows(ops_leader):
    now = timezone.now()
    with pytest.raises(ApplicationError) as exc:
        svc.blackout_create(actor=ops_leader, name="x", starts_at=now, ends_at=now)
    assert exc.value.message == svc.MSG_BLACKOUT_ENDS_BEFORE_START
    with pytest.raises(ApplicationError) as exc:
        svc.blackout_create(
            actor=ops_leader,
            name="x",
            starts_at=now - timedelta(days=2),
            ends_at=now - timedelta(days=1),
        )
    assert exc.value.message == svc.MSG_BLACKOUT_IN_PAST
    assert BlackoutWindow.objects.count() == 0


def test_blackout_covering(workflow, ops_leader, workflow_owner):
    now = timezone.now()
    other = make_workflow(owner=workflow_owner, actor=ops_leader, slug="other-one")
    own = svc.blackout_create(
        workflow=workflow,
        actor=ops_leader,
        name="Own",
        starts_at=now,
        ends_at=now + timedelta(hours=5),
    )
    assert blackout_covering(workflow, now + timedelta(hours=1)) == own
    assert blackout_covering(other, now + timedelta(hours=1)) is None
    assert blackout_covering(workflow, now + timedelta(hours=5)) is None
    org = svc.blackout_create(
        actor=ops_leader, name="Org", starts_at=now, ends_at=now + timedelta(hours=9)
    )
    assert blackout_covering(other, now + timedelta(hours=1)) == org
