"""The metric conditions of the promotion gates (PRODUCT.md rule 3), registered with rollout.gates.

They read the threshold statuses the evaluator keeps current (rollout.services.evaluation) rather
than computing metrics on every page view. `inputs` are the verdicts, not the observed values: an
approval lapses when a threshold's verdict changes, not each time a new event arrives.
"""

from django.utils import timezone

from core.dates import day_bounds
from rollout.gates.registry import GateContext, Outcome, gate_condition
from rollout.models import (
    BreachAction,
    Metric,
    PhaseKind,
    RollupPeriod,
    Threshold,
    ThresholdStatus,
    UsageRollup,
    Verdict,
)
from rollout.selectors.impact import impact_alpha_note

_BLOCKING = (BreachAction.BLOCK_PROMOTION, BreachAction.PAUSE_ROLLOUT)


def _scope(status: ThresholdStatus | None) -> str:
    if status is None or status.cohort is None:
        return ""
    return f" (“{status.cohort.name}”)"


@gate_condition(
    PhaseKind.LIMITED,
    PhaseKind.BROAD,
    PhaseKind.STEADY,
    key="thresholds_met",
    label="Quality thresholds met",
)
def thresholds_met(ctx: GateContext) -> Outcome:
    """Every threshold that blocks promotion (or pauses the roll-out) passes in every scope over
    its window. A failing alert-only threshold is shown but does not block. Marginal needs a
    person's decision (an override); insufficient data is never a pass."""
    thresholds = list(Threshold.objects.filter(workflow=ctx.workflow).order_by("pk"))
    statuses = list(
        ThresholdStatus.objects.filter(threshold__workflow=ctx.workflow)
        .select_related("cohort")
        .order_by("threshold_id", "scope_key")
    )
    inputs = "; ".join(f"{s.threshold_id}|{s.scope_key}|{s.verdict}" for s in statuses)
    if not thresholds:
        return Outcome(Verdict.FAIL, "No quality threshold is defined.", inputs)
    by_threshold: dict[int, list[ThresholdStatus]] = {}
    for status in statuses:
        by_threshold.setdefault(status.threshold_id, []).append(status)
    failing, marginal, unknown, alerts = [], [], [], []
    note = impact_alpha_note(sum(1 for t in thresholds if t.metric == Metric.IMPACT))
    note = f" {note}" if note else ""
    for threshold in thresholds:
        label = Metric(threshold.metric).label
        rows = by_threshold.get(threshold.pk, [])
        if not rows:
            unknown.append(f"{label}: not evaluated yet")
        for status in rows:
            text = f"{label}{_scope(status)}: {status.reason}"
            if status.verdict == Verdict.FAIL:
                (failing if threshold.action in _BLOCKING else alerts).append(text)
            elif status.verdict == Verdict.MARGINAL:
                marginal.append(text)
            elif status.verdict == Verdict.INSUFFICIENT_DATA:
                unknown.append(text)
    if failing:
        return Outcome(Verdict.FAIL, "Failing: " + " ".join(failing) + note, inputs)
    if unknown:
        return Outcome(
            Verdict.INSUFFICIENT_DATA, "Not enough data: " + " ".join(unknown) + note, inputs
        )
    if marginal:
        return Outcome(
            Verdict.MARGINAL,
            "Marginal, a person must decide: " + " ".join(marginal) + note,
            inputs,
        )
    reason = f"All {len(thresholds)} thresholds pass over their windows."
    if alerts:
        reason += " Alert-only thresholds failing (they do not block): " + " ".join(alerts)
    return Outcome(Verdict.PASS, reason + note, inputs)


@gate_condition(PhaseKind.LIMITED, key="shadow_usage", label="Shadow run with usage events")
def shadow_usage(ctx: GateContext) -> Outcome:
    """Shadow must have received usage events (the minimum duration is its own condition)."""
    phase = ctx.from_phase
    if phase.actual_start is None:
        return Outcome(Verdict.INSUFFICIENT_DATA, "Shadow mode has not started yet.", "")
    start, _ = day_bounds(timezone.localdate(phase.actual_start))
    rows = UsageRollup.objects.filter(
        workflow=ctx.workflow, period=RollupPeriod.DAY, start__gte=start
    ).values_list("day", "invocations", "agreed", "disagreed")
    invocations = compared = 0
    days = set()  # a day has one row per cohort: count the days, not the rows
    for day, inv, agreed, disagreed in rows:
        invocations += inv
        compared += agreed + disagreed
        if inv or agreed or disagreed:
            days.add(day)
    inputs = "received" if invocations or compared else ""
    if not invocations and not compared:
        return Outcome(
            Verdict.FAIL,
            "No usage events received since shadow mode began: is the integration reporting?",
            inputs,
        )
    return Outcome(
        Verdict.PASS,
        f"{invocations:,} invocations and {compared:,} shadow comparisons over {len(days)} "
        f"day{'' if len(days) == 1 else 's'}.",
        inputs,
    )
