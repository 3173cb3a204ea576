"""The usage page's table (the period's totals per cohort, with each cohort's negative-feedback
share beside its numbers) and its drift and threshold statuses per cohort."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from rollout.lib.numbers import format_count, format_percent
from rollout.models import Cohort, CohortDrift, DriftStatus, ThresholdStatus, Workflow
from rollout.selectors.feedback import CohortFeedback
from rollout.selectors.health import (
    cohort_drift_list_for_workflow,
    threshold_status_list_for_workflow,
)
from rollout.selectors.usage import DailySeries, UsageCounts, UsageGroup
from rollout.selectors.usage_summary import active_people, workflow_member_count


def _latency(counts: UsageCounts) -> str:
    p50, p95 = counts.p50_latency_ms, counts.p95_latency_ms
    return "—" if p50 is None or p95 is None else f"{format_count(p50)} / {format_count(p95)} ms"


def negative_share_text(feedback: CohortFeedback | None) -> str:
    """The share of feedback marked not helpful, with the sample ("25.0% (1 of 4)"); "—"
    without."""
    if feedback is None or not feedback.total:
        return "—"
    sample = f"{format_count(feedback.not_helpful)} of {format_count(feedback.total)}"
    return f"{format_percent(feedback.negative_share)} ({sample})"


SUMMARY_HEADERS = (
    "Invocations",
    "Active members",
    "Acceptance",
    "Edit",
    "Override",
    "Error",
    "Fallback",
    "Shadow agreement",
    "p50 / p95 latency",
    "Negative feedback",
)


@dataclass(frozen=True)
class SummaryRow:
    label: str
    counts: UsageCounts
    is_total: bool = False
    feedback: CohortFeedback | None = None

    def cells(self, *, shadow: bool) -> list[str]:
        c = self.counts
        if c.members:
            active = min(c.active_users, c.members)
            sample = f"{format_count(active)} of {format_count(c.members)}"
            adoption = f"{format_percent(c.adoption_rate or 0)} ({sample})"
        else:
            people = "person" if c.active_users == 1 else "people"
            adoption = f"— ({format_count(c.active_users)} {people})"
        cells = [
            format_count(c.invocations),
            adoption,
            format_percent(c.acceptance_rate),
            format_percent(c.edit_rate),
            format_percent(c.override_rate),
            format_percent(c.error_rate),
            format_percent(c.fallback_rate),
            format_percent(c.shadow_agreement_rate),
            _latency(c),
            negative_share_text(self.feedback),
        ]
        if not shadow:
            del cells[7]
        return cells


@dataclass(frozen=True)
class Summary:
    headers: list[str]
    rows: list[tuple[SummaryRow, list[str]]]


def usage_summary(
    workflow: Workflow,
    series: list[DailySeries],
    *,
    start: date,
    end: date,
    cohort: Cohort | None,
    feedback: dict[int | None, CohortFeedback],
    members_in_any_cohort: int | None = None,
) -> Summary:
    """The period's totals per cohort, and for all cohorts together when several are shown.
    `series` covers start..end (every group when `cohort` is None); `feedback` is
    rollout.selectors.feedback.feedback_summary_by_cohort for the same period;
    `members_in_any_cohort`, the workflow's people in any cohort when the caller read them
    (rollout.selectors.usage_summary.cohort_members). One query (two without the latter)."""
    active = active_people(
        workflow, start=start, end=end, cohort_ids=[s.cohort.pk for s in series if s.cohort]
    )
    rows = []
    for s in series:
        key = s.cohort.pk if s.cohort else None
        total = s.total()
        total.active_users = active.by_cohort.get(key, 0)
        rows.append(SummaryRow(s.label, total, feedback=feedback.get(key)))
    if cohort is None and len(series) > 1:
        everyone = CohortFeedback(
            None,
            not_helpful=sum(f.not_helpful for f in feedback.values()),
            total=sum(f.total for f in feedback.values()),
        )
        # The groups' sums add up to the workflow's; people are counted once however many
        # cohorts they were in (as rollout.selectors.usage.usage_window counts them).
        if members_in_any_cohort is None:
            members_in_any_cohort = workflow_member_count(workflow)
        window = UsageCounts.sum_of([row.counts for row in rows], members=members_in_any_cohort)
        window.active_users = active.in_any_cohort
        rows.append(SummaryRow("All cohorts", window, True, feedback=everyone))
    shadow = any(row.counts.shadow_compared for row in rows)
    headers = [h for h in SUMMARY_HEADERS if shadow or h != "Shadow agreement"]
    return Summary(headers, [(row, row.cells(shadow=shadow)) for row in rows])


@dataclass
class CohortStatus:
    """What the usage page says about one cohort (or, with cohort None, the whole workflow)."""

    label: str
    cohort: Cohort | None
    drift: list[CohortDrift]
    thresholds: list[ThresholdStatus]

    @property
    def drift_status(self) -> str:
        statuses = {d.status for d in self.drift}
        for status in (DriftStatus.DEGRADING, DriftStatus.STABLE, DriftStatus.INSUFFICIENT_DATA):
            if status in statuses:
                return status
        return ""

    @property
    def drift_label(self) -> str:
        status = self.drift_status
        return DriftStatus(status).label if status else "Not checked yet"

    @property
    def degrading(self) -> list[CohortDrift]:
        return [d for d in self.drift if d.status == DriftStatus.DEGRADING]


def cohort_statuses(
    workflow: Workflow, groups: list[UsageGroup], cohort: Cohort | None
) -> list[CohortStatus]:
    """Drift and threshold verdicts of each cohort shown (`groups`, in the table's order), the
    whole workflow's first."""
    drift: dict[int | None, list[CohortDrift]] = defaultdict(list)
    for row in cohort_drift_list_for_workflow(workflow):
        drift[row.cohort_id].append(row)
    verdicts: dict[int | None, list[ThresholdStatus]] = defaultdict(list)
    for row in threshold_status_list_for_workflow(workflow):
        verdicts[row.cohort_id].append(row)
    shown = [
        CohortStatus(s.label, s.cohort, drift[s.cohort.pk], verdicts[s.cohort.pk])
        for s in groups
        if s.cohort is not None
    ]
    if verdicts[None]:
        shown.insert(0, CohortStatus("Whole workflow", None, [], verdicts[None]))
    return shown
