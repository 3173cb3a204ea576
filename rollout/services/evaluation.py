"""Evaluating quality thresholds against the rollups, and acting on a breach (rule 4).

Each threshold is judged over its window (the last `window_days` days, today included; from the
last change of the AI configuration when that is later, rule 9) for the whole workflow or for each
cohort. The current verdict per scope lives in ThresholdStatus; a change of verdict (and at most
hourly otherwise) is appended to ThresholdEvaluation as history. A breach is
the turn from "not failing" to "failing": it is acted on then, once, under a lock on the status
row, whatever the number of evaluations (and concurrent evaluators) while it lasts.
"""

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import formats, timezone

from accounts.models import EmailCategory
from core.dates import day_bounds
from rollout.lib.numbers import format_count
from rollout.models import (
    COST_METRICS,
    SOURCE_METRICS,
    BreachAction,
    Cohort,
    Comparator,
    EscalationSource,
    Metric,
    Severity,
    Threshold,
    ThresholdEvaluation,
    ThresholdStatus,
    Verdict,
    Workflow,
)
from rollout.models.threshold import ThresholdScope
from rollout.selectors.ai_config import ai_config_restart
from rollout.selectors.costs import cost_measure
from rollout.selectors.escalations import escalation_rate_measure
from rollout.selectors.feedback import feedback_measure
from rollout.selectors.impact import impact_judge
from rollout.selectors.output_reviews import reviewed_error_measure
from rollout.selectors.source_health import source_rate_counts
from rollout.selectors.thresholds import format_threshold_value, threshold_sentence
from rollout.selectors.usage import ALL, usage_window_since
from rollout.services.activity import activity_record
from rollout.services.ai_config import ai_config_detect_unannounced
from rollout.services.drift import drift_evaluate_all
from rollout.services.escalations import escalation_open
from rollout.services.incidents import incident_open
from rollout.services.notifications import notification_send
from rollout.services.phase_control import phase_pause_on_breach
from rollout.services.source_health import source_statuses_judge_all, source_statuses_refresh
from rollout.services.usage_rollup import usage_rollup_pending

HISTORY_EVERY = timedelta(hours=1)
MSG_INSUFFICIENT = "{sample} of the {needed} cases needed in the last {days} days."
MSG_NO_DATA = "No cases in the last {days} days."
MSG_SINCE_CHANGE = "Counted since the configuration changed on {when}."


@dataclass(frozen=True)
class Judgement:
    verdict: Verdict
    observed: float | None
    sample: int
    reason: str


def judge(
    threshold: Threshold, observed: float | None, sample: int, missing: str = ""
) -> Judgement:
    """The verdict for one observed value. Exactly at the limit passes; inside the marginal band
    (beyond the limit, up to and including its edge) is marginal; below the minimum sample is
    insufficient data, never a silent pass. `missing` says why a measure has no value (e.g.
    costs unknown), when that is not the sample's size."""
    metric = Metric(threshold.metric)
    days = threshold.window_days
    if observed is None and missing and sample >= threshold.min_sample:
        return Judgement(Verdict.INSUFFICIENT_DATA, None, sample, missing)
    if observed is None or sample < threshold.min_sample:
        reason = (
            MSG_INSUFFICIENT.format(
                sample=format_count(sample), needed=format_count(threshold.min_sample), days=days
            )
            if sample
            else MSG_NO_DATA.format(days=days)
        )
        return Judgement(Verdict.INSUFFICIENT_DATA, observed, sample, reason)
    at_most = threshold.comparator == Comparator.AT_MOST

    def within(edge: float) -> bool:
        return observed <= edge if at_most else observed >= edge

    value = format_threshold_value(metric, observed)
    limit = format_threshold_value(metric, threshold.limit)
    word = "at most" if at_most else "at least"
    cases = format_count(sample)
    if within(threshold.limit):
        verdict, reason = Verdict.PASS, f"{value} over {cases} cases: {word} {limit}."
    elif threshold.marginal_limit is not None and within(threshold.marginal_limit):
        edge = format_threshold_value(metric, threshold.marginal_limit)
        verdict = Verdict.MARGINAL
        reason = f"{value} over {cases} cases: past {limit}, inside the marginal band to {edge}."
    else:
        verdict, reason = Verdict.FAIL, f"{value} over {cases} cases: should be {word} {limit}."
    return Judgement(verdict, observed, sample, reason)


