"""A workflow's usage page (per-cohort charts, the table behind them, what people say per cohort,
drift and threshold statuses) and its CSV download. Both read the rollups and the feedback only,
in a bounded number of queries."""

import csv
from collections.abc import Iterator
from datetime import date, timedelta

from django.conf import settings
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.dateformat import format as date_format
from django.utils.functional import SimpleLazyObject
from django.views.decorators.http import require_GET

from core.htmx import HtmxHttpRequest
from rollout.forms.usage import MSG_BAD_COHORT, UsageFilterForm
from rollout.lib.csv_cells import Echo, csv_cell
from rollout.models import Cohort, Workflow
from rollout.permissions import access_workflow, can_triage_feedback
from rollout.selectors.costs import currency_code, person_days_in
from rollout.selectors.decision import plan_version
from rollout.selectors.feedback import feedback_counts_by_day, feedback_summary_by_cohort
from rollout.selectors.source_health import source_health_list
from rollout.selectors.thresholds import threshold_list_for_workflow
from rollout.selectors.usage import COUNTERS, DailySeries, UsageGroup, usage_daily
from rollout.selectors.usage_summary import (
    period_days,
    usage_cohorts,
    usage_ever_reported,
    usage_rollup_stamp,
)
from rollout.views._usage_charts import SMOOTHING_DAYS, shown_days, usage_charts
from rollout.views._usage_cost import usage_cost
from rollout.views._usage_feedback import cohort_voices
from rollout.views._usage_outcomes import outcome_sections
from rollout.views._usage_review import usage_review
from rollout.views._usage_sections import (
    members_under_plan,
    usage_sections_key,
    usage_shape_keep,
    usage_shape_kept,
)
from rollout.views._usage_tables import cohort_statuses, usage_summary
from rollout.views._workflow import workflow_page_context


def _choice(
    request: HtmxHttpRequest, workflow: Workflow
) -> tuple[UsageFilterForm, int, Cohort | None, list[str], list[Cohort]]:
    """The period and cohort asked for (defaults for what is not understood), notes, and the
    workflow's cohorts by name."""
    cohorts = list(usage_cohorts(workflow))
    form = UsageFilterForm(request.GET or None, cohorts=cohorts)
    days, cohort, notes = form.choice()
    return form, days, cohort, notes, cohorts


