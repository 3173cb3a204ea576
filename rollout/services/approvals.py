"""Approvals reaching people (PRODUCT.md "Approval"): one path for every request that waits for an
ops leader — a promotion, an urgent notice — and for telling its requester how it ended.

The ask goes to every active ops leader who may approve it (never the requester, who cannot
approve their own request) in the app and by email (category "approvals": always sent, since it
waits for one of them), with a link to the request. The outcome goes to the requester in the app
and by email if they want workflow updates. Both are called inside the transaction of the change,
so the notifications commit with it.
"""

from collections.abc import Iterable

from accounts.models import EmailCategory, User
from accounts.roles import OPS_LEADERS
from rollout.models import Workflow
from rollout.services.notifications import notification_send


def approvers_for(*, requester: User | None, exclude: Iterable[int] = ()) -> list[User]:
    """Active ops leaders who may approve a request of `requester` (not the requester, nor the
    ids in `exclude`: those who already approved), by name."""
    leaders = User.objects.filter(groups__name=OPS_LEADERS, is_active=True).distinct()
    if requester is not None:
        leaders = leaders.exclude(pk=requester.pk)
    return list(leaders.exclude(pk__in=list(exclude)).order_by("email"))


def approval_request_send(
    *,
    workflow: Workflow,
    requester: User | None,
    title: str,
    body: str,
    url: str,
    exclude: Iterable[int] = (),
) -> int:
    """Ask every ops leader who may approve (see `approvers_for`). Returns how many were asked."""
    approvers = approvers_for(requester=requester, exclude=exclude)
    for approver in approvers:
        notification_send(
            recipient=approver,
            workflow=workflow,
            title=title,
            body=body,
            url=url,
            email=EmailCategory.APPROVALS,
        )
    return len(approvers)


def approval_outcome_send(
    *,
    workflow: Workflow,
    requester: User | None,
    actor: User | None,
    title: str,
    body: str,
    url: str,
) -> bool:
    """Tell the requester how their request ended (approved, rejected, lapsed) — unless they
    ended it themselves or there is nobody to tell. Returns whether they were told."""
    if requester is None or (actor is not None and actor.pk == requester.pk):
        return False
    notification_send(
        recipient=requester,
        workflow=workflow,
        title=title,
        body=body,
        url=url,
        email=EmailCategory.UPDATES,
    )
    return True
