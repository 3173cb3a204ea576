"""Writes on feedback: filing it (the form, or the AI tool on someone's behalf), triage, comments,
"me too" votes and merging duplicates.

Each is one transaction. Triage and merges go to the workflow's activity log; a status change is
told to the author and the voters (in the app, and by email if they chose it). Feedback filed as
"harmful or unsafe", or triaged at the highest severity, opens an escalation. A bulk triage is
the single triage applied to each item, all of them or none.
"""

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction

from accounts.models import EmailCategory, User
from core.errors import ApplicationError
from rollout.models import (
    OPEN_ESCALATION,
    CohortMember,
    EnrolmentPhase,
    Escalation,
    EscalationSource,
    Feedback,
    FeedbackCategory,
    FeedbackComment,
    FeedbackRating,
    FeedbackStatus,
    FeedbackVote,
    Severity,
    UsageEvent,
    Workflow,
)
from rollout.permissions import can_give_feedback, can_triage_feedback, can_view_workflow
from rollout.selectors.feedback import feedback_title, feedback_url
from rollout.services.activity import activity_record, field_changes, snapshot
from rollout.services.escalations import escalation_open
from rollout.services.notifications import notification_send

# The same person-to-cohort rule as usage events: a report and the output it is about are
# attributed alike.
from rollout.services.usage_ingest import attribute_people
from rollout.services.webhook_outbox import webhook_deliveries_create_for_feedback

logger = logging.getLogger(__name__)

MAX_TEXT = 4000
MSG_NO_ROLE = "You can give feedback only on a workflow you use."
MSG_BAD_RATING = "Say whether the output was helpful or not."
MSG_BAD_CATEGORY = "Choose what kind of problem (or praise) it is."
MSG_TEXT_TOO_LONG = "Keep it to 4,000 characters: this is {length:,}."
MSG_CONTROL = "Control characters (such as NUL) are not allowed here."
MSG_BAD_EVENT = (
    "No output with this reference was reported for this workflow. Check the link from the AI "
    "tool, or leave it empty."
)
MSG_NOT_TRIAGER = "Only the workflow's owner or an ops leader can triage feedback."
MSG_BAD_STATUS = "Choose a status: new, acknowledged, in progress, resolved or won't fix."
MSG_BAD_SEVERITY = "Choose a severity: low, medium, high or critical."
MSG_ASSIGNEE_INACTIVE = "{user} is deactivated and cannot take this feedback."
MSG_ASSIGNEE_NO_ACCESS = "{user} cannot see this workflow: assign someone who works on it."
MSG_TRIAGE_UNCHANGED = "Nothing to save: that is already how it is."
MSG_CANNOT_JOIN = "Only people who use this workflow can vote or comment on its feedback."
MSG_COMMENT_EMPTY = "Write a comment first."
MSG_ALREADY_VOTED = "You already said “me too” to this: each person counts once."
MSG_OWN_FEEDBACK = "This is your own feedback: it already counts you."
MSG_MERGE_SELF = "Feedback cannot be merged into itself."
MSG_MERGE_OTHER_WORKFLOW = "Both must be feedback on the same workflow."
MSG_MERGE_UNKNOWN = "There is no feedback #{id} on this workflow."
MSG_MERGE_INTO_MERGED = "#{id} was itself merged into #{into}: merge into #{into} instead."
MSG_ALREADY_MERGED = "This was already merged into #{id}."
MSG_BULK_NONE = "Tick at least one item first: nothing was changed."
MSG_BULK_TOO_MANY = "Change at most {max} items at a time: nothing was changed."
MSG_BULK_NOTHING_TO_SET = "Choose a status, a severity or an assignee to set: nothing was changed."
MSG_BULK_UNKNOWN = "There is no feedback {ids} on this workflow: nothing was changed."
BULK_MAX = 100  # two pages of the triage list, and a bounded transaction

# The cohort a person's feedback is attributed to, when they are in several: the one that gets
# the workflow live first (the same rule as usage events, rollout.services.usage_ingest).
_ENROLMENT_RANK = {EnrolmentPhase.LIMITED: 0, EnrolmentPhase.BROAD: 1, "": 2}


def _member_cohort(workflow: Workflow, user: User) -> int | None:
    rows = CohortMember.objects.filter(cohort__workflow=workflow, user=user).values_list(
        "cohort_id", "cohort__enrolled_phase", "cohort__name"
    )
    ranked = sorted(rows, key=lambda r: (_ENROLMENT_RANK.get(r[1], 2), r[2], r[0]))
    return ranked[0][0] if ranked else None


