"""Blackout windows: periods in which no promotion may be scheduled or run (rule 10). Creating
and deleting one is logged: a workflow's in its activity log, an org-wide one in the org-wide log
(activity entries with no workflow)."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.roles import is_ops_leader
from core.errors import ApplicationError
from core.time_zones import format_instant
from rollout.models import BlackoutWindow, Workflow
from rollout.permissions import can_change_workflow
from rollout.services.activity import activity_record

MSG_IN_BLACKOUT = "No promotion can be scheduled in the “{name}” blackout window; it ends {ends}."
MSG_BLACKOUT_ORG_WIDE_OPS_ONLY = "Only ops leaders can add or remove org-wide blackout windows."
MSG_BLACKOUT_NOT_ALLOWED = "Only the workflow's owner or an ops leader can change its blackouts."
MSG_BLACKOUT_ENDS_BEFORE_START = "The window must end after it starts."
MSG_BLACKOUT_IN_PAST = "The window is already over: pick an end in the future."
MSG_BLACKOUT_NAME_REQUIRED = "Give the window a name people will recognise."


def blackout_ends_label(window: BlackoutWindow) -> str:
    return format_instant(window.ends_at)


def blackout_message(window: BlackoutWindow) -> str:
    return MSG_IN_BLACKOUT.format(name=window.name, ends=blackout_ends_label(window))


def _check_may_change(actor: User, workflow: Workflow | None) -> None:
    if workflow is None:
        if not is_ops_leader(actor):
            raise ApplicationError(MSG_BLACKOUT_ORG_WIDE_OPS_ONLY)
    elif not can_change_workflow(actor, workflow):
        raise ApplicationError(MSG_BLACKOUT_NOT_ALLOWED)


@transaction.atomic
def blackout_create(
    *,
    workflow: Workflow | None = None,
    actor: User,
    name: str,
    starts_at: datetime,
    ends_at: datetime,
) -> BlackoutWindow:
    _check_may_change(actor, workflow)
    name = name.strip()
    if not name:
        raise ApplicationError(MSG_BLACKOUT_NAME_REQUIRED, field="name")
    if ends_at <= starts_at:
        raise ApplicationError(MSG_BLACKOUT_ENDS_BEFORE_START, field="ends_at")
    if ends_at <= timezone.now():
        raise ApplicationError(MSG_BLACKOUT_IN_PAST, field="ends_at")
    window = BlackoutWindow(
        workflow=workflow, name=name, starts_at=starts_at, ends_at=ends_at, created_by=actor
    )
    window.full_clean()
    window.save()
    # An org-wide window (workflow None) goes to the org-wide activity log.
    activity_record(
        workflow=workflow,
        actor=actor,
        verb="added a blackout window" if workflow else "added an org-wide blackout window",
        target=name,
        changes={"Window": ["—", _span(window)]},
    )
    return window


@transaction.atomic
def blackout_delete(*, window: BlackoutWindow, actor: User) -> None:
    _check_may_change(actor, window.workflow)
    activity_record(
        workflow=window.workflow,
        actor=actor,
        verb="removed a blackout window"
        if window.workflow
        else "removed an org-wide blackout window",
        target=window.name,
        changes={"Window": [_span(window), "—"]},
    )
    window.delete()


def _span(window: BlackoutWindow) -> str:
    start = format_instant(window.starts_at)
    return f"{start} – {blackout_ends_label(window)}"
