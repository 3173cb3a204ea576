"""Writing and scheduling change notices (PRODUCT.md "Change notice", rules 5 and 10).

A notice is a draft until it is scheduled. Scheduling checks the rules: the effective time after
the publish time; at least the workflow's lead time between them (rule 5), or else the notice is
urgent, needs a written reason and waits for an ops leader other than its author; neither time
inside a blackout window (rule 10). Publishing is delivery's job (`notices_publish_due`): it locks
the notice row like every write here, so an edit either waits for it and is then refused (the
notice was published meanwhile) or finishes before the publisher reads the notice.

Every write renders the Markdown body to sanitised HTML (`body_html`) and is in the activity log.
"""

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.roles import is_ops_leader
from core.acting import refuse_via_token
from core.errors import ApplicationError
from core.time_zones import format_instant
from core.wake import wake
from rollout.lib.markdown import render_markdown
from rollout.models import (
    ChangeNotice,
    Cohort,
    Incident,
    NoticeAudience,
    NoticeKind,
    NoticeStatus,
    Workflow,
)
from rollout.permissions import can_change_workflow
from rollout.selectors.approval_links import notice_subject
from rollout.selectors.blackouts import blackout_covering
from rollout.selectors.notices import notice_audience_user_ids, notice_is_short
from rollout.services.activity import activity_record, field_changes, snapshot
from rollout.services.approvals import approval_outcome_send, approval_request_send
from rollout.services.blackouts import blackout_ends_label
from rollout.services.notice_delivery import notice_publish_locked

MSG_NOT_ALLOWED = "Only the workflow's owner or an ops leader can write its notices."
MSG_EFFECTIVE_BEFORE_PUBLISH = "The effective time must be after the publish time."
MSG_PUBLISH_IN_PAST = "The publish time has passed: pick a time in the future, or publish now."
MSG_URGENT_REASON_REQUIRED = (
    "This takes effect less than the lead time of {days} days after it is published, so it is "
    "urgent: write why it cannot wait, for the ops leader who approves it."
)
MSG_EFFECTIVE_IN_BLACKOUT = (
    "Nothing can take effect in the “{name}” blackout window; it ends {ends}. "
    "Choose an effective time after it."
)
MSG_PUBLISH_IN_BLACKOUT = (
    "Nothing can be published in the “{name}” blackout window; it ends {ends}. "
    "Choose a publish time after it."
)
MSG_FOREIGN_COHORTS = "Choose cohorts of this workflow only: {names} belong to another workflow."
MSG_NO_AUDIENCE = "Choose who receives it: at least one cohort, everyone, or the followers."
MSG_REMINDER_NEEDS_ACK = (
    "A reminder goes to those who have not acknowledged: ask for acknowledgement."
)
MSG_PUBLISHED = "This notice has been published and can no longer be changed. Write a new notice."
MSG_CANCELLED = "This notice was cancelled and can no longer be changed."
MSG_BEING_PUBLISHED = "This notice is being published right now and can no longer be changed."
MSG_NOT_DRAFT = "Only a draft can be scheduled; this notice is {status}."
MSG_APPROVE_OPS_ONLY = "Only ops leaders can approve urgent notices."
MSG_OWN_NOTICE = "You wrote this notice; another ops leader must approve it."
MSG_NOT_AWAITING = "This notice is not waiting for approval."
MSG_EFFECTIVE_PASSED = "The effective time has passed: the author must choose a new one."
MSG_AUDIENCE_EMPTY = (
    "Nobody would receive this notice today: {why}. It is delivered to whoever is in the "
    "audience when it is published."
)

EDITABLE_FIELDS = (
    "kind",
    "title",
    "body",
    "audience",
    "include_followers",
    "publish_at",
    "effective_at",
    "requires_ack",
    "reminder_hours",
    "urgent_reason",
)
# The publish time a person picks is to the minute; a few minutes' slack stops "now" being refused.
PUBLISH_GRACE = timedelta(minutes=5)
OPEN_STATUSES = (NoticeStatus.DRAFT, NoticeStatus.AWAITING_APPROVAL, NoticeStatus.SCHEDULED)

logger = logging.getLogger(__name__)


# --- helpers -------------------------------------------------------------------------------------


def _check_author(actor: User, workflow: Workflow) -> None:
    if not can_change_workflow(actor, workflow):
        raise ApplicationError(MSG_NOT_ALLOWED)


