"""Reviews for `seed_demo`, run through the review services.

Support reply drafting had its review three weeks ago: the snapshot, every item re-attested (the
Zendesk source changed: new API tokens), two decisions with their
rationale, and the outcome notice drafted; its next review is due in about ten weeks. Invoice
coding's review is due in ten days (its owner has had the 14-day reminder); Contract clause
review's is twelve days overdue, past the grace period, so it is flagged on the portfolio, the
overview and the executive home, and the ops leaders have been reminded.

A review starts and completes "now" in the services; the completed one is then moved back three
weeks (its times and the snapshot's `taken_at`), the only writes here that are not a service's,
as the other demo builders do with their stories' times.
"""

from datetime import timedelta

from django.utils import timezone

from accounts.models import User
from rollout.models import (
    AttestationItem,
    Review,
    ReviewAttestation,
    ReviewDecision,
    ReviewReminder,
    ReviewStatus,
    Workflow,
)
from rollout.services.plan_settings import plan_settings_update
from rollout.services.review_reminders import review_reminders_send
from rollout.services.reviews import review_attest, review_complete, review_decide, review_start

COMPLETED_DAYS_AGO = 21
SOURCE_CHANGE = (
    "Zendesk moved the connection to its new API tokens; freshness and validation are "
    "unchanged, the token now rotates every 90 days."
)
DECISIONS = (
    (
        "continue",
        "Override and error rates are well inside their thresholds in both cohorts, and the "
        "agents' feedback is mostly about tone, not facts. Keep the limited roll-out running.",
    ),
    (
        "hold",
        "Hold the broad roll-out until the refund-wording fix has a full window of data behind "
        "it: the incident's change needs to prove itself first.",
    ),
)
DUE_SOON_DAYS = 10
OVERDUE_DAYS = 12


def _completed_review(workflow: Workflow, owner: User) -> None:
    review = review_start(workflow=workflow, actor=owner)
    for item in ReviewAttestation.objects.filter(review=review).order_by("position"):
        if item.item == AttestationItem.DATA_SOURCE and "zendesk" in item.label.lower():
            review_attest(
                attestation=item, actor=owner, answer="changed", what_changed=SOURCE_CHANGE
            )
        elif not item.flag:
            review_attest(attestation=item, actor=owner, answer="holds")
        else:
            review_attest(
                attestation=item,
                actor=owner,
                answer="changed",
                what_changed="Named an active contact for this level.",
            )
    for kind, rationale in DECISIONS:
        review_decide(review=review, actor=owner, kind=kind, rationale=rationale)
    review = review_complete(
        review=review,
        actor=owner,
        summary="A steady quarter: quality holds; the refund incident's fix is the one thing to "
        "watch before growing.",
    )
    shift = timedelta(days=COMPLETED_DAYS_AGO)
    snapshot = dict(review.snapshot)
    taken = timezone.now() - shift
    snapshot["taken_at"] = taken.isoformat()
    Review.objects.filter(pk=review.pk).update(
        due_date=timezone.localdate(taken) + timedelta(days=3),
        started_at=taken,
        completed_at=taken + timedelta(hours=1),
        snapshot=snapshot,
        next_due=review.next_due - shift,
    )
    answered = taken + timedelta(minutes=20)
    ReviewAttestation.objects.filter(review=review).update(answered_at=answered)
    ReviewDecision.objects.filter(review=review).update(decided_at=taken + timedelta(minutes=40))
    Workflow.objects.filter(pk=workflow.pk).update(next_review_due=review.next_due - shift)


def _due(workflow: Workflow, actor: User, days: int) -> None:
    workflow = Workflow.objects.get(pk=workflow.pk)
    plan_settings_update(
        workflow=workflow,
        actor=actor,
        lead_time_days=workflow.lead_time_days,
        required_approvals=workflow.required_approvals,
        review_cadence_days=workflow.review_cadence_days or 90,
        next_review_due=timezone.localdate() + timedelta(days=days),
        fallback_mode=workflow.fallback_mode,
    )


def demo_reviews_seed(*, workflow: Workflow, users: dict[str, User]) -> bool:
    """The workflow's review story, if it has one and no review yet. False when it has none."""
    # Its review, or the reminder a due date sent, says the story was told already.
    if (
        Review.objects.filter(workflow=workflow).exists()
        or ReviewReminder.objects.filter(workflow=workflow).exists()
    ):
        return False
    if workflow.slug == "support-reply-drafting":
        _completed_review(workflow, workflow.owner)
    elif workflow.slug == "invoice-coding":
        _due(workflow, workflow.owner, DUE_SOON_DAYS)
    elif workflow.slug == "contract-clause-review":
        _due(workflow, users["ops@example.com"], -OVERDUE_DAYS)
    else:
        return False
    review_reminders_send()
    return True


def demo_review_report(workflow: Workflow) -> str:
    """One line for the command's output."""
    completed = Review.objects.filter(workflow=workflow, status=ReviewStatus.COMPLETED).first()
    workflow = Workflow.objects.get(pk=workflow.pk)
    due = workflow.next_review_due
    if completed:
        return f"Review of {workflow.name} completed; next due {due:%d %b %Y}."
    state = "overdue since" if workflow.is_review_overdue else "due on"
    return f"Review of {workflow.name} {state} {due:%d %b %Y}."