def _clean_text(text: str, *, field: str = "text", required: bool = False) -> str:
    text = (text or "").strip()
    if len(text) > MAX_TEXT:
        raise ApplicationError(MSG_TEXT_TOO_LONG.format(length=len(text)), field=field)
    if any(ord(ch) < 32 and ch not in "\t\n\r" for ch in text):
        raise ApplicationError(MSG_CONTROL, field=field)
    if required and not text:
        raise ApplicationError(MSG_COMMENT_EMPTY, field=field)
    return text


def _event_id(workflow: Workflow, event_id: Any) -> uuid.UUID | None:
    if event_id in (None, ""):
        return None
    try:
        value = event_id if isinstance(event_id, uuid.UUID) else uuid.UUID(str(event_id).strip())
    except ValueError:
        raise ApplicationError(MSG_BAD_EVENT, field="event_id") from None
    if not UsageEvent.objects.filter(workflow=workflow, event_id=value).exists():
        raise ApplicationError(MSG_BAD_EVENT, field="event_id")
    return value


@transaction.atomic
def feedback_create(
    *,
    workflow: Workflow,
    rating: str,
    category: str,
    text: str = "",
    author: User | None = None,
    user_ref: str = "",
    event_id: uuid.UUID | str | None = None,
    source: str = "form",
    notify_by_email: bool = True,
    occurred_at: datetime | None = None,
) -> Feedback:
    """File one report. From the form: `author`, who must have a role on the workflow. From the
    AI tool: `user_ref`, resolved to a cohort member when Rollout knows them (else stored with
    author None). The cohort is the author's; `event_id` must name a usage event of this
    workflow. Nothing is stored when any input is refused."""
    if author is not None:
        if not can_give_feedback(author, workflow):
            raise ApplicationError(MSG_NO_ROLE)
        cohort_id = _member_cohort(workflow, author)
        user_ref = user_ref or author.email
    else:
        user_id, cohort_id = attribute_people(workflow, {user_ref}).get(user_ref, (None, None))
        author = User.objects.filter(pk=user_id).first() if user_id else None
    if rating not in FeedbackRating.values:
        raise ApplicationError(MSG_BAD_RATING, field="rating")
    if category not in FeedbackCategory.values:
        raise ApplicationError(MSG_BAD_CATEGORY, field="category")
    feedback = Feedback(
        workflow=workflow,
        author=author,
        user_ref=user_ref[:254],
        cohort_id=cohort_id,
        rating=rating,
        category=category,
        text=_clean_text(text),
        event_id=_event_id(workflow, event_id),
        source=source,
        notify_by_email=notify_by_email,
    )
    feedback.full_clean()
    feedback.save()
    if occurred_at is not None:
        # created_at is auto_now_add; the AI tool may report feedback given a little earlier,
        # and the negative-feedback share counts it on the day it was given.
        Feedback.objects.filter(pk=feedback.pk).update(created_at=occurred_at)
        feedback.created_at = occurred_at
    if category == FeedbackCategory.HARMFUL:
        _open_escalation_for(feedback, author)
    # Not an activity entry (one per report would bury the log), but an event of its own.
    webhook_deliveries_create_for_feedback(feedback)
    return feedback


def _open_escalation_for(feedback: Feedback, actor: User | None) -> None:
    """Harmful output, or feedback triaged critical, walks the workflow's escalation path —
    once: a harmful report later triaged critical raises the open escalation's severity instead
    of opening a second one."""
    severity = feedback.severity or Severity.HIGH
    already = Escalation.objects.filter(feedback=feedback, status__in=OPEN_ESCALATION)
    if already.exists():
        if severity == Severity.CRITICAL:
            already.update(severity=Severity.CRITICAL)
        return
    escalation_open(
        workflow=feedback.workflow,
        title=f"Feedback #{feedback.pk}: {feedback_title(feedback)}"[:200],
        source=EscalationSource.FEEDBACK,
        severity=severity,
        feedback=feedback,
        actor=actor,
        description=feedback.text,
    )


