"""A workflow's escalation path: ordered levels of who is told, how, and how fast.

Levels are numbered 1..n with no gaps. Every change locks the workflow row first, so two people
editing the path at once are serialised and the numbering stays whole. Contacts get view access to
the workflow through `workflow_access_sync` and lose it when they leave every level (unless another
role keeps it).
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Max

from accounts.models import User
from core.errors import ApplicationError
from rollout.models import EscalationChannel, EscalationLevel, Workflow
from rollout.services.access import workflow_access_sync
from rollout.services.activity import activity_record

MAX_LEVELS = 10
MAX_REPEAT = 10
MAX_TARGET_MINUTES = 60 * 24 * 14
# Renumbering goes through positions far above any real one, so the unique
# (workflow, position) constraint never sees two rows on the same number mid-update.
_RENUMBER_OFFSET = 1000

MSG_CONTACT_REQUIRED = "Choose the person this level notifies."
MSG_CONTACT_INACTIVE = "{contact} is deactivated and cannot be an escalation contact."
MSG_CHANNEL_INVALID = "Choose how this level is notified: email or in-app."
MSG_TARGET_RANGE = "The response target must be between 1 minute and 14 days."
MSG_TOO_MANY_LEVELS = "An escalation path has at most 10 levels."
MSG_ALREADY_FIRST = "Level 1 is already first on the path."
MSG_ALREADY_LAST = "Level {position} is already last on the path."
MSG_DIRECTION_INVALID = "Move a level up or down."
MSG_REPEAT_RANGE = "Repeat the last level between 0 and 10 times."

DIRECTIONS = ("up", "down")


def format_minutes(minutes: int) -> str:
    """A duration in words: "30 minutes", "2 hours", "1 day 6 hours", "1 hour 15 minutes"."""
    parts = []
    for size, unit in ((60 * 24, "day"), (60, "hour"), (1, "minute")):
        count, minutes = divmod(minutes, size)
        if count:
            parts.append(f"{count} {unit}{'' if count == 1 else 's'}")
    return " ".join(parts) or "0 minutes"


def level_summary(level: EscalationLevel) -> str:
    channel = EscalationChannel(level.channel).label.lower()
    return f"{level.contact} by {channel} within {format_minutes(level.response_target_minutes)}"


def _lock(workflow: Workflow) -> Workflow:
    return Workflow.objects.select_for_update().get(pk=workflow.pk)


def _check(contact: User | None, channel: str, response_target_minutes: int) -> User:
    if contact is None:
        raise ApplicationError(MSG_CONTACT_REQUIRED, field="contact")
    if not contact.is_active:
        raise ApplicationError(MSG_CONTACT_INACTIVE.format(contact=contact), field="contact")
    if channel not in EscalationChannel.values:
        raise ApplicationError(MSG_CHANNEL_INVALID, field="channel")
    if not 1 <= response_target_minutes <= MAX_TARGET_MINUTES:
        raise ApplicationError(MSG_TARGET_RANGE, field="response_target")
    return contact


def _full_clean(level: EscalationLevel) -> None:
    try:
        level.full_clean(exclude=["workflow", "position"])
    except ValidationError as exc:  # pragma: no cover - _check covers every field a user sets
        field, messages = next(iter(exc.message_dict.items()))
        raise ApplicationError(" ".join(messages), field=field) from exc


@transaction.atomic
def escalation_level_add(
    *,
    workflow: Workflow,
    actor: User,
    contact: User | None,
    channel: str,
    response_target_minutes: int,
) -> EscalationLevel:
    """Append a level at the end of the path and give its contact view access."""
    contact = _check(contact, channel, response_target_minutes)
    workflow = _lock(workflow)
    last = workflow.escalation_levels.aggregate(last=Max("position"))["last"] or 0
    if last >= MAX_LEVELS:
        raise ApplicationError(MSG_TOO_MANY_LEVELS)
    level = EscalationLevel(
        workflow=workflow,
        position=last + 1,
        contact=contact,
        channel=channel,
        response_target_minutes=response_target_minutes,
    )
    _full_clean(level)
    level.save()
    workflow_access_sync(workflow=workflow, user=contact)
    activity_record(
        workflow=workflow,
        actor=actor,
        verb="added escalation level",
        target=f"level {level.position}",
        changes={f"level {level.position}": ["—", level_summary(level)]},
    )
    return level


@transaction.atomic
def escalation_level_update(
    *,
    level: EscalationLevel,
    actor: User,
    contact: User | None,
    channel: str,
    response_target_minutes: int,
) -> EscalationLevel:
    """Change who a level notifies, how, or how fast. Returns the level, saved only if changed."""
    contact = _check(contact, channel, response_target_minutes)
    workflow = _lock(level.workflow)
    level = EscalationLevel.objects.select_related("contact").get(pk=level.pk)
    old_contact, before = level.contact, level_summary(level)
    level.contact = contact
    level.channel = channel
    level.response_target_minutes = response_target_minutes
    _full_clean(level)
    after = level_summary(level)
    if after == before and old_contact.pk == contact.pk:
        return level
    level.save()
    workflow_access_sync(workflow=workflow, user=old_contact)
    workflow_access_sync(workflow=workflow, user=contact)
    activity_record(
        workflow=workflow,
        actor=actor,
        verb="changed escalation level",
        target=f"level {level.position}",
        changes={f"level {level.position}": [before, after]},
    )
    return level


@transaction.atomic
def escalation_level_remove(*, level: EscalationLevel, actor: User) -> None:
    """Remove a level; the levels after it move up one so the path stays 1..n."""
    workflow = _lock(level.workflow)
    level = EscalationLevel.objects.select_related("contact").get(pk=level.pk)
    position, contact, summary = level.position, level.contact, level_summary(level)
    level.delete()
    later = EscalationLevel.objects.filter(workflow=workflow, position__gt=position)
    later.update(position=F("position") + _RENUMBER_OFFSET)
    EscalationLevel.objects.filter(workflow=workflow, position__gt=_RENUMBER_OFFSET).update(
        position=F("position") - _RENUMBER_OFFSET - 1
    )
    workflow_access_sync(workflow=workflow, user=contact)
    activity_record(
        workflow=workflow,
        actor=actor,
        verb="removed escalation level",
        target=f"level {position}",
        changes={f"level {position}": [summary, "—"]},
    )


@transaction.atomic
def escalation_level_move(*, level: EscalationLevel, actor: User, direction: str) -> None:
    """Swap a level with its neighbour above ("up") or below ("down")."""
    if direction not in DIRECTIONS:
        raise ApplicationError(MSG_DIRECTION_INVALID)
    workflow = _lock(level.workflow)
    level = EscalationLevel.objects.select_related("contact").get(pk=level.pk)
    old = level.position
    new = old - 1 if direction == "up" else old + 1
    neighbour = EscalationLevel.objects.filter(workflow=workflow, position=new).first()
    if neighbour is None:
        message = MSG_ALREADY_FIRST if direction == "up" else MSG_ALREADY_LAST
        raise ApplicationError(message.format(position=old))
    # Through a free number, so the unique (workflow, position) constraint always holds.
    EscalationLevel.objects.filter(pk=level.pk).update(position=old + _RENUMBER_OFFSET)
    EscalationLevel.objects.filter(pk=neighbour.pk).update(position=old)
    EscalationLevel.objects.filter(pk=level.pk).update(position=new)
    activity_record(
        workflow=workflow,
        actor=actor,
        verb="moved escalation level",
        target=f"{level.contact}'s level",
        changes={"level": [str(old), str(new)]},
    )


@transaction.atomic
def escalation_repeat_set(*, workflow: Workflow, actor: User, repeat_last: int) -> Workflow:
    """How many more times the last level is notified when nobody acknowledges (0–10)."""
    if not 0 <= repeat_last <= MAX_REPEAT:
        raise ApplicationError(MSG_REPEAT_RANGE, field="repeat_last")
    workflow = _lock(workflow)
    before = workflow.escalation_repeat_last
    if before == repeat_last:
        return workflow
    workflow.escalation_repeat_last = repeat_last
    workflow.save(update_fields=["escalation_repeat_last", "updated_at"])
    activity_record(
        workflow=workflow,
        actor=actor,
        verb="changed escalation repeat",
        target="escalation path",
        changes={"repeat the last level": [str(before), str(repeat_last)]},
    )
    return workflow
