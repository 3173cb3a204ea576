"""Creating, changing and deleting a workflow's quality thresholds.

Values are stored as the model documents: rates as fractions 0–1, latency in milliseconds.
Rule 2: once the limited roll-out has started, a threshold added or loosened is marked
`added_after_launch` and logged as such, so nobody quietly moves the goalposts.
"""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import User
from core.errors import ApplicationError
from core.wake import wake
from rollout.models import (
    COST_METRICS,
    SOURCE_METRICS,
    BreachAction,
    Comparator,
    Metric,
    OutcomeMetric,
    Phase,
    PhaseKind,
    Threshold,
    ThresholdScope,
    Workflow,
)
from rollout.selectors.thresholds import format_threshold_value, is_rate, threshold_sentence
from rollout.services.activity import activity_record

FIELDS = (
    "metric",
    "comparator",
    "limit",
    "marginal_limit",
    "window_days",
    "min_sample",
    "scope",
    "bad_output",
    "action",
)
MAX_WINDOW_DAYS = 90

MSG_RATE_LIMIT_RANGE = "A rate's limit must be between 0% and 100%."
MSG_RATE_MARGINAL_RANGE = "A rate's marginal band edge must be between 0% and 100%."
MSG_LATENCY_LIMIT_NEGATIVE = "A latency limit is in milliseconds and cannot be negative."
MSG_LATENCY_MARGINAL_NEGATIVE = (
    "A latency marginal band edge is in milliseconds and cannot be negative."
)
MSG_COST_NEGATIVE = "A cost limit is an amount of money and cannot be negative."
MSG_COST_AT_MOST = "A cost threshold is a budget: it passes when the cost is at most the limit."
MSG_WINDOW_RANGE = "The window must be between 1 and 90 days."
MSG_MIN_SAMPLE = "The minimum sample must be at least 1 case."
MSG_MARGINAL_AT_MOST = (
    "For an 'at most' threshold the marginal band edge must be above the limit "
    "(it is where a value stops being marginal and fails)."
)
MSG_MARGINAL_AT_LEAST = (
    "For an 'at least' threshold the marginal band edge must be below the limit "
    "(it is where a value stops being marginal and fails)."
)
MSG_SOURCE_ONLY_FOR_INPUTS = (
    "A data source is chosen only for the input rejection rate and the stale input rate."
)
MSG_SOURCE_OTHER_WORKFLOW = "That data source belongs to another workflow."
MSG_SOURCE_PER_COHORT = (
    "Input rates are judged for the whole workflow: a data source's reports belong to no cohort."
)
MSG_OUTCOME_REQUIRED = "Choose the outcome metric the AI should improve."
MSG_OUTCOME_ONLY_FOR_IMPACT = "An outcome metric is chosen only for the impact metric."
MSG_OUTCOME_OTHER_WORKFLOW = "That outcome metric belongs to another workflow."
MSG_OUTCOME_ARCHIVED = "That outcome metric is archived: restore it first."
MSG_IMPACT_NO_MARGINAL = (
    "An impact threshold has no marginal band: it is marginal while its interval straddles "
    "the limit."
)
MSG_BAD_OUTPUT_REQUIRED = "Describe what a bad output looks like, so everyone recognises one."
MSG_ADDED_AFTER_LAUNCH = "Added after the limited roll-out started."
MSG_LOOSENED_AFTER_LAUNCH = "Loosened after the limited roll-out started."
MSG_DELETED_AFTER_LAUNCH = "Deleted after the limited roll-out started."

# Weakest first: moving an action towards the start of this list loosens the threshold.
_ACTION_STRENGTH = (BreachAction.ALERT, BreachAction.BLOCK_PROMOTION, BreachAction.PAUSE_ROLLOUT)


def limited_has_started(workflow: Workflow) -> bool:
    return Phase.objects.filter(
        workflow=workflow, kind=PhaseKind.LIMITED, actual_start__isnull=False
    ).exists()


