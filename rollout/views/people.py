"""The people picker's search (rollout.forms.people): GET ?purpose=…&q=… answers an htmx fragment
of at most PEOPLE_SHOWN matching active people, as options of the picker's listbox.

Each purpose is the form it serves, and only someone who may use that form may search for it:
`owner` (a new workflow: ops leaders; others 403, as the page), `handover` (?workflow=: whoever
may hand it over), `contact` (an escalation level, ?workflow=: owner and ops leaders), `cohort`
(?workflow=&cohort=: owner and ops leaders; members marked) and `reassign` (?workflow=&escalation=:
whoever may act on it; its path's contacts and the owner) and `reviewer` (a reviewer of sampled
outputs, ?workflow=: owner and ops leaders). Anyone else gets the 404 the page would
give. Whatever is found, the form's service decides again on submit.
"""

from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.models import User
from core.htmx import HtmxHttpRequest
from rollout.models import Cohort
from rollout.permissions import (
    access_workflow,
    can_act_on_escalation,
    can_create_workflow,
    can_handover_workflow,
)
from rollout.selectors.cohorts import cohort_get_for_workflow
from rollout.selectors.escalations import escalation_get_for_workflow
from rollout.selectors.people import (
    MIN_QUERY_LENGTH,
    PEOPLE_SHOWN,
    escalation_contact_candidates,
)
from rollout.selectors.people import (
    people_search as people_search_select,
)

PURPOSES = ("owner", "handover", "contact", "cohort", "reassign", "reviewer")
MSG_UNKNOWN_PURPOSE = "Unknown purpose."


@dataclass
class _Scope:
    among: QuerySet[User] | None = None
    members_of: Cohort | None = None
    notes: dict[int, str] = field(default_factory=dict)  # person id → why they can't be chosen


def _id(request: HtmxHttpRequest, name: str) -> int:
    raw = request.GET.get(name, "")
    if not raw.isdigit():
        raise Http404(f"No such {name}.")
    return int(raw)


def _scope(request: HtmxHttpRequest, purpose: str) -> _Scope:
    """Who may be found for `purpose`, after checking that the person asking may use its form."""
    user = request.user
    if purpose == "owner":
        if not can_create_workflow(user):
            raise PermissionDenied("Only ops leaders can create workflows.")
        return _Scope()
    slug = request.GET.get("workflow", "")
    if purpose == "handover":
        workflow = access_workflow(user, slug)
        if not can_handover_workflow(user, workflow):
            raise Http404("No such workflow.")
        return _Scope(notes={workflow.owner_id: "the owner now"} if workflow.owner_id else {})
    if purpose in {"contact", "reviewer"}:
        access_workflow(user, slug, for_change=True)
        return _Scope()
    if purpose == "cohort":
        workflow = access_workflow(user, slug, for_change=True)
        try:
            cohort = cohort_get_for_workflow(workflow, _id(request, "cohort"))
        except Cohort.DoesNotExist:
            raise Http404("No such cohort.") from None
        return _Scope(members_of=cohort)
    workflow = access_workflow(user, slug)
    escalation = escalation_get_for_workflow(workflow, _id(request, "escalation"))
    if not can_act_on_escalation(user, escalation):
        raise Http404("No such escalation.")
    notes = {escalation.current_contact_id: "has it now"} if escalation.current_contact_id else {}
    return _Scope(among=escalation_contact_candidates(workflow), notes=notes)


@require_GET
def people_search(request: HtmxHttpRequest) -> HttpResponse:
    purpose = request.GET.get("purpose", "")
    if purpose not in PURPOSES:
        return HttpResponseBadRequest(MSG_UNKNOWN_PURPOSE)
    scope = _scope(request, purpose)
    query = request.GET.get("q", "").strip()
    matches = people_search_select(query, among=scope.among, members_of=scope.members_of)
    options = []
    for person in matches.people:
        note = "already a member" if getattr(person, "is_member", False) else ""
        options.append((person, note or scope.notes.get(person.pk, "")))
    context = {
        "query": query,
        "too_short": len(query) < MIN_QUERY_LENGTH,
        "min_length": MIN_QUERY_LENGTH,
        "options": options,
        "more": matches.more,
        "shown": PEOPLE_SHOWN,
        "prefix": request.htmx.target if request.htmx and request.htmx.target else "people",
    }
    return render(request, "rollout/people_search.html", context)
