"""Blackout window reads: org-wide ones apart from one workflow's own."""

from datetime import timedelta

import pytest
from django.utils import timezone

from rollout.models import BlackoutWindow
from rollout.selectors.blackouts import blackout_get, blackout_list
from rollout.services.blackouts import blackout_create

pytestmark = pytest.mark.django_db


def test_org_wide_and_per_workflow_windows_are_kept_apart(workflow, ops_leader):
    now = timezone.now()
    later = blackout_create(
        actor=ops_leader,
        name="Year end",
        starts_at=now + timedelta(days=9),
        ends_at=now + timedelta(days=10),
    )
    sooner = blackout_create(
        actor=ops_leader,
        name="Audit",
        starts_at=now + timedelta(days=1),
        ends_at=now + timedelta(days=2),
    )
    own = blackout_create(
        workflow=workflow,
        actor=ops_leader,
        name="Launch",
        starts_at=now + timedelta(days=3),
        ends_at=now + timedelta(days=4),
    )
    assert list(blackout_list(None)) == [sooner, later]
    assert list(blackout_list(workflow)) == [own]
    assert blackout_get(None, later.pk) == later
    assert blackout_get(workflow, own.pk) == own
    for scope, pk in ((None, own.pk), (workflow, later.pk)):
        with pytest.raises(BlackoutWindow.DoesNotExist):
            blackout_get(scope, pk)
