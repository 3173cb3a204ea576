"""A cohort's holdout: who is kept on the old process, who was moved out of it and why, and the
action that moves someone out (owner and ops leaders only: nobody else sees who is held out)."""

from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.models import User
from accounts.selectors import user_get
from core.errors import ApplicationError
from core.htmx import HtmxHttpRequest
from rollout.forms.fields import add_application_error
from rollout.forms.holdouts import HoldoutReleaseForm
from rollout.models import Cohort, Workflow
from rollout.permissions import access_workflow
from rollout.selectors.cohorts import cohort_get_for_workflow
from rollout.selectors.holdouts import holdout_list
from rollout.services.holdouts import holdout_release
from rollout.views._workflow import workflow_page_context

MSG_RELEASED = "{user} is out of the holdout of “{cohort}” and gets live output from now on."
MSG_UNKNOWN_ACTION = "Unknown action."


def _cohort_or_404(workflow: Workflow, cohort_id: int) -> Cohort:
    try:
        return cohort_get_for_workflow(workflow, cohort_id)
    except Cohort.DoesNotExist:
        raise Http404("No such cohort.") from None


def _page(
    request: HtmxHttpRequest,
    workflow: Workflow,
    cohort: Cohort,
    bound: tuple[int, forms.Form] | None = None,
) -> HttpResponse:
    listing = holdout_list(cohort)
    rows = []
    for user in listing.held_out:
        form = bound[1] if bound and bound[0] == user.pk else None
        rows.append(
            {
                "user": user,
                "form": form
                or HoldoutReleaseForm(initial={"user": user.pk}, auto_id=f"id_u{user.pk}_%s"),
            }
        )
    context = workflow_page_context(request.user, workflow, tab="cohorts")
    context.update(cohort=cohort, rows=rows, released=listing.released)
    return render(request, "rollout/workflow_cohort_holdout.html", context)


@require_http_methods(["GET", "POST"])
def workflow_cohort_holdout(request: HtmxHttpRequest, slug: str, cohort_id: int) -> HttpResponse:
    """GET lists the holdout; POST action=release moves one person out of it, with a reason."""
    workflow = access_workflow(request.user, slug, for_change=True)
    cohort = _cohort_or_404(workflow, cohort_id)
    if request.method == "GET":
        return _page(request, workflow, cohort)
    if request.POST.get("action") != "release":
        messages.error(request, MSG_UNKNOWN_ACTION)
        return redirect("workflow_cohort_holdout", slug=workflow.slug, cohort_id=cohort.pk)
    raw_user = request.POST.get("user", "")
    form = HoldoutReleaseForm(request.POST, auto_id=f"id_u{raw_user[:12]}_%s")
    if not form.is_valid():
        if "user" in form.errors:
            raise Http404("No such person.")
        return _page(request, workflow, cohort, bound=(form.cleaned_data["user"], form))
    try:
        user = user_get(form.cleaned_data["user"])
    except User.DoesNotExist:
        raise Http404("No such person.") from None
    try:
        holdout_release(
            cohort=cohort, user=user, actor=request.user, reason=form.cleaned_data["reason"]
        )
    except ApplicationError as exc:
        if exc.field == "reason":
            add_application_error(form, exc)
            return _page(request, workflow, cohort, bound=(user.pk, form))
        messages.error(request, exc.message)
    else:
        messages.success(request, MSG_RELEASED.format(user=user.email, cohort=cohort.name))
    return redirect("workflow_cohort_holdout", slug=workflow.slug, cohort_id=cohort.pk)
