"""Reviews (PRODUCT.md "Review"): the owner, or an ops leader, starts one; starting it freezes a
snapshot of the metrics and lists the items to re-attest; the owner answers each item, records
decisions, and completes it, which sets the next due date and drafts the review-outcome notice.

Every function locks the workflow row first, so two people acting on one review at once are
serialised, and raises ApplicationError (a message for the person) before writing anything.
"""

from collections import Counter
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from core.errors import ApplicationError
from rollout.models import (
    AttestationAnswer,
    AttestationItem,
    DecisionKind,
    EscalationLevel,
    ReadinessQuestion,
    Review,
    ReviewAttestation,
    ReviewDecision,
    ReviewStatus,
    Threshold,
    ThresholdFit,
    Workflow,
)
from rollout.models import DataSource as Source
from rollout.permissions import can_change_workflow
from rollout.selectors.plan import readiness_current
from rollout.selectors.reviews import review_last_completed, review_snapshot_build
from rollout.selectors.thresholds import threshold_sentence
from rollout.services.activity import activity_record
from rollout.services.notice_drafts import notice_draft_for_review
from rollout.services.phase_control import phase_pause, phase_rollback
from rollout.services.promotions import promotion_request
from rollout.services.retirement import workflow_retire
from rollout.services.thresholds import FIELDS as THRESHOLD_FIELDS
from rollout.services.thresholds import is_loosened, threshold_update

