"""Reading a workflow's thresholds, and writing them out as sentences people can check."""

from django.db.models import QuerySet

from accounts.selectors import organisation_get
from rollout.lib.numbers import format_money
from rollout.models import (
    COST_METRICS,
    QUALITY_METRICS,
    SOURCE_METRICS,
    BreachAction,
    Comparator,
    Metric,
    Threshold,
    Workflow,
)
from rollout.models.threshold import RATE_METRICS, ThresholdScope

_SCOPE_WORDS = {ThresholdScope.WORKFLOW: "whole workflow", ThresholdScope.PER_COHORT: "each cohort"}


def threshold_list_for_workflow(workflow: Workflow) -> QuerySet[Threshold]:
    return (
        Threshold.objects.filter(workflow=workflow)
        .select_related("source", "outcome_metric")
        .order_by("metric", "id")
    )


def threshold_get_for_workflow(workflow: Workflow, threshold_id: int) -> Threshold:
    """One threshold of this workflow; Threshold.DoesNotExist for another workflow's."""
    return Threshold.objects.get(pk=threshold_id, workflow=workflow)


def has_quality_threshold(workflow: Workflow) -> bool:
    """Rule 2: at least one threshold on a quality metric (needed before `limited`)."""
    return Threshold.objects.filter(workflow=workflow, metric__in=QUALITY_METRICS).exists()


def is_rate(metric: str) -> bool:
    return metric in RATE_METRICS


def format_threshold_value(metric: str, value: float | None, currency: str = "") -> str:
    """A stored value in the unit people read: rates as percentages, latency in milliseconds,
    costs in the organisation's currency (looked up unless `currency` is given)."""
    if value is None:
        return "—"
    if metric in COST_METRICS:
        return format_money(value, currency or organisation_get().currency)
    if metric == Metric.IMPACT:
        return f"{round(value, 3):g}"  # in the outcome metric's unit (threshold_sentence)
    if is_rate(metric):
        return f"{round(value * 100, 3):g}%"
    return f"{round(value, 3):g} ms"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _impact_sentence(threshold: Threshold) -> str:
    """E.g. "AI better than holdout by at least 10 s on Handle time, with 95% confidence, over
    14 days, each cohort → pause the roll-out"."""
    outcome = threshold.outcome_metric
    unit = f" {outcome.unit}" if outcome and outcome.unit else ""
    limit = f"{round(threshold.limit, 3):g}{unit}"
    text = (
        f"AI better than holdout by at least {limit} on "
        f"{outcome.label if outcome else 'an outcome'}, with 95% confidence, "
        f"over {_plural(threshold.window_days, 'day')}, "
        f"{_SCOPE_WORDS[ThresholdScope(threshold.scope)]}"
    )
    return f"{text} → {BreachAction(threshold.action).label.lower()}"


def threshold_sentence(threshold: Threshold, currency: str = "") -> str:
    """E.g. "Error rate at most 2% (marginal to 3%) over 7 days, min 200 cases, whole workflow →
    pause the roll-out"."""
    metric = Metric(threshold.metric)
    if metric == Metric.IMPACT:
        return _impact_sentence(threshold)
    # The unit is in the value ("800 ms"), so the metric's "(ms)" would say it twice.
    text = f"{metric.label.removesuffix(' (ms)')} {Comparator(threshold.comparator).label} "
    text += format_threshold_value(metric, threshold.limit, currency)
    if threshold.marginal_limit is not None:
        edge = format_threshold_value(metric, threshold.marginal_limit, currency)
        text += f" (marginal to {edge})"
    if metric == Metric.DAILY_COST:
        text += " on its highest day"
    text += f" over {_plural(threshold.window_days, 'day')}"
    text += f", min {_plural(threshold.min_sample, 'case')}"
    if metric in SOURCE_METRICS:
        source = threshold.source
        text += f", data source “{source.name}”" if source is not None else ", all data sources"
    else:
        text += f", {_SCOPE_WORDS[ThresholdScope(threshold.scope)]}"
    return f"{text} → {BreachAction(threshold.action).label.lower()}"
