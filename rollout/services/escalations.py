"""Escalations: an open problem walking a workflow's escalation path until someone acts.

Step k notifies level min(k, n) of the path (n levels; after the last, that level is repeated
`workflow.escalation_repeat_last` more times). While an escalation is open and unacknowledged,
`next_step_at` is when the next step is due; the scheduler tick (`escalations_advance`) takes every
due step. The state lives in the database, not in the broker: a restarted or late scheduler
catches up, walking the missed steps in order, each due one response target after the previous
one. A step notifies its level once: the tick claims the row (`select_for_update(skip_locked)`),
re-checks it, and the unique `notified` row per (escalation, step) stops any second run.
"""

from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import EmailCategory, User
from core.errors import ApplicationError
from rollout.models import (
    Escalation,
    EscalationChannel,
    EscalationEvent,
    EscalationEventKind,
    EscalationLevel,
    EscalationSource,
    EscalationStatus,
    Feedback,
    Incident,
    Severity,
    Threshold,
    Workflow,
)
from rollout.permissions import can_act_on_escalation, can_view_workflow
from rollout.selectors.escalation_path import escalation_level_list
from rollout.services.activity import activity_record
from rollout.services.escalation_path import format_minutes
from rollout.services.notifications import notification_send

MSG_TITLE_REQUIRED = "Say in a few words what the problem is."
MSG_SEVERITY_INVALID = "Choose a severity: low, medium, high or critical."
MSG_SOURCE_INVALID = "Unknown escalation source."
MSG_NOTE_REQUIRED = "Write what was done to resolve it: the note is kept in the timeline."
MSG_NOTE_EMPTY = "Write a note first."
MSG_NOT_OPEN = "This escalation is no longer waiting for acknowledgement."
MSG_RESOLVED = "This escalation is already resolved."
MSG_NOT_ALLOWED = "You cannot act on this escalation."
MSG_CONTACT_REQUIRED = "Choose the person to hand it to."
MSG_CONTACT_INACTIVE = "{contact} is deactivated and cannot take this escalation."
MSG_CONTACT_NO_ACCESS = (
    "{contact} cannot see this workflow. Add them to the escalation path first, or choose "
    "someone on it."
)
MSG_SAME_CONTACT = "{contact} already has this escalation."

NOTE_NO_PATH = (
    "This workflow has no escalation path, so nobody was notified. The owner was told; add "
    "levels on the escalation page."
)
NOTE_LATE = "Was due {due}; sent {late} late because the scheduler was behind."
NOTE_CONTACT_INACTIVE = "{contact} is deactivated: nobody was told at this step."
NOTE_EXHAUSTED = "Nobody acknowledged after every level of the path was notified."
NOTE_PATH_EMPTIED = "The escalation path has no levels left to notify."
# A step that runs within this long of its due time is on time, not "late".
LATE_AFTER = timedelta(minutes=2)
# One tick takes at most this many escalations; the next tick takes the rest.
TICK_BATCH = 200


def _now(now: datetime | None) -> datetime:
    return now or timezone.now()


def _severity(escalation: Escalation) -> str:
    return Severity(escalation.severity).label


def _url(escalation: Escalation) -> str:
    return reverse(
        "escalation_detail",
        kwargs={"slug": escalation.workflow.slug, "escalation_id": escalation.pk},
    )


def format_due(when: datetime) -> str:
    """A due time as the timeline note shows it, in the site's time zone."""
    return timezone.localtime(when).strftime("%-d %b %Y, %H:%M %Z")


def _event(escalation: Escalation, kind: str, at: datetime, **fields: object) -> EscalationEvent:
    event = EscalationEvent(escalation=escalation, kind=kind, at=at, **fields)
    event.full_clean(validate_constraints=False)
    event.save()
    return event


def _record(escalation: Escalation, *, actor: User | None, verb: str, note: str = "") -> None:
    activity_record(
        workflow=escalation.workflow,
        actor=actor,
        verb=verb,
        target=f"“{escalation.title}”",
        note=note,
    )


def _save(escalation: Escalation, fields: list[str]) -> None:
    try:
        escalation.full_clean(exclude=["workflow", "feedback", "threshold", "incident"])
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise ApplicationError(" ".join(messages), field=field) from exc
    escalation.save(update_fields=fields) if fields else escalation.save()


