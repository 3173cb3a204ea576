"""Approvals reaching people (PRODUCT.md "Approval"): one path for every request that waits for an
ops leader — a promotion, an urgent notice — and for telling its requester how it ended.

The ask goes to every active ops leader who may approve it (never the requester, who cannot
approve their own request) in the app and by email (category "approvals": always sent, since it
waits for one of them), with a link to the request. The outcome goes to the requester in the app
and by email if they want workflow updates. Both are called inside the transaction of the change,
so the notifications commit with it.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from accounts.models import EmailCategory, User
from accounts.roles import OPS_LEADERS, is_ops_leader
from core.acting import refuse_via_token
from core.errors import ApplicationError
from rollout.models import Workflow
from rollout.selectors.approval_links import ApprovalSubject, approval_link_path
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
    subject: ApprovalSubject | None = None,
) -> int:
    """Ask every ops leader who may approve (see `approvers_for`). Returns how many were asked.

    With `subject` (a promotion request or an urgent notice), each approver's email also carries
    a signed link to decide it, made for them alone (rollout.selectors.approval_links). Only the
    email: the in-app notification links to the request's page, and nothing sent to a channel
    (a webhook, Slack, Teams) ever carries one."""
    approvers = approvers_for(requester=requester, exclude=exclude)
    for approver in approvers:
        notification_send(
            recipient=approver,
            workflow=workflow,
            title=title,
            body=body,
            url=url,
            email=EmailCategory.APPROVALS,
            email_link=approval_link_path(subject, approver) if subject else "",
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


@dataclass(frozen=True)
class ApproverRefusals:
    """What an approval of one kind of request (a promotion, a review-level change) says when the
    person may not approve it."""

    ops_only: str
    not_open: str
    own_request: str
    already_approved: str


def approver_check(request: Any, actor: User, *, pending: str, refusals: ApproverRefusals) -> None:
    """Who may approve a request waiting for approvals (`request.status`, `requested_by_id`,
    `approvals`): an ops leader other than the requester, once, while it is `pending`. Raises
    ApplicationError with the kind's message otherwise. Never through a personal access token:
    an approval is a person's judgement, given signed in (PermissionDenied, core.acting)."""
    refuse_via_token()
    if not is_ops_leader(actor):
        raise ApplicationError(refusals.ops_only)
    if request.status != pending:
        raise ApplicationError(refusals.not_open)
    if request.requested_by_id == actor.pk:
        raise ApplicationError(refusals.own_request)
    if request.approvals.filter(approver=actor).exists():
        raise ApplicationError(refusals.already_approved)