def _lock(notice: ChangeNotice) -> ChangeNotice:
    """The notice row, locked until the transaction ends. The publisher takes the same lock, so
    whoever comes second sees the other's result."""
    return (
        ChangeNotice.objects.select_for_update(of=("self",))
        .select_related("workflow", "workflow__owner")
        .get(pk=notice.pk)
    )


def _target(notice: ChangeNotice) -> str:
    return f"notice “{notice.title}”"


def _when(at: datetime) -> str:
    return format_instant(at)


def _cohorts(workflow: Workflow, cohorts: Iterable[Cohort | int]) -> list[Cohort]:
    ids = {c.pk if isinstance(c, Cohort) else int(c) for c in cohorts}
    found = list(Cohort.objects.filter(pk__in=ids).order_by("name"))
    foreign = [c.name for c in found if c.workflow_id != workflow.pk]
    if foreign or len(found) != len(ids):
        names = ", ".join(f"“{name}”" for name in foreign) or "some"
        raise ApplicationError(MSG_FOREIGN_COHORTS.format(names=names), field="cohorts")
    return found


def _check_fields(notice: ChangeNotice, cohorts: list[Cohort]) -> None:
    """What every saved notice must satisfy, draft or not."""
    notice.title = (notice.title or "").strip()
    notice.urgent_reason = (notice.urgent_reason or "").strip()
    if notice.publish_at and notice.effective_at and notice.effective_at <= notice.publish_at:
        raise ApplicationError(MSG_EFFECTIVE_BEFORE_PUBLISH, field="effective_at")
    if notice.audience == NoticeAudience.COHORTS and not cohorts and not notice.include_followers:
        raise ApplicationError(MSG_NO_AUDIENCE, field="cohorts")
    if notice.reminder_hours and not notice.requires_ack:
        raise ApplicationError(MSG_REMINDER_NEEDS_ACK, field="reminder_hours")


def _save(notice: ChangeNotice, cohorts: list[Cohort]) -> None:
    """Render the body, validate and save; never a raw save of a notice."""
    notice.body_html = render_markdown(notice.body)
    try:
        notice.full_clean(exclude=["workflow", "cohorts"])
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise ApplicationError(" ".join(messages), field=field) from exc
    notice.save()
    notice.cohorts.set(cohorts)


def _check_blackouts(notice: ChangeNotice) -> None:
    """Rule 10, for both times: the message names the window and when it ends."""
    for at, message, field in (
        (notice.effective_at, MSG_EFFECTIVE_IN_BLACKOUT, "effective_at"),
        (notice.publish_at, MSG_PUBLISH_IN_BLACKOUT, "publish_at"),
    ):
        window = blackout_covering(notice.workflow, at)
        if window is not None:
            ends = blackout_ends_label(window)
            raise ApplicationError(message.format(name=window.name, ends=ends), field=field)


def _decide(notice: ChangeNotice, *, now: datetime, past_publish_ok: bool = False) -> None:
    """Check the scheduling rules and set the status: scheduled, or awaiting an ops leader's
    approval when the notice is urgent. Any earlier approval lapses: it was of other content."""
    if not past_publish_ok and notice.publish_at < now - PUBLISH_GRACE:
        raise ApplicationError(MSG_PUBLISH_IN_PAST, field="publish_at")
    if notice.effective_at <= notice.publish_at:
        raise ApplicationError(MSG_EFFECTIVE_BEFORE_PUBLISH, field="effective_at")
    _check_blackouts(notice)
    notice.approved_by = None
    notice.approved_at = None
    if notice_is_short(notice):
        if not notice.urgent_reason.strip():
            days = notice.workflow.lead_time_days
            raise ApplicationError(
                MSG_URGENT_REASON_REQUIRED.format(days=days), field="urgent_reason"
            )
        notice.status = NoticeStatus.AWAITING_APPROVAL
        notice.urgent = True
    else:
        notice.status = NoticeStatus.SCHEDULED
        notice.urgent = False


def _check_open(notice: ChangeNotice, now: datetime) -> None:
    if notice.status == NoticeStatus.PUBLISHED:
        raise ApplicationError(MSG_PUBLISHED)
    if notice.status == NoticeStatus.CANCELLED:
        raise ApplicationError(MSG_CANCELLED)
    if notice.status == NoticeStatus.SCHEDULED and notice.publish_at <= now:
        # Due: the publisher may already have read it (its lock is taken per notice, briefly).
        raise ApplicationError(MSG_BEING_PUBLISHED)


