"""Reads for the plan page: phases, data sources, readiness answers and the timeline geometry."""

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateformat import format as date_format

from rollout.models import (
    DataSource,
    Phase,
    PhaseStatus,
    ReadinessAnswer,
    ReadinessQuestion,
    Workflow,
)
from rollout.selectors.readiness import Observation, readiness_observed


def phase_list(workflow: Workflow) -> QuerySet[Phase]:
    return Phase.objects.filter(workflow=workflow).order_by("position")


def phase_get(workflow: Workflow, kind: str) -> Phase | None:
    """The workflow's phase of this kind, or None (no plan yet, or no such kind)."""
    return Phase.objects.filter(workflow=workflow, kind=kind).first()


def data_source_list(workflow: Workflow) -> QuerySet[DataSource]:
    return DataSource.objects.filter(workflow=workflow).order_by("name")


def data_source_get(workflow: Workflow, source_id: int) -> DataSource | None:
    """One data source of this workflow, or None (another workflow's too)."""
    return DataSource.objects.filter(workflow=workflow, pk=source_id).first()


@dataclass
class ReadinessItem:
    question: str
    label: str
    current: ReadinessAnswer | None
    history: list[ReadinessAnswer] = field(default_factory=list)  # earlier answers, newest first
    # What Rollout observes (rollout.selectors.readiness), when the page asks for it.
    observed: Observation | None = None

    @property
    def contradiction(self) -> bool:
        """The owner declared "yes" and the observation does not bear it out."""
        declared = self.current.answer if self.current else None
        return self.observed is not None and self.observed.contradicts(declared)


def readiness_current(workflow: Workflow, *, observe: bool = False) -> list[ReadinessItem]:
    """The nine questions in order, each with its latest answer (or None) and earlier answers,
    and with `observe`, what Rollout observes for each.

    One query, whatever the number of answers (and a few more to observe)."""
    items = {q.value: ReadinessItem(q.value, q.label, None) for q in ReadinessQuestion}
    answers = (
        ReadinessAnswer.objects.filter(workflow=workflow)
        .select_related("answered_by")
        .order_by("question", "-answered_at", "-id")
    )
    for answer in answers:
        item = items.get(answer.question)
        if item is None:
            continue
        if item.current is None:
            item.current = answer
        else:
            item.history.append(answer)
    if observe:
        for question, observation in readiness_observed(workflow).items():
            items[question].observed = observation
    return list(items.values())


# --- Timeline geometry -------------------------------------------------------------------------

WIDTH = 1000
LABEL_WIDTH = 150
RIGHT_MARGIN = 20
TOP = 40
ROW_HEIGHT = 40
# How much of steady state (open-ended) the axis shows after the broad roll-out ends.
STEADY_SHOWN_DAYS = 60


@dataclass(frozen=True)
class Bar:
    x: float
    width: float


@dataclass(frozen=True)
class TimelineRow:
    kind: str
    label: str
    status: str
    status_label: str
    y: float
    planned: Bar
    actual: Bar | None
    planned_text: str
    actual_text: str


@dataclass(frozen=True)
class Tick:
    x: float
    label: str
    anchor_end: bool = False  # near the right edge the label ends at its line, not starts there


@dataclass(frozen=True)
class Timeline:
    width: int
    height: int
    chart_left: int
    chart_right: int
    start: date
    end: date
    rows: list[TimelineRow]
    ticks: list[Tick]
    today: date
    today_x: float | None  # None when today is outside the axis
    today_label: str
    row_height: int = ROW_HEIGHT


def _day(value: date) -> str:
    return date_format(value, "j M Y")


def _local_date(value) -> date:
    return timezone.localdate(value)


TICK_LABEL_WIDTH = 64  # what "Sep 2026" takes at the timeline's 12 px, with some air
ANCHOR_END_FROM = WIDTH - 100  # a label starting here would run off the right edge