def _check_assignee(workflow: Workflow, assignee: User | None) -> None:
    if assignee is None:
        return
    if not assignee.is_active:
        raise ApplicationError(MSG_ASSIGNEE_INACTIVE.format(user=assignee), field="assignee")
    if not can_view_workflow(assignee, workflow):
        raise ApplicationError(MSG_ASSIGNEE_NO_ACCESS.format(user=assignee), field="assignee")


_UNSET: Any = object()
TRIAGE_FIELDS = ("status", "severity", "assignee")


@transaction.atomic
def feedback_triage(
    *,
    feedback: Feedback,
    actor: User,
    status: str | None = None,
    severity: str | None = None,
    assignee: User | None = _UNSET,
) -> Feedback:
    """Set any of status, severity ("" clears it) and assignee (None: nobody). Owner or ops
    leader only. Recorded; a status change is told to the author and voters; a move to
    critical opens an escalation."""
    workflow = feedback.workflow
    if not can_triage_feedback(actor, workflow):
        raise ApplicationError(MSG_NOT_TRIAGER)
    feedback = (
        Feedback.objects.select_for_update(of=("self",))
        .select_related("assignee")
        .get(pk=feedback.pk)
    )
    feedback.workflow = workflow
    before = snapshot(feedback, TRIAGE_FIELDS)
    if status is not None:
        if status not in FeedbackStatus.values:
            raise ApplicationError(MSG_BAD_STATUS, field="status")
        feedback.status = status
    if severity is not None:
        if severity and severity not in Severity.values:
            raise ApplicationError(MSG_BAD_SEVERITY, field="severity")
        feedback.severity = severity
    if assignee is not _UNSET:
        if assignee != before["assignee"]:
            _check_assignee(workflow, assignee)
        feedback.assignee = assignee
    changes = field_changes(feedback, before, TRIAGE_FIELDS)
    if not changes:
        raise ApplicationError(MSG_TRIAGE_UNCHANGED)
    feedback.full_clean()
    feedback.save()
    activity_record(
        workflow=workflow,
        actor=actor,
        verb="triaged",
        target=f"feedback #{feedback.pk}",
        changes=_display_changes(feedback, before),
    )
    if feedback.status != before["status"]:
        _tell_followers(feedback, actor=actor)
    if feedback.severity == Severity.CRITICAL and before["severity"] != Severity.CRITICAL:
        _open_escalation_for(feedback, actor)
    return feedback


@dataclass(frozen=True)
class BulkTriage:
    """What a bulk triage did: the items it changed (fresh), and the ids already so."""

    changed: list[Feedback]
    unchanged: list[int]


@transaction.atomic
def feedback_triage_bulk(
    *,
    workflow: Workflow,
    ids: Iterable[int],
    actor: User,
    status: str | None = None,
    severity: str | None = None,
    assignee: User | None = _UNSET,
) -> BulkTriage:
    """`feedback_triage` on each of the items `ids` of `workflow` with the same values (None /
    unset: keep), in one transaction: every change is logged, told and escalated exactly as a
    single triage is. Bad input — no ids, too many, an id that is not this workflow's feedback, an
    unknown status or severity, an assignee who may not take it — raises ApplicationError and
    changes nothing. Items already so are left alone (and not logged)."""
    if not can_triage_feedback(actor, workflow):
        raise ApplicationError(MSG_NOT_TRIAGER)
    wanted = sorted(set(ids))
    if not wanted:
        raise ApplicationError(MSG_BULK_NONE, field="ids")
    if len(wanted) > BULK_MAX:
        raise ApplicationError(MSG_BULK_TOO_MANY.format(max=BULK_MAX), field="ids")
    if status is None and severity is None and assignee is _UNSET:
        raise ApplicationError(MSG_BULK_NOTHING_TO_SET)
    if status is not None and status not in FeedbackStatus.values:
        raise ApplicationError(MSG_BAD_STATUS, field="status")
    if severity and severity not in Severity.values:
        raise ApplicationError(MSG_BAD_SEVERITY, field="severity")
    # Locked in id order (as merges lock theirs), so two overlapping bulk edits cannot deadlock.
    rows = list(
        Feedback.objects.select_for_update().filter(workflow=workflow, pk__in=wanted).order_by("pk")
    )
    missing = sorted(set(wanted) - {row.pk for row in rows})
    if missing:
        names = ", ".join(f"#{pk}" for pk in missing)
        raise ApplicationError(MSG_BULK_UNKNOWN.format(ids=names), field="ids")
    if assignee is not _UNSET:
        _check_assignee(workflow, assignee)
    changed: list[Feedback] = []
    unchanged: list[int] = []
    for row in rows:  # one triage each: its own log entry, notifications and escalation
        row.workflow = workflow
        if not _differs(row, status=status, severity=severity, assignee=assignee):
            unchanged.append(row.pk)
            continue
        changed.append(
            feedback_triage(
                feedback=row, actor=actor, status=status, severity=severity, assignee=assignee
            )
        )
    return BulkTriage(changed=changed, unchanged=unchanged)


