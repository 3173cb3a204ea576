"""Approval links (issue 20 §3): the signed link an approval email carries to one approver, and
what such a link opens for the person signed in.

A link is bound to its approver, the request and the request's *version*: a digest of what the
approver was asked to decide. For a promotion that is its status, the gate it was requested
against (its fingerprint: the gate's inputs then) and its schedule; for an urgent notice its
status and its last edit (an edit while it waits makes it another notice to approve). A request
decided, cancelled, lapsed or edited since the email is "changed". Inputs of the gate changing
*after* the request do not change its version: that the request then lapses is the promotion
service's decision, taken when someone approves it, from this page or the workflow's.

Reading a link never writes anything: opening it (a mail scanner, a link preview) cannot approve.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum, nonmember

from django.urls import reverse

from accounts.models import User
from rollout.lib.approval_links import (
    ApprovalKind,
    ApprovalLinkPayload,
    BadApprovalLink,
    ExpiredApprovalLink,
    approval_link_read,
    approval_link_token,
)
from rollout.models import ChangeNotice, PromotionRequest, Workflow
from rollout.permissions import AnyUser, can_view_workflow


class LinkState(StrEnum):
    OPEN = "open"  # for this person, in time, the request as it was sent
    INVALID = "invalid"  # not ours, tampered, or its request is gone
    EXPIRED = "expired"
    OTHER_PERSON = "other_person"  # sent to another approver
    CHANGED = "changed"  # the request was decided, lapsed, cancelled or edited since

    do_not_call_in_templates = nonmember(True)  # a class is callable: Django would call it


@dataclass(frozen=True)
class ApprovalSubject:
    """A request an approval email asks about: what a link to it binds."""

    kind: ApprovalKind
    request_id: int
    version: str


@dataclass(frozen=True)
class ApprovalLink:
    """What a link opens. `promotion` or `notice` (by `kind`) and `workflow` are set for every
    state but INVALID; `page_url` is the request's own page, "" when the person may not see it."""

    state: LinkState
    kind: ApprovalKind | None = None
    promotion: PromotionRequest | None = None
    notice: ChangeNotice | None = None
    workflow: Workflow | None = None
    page_url: str = ""


def _digest(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:16]


def _instant(at: datetime | None) -> float | None:
    """An instant whatever its time zone: a time read back from the database is in UTC, the
    one a form gave in the person's own zone."""
    return at.timestamp() if at is not None else None


def promotion_version(request: PromotionRequest) -> str:
    return _digest(str(request.status), request.gate_fingerprint, _instant(request.scheduled_for))


def notice_version(notice: ChangeNotice) -> str:
    return _digest(str(notice.status), _instant(notice.updated_at))


def promotion_subject(request: PromotionRequest) -> ApprovalSubject:
    return ApprovalSubject(ApprovalKind.PROMOTION, request.pk, promotion_version(request))


def notice_subject(notice: ChangeNotice) -> ApprovalSubject:
    return ApprovalSubject(ApprovalKind.NOTICE, notice.pk, notice_version(notice))


def approval_link_path(subject: ApprovalSubject, approver: User) -> str:
    """The site-relative address of `approver`'s link to `subject` (for their email only)."""
    payload = ApprovalLinkPayload(approver.pk, subject.kind, subject.request_id, subject.version)
    return reverse("approval_link", kwargs={"token": approval_link_token(payload)})


def request_page_url(kind: ApprovalKind, workflow: Workflow, request_id: int) -> str:
    """Where the request is shown and decided without a link: the overview's promotion card, or
    the notice's page."""
    if kind == ApprovalKind.PROMOTION:
        return reverse("workflow_overview", kwargs={"slug": workflow.slug}) + "#promotion-card"
    return reverse("notice_edit", kwargs={"slug": workflow.slug, "notice_id": request_id})


def _fetch(payload: ApprovalLinkPayload) -> PromotionRequest | ChangeNotice | None:
    if payload.kind == ApprovalKind.PROMOTION:
        return (
            PromotionRequest.objects.select_related(
                "workflow__owner", "requested_by", "overridden_by", "from_phase", "to_phase"
            )
            .prefetch_related("approvals__approver")
            .filter(pk=payload.request_id)
            .first()
        )
    return (
        ChangeNotice.objects.select_related("workflow__owner", "created_by")
        .filter(pk=payload.request_id)
        .first()
    )


def _version(request: PromotionRequest | ChangeNotice) -> str:
    if isinstance(request, PromotionRequest):
        return promotion_version(request)
    return notice_version(request)


def approval_link_open(token: str, user: AnyUser) -> ApprovalLink:
    """What `token` opens for `user` (signed in). In this order: a token we did not make, or
    whose request is gone, is INVALID; an old one EXPIRED; one for someone else OTHER_PERSON;
    its approver no longer allowed to see the workflow INVALID; a request no longer as it was
    sent CHANGED; else OPEN. Only OPEN may lead to a decision."""
    try:
        payload, state = approval_link_read(token), LinkState.OPEN
    except ExpiredApprovalLink as exc:
        payload, state = exc.payload, LinkState.EXPIRED
    except BadApprovalLink:
        return ApprovalLink(LinkState.INVALID)
    request = _fetch(payload)
    if request is None:
        return ApprovalLink(LinkState.INVALID)
    workflow = request.workflow
    visible = can_view_workflow(user, workflow)
    if state == LinkState.OPEN:
        if payload.approver_id != user.pk:
            state = LinkState.OTHER_PERSON
        elif not visible:
            return ApprovalLink(LinkState.INVALID)
        elif _version(request) != payload.version:
            state = LinkState.CHANGED
    return ApprovalLink(
        state=state,
        kind=payload.kind,
        promotion=request if isinstance(request, PromotionRequest) else None,
        notice=request if isinstance(request, ChangeNotice) else None,
        workflow=workflow,
        page_url=request_page_url(payload.kind, workflow, request.pk) if visible else "",
    )
