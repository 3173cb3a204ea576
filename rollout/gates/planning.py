"""The planning gate conditions (PRODUCT.md rule 3), registered with rollout.gates.

Each returns an Outcome whose `inputs` is a stable text of the rows it judged and never the clock,
so an approval lapses when the data changes but not merely because time passed.
"""

from datetime import timedelta

from django.utils import timezone

from rollout.gates.registry import GateContext, Outcome, gate_condition
from rollout.models import (
    QUALITY_METRICS,
    Cohort,
    DataSource,
    EscalationLevel,
    Phase,
    PhaseKind,
    ReadinessAnswer,
    ReadinessAnswerValue,
    ReadinessQuestion,
    Threshold,
    Verdict,
)
from rollout.selectors.readiness import readiness_observed

PASS, FAIL = Verdict.PASS, Verdict.FAIL


def _names(items: list[str]) -> str:
    return ", ".join(f"“{name}”" for name in items)


# --- into shadow ---------------------------------------------------------------------------------


@gate_condition(PhaseKind.SHADOW, key="sources_documented", label="Data sources documented")
def sources_documented(ctx: GateContext) -> Outcome:
    sources = list(DataSource.objects.filter(workflow=ctx.workflow).order_by("name", "pk"))
    inputs = "; ".join(
        f"{s.pk}|{s.name}|{s.freshness}|{s.validation}|{s.last_verified_at}" for s in sources
    )
    if not sources:
        return Outcome(FAIL, "No data source is listed yet.", inputs)
    missing = [s.name for s in sources if not s.is_documented]
    if missing:
        return Outcome(
            FAIL,
            f"Freshness, validation or last verification missing for {_names(missing)}.",
            inputs,
        )
    return Outcome(PASS, f"All {len(sources)} data sources are documented.", inputs)


@gate_condition(PhaseKind.SHADOW, key="no_unmapped_exports", label="No unmapped static exports")
def no_unmapped_exports(ctx: GateContext) -> Outcome:
    sources = list(DataSource.objects.filter(workflow=ctx.workflow).order_by("name", "pk"))
    inputs = "; ".join(f"{s.pk}|{s.name}|{s.kind}|{s.live_equivalent}" for s in sources)
    unmapped = [s.name for s in sources if s.is_unmapped_export]
    if unmapped:
        return Outcome(
            FAIL, f"Static exports without a live equivalent: {_names(unmapped)}.", inputs
        )
    return Outcome(PASS, "Every static export has a live equivalent.", inputs)


@gate_condition(PhaseKind.SHADOW, key="escalation_path", label="Escalation path")
def escalation_path(ctx: GateContext) -> Outcome:
    levels = list(
        EscalationLevel.objects.filter(workflow=ctx.workflow)
        .order_by("position")
        .values_list("position", "contact_id", "channel", "response_target_minutes")
    )
    inputs = "; ".join("|".join(str(v) for v in level) for level in levels)
    if not levels:
        return Outcome(FAIL, "No escalation level is defined yet.", inputs)
    return Outcome(PASS, f"{len(levels)} escalation level{'s' if len(levels) > 1 else ''}.", inputs)


# --- minimum duration (limited, broad, steady) ---------------------------------------------------


@gate_condition(
    PhaseKind.LIMITED,
    PhaseKind.BROAD,
    PhaseKind.STEADY,
    key="min_duration",
    label="Minimum duration",
)
def min_duration(ctx: GateContext) -> Outcome:
    phase: Phase = ctx.from_phase
    label = phase.get_kind_display().split(" ")[0]
    inputs = f"{phase.pk}|{phase.actual_start and phase.actual_start.isoformat()}|"
    inputs += str(phase.min_duration_days)
    if phase.actual_start is None:
        return Outcome(Verdict.INSUFFICIENT_DATA, f"{label} has not started yet.", inputs)
    earliest = phase.actual_start + timedelta(days=phase.min_duration_days)
    if ctx.now >= earliest:
        return Outcome(
            PASS, f"{label} has run its minimum of {phase.min_duration_days} days.", inputs
        )
    run_days = (ctx.now - phase.actual_start).days
    earliest_date = timezone.localdate(earliest).isoformat()
    return Outcome(
        FAIL,
        f"{label} has run {run_days} of {phase.min_duration_days} days; "
        f"earliest promotion {earliest_date}.",
        inputs,
    )


# --- into limited --------------------------------------------------------------------------------


