from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from accounts.models import User
from rollout.forms import PortfolioFilterForm
from rollout.permissions import can_create_workflow
from rollout.selectors.workflows import workflow_list_portfolio, workflow_list_visible
from rollout.views._htmx import HtmxHttpRequest

COLUMNS = (("name", "Name"), ("owner", "Owner"), ("model", "Model"), ("activity", "Last activity"))
# Most recent first is what people want from a first click on "Last activity".
FIRST_SORT = {"activity": "-activity"}


def _columns(path: str, filters: dict[str, object]) -> list[dict[str, str]]:
    """Header links: each keeps the filters and sorts by its column, toggling if already active."""
    params: dict[str, object] = {}
    if filters["query"]:
        params["q"] = filters["query"]
    if filters["owner_id"]:
        params["owner"] = filters["owner_id"]
    if filters["ownerless"]:
        params["ownerless"] = "on"
    current = filters["sort"]
    columns = []
    for key, label in COLUMNS:
        if current == key:
            next_sort, aria_sort = f"-{key}", "ascending"
        elif current == f"-{key}":
            next_sort, aria_sort = key, "descending"
        else:
            next_sort, aria_sort = FIRST_SORT.get(key, key), ""
        url = f"{path}?{urlencode({**params, 'sort': next_sort})}"
        columns.append({"key": key, "label": label, "url": url, "aria_sort": aria_sort})
    return columns


@require_GET
@login_required
def workflow_portfolio(request: HtmxHttpRequest) -> HttpResponse:
    """Every workflow the user can see, filtered and sorted; htmx asks for the table alone."""
    user = request.user
    visible = workflow_list_visible(user)
    owners = list(User.objects.filter(pk__in=visible.values("owner_id")))
    form = PortfolioFilterForm(request.GET, owners=owners)
    filters = form.filters()
    workflows = list(workflow_list_portfolio(user, **filters))
    filtered = bool(filters["query"] or filters["owner_id"] or filters["ownerless"])
    context = {
        "form": form,
        "workflows": workflows,
        "sort": filters["sort"],
        "columns": _columns(request.path, filters),
        "filtered": filtered,
        # Only asked when the list is empty: tells "nothing matches" from "nothing to see".
        "sees_any": bool(workflows) or (filtered and visible.exists()),
        "can_create": can_create_workflow(user),
    }
    template = "rollout/workflow_portfolio.html"
    # A history restore needs the whole page: htmx found no snapshot to put back.
    if request.htmx and not request.htmx.history_restore_request:
        template += "#portfolio-table"
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request",))
    return response