def _notice_url(notice: ChangeNotice) -> str:
    return reverse("notice_edit", kwargs={"slug": notice.workflow.slug, "notice_id": notice.pk})


def _ask_approval(notice: ChangeNotice, actor: User | None) -> None:
    """Tell the ops leaders (but the author) an urgent notice waits for one of them."""
    approval_request_send(
        workflow=notice.workflow,
        requester=actor,
        title=f"Urgent notice to approve: {notice.title}"[:200],
        body=notice.urgent_reason,
        url=_notice_url(notice),
        subject=notice_subject(notice),
    )


def _status_change(before: str, notice: ChangeNotice) -> dict[str, list[str]]:
    return {"Status": [NoticeStatus(before).label, notice.get_status_display()]}


# --- services ------------------------------------------------------------------------------------


@transaction.atomic
def notice_create(
    *, workflow: Workflow, actor: User | None, cohorts: Iterable[Cohort | int] = (), **fields: Any
) -> ChangeNotice:
    """A draft notice. `actor=None` is the system drafting one (promotion, incident, rule 9).
    Fields: EDITABLE_FIELDS; `cohorts` of this workflow only."""
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"Not a notice field: {', '.join(sorted(unknown))}")
    if actor is not None:
        _check_author(actor, workflow)
    chosen = _cohorts(workflow, cohorts)
    notice = ChangeNotice(workflow=workflow, created_by=actor, status=NoticeStatus.DRAFT, **fields)
    _check_fields(notice, chosen)
    _save(notice, chosen)
    activity_record(
        workflow=workflow,
        actor=actor,
        verb="drafted",
        target=_target(notice),
        changes={"Audience": ["—", notice_audience_label(notice)]},
    )
    return notice


@transaction.atomic
def notice_draft_automatic(
    *,
    workflow: Workflow,
    caused_by: User | None,
    reason: str,
    cohorts: Iterable[Cohort | int] = (),
    **fields: Any,
) -> ChangeNotice:
    """A draft the product makes for the owner (a promotion, a closed incident, a model change):
    no permission check, because the change that causes it was already allowed. `caused_by` is
    recorded as its author, so they cannot approve it if it becomes urgent."""
    chosen = _cohorts(workflow, cohorts)
    notice = ChangeNotice(
        workflow=workflow, created_by=caused_by, status=NoticeStatus.DRAFT, **fields
    )
    _check_fields(notice, chosen)
    _save(notice, chosen)
    activity_record(
        workflow=workflow,
        actor=caused_by,
        verb="drafted automatically",
        target=_target(notice),
        changes={"Audience": ["—", notice_audience_label(notice)]},
        note=reason,
    )
    return notice


@transaction.atomic
def notice_update(
    *,
    notice: ChangeNotice,
    actor: User,
    cohorts: Iterable[Cohort | int] | None = None,
    **fields: Any,
) -> ChangeNotice:
    """Edit a draft, a scheduled notice or one awaiting approval. A scheduled or awaiting notice
    is checked again and stays scheduled only if it still passes; an approval lapses."""
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"Not a notice field: {', '.join(sorted(unknown))}")
    now = timezone.now()
    notice = _lock(notice)
    _check_author(actor, notice.workflow)
    _check_open(notice, now)
    before = snapshot(notice, EDITABLE_FIELDS)
    before_cohorts = sorted(c.name for c in notice.cohorts.all())
    chosen = (
        _cohorts(notice.workflow, cohorts) if cohorts is not None else list(notice.cohorts.all())
    )
    for name, value in fields.items():
        setattr(notice, name, value)
    _check_fields(notice, chosen)
    changes = field_changes(notice, before, [f for f in EDITABLE_FIELDS if f != "body"])
    if notice.body != before["body"]:  # not the whole text: it would swamp the activity log
        changes["body (Markdown)"] = ["…", "rewritten"]
    after_cohorts = sorted(c.name for c in chosen)
    if before_cohorts != after_cohorts:
        changes["cohorts"] = [", ".join(before_cohorts) or "—", ", ".join(after_cohorts) or "—"]
    if not changes:
        return notice
    status = notice.status
    if status != NoticeStatus.DRAFT:
        _decide(notice, now=now)
        if notice.status != status:
            changes.update(_status_change(status, notice))
    _save(notice, chosen)
    activity_record(
        workflow=notice.workflow,
        actor=actor,
        verb="edited",
        target=_target(notice),
        changes=changes,
    )
    if status != notice.status and notice.status == NoticeStatus.AWAITING_APPROVAL:
        _ask_approval(notice, actor)
    return notice


