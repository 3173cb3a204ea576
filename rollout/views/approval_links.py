"""The page an approval email's signed link opens (issue 20 §3): the request and, for a
promotion, its gate, with POST buttons to decide it — never a decision on GET, since mail
scanners and link previews open links.

Sign-in comes first (LoginRequiredMiddleware sends the person back here after it). Then the link
is read (rollout.selectors.approval_links): expired, for someone else, for a request that changed
since, or not ours at all, the page says why and offers the request's own page. Deciding calls the
same services as the workflow's pages, so they refuse the same things with the same words: the
requester, a request whose gate changed (it lapses), a blackout window.

Every response of this view — the page, its error states, a refusal, the redirect after a
decision — carries `Referrer-Policy: no-referrer`, so the link in the address bar is never sent
on as a Referer. That policy makes browsers post the page's forms with `Origin: null`, hence
core.csrf's check instead of the site-wide one.
"""

from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any

from django.contrib import messages
from django.forms import Form
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from accounts.roles import is_ops_leader
from core.csrf import csrf_protect_no_referrer
from core.errors import ApplicationError
from core.htmx import HtmxHttpRequest
from rollout.forms.promotions import (
    PromotionApproveForm,
    PromotionOverrideForm,
    PromotionRejectForm,
)
from rollout.gates import Gate, gate_for
from rollout.lib.approval_links import MAX_AGE, ApprovalKind
from rollout.models import ChangeNotice, NoticeStatus, PromotionRequest, PromotionStatus
from rollout.selectors.approval_links import ApprovalLink, LinkState, approval_link_open
from rollout.selectors.blackouts import blackout_covering
from rollout.services import notices, promotions
from rollout.services.blackouts import blackout_message
from rollout.views._workflow import workflow_page_context
from rollout.views.notices import MSG_APPROVED
from rollout.views.promotions import (
    MSG_EXECUTED,
    MSG_FIX_FORM,
    MSG_REJECTED,
    MSG_SCHEDULED,
    MSG_WAITING,
)

TEMPLATE = "rollout/approval_link.html"
REFERRER_POLICY = "no-referrer"

MSG_INVALID = (
    "This approval link is not valid: it may have been cut short or changed. Copy the whole "
    "link from the email, or find the request among the approvals waiting."
)
MSG_EXPIRED = (
    "This approval link has expired: a link works for {hours} hours after its email is sent. "
    "Decide on the request from its own page."
)
MSG_OTHER_PERSON = (
    "This approval link was sent to another approver, so it cannot be used by you. "
    "Open the request's own page to see what you may do there."
)
MSG_CHANGED_STATUS = "This request changed since the email was sent: it is now “{status}”."
MSG_CHANGED_EDITED = (
    "This notice was edited since the email was sent, so the link no longer approves it. "
    "Look at it again on its own page."
)
MSG_GATE_CHANGED = (
    "The gate changed since this promotion was requested ({changed}): approving it now makes "
    "the request lapse, and it must be requested again."
)
MSG_OPS_ONLY = "Only ops leaders decide on requests; you can no longer decide on this one."
MSG_UNKNOWN_ACTION = "Unknown action."

# HTTP status per state: the link is not found, gone, someone else's, or in conflict with the
# request as it now is.
STATUS = {
    LinkState.OPEN: 200,
    LinkState.INVALID: 404,
    LinkState.EXPIRED: 410,
    LinkState.OTHER_PERSON: 403,
    LinkState.CHANGED: 409,
}


