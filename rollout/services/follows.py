"""Following a workflow: its notices and phase changes without a role in it (PRODUCT.md
"Outgoing events"). Anyone who may view the workflow may follow it; cohort members already hear
what concerns their cohorts, and a follow must not widen what they see."""

from django.db import IntegrityError, transaction
from django.urls import reverse

from accounts.models import EmailCategory, User
from core.errors import ApplicationError
from rollout.models import Follow, Workflow
from rollout.permissions import can_view_workflow
from rollout.selectors.follows import follower_list_allowed
from rollout.services.notifications import notification_send

MSG_NOT_ALLOWED = "You can only follow a workflow you can see."


def follow(*, workflow: Workflow, user: User) -> Follow:
    """Follow the workflow; following it twice is the same as once."""
    if not can_view_workflow(user, workflow):
        raise ApplicationError(MSG_NOT_ALLOWED)
    try:
        # A savepoint: a concurrent double-click loses the race on the unique constraint.
        with transaction.atomic():
            return Follow.objects.get_or_create(workflow=workflow, user=user)[0]
    except IntegrityError:
        return Follow.objects.get(workflow=workflow, user=user)


def unfollow(*, workflow: Workflow, user: User) -> None:
    """Stop following; unfollowing a workflow one does not follow does nothing."""
    Follow.objects.filter(workflow=workflow, user=user).delete()


def followers_notify_phase_change(
    workflow: Workflow, text: str, *, actor: User | None = None, detail: str = ""
) -> int:
    """Tell the workflow's followers that its phase changed (see `followers_notify`)."""
    return followers_notify(workflow, text, actor=actor, detail=detail)


def followers_notify(
    workflow: Workflow,
    text: str,
    *,
    actor: User | None = None,
    detail: str = "",
    skip: tuple[int, ...] = (),
) -> int:
    """Tell the workflow's followers (in the app, and by email if they chose it) of a change to
    it: a phase change, a handover. Call it inside the transaction of the change: the
    notifications commit with it. The actor is not told about their own action, nor the ids in
    `skip` (told otherwise). Returns how many were notified."""
    url = reverse("workflow_overview", kwargs={"slug": workflow.slug})
    followers = follower_list_allowed(workflow).exclude(pk__in=list(skip))
    if actor is not None:
        followers = followers.exclude(pk=actor.pk)
    sent = 0
    for follower in followers:
        notification_send(
            recipient=follower,
            workflow=workflow,
            title=f"{workflow.name}: {text}",
            body=detail,
            url=url,
            email=EmailCategory.UPDATES,
        )
        sent += 1
    return sent
