"""Drift: is a cohort getting worse than it was when the phase began?

For each cohort, the latest window (the last DRIFT_WINDOW_DAYS days, today included) is compared
with the phase's baseline: the first full window after the phase began — or after the AI itself
last changed (rule 9 restarts it, see Phase.baseline_start). The checks: the quality rates, the
negative-feedback share and adoption (active people ÷ members) by a two-proportion z-test,
invocations per active person by a rate-ratio test, latency by a Mann–Whitney shift test on the
histograms. "Degrading" needs both significance and a material change, and the row says the
numbers that show it.

Drift speaks: a cohort turning degrading opens a DriftEpisode and tells the owner once (in the app
and by email), is an activity entry (which reaches webhooks), and opens an escalation when the plan
says so (Workflow.drift_opens_escalation); its recovery closes the episode and is told too. The
workflow's row is locked while it is checked, so concurrent checks tell the owner once.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import EmailCategory
from rollout.lib.numbers import format_count, format_number, format_percent, format_significance
from rollout.lib.stats import (
    is_degrading_latency,
    is_degrading_rate,
    is_degrading_rate_ratio,
    latency_shift_test,
    rate_ratio_test,
    two_proportion_test,
)
from rollout.models import (
    IN_PROGRESS,
    Cohort,
    CohortDrift,
    DriftEpisode,
    DriftStatus,
    EscalationSource,
    Metric,
    Phase,
    PhaseKind,
    Severity,
    Workflow,
)
from rollout.selectors.feedback import feedback_counts
from rollout.selectors.usage import UsageCounts, usage_window
from rollout.services.activity import activity_record
from rollout.services.escalations import escalation_open
from rollout.services.notifications import notification_send

DRIFT_WINDOW_DAYS = 7
MIN_SAMPLE = 30
# Adoption's trials are people, fewer than cases: a cohort of 5 can show a collapse.
MIN_MEMBERS = 5
MIN_FEEDBACK = 20
LIVE = (PhaseKind.LIMITED, PhaseKind.BROAD, PhaseKind.STEADY)
INVOCATIONS_PER_USER = "invocations_per_user"
VERB_ONSET = "drift detected in"
VERB_RECOVERED = "drift recovered in"


@dataclass(frozen=True)
class RateCheck:
    metric: str
    label: str
    higher_is_worse: bool
    phases: tuple[str, ...]
    min_sample: int = MIN_SAMPLE
    unit: str = "cases"


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
    RateCheck(Metric.ADOPTION_RATE, "Adoption", False, LIVE, MIN_MEMBERS, "members"),
    RateCheck(
        Metric.NEGATIVE_FEEDBACK_SHARE,
        "Negative-feedback share",
        True,
        LIVE,
        MIN_FEEDBACK,
        "feedback reports",
    ),
)
LATENCY = Metric.P95_LATENCY_MS
METRIC_LABELS = {c.metric: c.label for c in RATE_CHECKS} | {
    LATENCY: "Latency",
    INVOCATIONS_PER_USER: "Invocations per active person",
}


@dataclass(frozen=True)
class Window:
    """One window's numbers for one cohort: the usage rollups and its feedback."""

    usage: UsageCounts
    feedback: tuple[int, int]  # (not helpful, all)


