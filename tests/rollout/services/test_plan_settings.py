from datetime import date

import pytest

from core.errors import ApplicationError
from rollout.models import ActivityEntry
from rollout.selectors.decision import plan_version
from rollout.services.plan_settings import MSG_APPROVALS_OPS_ONLY, plan_settings_update


def _values(**overrides):
    values = {
        "lead_time_days": 5,
        "required_approvals": 1,
        "review_cadence_days": None,
        "next_review_due": None,
        "fallback_mode": "shadow",
    }
    values.update(overrides)
    return values


def test_owner_sets_cadence_and_fallback(workflow, workflow_owner):
    plan_settings_update(
        workflow=workflow,
        actor=workflow_owner,
        **_values(review_cadence_days=90, next_review_due=date(2027, 4, 1), fallback_mode="off"),
    )
    workflow.refresh_from_db()
    assert (workflow.review_cadence_days, workflow.fallback_mode) == (90, "off")
    entry = ActivityEntry.objects.first()
    assert (entry.verb, entry.target) == ("edited", "plan settings")
    assert entry.changes["review every (days)"] == ["—", "90"]


def test_owner_may_not_change_required_approvals(workflow, workflow_owner):
    entries = ActivityEntry.objects.count()
    with pytest.raises(ApplicationError) as exc:
        plan_settings_update(
            workflow=workflow, actor=workflow_owner, **_values(required_approvals=0)
        )
    assert exc.value.message == MSG_APPROVALS_OPS_ONLY
    assert ActivityEntry.objects.count() == entries


def test_ops_leader_changes_required_approvals(workflow, ops_leader):
    plan_settings_update(workflow=workflow, actor=ops_leader, **_values(required_approvals=2))
    workflow.refresh_from_db()
    assert workflow.required_approvals == 2


def test_out_of_range_values_are_refused(workflow, ops_leader):
    with pytest.raises(ApplicationError) as exc:
        plan_settings_update(workflow=workflow, actor=ops_leader, **_values(review_cadence_days=3))
    assert exc.value.field == "review_cadence_days"
    workflow.refresh_from_db()
    assert workflow.review_cadence_days is None


def test_the_reactions_to_evidence_are_logged_and_kept_when_not_given(workflow, workflow_owner):
    plan_settings_update(
        workflow=workflow,
        actor=workflow_owner,
        **_values(pause_on_unannounced_change=True, drift_opens_escalation=True),
    )
    workflow.refresh_from_db()
    assert (workflow.pause_on_unannounced_change, workflow.drift_opens_escalation) == (True, True)
    entry = ActivityEntry.objects.first()
    assert entry.changes == {
        "pause on an unannounced change": ["False", "True"],
        "open an escalation on drift": ["False", "True"],
    }
    plan_settings_update(workflow=workflow, actor=workflow_owner, **_values(lead_time_days=7))
    workflow.refresh_from_db()
    assert (workflow.pause_on_unannounced_change, workflow.drift_opens_escalation) == (True, True)


def test_briefing_settings_are_kept_unless_given(workflow, workflow_owner):
    plan_settings_update(
        workflow=workflow,
        actor=workflow_owner,
        **_values(briefing_required_from="steady", briefing_grace_days=0),
    )
    plan_settings_update(workflow=workflow, actor=workflow_owner, **_values(lead_time_days=6))
    workflow.refresh_from_db()
    assert (workflow.briefing_required_from, workflow.briefing_grace_days) == ("steady", 0)
    assert workflow.briefing_coverage_target == 90


def test_a_briefing_setting_out_of_range_is_refused(workflow, workflow_owner):
    with pytest.raises(ApplicationError) as exc:
        plan_settings_update(
            workflow=workflow, actor=workflow_owner, **_values(briefing_grace_days=61)
        )
    assert exc.value.field == "briefing_grace_days"
    workflow.refresh_from_db()
    assert workflow.briefing_grace_days == 7


def test_changing_the_briefing_requirement_invalidates_cached_decisions(
    workflow, workflow_owner, django_capture_on_commit_callbacks
):
    before = plan_version(workflow.slug)
    with django_capture_on_commit_callbacks(execute=True):
        plan_settings_update(
            workflow=workflow, actor=workflow_owner, **_values(briefing_required_from="never")
        )
    assert plan_version(workflow.slug) != before