@require_GET
def workflow_usage(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """Per-cohort charts for the last 7–180 days, the totals behind them with the negative-
    feedback share, what people say per cohort, drift and threshold statuses. htmx asks for the
    body alone when the period or cohort changes."""
    workflow = access_workflow(request.user, slug)
    form, days, cohort, notes, cohorts = _choice(request, workflow)
    start, end = period_days(days, today=timezone.localdate())
    version = plan_version(workflow.slug)
    members = members_under_plan(workflow, cohorts, version)
    first_day = start - timedelta(days=SMOOTHING_DAYS - 1)  # the smoothing's days before `start`
    stamp = usage_rollup_stamp(workflow, start=first_day, end=end)
    # The days' figures are read and computed only when something shows them: not when the
    # sections are in the cache (below), nor when no day was rolled up.
    extended = SimpleLazyObject(
        lambda: usage_daily(
            workflow,
            start=first_day,
            end=end,
            cohort=cohort,
            cohorts=cohorts,
            members=members.by_cohort,
        )
    )
    series = SimpleLazyObject(lambda: shown_days(extended))
    feedback = feedback_summary_by_cohort(workflow, start, end)
    context = workflow_page_context(request.user, workflow, tab="usage")
    if not stamp.rows:  # no day of the period (nor the week before it) was rolled up
        groups = [UsageGroup(c) for c in cohorts if cohort is None or c.pk == cohort.pk]
        context.update(has_data=False, ever_reported=usage_ever_reported(workflow))
    else:
        thresholds = list(threshold_list_for_workflow(workflow))
        currency = currency_code()
        x_labels = SimpleLazyObject(lambda: [date_format(day, "j M") for day in series[0].days])
        sections_key = usage_sections_key(
            workflow,
            version=version,
            stamp=stamp,
            days=days,
            cohort=cohort,
            first_day=first_day,
            end=end,
            cohorts=cohorts,
            thresholds=thresholds,
            members=members,
            feedback=feedback,
            currency=currency,
        )
        # Whether the period has usage, and the groups shown, are kept under the same key.
        shape = usage_shape_kept(sections_key, cohorts)
        if shape is None:
            shape = usage_shape_keep(sections_key, series)
        has_data, groups = shape
        # Kept rendered under that key (rollout.views._usage_sections): computed only when
        # the cache does not hold them.
        context.update(
            has_data=has_data,
            ever_reported=True,
            sections_key=sections_key,
            sections_seconds=settings.ROLLOUT_USAGE_SECTIONS_SECONDS,
            charts=SimpleLazyObject(lambda: usage_charts(extended, thresholds, x_labels)),
            summary=SimpleLazyObject(
                lambda: usage_summary(
                    workflow,
                    series,
                    start=start,
                    end=end,
                    cohort=cohort,
                    feedback=feedback,
                    members_in_any_cohort=members.in_any_cohort,
                )
            ),
            cost=SimpleLazyObject(
                lambda: usage_cost(
                    workflow,
                    series,
                    x_labels,
                    thresholds,
                    start=start,
                    end=end,
                    today=end,
                    # Every group of the workflow, from SMOOTHING_DAYS before the period: the
                    # forecast's week (the 7 days before today) is among them.
                    person_days=person_days_in(extended, end) if cohort is None else None,
                    currency=currency,
                )
            ),
        )
    context.update(
        form=form.shown(days, cohort),
        notes=notes,
        days=days,
        cohort=cohort,
        start=start,
        end=end,
        csv_query=f"days={days}" + (f"&cohort={cohort.pk}" if cohort else ""),
        voices=cohort_voices(groups, feedback, cohort),
        can_triage=can_triage_feedback(request.user, workflow),
        statuses=cohort_statuses(workflow, groups, cohort),
    )
    context["source_health"] = source_health_list(workflow)
    context["outcomes"] = outcome_sections(
        workflow, cohorts=cohorts, cohort=cohort, start=start, end=end
    )
    context["review"] = usage_review(workflow, start=start, end=end, cohort=cohort, cohorts=cohorts)
    template = "rollout/workflow_usage.html"
    if request.htmx and not request.htmx.history_restore_request:
        template += "#usage-body"
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request",))
    return response


# --- CSV ---------------------------------------------------------------------------------------

CSV_COUNTERS = (*COUNTERS, "active_users", "members", "latency_count")
CSV_RATES = (
    "adoption_rate",
    "acceptance_rate",
    "edit_rate",
    "override_rate",
    "error_rate",
    "fallback_rate",
    "shadow_agreement_rate",
)
CSV_LATENCIES = ("p50_latency_ms", "p95_latency_ms")
# Feedback given that day by the cohort's people: all of it, the "not helpful" part, the share.
CSV_FEEDBACK = ("feedback", "not_helpful_feedback", "negative_feedback_share")
CSV_HEADER = (
    "date",
    "cohort_id",
    "cohort",
    *CSV_COUNTERS,
    *CSV_RATES,
    *CSV_LATENCIES,
    *CSV_FEEDBACK,
)
FeedbackByDay = dict[tuple[int | None, date], tuple[int, int]]


def _decimal(value: float | None, places: int) -> str:
    if value is None:
        return ""
    text = f"{value:.{places}f}".rstrip("0").rstrip(".")
    return text or "0"


def _csv_rows(series: list[DailySeries], feedback: FeedbackByDay) -> Iterator[list[object]]:
    yield list(CSV_HEADER)
    days = series[0].days if series else []
    for index, day in enumerate(days):
        for s in series:
            counts = s.counts[index]
            not_helpful, total = feedback.get((s.cohort.pk if s.cohort else None, day), (0, 0))
            yield [
                day.isoformat(),
                s.cohort.pk if s.cohort else "",
                csv_cell(s.label),
                *(getattr(counts, name) for name in CSV_COUNTERS),
                *(_decimal(getattr(counts, name), 6) for name in CSV_RATES),
                *(_decimal(getattr(counts, name), 1) for name in CSV_LATENCIES),
                total,
                not_helpful,
                _decimal(not_helpful / total if total else None, 6),
            ]


@require_GET
def workflow_usage_csv(request: HtmxHttpRequest, slug: str) -> StreamingHttpResponse:
    """One row per day and cohort: every counter, the rates as decimals (empty when there is
    nothing to divide by) and the day's feedback. Bounded by the longest period (180 days) times
    the cohorts. Feedback from people in no cohort has a row only on a download that has usage
    from them (the rows follow the usage series)."""
    workflow = access_workflow(request.user, slug)
    form, days, cohort, _notes, cohorts = _choice(request, workflow)
    if "cohort" in form.errors:
        raise Http404(MSG_BAD_COHORT)
    start, end = period_days(days, today=timezone.localdate())
    series = usage_daily(workflow, start=start, end=end, cohort=cohort, cohorts=cohorts)
    feedback = feedback_counts_by_day(workflow, start=start, end=end, cohort=cohort)
    writer = csv.writer(Echo())
    rows = _csv_rows(series, feedback)
    response = StreamingHttpResponse(
        (writer.writerow(row) for row in rows), content_type="text/csv; charset=utf-8"
    )
    name = f"{workflow.slug}-usage-{start.isoformat()}-to-{end.isoformat()}"
    if cohort is not None:
        name += f"-cohort-{cohort.pk}"
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response