def _differs(
    feedback: Feedback, *, status: str | None, severity: str | None, assignee: User | None
) -> bool:
    if status is not None and feedback.status != status:
        return True
    if severity is not None and feedback.severity != severity:
        return True
    if assignee is _UNSET:
        return False
    return feedback.assignee_id != (assignee.pk if assignee is not None else None)


def _display_changes(feedback: Feedback, before: dict[str, Any]) -> dict[str, list[str]]:
    """Changes in words ("In progress", not "in_progress")."""
    labels = {
        "status": dict(FeedbackStatus.choices),
        "severity": dict(Severity.choices),
    }
    changes = {}
    for name in TRIAGE_FIELDS:
        old, new = before[name], getattr(feedback, name)
        if old == new:
            continue
        words = labels.get(name, {})
        changes[name] = [str(words.get(old, old or "—")), str(words.get(new, new or "—"))]
    return changes


def _tell_followers(feedback: Feedback, *, actor: User | None, note: str = "") -> None:
    """The author and everyone who said "me too", except the person who made the change."""
    status = feedback.get_status_display().lower()
    workflow = feedback.workflow
    title = feedback_title(feedback, words=6)
    body = f"“{title}” on {workflow.name} is now {status}."
    if note:
        body += f"\n{note}"
    url = feedback_url(feedback)
    followers: dict[int, tuple[User, bool, str]] = {}
    for vote in FeedbackVote.objects.filter(feedback=feedback).select_related("user"):
        followers[vote.user_id] = (
            vote.user,
            vote.notify_by_email,
            f"Feedback you backed is now {status}",
        )
    if feedback.author is not None:
        followers[feedback.author_id] = (
            feedback.author,
            feedback.notify_by_email,
            f"Your feedback is now {status}",
        )
    for user_id, (user, email, heading) in followers.items():
        if actor is not None and user_id == actor.pk or not user.is_active:
            continue
        _tell(user, workflow=workflow, title=f"{heading}: {title}", body=body, url=url, email=email)


def _tell(user: User, *, workflow: Workflow, title: str, body: str, url: str, email: bool) -> None:
    """In the app always; by email if the person wants feedback updates by email, or they
    asked for email on this feedback."""
    notification_send(
        recipient=user,
        workflow=workflow,
        title=title,
        body=body,
        url=url,
        email=EmailCategory.FEEDBACK,
        asked_for_email=email,
    )


def _canonical(feedback: Feedback) -> Feedback:
    """Votes and comments on a merged duplicate go to the feedback it was merged into."""
    # Read afresh: the caller's instance may predate the merge.
    into_id = Feedback.objects.filter(pk=feedback.pk).values_list("duplicate_of_id", flat=True)[0]
    if into_id is None:
        return feedback
    return Feedback.objects.select_related("workflow", "author").get(pk=into_id)


@transaction.atomic
def feedback_comment_add(*, feedback: Feedback, author: User, text: str) -> FeedbackComment:
    """A comment by someone who uses the workflow, or its owner or an ops leader. The author of
    the feedback is told when someone else comments."""
    workflow = feedback.workflow
    if not (can_give_feedback(author, workflow) or can_triage_feedback(author, workflow)):
        raise ApplicationError(MSG_CANNOT_JOIN)
    comment = FeedbackComment(
        feedback=feedback, author=author, text=_clean_text(text, required=True)
    )
    comment.full_clean()
    comment.save()
    # Comments bump the feedback so "recently active" lists see it (updated_at is auto_now).
    Feedback.objects.filter(pk=feedback.pk).update(updated_at=comment.created_at)
    if feedback.author is not None and feedback.author_id != author.pk:
        _tell(
            feedback.author,
            workflow=workflow,
            title=f"{author} commented on your feedback: {feedback_title(feedback, words=6)}",
            body=comment.text[:500],
            url=feedback_url(feedback),
            email=feedback.notify_by_email,
        )
    return comment


