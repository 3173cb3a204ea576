"""The review queue of a workflow (issue 18 §2): sampled AI outputs to grade, one at a time, for
the owner, ops leaders and the reviewers the owner names — nobody else sees excerpts (404).

One page with named POST actions. `grade` with htmx answers the next item (and the progress count
out of band), so a reviewer works through the queue without a page reload, by keyboard
(static/js/review_queue.js); without JavaScript it redirects back to the queue. `add_reviewer` and
`remove_reviewer` (owner and ops leaders) flash a message and redirect.
"""

from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_http_methods

from accounts.models import User
from accounts.selectors import user_get
from core.errors import ApplicationError
from core.htmx import HtmxHttpRequest
from core.pagination import paginate
from rollout.forms.fields import add_application_error
from rollout.forms.output_reviews import OutputGradeForm, OutputReviewerAddForm
from rollout.models import OutputGrade, OutputReview, Workflow
from rollout.permissions import (
    access_review_queue,
    can_manage_output_reviewers,
    can_use_workflow,
)
from rollout.selectors.cohorts import cohort_list_for_workflow
from rollout.selectors.output_reviews import (
    output_review_any,
    output_review_get,
    output_review_graded,
    output_review_progress,
    output_review_waiting,
    output_reviewer_list,
    reviewed_error_rates,
)
from rollout.services import output_reviews as services
from rollout.views._workflow import Section, SectionGroup, workflow_page_context

PAGE = "rollout/workflow_review_queue.html"
RATE_DAYS = 30  # the reviewed error rate shown beside the queue

MSG_GRADED = "Graded “{grade}”."
MSG_ESCALATED = "Graded “harmful”: an escalation is open and walks the workflow's path."
MSG_REVIEWER_ADDED = "{user} now reviews this workflow's sampled outputs."
MSG_REVIEWER_REMOVED = "{user} no longer reviews this workflow's outputs."
MSG_UNKNOWN_ACTION = "Unknown action."
MSG_NO_SUCH_ITEM = "That output is not in this workflow's queue."

GRADE_KEYS = [("1", OutputGrade.CORRECT), ("2", OutputGrade.MINOR), ("3", OutputGrade.WRONG),
              ("4", OutputGrade.HARMFUL)]  # fmt: skip


def _queue_url(workflow: Workflow) -> str:
    return reverse("workflow_review_queue", kwargs={"slug": workflow.slug})


def _item_context(workflow: Workflow, *, form: forms.Form | None = None) -> dict:
    """The current (oldest waiting) item, its grading form and the progress count."""
    item = output_review_waiting(workflow).first()
    if form is None and item is not None:
        form = OutputGradeForm(initial={"review": item.pk}, auto_id="id_grade_%s")
    return {
        "item": item,
        "ever_sampled": item is not None or output_review_any(workflow),
        "grade_form": form,
        "grade_keys": [(key, grade, grade.label) for key, grade in GRADE_KEYS],
        "progress": output_review_progress(workflow),
    }


def _page(
    request: HtmxHttpRequest,
    workflow: Workflow,
    *,
    grade_form: forms.Form | None = None,
    reviewer_form: forms.Form | None = None,
    status: int = 200,
) -> HttpResponse:
    show = "graded" if request.GET.get("show") == "graded" else "waiting"
    grade = request.GET.get("grade", "")
    context = workflow_page_context(request.user, workflow, tab="review-queue")
    if not can_use_workflow(request.user, workflow):
        # A reviewer with no other role on the workflow: the other sections would be 404s.
        here = Section("review-queue", "Review queue", _queue_url(workflow), current=True)
        context.update(workflow_sections=[SectionGroup("Signals", [here])], current_section=here)
    context.update(_item_context(workflow, form=grade_form))
    now = timezone.now()
    cohorts = list(cohort_list_for_workflow(workflow))
    context.update(
        show=show,
        grade_filter=grade if grade in OutputGrade.values else "",
        grades=OutputGrade.choices,
        rates=reviewed_error_rates(
            workflow, start=now - timedelta(days=RATE_DAYS), end=now, cohorts=cohorts
        ),
        rate_days=RATE_DAYS,
        reviewers=output_reviewer_list(workflow),
        can_manage_reviewers=can_manage_output_reviewers(request.user, workflow),
        reviewer_form=reviewer_form
        or OutputReviewerAddForm(workflow=workflow, auto_id="id_reviewer_%s"),
        excerpt_days=_excerpt_days(),
    )
    if show == "graded":
        graded = output_review_graded(workflow, grade=context["grade_filter"])
        pages = paginate(graded, request.GET)
        context.update(graded_pages=pages, graded=pages["page_obj"].object_list)
    return render(request, PAGE, context, status=status)