def window_for(
    threshold: Threshold, now: datetime, restart: datetime | None = None
) -> tuple[datetime, datetime]:
    """The threshold's last `window_days` days, today included; when the AI configuration
    changed within them (`restart`, rule 9), from the first whole hour after the change: events
    before it no longer count toward the verdict (the rollups' finest grain is an hour)."""
    today = timezone.localdate(now)
    start, _ = day_bounds(today - timedelta(days=threshold.window_days - 1))
    if restart is not None:
        start = max(start, _hour_ceiling(restart))
    return min(start, now), now


def _hour_ceiling(at: datetime) -> datetime:
    floor = at.replace(minute=0, second=0, microsecond=0)
    return floor if floor == at else floor + timedelta(hours=1)


def _since_change(judgement: Judgement, restart: datetime) -> Judgement:
    when = formats.date_format(timezone.localtime(restart), "j F Y, H:i")
    return replace(judgement, reason=f"{judgement.reason} {MSG_SINCE_CHANGE.format(when=when)}")


def _scopes(threshold: Threshold, cohorts: list[Cohort]) -> list[Cohort | str]:
    # A data source serves the whole workflow: its reports belong to no cohort.
    if threshold.metric in SOURCE_METRICS:
        return [ALL]
    return cohorts if threshold.scope == ThresholdScope.PER_COHORT else [ALL]


def thresholds_evaluate_workflow(
    *, workflow: Workflow, now: datetime | None = None
) -> list[ThresholdStatus]:
    """Evaluate every threshold of the workflow in every scope; act on new breaches."""
    now = now or timezone.now()
    thresholds = list(
        Threshold.objects.filter(workflow=workflow).select_related("outcome_metric").order_by("pk")
    )
    # A gate holding k impact conditions judges each at α/k (rollout.selectors.impact).
    impact_conditions = sum(1 for t in thresholds if t.metric == Metric.IMPACT)
    if not thresholds:
        return []
    cohorts = list(Cohort.objects.filter(workflow=workflow).order_by("name"))
    restart = ai_config_restart(workflow)
    statuses = []
    for threshold in thresholds:
        threshold.workflow = workflow
        start, end = window_for(threshold, now, restart)
        restarted = restart is not None and start > window_for(threshold, now)[0]
        recorded = []
        for scope in _scopes(threshold, cohorts):
            if threshold.metric == Metric.IMPACT:
                judgement = _impact(threshold, start, end, scope, impact_conditions)
            else:
                judgement = judge(threshold, *_measure(threshold, start, end, scope))
            if restarted:
                judgement = _since_change(judgement, restart)
            cohort = scope if isinstance(scope, Cohort) else None
            recorded.append(_record(threshold, cohort, judgement, window=(start, end), now=now))
        # A scope no longer evaluated (the threshold's scope was changed) must not keep its last
        # verdict: the gate reads every status row, and a stale "fail" would block it for good.
        ThresholdStatus.objects.filter(threshold=threshold).exclude(
            pk__in=[s.pk for s in recorded]
        ).delete()
        statuses += recorded
    return statuses


def _impact(
    threshold: Threshold, start: datetime, end: datetime, scope: Cohort | str, conditions: int
) -> Judgement:
    """Impact: judged by its always-valid interval, not a value against a limit."""
    cohort = scope if isinstance(scope, Cohort) else None
    found = impact_judge(threshold, start=start, end=end, cohort=cohort, conditions=conditions)
    return Judgement(Verdict(found.verdict.value), found.observed, found.sample, found.reason)


