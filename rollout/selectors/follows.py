"""Who follows a workflow, re-checked against who may still see it."""

from django.db.models import Q, QuerySet

from accounts.models import User
from accounts.roles import ORG_ROLES
from rollout.models import Follow, Workflow
from rollout.permissions import AnyUser


def follow_exists(user: AnyUser, workflow: Workflow) -> bool:
    if not user.is_authenticated:
        return False
    return Follow.objects.filter(workflow=workflow, user=user).exists()


def follower_list_allowed(workflow: Workflow) -> QuerySet[User]:
    """The workflow's active followers who may still view it (ops leaders, executives, anyone
    holding `view_workflow` on it): a follow outlives a lost role, the right to hear does not.
    One query, whatever the number of followers."""
    return (
        User.objects.filter(is_active=True, follows__workflow=workflow)
        .filter(
            Q(groups__name__in=ORG_ROLES)
            | Q(
                workflowuserobjectpermission__content_object=workflow,
                workflowuserobjectpermission__permission__codename="view_workflow",
            )
        )
        .distinct()
        .order_by("pk")
    )
