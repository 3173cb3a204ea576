"""Blackout windows: the org-wide page, and the per-workflow add/delete on the overview."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.roles import is_ops_leader
from core.errors import ApplicationError
from core.htmx import HtmxHttpRequest
from rollout.forms.fields import add_application_error
from rollout.forms.promotions import BlackoutForm
from rollout.models import BlackoutWindow, Workflow
from rollout.permissions import access_workflow

# The modules, not their functions: the org-wide page's view shares the selector's name.
from rollout.selectors import blackouts as selectors
from rollout.services import blackouts as services

MSG_ADDED = "Added the “{name}” blackout window."
MSG_DELETED = "Removed the “{name}” blackout window."
MSG_FIX_FORM = "Check the blackout form: {errors}"


def _window(workflow: Workflow | None, blackout_id: int) -> BlackoutWindow:
    try:
        return selectors.blackout_get(workflow, blackout_id)
    except BlackoutWindow.DoesNotExist:
        raise Http404("No such blackout window.") from None


@require_http_methods(["GET", "POST"])
def blackout_list(request: HtmxHttpRequest) -> HttpResponse:
    """Org-wide windows: everyone signed in sees them; ops leaders add them here."""
    can_manage = is_ops_leader(request.user)
    form = BlackoutForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if not can_manage:
            raise PermissionDenied("Only ops leaders add org-wide blackout windows.")
        if form.is_valid():
            try:
                window = services.blackout_create(actor=request.user, **form.cleaned_data)
            except ApplicationError as exc:
                add_application_error(form, exc)
            else:
                messages.success(request, MSG_ADDED.format(name=window.name))
                return redirect("blackout_list")
    windows = selectors.blackout_list(None)
    return render(
        request,
        "rollout/blackout_list.html",
        {"windows": windows, "form": form, "can_manage": can_manage},
    )


@require_POST
def blackout_delete(request: HtmxHttpRequest, blackout_id: int) -> HttpResponse:
    """Delete an org-wide window (ops leaders)."""
    if not is_ops_leader(request.user):
        raise PermissionDenied("Only ops leaders remove org-wide blackout windows.")
    window = _window(None, blackout_id)
    services.blackout_delete(window=window, actor=request.user)
    messages.success(request, MSG_DELETED.format(name=window.name))
    return redirect("blackout_list")


@require_POST
def workflow_blackout_add(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """Add a window for one workflow (owner or ops leader), from the overview's promotion card."""
    workflow = access_workflow(request.user, slug, for_change=True)
    form = BlackoutForm(request.POST)
    if not form.is_valid():
        errors = " ".join(str(e) for field in form.errors.values() for e in field)
        messages.error(request, MSG_FIX_FORM.format(errors=errors))
        return redirect(workflow)
    try:
        window = services.blackout_create(
            workflow=workflow, actor=request.user, **form.cleaned_data
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, MSG_ADDED.format(name=window.name))
    return redirect(workflow)


@require_POST
def workflow_blackout_delete(request: HtmxHttpRequest, slug: str, blackout_id: int) -> HttpResponse:
    workflow = access_workflow(request.user, slug, for_change=True)
    window = _window(workflow, blackout_id)
    services.blackout_delete(window=window, actor=request.user)
    messages.success(request, MSG_DELETED.format(name=window.name))
    return redirect(workflow)