def total_steps(levels: list[EscalationLevel], repeat_last: int) -> int:
    """How many notifications a path makes before it is exhausted (0 without levels)."""
    return len(levels) + repeat_last if levels else 0


def level_for_step(levels: list[EscalationLevel], step: int) -> EscalationLevel:
    """Step k (1-based) notifies level k, or the last level once the path has run out."""
    return levels[min(step, len(levels)) - 1]


def _tell(
    escalation: Escalation, *, recipient: User, title: str, body: str, page: bool = False
) -> None:
    """In the app always. A page to a level whose channel is email is emailed whatever the
    contact's preferences (it cannot be turned off: someone must act); anything else is emailed
    as a workflow update, if the person wants those by email."""
    notification_send(
        recipient=recipient,
        workflow=escalation.workflow,
        title=title,
        body=body,
        url=_url(escalation),
        email=EmailCategory.ESCALATIONS if page else EmailCategory.UPDATES,
    )


def _tell_owner(escalation: Escalation, *, title: str, body: str) -> None:
    owner = escalation.workflow.owner
    _tell(escalation, recipient=owner, title=title, body=body)


def _notify_step(
    escalation: Escalation,
    levels: list[EscalationLevel],
    *,
    step: int,
    due: datetime,
    now: datetime,
) -> datetime:
    """Notify the level of `step` (once: a second run finds the step's row and tells nobody),
    move the escalation on to it, and return when the step after it is due."""
    level = level_for_step(levels, step)
    contact = level.contact
    notes = []
    if now - due > LATE_AFTER:
        late = format_minutes(int((now - due).total_seconds() // 60))
        notes.append(NOTE_LATE.format(due=format_due(due), late=late))
    if not contact.is_active:
        notes.append(NOTE_CONTACT_INACTIVE.format(contact=contact))
    try:
        with transaction.atomic():
            _event(
                escalation,
                EscalationEventKind.NOTIFIED,
                now,
                step=step,
                level_position=level.position,
                contact=contact,
                note=" ".join(notes),
            )
    except IntegrityError:
        pass  # this step was already notified (a concurrent or repeated run): tell nobody again
    else:
        if contact.is_active:
            repeat = " again" if step > len(levels) else ""
            _tell(
                escalation,
                recipient=contact,
                title=f"Escalation{repeat} for you (level {level.position}): {escalation.title}",
                body=(
                    f"{escalation.workflow.name}: {_severity(escalation)} severity. "
                    f"Please acknowledge within "
                    f"{format_minutes(level.response_target_minutes)}."
                ),
                page=level.channel == EscalationChannel.EMAIL,
            )
        _record(
            escalation,
            actor=None,
            verb=f"escalated to level {level.position}",
            note=f"Step {step}: {contact} notified by {level.get_channel_display().lower()}.",
        )
    escalation.step = step
    escalation.current_contact = contact
    return due + timedelta(minutes=level.response_target_minutes)


def _exhaust(escalation: Escalation, *, due: datetime, now: datetime, note: str) -> None:
    if now - due > LATE_AFTER:
        note += " " + NOTE_LATE.format(
            due=format_due(due), late=format_minutes(int((now - due).total_seconds() // 60))
        )
    _event(escalation, EscalationEventKind.EXHAUSTED, now, note=note)
    _record(escalation, actor=None, verb="escalation path exhausted for", note=note)
    _tell_owner(
        escalation,
        title=f"Nobody acknowledged: {escalation.title}",
        body=f"{escalation.workflow.name}: {note} It is still open; acknowledge or reassign it.",
    )


@transaction.atomic
def escalation_open(
    *,
    workflow: Workflow,
    title: str,
    source: str,
    severity: str = Severity.HIGH,
    actor: User | None = None,
    feedback: Feedback | None = None,
    threshold: Threshold | None = None,
    incident: Incident | None = None,
    description: str = "",
    now: datetime | None = None,
) -> Escalation:
    """Open an escalation and notify level 1 at once (step 1); the next level is due one response
    target later. Without a path it stays open, says so in its timeline, and the owner is told."""
    now = _now(now)
    title = (title or "").strip()
    if not title:
        raise ApplicationError(MSG_TITLE_REQUIRED, field="title")
    if severity not in Severity.values:
        raise ApplicationError(MSG_SEVERITY_INVALID, field="severity")
    if source not in EscalationSource.values:
        raise ApplicationError(MSG_SOURCE_INVALID)
    escalation = Escalation(
        workflow=workflow,
        title=title,
        description=(description or "").strip(),
        source=source,
        severity=severity,
        feedback=feedback,
        threshold=threshold,
        incident=incident,
        opened_by=actor,
    )
    _save(escalation, [])
    # `opened_at` is auto_now_add: align it with the clock the caller gave (tests, catch-up).
    Escalation.objects.filter(pk=escalation.pk).update(opened_at=now)
    escalation.opened_at = now
    _event(escalation, EscalationEventKind.OPENED, now, actor=actor, note=escalation.description)
    _record(
        escalation,
        actor=actor,
        verb="opened escalation",
        note=f"{_severity(escalation)} severity, {EscalationSource(source).label.lower()}.",
    )
    levels = escalation_level_list(workflow)
    if not levels:
        _event(escalation, EscalationEventKind.NOTE, now, note=NOTE_NO_PATH)
        _tell_owner(
            escalation,
            title=f"Escalation with nobody to notify: {title}",
            body=f"{workflow.name} has no escalation path. {NOTE_NO_PATH}",
        )
        return escalation
    escalation.next_step_at = _notify_step(escalation, levels, step=1, due=now, now=now)
    _save(escalation, ["step", "current_contact", "next_step_at"])
    return escalation


def escalations_advance(*, now: datetime | None = None) -> int:
    """The scheduler tick: take every due step of every open, unacknowledged escalation. Returns
    the number of steps taken (notifications and exhaustions).

    Each escalation is claimed in its own transaction, so one failure does not hold back the
    others and a second scheduler skips rows the first holds (and re-checks the rest).
    """
    now = _now(now)
    due = list(
        Escalation.objects.filter(status=EscalationStatus.OPEN, next_step_at__lte=now)
        .order_by("next_step_at", "pk")
        .values_list("pk", flat=True)[:TICK_BATCH]
    )
    return sum(_advance_one(escalation_id=pk, now=now) for pk in due)


@transaction.atomic
def _advance_one(*, escalation_id: int, now: datetime) -> int:
    escalation = (
        Escalation.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(pk=escalation_id, status=EscalationStatus.OPEN, next_step_at__lte=now)
        .select_related("workflow__owner")
        .first()
    )
    if escalation is None:
        return 0  # another tick holds it or took it; an acknowledgement stopped it
    levels = escalation_level_list(escalation.workflow)
    total = total_steps(levels, escalation.workflow.escalation_repeat_last)
    taken = 0
    due = escalation.next_step_at
    # Catch up: every step whose time has come, in order, each due one response target after
    # the previous one (not after `now`), so a late scheduler does not stretch the path.
    while due is not None and due <= now:
        if escalation.step >= total:
            note = NOTE_EXHAUSTED if levels else NOTE_PATH_EMPTIED
            _exhaust(escalation, due=due, now=now, note=note)
            due = None
        else:
            due = _notify_step(escalation, levels, step=escalation.step + 1, due=due, now=now)
        taken += 1
    escalation.next_step_at = due
    _save(escalation, ["step", "current_contact", "next_step_at"])
    return taken


def _lock(escalation: Escalation) -> Escalation:
    return (
        Escalation.objects.select_for_update(of=("self",))
        .select_related("workflow__owner", "current_contact")
        .get(pk=escalation.pk)
    )


def _check_actor(escalation: Escalation, actor: User) -> None:
    if not can_act_on_escalation(actor, escalation):
        raise ApplicationError(MSG_NOT_ALLOWED)


@transaction.atomic
def escalation_acknowledge(
    *, escalation: Escalation, actor: User, now: datetime | None = None
) -> Escalation:
    """The current contact, the owner or an ops leader takes it on: the climb stops."""
    now = _now(now)
    escalation = _lock(escalation)
    _check_actor(escalation, actor)
    if escalation.status != EscalationStatus.OPEN:
        raise ApplicationError(MSG_NOT_OPEN)
    escalation.status = EscalationStatus.ACKNOWLEDGED
    escalation.acknowledged_at = now
    escalation.acknowledged_by = actor
    escalation.next_step_at = None
    _save(escalation, ["status", "acknowledged_at", "acknowledged_by", "next_step_at"])
    _event(escalation, EscalationEventKind.ACKNOWLEDGED, now, actor=actor, step=escalation.step)
    _record(escalation, actor=actor, verb="acknowledged escalation")
    return escalation


@transaction.atomic
def escalation_reassign(
    *,
    escalation: Escalation,
    actor: User,
    contact: User | None,
    note: str = "",
    now: datetime | None = None,
) -> Escalation:
    """Hand the escalation to another person who can see the workflow. While it is unacknowledged
    the timer restarts from now, so the new contact gets the current level's response target."""
    now = _now(now)
    escalation = _lock(escalation)
    _check_actor(escalation, actor)
    if escalation.status == EscalationStatus.RESOLVED:
        raise ApplicationError(MSG_RESOLVED)
    if contact is None:
        raise ApplicationError(MSG_CONTACT_REQUIRED, field="contact")
    if not contact.is_active:
        raise ApplicationError(MSG_CONTACT_INACTIVE.format(contact=contact), field="contact")
    if not can_view_workflow(contact, escalation.workflow):
        raise ApplicationError(MSG_CONTACT_NO_ACCESS.format(contact=contact), field="contact")
    if escalation.current_contact_id == contact.pk:
        raise ApplicationError(MSG_SAME_CONTACT.format(contact=contact), field="contact")
    before = escalation.current_contact
    escalation.current_contact = contact
    fields = ["current_contact"]
    levels = escalation_level_list(escalation.workflow)
    if escalation.status == EscalationStatus.OPEN and levels and escalation.step:
        target = level_for_step(levels, escalation.step).response_target_minutes
        escalation.next_step_at = now + timedelta(minutes=target)
        fields.append("next_step_at")
    _save(escalation, fields)
    note = (note or "").strip()
    _event(escalation, EscalationEventKind.REASSIGNED, now, actor=actor, contact=contact, note=note)
    activity_record(
        workflow=escalation.workflow,
        actor=actor,
        verb="reassigned escalation",
        target=f"“{escalation.title}”",
        changes={"contact": [str(before or "—"), str(contact)]},
        note=note,
    )
    if contact.pk != actor.pk:
        _tell(
            escalation,
            recipient=contact,
            title=f"Escalation handed to you: {escalation.title}",
            body=f"{escalation.workflow.name}: {actor} handed it to you. {note}".strip(),
        )
    return escalation


@transaction.atomic
def escalation_resolve(
    *, escalation: Escalation, actor: User, note: str, now: datetime | None = None
) -> Escalation:
    """Close it with a note saying what was done. Resolving also stops the climb."""
    now = _now(now)
    note = (note or "").strip()
    if not note:
        raise ApplicationError(MSG_NOTE_REQUIRED, field="note")
    escalation = _lock(escalation)
    _check_actor(escalation, actor)
    if escalation.status == EscalationStatus.RESOLVED:
        raise ApplicationError(MSG_RESOLVED)
    escalation.status = EscalationStatus.RESOLVED
    escalation.resolved_at = now
    escalation.resolved_by = actor
    escalation.resolution_note = note
    escalation.next_step_at = None
    _save(escalation, ["status", "resolved_at", "resolved_by", "resolution_note", "next_step_at"])
    _event(escalation, EscalationEventKind.RESOLVED, now, actor=actor, note=note)
    _record(escalation, actor=actor, verb="resolved escalation", note=note)
    owner = escalation.workflow.owner
    if owner.pk != actor.pk:
        _tell(
            escalation,
            recipient=owner,
            title=f"Escalation resolved: {escalation.title}",
            body=f"{escalation.workflow.name}: resolved by {actor}. {note}",
        )
    return escalation


@transaction.atomic
def escalation_add_note(
    *, escalation: Escalation, actor: User, note: str, now: datetime | None = None
) -> EscalationEvent:
    """A line in the timeline (what was tried, who was called). Does not stop the climb."""
    now = _now(now)
    note = (note or "").strip()
    if not note:
        raise ApplicationError(MSG_NOTE_EMPTY, field="note")
    escalation = _lock(escalation)
    _check_actor(escalation, actor)
    event = _event(escalation, EscalationEventKind.NOTE, now, actor=actor, note=note)
    _record(escalation, actor=actor, verb="added a note to escalation", note=note)
    return event
