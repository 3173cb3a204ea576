"""The autonomy ladder's gates (issue 18 §2): what moving an enrolment down the review ladder
needs, as a checklist like a promotion's (rollout.gates.registry's Check), with a fingerprint of
the inputs so an approval lapses when they change.

* every → sample: the cohort's **override + edit rate** — (overridden + edited) ÷ decisions
  (accepted + edited + overridden) from the rollups — judged against the workflow's
  override-rate threshold (its limit, marginal band, window and minimum sample, applied to the
  combined rate, which is the stricter reading), or, without one, the default below; **and** the
  shadow phase's final agreement verdict: the last evaluation of a shadow agreement threshold
  made before shadow mode ended, which must be a pass.
* sample → none, and a lower sample rate: the **reviewed error rate** threshold's current verdict
  (rollout.services.evaluation keeps it) in the cohort's scope must pass.

Moving up (more review) has no gate: safety never waits (rollout.services.autonomy).
`inputs` are verdicts, not the values: an approval lapses when a verdict changes, not with
every new event.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from django.utils import timezone

from rollout.gates.registry import Check, Checklist
from rollout.lib.numbers import format_count
from rollout.models import (
    Cohort,
    Comparator,
    Metric,
    Phase,
    PhaseKind,
    ReviewLevel,
    Threshold,
    ThresholdEvaluation,
    ThresholdScope,
    ThresholdStatus,
    Verdict,
)
from rollout.selectors.thresholds import format_threshold_value
from rollout.selectors.usage import usage_window

# Without an override-rate threshold on the workflow: at most 10 % of decisions overridden or
# edited over the last 14 days, over at least 200 decisions.
DEFAULT_WINDOW_DAYS = 14
DEFAULT_LIMIT = 0.10
DEFAULT_MIN_SAMPLE = 200

KEY_OVERRIDE_EDIT = "override_edit_rate"
KEY_SHADOW = "shadow_agreement_verdict"
KEY_REVIEWED = "reviewed_error_rate"
LABEL_OVERRIDE_EDIT = "Override + edit rate"
LABEL_SHADOW = "Shadow phase's final agreement verdict"
LABEL_REVIEWED = "Reviewed error rate"


@dataclass(frozen=True)
class LadderGate(Checklist):
    """The checklist of one step down the ladder, shaped like a promotion Gate for the page."""

    cohort: Cohort
    from_level: str
    to_level: str
    checks: list[Check] = field(default_factory=list)

    def _identity(self) -> list:
        return [self.cohort.pk, self.from_level, self.to_level]


def _judge(value: float | None, sample: int, *, limit: float, marginal: float | None,
           at_most: bool, min_sample: int) -> Verdict:  # fmt: skip
    if value is None or sample < min_sample:
        return Verdict.INSUFFICIENT_DATA
    within = (lambda edge: value <= edge) if at_most else (lambda edge: value >= edge)
    if within(limit):
        return Verdict.PASS
    if marginal is not None and within(marginal):
        return Verdict.MARGINAL
    return Verdict.FAIL


def _override_edit_check(cohort: Cohort) -> Check:
    threshold = (
        Threshold.objects.filter(
            workflow_id=cohort.workflow_id,
            metric=Metric.OVERRIDE_RATE,
            comparator=Comparator.AT_MOST,
        )
        .order_by("limit", "pk")
        .first()
    )
    if threshold is None:
        days, limit, marginal, min_sample = (
            DEFAULT_WINDOW_DAYS, DEFAULT_LIMIT, None, DEFAULT_MIN_SAMPLE,
        )  # fmt: skip
        source = "the default limit (no override-rate threshold is defined)"
    else:
        days, limit = threshold.window_days, threshold.limit
        marginal, min_sample = threshold.marginal_limit, threshold.min_sample
        source = "the workflow's override-rate threshold"
    today = timezone.localdate()
    counts = usage_window(
        cohort.workflow, start=today - timedelta(days=days - 1), end=today, scope=cohort
    )
    decisions = counts.outcomes
    changed = counts.overridden + counts.edited
    value = changed / decisions if decisions else None
    verdict = _judge(
        value, decisions, limit=limit, marginal=marginal, at_most=True, min_sample=min_sample
    )
    shown_limit = format_threshold_value(Metric.OVERRIDE_RATE, limit)
    if verdict == Verdict.INSUFFICIENT_DATA:
        reason = (
            f"{format_count(decisions)} of the {format_count(min_sample)} decisions needed in the "
            f"last {days} days ({source}: at most {shown_limit})."
        )
    else:
        shown = format_threshold_value(Metric.OVERRIDE_RATE, value)
        reason = (
            f"{shown} of {format_count(decisions)} decisions overridden or edited in the last "
            f"{days} days; {source}: at most {shown_limit}."
        )
    return Check(KEY_OVERRIDE_EDIT, LABEL_OVERRIDE_EDIT, verdict, reason, str(verdict))


def _scope_key(threshold: Threshold, cohort: Cohort) -> str:
    return str(cohort.pk) if threshold.scope == ThresholdScope.PER_COHORT else ""


def _shadow_check(cohort: Cohort) -> Check:
    shadow = Phase.objects.filter(workflow_id=cohort.workflow_id, kind=PhaseKind.SHADOW).first()
    if shadow is None or shadow.actual_end is None:
        return Check(
            KEY_SHADOW,
            LABEL_SHADOW,
            Verdict.INSUFFICIENT_DATA,
            "Shadow mode has not ended, so it has no final agreement verdict.",
            "no-shadow-end",
        )
    thresholds = list(
        Threshold.objects.filter(
            workflow_id=cohort.workflow_id, metric=Metric.SHADOW_AGREEMENT_RATE
        ).order_by("pk")
    )
    if not thresholds:
        return Check(
            KEY_SHADOW,
            LABEL_SHADOW,
            Verdict.FAIL,
            "No shadow agreement threshold was defined, so shadow mode left no verdict to rely on.",
            "no-threshold",
        )
    finals = []
    for threshold in thresholds:
        final = (
            ThresholdEvaluation.objects.filter(
                threshold=threshold,
                scope_key=_scope_key(threshold, cohort),
                evaluated_at__lte=shadow.actual_end,
            )
            .order_by("-evaluated_at", "-id")
            .first()
        )
        finals.append((threshold, final))
    missing = [t for t, final in finals if final is None]
    inputs = "; ".join(f"{t.pk}|{f.pk if f else '-'}|{f.verdict if f else '-'}" for t, f in finals)
    if missing:
        return Check(
            KEY_SHADOW,
            LABEL_SHADOW,
            Verdict.INSUFFICIENT_DATA,
            "The shadow agreement threshold was never evaluated during shadow mode.",
            inputs,
        )
    worst = _worst([final.verdict for _, final in finals])
    reasons = " ".join(final.reason for _, final in finals)
    return Check(KEY_SHADOW, LABEL_SHADOW, worst, f"At the end of shadow mode: {reasons}", inputs)


def _worst(verdicts: list[str]) -> Verdict:
    for verdict in (Verdict.FAIL, Verdict.INSUFFICIENT_DATA, Verdict.MARGINAL):
        if verdict in verdicts:
            return verdict
    return Verdict.PASS


def _reviewed_check(cohort: Cohort) -> Check:
    thresholds = list(
        Threshold.objects.filter(
            workflow_id=cohort.workflow_id, metric=Metric.REVIEWED_ERROR_RATE
        ).order_by("pk")
    )
    if not thresholds:
        return Check(
            KEY_REVIEWED,
            LABEL_REVIEWED,
            Verdict.FAIL,
            "No reviewed error rate threshold is defined: add one on the Thresholds page.",
            "no-threshold",
        )
    statuses = {
        (s.threshold_id, s.scope_key): s
        for s in ThresholdStatus.objects.filter(threshold__in=thresholds)
    }
    found = [(t, statuses.get((t.pk, _scope_key(t, cohort)))) for t in thresholds]
    inputs = "; ".join(f"{t.pk}|{s.verdict if s else '-'}" for t, s in found)
    if any(s is None for _, s in found):
        return Check(
            KEY_REVIEWED,
            LABEL_REVIEWED,
            Verdict.INSUFFICIENT_DATA,
            "The reviewed error rate threshold has not been evaluated yet.",
            inputs,
        )
    verdict = _worst([s.verdict for _, s in found])
    return Check(
        KEY_REVIEWED, LABEL_REVIEWED, verdict, " ".join(s.reason for _, s in found), inputs
    )


def autonomy_gate(cohort: Cohort, *, to_level: str) -> LadderGate:
    """The checklist for moving `cohort` from its level down to `to_level` (or, at the same
    level `sample`, to a lower sample rate)."""
    checks = []
    if to_level == ReviewLevel.SAMPLE and cohort.review_level == ReviewLevel.EVERY:
        checks = [_override_edit_check(cohort), _shadow_check(cohort)]
    else:
        checks = [_reviewed_check(cohort)]
    return LadderGate(cohort, str(cohort.review_level), str(to_level), checks)
