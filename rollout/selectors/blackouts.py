"""Reads of blackout windows: org-wide ones (workflow None) and one workflow's own."""

from datetime import datetime

from django.db.models import Q, QuerySet

from core.time_zones import format_instant
from rollout.models import BlackoutWindow, Workflow

MSG_BLOCKED = "Blocked by the “{name}” blackout window, which ends {ends}: {what}"
BLOCKED_NOTICE = (
    "it stays scheduled but is not published while it would publish or take effect inside the "
    "window. Move its times after the window."
)
BLOCKED_PROMOTION = "it stays scheduled and runs once the window is over."


def blackout_list(workflow: Workflow | None) -> QuerySet[BlackoutWindow]:
    """Org-wide windows (workflow None), or one workflow's own windows, soonest first, with who
    added each."""
    return (
        BlackoutWindow.objects.filter(workflow=workflow)
        .select_related("created_by")
        .order_by("starts_at", "pk")
    )


def blackout_get(workflow: Workflow | None, blackout_id: int) -> BlackoutWindow:
    """One org-wide window (workflow None) or one of this workflow's; raises
    BlackoutWindow.DoesNotExist for any other."""
    return BlackoutWindow.objects.get(pk=blackout_id, workflow=workflow)


def blackout_covering(workflow: Workflow, at: datetime) -> BlackoutWindow | None:
    """The window (org-wide or the workflow's own) in force at `at`, ending last; else None."""
    return (
        BlackoutWindow.objects.filter(Q(workflow__isnull=True) | Q(workflow=workflow))
        .filter(starts_at__lte=at, ends_at__gt=at)
        .order_by("-ends_at", "pk")
        .first()
    )


def blackout_block_message(window: BlackoutWindow, what: str) -> str:
    """What a scheduled notice or promotion stopped by a window says (rule 10); `what` is
    BLOCKED_NOTICE or BLOCKED_PROMOTION."""
    return MSG_BLOCKED.format(name=window.name, ends=format_instant(window.ends_at), what=what)
