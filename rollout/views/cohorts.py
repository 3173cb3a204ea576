"""The cohorts page of a workflow: cohorts, members, enrolment, and adding members from a CSV.

One page with named POST actions ("action" field); each action calls one service, flashes a
message and redirects back. Invalid input re-renders the page with the errors beside the field.
"""

from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from accounts.models import User
from accounts.selectors import user_get
from core.errors import ApplicationError
from core.htmx import HtmxHttpRequest
from core.pagination import paginate_counted
from rollout.forms.cohorts import (
    CohortCsvConfirmForm,
    CohortCsvUploadForm,
    CohortEnrolForm,
    CohortForm,
    CohortMembersAddForm,
)
from rollout.forms.fields import add_application_error
from rollout.lib.numbers import format_people
from rollout.models import Cohort, EnrolmentPhase, Workflow
from rollout.permissions import access_workflow
from rollout.selectors.briefings import briefing_coverage_by_cohort
from rollout.selectors.cohorts import (
    cohort_get_for_workflow,
    cohort_list_for_workflow,
    cohort_members_pages,
)
from rollout.selectors.holdouts import holdout_counts
from rollout.services import cohort_csv, cohorts
from rollout.views._cohort_review import cohort_review_attach
from rollout.views._workflow import workflow_page_context

MSG_CREATED = "Created the cohort “{name}”."
MSG_DELETED = "Deleted the cohort “{name}”."
MSG_MEMBERS_ADDED = "Added {count} to “{name}”."
MSG_SKIPPED = "Already members, so skipped: {people}."
MSG_NONE_ADDED = "Nobody was added: everyone you picked is already in “{name}”."
MSG_MEMBER_REMOVED = "Removed {user} from “{name}”."
MSG_ENROLLED = "“{name}” is enrolled at the {phase} for {percentage}% of its members."
MSG_UNENROLLED = "“{name}” is no longer enrolled."
MSG_UNKNOWN_ACTION = "Unknown action."
MSG_CSV_DONE = "Added {added} to “{name}” ({invited} invited by email); {skipped} skipped."
MSG_CSV_NOTHING = "Nothing to add from this file."


def _cohort_or_404(workflow: Workflow, raw_id: str | None) -> Cohort:
    try:
        return cohort_get_for_workflow(workflow, int(raw_id or ""))
    except (ValueError, Cohort.DoesNotExist):
        raise Http404("No such cohort.") from None


def _page(
    request: HtmxHttpRequest,
    workflow: Workflow,
    *,
    create_form: forms.Form | None = None,
    bound: tuple[int, str, forms.Form] | None = None,
) -> HttpResponse:
    """The page, with `bound` = (cohort id, action, form) showing one cohort form's errors."""
    cohort_list = list(cohort_list_for_workflow(workflow))
    # Each cohort's members page on their own: ?members_<cohort id>=N.
    for cohort in cohort_list:
        cohort.member_pages = paginate_counted(
            cohort.member_count, request.GET, param=f"members_{cohort.pk}"
        )
    # paginate_counted's object_list is the page's 0-based positions.
    windows = {
        cohort.pk: (positions[0], positions[-1] + 1) if positions else (0, 0)
        for cohort in cohort_list
        for positions in [cohort.member_pages["page_obj"].object_list]
    }
    members = cohort_members_pages(workflow, windows)
    for cohort in cohort_list:
        cohort.member_page = members[cohort.pk]
        cohort.member_pages["page_obj"].object_list = cohort.member_page
        auto_id = f"id_c{cohort.pk}_%s"
        cohort.add_form = CohortMembersAddForm(workflow=workflow, cohort=cohort, auto_id=auto_id)
        cohort.enrol_form = CohortEnrolForm(
            auto_id=auto_id,
            initial={
                "phase": cohort.enrolled_phase or EnrolmentPhase.LIMITED,
                "percentage": cohort.percentage,
                "holdout_percentage": cohort.holdout_percentage,
            },
        )
        if bound and bound[0] == cohort.pk:
            setattr(cohort, f"{bound[1]}_form", bound[2])
    context = workflow_page_context(request.user, workflow, tab="cohorts")
    context["cohorts"] = cohort_list
    coverage = briefing_coverage_by_cohort(workflow)
    context["briefing_coverage"] = coverage
    by_cohort = {row.cohort.pk: row for row in coverage.cohorts}
    for cohort in cohort_list:
        cohort.briefing = by_cohort[cohort.pk]
    if context["can_change"]:  # who is held out is for the owner and ops leaders only
        held_out = holdout_counts(workflow, cohort_list)
        for cohort in cohort_list:
            cohort.held_out = held_out.get(cohort.pk, 0)
    cohort_review_attach(workflow, cohort_list)
    context["create_form"] = create_form or CohortForm(auto_id="id_new_%s")
    return render(request, "rollout/workflow_cohorts.html", context)


@require_http_methods(["GET", "POST"])
def workflow_cohorts(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """Everyone who may see the workflow sees its cohorts; the owner and ops leaders change them."""
    if request.method == "GET":
        return _page(request, access_workflow(request.user, slug))
    workflow = access_workflow(request.user, slug, for_change=True)
    action = request.POST.get("action", "")
    if action == "create":
        return _create(request, workflow)
    if action not in {"delete", "add", "remove", "enrol", "unenrol"}:
        messages.error(request, MSG_UNKNOWN_ACTION)
        return redirect("workflow_cohorts", slug=workflow.slug)
    cohort = _cohort_or_404(workflow, request.POST.get("cohort"))
    handler = {
        "delete": _delete,
        "add": _add,
        "remove": _remove,
        "enrol": _enrol,
        "unenrol": _unenrol,
    }[action]
    return handler(request, workflow, cohort)


def _back(workflow: Workflow, cohort: Cohort | None = None) -> HttpResponse:
    url = reverse("workflow_cohorts", kwargs={"slug": workflow.slug})
    return redirect(f"{url}#cohort-{cohort.pk}" if cohort else url)


def _create(request: HtmxHttpRequest, workflow: Workflow) -> HttpResponse:
    form = CohortForm(request.POST, auto_id="id_new_%s")
    if form.is_valid():
        try:
            cohort = cohorts.cohort_create(
                workflow=workflow, actor=request.user, **form.cleaned_data
            )
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, MSG_CREATED.format(name=cohort.name))
            return _back(workflow, cohort)
    return _page(request, workflow, create_form=form)


