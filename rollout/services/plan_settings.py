"""A workflow's plan settings: lead time, approvals, review cadence, fallback when paused, and
when the failure-mode briefing is required (from which phase, grace period, coverage target), and
how Rollout reacts to what it observes (an unannounced change of the AI, drift)."""

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import User
from accounts.roles import is_ops_leader
from core.errors import ApplicationError
from rollout.models import Workflow
from rollout.services.activity import activity_record, field_changes, snapshot
from rollout.services.decision_cache import plan_changed

FIELDS = (
    "lead_time_days",
    "required_approvals",
    "review_cadence_days",
    "next_review_due",
    "fallback_mode",
    "briefing_required_from",
    "briefing_grace_days",
    "briefing_coverage_target",
    "pause_on_unannounced_change",
    "drift_opens_escalation",
)
# What `decide` answers depends on these (rollout.selectors.decision).
DECISION_FIELDS = ("fallback_mode", "briefing_required_from", "briefing_grace_days")

MSG_APPROVALS_OPS_ONLY = "Only ops leaders can change how many approvals a promotion needs."


@transaction.atomic
def plan_settings_update(
    *,
    workflow: Workflow,
    actor: User,
    lead_time_days: int,
    required_approvals: int,
    review_cadence_days: int | None,
    next_review_due: date | None,
    fallback_mode: str,
    briefing_required_from: str | None = None,
    briefing_grace_days: int | None = None,
    briefing_coverage_target: int | None = None,
    pause_on_unannounced_change: bool | None = None,
    drift_opens_escalation: bool | None = None,
) -> Workflow:
    """Save the settings (a briefing setting or a reaction to evidence left None keeps its
    value), logged with what changed."""
    workflow = Workflow.objects.select_for_update().select_related("owner").get(pk=workflow.pk)
    before = snapshot(workflow, FIELDS)
    # The approvals are ops leaders' control over promotions: an owner must not lower them.
    if required_approvals != workflow.required_approvals and not is_ops_leader(actor):
        raise ApplicationError(MSG_APPROVALS_OPS_ONLY, field="required_approvals")
    workflow.lead_time_days = lead_time_days
    workflow.required_approvals = required_approvals
    workflow.review_cadence_days = review_cadence_days
    workflow.next_review_due = next_review_due
    workflow.fallback_mode = fallback_mode
    kept_unless_given = {
        "briefing_required_from": briefing_required_from,
        "briefing_grace_days": briefing_grace_days,
        "briefing_coverage_target": briefing_coverage_target,
        "pause_on_unannounced_change": pause_on_unannounced_change,
        "drift_opens_escalation": drift_opens_escalation,
    }
    for name, value in kept_unless_given.items():
        if value is not None:
            setattr(workflow, name, value)
    try:
        workflow.full_clean()
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise ApplicationError(" ".join(messages), field=field) from exc
    changes = field_changes(workflow, before, FIELDS)
    if not changes:
        return workflow
    workflow.save(update_fields=[*FIELDS, "updated_at"])
    activity_record(
        workflow=workflow,
        actor=actor,
        verb="edited",
        target="plan settings",
        changes=changes,
    )
    if any(before[name] != getattr(workflow, name) for name in DECISION_FIELDS):
        # The fallback is what a paused phase (and an unbriefed member) gets.
        plan_changed(workflow)
    return workflow
