"""Reads for reviews: the snapshot a review freezes when it starts, the review lists and pages,
and which workflows have a review overdue.

The snapshot is built from the selectors every other page reads (threshold statuses, drift,
usage windows, feedback, escalations, incidents, notice statistics, phases), turned into plain
JSON: numbers and their display text side by side, times as ISO strings. It is stored as is and
never recomputed, so a review shows what the numbers said when it started.
"""

from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from rollout.lib.numbers import format_percent
from rollout.models import (
    IN_PROGRESS,
    ChangeNotice,
    Cohort,
    DriftStatus,
    Escalation,
    Feedback,
    FeedbackCategory,
    FeedbackStatus,
    Incident,
    Metric,
    NoticeStatus,
    Phase,
    Review,
    ReviewAttestation,
    ReviewDecision,
    ReviewStatus,
    Threshold,
    Verdict,
    Workflow,
)
from rollout.selectors.health import (
    cohort_drift_list_for_workflow,
    threshold_status_list_for_workflow,
)
from rollout.selectors.notice_stats import notice_stats
from rollout.selectors.portfolio import ADOPTION_DAYS
from rollout.selectors.thresholds import format_threshold_value, is_rate, threshold_sentence
from rollout.selectors.usage import ALL, usage_window

SNAPSHOT_VERSION = 1
# How many notices, escalations and incidents a snapshot lists one by one (counts stay exact).
LISTED = 50


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _percent(value: float | None) -> str:
    return "—" if value is None else format_percent(value)


def _value_text(metric: str, value: float | None) -> str:
    """A rate to one decimal, as every page writes it; latency as the thresholds page does."""
    if value is None:
        return "—"
    return format_percent(value) if is_rate(metric) else format_threshold_value(metric, value)


def _thresholds(workflow: Workflow) -> list[dict[str, Any]]:
    rows = []
    for status in threshold_status_list_for_workflow(workflow):
        threshold = status.threshold
        rows.append(
            {
                "threshold_id": threshold.pk,
                "rule": threshold_sentence(threshold),
                "metric": threshold.metric,
                "scope": status.cohort.name if status.cohort else "Whole workflow",
                "verdict": status.verdict,
                "verdict_label": Verdict(status.verdict).label,
                "value": status.observed,
                "value_text": _value_text(threshold.metric, status.observed),
                "sample": status.sample,
                "window_start": _iso(status.window_start),
                "window_end": _iso(status.window_end),
            }
        )
    return rows


def _usage_row(name: str, workflow: Workflow, start: date, end: date, scope: object) -> dict:
    counts = usage_window(workflow, start=start, end=end, scope=scope)
    return {
        "cohort": name,
        "members": counts.members,
        "active_members": min(counts.active_users, counts.members),
        "adoption": counts.adoption_rate,
        "adoption_text": _percent(counts.adoption_rate),
        "invocations": counts.invocations,
        "acceptance": counts.acceptance_rate,
        "acceptance_text": _percent(counts.acceptance_rate),
        "error_rate": counts.error_rate,
        "error_rate_text": _percent(counts.error_rate),
    }


def _usage(workflow: Workflow, today: date) -> dict[str, Any]:
    start = today - timedelta(days=ADOPTION_DAYS - 1)
    cohorts = Cohort.objects.filter(workflow=workflow).order_by("name")
    rows = [_usage_row(c.name, workflow, start, today, c) for c in cohorts]
    total = _usage_row("All cohorts", workflow, start, today, ALL)
    return {"start": _iso(start), "end": _iso(today), "cohorts": rows, "total": total}


def _drift(workflow: Workflow) -> list[dict[str, Any]]:
    return [
        {
            "cohort": drift.cohort.name if drift.cohort_id else "People in no cohort",
            "metric": Metric(drift.metric).label if drift.metric in Metric.values else drift.metric,
            "status": drift.status,
            "status_label": DriftStatus(drift.status).label,
            "explanation": drift.explanation,
        }
        for drift in cohort_drift_list_for_workflow(workflow).select_related("cohort")
        if drift.status == DriftStatus.DEGRADING
    ]


def _feedback(workflow: Workflow, since: datetime) -> dict[str, Any]:
    recent = Feedback.objects.filter(workflow=workflow, created_at__gte=since)
    by_category = dict(recent.values_list("category").annotate(n=Count("pk")).order_by("category"))
    by_status = dict(recent.values_list("status").annotate(n=Count("pk")).order_by("status"))
    return {
        "total": sum(by_category.values()),
        "by_category": [
            {"category": c.label, "count": by_category.get(c.value, 0)}
            for c in FeedbackCategory
            if by_category.get(c.value)
        ],
        "by_status": [
            {"status": s.label, "count": by_status.get(s.value, 0)}
            for s in FeedbackStatus
            if by_status.get(s.value)
        ],
    }


def _escalations(workflow: Workflow, since: datetime) -> dict[str, Any]:
    rows = Escalation.objects.filter(workflow=workflow, opened_at__gte=since).order_by("-opened_at")
    return {
        "count": rows.count(),
        "items": [
            {
                "title": e.title,
                "severity": e.severity,
                "status": e.get_status_display(),
                "source": e.get_source_display(),
                "opened_at": _iso(e.opened_at),
                "resolved_at": _iso(e.resolved_at),
            }
            for e in rows[:LISTED]
        ],
    }