def _apart(ticks: list[Tick]) -> list[Tick]:
    """The month labels, each clear of the one before it: a label near the right edge ends at its
    line (so it stays inside), and one that would then touch its neighbour is left out."""
    kept: list[Tick] = []
    for tick in ticks:
        anchor_end = tick.x > ANCHOR_END_FROM
        left = tick.x - TICK_LABEL_WIDTH if anchor_end else tick.x
        if kept and left < kept[-1].x + (0 if kept[-1].anchor_end else TICK_LABEL_WIDTH):
            continue
        kept.append(Tick(tick.x, tick.label, anchor_end))
    return kept


def phase_timeline(
    workflow: Workflow, today: date, phases: list[Phase] | None = None
) -> Timeline | None:
    """Geometry of the plan as bars on a date axis (planned light, actual solid, today marked).

    Pure arithmetic on the phases (fetched if not given). None when the workflow has no plan."""
    if phases is None:
        phases = list(phase_list(workflow))
    if not phases:
        return None
    starts = [p.planned_start for p in phases]
    ends = [p.planned_end for p in phases if p.planned_end]
    starts += [_local_date(p.actual_start) for p in phases if p.actual_start]
    ends += [_local_date(p.actual_end) for p in phases if p.actual_end]
    first = min(starts)
    last_planned = max(ends) if ends else first
    open_ended = any(p.planned_end is None for p in phases)
    last = last_planned + timedelta(days=STEADY_SHOWN_DAYS if open_ended else 7)
    # Keep today on the axis when it is near the plan; far away it is only stated in words.
    if first - timedelta(days=60) <= today < first:
        first = today
    if last < today <= last + timedelta(days=120):
        last = today + timedelta(days=7)
    span = max((last - first).days, 1)
    chart_left, chart_right = LABEL_WIDTH, WIDTH - RIGHT_MARGIN
    scale = (chart_right - chart_left) / span

    def x_of(day: date) -> float:
        return round(chart_left + (min(max(day, first), last) - first).days * scale, 1)

    def bar(start: date, end: date) -> Bar:
        # An end date is inclusive: the bar covers through the end of that day.
        x = x_of(start)
        return Bar(x=x, width=max(round(x_of(end + timedelta(days=1)) - x, 1), 2.0))

    rows = []
    for index, phase in enumerate(phases):
        planned_end = phase.planned_end or last
        actual = None
        actual_text = "Not started"
        if phase.actual_start:
            actual_start = _local_date(phase.actual_start)
            actual_end = _local_date(phase.actual_end) if phase.actual_end else today
            actual = bar(actual_start, max(actual_end, actual_start))
            actual_text = (
                f"{_day(actual_start)} to {_day(actual_end)}"
                if phase.actual_end
                else f"Since {_day(actual_start)}"
            )
        planned_text = (
            f"{_day(phase.planned_start)} to {_day(phase.planned_end)}"
            if phase.planned_end
            else f"From {_day(phase.planned_start)}, open-ended"
        )
        rows.append(
            TimelineRow(
                kind=phase.kind,
                label=phase.get_kind_display(),
                status=phase.status,
                status_label=PhaseStatus(phase.status).label,
                y=TOP + index * ROW_HEIGHT,
                planned=bar(phase.planned_start, planned_end),
                actual=actual,
                planned_text=planned_text,
                actual_text=actual_text,
            )
        )

    ticks = []
    month = date(first.year, first.month, 1)
    while month <= last:
        if month >= first:
            ticks.append(Tick(x=x_of(month), label=date_format(month, "M Y")))
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    # Too many labels crowd each other: keep every other month on long plans.
    if len(ticks) > 10:
        ticks = ticks[::2]
    ticks = _apart(ticks)

    return Timeline(
        width=WIDTH,
        height=TOP + len(phases) * ROW_HEIGHT + 10,
        chart_left=chart_left,
        chart_right=chart_right,
        start=first,
        end=last,
        rows=rows,
        ticks=ticks,
        today=today,
        today_x=x_of(today) if first <= today <= last else None,
        today_label=f"Today, {_day(today)}",
    )
