from django.db.models import Q, QuerySet
from guardian.shortcuts import get_objects_for_user

from accounts.roles import is_executive, is_ops_leader
from rollout.models import ActivityEntry, Workflow, WorkflowUserObjectPermission
from rollout.permissions import AnyUser

PORTFOLIO_SORTS = {
    "name": ("name",),
    "-name": ("-name",),
    "owner": ("owner__display_name", "name"),
    "-owner": ("-owner__display_name", "name"),
    "model": ("model_name", "name"),
    "-model": ("-model_name", "name"),
    "activity": ("last_activity_at", "name"),
    "-activity": ("-last_activity_at", "name"),
    # Computed per workflow, not stored: the portfolio view orders by these after computing them
    # (rollout.views.portfolio), starting from the order by name.
    **{key: ("name",) for key in ("phase", "-phase", "health", "-health", "adoption", "-adoption")},
}


def workflow_list_visible(user: AnyUser) -> QuerySet[Workflow]:
    """Every workflow the user may see: all for ops leaders and executives, else by permission."""
    if not user.is_authenticated or not user.is_active:
        return Workflow.objects.none()
    if is_ops_leader(user) or is_executive(user):
        return Workflow.objects.with_owner()
    return get_objects_for_user(
        user,
        ["rollout.view_workflow", "rollout.use_workflow"],
        klass=Workflow.objects.with_owner(),
        any_perm=True,
        accept_global_perms=False,
    )


def workflow_list_portfolio(
    user: AnyUser,
    *,
    query: str = "",
    owner_id: int | None = None,
    ownerless: bool = False,
    sort: str = "name",
) -> QuerySet[Workflow]:
    """The portfolio: visible workflows filtered by text, owner and ownerless, then sorted."""
    workflows = workflow_list_visible(user)
    if query:
        workflows = workflows.filter(
            Q(name__icontains=query)
            | Q(summary__icontains=query)
            | Q(slug__icontains=query)
            | Q(model_name__icontains=query)
            | Q(owner__display_name__icontains=query)
        )
    if owner_id:
        workflows = workflows.filter(owner_id=owner_id)
    if ownerless:
        workflows = workflows.ownerless()
    return workflows.order_by(*PORTFOLIO_SORTS.get(sort, PORTFOLIO_SORTS["name"]))


def workflow_list_owned(user: AnyUser) -> QuerySet[Workflow]:
    if not user.is_authenticated:
        return Workflow.objects.none()
    return Workflow.objects.with_owner().filter(owner=user)


def activity_list_for_workflow(workflow: Workflow) -> QuerySet[ActivityEntry]:
    return ActivityEntry.objects.filter(workflow=workflow).select_related("actor")


def workflow_ids_viewable(user: AnyUser, workflow_ids: list[int]) -> set[int]:
    """Which of these workflows the user may view (owner-facing pages), not only use as a cohort
    member: one query at most, like rollout.permissions.can_view_workflow for each."""
    if not user.is_authenticated or not user.is_active:
        return set()
    if is_ops_leader(user) or is_executive(user):
        return set(workflow_ids)
    return set(
        WorkflowUserObjectPermission.objects.filter(
            user=user, permission__codename="view_workflow", content_object_id__in=workflow_ids
        ).values_list("content_object_id", flat=True)
    )
