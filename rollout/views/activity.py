from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from core.htmx import HtmxHttpRequest
from core.pagination import paginate
from rollout.permissions import access_workflow
from rollout.selectors.workflows import activity_list_for_workflow
from rollout.views._workflow import workflow_page_context

ACTIVITY_PER_PAGE = 25


@require_GET
def workflow_activity(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """The workflow's activity log, newest first, 25 entries a page."""
    workflow = access_workflow(request.user, slug)
    page = paginate(activity_list_for_workflow(workflow), request.GET, per_page=ACTIVITY_PER_PAGE)
    context = workflow_page_context(request.user, workflow, tab="activity")
    context.update(page, entries=page["page_obj"].object_list)
    return render(request, "rollout/workflow_activity.html", context)
