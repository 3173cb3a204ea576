from datetime import date

import pytest

from accounts.services import MSG_ALREADY_ACTIVE, user_deactivate, user_reactivate
from core.errors import ApplicationError
from rollout.models import ActivityEntry, Phase
from rollout.selectors.decision import decide_cached
from rollout.services.cohorts import cohort_create, cohort_enrol, cohort_members_add
from tests.factories import UserFactory


def test_reactivating_restores_sign_in_and_ownership(ops_leader, workflow_owner, workflow):
    user_deactivate(actor=ops_leader, user=workflow_owner)

    user = user_reactivate(actor=ops_leader, user=workflow_owner)

    assert user.is_active
    workflow.refresh_from_db()
    assert not workflow.is_ownerless
    entry = ActivityEntry.objects.get(verb="reactivated")
    assert entry.actor == ops_leader
    assert entry.target == "user owner@example.com"
    assert entry.changes == {"active": ["no", "yes"]}


def test_reactivating_an_active_user_is_refused(ops_leader, other_user):
    with pytest.raises(ApplicationError) as exc:
        user_reactivate(actor=ops_leader, user=other_user)

    assert exc.value.message == MSG_ALREADY_ACTIVE.format(user=other_user)
    assert not ActivityEntry.objects.filter(verb="reactivated").exists()


def test_reactivating_an_owner_records_it_on_each_owned_workflow(
    ops_leader, workflow_owner, workflow
):
    user_deactivate(actor=ops_leader, user=workflow_owner)

    user_reactivate(actor=ops_leader, user=workflow_owner)

    entry = ActivityEntry.objects.get(workflow=workflow, verb="owner reactivated")
    assert entry.actor == ops_leader
    assert entry.changes == {"owner": ["Owen Owner (deactivated)", "Owen Owner"]}


def test_a_reactivated_member_is_live_again_at_once(
    ops_leader, workflow, django_capture_on_commit_callbacks
):
    """Their cached "off" (from while they were away) goes with the reactivation."""
    mia = UserFactory(email="mia@example.com")
    cohort = cohort_create(workflow=workflow, name="Tier 1", actor=ops_leader)
    cohort_members_add(cohort=cohort, users=[mia], actor=ops_leader)
    cohort_enrol(cohort=cohort, phase="limited", percentage=100, actor=ops_leader)
    Phase.objects.update_or_create(
        workflow=workflow,
        kind="limited",
        defaults={"position": 2, "planned_start": date(2026, 1, 1), "status": "active"},
    )
    assert decide_cached(workflow.slug, mia.email).mode == "live"
    with django_capture_on_commit_callbacks(execute=True):
        user_deactivate(actor=ops_leader, user=mia)
    assert decide_cached(workflow.slug, mia.email).mode == "off"

    with django_capture_on_commit_callbacks(execute=True):
        user_reactivate(actor=ops_leader, user=mia)

    assert decide_cached(workflow.slug, mia.email).mode == "live"
