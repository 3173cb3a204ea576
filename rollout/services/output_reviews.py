"""Grading sampled AI outputs, and naming who may grade them (issue 18 §2).

The owner (or an ops leader) names a workflow's reviewers; each change is in the activity log and
the person named is told. The owner, ops leaders and the reviewers grade each picked output
`correct` / `minor` / `wrong` / `harmful` with an optional note; a grade may be corrected later.
A `harmful` grade opens an escalation that walks the workflow's path, as harmful feedback does
(rollout.services.feedback) — once per output.
"""

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import EmailCategory, User
from core.errors import ApplicationError
from rollout.models import (
    EscalationSource,
    OutputGrade,
    OutputReview,
    OutputReviewer,
    Severity,
    Workflow,
)
from rollout.permissions import can_manage_output_reviewers, can_review_outputs
from rollout.services.activity import activity_record
from rollout.services.escalations import escalation_open
from rollout.services.notifications import notification_send

MAX_NOTE = 2000
MSG_NOT_ALLOWED_REVIEWERS = "Only the workflow's owner or an ops leader can name reviewers."
MSG_INACTIVE = "{user} has no active account, so cannot review."
MSG_ALREADY_REVIEWER = "{user} already reviews this workflow's outputs."
MSG_NOT_REVIEWER = "{user} is not a reviewer of this workflow."
MSG_NOT_ALLOWED_GRADE = "Only the owner, an ops leader or a named reviewer can grade outputs."
MSG_BAD_GRADE = "Choose a grade: correct, minor issue, wrong or harmful."
MSG_NOTE_TOO_LONG = f"Keep the note to {MAX_NOTE:,} characters."


def _queue_url(workflow: Workflow) -> str:
    return reverse("workflow_review_queue", kwargs={"slug": workflow.slug})


@transaction.atomic
def output_reviewer_add(*, workflow: Workflow, user: User, actor: User) -> OutputReviewer:
    if not can_manage_output_reviewers(actor, workflow):
        raise ApplicationError(MSG_NOT_ALLOWED_REVIEWERS)
    if not user.is_active:
        raise ApplicationError(MSG_INACTIVE.format(user=user), field="user")
    if OutputReviewer.objects.filter(workflow=workflow, user=user).exists():
        raise ApplicationError(MSG_ALREADY_REVIEWER.format(user=user), field="user")
    reviewer = OutputReviewer(workflow=workflow, user=user, added_by=actor)
    reviewer.full_clean()
    reviewer.save()
    activity_record(
        workflow=workflow,
        actor=actor,
        verb="named a reviewer of sampled outputs",
        target=str(user),
        changes={"Reviewers": ["", str(user)]},
    )
    if user.pk != actor.pk:
        notification_send(
            recipient=user,
            workflow=workflow,
            title=f"You review sampled AI outputs of {workflow.name}",
            body=f"{actor} named you a reviewer: grade the outputs waiting in the review queue.",
            url=_queue_url(workflow),
            email=EmailCategory.UPDATES,
        )
    return reviewer


@transaction.atomic
def output_reviewer_remove(*, workflow: Workflow, user: User, actor: User) -> None:
    if not can_manage_output_reviewers(actor, workflow):
        raise ApplicationError(MSG_NOT_ALLOWED_REVIEWERS)
    deleted, _ = OutputReviewer.objects.filter(workflow=workflow, user=user).delete()
    if not deleted:
        raise ApplicationError(MSG_NOT_REVIEWER.format(user=user), field="user")
    activity_record(
        workflow=workflow,
        actor=actor,
        verb="removed a reviewer of sampled outputs",
        target=str(user),
        changes={"Reviewers": [str(user), ""]},
    )


@transaction.atomic
def output_review_grade(
    *, review: OutputReview, actor: User, grade: str, note: str = ""
) -> OutputReview:
    """Grade (or re-grade) one sampled output. Returns it, with `escalation` set when a harmful
    grade opened one."""
    # Locks the item only (the cohort is the nullable side of an outer join).
    review = (
        OutputReview.objects.select_for_update(of=("self",))
        .select_related("workflow__owner", "cohort")
        .get(pk=review.pk)
    )
    workflow = review.workflow
    if not can_review_outputs(actor, workflow):
        raise ApplicationError(MSG_NOT_ALLOWED_GRADE)
    if grade not in OutputGrade.values:
        raise ApplicationError(MSG_BAD_GRADE, field="grade")
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise ApplicationError(MSG_NOTE_TOO_LONG, field="note")
    review.grade = grade
    review.note = note
    review.graded_by = actor
    review.graded_at = timezone.now()
    review.full_clean(exclude=["excerpt"])  # an excerpt retention deleted stays deleted
    review.save(update_fields=["grade", "note", "graded_by", "graded_at"])
    if grade == OutputGrade.HARMFUL and review.escalation_id is None:
        _escalate(review, actor)
    return review


def _escalate(review: OutputReview, actor: User) -> None:
    workflow = review.workflow
    where = f" ({review.cohort.name})" if review.cohort else ""
    description = f"A reviewer graded a sampled AI output harmful{where}."
    if review.note:
        description += f"\n\nReviewer's note: {review.note}"
    description += f"\n\nThe output is in the review queue: {_queue_url(workflow)}"
    escalation = escalation_open(
        workflow=workflow,
        title=f"Harmful AI output found in review{where}"[:200],
        source=EscalationSource.OUTPUT_REVIEW,
        severity=Severity.HIGH,
        actor=actor,
        description=description,
    )
    review.escalation = escalation
    review.save(update_fields=["escalation"])
    activity_record(
        workflow=workflow,
        actor=actor,
        verb="graded a sampled output harmful",
        target=f"output of {timezone.localtime(review.occurred_at):%Y-%m-%d %H:%M}{where}",
        note=review.note,
    )