@transaction.atomic
def notice_schedule(*, notice: ChangeNotice, actor: User) -> ChangeNotice:
    """Draft → scheduled, or → awaiting approval when urgent (rule 5). Refused inside a blackout
    window (rule 10), with the effective time not after the publish time, or a past publish time."""
    notice = _lock(notice)
    _check_author(actor, notice.workflow)
    if notice.status != NoticeStatus.DRAFT:
        _check_open(notice, timezone.now())
        raise ApplicationError(MSG_NOT_DRAFT.format(status=notice.get_status_display().lower()))
    return _schedule_locked(notice, actor)


@transaction.atomic
def notice_create_scheduled(
    *, workflow: Workflow, actor: User, cohorts: Iterable[Cohort | int] = (), **fields: Any
) -> ChangeNotice:
    """Write and schedule in one go: nothing is saved if scheduling is refused."""
    notice = notice_create(workflow=workflow, actor=actor, cohorts=cohorts, **fields)
    return notice_schedule(notice=notice, actor=actor)


def _schedule_locked(notice: ChangeNotice, actor: User) -> ChangeNotice:
    before = notice.status
    _decide(notice, now=timezone.now())
    _save(notice, list(notice.cohorts.all()))
    urgent = notice.status == NoticeStatus.AWAITING_APPROVAL
    activity_record(
        workflow=notice.workflow,
        actor=actor,
        verb="asked approval for urgent" if urgent else "scheduled",
        target=_target(notice),
        changes={
            **_status_change(before, notice),
            "Publish at": ["—", _when(notice.publish_at)],
            "Effective at": ["—", _when(notice.effective_at)],
        },
        note=notice.urgent_reason if urgent else "",
    )
    if urgent:
        _ask_approval(notice, actor)
    elif notice.publish_at <= timezone.now():
        # Due now: publish right after commit rather than at the next minutely sweep.
        wake("rollout.tasks.deliver_notices")
    return notice


@transaction.atomic
def notice_publish_now(*, notice: ChangeNotice, actor: User) -> ChangeNotice:
    """Schedule a draft (or move a scheduled notice) to publish now. Rule 5 still holds: an
    effective time sooner than the lead time makes it urgent, awaiting approval."""
    now = timezone.now()
    notice = _lock(notice)
    _check_author(actor, notice.workflow)
    _check_open(notice, now)
    if notice.status == NoticeStatus.AWAITING_APPROVAL:
        raise ApplicationError(MSG_NOT_DRAFT.format(status=notice.get_status_display().lower()))
    notice.publish_at = now
    notice.status = NoticeStatus.DRAFT
    return _schedule_locked(notice, actor)


@transaction.atomic
def notice_approve_urgent(*, notice: ChangeNotice, actor: User, note: str = "") -> ChangeNotice:
    """An ops leader other than the author approves an urgent notice: it is scheduled and stays
    marked urgent. The rules are checked again (a blackout may have been added meanwhile)."""
    now = timezone.now()
    notice = _lock(notice)
    refuse_via_token()
    if not is_ops_leader(actor):
        raise ApplicationError(MSG_APPROVE_OPS_ONLY)
    if notice.created_by_id == actor.pk:
        raise ApplicationError(MSG_OWN_NOTICE)
    if notice.status != NoticeStatus.AWAITING_APPROVAL:
        raise ApplicationError(MSG_NOT_AWAITING)
    if notice.effective_at <= now:
        raise ApplicationError(MSG_EFFECTIVE_PASSED)
    # A publish time that passed while it waited: it goes out at the next run of the publisher.
    _decide(notice, now=now, past_publish_ok=True)
    notice.status = NoticeStatus.SCHEDULED
    notice.urgent = True
    notice.approved_by = actor
    notice.approved_at = now
    _save(notice, list(notice.cohorts.all()))
    activity_record(
        workflow=notice.workflow,
        actor=actor,
        verb="approved urgent",
        target=_target(notice),
        changes=_status_change(NoticeStatus.AWAITING_APPROVAL, notice),
        note=note.strip() or notice.urgent_reason,
    )
    approval_outcome_send(
        workflow=notice.workflow,
        requester=notice.created_by,
        actor=actor,
        title=f"Urgent notice approved: {notice.title}"[:200],
        body=f"{actor} approved it; it is published {_when(notice.publish_at)}.",
        url=_notice_url(notice),
    )
    return notice