def _incidents(workflow: Workflow, since: datetime) -> dict[str, Any]:
    rows = Incident.objects.filter(
        Q(started_at__gte=since) | Q(closed_at__gte=since) | Q(closed_at__isnull=True),
        workflow=workflow,
    ).order_by("-started_at")
    return {
        "count": rows.count(),
        "items": [
            {
                "title": i.title,
                "severity": i.severity,
                "status": i.get_status_display(),
                "started_at": _iso(i.started_at),
                "closed_at": _iso(i.closed_at),
            }
            for i in rows[:LISTED]
        ],
    }


def _notices(workflow: Workflow, since: datetime) -> list[dict[str, Any]]:
    rows = []
    published = ChangeNotice.objects.filter(
        workflow=workflow, status=NoticeStatus.PUBLISHED, published_at__gte=since
    ).order_by("-published_at")
    for notice in published[:LISTED]:
        total = notice_stats(notice).total
        rows.append(
            {
                "title": notice.title,
                "kind": notice.get_kind_display(),
                "published_at": _iso(notice.published_at),
                "requires_ack": notice.requires_ack,
                "recipients": total.recipients,
                "acknowledged": total.acknowledged,
                "ack_rate": total.acknowledged_share if total.recipients else None,
                "ack_rate_text": _percent(total.acknowledged_share if total.recipients else None),
            }
        )
    return rows


def _phases(workflow: Workflow, since: datetime) -> list[dict[str, Any]]:
    touched = Q(actual_start__gte=since) | Q(actual_end__gte=since) | Q(status__in=IN_PROGRESS)
    return [
        {
            "phase": p.get_kind_display(),
            "status": p.get_status_display(),
            "actual_start": _iso(p.actual_start),
            "actual_end": _iso(p.actual_end),
            "planned_start": _iso(p.planned_start),
            "planned_end": _iso(p.planned_end),
        }
        for p in Phase.objects.filter(touched, workflow=workflow).order_by("position")
    ]


def review_snapshot_build(workflow: Workflow, *, since: datetime, now: datetime) -> dict[str, Any]:
    """Everything a review looks at, as plain JSON (see the module docstring). Queries grow
    with the number of cohorts and notices, which is fine for a write done once per review."""
    current = Phase.objects.filter(workflow=workflow, status__in=IN_PROGRESS).first()
    return {
        "version": SNAPSHOT_VERSION,
        "taken_at": _iso(now),
        "since": _iso(since),
        "phase": current.get_kind_display() if current else "",
        "phase_status": current.get_status_display() if current else "",
        "thresholds": _thresholds(workflow),
        "usage": _usage(workflow, timezone.localdate(now)),
        "drift": _drift(workflow),
        "feedback": _feedback(workflow, since),
        "escalations": _escalations(workflow, since),
        "incidents": _incidents(workflow, since),
        "notices": _notices(workflow, since),
        "phases": _phases(workflow, since),
    }


# --- lists and pages ----------------------------------------------------------------------------


def review_list_for_workflow(workflow: Workflow) -> QuerySet[Review]:
    return Review.objects.filter(workflow=workflow).select_related("started_by", "completed_by")


def review_get_for_workflow(workflow: Workflow, review_id: int) -> Review | None:
    return (
        Review.objects.filter(workflow=workflow, pk=review_id)
        .select_related("started_by", "completed_by", "outcome_notice")
        .first()
    )


def review_attestation_list(review: Review) -> list[ReviewAttestation]:
    return list(
        ReviewAttestation.objects.filter(review=review)
        .select_related("answered_by")
        .order_by("position", "pk")
    )


def review_decision_list(review: Review) -> list[ReviewDecision]:
    return list(
        ReviewDecision.objects.filter(review=review)
        .select_related("decided_by", "promotion_request")
        .order_by("decided_at", "pk")
    )


def review_threshold_metrics(workflow: Workflow) -> dict[int, str]:
    """{threshold id: metric} of the workflow's thresholds (for the new-limit field's units)."""
    return dict(Threshold.objects.filter(workflow=workflow).values_list("pk", "metric"))


def review_in_progress(workflow: Workflow) -> Review | None:
    return Review.objects.filter(workflow=workflow, status=ReviewStatus.IN_PROGRESS).first()


def review_last_completed(workflow: Workflow) -> Review | None:
    return (
        Review.objects.filter(workflow=workflow, status=ReviewStatus.COMPLETED)
        .order_by("-completed_at", "-id")
        .first()
    )


def review_is_overdue(workflow: Workflow, *, today: date | None = None) -> bool:
    """A review is overdue when its due date has passed (a retired workflow has none)."""
    today = today or timezone.localdate()
    return workflow.next_review_due is not None and workflow.next_review_due < today


def review_overdue_ids(workflow_ids: list[int], *, today: date | None = None) -> set[int]:
    """Which of these workflows have a review overdue: one query."""
    today = today or timezone.localdate()
    return set(
        Workflow.objects.filter(pk__in=workflow_ids, next_review_due__lt=today).values_list(
            "pk", flat=True
        )
    )