@transaction.atomic
def feedback_vote(
    *, feedback: Feedback, user: User, notify_by_email: bool | None = None
) -> FeedbackVote:
    """ "Me too", once per person. A vote on a merged duplicate counts for the feedback it was
    merged into. Voting twice, or on your own feedback, is refused: nothing is doubled."""
    feedback = _canonical(feedback)
    if not can_give_feedback(user, feedback.workflow):
        raise ApplicationError(MSG_CANNOT_JOIN)
    if feedback.author_id == user.pk:
        raise ApplicationError(MSG_OWN_FEEDBACK)
    email = user.email_feedback if notify_by_email is None else notify_by_email
    try:
        with transaction.atomic():
            return FeedbackVote.objects.create(feedback=feedback, user=user, notify_by_email=email)
    except IntegrityError:
        raise ApplicationError(MSG_ALREADY_VOTED) from None


@transaction.atomic
def feedback_merge(*, duplicate: Feedback, into: Feedback, actor: User) -> Feedback:
    """Mark `duplicate` as a duplicate of `into`: it is resolved, points at `into`, and its
    voters (and its author) count as votes for `into`, each person once. Returns `duplicate`."""
    workflow = duplicate.workflow
    if not can_triage_feedback(actor, workflow):
        raise ApplicationError(MSG_NOT_TRIAGER)
    if into.workflow_id != duplicate.workflow_id:
        raise ApplicationError(MSG_MERGE_OTHER_WORKFLOW, field="into")
    if into.pk == duplicate.pk:
        raise ApplicationError(MSG_MERGE_SELF, field="into")
    # Both rows locked, in a fixed order, so two merges of the same pair cannot interleave.
    locked = {
        f.pk: f
        for f in Feedback.objects.select_for_update()
        .filter(pk__in=[duplicate.pk, into.pk])
        .order_by("pk")
    }
    duplicate, into = locked[duplicate.pk], locked[into.pk]
    duplicate.workflow = into.workflow = workflow
    if duplicate.duplicate_of_id is not None:
        raise ApplicationError(MSG_ALREADY_MERGED.format(id=duplicate.duplicate_of_id))
    if into.duplicate_of_id is not None:
        raise ApplicationError(
            MSG_MERGE_INTO_MERGED.format(id=into.pk, into=into.duplicate_of_id), field="into"
        )
    have = set(FeedbackVote.objects.filter(feedback=into).values_list("user_id", flat=True))
    have.add(into.author_id)
    carried: dict[int, FeedbackVote] = {}
    for vote in FeedbackVote.objects.filter(feedback=duplicate).order_by("created_at", "pk"):
        if vote.user_id not in have:
            carried[vote.user_id] = FeedbackVote(
                feedback=into, user_id=vote.user_id, notify_by_email=vote.notify_by_email
            )
    if duplicate.author_id is not None and duplicate.author_id not in have:
        carried[duplicate.author_id] = FeedbackVote(
            feedback=into, user_id=duplicate.author_id, notify_by_email=duplicate.notify_by_email
        )
    FeedbackVote.objects.bulk_create(carried.values(), ignore_conflicts=True)
    before_status = duplicate.status
    duplicate.duplicate_of = into
    duplicate.status = FeedbackStatus.RESOLVED
    duplicate.full_clean()
    duplicate.save()
    activity_record(
        workflow=workflow,
        actor=actor,
        verb="merged",
        target=f"feedback #{duplicate.pk}",
        changes={"duplicate of": ["—", f"#{into.pk}"]},
        note=f"{len(carried)} vote(s) carried over to #{into.pk}.",
    )
    if before_status != duplicate.status:
        _tell_followers(
            duplicate,
            actor=actor,
            note=f"It was merged into #{into.pk}, which you now follow: {feedback_url(into)}",
        )
    return duplicate


def feedback_merge_by_id(*, duplicate: Feedback, into_id: int, actor: User) -> Feedback:
    """`feedback_merge` with the target named by its number, as people type it."""
    into = (
        Feedback.objects.filter(pk=into_id, workflow_id=duplicate.workflow_id)
        .select_related("workflow")
        .first()
    )
    if into is None:
        raise ApplicationError(MSG_MERGE_UNKNOWN.format(id=into_id), field="into")
    return feedback_merge(duplicate=duplicate, into=into, actor=actor)
