"""Drift: is a cohort getting worse than it was when the phase began?

For each cohort, the latest window (the last DRIFT_WINDOW_DAYS days, today included) is compared
with the phase's baseline: the first full window after the phase began — or after the AI itself
last changed (rule 9 restarts it, see Phase.baseline_start). Rates use a two-proportion z-test,
latency a Mann–Whitney shift test on the histograms. "Degrading" needs both significance and a
material change, and the row says the numbers that show it.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import transaction
from django.utils import timezone

from rollout.lib.numbers import format_count, format_percent, format_significance
from rollout.lib.stats import (
    is_degrading_latency,
    is_degrading_rate,
    latency_shift_test,
    two_proportion_test,
)
from rollout.models import (
    IN_PROGRESS,
    Cohort,
    CohortDrift,
    DriftStatus,
    Metric,
    Phase,
    PhaseKind,
    Workflow,
)
from rollout.selectors.usage import UsageCounts, usage_window

DRIFT_WINDOW_DAYS = 7
MIN_SAMPLE = 30


@dataclass(frozen=True)
class RateCheck:
    metric: str
    label: str
    higher_is_worse: bool
    phases: tuple[str, ...]


RATE_CHECKS = (
    RateCheck(
        Metric.OVERRIDE_RATE,
        "Override rate",
        True,
        (PhaseKind.LIMITED, PhaseKind.BROAD, PhaseKind.STEADY),
    ),
    RateCheck(
        Metric.ERROR_RATE,
        "Error rate",
        True,
        (PhaseKind.SHADOW, PhaseKind.LIMITED, PhaseKind.BROAD, PhaseKind.STEADY),
    ),
    RateCheck(
        Metric.ACCEPTANCE_RATE,
        "Acceptance rate",
        False,
        (PhaseKind.LIMITED, PhaseKind.BROAD, PhaseKind.STEADY),
    ),
    RateCheck(Metric.SHADOW_AGREEMENT_RATE, "Shadow agreement rate", False, (PhaseKind.SHADOW,)),
)
LATENCY = Metric.P95_LATENCY_MS
METRIC_LABELS = {c.metric: c.label for c in RATE_CHECKS} | {LATENCY: "Latency"}
# metric → (successes, trials) out of UsageCounts
_PARTS = {
    Metric.OVERRIDE_RATE: lambda c: (c.overridden, c.outcomes),
    Metric.ERROR_RATE: lambda c: (c.errors, c.invocations),
    Metric.ACCEPTANCE_RATE: lambda c: (c.accepted, c.outcomes),
    Metric.SHADOW_AGREEMENT_RATE: lambda c: (c.agreed, c.shadow_compared),
}


def _fmt_days(start: date, end: date) -> str:
    if start.month == end.month:
        return f"{start.day}–{end.day} {end:%b}"
    return f"{start.day} {start:%b}–{end.day} {end:%b}"


def baseline_window(phase: Phase) -> tuple[date, date] | None:
    """The first full window after the phase (or its baseline) began: starting the next day."""
    began = max(filter(None, (phase.actual_start, phase.baseline_start)), default=None)
    if began is None:
        return None
    start = timezone.localdate(began) + timedelta(days=1)
    return start, start + timedelta(days=DRIFT_WINDOW_DAYS - 1)


@dataclass(frozen=True)
class DriftResult:
    metric: str
    status: DriftStatus
    baseline_value: float | None = None
    current_value: float | None = None
    baseline_sample: int = 0
    current_sample: int = 0
    p_value: float | None = None
    explanation: str = ""


def _rate_result(check: RateCheck, base: UsageCounts, cur: UsageCounts, windows) -> DriftResult:
    (b_succ, b_n), (c_succ, c_n) = _PARTS[check.metric](base), _PARTS[check.metric](cur)
    if b_n < MIN_SAMPLE or c_n < MIN_SAMPLE:
        return DriftResult(
            check.metric,
            DriftStatus.INSUFFICIENT_DATA,
            baseline_sample=b_n,
            current_sample=c_n,
            explanation=f"{check.label}: {b_n} baseline and {c_n} recent cases; "
            f"{MIN_SAMPLE} of each are needed.",
        )
    test = two_proportion_test(b_succ, b_n, c_succ, c_n)
    degrading = is_degrading_rate(test, higher_is_worse=check.higher_is_worse)
    (bs, be), (cs, ce) = windows
    baseline = f"{format_percent(test.p_a)} ({format_count(b_n)} cases, {_fmt_days(bs, be)})"
    recent = f"{format_percent(test.p_b)} ({format_count(c_n)} cases, {_fmt_days(cs, ce)})"
    if test.diff:
        verb = "rose" if test.diff > 0 else "fell"
        text = (
            f"{check.label} {verb} from {baseline} to {recent}; "
            f"{format_significance(test.p_value)}."
        )
    else:
        text = f"{check.label} held at {baseline} and {recent}."
    return DriftResult(
        check.metric,
        DriftStatus.DEGRADING if degrading else DriftStatus.STABLE,
        test.p_a,
        test.p_b,
        b_n,
        c_n,
        test.p_value,
        text,
    )


def _latency_result(base: UsageCounts, cur: UsageCounts, windows) -> DriftResult:
    if base.latency_count < MIN_SAMPLE or cur.latency_count < MIN_SAMPLE:
        return DriftResult(
            LATENCY,
            DriftStatus.INSUFFICIENT_DATA,
            baseline_sample=base.latency_count,
            current_sample=cur.latency_count,
            explanation=f"Latency: {base.latency_count} baseline and {cur.latency_count} recent "
            f"timings; {MIN_SAMPLE} of each are needed.",
        )
    test = latency_shift_test(base.latency_hist, cur.latency_hist)
    degrading = is_degrading_latency(test)
    (bs, be), (cs, ce) = windows
    b95, c95 = base.p95_latency_ms or 0, cur.p95_latency_ms or 0
    text = (
        f"p95 latency {format_count(b95)} ms ({_fmt_days(bs, be)}) → {format_count(c95)} ms "
        f"({_fmt_days(cs, ce)}); a recent call is slower than a baseline one "
        f"{format_percent(test.prob_b_greater)} of the time; {format_significance(test.p_value)}."
    )
    return DriftResult(
        LATENCY,
        DriftStatus.DEGRADING if degrading else DriftStatus.STABLE,
        b95,
        c95,
        base.latency_count,
        cur.latency_count,
        test.p_value,
        text,
    )


def drift_evaluate_workflow(
    *, workflow: Workflow, now: datetime | None = None
) -> list[CohortDrift]:
    """Check every cohort of the workflow against the baseline of the phase in progress."""
    now = now or timezone.now()
    phase = Phase.objects.filter(workflow=workflow, status__in=IN_PROGRESS).first()
    with transaction.atomic():
        if phase is None or phase.kind == PhaseKind.AUDIT:
            CohortDrift.objects.filter(workflow=workflow).delete()
            return []
        base_window = baseline_window(phase)
        today = timezone.localdate(now)
        current = (today - timedelta(days=DRIFT_WINDOW_DAYS - 1), today)
        cohorts = list(Cohort.objects.filter(workflow=workflow).order_by("name"))
        rows = []
        for cohort in cohorts:
            results = _cohort_results(workflow, cohort, phase, base_window, current)
            for result in results:
                row, _ = CohortDrift.objects.update_or_create(
                    workflow=workflow,
                    scope_key=str(cohort.pk),
                    metric=result.metric,
                    defaults={
                        "cohort": cohort,
                        "status": result.status,
                        "baseline_value": result.baseline_value,
                        "current_value": result.current_value,
                        "baseline_sample": result.baseline_sample,
                        "current_sample": result.current_sample,
                        "p_value": result.p_value,
                        "baseline_start": base_window[0] if base_window else None,
                        "baseline_end": base_window[1] if base_window else None,
                        "current_start": current[0],
                        "current_end": current[1],
                        "explanation": result.explanation,
                        "computed_at": now,
                    },
                )
                rows.append(row)
        keep = [row.pk for row in rows]
        CohortDrift.objects.filter(workflow=workflow).exclude(pk__in=keep).delete()
    return rows


def _cohort_results(
    workflow: Workflow,
    cohort: Cohort,
    phase: Phase,
    base_window: tuple[date, date] | None,
    current: tuple[date, date],
) -> list[DriftResult]:
    checks = [c for c in RATE_CHECKS if phase.kind in c.phases]
    metrics = [c.metric for c in checks] + [LATENCY]
    if base_window is None or base_window[1] >= current[0]:
        until = base_window[1] if base_window else None
        reason = (
            f"The baseline window runs until {until:%-d %b}; drift is measured once a full "
            f"window has followed it."
            if until
            else "The phase has not started."
        )
        return [DriftResult(m, DriftStatus.INSUFFICIENT_DATA, explanation=reason) for m in metrics]
    base = usage_window(workflow, start=base_window[0], end=base_window[1], scope=cohort)
    cur = usage_window(workflow, start=current[0], end=current[1], scope=cohort)
    windows = (base_window, current)
    return [_rate_result(c, base, cur, windows) for c in checks] + [
        _latency_result(base, cur, windows)
    ]


def drift_evaluate_all(*, now: datetime | None = None) -> int:
    count = 0
    for workflow in Workflow.objects.filter(phases__status__in=IN_PROGRESS).distinct():
        drift_evaluate_workflow(workflow=workflow, now=now)
        count += 1
    return count
