"""The roll-out plan: the default five phases, and owners' edits of their dates and criteria."""

import calendar
from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.dateformat import format as date_format

from accounts.models import User
from core.errors import ApplicationError
from rollout.models import Phase, PhaseKind, PhaseStatus, Workflow
from rollout.services.activity import activity_record, field_changes, snapshot
from rollout.services.decision_cache import plan_changed

MSG_PLAN_EXISTS = "“{workflow}” already has a roll-out plan. Edit its phases instead."
MSG_PHASE_COMPLETED = "{phase} is completed: its dates are history and cannot be edited."
MSG_END_REQUIRED = "{phase} needs a planned end. Only steady state runs on without one."
MSG_END_BEFORE_START = "{phase} cannot end on {end}, before it starts on {start}."
MSG_OVERLAPS_PREVIOUS = (
    "{phase} cannot start on {start}: {previous} runs until {previous_end}. "
    "Start it after {previous_end}, or end {previous} earlier first."
)
MSG_OVERLAPS_NEXT = (
    "{phase} cannot end on {end}: {next} starts on {next_start}. "
    "End it before {next_start}, or start {next} later first."
)

EDITABLE_FIELDS = ("planned_start", "planned_end", "exit_criteria", "min_duration_days")

# PRODUCT.md's default plan: (kind, exit criteria, minimum duration in days).
DEFAULT_PHASES = (
    (
        PhaseKind.AUDIT,
        "Every data source is documented with its freshness expectation, validation and last "
        "verification. No source is still a static export without a mapped live equivalent. "
        "An escalation path with at least one level exists.",
        14,
    ),
    (
        PhaseKind.SHADOW,
        "The integration layer runs beside the existing process with logging in place. Quality "
        "thresholds are defined and met over their windows. Every readiness question is answered "
        "yes. A cohort is enrolled for the limited roll-out and has been told ahead of time.",
        14,
    ),
    (
        PhaseKind.LIMITED,
        "A subset of users works with it under active monitoring. Thresholds are met, no "
        "highest-severity escalation is open, and a review cadence is set. The cohorts of the "
        "broad roll-out have been told ahead of time.",
        14,
    ),
    (
        PhaseKind.BROAD,
        "A named owner, a documented escalation path and a review cadence are in place. "
        "Thresholds are met for the last full window and the first quarterly review is scheduled.",
        30,
    ),
    (
        PhaseKind.STEADY,
        "Runs as an operational capability: reviewed every quarter (metrics, owner, thresholds "
        "and escalation path re-attested).",
        0,
    ),
)