def _delete(request: HtmxHttpRequest, workflow: Workflow, cohort: Cohort) -> HttpResponse:
    try:
        cohorts.cohort_delete(cohort=cohort, actor=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return _back(workflow, cohort)
    messages.success(request, MSG_DELETED.format(name=cohort.name))
    return _back(workflow)


def _add(request: HtmxHttpRequest, workflow: Workflow, cohort: Cohort) -> HttpResponse:
    form = CohortMembersAddForm(
        request.POST, workflow=workflow, cohort=cohort, auto_id=f"id_c{cohort.pk}_%s"
    )
    if form.is_valid():
        picked = form.cleaned_data["users"]
        try:
            added = cohorts.cohort_members_add(cohort=cohort, users=picked, actor=request.user)
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            added_ids = {u.pk for u in added}
            skipped = ", ".join(str(u) for u in picked if u.pk not in added_ids)
            if added:
                message = MSG_MEMBERS_ADDED.format(
                    count=format_people(len(added)), name=cohort.name
                )
                if skipped:
                    message = f"{message} {MSG_SKIPPED.format(people=skipped)}"
                messages.success(request, message)
            else:
                messages.info(request, MSG_NONE_ADDED.format(name=cohort.name))
            return _back(workflow, cohort)
    return _page(request, workflow, bound=(cohort.pk, "add", form))


def _remove(request: HtmxHttpRequest, workflow: Workflow, cohort: Cohort) -> HttpResponse:
    try:
        user = user_get(int(request.POST.get("user", "")))
    except (ValueError, User.DoesNotExist):
        raise Http404("No such person.") from None
    try:
        cohorts.cohort_member_remove(cohort=cohort, user=user, actor=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, MSG_MEMBER_REMOVED.format(user=user, name=cohort.name))
    return _back(workflow, cohort)


def _enrol(request: HtmxHttpRequest, workflow: Workflow, cohort: Cohort) -> HttpResponse:
    form = CohortEnrolForm(request.POST, auto_id=f"id_c{cohort.pk}_%s")
    if form.is_valid():
        try:
            cohort = cohorts.cohort_enrol(cohort=cohort, actor=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(
                request,
                MSG_ENROLLED.format(
                    name=cohort.name,
                    phase=cohort.get_enrolled_phase_display().lower(),
                    percentage=cohort.percentage,
                ),
            )
            return _back(workflow, cohort)
    return _page(request, workflow, bound=(cohort.pk, "enrol", form))


def _unenrol(request: HtmxHttpRequest, workflow: Workflow, cohort: Cohort) -> HttpResponse:
    try:
        cohorts.cohort_unenrol(cohort=cohort, actor=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, MSG_UNENROLLED.format(name=cohort.name))
    return _back(workflow, cohort)


@require_http_methods(["GET", "POST"])
def workflow_cohort_csv(request: HtmxHttpRequest, slug: str, cohort_id: int) -> HttpResponse:
    """Upload a CSV (GET shows the form), preview each row's fate (POST with a file: writes
    nothing), then confirm (POST action=confirm: adds, and invites if asked)."""
    workflow = access_workflow(request.user, slug, for_change=True)
    cohort = _cohort_or_404(workflow, str(cohort_id))
    context = workflow_page_context(request.user, workflow, tab="cohorts")
    context["cohort"] = cohort
    if request.method == "POST" and request.POST.get("action") == "confirm":
        return _csv_confirm(request, workflow, cohort)
    form = CohortCsvUploadForm(request.POST or None, request.FILES or None)
    if form.is_bound and form.is_valid():
        try:
            rows = cohort_csv.cohort_csv_preview(
                cohort=cohort, uploaded_file=form.cleaned_data["file"]
            )
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            unknown = sum(1 for r in rows if r.fate == "unknown")
            emails = [r.email for r in rows if r.fate in {"added", "unknown"}]
            context["rows"] = rows
            context["adding"] = sum(1 for r in rows if r.fate == "added")
            context["unknown"] = unknown
            context["confirm_form"] = CohortCsvConfirmForm(
                initial={"email": emails}, unknown_count=unknown
            )
            return render(request, "rollout/workflow_cohort_csv_preview.html", context)
    context["form"] = form
    return render(request, "rollout/workflow_cohort_csv.html", context)


def _csv_confirm(request: HtmxHttpRequest, workflow: Workflow, cohort: Cohort) -> HttpResponse:
    form = CohortCsvConfirmForm(request.POST)
    if not form.is_valid():
        messages.info(request, MSG_CSV_NOTHING)
        return _back(workflow, cohort)
    try:
        outcome = cohort_csv.cohort_csv_confirm(
            cohort=cohort,
            emails=form.cleaned_data["email"],
            invite_unknown=form.cleaned_data["invite_unknown"],
            actor=request.user,
            base_url=request.build_absolute_uri("/"),
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return _back(workflow, cohort)
    messages.success(
        request,
        MSG_CSV_DONE.format(
            added=format_people(len(outcome.added)),
            name=cohort.name,
            invited=len(outcome.invited),
            skipped=outcome.skipped,
        ),
    )
    return _back(workflow, cohort)