def _excerpt_days() -> int:
    return settings.ROLLOUT_REVIEW_EXCERPT_DAYS


@require_http_methods(["GET", "POST"])
def workflow_review_queue(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """GET: the queue (?show=graded lists graded items, &grade= filters them). POST: action=grade
    (everyone who may see the queue), add_reviewer or remove_reviewer (owner, ops leaders)."""
    workflow = access_review_queue(request.user, slug)
    if request.method == "GET":
        response = _page(request, workflow)
        patch_vary_headers(response, ("HX-Request",))
        return response
    action = request.POST.get("action", "")
    if action == "grade":
        return _grade(request, workflow)
    if action in {"add_reviewer", "remove_reviewer"}:
        if not can_manage_output_reviewers(request.user, workflow):
            raise Http404("No such workflow.")
        return (_add_reviewer if action == "add_reviewer" else _remove_reviewer)(request, workflow)
    messages.error(request, MSG_UNKNOWN_ACTION)
    return redirect(_queue_url(workflow))


def _item_partial(request: HtmxHttpRequest, workflow: Workflow, form: forms.Form | None = None,
                  *, status: int = 200) -> HttpResponse:  # fmt: skip
    context = {"workflow": workflow, **_item_context(workflow, form=form)}
    context["oob_progress"] = True
    return render(request, f"{PAGE}#review-item", context, status=status)


def _grade(request: HtmxHttpRequest, workflow: Workflow) -> HttpResponse:
    form = OutputGradeForm(request.POST, auto_id="id_grade_%s")
    if form.is_valid():
        try:
            review = output_review_get(workflow, form.cleaned_data["review"])
        except OutputReview.DoesNotExist:
            raise Http404(MSG_NO_SUCH_ITEM) from None
        try:
            review = services.output_review_grade(
                review=review,
                actor=request.user,
                grade=form.cleaned_data["grade"],
                note=form.cleaned_data["note"],
            )
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            message = (
                MSG_ESCALATED
                if review.grade == OutputGrade.HARMFUL and review.escalation_id
                else MSG_GRADED.format(grade=review.get_grade_display())
            )
            if request.htmx:
                response = _item_partial(request, workflow)
                response["HX-Trigger"] = "review-graded"
                return response
            messages.success(request, message)
            return redirect(_queue_url(workflow))
    # The item the form was for stays on screen with its errors.
    if request.htmx:
        return _item_partial(request, workflow, form, status=200)
    return _page(request, workflow, grade_form=form, status=200)


def _add_reviewer(request: HtmxHttpRequest, workflow: Workflow) -> HttpResponse:
    form = OutputReviewerAddForm(request.POST, workflow=workflow, auto_id="id_reviewer_%s")
    if form.is_valid():
        user = form.cleaned_data["user"]
        try:
            services.output_reviewer_add(workflow=workflow, user=user, actor=request.user)
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, MSG_REVIEWER_ADDED.format(user=user))
            return redirect(f"{_queue_url(workflow)}#reviewers")
    return _page(request, workflow, reviewer_form=form, status=200)


def _remove_reviewer(request: HtmxHttpRequest, workflow: Workflow) -> HttpResponse:
    try:
        user = user_get(int(request.POST.get("user", "")))
    except (ValueError, User.DoesNotExist):
        raise Http404("No such person.") from None
    try:
        services.output_reviewer_remove(workflow=workflow, user=user, actor=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, MSG_REVIEWER_REMOVED.format(user=user))
    return redirect(f"{_queue_url(workflow)}#reviewers")