def add_months(day: date, months: int) -> date:
    """The same day `months` later, clamped to the end of a shorter month (31 Jan + 1 → 28 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def default_plan_dates(start: date) -> list[tuple[date, date | None]]:
    """(planned start, planned end) of the five default phases, in order."""
    steady_start = add_months(start, 6)
    return [
        (start, start + timedelta(days=27)),  # weeks 1–4
        (start + timedelta(days=28), start + timedelta(days=55)),  # weeks 5–8
        (start + timedelta(days=56), start + timedelta(days=83)),  # weeks 9–12
        (start + timedelta(days=84), steady_start - timedelta(days=1)),  # months 4–6
        (steady_start, None),
    ]


def _day(value: date | None) -> str:
    return date_format(value, "j M Y") if value else "—"


@transaction.atomic
def plan_create_default(*, workflow: Workflow, start_date: date, actor: User) -> list[Phase]:
    """Create the five default phases from `start_date`; the data audit becomes active at once."""
    # Lock the workflow so two concurrent requests cannot both create a plan.
    workflow = Workflow.objects.select_for_update().get(pk=workflow.pk)
    if Phase.objects.filter(workflow=workflow).exists():
        raise ApplicationError(MSG_PLAN_EXISTS.format(workflow=workflow.name))
    now = timezone.now()
    phases = []
    for position, ((kind, criteria, minimum), (start, end)) in enumerate(
        zip(DEFAULT_PHASES, default_plan_dates(start_date), strict=True)
    ):
        first = position == 0
        phase = Phase(
            workflow=workflow,
            kind=kind,
            position=position,
            planned_start=start,
            planned_end=end,
            exit_criteria=criteria,
            min_duration_days=minimum,
            status=PhaseStatus.ACTIVE if first else PhaseStatus.PLANNED,
            actual_start=now if first else None,
        )
        phase.full_clean(exclude=["workflow"])
        phases.append(phase)
    Phase.objects.bulk_create(phases)
    workflow.plan_start_date = start_date
    workflow.save(update_fields=["plan_start_date", "updated_at"])
    activity_record(
        workflow=workflow,
        actor=actor,
        verb="created",
        target="roll-out plan",
        changes={
            "plan start date": ["—", _day(start_date)],
            str(PhaseKind.AUDIT.label): ["Planned", "Active"],
        },
    )
    plan_changed(workflow)
    return phases


def _check_dates(phase: Phase, previous: Phase | None, following: Phase | None) -> None:
    name = phase.get_kind_display()
    start, end = phase.planned_start, phase.planned_end
    if end is None and phase.kind != PhaseKind.STEADY:
        raise ApplicationError(MSG_END_REQUIRED.format(phase=name), field="planned_end")
    if end is not None and end < start:
        raise ApplicationError(
            MSG_END_BEFORE_START.format(phase=name, start=_day(start), end=_day(end)),
            field="planned_end",
        )
    if previous is not None and previous.planned_end and previous.planned_end >= start:
        raise ApplicationError(
            MSG_OVERLAPS_PREVIOUS.format(
                phase=name,
                start=_day(start),
                previous=previous.get_kind_display(),
                previous_end=_day(previous.planned_end),
            ),
            field="planned_start",
        )
    if following is not None and (end is None or end >= following.planned_start):
        raise ApplicationError(
            MSG_OVERLAPS_NEXT.format(
                phase=name,
                end=_day(end),
                next=following.get_kind_display(),
                next_start=_day(following.planned_start),
            ),
            field="planned_end",
        )


@transaction.atomic
def phase_update(
    *,
    phase: Phase,
    actor: User,
    planned_start: date,
    planned_end: date | None,
    exit_criteria: str,
    min_duration_days: int,
) -> Phase:
    """Edit a phase's planned dates, exit criteria and minimum duration.

    Dates stay ordered and never overlap the neighbouring phases; a completed phase is history.
    """
    # Lock every phase of the workflow: the overlap check reads the neighbours' dates.
    siblings = list(
        Phase.objects.select_for_update().filter(workflow_id=phase.workflow_id).order_by("position")
    )
    index = next(i for i, p in enumerate(siblings) if p.pk == phase.pk)
    phase = siblings[index]
    if phase.status == PhaseStatus.COMPLETED:
        raise ApplicationError(MSG_PHASE_COMPLETED.format(phase=phase.get_kind_display()))
    before = snapshot(phase, EDITABLE_FIELDS)
    phase.planned_start = planned_start
    phase.planned_end = planned_end
    phase.exit_criteria = exit_criteria.strip()
    phase.min_duration_days = min_duration_days
    _check_dates(
        phase,
        siblings[index - 1] if index > 0 else None,
        siblings[index + 1] if index + 1 < len(siblings) else None,
    )
    phase.full_clean(exclude=["workflow"])
    changes = field_changes(phase, before, EDITABLE_FIELDS)
    if not changes:
        return phase
    for label in changes:
        if label.startswith("planned"):
            key = "planned_start" if label == "planned start" else "planned_end"
            changes[label] = [_day(before[key]), _day(getattr(phase, key))]
    phase.save()
    activity_record(
        workflow=phase.workflow,
        actor=actor,
        verb="edited",
        target=f"phase {phase.get_kind_display()}",
        changes=changes,
    )
    return phase
