"""Reads of blackout windows: org-wide ones (workflow None) and one workflow's own."""

from collections.abc import Iterable
from datetime import date, datetime

from django.db.models import Q, QuerySet
from django.utils.formats import date_format

from core.dates import day_bounds
from core.time_zones import format_instant
from rollout.models import IN_PROGRESS, BlackoutWindow, Phase, PhaseStatus, Workflow

MSG_BLOCKED = "Blocked by the “{name}” blackout window, which ends {ends}: {what}"
BLOCKED_NOTICE = (
    "it stays scheduled but is not published while it would publish or take effect inside the "
    "window. Move its times after the window."
)
BLOCKED_PROMOTION = "it stays scheduled and runs once the window is over."
MSG_PHASE_CONFLICT = (
    "Its planned {edge} ({day}) falls in the “{name}” blackout window, which ends {ends}: "
    "nothing can be promoted then. Move the date."
)
# Phases whose planned dates are still ahead of them to keep clear of windows.
_PLANNING = (PhaseStatus.PLANNED, *IN_PROGRESS)


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


def blackouts_overlapping(
    workflow_ids: Iterable[int], start: datetime, end: datetime
) -> list[BlackoutWindow]:
    """Org-wide windows and those of the given workflows that overlap [start, end). One query."""
    return list(
        BlackoutWindow.objects.filter(
            Q(workflow__isnull=True) | Q(workflow_id__in=list(workflow_ids)),
            starts_at__lt=end,
            ends_at__gt=start,
        ).order_by("starts_at", "pk")
    )


def blackout_on_day(
    windows: Iterable[BlackoutWindow], workflow_id: int, day: date
) -> BlackoutWindow | None:
    """The window among `windows` (org-wide or the workflow's) touching the local `day`, ending
    last; else None. No query: a planned phase date is a day, so any overlap is a conflict."""
    lo, hi = day_bounds(day)
    touching = [
        w
        for w in windows
        if w.workflow_id in (None, workflow_id) and w.starts_at < hi and w.ends_at > lo
    ]
    return max(touching, key=lambda w: w.ends_at, default=None)


def phase_conflict_message(phase: Phase, edge: str, window: BlackoutWindow) -> str:
    """`edge` is "start" or "end"."""
    day = phase.planned_start if edge == "start" else phase.planned_end
    return MSG_PHASE_CONFLICT.format(
        edge=edge,
        day=date_format(day, "j M Y"),
        name=window.name,
        ends=format_instant(window.ends_at),
    )


def phase_blackout_conflicts(workflow: Workflow, phases: list[Phase]) -> dict[int, list[str]]:
    """Rule 10 on the plan: {phase id: messages} for each planned start or end of a phase not
    yet completed that falls in a blackout window. One query whatever the number of phases."""
    days = [
        day
        for phase in phases
        if phase.status in _PLANNING
        for day in (phase.planned_start, phase.planned_end)
        if day is not None
    ]
    if not days:
        return {}
    windows = blackouts_overlapping(
        [workflow.pk], day_bounds(min(days))[0], day_bounds(max(days))[1]
    )
    conflicts: dict[int, list[str]] = {}
    for phase in phases:
        if phase.status not in _PLANNING or not windows:
            continue
        edges = [("start", phase.planned_start)] if phase.status == PhaseStatus.PLANNED else []
        edges.append(("end", phase.planned_end))
        for edge, day in edges:
            window = blackout_on_day(windows, workflow.pk, day) if day else None
            if window is not None:
                conflicts.setdefault(phase.pk, []).append(
                    phase_conflict_message(phase, edge, window)
                )
    return conflicts
