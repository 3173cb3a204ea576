"""Reviews of one workflow: the list (start one; reinstate a retired workflow) and one review
(its frozen snapshot, the re-attestation item by item, the decisions, completing it).

Everyone who may view the workflow reads them (executives too); the owner and ops leaders act.
Cohort members see no review (404, like every page of the whole workflow). One page each, named
POST actions: a plain POST redirects back with a message; an htmx POST re-renders the review's
work panel from fresh data.
"""

from datetime import date, datetime
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from accounts.roles import is_ops_leader
from core.errors import ApplicationError
from core.htmx import HtmxHttpRequest
from rollout.forms.fields import add_application_error
from rollout.forms.reviews import AttestationForm, CompleteForm, DecisionForm
from rollout.models import AttestationItem, Review, ReviewStatus, Workflow
from rollout.permissions import access_workflow, can_change_workflow
from rollout.selectors.reviews import (
    review_attestation_list,
    review_decision_list,
    review_get_for_workflow,
    review_in_progress,
    review_is_overdue,
    review_list_for_workflow,
    review_threshold_metrics,
)
from rollout.services import retirement
from rollout.services import reviews as services
from rollout.views._workflow import workflow_page_context

LIST_PAGE = "rollout/workflow_reviews.html"
PAGE = "rollout/review_detail.html"
START, REINSTATE = "start", "reinstate"
ATTEST, DECIDE, COMPLETE = "attest", "decide", "complete"
MSG_STARTED = "Review started: the snapshot is taken. Answer each item, then record decisions."
MSG_REINSTATED = "Reinstated: the workflow is back in the data audit."
MSG_ATTESTED = "Answer saved."
MSG_DECIDED = "Decision recorded."
MSG_COMPLETED = "Review completed. The outcome notice is drafted: check it and schedule it."
MSG_UNKNOWN_ACTION = "Unknown action."
MSG_UNKNOWN_ITEM = "That item is not part of this review."
FORM_OF = {DECIDE: "decision_form", COMPLETE: "complete_form"}


def _forbid_unless_change(request: HtmxHttpRequest, workflow: Workflow) -> None:
    # Read-only viewers (executives) posting: as if there were nothing here, like other pages.
    if not can_change_workflow(request.user, workflow):
        raise Http404("No such workflow.")


@require_http_methods(["GET", "POST"])
def workflow_reviews(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """GET: the workflow's reviews and when the next is due. POST action=start|reinstate."""
    workflow = access_workflow(request.user, slug)
    error = ""
    if request.method == "POST":
        _forbid_unless_change(request, workflow)
        action = request.POST.get("action")
        try:
            if action == START:
                review = services.review_start(workflow=workflow, actor=request.user)
                messages.success(request, MSG_STARTED)
                return redirect("review_detail", slug=slug, review_id=review.pk)
            if action == REINSTATE:
                retirement.workflow_reinstate(
                    workflow=workflow, actor=request.user, note=request.POST.get("note", "")
                )
                messages.success(request, MSG_REINSTATED)
                return redirect("workflow_reviews", slug=slug)
        except ApplicationError as exc:
            error = exc.message
        else:
            return HttpResponseBadRequest(MSG_UNKNOWN_ACTION)
    context = workflow_page_context(request.user, workflow, tab="reviews")
    in_progress = review_in_progress(workflow)
    context.update(
        reviews=review_list_for_workflow(workflow),
        in_progress=in_progress,
        review_overdue=review_is_overdue(workflow),
        can_start=context["can_change"] and in_progress is None and not workflow.is_retired,
        can_reinstate=workflow.is_retired and is_ops_leader(request.user),
        error=error,
    )
    return render(request, LIST_PAGE, context)


# --- one review ----------------------------------------------------------------------------------


def _when(value: str | None) -> datetime | date | None:
    """The snapshot stores times as ISO strings; the page shows them like every other time."""
    if not value:
        return None
    return datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)


def _snapshot(review: Review) -> dict[str, Any]:
    """The stored snapshot with its times parsed, for the template (the stored JSON is kept)."""
    snap = dict(review.snapshot)
    for key in ("taken_at", "since"):
        snap[key] = _when(snap.get(key))
    usage = dict(snap.get("usage") or {})
    usage.update(start=_when(usage.get("start")), end=_when(usage.get("end")))
    snap["usage"] = usage
    for section, fields in (
        ("notices", ("published_at",)),
        ("phases", ("actual_start", "actual_end", "planned_start", "planned_end")),
    ):
        snap[section] = [
            {**row, **{f: _when(row.get(f)) for f in fields}} for row in snap.get(section, [])
        ]
    for section in ("escalations", "incidents"):
        block = dict(snap.get(section) or {"count": 0, "items": []})
        block["items"] = [
            {
                **row,
                **{f: _when(row.get(f)) for f in ("opened_at", "resolved_at", "started_at")},
                "closed_at": _when(row.get("closed_at")),
            }
            for row in block["items"]
        ]
        snap[section] = block
    return snap


