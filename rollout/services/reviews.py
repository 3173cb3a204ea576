"""Reviews (PRODUCT.md "Review"): the owner, or an ops leader, starts one; starting it freezes a
snapshot of the metrics and lists the items to re-attest; the owner answers each item, records
decisions, and completes it, which sets the next due date and drafts the review-outcome notice.

Every function locks the workflow row first, so two people acting on one review at once are
serialised, and raises ApplicationError (a message for the person) before writing anything.
"""

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from core.errors import ApplicationError
from rollout.models import (
    AttestationItem,
    EscalationLevel,
    ReadinessQuestion,
    Review,
    ReviewAttestation,
    ReviewStatus,
    Threshold,
    Workflow,
)
from rollout.models import DataSource as Source
from rollout.permissions import can_change_workflow
from rollout.selectors.plan import readiness_current
from rollout.selectors.reviews import review_last_completed, review_snapshot_build
from rollout.selectors.thresholds import threshold_sentence
from rollout.services.activity import activity_record

MSG_NOT_ALLOWED = "Only the workflow's owner or an ops leader can run its reviews."
MSG_ALREADY_IN_PROGRESS = "A review of this workflow is already in progress: finish that one first."
MSG_RETIRED = "This workflow is retired: reinstate it before reviewing it."
MSG_OWNER_INACTIVE = "The owner's account is deactivated: hand the workflow over."
MSG_CONTACT_INACTIVE = "Contact's account is deactivated: name an active contact."


def _lock(workflow: Workflow, actor: User) -> Workflow:
    workflow = Workflow.objects.select_for_update().select_related("owner").get(pk=workflow.pk)
    if not can_change_workflow(actor, workflow):
        raise ApplicationError(MSG_NOT_ALLOWED)
    return workflow


def _items(workflow: Workflow) -> list[ReviewAttestation]:
    """The items to re-attest, as they stand now, in the page's order."""
    items = [
        ReviewAttestation(
            item=AttestationItem.OWNER,
            label=f"{workflow.owner} is the right owner",
            flag="" if workflow.owner.is_active else MSG_OWNER_INACTIVE,
        )
    ]
    for threshold in Threshold.objects.filter(workflow=workflow).order_by("metric", "pk"):
        items.append(
            ReviewAttestation(
                item=AttestationItem.THRESHOLD,
                item_key=str(threshold.pk),
                label=threshold_sentence(threshold)[:400],
            )
        )
    levels = EscalationLevel.objects.filter(workflow=workflow).select_related("contact")
    for level in levels.order_by("position"):
        minutes = level.response_target_minutes
        items.append(
            ReviewAttestation(
                item=AttestationItem.ESCALATION_LEVEL,
                item_key=str(level.pk),
                label=(
                    f"Level {level.position}: {level.contact} by {level.get_channel_display()}, "
                    f"respond within {minutes} min"
                )[:400],
                flag="" if level.contact.is_active else MSG_CONTACT_INACTIVE,
            )
        )
    for source in Source.objects.filter(workflow=workflow).order_by("name"):
        items.append(
            ReviewAttestation(
                item=AttestationItem.DATA_SOURCE,
                item_key=str(source.pk),
                label=f"{source.name}: {source.get_kind_display()}, {source.freshness}"[:400],
            )
        )
    answered = [i for i in readiness_current(workflow) if i.current is not None]
    summary = ", ".join(f"{i.label} {i.current.get_answer_display().lower()}" for i in answered)
    items.append(
        ReviewAttestation(
            item=AttestationItem.READINESS,
            label=(
                f"{len(answered)} of {len(ReadinessQuestion)} readiness "
                f"answers still hold" + (f" ({summary})" if summary else "")
            )[:400],
        )
    )
    for position, item in enumerate(items):
        item.position = position
    return items


@transaction.atomic
def review_start(*, workflow: Workflow, actor: User) -> Review:
    """Start a review: freeze the snapshot and list the items to re-attest. "Since the last
    review" starts at the last completed review's start (the workflow's creation for the first)."""
    workflow = _lock(workflow, actor)
    if workflow.retired_at is not None:
        raise ApplicationError(MSG_RETIRED)
    if Review.objects.filter(workflow=workflow, status=ReviewStatus.IN_PROGRESS).exists():
        raise ApplicationError(MSG_ALREADY_IN_PROGRESS)
    now = timezone.now()
    last = review_last_completed(workflow)
    since = last.started_at if last else workflow.created_at
    review = Review(
        workflow=workflow,
        due_date=workflow.next_review_due,
        period_start=since,
        snapshot=review_snapshot_build(workflow, since=since, now=now),
        started_by=actor,
        started_at=now,
    )
    review.full_clean()
    try:
        with transaction.atomic():
            review.save()
    except IntegrityError:  # a second start raced past the check above
        raise ApplicationError(MSG_ALREADY_IN_PROGRESS) from None
    items = _items(workflow)
    for item in items:
        item.review = review
    ReviewAttestation.objects.bulk_create(items)
    activity_record(
        workflow=workflow,
        actor=actor,
        verb="started a review",
        target=f"Review due {workflow.next_review_due:%d %b %Y}"
        if workflow.next_review_due
        else "Review",
    )
    return review
