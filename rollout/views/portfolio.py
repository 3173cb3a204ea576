from collections.abc import Callable
from urllib.parse import urlencode

from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from core.htmx import HtmxHttpRequest
from rollout.forms.portfolio import PortfolioFilterForm
from rollout.lib.charts import sparkline
from rollout.lib.numbers import format_count, format_percent
from rollout.models import PHASE_ORDER, Workflow
from rollout.permissions import AnyUser, can_create_workflow
from rollout.selectors.escalations import OpenEscalations, open_escalation_counts
from rollout.selectors.health import workflow_health
from rollout.selectors.impact import headline, headline_short, impact_headlines
from rollout.selectors.incidents import open_incident_counts
from rollout.selectors.portfolio import ADOPTION_DAYS  # the home's summary counts the same days
from rollout.selectors.usage import usage_totals_by_workflow
from rollout.selectors.usage_summary import daily_active_by_workflow, period_days
from rollout.selectors.workflows import (
    workflow_any_visible,
    workflow_ids_viewable,
    workflow_list_portfolio,
    workflow_owner_list,
)

COLUMNS = (
    ("name", "Name"),
    ("owner", "Owner"),
    ("phase", "Phase"),
    ("health", "Health"),
    ("adoption", f"Active members ({ADOPTION_DAYS} days)"),
    ("review", "Next review"),
    ("model", "Model"),
    ("activity", "Last activity"),
)
# Most recent first is what people want from a first click on "Last activity".
FIRST_SORT = {"activity": "-activity"}
NO_ESCALATIONS = OpenEscalations(total=0, critical=0)


def _columns(path: str, filters: dict[str, object]) -> list[dict[str, str]]:
    """Header links: each keeps the filters and sorts by its column, toggling if already active."""
    params: dict[str, object] = {}
    if filters["query"]:
        params["q"] = filters["query"]
    if filters["owner_id"]:
        params["owner"] = filters["owner_id"]
    for flag in ("ownerless", "review_overdue", "retired"):
        if filters[flag]:
            params[flag] = "on"
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


def _annotate(user: AnyUser, workflows: list[Workflow]) -> None:
    """Set `health` (phase, verdict, reasons) on each workflow, and for those the user may view
    (not only use as a cohort member) `shows_health`, `adoption` (active members ÷ members over
    the last 30 days), `adoption_text`, a sparkline of daily active users, `open_incidents` and
    `open_escalations` (open and acknowledged, of which critical), and `impact_headline` (the
    outcome comparison, AI vs holdout). Twelve queries at most, whatever
    the number of workflows and the data size."""
    ids = [w.pk for w in workflows]
    if not ids:
        return
    viewable = workflow_ids_viewable(user, ids)
    health = workflow_health(ids)
    start, end = period_days(ADOPTION_DAYS, today=timezone.localdate())
    seen = [pk for pk in ids if pk in viewable]
    totals = usage_totals_by_workflow(seen, start=start, end=end) if seen else {}
    daily = daily_active_by_workflow(seen, start=start, end=end) if seen else {}
    incidents = open_incident_counts(seen) if seen else {}
    escalations = open_escalation_counts(seen) if seen else {}
    impacts = impact_headlines(seen) if seen else {}
    for workflow in workflows:
        workflow.health = health[workflow.pk]
        workflow.shows_health = workflow.pk in viewable
        workflow.adoption = None
        workflow.open_incidents = incidents.get(workflow.pk, 0)
        workflow.open_escalations = escalations.get(workflow.pk, NO_ESCALATIONS)
        if not workflow.shows_health:
            continue
        workflow.impact_headline = headline(impacts.get(workflow.pk, []))
        workflow.impact_short = headline_short(impacts.get(workflow.pk, []))
        total = totals.get(workflow.pk, {"active_users": 0, "members": 0})
        members, active = total["members"], min(total["active_users"], total["members"])
        workflow.adoption = active / members if members else None
        workflow.adoption_percent = format_percent(workflow.adoption) if members else ""
        workflow.adoption_text = (
            f"{format_count(active)} of {format_count(members)} members"
            if members
            else "No cohort members yet"
        )
        values = daily.get(workflow.pk, [])
        if any(values):
            workflow.adoption_sparkline = sparkline(
                values,
                width=72,
                height=20,
                label=f"Daily active people over {ADOPTION_DAYS} days: "
                f"{values[0]} on the first day, {values[-1]} today, at most {max(values)}",
            )


def _sort_key(sort: str) -> Callable[[Workflow], float] | None:
    """The key for a column computed per workflow; None for a column the database sorted."""
    key = sort.removeprefix("-")
    # Workflows without a figure go last, whichever the direction.
    missing = -1.0 if sort.startswith("-") else 99.0
    if key == "phase":
        return lambda w: PHASE_ORDER.index(w.health.phase_kind) if w.health.phase_kind else missing
    if key == "health":
        return lambda w: w.health.severity if w.shows_health else missing
    if key == "adoption":
        return lambda w: w.adoption if w.adoption is not None else missing
    return None


@require_GET
def workflow_portfolio(request: HtmxHttpRequest) -> HttpResponse:
    """Every workflow the user can see, filtered and sorted; htmx asks for the table alone."""
    user = request.user
    owners = workflow_owner_list(user)
    form = PortfolioFilterForm(request.GET, owners=owners)
    filters = form.filters()
    workflows = list(workflow_list_portfolio(user, **filters))
    _annotate(user, workflows)
    sort_key = _sort_key(filters["sort"])
    if sort_key is not None:
        # Stable: ties keep the database's order by name.
        workflows.sort(key=sort_key, reverse=filters["sort"].startswith("-"))
    filtered = bool(
        filters["query"]
        or filters["owner_id"]
        or filters["ownerless"]
        or filters["review_overdue"]
        or filters["retired"]
    )
    context = {
        "form": form,
        "workflows": workflows,
        "sort": filters["sort"],
        "columns": _columns(request.path, filters),
        "filtered": filtered,
        # Only asked when the list is empty: tells "nothing matches" from "nothing to see".
        "sees_any": bool(workflows) or (filtered and workflow_any_visible(user)),
        "can_create": can_create_workflow(user),
    }
    template = "rollout/workflow_portfolio.html"
    # A history restore needs the whole page: htmx found no snapshot to put back.
    if request.htmx and not request.htmx.history_restore_request:
        template += "#portfolio-table"
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request",))
    return response
