from datetime import date

from django.db.models import F, Q, QuerySet
from django.utils import timezone
from guardian.shortcuts import get_objects_for_user

from accounts.models import User
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
    # Soonest due first; workflows without a review date last, whichever the direction.
    "review": (F("next_review_due").asc(nulls_last=True), "name"),
    "-review": (F("next_review_due").desc(nulls_last=True), "name"),
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
    review_overdue: bool = False,
    retired: bool = False,
    sort: str = "name",
    today: date | None = None,
) -> QuerySet[Workflow]:
    """The portfolio: visible workflows filtered by text, owner, ownerless and review overdue,
    then sorted. The active list by default; `retired=True` lists the retired ones instead."""
    workflows = workflow_list_visible(user).filter(retired_at__isnull=not retired)
    if review_overdue:
        workflows = workflows.filter(next_review_due__lt=today or timezone.localdate())
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


def workflow_list_owned_by_activity(user: AnyUser) -> QuerySet[Workflow]:
    """The person's own workflows, most recently active first (never active last), then by name."""
    return workflow_list_owned(user).order_by(F("last_activity_at").desc(nulls_last=True), "name")


def workflow_list_ownerless(user: AnyUser) -> QuerySet[Workflow]:
    """Visible workflows waiting for an owner, by name."""
    return workflow_list_visible(user).ownerless().order_by("name")


def workflow_count_ownerless(user: AnyUser) -> int:
    return workflow_list_visible(user).ownerless().count()


def workflow_any_visible(user: AnyUser) -> bool:
    """Whether the user may see any workflow at all (tells "nothing matches" from "nothing to
    see" on the portfolio)."""
    return workflow_list_visible(user).exists()


def workflow_owner_list(user: AnyUser) -> list[User]:
    """The owners of the workflows the user may see, for the portfolio's owner filter: one
    query."""
    return list(User.objects.filter(pk__in=workflow_list_visible(user).values("owner_id")))


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


def workflow_is_retired(workflow_id: int) -> bool:
    """Read from the database every time (one indexed query): the API asks it per batch."""
    return Workflow.objects.filter(pk=workflow_id, retired_at__isnull=False).exists()