def _no_referrer(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapped(request: HtmxHttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        response["Referrer-Policy"] = REFERRER_POLICY
        return response

    return wrapped


def _state_message(link: ApprovalLink) -> str:
    if link.state == LinkState.INVALID:
        return MSG_INVALID
    if link.state == LinkState.EXPIRED:
        return MSG_EXPIRED.format(hours=MAX_AGE // timedelta(hours=1))
    if link.state == LinkState.OTHER_PERSON:
        return MSG_OTHER_PERSON
    if link.state == LinkState.CHANGED:
        request = link.promotion or link.notice
        if isinstance(request, ChangeNotice) and request.status == NoticeStatus.AWAITING_APPROVAL:
            return MSG_CHANGED_EDITED
        assert request is not None
        return MSG_CHANGED_STATUS.format(status=request.get_status_display())
    return ""


def _gate(promotion: PromotionRequest) -> Gate:
    """The promotion's gate as it is now (the same one the approval service checks)."""
    promotion.from_phase.workflow = promotion.workflow
    promotion.to_phase.workflow = promotion.workflow
    return gate_for(from_phase=promotion.from_phase, to_phase=promotion.to_phase)


def _promotion_context(promotion: PromotionRequest) -> dict[str, Any]:
    """The gate as it is now, and what the approval service will say of it: that the request
    lapses (its gate changed), that a blackout window refuses it now, that it needs a reason."""
    gate = _gate(promotion)
    gate_changed = ""
    if gate.fingerprint != promotion.gate_fingerprint:
        changed = gate.changed_since(promotion.gate_snapshot) or ["the phases it moves between"]
        gate_changed = MSG_GATE_CHANGED.format(changed=", ".join(changed))
    now = timezone.now()
    runs_now = promotion.scheduled_for is None or promotion.scheduled_for <= now
    window = blackout_covering(promotion.workflow, now) if runs_now else None
    return {
        "gate": gate,
        "gate_changed": gate_changed,
        "blackout": blackout_message(window) if window is not None else "",
        "needs_override": not gate.passed and not promotion.override_reason,
        "approve_form": PromotionApproveForm(),
        "override_form": PromotionOverrideForm(),
        "reject_form": PromotionRejectForm(),
    }


def _page(request: HtmxHttpRequest, link: ApprovalLink, *, error: str = "") -> HttpResponse:
    """The page for `link` as it now is, with `error` (a refusal) above it; its HTTP status
    says the state (STATUS)."""
    context: dict[str, Any] = {
        "link": link,
        "state_message": _state_message(link),
        "error": error,
        "LinkState": LinkState,
        "ApprovalKind": ApprovalKind,
        "no_referrer": True,  # base.html leaves out the sign-out form it could not post
    }
    if link.state == LinkState.OPEN and link.workflow is not None:
        # The workflow's sections beside the page, none of them current: this is none of them.
        context.update(workflow_page_context(request.user, link.workflow, tab="approval-link"))
        # Who may decide is the services' call; this only spares others buttons they cannot use.
        context["ops_only"] = "" if is_ops_leader(request.user) else MSG_OPS_ONLY
        if link.promotion is not None:
            context.update(_promotion_context(link.promotion))
        if link.notice is not None:
            context["audience"] = notices.notice_audience_label(link.notice)
    status = STATUS[link.state]
    return render(request, TEMPLATE, context, status=status)


def _cleaned(form: Form) -> dict[str, Any]:
    if not form.is_valid():
        errors = " ".join(str(e) for field in form.errors.values() for e in field)
        raise ApplicationError(MSG_FIX_FORM.format(errors=errors))
    return form.cleaned_data


def _approved_message(result: PromotionRequest) -> str:
    """The words of the overview's promotion card (rollout.views.promotions)."""
    if result.status == PromotionStatus.EXECUTED:
        return MSG_EXECUTED.format(phase=result.to_phase.get_kind_display())
    if result.status == PromotionStatus.APPROVED:
        return MSG_SCHEDULED
    return MSG_WAITING


def _decide_promotion(request: HtmxHttpRequest, promotion: PromotionRequest, action: str) -> str:
    actor = request.user
    if action == "approve":
        note = _cleaned(PromotionApproveForm(request.POST))["note"]
        result = promotions.promotion_approve(request=promotion, actor=actor, note=note)
        return _approved_message(result)
    if action == "override":
        reason = _cleaned(PromotionOverrideForm(request.POST))["reason"]
        result = promotions.promotion_override(request=promotion, actor=actor, reason=reason)
        return _approved_message(result)
    note = _cleaned(PromotionRejectForm(request.POST))["note"]
    promotions.promotion_reject(request=promotion, actor=actor, note=note)
    return MSG_REJECTED


def _decide_notice(request: HtmxHttpRequest, notice: ChangeNotice) -> str:
    notice = notices.notice_approve_urgent(notice=notice, actor=request.user)
    return MSG_APPROVED.format(title=notice.title)


ACTIONS = {
    ApprovalKind.PROMOTION: ("approve", "override", "reject"),
    ApprovalKind.NOTICE: ("approve",),
}


@csrf_exempt  # checked by csrf_protect_no_referrer below instead (see core.csrf)
@_no_referrer
@csrf_protect_no_referrer
@require_http_methods(["GET", "HEAD", "POST"])
def approval_link(request: HtmxHttpRequest, token: str) -> HttpResponse:
    """GET: the request and its gate, or why the link cannot be used. POST action=approve|
    override|reject for a promotion (as on its workflow's overview), action=approve for an
    urgent notice: the decision, then a redirect to the request's page with the outcome."""
    link = approval_link_open(token, request.user)
    if request.method != "POST" or link.state != LinkState.OPEN:
        return _page(request, link)
    assert link.kind is not None
    action = request.POST.get("action", "")
    if action not in ACTIONS[link.kind]:
        return HttpResponseBadRequest(MSG_UNKNOWN_ACTION)
    try:
        if link.promotion is not None:
            done = _decide_promotion(request, link.promotion, action)
        else:
            assert link.notice is not None
            done = _decide_notice(request, link.notice)
    except ApplicationError as exc:
        # Read the link again: a lapse is committed, so the request may have changed.
        return _page(request, approval_link_open(token, request.user), error=exc.message)
    messages.success(request, done)
    return redirect(link.page_url)
