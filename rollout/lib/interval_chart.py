"""Server-side SVG geometry of an interval chart ("forest plot"): per row, the difference
AI − holdout as a point, its fixed 95 % interval as a thick bar and its always-valid interval as
a thin, longer one, against a vertical zero line. Rows without enough data say so in words.

Geometry here, markup in ``templates/rollout/charts/interval_chart.svg.html`` (as
rollout.lib.charts does for the line charts): coordinates are compact strings, text is escaped
by the template. Pure Python, no models.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rollout.lib.charts import nice_ticks

WIDTH = 640
LABEL_WIDTH = 170
RIGHT = 48
ROW_HEIGHT = 34
TOP = 30
AXIS = 30
AI_COLOUR = "#0072B2"
SEQUENTIAL_COLOUR = "#56B4E9"


@dataclass(frozen=True)
class IntervalInput:
    """One row: a label, and (when there is enough data) the estimate with both intervals."""

    label: str
    estimate: float | None = None
    fixed: tuple[float, float] | None = None
    sequential: tuple[float, float] | None = None
    note: str = ""  # what the row says in words (e.g. "not enough data: 4 vs 2 people")


@dataclass(frozen=True)
class IntervalRow:
    label: str
    y: str
    label_y: str
    point_x: str | None
    fixed: tuple[str, str] | None
    sequential: tuple[str, str] | None
    note: str
    note_x: str


@dataclass(frozen=True)
class IntervalTick:
    x: str
    label: str


@dataclass(frozen=True)
class IntervalChart:
    width: int
    height: int
    plot_left: int
    plot_right: int
    zero_x: str
    axis_y: str
    top: int
    ticks: list[IntervalTick]
    rows: list[IntervalRow]
    title: str
    better_left: str
    better_right: str
    colour: str = AI_COLOUR
    sequential_colour: str = SEQUENTIAL_COLOUR


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def interval_chart(
    rows: Sequence[IntervalInput],
    *,
    title: str,
    format_tick: Callable[[float], str],
    higher_is_better: bool,
) -> IntervalChart:
    """The chart of `rows`, on one scale that holds every bound and zero."""
    values = [0.0]
    for row in rows:
        for pair in (row.fixed, row.sequential):
            if pair is not None:
                values.extend(pair)
        if row.estimate is not None:
            values.append(row.estimate)
    ticks = nice_ticks(min(values), max(values))
    lo, hi = ticks[0], ticks[-1]
    left, right = LABEL_WIDTH, WIDTH - RIGHT

    def x(value: float) -> str:
        return _fmt(left + (value - lo) / (hi - lo) * (right - left))

    chart_rows = []
    for i, row in enumerate(rows):
        y = TOP + i * ROW_HEIGHT + ROW_HEIGHT / 2
        chart_rows.append(
            IntervalRow(
                label=row.label,
                y=_fmt(y),
                label_y=_fmt(y + 4),
                point_x=x(row.estimate) if row.estimate is not None else None,
                fixed=(x(row.fixed[0]), x(row.fixed[1])) if row.fixed else None,
                sequential=(x(row.sequential[0]), x(row.sequential[1])) if row.sequential else None,
                note=row.note,
                note_x=_fmt(left + 6),
            )
        )
    axis_y = TOP + len(rows) * ROW_HEIGHT
    better, worse = "AI better", "AI worse"
    return IntervalChart(
        width=WIDTH,
        height=axis_y + AXIS,
        plot_left=left,
        plot_right=right,
        zero_x=x(0.0),
        axis_y=_fmt(axis_y),
        top=TOP - 8,
        ticks=[IntervalTick(x(t), format_tick(t)) for t in ticks],
        rows=chart_rows,
        title=title,
        better_left=f"← {worse if higher_is_better else better}",
        better_right=f"{better if higher_is_better else worse} →",
    )