@transaction.atomic
def notice_cancel(*, notice: ChangeNotice, actor: User, note: str = "") -> ChangeNotice:
    """Cancel a notice before it is published (a due one the publisher has not taken yet too)."""
    notice = _lock(notice)
    _check_author(actor, notice.workflow)
    if notice.status == NoticeStatus.PUBLISHED:
        raise ApplicationError(MSG_PUBLISHED)
    if notice.status == NoticeStatus.CANCELLED:
        raise ApplicationError(MSG_CANCELLED)
    before = notice.status
    notice.status = NoticeStatus.CANCELLED
    notice.save(update_fields=["status", "updated_at"])
    activity_record(
        workflow=notice.workflow,
        actor=actor,
        verb="cancelled",
        target=_target(notice),
        changes=_status_change(before, notice),
        note=note.strip(),
    )
    return notice


MSG_INCIDENT_URGENT = (
    "Published at once, without approval, by the incident it explains (rule 5's exception)."
)


@transaction.atomic
def notice_publish_for_incident(
    *, incident: Incident, actor: User, kind: NoticeKind, title: str, body: str
) -> ChangeNotice:
    """Publish an incident's explanation (on closing it) or an update on it (while it is open)
    to exactly its affected cohorts — everyone in scope when it named none — at once: no
    approval, marked urgent, logged (rule 5's one exception; every other urgent notice waits for
    an ops leader). Not held by a blackout window: it explains a failure, it changes nothing.
    The caller (rollout.services.incidents) has checked the actor and holds the incident's lock."""
    now = timezone.now()
    workflow = incident.workflow
    cohorts = list(incident.cohorts.all())
    notice = ChangeNotice(
        workflow=workflow,
        kind=kind,
        title=title,
        body=body,
        audience=NoticeAudience.COHORTS if cohorts else NoticeAudience.EVERYONE,
        include_followers=False,  # exactly the people it affected
        publish_at=now,
        effective_at=now,  # it describes what already happened
        requires_ack=False,
        status=NoticeStatus.SCHEDULED,
        urgent=True,
        urgent_reason=MSG_INCIDENT_URGENT,
        incident=incident,
        created_by=actor,
    )
    _save(notice, cohorts)
    activity_record(
        workflow=workflow,
        actor=actor,
        verb="published at once, urgent and without approval,",
        target=_target(notice),
        changes={"Audience": ["—", notice_audience_label(notice, cohorts)]},
        note=MSG_INCIDENT_URGENT,
    )
    notice_publish_locked(_lock(notice), now)
    notice.refresh_from_db()
    return notice


# --- what the author is told ---------------------------------------------------------------------


def notice_audience_label(notice: ChangeNotice, cohorts: Iterable[Cohort] | None = None) -> str:
    """ "EU agents, US agents + followers", "Everyone in scope of the workflow", ..."""
    if notice.audience == NoticeAudience.EVERYONE:
        label = NoticeAudience.EVERYONE.label
    else:
        names = [c.name for c in (notice.cohorts.all() if cohorts is None else cohorts)]
        label = ", ".join(names) or "No cohort"
    return f"{label} + followers" if notice.include_followers else label


def notice_audience_warning(notice: ChangeNotice, cohorts: Iterable[Cohort] | None = None) -> str:
    """A warning for the page when the audience has nobody in it today, else "". Not an error:
    members may be added before it is published. `cohorts` overrides the stored ones (preview)."""
    ids = None
    if notice.audience == NoticeAudience.COHORTS and cohorts is not None:
        ids = [c.pk for c in cohorts]
    if notice_audience_user_ids(notice, cohort_ids=ids):
        return ""
    if notice.audience == NoticeAudience.EVERYONE:
        why = "no cohort of this workflow has members"
    else:
        why = "the chosen cohorts have no members"
    if notice.include_followers:
        why += " and nobody follows the workflow"
    return MSG_AUDIENCE_EMPTY.format(why=why)


def notice_urgent_hint(notice: ChangeNotice) -> str:
    """ "" or why the notice will need an ops leader's approval (rule 5), for the form."""
    if notice.publish_at is None or notice.effective_at is None:
        return ""
    if notice.effective_at <= notice.publish_at or not notice_is_short(notice):
        return ""
    days = notice.workflow.lead_time_days
    return (
        f"It takes effect less than {days} days after it is published, so it is urgent: "
        "it needs a reason and an ops leader's approval."
    )
