"""Reads of output reviews (issue 18 §2): the review queue, its progress, the reviewers, and the
reviewed error rate — (wrong + harmful) ÷ graded, with its Wilson interval — per cohort and for
the workflow. Counted by when the output was produced (`occurred_at`), so a window says how good
the AI's outputs of that period were, whenever they were graded.

Callers have already checked the user may see the excerpts (rollout.permissions.
access_review_queue); the error rates carry no excerpt and are shown wherever usage is.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Min, Q, QuerySet
from django.utils import timezone

from accounts.models import User
from core.dates import day_bounds
from rollout.lib.wilson import wilson_interval
from rollout.models import (
    ERROR_GRADES,
    Cohort,
    OutputReview,
    OutputReviewer,
    Workflow,
)
from rollout.selectors.usage import ALL


def output_review_waiting(workflow: Workflow) -> QuerySet[OutputReview]:
    """Ungraded items, oldest output first (the order they are worked through)."""
    return (
        OutputReview.objects.filter(workflow=workflow, grade="")
        .select_related("cohort", "user")
        .order_by("occurred_at", "id")
    )


@dataclass(frozen=True)
class QueueWaiting:
    """One workflow's review queue, as the home page points a reviewer to it."""

    workflow: Workflow
    waiting: int
    oldest: datetime


def output_review_waiting_for(user: User) -> list[QueueWaiting]:
    """The queues with outputs waiting that this person is named to grade, or owns: two queries
    however many workflows. Retired workflows are left out (nothing more arrives there, and their
    queue stays open from the workflow's page). Ops leaders may grade every queue but are not
    pointed to each: theirs are the ones they were named for."""
    counts = {
        row["workflow_id"]: (row["waiting"], row["oldest"])
        for row in OutputReview.objects.filter(
            grade="",
            workflow_id__in=Workflow.objects.filter(
                Q(output_reviewers__user=user) | Q(owner=user), retired_at__isnull=True
            ).values("pk"),
        )
        .values("workflow_id")
        .annotate(waiting=Count("id"), oldest=Min("occurred_at"))
        .order_by()
    }
    workflows = Workflow.objects.filter(pk__in=counts).order_by("name", "pk")
    return [QueueWaiting(w, *counts[w.pk]) for w in workflows]


def output_review_graded(workflow: Workflow, *, grade: str = "") -> QuerySet[OutputReview]:
    """Graded items (with `grade`, only those), most recently graded first."""
    rows = OutputReview.objects.filter(workflow=workflow).exclude(grade="")
    if grade:
        rows = rows.filter(grade=grade)
    return rows.select_related("cohort", "user", "graded_by", "escalation").order_by(
        "-graded_at", "-id"
    )


def output_review_any(workflow: Workflow) -> bool:
    """Whether the workflow ever had an output sampled (graded or not)."""
    return OutputReview.objects.filter(workflow=workflow).exists()


def output_review_get(workflow: Workflow, review_id: int) -> OutputReview:
    """One item of the workflow; OutputReview.DoesNotExist otherwise."""
    return OutputReview.objects.select_related("cohort", "user").get(
        workflow=workflow, pk=review_id
    )


@dataclass(frozen=True)
class ReviewProgress:
    graded_this_week: int
    waiting: int

    @property
    def this_week(self) -> int:
        """What this week's work is: what was graded this week and what still waits."""
        return self.graded_this_week + self.waiting


def week_start(now: datetime) -> datetime:
    """Monday 00:00 of this week, in the current time zone."""
    today = timezone.localdate(now)
    return day_bounds(today - timedelta(days=today.weekday()))[0]


def output_review_progress(workflow: Workflow, *, now: datetime | None = None) -> ReviewProgress:
    """Graded this week (since Monday) and waiting: one query."""
    since = week_start(now or timezone.now())
    counts = OutputReview.objects.filter(workflow=workflow).aggregate(
        graded=Count("id", filter=~Q(grade="") & Q(graded_at__gte=since)),
        waiting=Count("id", filter=Q(grade="")),
    )
    return ReviewProgress(counts["graded"], counts["waiting"])


def output_reviewer_list(workflow: Workflow) -> list[OutputReviewer]:
    return list(
        OutputReviewer.objects.filter(workflow=workflow)
        .select_related("user", "added_by")
        .order_by("user__display_name", "user__email")
    )


def is_output_reviewer(user: User, workflow: Workflow) -> bool:
    return OutputReviewer.objects.filter(workflow=workflow, user=user).exists()


@dataclass(frozen=True)
class ReviewedErrorRate:
    """(wrong + harmful) ÷ graded over a window, in one scope (a cohort, or None: the workflow)."""

    cohort: Cohort | None
    graded: int
    errors: int
    harmful: int

    @property
    def rate(self) -> float | None:
        return self.errors / self.graded if self.graded else None

    @property
    def interval(self) -> tuple[float, float] | None:
        return wilson_interval(self.errors, self.graded)

    @property
    def label(self) -> str:
        return self.cohort.name if self.cohort else "Whole workflow"


def _error_counts(rows: QuerySet[OutputReview]) -> QuerySet:
    return rows.exclude(grade="").aggregate(
        graded=Count("id"),
        errors=Count("id", filter=Q(grade__in=ERROR_GRADES)),
        harmful=Count("id", filter=Q(grade="harmful")),
    )


def reviewed_error_rates(
    workflow: Workflow, *, start: datetime, end: datetime, cohorts: list[Cohort]
) -> list[ReviewedErrorRate]:
    """The workflow's rate first, then each of `cohorts` that has graded outputs in the window
    (in their order). One query whatever the number of items: the workflow's counts are the sums
    of the per-cohort ones (people in no cohort included)."""
    window = OutputReview.objects.filter(
        workflow=workflow, occurred_at__gte=start, occurred_at__lt=end
    ).exclude(grade="")
    by_cohort = {
        row["cohort_id"]: row
        for row in window.values("cohort_id")
        .annotate(
            graded=Count("id"),
            errors=Count("id", filter=Q(grade__in=ERROR_GRADES)),
            harmful=Count("id", filter=Q(grade="harmful")),
        )
        .order_by()
    }
    whole = {
        name: sum(row[name] for row in by_cohort.values())
        for name in ("graded", "errors", "harmful")
    }
    rates = [ReviewedErrorRate(None, whole["graded"], whole["errors"], whole["harmful"])]
    for cohort in cohorts:
        row = by_cohort.get(cohort.pk)
        if row:
            rates.append(ReviewedErrorRate(cohort, row["graded"], row["errors"], row["harmful"]))
    return rates


def reviewed_error_measure(
    workflow: Workflow, *, start: datetime, end: datetime, scope: Cohort | str = ALL
) -> tuple[float | None, int]:
    """(reviewed error rate, graded) for threshold evaluation; (None, 0) with nothing graded
    (never a silent pass). One query."""
    rows = OutputReview.objects.filter(
        workflow=workflow, occurred_at__gte=start, occurred_at__lte=end
    )
    if isinstance(scope, Cohort):
        rows = rows.filter(cohort=scope)
    counts = _error_counts(rows)
    if not counts["graded"]:
        return None, 0
    return counts["errors"] / counts["graded"], counts["graded"]