def _measure(
    threshold: Threshold, start: datetime, end: datetime, scope: Cohort | str
) -> tuple[float | None, int] | tuple[float | None, int, str]:
    """(observed, sample) of the threshold's metric over the window in one scope; a third item
    says why there is no value when that is not the sample's size."""
    workflow = threshold.workflow
    if threshold.metric in COST_METRICS:
        return cost_measure(workflow, threshold.metric, start=start, end=end, scope=scope)
    if threshold.metric == Metric.NEGATIVE_FEEDBACK_SHARE:
        return feedback_measure(workflow, start=start, end=end, scope=scope)
    if threshold.metric in SOURCE_METRICS:
        return _source_measure(threshold, start, end)
    if threshold.metric == Metric.REVIEWED_ERROR_RATE:
        return reviewed_error_measure(workflow, start=start, end=end, scope=scope)
    # From the window's start to the hour (a configuration change may start it mid-day).
    counts = usage_window_since(workflow, since=start, end=timezone.localdate(end), scope=scope)
    if threshold.metric == Metric.ESCALATION_RATE:
        # Rule 3: escalations opened ÷ invocations, judged like the other rates.
        return escalation_rate_measure(
            workflow, start=start, end=end, scope=scope, invocations=counts.invocations
        )
    return counts.measure(threshold.metric)


def _source_measure(
    threshold: Threshold, start: datetime, end: datetime
) -> tuple[float | None, int]:
    """Input rejection or stale rate of one source (or all): rejected (or stale) ÷ all input
    reports, input events and heartbeat records alike. Judged for the whole workflow only."""
    reports, rejected, stale = source_rate_counts(
        threshold.workflow, start=start, end=end, source=threshold.source
    )
    if not reports:
        return None, 0
    share = rejected if threshold.metric == Metric.INPUT_REJECTION_RATE else stale
    return share / reports, reports


def _record(
    threshold: Threshold,
    cohort: Cohort | None,
    judgement: Judgement,
    *,
    window: tuple[datetime, datetime],
    now: datetime,
) -> ThresholdStatus:
    scope_key = str(cohort.pk) if cohort else ""
    values = {
        "cohort": cohort,
        "verdict": judgement.verdict,
        "observed": judgement.observed,
        "sample": judgement.sample,
        "reason": judgement.reason,
        "window_start": window[0],
        "window_end": window[1],
        "evaluated_at": now,
    }
    with transaction.atomic():
        status = _locked_status(threshold, scope_key, values)
        is_breach = judgement.verdict == Verdict.FAIL and status.breached_since is None
        for name, value in values.items():
            setattr(status, name, value)
        if judgement.verdict == Verdict.FAIL:
            status.breached_since = status.breached_since or now
        else:
            status.breached_since = None
        status.save()
        last = (
            ThresholdEvaluation.objects.filter(threshold=threshold, scope_key=scope_key)
            .order_by("-evaluated_at", "-id")
            .values_list("verdict", "evaluated_at")
            .first()
        )
        if (
            is_breach
            or last is None
            or last[0] != judgement.verdict
            or now - last[1] >= HISTORY_EVERY
        ):
            ThresholdEvaluation.objects.create(
                threshold=threshold, scope_key=scope_key, breach=is_breach, **values
            )
        if is_breach:
            _act_on_breach(threshold, cohort, judgement)
    return status


def _locked_status(threshold: Threshold, scope_key: str, values: dict) -> ThresholdStatus:
    """The status row, locked (created on first evaluation; a concurrent creator loses the race on
    the unique constraint and then locks the winner's row)."""
    query = ThresholdStatus.objects.select_for_update().filter(
        threshold=threshold, scope_key=scope_key
    )
    status = query.first()
    if status is not None:
        return status
    try:
        with transaction.atomic():
            return ThresholdStatus.objects.create(
                threshold=threshold, scope_key=scope_key, **values
            )
    except IntegrityError:
        return query.get()


# Breach actions that open an escalation, and at which severity.
_ESCALATING = {BreachAction.PAUSE_ROLLOUT: Severity.CRITICAL, BreachAction.ALERT: Severity.HIGH}