@gate_condition(PhaseKind.LIMITED, key="thresholds_defined", label="Quality thresholds defined")
def thresholds_defined(ctx: GateContext) -> Outcome:
    rows = list(
        Threshold.objects.filter(workflow=ctx.workflow, metric__in=QUALITY_METRICS)
        .order_by("pk")
        .values_list("pk", "metric", "comparator", "limit")
    )
    inputs = "; ".join("|".join(str(v) for v in row) for row in rows)
    if not rows:
        return Outcome(
            FAIL, "No threshold on error, override or acceptance rate is defined yet.", inputs
        )
    return Outcome(PASS, f"{len(rows)} quality threshold{'s' if len(rows) > 1 else ''}.", inputs)


@gate_condition(PhaseKind.LIMITED, key="readiness_all_yes", label="Readiness checklist")
def readiness_all_yes(ctx: GateContext) -> Outcome:
    """Every question answered "yes", and no "yes" contradicted by what Rollout observes
    (rollout.selectors.readiness): a contradiction blocks as a "partly" does."""
    latest: dict[str, ReadinessAnswer] = {}
    # Ordered newest first per question (the model's ordering): the first seen is the latest.
    for answer in ReadinessAnswer.objects.filter(workflow=ctx.workflow).order_by(
        "question", "-answered_at", "-id"
    ):
        latest.setdefault(answer.question, answer)
    observed = readiness_observed(ctx.workflow, now=ctx.now)
    inputs = "; ".join(
        f"{q}|{latest[q].pk}|{latest[q].answer}|{observed[q].answer}"
        for q in ReadinessQuestion.values
        if q in latest
    )
    not_yes = [
        (q, latest.get(q.value))
        for q in ReadinessQuestion
        if latest.get(q.value) is None or latest[q.value].answer != ReadinessAnswerValue.YES
    ]
    contradicted = [
        (q, observed[q.value])
        for q in ReadinessQuestion
        if q.value in latest and observed[q.value].contradicts(latest[q.value].answer)
    ]
    if not not_yes and not contradicted:
        return Outcome(PASS, "All nine readiness questions are answered “yes”.", inputs)
    reasons = []
    if not_yes:
        parts = [
            f"{q.label} ({answer.get_answer_display().lower() if answer else 'not answered'})"
            for q, answer in not_yes
        ]
        reasons.append("Not yet “yes”: " + "; ".join(parts))
    if contradicted:
        parts = [f"{q.label} (observed: {seen.summary})" for q, seen in contradicted]
        reasons.append("Declared “yes”, contradicted by what Rollout observes: " + "; ".join(parts))
    return Outcome(FAIL, " ".join(reasons), inputs)


def _cohort_outcome(ctx: GateContext, kind: str) -> Outcome:
    rows = list(
        Cohort.objects.filter(workflow=ctx.workflow, enrolled_phase=kind)
        .order_by("pk")
        .values_list("pk", "name", "memberships__user_id")
    )
    inputs = "; ".join("|".join(str(v) for v in row) for row in rows)
    with_members = sorted({name for _, name, member in rows if member is not None})
    phase_label = "limited" if kind == PhaseKind.LIMITED else "broad"
    if not rows:
        return Outcome(FAIL, f"No cohort is enrolled at the {phase_label} roll-out.", inputs)
    if not with_members:
        return Outcome(
            FAIL, f"The cohorts enrolled at the {phase_label} roll-out have no members.", inputs
        )
    return Outcome(PASS, f"Enrolled with members: {_names(with_members)}.", inputs)


@gate_condition(PhaseKind.LIMITED, key="cohort_enrolled", label="Cohort enrolled")
def cohort_enrolled(ctx: GateContext) -> Outcome:
    return _cohort_outcome(ctx, PhaseKind.LIMITED)


# --- into broad ----------------------------------------------------------------------------------


@gate_condition(PhaseKind.BROAD, key="review_cadence", label="Review cadence set")
def review_cadence(ctx: GateContext) -> Outcome:
    days = ctx.workflow.review_cadence_days
    if not days:
        return Outcome(FAIL, "No review cadence is set.", "")
    return Outcome(PASS, f"Reviewed every {days} days.", str(days))


@gate_condition(PhaseKind.BROAD, key="cohort_enrolled_broad", label="Cohort enrolled for broad")
def cohort_enrolled_broad(ctx: GateContext) -> Outcome:
    return _cohort_outcome(ctx, PhaseKind.BROAD)


# --- into steady ---------------------------------------------------------------------------------


@gate_condition(PhaseKind.STEADY, key="first_review_scheduled", label="First review scheduled")
def first_review_scheduled(ctx: GateContext) -> Outcome:
    due = ctx.workflow.next_review_due
    inputs = due.isoformat() if due else ""
    if due is None:
        return Outcome(FAIL, "No first review is scheduled.", inputs)
    if due <= timezone.localdate(ctx.now):
        return Outcome(FAIL, f"The review date {due.isoformat()} is not in the future.", inputs)
    return Outcome(PASS, f"First review due {due.isoformat()}.", inputs)
