"""Threshold breaches, and the pauses of a roll-out (a breach's, or by hand)."""

from django.db.models import QuerySet
from django.urls import reverse

from rollout.lib.numbers import format_count
from rollout.models import (
    ActivityEntry,
    BreachAction,
    Comparator,
    Metric,
    ThresholdEvaluation,
)
from rollout.selectors.evidence.entries import EvidenceEntry, timeline_rows
from rollout.selectors.evidence.kinds.text import NOBODY
from rollout.selectors.thresholds import format_threshold_value

VERB_PAUSED = "paused"  # rollout.services.phase_control


# --- Threshold breaches, and the pauses (theirs or by hand) -------------------------------------


def breach_rows() -> QuerySet:
    return timeline_rows(
        ThresholdEvaluation.objects.filter(breach=True),
        kind="breach",
        workflow="threshold__workflow_id",
        at="evaluated_at",
    )


def breach_load(pks: list[int]) -> dict[int, EvidenceEntry]:
    entries = {}
    evaluations = ThresholdEvaluation.objects.filter(pk__in=pks).select_related(
        "threshold__workflow", "cohort"
    )
    for evaluation in evaluations:
        threshold = evaluation.threshold
        metric = Metric(threshold.metric)
        where = f" for “{evaluation.cohort.name}”" if evaluation.cohort else ""
        limit = format_threshold_value(threshold.metric, threshold.limit)
        action = BreachAction(threshold.action)
        entries[evaluation.pk] = EvidenceEntry(
            kind="breach",
            kind_label="Threshold breach",
            at=evaluation.evaluated_at,
            workflow=threshold.workflow,
            title=f"{metric.label} breached its threshold{where}",
            details=[
                ("Observed", format_threshold_value(threshold.metric, evaluation.observed)),
                ("Threshold", f"{Comparator(threshold.comparator).label} {limit}"),
                ("Sample", format_count(evaluation.sample)),
                ("Action", action.label),
                ("Why", evaluation.reason),
            ],
            url=reverse("workflow_thresholds", args=[threshold.workflow.slug]),
            tone="bad",
        )
    return entries


def pause_rows() -> QuerySet:
    return timeline_rows(
        ActivityEntry.objects.filter(verb=VERB_PAUSED, workflow__isnull=False),
        kind="pause",
        workflow="workflow_id",
        at="created_at",
    )


def pause_load(pks: list[int]) -> dict[int, EvidenceEntry]:
    entries = {}
    for entry in ActivityEntry.objects.filter(pk__in=pks).select_related("workflow", "actor"):
        by = str(entry.actor) if entry.actor else "Rollout, automatically on a threshold breach"
        entries[entry.pk] = EvidenceEntry(
            kind="pause",
            kind_label="Roll-out paused",
            at=entry.created_at,
            workflow=entry.workflow,
            title=f"{entry.target} paused",
            details=[("Paused by", by), ("Reason", entry.note or NOBODY)],
            url=reverse("workflow_activity", args=[entry.workflow.slug]),
            tone="warn",
        )
    return entries
