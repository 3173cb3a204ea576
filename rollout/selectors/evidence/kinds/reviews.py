"""Completed reviews (PRODUCT.md "Review"): who reviewed, what was decided and why, and when the
next review is due."""

from django.db.models import QuerySet
from django.urls import reverse

from rollout.models import DecisionKind, Review, ReviewStatus
from rollout.selectors.evidence.entries import EvidenceEntry, timeline_rows
from rollout.selectors.evidence.kinds.text import NOBODY, day_text, person_text

# A decision that changes the roll-out reads as a warning; continuing or expanding does not.
_WARN = {DecisionKind.HOLD, DecisionKind.PAUSE, DecisionKind.ROLL_BACK, DecisionKind.RETIRE}


def review_rows() -> QuerySet:
    return timeline_rows(
        Review.objects.filter(status=ReviewStatus.COMPLETED),
        kind="review",
        workflow="workflow_id",
        at="completed_at",
    )


def review_load(pks: list[int]) -> dict[int, EvidenceEntry]:
    entries = {}
    reviews = (
        Review.objects.filter(pk__in=pks)
        .select_related("workflow", "completed_by")
        .prefetch_related("decisions")
    )
    for review in reviews:
        decisions = sorted(review.decisions.all(), key=lambda d: (d.decided_at, d.pk))
        details = [
            ("Reviewed by", person_text(review.completed_by)),
            ("Was due", day_text(review.due_date) if review.due_date else "Not scheduled"),
            ("Next review", day_text(review.next_due) if review.next_due else NOBODY),
        ]
        details += [(f"Decision: {DecisionKind(d.kind).label}", d.rationale) for d in decisions]
        kinds = {d.kind for d in decisions}
        entries[review.pk] = EvidenceEntry(
            kind="review",
            kind_label="Review",
            at=review.completed_at,
            workflow=review.workflow,
            title="Review completed: "
            + (", ".join(DecisionKind(d.kind).label.lower() for d in decisions) or "no decision"),
            details=details,
            url=reverse("review_detail", args=[review.workflow.slug, review.pk]),
            tone="warn" if kinds & _WARN else "good",
        )
    return entries
