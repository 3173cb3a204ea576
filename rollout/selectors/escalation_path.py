"""Reads of a workflow's escalation path: its levels, in order. Callers have already checked the
user may see the workflow (rollout.permissions.access_workflow)."""

from rollout.models import EscalationLevel, Workflow


def escalation_level_list(workflow: Workflow) -> list[EscalationLevel]:
    """The workflow's escalation path, level 1 first, with each level's contact."""
    levels = list(
        EscalationLevel.objects.filter(workflow=workflow)
        .select_related("contact")
        .order_by("position")
    )
    for level in levels:
        level.workflow = workflow
    return levels


def escalation_level_get(workflow: Workflow, level_id: int) -> EscalationLevel:
    """One level of this workflow with its contact; raises EscalationLevel.DoesNotExist for a
    level of another workflow, like an unknown one."""
    level = EscalationLevel.objects.select_related("contact").get(pk=level_id, workflow=workflow)
    level.workflow = workflow
    return level