def _act_on_breach(threshold: Threshold, cohort: Cohort | None, judgement: Judgement) -> None:
    workflow = threshold.workflow
    where = f" for the cohort “{cohort.name}”" if cohort else ""
    sentence = threshold_sentence(threshold)
    activity_record(
        workflow=workflow,
        actor=None,
        verb="threshold breached",
        target=f"{Metric(threshold.metric).label}{where}",
        note=f"{judgement.reason} Threshold: {sentence}. What a bad output looks like: "
        f"{threshold.bad_output}",
    )
    title = f"{workflow.name}: {Metric(threshold.metric).label.lower()} breached{where}"
    body = f"{judgement.reason}\nThreshold: {sentence}."
    incident = None
    if threshold.action == BreachAction.PAUSE_ROLLOUT:
        paused = phase_pause_on_breach(
            workflow=workflow,
            reason=f"Paused automatically: {Metric(threshold.metric).label.lower()}{where} "
            f"breached its threshold. {judgement.reason}",
        )
        if paused is not None:
            title = f"{workflow.name} paused: {Metric(threshold.metric).label.lower()} breached"
            body += (
                f"\nThe {paused.get_kind_display().lower()} is paused; people get "
                f"“{workflow.fallback_mode}” output until you resume it."
            )
        # Rule 4: and an incident draft, for the cohort breached or every enrolled cohort.
        incident = incident_open(
            workflow=workflow,
            actor=None,
            title=f"{workflow.name} paused: {Metric(threshold.metric).label.lower()} breached",
            started_at=timezone.now(),
            detected_by="Rollout threshold evaluation",
            impact=judgement.reason,
            cohorts=[cohort] if cohort else workflow.cohorts.exclude(enrolled_phase=""),
            threshold=threshold,
        )
    elif threshold.action == BreachAction.BLOCK_PROMOTION:
        body += "\nPromotion to the next phase is blocked until it passes again."
    notification_send(
        recipient=workflow.owner,
        workflow=workflow,
        title=title,
        body=body,
        url=reverse("workflow_thresholds", kwargs={"slug": workflow.slug}),
        email=EmailCategory.UPDATES,
    )
    if threshold.action in _ESCALATING:
        # Rule 4: a pausing (or alerting) breach walks the escalation path until someone acts.
        escalation_open(
            workflow=workflow,
            title=title,
            source=EscalationSource.BREACH,
            severity=_ESCALATING[threshold.action],
            threshold=threshold,
            incident=incident,
            description=body[:4000],
        )


def thresholds_evaluate_all(*, now: datetime | None = None) -> int:
    """The scheduled sweep: every workflow with thresholds. Returns the number evaluated."""
    count = 0
    for workflow in Workflow.objects.filter(thresholds__isnull=False).distinct().with_owner():
        thresholds_evaluate_workflow(workflow=workflow, now=now)
        count += 1
    return count


def usage_refresh_pending(*, max_days: int | None = None) -> int:
    """Rebuild the rollups of every dirty day (or up to `max_days`), then evaluate the thresholds
    of the workflows those days belong to: fresh numbers, then verdicts. Returns days rebuilt.

    Evaluated once every claimed day is rebuilt, not per batch: a window judged half-rolled-up
    would record a verdict (and could act on a breach) that the next batch contradicts."""
    run = usage_rollup_pending(max_days=max_days)
    if run.workflow_ids:
        for workflow in Workflow.objects.filter(pk__in=run.workflow_ids).with_owner():
            source_statuses_refresh(workflow=workflow)
            # Rule 9 first: an unannounced change restarts the windows judged next.
            ai_config_detect_unannounced(workflow=workflow)
            thresholds_evaluate_workflow(workflow=workflow)
    return run.days


def thresholds_evaluate_workflow_id(*, workflow_id: int) -> int:
    """Evaluate one workflow's thresholds by id (gone: nothing). Returns the statuses recorded."""
    workflow = Workflow.objects.with_owner().filter(pk=workflow_id).first()
    if workflow is None:
        return 0
    return len(thresholds_evaluate_workflow(workflow=workflow))


def evaluation_sweep() -> int:
    """The periodic sweep: every threshold (windows move with the clock, not only with new
    events), then every cohort's drift. Returns the thresholds evaluated."""
    count = thresholds_evaluate_all()
    drift_evaluate_all()
    source_statuses_judge_all()
    return count
