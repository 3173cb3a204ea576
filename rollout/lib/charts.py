"""Server-side SVG charts: line charts for cohort metrics, sparklines for table cells.

Geometry here, markup in templates: :func:`line_chart`, :func:`sparkline` and :func:`data_table`
compute what to draw and where (scales, ticks and their labels, legend rows, threshold lines, the
points of every line, the accessible text) into frozen dataclasses whose coordinates are already
compact strings; ``templates/rollout/charts/`` turns them into markup, and Django's autoescaping
escapes every piece of text (series names, labels, title, description), so user-supplied names
are safe. Pure Python (no JavaScript, no models). In a template::

    {% include "rollout/charts/line_chart.svg.html" with chart=a_line_chart only %}
    {% include "rollout/charts/sparkline.svg.html" with sparkline=a_sparkline only %}
    {% include "rollout/charts/data_table.html" with table=a_data_table only %}

CSP: the site sends ``style-src 'self'``, so there are no ``style=`` attributes and no ``<style>``
elements. Colours, widths and fonts are SVG presentation attributes (the chart looks right even
without any CSS); the CSS classes below are hooks for ``static/css/rollout.css`` (a presentation
attribute loses to any CSS rule, so a stylesheet can re-theme a chart).

CSS classes
    ``rollout-chart``            the line chart's ``<svg>`` (sized by width/height, shrinks to fit)
    ``chart-legend``             ``<g>`` holding the legend; ``chart-legend-item`` per entry
    ``chart-grid``               horizontal gridlines; ``chart-axis`` the baseline and x ticks
    ``chart-tick-label``         y and x axis labels (also ``chart-y-label`` / ``chart-x-label``)
    ``chart-series``             ``<g>`` per series, plus ``chart-series-N`` (N = 0-based index)
    ``chart-line``               a polyline segment; ``chart-point`` an isolated point
    ``chart-threshold``          a threshold line, plus ``chart-threshold-fail|marginal``
    ``chart-threshold-label``    its label, plus ``chart-threshold-label-fail|marginal``
    ``chart-frame`` / ``chart-empty``   the empty-state frame and its "No data yet" message
    ``sparkline``                the sparkline's ``<svg>`` (``sparkline-line``,
                                 ``sparkline-point``, ``sparkline-empty`` inside)
    ``chart-data-table``         the table from :func:`data_table` (add ``visually-hidden`` to
                                 keep it for screen readers only)

Percentages are fractions: ``y_format="percent"`` shows 0.1 as "10%".
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Literal, SupportsFloat

from rollout.lib.numbers import format_count, format_number, format_percent

__all__ = [
    "PALETTE",
    "DataTable",
    "LineChart",
    "Series",
    "Sparkline",
    "ThresholdLine",
    "data_table",
    "format_value",
    "line_chart",
    "nice_ticks",
    "sparkline",
]

#: Okabe-Ito colour-blind-safe palette (yellow left out: unreadable on white). Blue and green
#: first; orange and vermillion last because they resemble the amber/red threshold lines.
PALETTE: tuple[str, ...] = ("#0072B2", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#D55E00")

# The other colours (text, gridlines, axis, surface: static/css/rollout.css :root) and the font
# family are fixed, so they live in the templates; these vary with what is drawn.
THRESHOLD_COLOURS = {
    # kind: (line, label text)
    "fail": ("#c53030", "#a3262a"),
    "marginal": ("#b7791f", "#8a5300"),
}
# The templates' font size: the layout estimates text widths with it.
FONT_SIZE = 12
EMPTY_MESSAGE = "No data yet for this period"
MAX_X_LABELS = 8

YFormat = Callable[[float], str] | Literal["percent", "ms", "count"]

_COLOUR_RE = re.compile(r"^(#[0-9a-fA-F]{3}|#[0-9a-fA-F]{6}|[a-zA-Z]{3,20})$")
_ID_UNSAFE_RE = re.compile(r"[^A-Za-z0-9_-]+")


# --- Input -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    """One line: ``values[i]`` belongs to ``x_labels[i]``; ``None`` is a gap (no data that day).

    ``colour`` is a hex colour (``#0072B2``) or a colour name; anything else, or ``None``,
    falls back to the palette by position.
    """

    name: str
    values: Sequence[float | None]
    colour: str | None = None


@dataclass(frozen=True)
class ThresholdLine:
    """A horizontal dashed line, e.g. ``ThresholdLine(0.10, "override ≤ 10%", "fail")``."""

    value: float
    label: str
    kind: Literal["fail", "marginal"] = "fail"


# --- Geometry (what the templates draw; coordinates are compact strings) -----------------------


@dataclass(frozen=True)
class Point:
    x: str
    y: str

    def __str__(self) -> str:
        return f"{self.x},{self.y}"


@dataclass(frozen=True)
class Run:
    """Consecutive present values of one series: a polyline, or a dot when it is a single one."""

    points: tuple[Point, ...]

    @property
    def is_dot(self) -> bool:
        return len(self.points) == 1

    @property
    def dot(self) -> Point:
        return self.points[0]

    @property
    def polyline(self) -> str:
        """The ``points`` attribute: "x,y x,y ..."."""
        return " ".join(str(point) for point in self.points)


@dataclass(frozen=True)
class SeriesPath:
    index: int
    name: str  # in full, as the series' <title>
    colour: str
    runs: tuple[Run, ...]
    # Dotted segments across days without data, from the end of one run to the start of the
    # next: the line stays one line (no fragments, no stray dots) and the gap still shows.
    bridges: tuple[Run, ...] = ()


@dataclass(frozen=True)
class LegendItem:
    name: str  # ellipsized to fit
    colour: str
    x1: str  # the colour swatch, a short line from x1 to x2 at y
    x2: str
    y: str
    text_x: str
    text_y: str


@dataclass(frozen=True)
class YTick:
    value: float
    label: str
    y: str
    label_y: str
    is_baseline: bool  # the lowest tick draws the axis, the others gridlines


@dataclass(frozen=True)
class XTick:
    label: str
    x: str


@dataclass(frozen=True)
class ThresholdMark:
    kind: str  # "fail" or "marginal"
    label: str
    y: str
    label_y: str
    line_colour: str
    text_colour: str


@dataclass(frozen=True)
class Rect:
    x: str
    y: str
    width: str
    height: str


@dataclass(frozen=True)
class Axes:
    """Where the plot area sits."""

    left: str  # gridlines and threshold lines run from left to right
    right: str
    bottom: str  # the x axis; its ticks run down to tick_end
    tick_end: str
    x_label_y: str
    y_label_x: str
    threshold_label_x: str


@dataclass(frozen=True)
class Band:
    """The marginal band between a threshold's limit and where failing begins, shaded and
    labelled inside, at its left."""

    rect: Rect
    label: str
    label_x: str
    label_y: str


@dataclass(frozen=True)
class Plot:
    clip: Rect  # the series are clipped to it (values beyond explicit bounds)
    axes: Axes
    legend: tuple[LegendItem, ...]
    y_ticks: tuple[YTick, ...]
    x_ticks: tuple[XTick, ...]
    thresholds: tuple[ThresholdMark, ...]  # highest first
    series: tuple[SeriesPath, ...]
    bands: tuple[Band, ...] = ()


@dataclass(frozen=True)
class EmptyFrame:
    width: int
    height: int
    message_x: str
    message_y: str
    message: str


@dataclass(frozen=True)
class LineChart:
    """Rendered by ``rollout/charts/line_chart.svg.html``: ``plot`` when there is data to draw,
    else ``empty``."""

    id_prefix: str
    width: int
    height: int
    font_size: int
    title: str
    description: str
    plot: Plot | None = None
    empty: EmptyFrame | None = None
    # Said under the chart: series left out of it for want of data, and what dotted lines mean.
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class SparkDot:
    x: str
    y: str
    r: str


@dataclass(frozen=True)
class Sparkline:
    """Rendered by ``rollout/charts/sparkline.svg.html``; without a label it is decorative."""

    width: int
    height: int
    label: str | None
    colour: str
    lines: tuple[str, ...] = ()  # polyline points
    dots: tuple[SparkDot, ...] = ()
    empty_y: str | None = None  # no data: a dashed baseline at this height
    empty_x2: str | None = None


@dataclass(frozen=True)
class DataTable:
    """Rendered by ``rollout/charts/data_table.html``: one row per x label."""

    caption: str
    first_header: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, tuple[str, ...]], ...]  # (x label, formatted cells)


# --- Numbers and formatting --------------------------------------------------------------------


def _n(x: float) -> str:
    """A coordinate, compact: at most one decimal, no trailing zeros."""
    text = f"{x:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _decimals(x: float, max_decimals: int = 4) -> int:
    """Fewest decimals that show ``x`` exactly (2.5 -> 1, 5 -> 0, 0.25 -> 2)."""
    for d in range(max_decimals + 1):
        if abs(round(x, d) - x) < 1e-9 * max(1.0, abs(x)):
            return d
    return max_decimals


def _trim(text: str) -> str:
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_value(value: float, y_format: YFormat) -> str:
    """One value as people read it: 0.123 -> "12.3%", 1500 -> "1.5 s", 12000 -> "12,000" (by
    rollout.lib.numbers, like the tables beside the charts; axis ticks have their own)."""
    if callable(y_format):
        return y_format(value)
    if y_format == "percent":
        return format_percent(value)
    if y_format == "ms":
        if abs(value) >= 1000:
            return _trim(f"{value / 1000:.2f}") + " s"
        return f"{value:.0f} ms"
    if y_format == "count":
        whole = float(value).is_integer() or abs(value) >= 100
        return format_count(value) if whole else format_number(value, 1)
    raise ValueError(f"unknown y_format {y_format!r}: use 'percent', 'ms', 'count' or a callable")


def _tick_labels(ticks: Sequence[float], y_format: YFormat) -> list[str]:
    """Axis labels with one consistent precision (0%, 2.5%, 5% / 0 s, 0.5 s, 1 s / 10k, 20k)."""
    if callable(y_format):
        return [y_format(t) for t in ticks]
    labels = _tick_labels_for(ticks, y_format)
    # A bare zero reads better than "0.0 s" or "0k" (the unit is on the other ticks).
    zero = {"percent": "0%", "ms": "0", "count": "0"}[y_format]
    return [zero if t == 0 else label for t, label in zip(ticks, labels, strict=True)]


def _tick_labels_for(ticks: Sequence[float], y_format: str) -> list[str]:
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    top = max(abs(t) for t in ticks) if ticks else 0.0
    if y_format == "percent":
        d = _decimals(step * 100, 2)
        return [f"{t * 100:.{d}f}%" for t in ticks]
    if y_format == "ms":
        if top >= 1000:
            d = _decimals(step / 1000, 3)
            return [f"{t / 1000:.{d}f} s" for t in ticks]
        return [f"{t:.{_decimals(step, 1)}f} ms" for t in ticks]
    if y_format == "count":
        if top >= 10_000:
            d = _decimals(step / 1000, 2)
            return [f"{t / 1000:,.{d}f}k" for t in ticks]
        return [f"{t:,.{_decimals(step, 2)}f}" for t in ticks]
    raise ValueError(f"unknown y_format {y_format!r}: use 'percent', 'ms', 'count' or a callable")


def nice_ticks(
    lo: float, hi: float, *, max_intervals: int = 4, integer: bool = False
) -> list[float]:
    """Round tick values covering [lo, hi]: steps of 1, 2, 2.5 or 5 x 10^k, at most
    ``max_intervals`` intervals (so 4-5 ticks for the default), e.g. (0, 0.18) ->
    0, 0.05, 0.1, 0.15, 0.2. ``integer=True`` (counts) never steps by less than 1.
    """
    if hi < lo:
        lo, hi = hi, lo
    if hi == lo:
        hi = lo + (abs(lo) or 1.0)
    span = hi - lo
    exponent = math.floor(math.log10(span / max_intervals))
    for e in range(exponent - 1, exponent + 3):
        for mantissa in (1.0, 2.0, 2.5, 5.0):
            step = mantissa * 10.0**e
            if integer and (step < 1 or (mantissa == 2.5 and step < 10)):
                continue
            start = math.floor(lo / step + 1e-9)
            end = math.ceil(hi / step - 1e-9)
            if end - start <= max_intervals:
                digits = max(0, 2 - e)  # enough decimals for the step; drops float noise
                return [round((start + i) * step, digits) for i in range(end - start + 1)]
    # Unreachable for finite input (the last step covers the span in one interval).
    return [lo, hi]  # pragma: no cover


def _text_width(text: str, size: float = FONT_SIZE) -> float:
    """Rendered width of ``text``, estimated on the wide side (calibrated on DejaVu Sans, the
    widest common fallback for system-ui), so layout never relies on a narrow font."""
    width = 0.0
    for ch in text:
        if ch in "il.,:;'|!":
            width += 0.3
        elif ch in " ftrj()[]-/":
            width += 0.4
        elif ch.isdigit():
            width += 0.64
        elif ch in "mwMW%@—≤≥":
            width += 0.95
        elif ch.isupper():
            width += 0.72
        else:
            width += 0.58
    return width * size


def _ellipsize(text: str, max_width: float, size: float = FONT_SIZE) -> str:
    if _text_width(text, size) <= max_width:
        return text
    while text and _text_width(text + "…", size) > max_width:
        text = text[:-1]
    return text.rstrip() + "…"


def _safe_colour(colour: str | None, index: int) -> str:
    if colour and _COLOUR_RE.match(colour):
        return colour
    return PALETTE[index % len(PALETTE)]


def _id_prefix(id_prefix: str | None) -> str:
    if id_prefix is None:
        return f"chart-{uuid.uuid4().hex[:10]}"
    cleaned = _ID_UNSAFE_RE.sub("-", id_prefix).strip("-")
    if not cleaned or not cleaned[0].isalpha():
        cleaned = f"chart-{cleaned}"
    return cleaned


def _number(value: SupportsFloat | str | None) -> float | None:
    """A plottable number (int, float, Decimal...) as a float; None for None, NaN, infinity."""
    if value is None or isinstance(value, str):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _segments(values: Sequence[float | None]) -> list[list[tuple[int, float]]]:
    """Runs of consecutive present values as (index, value); a None (or NaN) breaks the run."""
    runs: list[list[tuple[int, float]]] = []
    current: list[tuple[int, float]] = []
    for index, value in enumerate(values):
        number = _number(value)
        if number is not None:
            current.append((index, number))
        elif current:
            runs.append(current)
            current = []
    if current:
        runs.append(current)
    return runs


# --- Line chart --------------------------------------------------------------------------------


def _summary(
    series: Sequence[Series],
    x_labels: Sequence[str],
    y_format: YFormat,
    empty_message: str,
    segments: Sequence[list[list[tuple[int, float]]]] | None = None,
) -> str:
    """Fallback description for screen readers: range of dates and each series' latest value.
    `segments`: each series' _segments, when the caller has them already."""
    parts: list[str] = []
    if x_labels:
        parts.append(f"From {x_labels[0]} to {x_labels[-1]}.")
    latest = []
    for index, s in enumerate(series):
        runs = segments[index] if segments is not None else _segments(s.values)
        if runs:
            i, v = runs[-1][-1]
            when = f" ({x_labels[i]})" if i < len(x_labels) else ""
            latest.append(f"{s.name} {format_value(v, y_format)}{when}")
    parts.append("Latest: " + "; ".join(latest) + "." if latest else empty_message)
    return " ".join(parts)


def line_chart(
    *,
    series: Sequence[Series],
    x_labels: Sequence[str],
    y_format: YFormat,
    title: str,
    description: str = "",
    thresholds: Sequence[ThresholdLine] = (),
    width: int = 640,
    height: int = 220,
    y_min: float | None = 0,
    y_max: float | None = None,
    id_prefix: str | None = None,
    empty_message: str = EMPTY_MESSAGE,
) -> LineChart:
    """An accessible SVG line chart, one line per series, dates along the bottom.

    * ``y_format``: "percent" (values are fractions), "ms", "count", or a callable
      ``float -> str`` used for the axis labels.
    * ``y_min``/``y_max``: axis bounds; ``None`` fits the data (and thresholds) and rounds out
      to nice ticks. Values outside explicit bounds are clipped.
    * ``thresholds``: dashed lines labelled at the right end (red "fail", amber "marginal").
    * ``title``/``description`` become ``<title>``/``<desc>`` (the chart's accessible name and
      description); an empty description is replaced by a generated summary.
    * ``id_prefix``: prefix for the element ids; default a random one, so several charts can
      share a page (and htmx swaps) without clashing.

    No series, or nothing but ``None`` values, gives an empty frame with ``empty_message``.
    """
    n_points = max([len(x_labels), *(len(s.values) for s in series)], default=0)
    labels = [str(label) for label in x_labels] + [""] * (n_points - len(x_labels))
    # Each series' runs, once: the description, the legend and the lines all need them.
    segments = [_segments(s.values) for s in series]
    chart = LineChart(
        id_prefix=_id_prefix(id_prefix),
        width=width,
        height=height,
        font_size=FONT_SIZE,
        title=title,
        description=description or _summary(series, labels, y_format, empty_message, segments),
    )
    present = [v for runs in segments for run in runs for _, v in run]
    if not present:
        empty = EmptyFrame(width - 1, height - 1, _n(width / 2), _n(height / 2 + 5), empty_message)
        return replace(chart, empty=empty)

    # --- y scale: ticks first (their labels decide the left margin).
    threshold_values = [v for t in thresholds if (v := _number(t.value)) is not None]
    lo = y_min if y_min is not None else min(present + threshold_values)
    hi = y_max if y_max is not None else max([*present, *threshold_values, lo])
    if hi <= lo:
        hi = lo + {"percent": 0.1, "ms": 100.0, "count": 4.0}.get(
            y_format if isinstance(y_format, str) else "", 1.0
        )
    ticks = nice_ticks(lo, hi, integer=y_format == "count")
    if y_min is None:
        lo = ticks[0]
    if y_max is None:
        hi = ticks[-1]
    ticks = [t for t in ticks if lo - 1e-9 * abs(hi - lo) <= t <= hi + 1e-9 * abs(hi - lo)]
    tick_labels = _tick_labels(ticks, y_format)

    # --- legend entries (name, colour, width), in rows that wrap when they don't fit: only the
    # series that draw something; the others are named in a note.
    drawn = {index for index, runs in enumerate(segments) if runs}
    notes: list[str] = []
    silent = [str(s.name) for index, s in enumerate(series) if index not in drawn]
    if silent:
        notes.append(f"No data in this period for {_listed(silent)}.")
    legend_items: list[tuple[str, str, float]] = []
    for index, s in enumerate(series):
        if index not in drawn:
            continue
        name = _ellipsize(str(s.name), width * 0.45)
        legend_items.append((name, _safe_colour(s.colour, index), 18 + _text_width(name) + 18))

    # --- margins.
    left = max(28.0, max(_text_width(label) for label in tick_labels) + 12)
    widest_x = max((_text_width(label) for label in labels), default=0.0)
    last_label = labels[-1] if labels else ""
    right = width - max(10.0, _text_width(last_label) / 2 + 4)
    legend_rows: list[list[tuple[str, str, float]]] = [[]]
    row_width = 0.0
    for item in legend_items:
        if legend_rows[-1] and left + row_width + item[2] > width - 4:
            legend_rows.append([])
            row_width = 0.0
        legend_rows[-1].append(item)
        row_width += item[2]
    legend_height = 18 * len(legend_rows)
    top = 4 + legend_height + 12
    bottom = height - 24.0
    plot_w, plot_h = right - left, bottom - top

    def y_of(value: float) -> float:
        return bottom - (value - lo) / (hi - lo) * plot_h

    def x_of(index: int) -> float:
        if n_points <= 1:
            return left + plot_w / 2
        return left + index * plot_w / (n_points - 1)

    legend: list[LegendItem] = []
    for row_index, row in enumerate(legend_rows):
        x = left
        baseline = 4 + 13 + row_index * 18
        for name, colour, item_width in row:
            legend.append(
                LegendItem(
                    name, colour, _n(x), _n(x + 14), _n(baseline - 4), _n(x + 19), _n(baseline)
                )
            )
            x += item_width

    y_ticks = [
        YTick(value, label, _n(y_of(value)), _n(y_of(value) + 4), value == ticks[0])
        for value, label in zip(ticks, tick_labels, strict=True)
    ]

    # X labels, thinned so they never overlap, always including the latest point.
    slot = widest_x + 12
    capacity = int(plot_w // slot) + 1 if slot > 0 else n_points
    max_labels = max(1, min(MAX_X_LABELS, capacity, n_points))
    step = math.ceil((n_points - 1) / (max_labels - 1)) if max_labels > 1 else n_points
    shown = sorted(range(n_points - 1, -1, -max(step, 1)))
    if max_labels == 1:
        shown = [n_points - 1]
    x_ticks = [
        XTick(labels[index], _n(x_of(index)))
        for index in shown
        # a long first label would be cut off at the left edge
        if x_of(index) - _text_width(labels[index]) / 2 >= 0
    ]

    # Threshold lines, highest first; each label above its line, unless that's off the top or
    # on top of the previous label.
    visible = sorted(
        (t for t in thresholds if _number(t.value) is not None and lo <= t.value <= hi),
        key=lambda t: -t.value,
    )
    marks: list[ThresholdMark] = []
    placed: list[float] = []  # label baselines already used
    for threshold in visible:
        kind = threshold.kind if threshold.kind in THRESHOLD_COLOURS else "fail"
        line_colour, text_colour = THRESHOLD_COLOURS[kind]
        y = y_of(threshold.value)
        label_y = y - 5
        if y - top < 14 or any(abs(label_y - p) < 13 for p in placed):
            label_y = y + 14
        placed.append(label_y)
        label = threshold.label or format_value(threshold.value, y_format)
        marks.append(ThresholdMark(kind, label, _n(y), _n(label_y), line_colour, text_colour))

    # Series: a polyline per run of present values (a dot for an isolated value), and dotted
    # bridges over the days between runs.
    paths = []
    xs = [_n(x_of(i)) for i in range(n_points)]  # each day's x, formatted once for every line
    for index, s in enumerate(series):
        runs = segments[index]
        bridges = tuple(
            Run(
                (
                    Point(xs[before[-1][0]], _n(y_of(before[-1][1]))),
                    Point(xs[after[0][0]], _n(y_of(after[0][1]))),
                )
            )
            for before, after in zip(runs, runs[1:], strict=False)
        )
        paths.append(
            SeriesPath(
                index,
                s.name,
                _safe_colour(s.colour, index),
                tuple(Run(tuple(Point(xs[i], _n(y_of(v))) for i, v in run)) for run in runs),
                bridges,
            )
        )
    if any(path.bridges for path in paths):
        notes.append("Dotted where a day has no data.")

    # The marginal band: between the amber limit and the nearest red line beyond it.
    bands: list[Band] = []
    fail_ys = [float(mark.y) for mark in marks if mark.kind == "fail"]
    for mark in marks:
        if mark.kind != "marginal" or not fail_ys:
            continue
        y = float(mark.y)
        edge = min(fail_ys, key=lambda fail_y: abs(fail_y - y))
        top_y, height_px = min(y, edge), abs(edge - y)
        if height_px < 1:
            continue
        label = "marginal" if height_px >= 12 else ""
        bands.append(
            Band(
                Rect(_n(left), _n(top_y), _n(plot_w), _n(height_px)),
                label,
                _n(left + 6),
                _n(top_y + height_px / 2 + 4),
            )
        )

    plot = Plot(
        clip=Rect(_n(left - 5), _n(top - 5), _n(plot_w + 10), _n(plot_h + 10)),
        axes=Axes(
            left=_n(left),
            right=_n(right),
            bottom=_n(bottom),
            tick_end=_n(bottom + 4),
            x_label_y=_n(bottom + 17),
            y_label_x=_n(left - 8),
            threshold_label_x=_n(right - 4),
        ),
        legend=tuple(legend),
        y_ticks=tuple(y_ticks),
        x_ticks=tuple(x_ticks),
        thresholds=tuple(marks),
        series=tuple(paths),
        bands=tuple(bands),
    )
    return replace(chart, plot=plot, notes=tuple(notes))


def _listed(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


# --- Sparkline ---------------------------------------------------------------------------------


def sparkline(
    values: Sequence[float | None],
    *,
    width: int = 100,
    height: int = 24,
    colour: str | None = None,
    label: str | None = None,
    y_min: float | None = 0,
    y_max: float | None = None,
) -> Sparkline:
    """A tiny inline trend line (no axes) for a table cell; the latest value gets a dot.

    ``label`` is the accessible name (e.g. "Adoption over 30 days: 12% to 48%"); without one
    the sparkline is decorative (``aria-hidden``), so put the number next to it in the cell.
    ``None`` values are gaps. No data draws a faint dashed baseline.
    """
    colour = _safe_colour(colour, 0)
    label = label or None
    runs = _segments(values)
    if not runs:
        return Sparkline(
            width, height, label, colour, empty_y=_n(height / 2), empty_x2=_n(width - 2)
        )

    present = [v for run in runs for _, v in run]
    pad = 3.0
    lo = y_min if y_min is not None else min(present)
    hi = y_max if y_max is not None else max(present)
    lo, hi = min(lo, min(present)), max(hi, max(present))
    if hi <= lo:
        hi = lo + (abs(lo) or 1.0)
    count = len(values)

    def point(index: int, value: float) -> Point:
        x = pad + (index * (width - 2 * pad) / (count - 1) if count > 1 else (width - 2 * pad) / 2)
        y = height - pad - (value - lo) / (hi - lo) * (height - 2 * pad)
        return Point(_n(x), _n(y))

    lines = [" ".join(str(point(i, v)) for i, v in run) for run in runs if len(run) > 1]
    last_index = runs[-1][-1][0]
    dots = [
        SparkDot(p.x, p.y, "2.5" if i == last_index else "1.75")
        for run in runs
        for i, v in run
        if len(run) == 1 or i == last_index
        for p in (point(i, v),)
    ]
    return Sparkline(width, height, label, colour, tuple(lines), tuple(dots))


# --- Data table (screen-reader / no-SVG alternative) ------------------------------------------


def data_table(
    *,
    series: Sequence[Series],
    x_labels: Sequence[str],
    y_format: YFormat,
    caption: str,
    first_header: str = "Date",
    missing: str = "–",
) -> DataTable:
    """The chart's numbers for a ``<table class="chart-data-table">`` (one row per x label).

    Wrap it in (or give it) the site's ``visually-hidden`` class to offer the data to screen
    reader users next to a chart, as the phase timeline does.
    """
    rows = []
    for index, label in enumerate(x_labels):
        cells = []
        for s in series:
            value = _number(s.values[index]) if index < len(s.values) else None
            cells.append(format_value(value, y_format) if value is not None else missing)
        rows.append((label, tuple(cells)))
    return DataTable(caption, first_header, tuple(s.name for s in series), tuple(rows))