# The product's default cadence (PRODUCT.md: "steady afterwards, with a review every quarter"),
# used when the owner has not set one on the plan page.
DEFAULT_CADENCE_DAYS = 90
MSG_NOT_ALLOWED = "Only the workflow's owner or an ops leader can run its reviews."
MSG_ALREADY_IN_PROGRESS = "A review of this workflow is already in progress: finish that one first."
MSG_RETIRED = "This workflow is retired: reinstate it before reviewing it."
MSG_OWNER_INACTIVE = "The owner's account is deactivated: hand the workflow over."
MSG_CONTACT_INACTIVE = "Contact's account is deactivated: name an active contact."
MSG_NOT_IN_PROGRESS = "This review is completed: it can no longer be changed."
MSG_BAD_ANSWER = "Answer “holds” or “changed”."
MSG_WHAT_CHANGED = "Say what changed."
MSG_FLAGGED_CANNOT_HOLD = (
    "This item is flagged ({flag}): it cannot hold as it is. Fix it, then answer “changed”."
)
MSG_NEW_LIMIT_REQUIRED = "Give the threshold's new limit, or answer “holds”."
MSG_SAME_LIMIT = "The new limit is the current one: answer “holds” to keep it."
MSG_BAD_DECISION = "Choose a decision from the list."
MSG_RATIONALE_REQUIRED = "Write the rationale: why this decision, in a few sentences."
MSG_ALREADY_DECIDED = "“{decision}” is already recorded in this review."
MSG_UNANSWERED = "Answer every item first: {count} still open ({items})."
MSG_NO_DECISION = "Record at least one decision before completing the review."
MSG_THRESHOLD_GONE = "This threshold has been deleted since the review started."


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
                label=(
                    f"{source.name} ({source.get_kind_display().lower()})"
                    + (f": {source.freshness}" if source.freshness else "")
                )[:400],
            )
        )
    answered = [i.current for i in readiness_current(workflow) if i.current is not None]
    tally = Counter(a.get_answer_display().lower() for a in answered)
    summary = ", ".join(f"{n} {answer}" for answer, n in sorted(tally.items()))
    items.append(
        ReviewAttestation(
            item=AttestationItem.READINESS,
            label=(
                f"The readiness answers still hold: {len(answered)} of {len(ReadinessQuestion)} "
                f"answered" + (f" ({summary})" if summary else "")
            ),
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


def _lock_review(review: Review, actor: User) -> tuple[Workflow, Review]:
    workflow = _lock(review.workflow, actor)
    review = Review.objects.get(pk=review.pk)
    if review.status != ReviewStatus.IN_PROGRESS:
        raise ApplicationError(MSG_NOT_IN_PROGRESS)
    review.workflow = workflow
    return workflow, review


def _threshold_change(
    attestation: ReviewAttestation, actor: User, new_limit: float | None
) -> tuple[str, str]:
    """Change the threshold through its own service (which records a late loosening as rule 2
    says) and return (fit, the change in words)."""
    if new_limit is None:
        raise ApplicationError(MSG_NEW_LIMIT_REQUIRED, field="new_limit")
    threshold = Threshold.objects.filter(
        pk=attestation.item_key, workflow_id=attestation.review.workflow_id
    ).first()
    if threshold is None:
        raise ApplicationError(MSG_THRESHOLD_GONE)
    if new_limit == threshold.limit:
        raise ApplicationError(MSG_SAME_LIMIT, field="new_limit")
    before = {name: getattr(threshold, name) for name in THRESHOLD_FIELDS}
    fields = {**before, "limit": new_limit}
    updated = threshold_update(threshold=threshold, actor=actor, **fields)
    fit = ThresholdFit.LOOSENED if is_loosened(before, updated) else ThresholdFit.TIGHTENED
    return fit, threshold_sentence(updated)


@transaction.atomic
def review_attest(
    *,
    attestation: ReviewAttestation,
    actor: User,
    answer: str,
    what_changed: str = "",
    new_limit: float | None = None,
) -> ReviewAttestation:
    """Answer one item: `holds`, or `changed` with what changed. A threshold that changed takes
    its `new_limit` (stored units) and is changed by the threshold service; its fit (tightened
    or loosened) is worked out, not claimed. A flagged item (an inactive contact) cannot hold."""
    _workflow, review = _lock_review(attestation.review, actor)
    attestation = ReviewAttestation.objects.get(pk=attestation.pk, review=review)
    attestation.review = review
    if answer not in AttestationAnswer.values:
        raise ApplicationError(MSG_BAD_ANSWER, field="answer")
    what_changed = what_changed.strip()
    fit = ""
    if answer == AttestationAnswer.HOLDS:
        if attestation.flag:
            raise ApplicationError(
                MSG_FLAGGED_CANNOT_HOLD.format(flag=attestation.flag.rstrip(".")), field="answer"
            )
        what_changed = ""
        if attestation.item == AttestationItem.THRESHOLD:
            fit = ThresholdFit.KEPT
    else:
        if attestation.item == AttestationItem.THRESHOLD:
            fit, sentence = _threshold_change(attestation, actor, new_limit)
            what_changed = what_changed or f"Now: {sentence}"
        elif not what_changed:
            raise ApplicationError(MSG_WHAT_CHANGED, field="what_changed")
    before = attestation.get_answer_display() or "—"
    attestation.answer = answer
    attestation.threshold_fit = fit
    attestation.what_changed = what_changed
    attestation.answered_by = actor
    attestation.answered_at = timezone.now()
    attestation.full_clean()
    attestation.save()
    activity_record(
        workflow=review.workflow,
        actor=actor,
        verb="re-attested",
        target=attestation.label[:200],
        changes={"Answer": [before, attestation.get_answer_display()]},
        note=what_changed,
    )
    return attestation


@transaction.atomic
def review_decide(*, review: Review, actor: User, kind: str, rationale: str) -> ReviewDecision:
    """Record a decision with its rationale and carry it out through the service that owns it:
    an expansion opens a promotion request (the usual gate and approvals decide whether it runs),
    a pause falls back to the workflow's fallback mode, a roll-back returns to the phase before,
    a retirement retires the workflow. Continue and hold change nothing but the record. If the
    service refuses, nothing is recorded."""
    workflow, review = _lock_review(review, actor)
    if kind not in DecisionKind.values:
        raise ApplicationError(MSG_BAD_DECISION, field="kind")
    rationale = rationale.strip()
    if not rationale:
        raise ApplicationError(MSG_RATIONALE_REQUIRED, field="rationale")
    if ReviewDecision.objects.filter(review=review, kind=kind).exists():
        label = DecisionKind(kind).label
        raise ApplicationError(MSG_ALREADY_DECIDED.format(decision=label), field="kind")
    request = None
    if kind == DecisionKind.EXPAND:
        request = promotion_request(workflow=workflow, actor=actor, note=rationale)
    elif kind == DecisionKind.PAUSE:
        phase_pause(
            workflow=workflow, actor=actor, fallback_mode=workflow.fallback_mode, reason=rationale
        )
    elif kind == DecisionKind.ROLL_BACK:
        phase_rollback(workflow=workflow, actor=actor, reason=rationale)
    elif kind == DecisionKind.RETIRE:
        workflow_retire(workflow=workflow, actor=actor, reason=rationale)
    decision = ReviewDecision(
        review=review,
        kind=kind,
        rationale=rationale,
        decided_by=actor,
        decided_at=timezone.now(),
        promotion_request=request,
    )
    decision.full_clean()
    decision.save()
    activity_record(
        workflow=workflow,
        actor=actor,
        verb="decided in a review",
        target=decision.get_kind_display(),
        note=rationale,
    )
    return decision


@transaction.atomic
def review_complete(*, review: Review, actor: User, summary: str = "") -> Review:
    """Complete the review once every item is answered and a decision recorded: the next due date
    is today plus the workflow's cadence (none once retired), the review-outcome notice is drafted
    for everyone in scope, and the activity log says so."""
    workflow, review = _lock_review(review, actor)
    open_items = list(review.attestations.filter(answer="").values_list("label", flat=True))
    if open_items:
        shown = "; ".join(open_items[:3]) + ("; …" if len(open_items) > 3 else "")
        raise ApplicationError(MSG_UNANSWERED.format(count=len(open_items), items=shown))
    if not review.decisions.exists():
        raise ApplicationError(MSG_NO_DECISION)
    now = timezone.now()
    before_due = workflow.next_review_due
    if workflow.retired_at is None:
        cadence = workflow.review_cadence_days or DEFAULT_CADENCE_DAYS
        next_due = timezone.localdate(now) + timedelta(days=cadence)
    else:
        next_due = None
    review.status = ReviewStatus.COMPLETED
    review.completed_by = actor
    review.completed_at = now
    review.summary = summary.strip()
    review.next_due = next_due
    review.full_clean()
    review.save()
    workflow.next_review_due = next_due
    workflow.save(update_fields=["next_review_due", "updated_at"])
    review.outcome_notice = notice_draft_for_review(review=review, actor=actor)
    review.save(update_fields=["outcome_notice"])
    activity_record(
        workflow=workflow,
        actor=actor,
        verb="completed a review",
        target=", ".join(d.get_kind_display() for d in review.decisions.all()),
        changes={
            "Next review due": [
                f"{before_due:%d %b %Y}" if before_due else "—",
                f"{next_due:%d %b %Y}" if next_due else "—",
            ]
        },
        note=review.summary,
    )
    return review
