from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from core.htmx import HtmxHttpRequest
from rollout.permissions import access_workflow
from rollout.selectors.workflows import activity_list_for_workflow
from rollout.views._workflow import workflow_page_context

ACTIVITY_PER_PAGE = 25


@require_GET
def workflow_activity(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """The workflow's activity log, newest first, 25 entries a page."""
    workflow = access_workflow(request.user, slug)
    paginator = Paginator(activity_list_for_workflow(workflow), ACTIVITY_PER_PAGE)
    # get_page turns a missing or malformed number into page 1 and one past the end into the last.
    page_obj = paginator.get_page(request.GET.get("page"))
    context = workflow_page_context(request.user, workflow, tab="activity")
    context.update({"page_obj": page_obj, "entries": page_obj.object_list, "page_query": ""})
    return render(request, "rollout/workflow_activity.html", context)