# metric → (successes, trials) of a window
_PARTS: dict[str, Callable[[Window], tuple[int, int]]] = {
    Metric.OVERRIDE_RATE: lambda w: (w.usage.overridden, w.usage.outcomes),
    Metric.ERROR_RATE: lambda w: (w.usage.errors, w.usage.invocations),
    Metric.ACCEPTANCE_RATE: lambda w: (w.usage.accepted, w.usage.outcomes),
    Metric.SHADOW_AGREEMENT_RATE: lambda w: (w.usage.agreed, w.usage.shadow_compared),
    Metric.ADOPTION_RATE: lambda w: (min(w.usage.active_users, w.usage.members), w.usage.members),
    Metric.NEGATIVE_FEEDBACK_SHARE: lambda w: w.feedback,
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


def _rate_result(check: RateCheck, base: Window, cur: Window, windows) -> DriftResult:
    (b_succ, b_n), (c_succ, c_n) = _PARTS[check.metric](base), _PARTS[check.metric](cur)
    if b_n < check.min_sample or c_n < check.min_sample:
        return DriftResult(
            check.metric,
            DriftStatus.INSUFFICIENT_DATA,
            baseline_sample=b_n,
            current_sample=c_n,
            explanation=f"{check.label}: {b_n} baseline and {c_n} recent {check.unit}; "
            f"{check.min_sample} of each are needed.",
        )
    test = two_proportion_test(b_succ, b_n, c_succ, c_n)
    degrading = is_degrading_rate(test, higher_is_worse=check.higher_is_worse)
    (bs, be), (cs, ce) = windows
    unit = check.unit
    baseline = f"{format_percent(test.p_a)} ({format_count(b_n)} {unit}, {_fmt_days(bs, be)})"
    recent = f"{format_percent(test.p_b)} ({format_count(c_n)} {unit}, {_fmt_days(cs, ce)})"
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


def _use_result(base: UsageCounts, cur: UsageCounts, windows) -> DriftResult:
    """Invocations per active person: do the people who still use it use it less?"""
    b_people, c_people = base.active_users, cur.active_users
    if base.invocations < MIN_SAMPLE or cur.invocations < MIN_SAMPLE or min(b_people, c_people) < 3:
        return DriftResult(
            INVOCATIONS_PER_USER,
            DriftStatus.INSUFFICIENT_DATA,
            baseline_sample=base.invocations,
            current_sample=cur.invocations,
            explanation=f"Invocations per active person: {base.invocations} baseline and "
            f"{cur.invocations} recent invocations, by {b_people} and {c_people} people; "
            f"{MIN_SAMPLE} invocations by 3 people of each are needed.",
        )
    test = rate_ratio_test(base.invocations, b_people, cur.invocations, c_people)
    degrading = is_degrading_rate_ratio(test)
    (bs, be), (cs, ce) = windows
    text = (
        f"Invocations per active person {format_number(test.rate_a, 1)} ({b_people} people, "
        f"{_fmt_days(bs, be)}) → {format_number(test.rate_b, 1)} ({c_people} people, "
        f"{_fmt_days(cs, ce)}); {format_significance(test.p_value)}."
    )
    return DriftResult(
        INVOCATIONS_PER_USER,
        DriftStatus.DEGRADING if degrading else DriftStatus.STABLE,
        test.rate_a,
        test.rate_b,
        base.invocations,
        cur.invocations,
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
    """Check every cohort of the workflow against the baseline of the phase in progress; tell
    the owner when a cohort starts degrading, and when it recovers."""
    now = now or timezone.now()
    with transaction.atomic():
        # Locked: two checks at once must not both see a cohort turn degrading and both tell.
        workflow = Workflow.objects.select_for_update().select_related("owner").get(pk=workflow.pk)
        phase = Phase.objects.filter(workflow=workflow, status__in=IN_PROGRESS).first()
        if phase is None or phase.kind == PhaseKind.AUDIT:
            CohortDrift.objects.filter(workflow=workflow).delete()
            # Nothing is measured any more: an episode in progress ends without a verdict.
            DriftEpisode.objects.filter(workflow=workflow, ended_at__isnull=True).update(
                ended_at=now, recovery="No phase is in progress: drift is not measured."
            )
            return []
        base_window = baseline_window(phase)
        today = timezone.localdate(now)
        current = (today - timedelta(days=DRIFT_WINDOW_DAYS - 1), today)
        cohorts = list(Cohort.objects.filter(workflow=workflow).order_by("name"))
        open_episodes = {
            e.cohort_id: e
            for e in DriftEpisode.objects.filter(workflow=workflow, ended_at__isnull=True)
        }
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
            _speak(workflow, cohort, results, open_episodes.get(cohort.pk), now)
        keep = [row.pk for row in rows]
        CohortDrift.objects.filter(workflow=workflow).exclude(pk__in=keep).delete()
    return rows


def _speak(
    workflow: Workflow,
    cohort: Cohort,
    results: list[DriftResult],
    episode: DriftEpisode | None,
    now: datetime,
) -> None:
    """Open an episode (and tell) on the turn to degrading; close it (and tell) on recovery."""
    degrading = [r for r in results if r.status == DriftStatus.DEGRADING]
    if degrading and episode is None:
        _onset(workflow, cohort, degrading, now)
    elif not degrading and episode is not None:
        _recovery(workflow, cohort, episode, results, now)
    elif degrading and episode is not None:
        metrics = [r.metric for r in degrading]
        if metrics != episode.metrics:
            # Still one episode: which metrics degrade may change while it lasts.
            episode.metrics = metrics
            episode.explanation = "\n".join(r.explanation for r in degrading)
            episode.save(update_fields=["metrics", "explanation"])


def _usage_url(workflow: Workflow) -> str:
    return reverse("workflow_usage", kwargs={"slug": workflow.slug})


def _onset(workflow: Workflow, cohort: Cohort, degrading: list[DriftResult], now: datetime) -> None:
    explanation = "\n".join(r.explanation for r in degrading)
    DriftEpisode.objects.create(
        workflow=workflow,
        cohort=cohort,
        started_at=now,
        metrics=[r.metric for r in degrading],
        explanation=explanation,
    )
    labels = ", ".join(METRIC_LABELS.get(r.metric, r.metric).lower() for r in degrading)
    activity_record(
        workflow=workflow,
        actor=None,
        verb=VERB_ONSET,
        target=f"cohort {cohort.name}",
        note=explanation,
    )
    title = f"{workflow.name}: “{cohort.name}” is degrading ({labels})"
    notification_send(
        recipient=workflow.owner,
        workflow=workflow,
        title=title,
        body=explanation,
        url=_usage_url(workflow),
        email=EmailCategory.UPDATES,
    )
    if workflow.drift_opens_escalation:
        escalation_open(
            workflow=workflow,
            title=title,
            source=EscalationSource.DRIFT,
            severity=Severity.HIGH,
            description=explanation[:4000],
        )


def _recovery(
    workflow: Workflow,
    cohort: Cohort,
    episode: DriftEpisode,
    results: list[DriftResult],
    now: datetime,
) -> None:
    stable = [r for r in results if r.status == DriftStatus.STABLE]
    recovery = (
        "\n".join(r.explanation for r in stable if r.metric in episode.metrics)
        or "Not enough data to judge any more (the baseline restarted, or use fell off)."
    )
    episode.ended_at = now
    episode.recovery = recovery
    episode.save(update_fields=["ended_at", "recovery"])
    activity_record(
        workflow=workflow,
        actor=None,
        verb=VERB_RECOVERED,
        target=f"cohort {cohort.name}",
        note=recovery,
    )
    notification_send(
        recipient=workflow.owner,
        workflow=workflow,
        title=f"{workflow.name}: “{cohort.name}” is no longer degrading",
        body=recovery,
        url=_usage_url(workflow),
        email=EmailCategory.UPDATES,
    )


def _cohort_results(
    workflow: Workflow,
    cohort: Cohort,
    phase: Phase,
    base_window: tuple[date, date] | None,
    current: tuple[date, date],
) -> list[DriftResult]:
    checks = [c for c in RATE_CHECKS if phase.kind in c.phases]
    use = [INVOCATIONS_PER_USER] if phase.kind in LIVE else []
    metrics = [c.metric for c in checks] + use + [LATENCY]
    if base_window is None or base_window[1] >= current[0]:
        until = base_window[1] if base_window else None
        reason = (
            f"The baseline window runs until {until:%-d %b}; drift is measured once a full "
            f"window has followed it."
            if until
            else "The phase has not started."
        )
        return [DriftResult(m, DriftStatus.INSUFFICIENT_DATA, explanation=reason) for m in metrics]
    base, cur = (
        Window(
            usage_window(workflow, start=start, end=end, scope=cohort),
            feedback_counts(workflow, start=start, end=end, scope=cohort),
        )
        for start, end in (base_window, current)
    )
    windows = (base_window, current)
    uses = [_use_result(base.usage, cur.usage, windows)] if use else []
    return (
        [_rate_result(c, base, cur, windows) for c in checks]
        + uses
        + [_latency_result(base.usage, cur.usage, windows)]
    )


def drift_evaluate_all(*, now: datetime | None = None) -> int:
    count = 0
    for workflow in Workflow.objects.filter(phases__status__in=IN_PROGRESS).distinct():
        drift_evaluate_workflow(workflow=workflow, now=now)
        count += 1
    return count