def _validate(threshold: Threshold) -> None:
    """Our rules first, in words for the person filling the form; then the model's own."""
    limit, marginal = threshold.limit, threshold.marginal_limit
    _validate_impact(threshold)
    if is_rate(threshold.metric):
        if not 0 <= limit <= 1:
            raise ApplicationError(MSG_RATE_LIMIT_RANGE, field="limit")
        if marginal is not None and not 0 <= marginal <= 1:
            raise ApplicationError(MSG_RATE_MARGINAL_RANGE, field="marginal_limit")
    elif threshold.metric == Metric.P95_LATENCY_MS:
        if limit < 0:
            raise ApplicationError(MSG_LATENCY_LIMIT_NEGATIVE, field="limit")
        if marginal is not None and marginal < 0:
            raise ApplicationError(MSG_LATENCY_MARGINAL_NEGATIVE, field="marginal_limit")
    elif threshold.metric in COST_METRICS:
        if threshold.comparator != Comparator.AT_MOST:
            raise ApplicationError(MSG_COST_AT_MOST, field="comparator")
        if limit < 0:
            raise ApplicationError(MSG_COST_NEGATIVE, field="limit")
    if marginal is not None:
        if threshold.comparator == Comparator.AT_MOST and marginal <= limit:
            raise ApplicationError(MSG_MARGINAL_AT_MOST, field="marginal_limit")
        if threshold.comparator == Comparator.AT_LEAST and marginal >= limit:
            raise ApplicationError(MSG_MARGINAL_AT_LEAST, field="marginal_limit")
    if not 1 <= threshold.window_days <= MAX_WINDOW_DAYS:
        raise ApplicationError(MSG_WINDOW_RANGE, field="window_days")
    if threshold.min_sample < 1:
        raise ApplicationError(MSG_MIN_SAMPLE, field="min_sample")
    if threshold.metric in SOURCE_METRICS:
        if threshold.scope == ThresholdScope.PER_COHORT:
            raise ApplicationError(MSG_SOURCE_PER_COHORT, field="scope")
        if threshold.source is not None and threshold.source.workflow_id != threshold.workflow_id:
            raise ApplicationError(MSG_SOURCE_OTHER_WORKFLOW, field="source")
    elif threshold.source_id is not None:
        raise ApplicationError(MSG_SOURCE_ONLY_FOR_INPUTS, field="source")
    threshold.bad_output = threshold.bad_output.strip()
    if not threshold.bad_output:
        raise ApplicationError(MSG_BAD_OUTPUT_REQUIRED, field="bad_output")
    try:
        threshold.full_clean(exclude=["workflow"])
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise ApplicationError(" ".join(messages), field=field) from exc


def _validate_impact(threshold: Threshold) -> None:
    """Impact (AI vs holdout on an outcome metric): the metric is required, and only here; the
    limit is X in the metric's unit, judged by the interval (no comparator or band of its own:
    "AI better by at least X")."""
    outcome = threshold.outcome_metric
    if threshold.metric != Metric.IMPACT:
        if outcome is not None:
            raise ApplicationError(MSG_OUTCOME_ONLY_FOR_IMPACT, field="outcome_metric")
        return
    if outcome is None:
        raise ApplicationError(MSG_OUTCOME_REQUIRED, field="outcome_metric")
    # As it stands now, not as the caller's copy says (archived since the form was shown?).
    outcome = OutcomeMetric.objects.get(pk=outcome.pk)
    threshold.outcome_metric = outcome
    if outcome.workflow_id != threshold.workflow_id:
        raise ApplicationError(MSG_OUTCOME_OTHER_WORKFLOW, field="outcome_metric")
    if outcome.archived_at is not None:
        raise ApplicationError(MSG_OUTCOME_ARCHIVED, field="outcome_metric")
    if threshold.marginal_limit is not None:
        raise ApplicationError(MSG_IMPACT_NO_MARGINAL, field="marginal_limit")
    threshold.comparator = Comparator.AT_LEAST


def _source_name(source: Any) -> str:
    return source.name if source is not None else "all data sources"


def _fail_edge(limit: float, marginal: float | None) -> float:
    """Where a value starts failing: the far edge of the marginal band, or the limit."""
    return limit if marginal is None else marginal


def is_loosened(before: dict[str, Any], after: Threshold) -> bool:
    """Whether a change makes the threshold easier to pass or slower to catch a problem."""
    if before["metric"] != after.metric or before["comparator"] != after.comparator:
        return True  # a different rule altogether: treat it like a new one
    failing_direction = 1 if after.comparator == Comparator.AT_MOST else -1
    return (
        (after.limit - before["limit"]) * failing_direction > 0
        # The band widened on the failing side: values that used to fail are now marginal.
        or (
            _fail_edge(after.limit, after.marginal_limit)
            - _fail_edge(before["limit"], before["marginal_limit"])
        )
        * failing_direction
        > 0
        or after.min_sample > before["min_sample"]
        or after.window_days != before["window_days"]
        or _ACTION_STRENGTH.index(after.action) < _ACTION_STRENGTH.index(before["action"])
    )


