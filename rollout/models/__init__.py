"""Domain models, one module per aggregate, re-exported here."""

from rollout.models.activity import ActivityEntry
from rollout.models.workflow import (
    Workflow,
    WorkflowGroupObjectPermission,
    WorkflowUserObjectPermission,
)

__all__ = [
    "ActivityEntry",
    "Workflow",
    "WorkflowGroupObjectPermission",
    "WorkflowUserObjectPermission",
]
