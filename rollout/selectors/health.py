"""A workflow's health in one word, with the reasons behind it: its thresholds' current verdicts
and its cohorts' drift, for the portfolio, the overview and the usage page.

Read from ThresholdStatus and CohortDrift (what the evaluation and drift services last wrote),
never recomputed here, in three queries for any number of workflows.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from django.db import models
from django.db.models import QuerySet
from django.utils import formats, timezone

from rollout.models import (
    IN_PROGRESS,
    CohortDrift,
    DriftStatus,
    Metric,
    Phase,
    PhaseKind,
    PhaseStatus,
    Threshold,
    ThresholdScope,
    ThresholdStatus,
    Verdict,
    Workflow,
)
from rollout.selectors.source_health import flagged_sources


class HealthStatus(models.TextChoices):
    """Derived on every read, never stored."""

    FAILING = "failing", "Failing"
    AT_RISK = "at_risk", "At risk"
    HEALTHY = "healthy", "Healthy"
    NO_DATA = "no_data", "Not enough data"


# Worst first: the portfolio's "health" sort puts what needs attention at the top.
SEVERITY = {
    HealthStatus.FAILING: 0,
    HealthStatus.AT_RISK: 1,
    HealthStatus.NO_DATA: 2,
    HealthStatus.HEALTHY: 3,
}
NO_PLAN = "No plan yet"
NOT_STARTED = "Not started"

MSG_NO_THRESHOLDS = "No thresholds defined yet."
MSG_NOT_EVALUATED = "{metric}: not evaluated yet."
MSG_ALL_PASS = "All {count} threshold checks pass; no cohort is drifting."
MSG_ALL_PASS_ONE = "The threshold passes; no cohort is drifting."
MSG_REVIEW_OVERDUE = "Review overdue: it was due on {due}."


@dataclass(frozen=True)
class Health:
    """`status` is a HealthStatus (insufficient data is never healthy);
    `reasons` are short sentences, worst first. `phase_label` names the phase in progress (or
    says there is none) and `paused`/`pause_reason` tell whether it is paused and why."""

    status: HealthStatus
    reasons: list[str] = field(default_factory=list)
    phase_kind: str = ""
    phase_label: str = NO_PLAN
    paused: bool = False
    pause_reason: str = ""
    # Live data sources that are stale or silent, as short texts (“CRM export” stale).
    flagged_sources: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return self.status.label

    @property
    def severity(self) -> int:
        return SEVERITY[self.status]


def _where(cohort_name: str | None) -> str:
    return f" for “{cohort_name}”" if cohort_name else ""


def _threshold_rows(workflow_ids: list[int]) -> dict[int, list[dict]]:
    """Every threshold with its current statuses, one row per (threshold, scope); a threshold
    never evaluated yet comes as one row with no verdict (a LEFT JOIN, so still one query)."""
    rows = defaultdict(list)
    for row in (
        Threshold.objects.filter(workflow_id__in=workflow_ids)
        .values(
            "pk",
            "workflow_id",
            "metric",
            "scope",
            "statuses__scope_key",
            "statuses__verdict",
            "statuses__reason",
            "statuses__cohort__name",
        )
        .order_by("metric", "pk", "statuses__cohort__name")
    ):
        rows[row["workflow_id"]].append(row)
    return rows


def _drift_rows(workflow_ids: list[int]) -> dict[int, list[dict]]:
    rows = defaultdict(list)
    for row in (
        CohortDrift.objects.filter(workflow_id__in=workflow_ids, status=DriftStatus.DEGRADING)
        .values("workflow_id", "metric", "explanation", "cohort__name")
        .order_by("cohort__name", "metric")
    ):
        rows[row["workflow_id"]].append(row)
    return rows


def _phase_rows(workflow_ids: list[int]) -> dict[int, list[dict]]:
    rows = defaultdict(list)
    for row in (
        Phase.objects.filter(workflow_id__in=workflow_ids)
        .values("workflow_id", "kind", "status", "pause_reason", "workflow__next_review_due")
        .order_by("position")
    ):
        rows[row["workflow_id"]].append(row)
    return rows


def _verdicts(rows: list[dict]) -> tuple[dict[str, list[str]], int]:
    """Reasons grouped by verdict, and the number of (threshold, scope) checks seen."""
    by_verdict: dict[str, list[str]] = defaultdict(list)
    checks = 0
    evaluated: set[int] = set()
    for row in rows:
        verdict = row["statuses__verdict"]
        per_cohort = row["scope"] == ThresholdScope.PER_COHORT
        # A status left from before the threshold's scope changed is not a current verdict.
        if verdict is None or per_cohort != bool(row["statuses__scope_key"]):
            continue
        evaluated.add(row["pk"])
        checks += 1
        metric = Metric(row["metric"]).label
        where = _where(row["statuses__cohort__name"])
        reason = row["statuses__reason"]
        if verdict == Verdict.FAIL:
            by_verdict[verdict].append(f"{metric} failing{where}: {reason}")
        elif verdict == Verdict.MARGINAL:
            by_verdict[verdict].append(f"{metric} marginal{where}: {reason}")
        elif verdict == Verdict.INSUFFICIENT_DATA:
            by_verdict[verdict].append(f"{metric}{where}: {reason}")
    for row in rows:
        if row["pk"] not in evaluated:
            evaluated.add(row["pk"])
            checks += 1
            by_verdict[Verdict.INSUFFICIENT_DATA].append(
                MSG_NOT_EVALUATED.format(metric=Metric(row["metric"]).label)
            )
    return by_verdict, checks


def _phase_fields(phases: list[dict]) -> dict[str, object]:
    current = next((p for p in phases if p["status"] in IN_PROGRESS), None)
    if current is None:
        return {"phase_label": NOT_STARTED if phases else NO_PLAN}
    return {
        "phase_kind": current["kind"],
        "phase_label": PhaseKind(current["kind"]).label,
        "paused": current["status"] == PhaseStatus.PAUSED,
        "pause_reason": current["pause_reason"],
    }


def _review_overdue(phases: list[dict], today: date) -> str:
    """The reason, when the workflow is in steady state and its review is past due; else ""."""
    steady = any(p["kind"] == PhaseKind.STEADY and p["status"] in IN_PROGRESS for p in phases)
    due = phases[0]["workflow__next_review_due"] if phases else None
    if not steady or due is None or due >= today:
        return ""
    return MSG_REVIEW_OVERDUE.format(due=formats.date_format(due, "j M Y"))


def _health(
    thresholds: list[dict],
    drifting: list[dict],
    phases: list[dict],
    today: date,
    flagged: list | None = None,
) -> Health:
    health = _usage_health(thresholds, drifting, phases, today)
    if not flagged:
        return health
    sources = [f"Data source {row.reason}" for row in flagged]
    # A stale or silent live source: the numbers may look fine on data nobody refreshes.
    if health.status == HealthStatus.FAILING:
        status, reasons = health.status, [*health.reasons[:1], *sources, *health.reasons[1:]]
    elif health.status == HealthStatus.HEALTHY:
        status, reasons = HealthStatus.AT_RISK, list(sources)
    else:
        status, reasons = HealthStatus.AT_RISK, [*sources, *health.reasons]
    return Health(
        status=status,
        reasons=reasons,
        phase_kind=health.phase_kind,
        phase_label=health.phase_label,
        paused=health.paused,
        pause_reason=health.pause_reason,
        flagged_sources=tuple(f"“{row.source.name}” {row.state.label.lower()}" for row in flagged),
    )


def _usage_health(
    thresholds: list[dict], drifting: list[dict], phases: list[dict], today: date
) -> Health:
    by_verdict, checks = _verdicts(thresholds)
    overdue = _review_overdue(phases, today)
    drift_reasons = [
        f"Drifting{_where(row['cohort__name'])}: {row['explanation']}" for row in drifting
    ]
    failing, marginal = by_verdict[Verdict.FAIL], by_verdict[Verdict.MARGINAL]
    insufficient = by_verdict[Verdict.INSUFFICIENT_DATA]
    if failing:
        status = HealthStatus.FAILING
    elif marginal or drift_reasons or overdue:
        # A steady workflow nobody has reviewed on time is at risk, whatever its numbers say.
        status = HealthStatus.AT_RISK
    elif checks and not insufficient:
        status = HealthStatus.HEALTHY
    else:
        status = HealthStatus.NO_DATA
    review = [overdue] if overdue else []
    if status == HealthStatus.HEALTHY:
        reasons = [MSG_ALL_PASS_ONE if checks == 1 else MSG_ALL_PASS.format(count=checks)]
    elif not checks:
        reasons = [*review, *drift_reasons, MSG_NO_THRESHOLDS]
    else:
        reasons = [*failing, *review, *marginal, *drift_reasons, *insufficient]
    return Health(status=status, reasons=reasons, **_phase_fields(phases))


def workflow_health(workflow_ids: list[int]) -> dict[int, Health]:
    """{workflow id: Health} for every id given, in four queries whatever their number.

    failing: a threshold fails in some scope; at risk: one is marginal, or a cohort is
    degrading, or it is in steady state with its review overdue, or a live data source is stale
    or silent; healthy: thresholds exist and
    every check passes with nothing degrading; no data otherwise (no thresholds, or some check
    without enough data yet)."""
    ids = list(workflow_ids)
    if not ids:
        return {}
    thresholds, drifting, phases = _threshold_rows(ids), _drift_rows(ids), _phase_rows(ids)
    flagged = flagged_sources(ids)
    today = timezone.localdate()
    return {
        pk: _health(
            thresholds[pk],
            drifting[pk],
            phases[pk],
            today,
            flagged.get(pk),
        )
        for pk in ids
    }


def threshold_status_list_for_workflow(workflow: Workflow) -> QuerySet[ThresholdStatus]:
    """The current verdict of every threshold of the workflow in every scope (one query)."""
    return (
        ThresholdStatus.objects.filter(threshold__workflow=workflow)
        .select_related("threshold", "cohort")
        .order_by("threshold__metric", "threshold_id", "cohort__name")
    )


def cohort_drift_list_for_workflow(workflow: Workflow) -> QuerySet[CohortDrift]:
    """The latest drift check of every cohort and metric of the workflow (one query)."""
    return CohortDrift.objects.filter(workflow=workflow).order_by("cohort__name", "metric")