def _display(metric: str, name: str, value: Any) -> str:
    if name in ("limit", "marginal_limit"):
        return format_threshold_value(metric, value)
    return "—" if value in (None, "") else str(value)


def _changes(before: dict[str, Any], threshold: Threshold) -> dict[str, list[str]]:
    changes = {}
    for name in FIELDS:
        old, new = before.get(name), getattr(threshold, name)
        if old != new:
            field = threshold._meta.get_field(name)
            choices = dict(field.choices or [])
            label = str(field.verbose_name)
            old_text = str(choices.get(old, _display(before.get("metric", ""), name, old)))
            changes[label] = [
                old_text,
                str(choices.get(new, _display(threshold.metric, name, new))),
            ]
    return changes


def _evaluate_after_commit(workflow: Workflow) -> None:
    """A threshold defined or changed gets its verdict at once, not at the next sweep: the gate
    and the usage page show it right away."""
    wake("rollout.tasks.evaluate_workflow", workflow.pk)


@transaction.atomic
def threshold_create(*, workflow: Workflow, actor: User, **fields: Any) -> Threshold:
    """Add a threshold. After the limited roll-out started it is marked as added after launch."""
    workflow = Workflow.objects.select_for_update().get(pk=workflow.pk)
    threshold = Threshold(workflow=workflow, **{n: fields[n] for n in FIELDS})
    threshold.source = fields.get("source")
    threshold.outcome_metric = fields.get("outcome_metric")
    _validate(threshold)
    after_launch = limited_has_started(workflow)
    threshold.added_after_launch = after_launch
    threshold.save()
    activity_record(
        workflow=workflow,
        actor=actor,
        verb="added threshold after launch" if after_launch else "added threshold",
        target=threshold_sentence(threshold),
        changes=_changes({}, threshold),
        note=MSG_ADDED_AFTER_LAUNCH if after_launch else "",
    )
    _evaluate_after_commit(workflow)
    return threshold


@transaction.atomic
def threshold_update(*, threshold: Threshold, actor: User, **fields: Any) -> Threshold:
    """Change a threshold. Loosening it after the limited roll-out started marks it."""
    workflow = Workflow.objects.select_for_update().get(pk=threshold.workflow_id)
    threshold = Threshold.objects.get(pk=threshold.pk)
    before = {name: getattr(threshold, name) for name in FIELDS}
    old_sentence = threshold_sentence(threshold)
    old_source = threshold.source
    old_outcome = threshold.outcome_metric
    for name in FIELDS:
        setattr(threshold, name, fields[name])
    if "source" in fields:
        threshold.source = fields["source"]
    if "outcome_metric" in fields:
        threshold.outcome_metric = fields["outcome_metric"]
    _validate(threshold)
    changes = _changes(before, threshold)
    if threshold.source != old_source:
        changes["source"] = [_source_name(old_source), _source_name(threshold.source)]
    if threshold.outcome_metric != old_outcome:
        changes["outcome metric"] = [str(old_outcome or "—"), str(threshold.outcome_metric or "—")]
        before["metric"] = ""  # another outcome: a different rule, loosened like a new one
    if not changes:
        return threshold
    loosened_late = limited_has_started(workflow) and is_loosened(before, threshold)
    if loosened_late:
        threshold.added_after_launch = True
    threshold.save()
    activity_record(
        workflow=workflow,
        actor=actor,
        verb="changed threshold after launch" if loosened_late else "changed threshold",
        target=old_sentence,
        changes=changes,
        note=MSG_LOOSENED_AFTER_LAUNCH if loosened_late else "",
    )
    _evaluate_after_commit(workflow)
    return threshold


@transaction.atomic
def threshold_delete(*, threshold: Threshold, actor: User) -> None:
    workflow = Workflow.objects.select_for_update().get(pk=threshold.workflow_id)
    threshold = Threshold.objects.get(pk=threshold.pk)
    sentence = threshold_sentence(threshold)
    threshold.delete()
    after_launch = limited_has_started(workflow)
    activity_record(
        workflow=workflow,
        actor=actor,
        verb="deleted threshold after launch" if after_launch else "deleted threshold",
        target=sentence,
        note=MSG_DELETED_AFTER_LAUNCH if after_launch else "",
    )
    _evaluate_after_commit(workflow)
