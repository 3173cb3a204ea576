from typing import Any

from rollout.models import Workflow
from rollout.permissions import (
    AnyUser,
    can_change_workflow,
    can_handover_workflow,
    can_view_workflow,
)


def workflow_page_context(user: AnyUser, workflow: Workflow, *, tab: str) -> dict[str, Any]:
    """What every page of one workflow shows in its header: the workflow, allowed actions, tab."""
    return {
        "workflow": workflow,
        # False for cohort members: they see the member-facing pages only.
        "can_view": can_view_workflow(user, workflow),
        "can_change": can_change_workflow(user, workflow),
        "can_handover": can_handover_workflow(user, workflow),
        "active_tab": tab,
    }