def _forms(
    request: HtmxHttpRequest, review: Review, action: str | None, item_id: int | None
) -> dict[str, Any]:
    """An unbound form per open item, except the one just posted (bound, with its errors)."""
    attestations = review_attestation_list(review)
    metrics = review_threshold_metrics(review.workflow)
    data = request.POST if request.method == "POST" else None
    items = []
    for attestation in attestations:
        metric = (
            metrics.get(int(attestation.item_key), "")
            if attestation.item == AttestationItem.THRESHOLD and attestation.item_key
            else ""
        )
        bound = data if action == ATTEST and item_id == attestation.pk else None
        initial = {"answer": attestation.answer, "what_changed": attestation.what_changed}
        form = AttestationForm(bound, attestation=attestation, metric=metric, initial=initial)
        items.append(form)
    return {
        "items": items,
        "decision_form": DecisionForm(data if action == DECIDE else None),
        "complete_form": CompleteForm(data if action == COMPLETE else None),
    }


def _render(
    request: HtmxHttpRequest,
    workflow: Workflow,
    review: Review,
    forms: dict[str, Any],
    *,
    done: str = "",
    error: str = "",
) -> HttpResponse:
    context = workflow_page_context(request.user, workflow, tab="reviews")
    is_open = review.status == ReviewStatus.IN_PROGRESS
    context.update(
        review=review,
        snapshot=_snapshot(review),
        decisions=review_decision_list(review),
        is_open=is_open,
        can_act=is_open and context["can_change"],
        answered=sum(1 for f in forms["items"] if f.attestation.answer),
        done=done,
        error=error,
        today=timezone.localdate(),
        **forms,
    )
    template = f"{PAGE}#review-work" if request.htmx else PAGE
    return render(request, template, context)


def _item_id(request: HtmxHttpRequest) -> int | None:
    value = request.POST.get("item", "")
    return int(value) if value.isdigit() else None


def _run(action: str, review: Review, request: HtmxHttpRequest, forms: dict, item_id) -> str:
    """Call the action's service; return the message to show. ApplicationError on refusal;
    ValueError when the form itself is invalid (its errors are on the form)."""
    actor = request.user
    if action == ATTEST:
        form = next((f for f in forms["items"] if f.attestation.pk == item_id), None)
        if form is None:
            raise ApplicationError(MSG_UNKNOWN_ITEM)
        if not form.is_valid():
            raise ValueError(action)
        services.review_attest(
            attestation=form.attestation,
            actor=actor,
            answer=form.cleaned_data["answer"],
            what_changed=form.cleaned_data["what_changed"],
            new_limit=form.new_limit_stored() if "new_limit" in form.fields else None,
        )
        return MSG_ATTESTED
    form = forms[FORM_OF[action]]
    if not form.is_valid():
        raise ValueError(action)
    if action == DECIDE:
        services.review_decide(review=review, actor=actor, **form.cleaned_data)
        return MSG_DECIDED
    services.review_complete(review=review, actor=actor, summary=form.cleaned_data["summary"])
    return MSG_COMPLETED


@require_http_methods(["GET", "POST"])
def review_detail(request: HtmxHttpRequest, slug: str, review_id: int) -> HttpResponse:
    """GET: the review. POST action=attest (with item=<id>)|decide|complete."""
    workflow = access_workflow(request.user, slug)
    review = review_get_for_workflow(workflow, review_id)
    if review is None:
        raise Http404("No such review.")
    if request.method == "GET":
        return _render(request, workflow, review, _forms(request, review, None, None))
    _forbid_unless_change(request, workflow)
    action = request.POST.get("action")
    if action not in (ATTEST, DECIDE, COMPLETE):
        return HttpResponseBadRequest(MSG_UNKNOWN_ACTION)
    item_id = _item_id(request)
    forms = _forms(request, review, action, item_id)
    error = ""
    try:
        done = _run(action, review, request, forms, item_id)
    except ValueError:
        pass  # the form shows its errors
    except ApplicationError as exc:
        form = (
            next((f for f in forms["items"] if f.attestation.pk == item_id), None)
            if action == ATTEST
            else forms[FORM_OF[action]]
        )
        if form is None or (exc.field and exc.field not in form.fields):
            error = exc.message
        else:
            add_application_error(form, exc)
    else:
        if request.htmx:
            fresh = review_get_for_workflow(workflow, review.pk)
            return _render(request, workflow, fresh, _forms(request, fresh, None, None), done=done)
        messages.success(request, done)
        return redirect("review_detail", slug=slug, review_id=review.pk)
    return _render(request, workflow, review, forms, error=error)
