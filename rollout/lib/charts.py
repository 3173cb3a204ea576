"""Server-side SVG charts: line charts for cohort metrics, sparklines for table cells.

Pure Python (no JavaScript, no models). Everything returns a ``SafeString`` ready to drop into a
template with ``{{ chart }}``; every piece of text (series names, labels, title, description) is
escaped here, so user-supplied names are safe.

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
from dataclasses import dataclass
from typing import Literal

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

__all__ = [
    "PALETTE",
    "Series",
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

# Site colours (static/css/rollout.css :root) so charts match the rest of the UI.
TEXT = "#1d2733"
MUTED = "#56606b"
GRID = "#e4e8ed"
AXIS = "#9aa4af"
SURFACE = "#ffffff"
THRESHOLD_COLOURS = {
    # kind: (line, label text)
    "fail": ("#c53030", "#a3262a"),
    "marginal": ("#b7791f", "#8a5300"),
}
FONT_FAMILY = "system-ui, -apple-system, Segoe UI, Roboto, Helvetica Neue, Arial, sans-serif"
FONT_SIZE = 12
EMPTY_MESSAGE = "No data yet for this period"
MAX_X_LABELS = 8

YFormat = Callable[[float], str] | Literal["percent", "ms", "count"]

_COLOUR_RE = re.compile(r"^(#[0-9a-fA-F]{3}|#[0-9a-fA-F]{6}|[a-zA-Z]{3,20})$")
_ID_UNSAFE_RE = re.compile(r"[^A-Za-z0-9_-]+")


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
    """One value as people read it: 0.123 -> "12.3%", 1500 -> "1.5 s", 12000 -> "12,000"."""
    if callable(y_format):
        return y_format(value)
    if y_format == "percent":
        return _trim(f"{value * 100:.1f}") + "%"
    if y_format == "ms":
        if abs(value) >= 1000:
            return _trim(f"{value / 1000:.2f}") + " s"
        return f"{value:.0f} ms"
    if y_format == "count":
        return f"{value:,.0f}" if float(value).is_integer() or abs(value) >= 100 else f"{value:.1f}"
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


def _finite(value: object) -> bool:
    """A plottable number (int, float, Decimal...), not None/NaN/infinity."""
    if value is None or isinstance(value, str):
        return False
    try:
        return math.isfinite(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def _segments(values: Sequence[float | None]) -> list[list[tuple[int, float]]]:
    """Runs of consecutive present values as (index, value); a None (or NaN) breaks the run."""
    runs: list[list[tuple[int, float]]] = []
    current: list[tuple[int, float]] = []
    for index, value in enumerate(values):
        if _finite(value):
            current.append((index, float(value)))  # type: ignore[arg-type]
        elif current:
            runs.append(current)
            current = []
    if current:
        runs.append(current)
    return runs


def _join(parts: Sequence[SafeString | str]) -> SafeString:
    """Concatenate fragments that are all already escaped (built with format_html)."""
    return mark_safe("".join(parts))  # noqa: S308 - every part comes from format_html


# --- Line chart --------------------------------------------------------------------------------


def _summary(
    series: Sequence[Series], x_labels: Sequence[str], y_format: YFormat, empty_message: str
) -> str:
    """Fallback description for screen readers: range of dates and each series' latest value."""
    parts: list[str] = []
    if x_labels:
        parts.append(f"From {x_labels[0]} to {x_labels[-1]}.")
    latest = []
    for s in series:
        present = [(i, v) for i, v in enumerate(s.values) if _finite(v)]
        if present:
            i, v = present[-1]
            when = f" ({x_labels[i]})" if i < len(x_labels) else ""
            latest.append(f"{s.name} {format_value(v, y_format)}{when}")  # type: ignore[arg-type]
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
) -> SafeString:
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

    No series, or nothing but ``None`` values, renders an empty frame with ``empty_message``.
    """
    prefix = _id_prefix(id_prefix)
    n_points = max([len(x_labels), *(len(s.values) for s in series)], default=0)
    labels = [str(label) for label in x_labels] + [""] * (n_points - len(x_labels))
    present = [float(v) for s in series for v in s.values if _finite(v)]  # type: ignore[arg-type]
    desc = description or _summary(series, labels, y_format, empty_message)

    root_open = format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" class="rollout-chart" role="img" '
        'aria-labelledby="{p}-title {p}-desc" viewBox="0 0 {w} {h}" width="{w}" height="{h}" '
        'font-family="{font}" font-size="{size}">'
        '<title id="{p}-title">{title}</title><desc id="{p}-desc">{desc}</desc>',
        p=prefix,
        w=width,
        h=height,
        font=FONT_FAMILY,
        size=FONT_SIZE,
        title=title,
        desc=desc,
    )
    if not present:
        return _join([root_open, _empty_frame(width, height, empty_message), "</svg>"])

    # --- y scale: ticks first (their labels decide the left margin).
    threshold_values = [t.value for t in thresholds if _finite(t.value)]
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

    # --- legend rows (wrap when they don't fit).
    legend_items: list[tuple[str, str, float]] = []  # (name, colour, item width)
    for index, s in enumerate(series):
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

    parts: list[SafeString | str] = [root_open]
    parts.append(
        format_html(
            '<defs><clipPath id="{p}-clip"><rect x="{x}" y="{y}" width="{w}" height="{h}"/>'
            "</clipPath></defs>",
            p=prefix,
            x=_n(left - 5),
            y=_n(top - 5),
            w=_n(plot_w + 10),
            h=_n(plot_h + 10),
        )
    )

    # Legend.
    legend: list[SafeString] = []
    for row_index, row in enumerate(legend_rows):
        x = left
        baseline = 4 + 13 + row_index * 18
        for name, colour, item_width in row:
            legend.append(
                format_html(
                    '<g class="chart-legend-item"><line x1="{x1}" y1="{y}" x2="{x2}" y2="{y}" '
                    'stroke="{c}" stroke-width="3" stroke-linecap="round"/>'
                    '<text x="{tx}" y="{ty}" fill="{text}">{name}</text></g>',
                    x1=_n(x),
                    x2=_n(x + 14),
                    y=_n(baseline - 4),
                    c=colour,
                    tx=_n(x + 19),
                    ty=_n(baseline),
                    text=TEXT,
                    name=name,
                )
            )
            x += item_width
    parts.append(format_html('<g class="chart-legend">{}</g>', _join(legend)))

    # Gridlines and y labels.
    grid: list[SafeString] = []
    for value, label in zip(ticks, tick_labels, strict=True):
        y = y_of(value)
        is_base = value == ticks[0]
        grid.append(
            format_html(
                '<line class="{cls}" x1="{x1}" y1="{y}" x2="{x2}" y2="{y}" stroke="{c}" '
                'stroke-width="1"/>'
                '<text class="chart-tick-label chart-y-label" x="{tx}" y="{ty}" '
                'text-anchor="end" fill="{muted}">{label}</text>',
                cls="chart-axis" if is_base else "chart-grid",
                x1=_n(left),
                x2=_n(right),
                y=_n(y),
                c=AXIS if is_base else GRID,
                tx=_n(left - 8),
                ty=_n(y + 4),
                muted=MUTED,
                label=label,
            )
        )
    parts.append(_join(grid))

    # X labels, thinned so they never overlap, always including the latest point.
    slot = widest_x + 12
    capacity = int(plot_w // slot) + 1 if slot > 0 else n_points
    max_labels = max(1, min(MAX_X_LABELS, capacity, n_points))
    step = math.ceil((n_points - 1) / (max_labels - 1)) if max_labels > 1 else n_points
    shown = sorted(range(n_points - 1, -1, -max(step, 1)))
    if max_labels == 1:
        shown = [n_points - 1]
    x_marks: list[SafeString] = []
    for index in shown:
        x = x_of(index)
        if x - _text_width(labels[index]) / 2 < 0:
            continue  # a long first label would be cut off at the left edge
        x_marks.append(
            format_html(
                '<line class="chart-axis" x1="{x}" y1="{y1}" x2="{x}" y2="{y2}" stroke="{c}" '
                'stroke-width="1"/>'
                '<text class="chart-tick-label chart-x-label" x="{x}" y="{ty}" '
                'text-anchor="middle" fill="{muted}">{label}</text>',
                x=_n(x),
                y1=_n(bottom),
                y2=_n(bottom + 4),
                c=AXIS,
                ty=_n(bottom + 17),
                muted=MUTED,
                label=labels[index],
            )
        )
    parts.append(_join(x_marks))

    # Threshold lines (under the data), labels later (over it).
    visible = sorted(
        (t for t in thresholds if _finite(t.value) and lo <= t.value <= hi),
        key=lambda t: -t.value,
    )
    threshold_lines: list[SafeString] = []
    threshold_labels: list[SafeString] = []
    placed: list[float] = []  # label baselines already used
    for threshold in visible:
        kind = threshold.kind if threshold.kind in THRESHOLD_COLOURS else "fail"
        line_colour, text_colour = THRESHOLD_COLOURS[kind]
        y = y_of(threshold.value)
        threshold_lines.append(
            format_html(
                '<line class="chart-threshold chart-threshold-{kind}" x1="{x1}" y1="{y}" '
                'x2="{x2}" y2="{y}" stroke="{c}" stroke-width="1.5" stroke-dasharray="6 4"/>',
                kind=kind,
                x1=_n(left),
                x2=_n(right),
                y=_n(y),
                c=line_colour,
            )
        )
        # Above the line, unless that's off the top or on top of the previous label.
        label_y = y - 5
        if y - top < 14 or any(abs(label_y - p) < 13 for p in placed):
            label_y = y + 14
        placed.append(label_y)
        threshold_labels.append(
            format_html(
                '<text class="chart-threshold-label chart-threshold-label-{kind}" x="{x}" y="{y}" '
                'text-anchor="end" font-size="11" font-weight="600" fill="{c}" stroke="{halo}" '
                'stroke-width="3" stroke-linejoin="round" paint-order="stroke">{label}</text>',
                kind=kind,
                x=_n(right - 4),
                y=_n(label_y),
                c=text_colour,
                halo=SURFACE,
                label=threshold.label or format_value(threshold.value, y_format),
            )
        )
    parts.append(_join(threshold_lines))

    # Series: a polyline per run of present values, a dot for an isolated value.
    drawn: list[SafeString] = []
    for index, s in enumerate(series):
        colour = _safe_colour(s.colour, index)
        shapes: list[SafeString] = []
        for run in _segments(s.values):
            if len(run) == 1:
                i, v = run[0]
                shapes.append(
                    format_html(
                        '<circle class="chart-point" cx="{x}" cy="{y}" r="3" fill="{c}"/>',
                        x=_n(x_of(i)),
                        y=_n(y_of(v)),
                        c=colour,
                    )
                )
            else:
                points = " ".join(f"{_n(x_of(i))},{_n(y_of(v))}" for i, v in run)
                shapes.append(
                    format_html(
                        '<polyline class="chart-line" points="{pts}" fill="none" stroke="{c}" '
                        'stroke-width="2" stroke-linejoin="round" stroke-linecap="round"/>',
                        pts=points,
                        c=colour,
                    )
                )
        drawn.append(
            format_html(
                '<g class="chart-series chart-series-{i}"><title>{name}</title>{shapes}</g>',
                i=index,
                name=s.name,
                shapes=_join(shapes),
            )
        )
    parts.append(format_html('<g clip-path="url(#{}-clip)">{}</g>', prefix, _join(drawn)))
    parts.append(_join(threshold_labels))
    parts.append("</svg>")
    return _join(parts)


def _empty_frame(width: int, height: int, message: str) -> SafeString:
    return format_html(
        '<rect class="chart-frame" x="0.5" y="0.5" width="{w}" height="{h}" rx="6" fill="none" '
        'stroke="{grid}" stroke-width="1" stroke-dasharray="4 3"/>'
        '<text class="chart-empty" x="{cx}" y="{cy}" text-anchor="middle" font-size="14" '
        'fill="{muted}">{message}</text>',
        w=width - 1,
        h=height - 1,
        grid=AXIS,
        cx=_n(width / 2),
        cy=_n(height / 2 + 5),
        muted=MUTED,
        message=message,
    )


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
) -> SafeString:
    """A tiny inline trend line (no axes) for a table cell; the latest value gets a dot.

    ``label`` is the accessible name (e.g. "Adoption over 30 days: 12% to 48%"); without one
    the sparkline is decorative (``aria-hidden``), so put the number next to it in the cell.
    ``None`` values are gaps. No data draws a faint dashed baseline.
    """
    colour = _safe_colour(colour, 0)
    if label:
        open_tag = format_html(
            '<svg xmlns="http://www.w3.org/2000/svg" class="sparkline" role="img" '
            'aria-label="{label}" viewBox="0 0 {w} {h}" width="{w}" height="{h}">'
            "<title>{label}</title>",
            label=label,
            w=width,
            h=height,
        )
    else:
        open_tag = format_html(
            '<svg xmlns="http://www.w3.org/2000/svg" class="sparkline" aria-hidden="true" '
            'focusable="false" viewBox="0 0 {w} {h}" width="{w}" height="{h}">',
            w=width,
            h=height,
        )
    present = [float(v) for v in values if _finite(v)]  # type: ignore[arg-type]
    if not present:
        empty = format_html(
            '<line class="sparkline-empty" x1="2" y1="{y}" x2="{x2}" y2="{y}" stroke="{c}" '
            'stroke-width="1" stroke-dasharray="3 3"/>',
            y=_n(height / 2),
            x2=_n(width - 2),
            c=AXIS,
        )
        return _join([open_tag, empty, "</svg>"])

    pad = 3.0
    lo = y_min if y_min is not None else min(present)
    hi = y_max if y_max is not None else max(present)
    lo, hi = min(lo, min(present)), max(hi, max(present))
    if hi <= lo:
        hi = lo + (abs(lo) or 1.0)
    count = len(values)

    def x_of(index: int) -> float:
        return pad + (
            index * (width - 2 * pad) / (count - 1) if count > 1 else (width - 2 * pad) / 2
        )

    def y_of(value: float) -> float:
        return height - pad - (value - lo) / (hi - lo) * (height - 2 * pad)

    shapes: list[SafeString] = []
    runs = _segments(values)
    for run in runs:
        if len(run) > 1:
            shapes.append(
                format_html(
                    '<polyline class="sparkline-line" points="{pts}" fill="none" stroke="{c}" '
                    'stroke-width="1.5" stroke-linejoin="round" stroke-linecap="round"/>',
                    pts=" ".join(f"{_n(x_of(i))},{_n(y_of(v))}" for i, v in run),
                    c=colour,
                )
            )
    last_index = runs[-1][-1][0]
    for run in runs:
        for i, v in run:
            if len(run) == 1 or i == last_index:
                shapes.append(
                    format_html(
                        '<circle class="sparkline-point" cx="{x}" cy="{y}" r="{r}" fill="{c}"/>',
                        x=_n(x_of(i)),
                        y=_n(y_of(v)),
                        r="2.5" if i == last_index else "1.75",
                        c=colour,
                    )
                )
    return _join([open_tag, *shapes, "</svg>"])


# --- Data table (screen-reader / no-SVG alternative) ------------------------------------------


def data_table(
    *,
    series: Sequence[Series],
    x_labels: Sequence[str],
    y_format: YFormat,
    caption: str,
    first_header: str = "Date",
    missing: str = "–",
) -> SafeString:
    """The chart's numbers as a ``<table class="chart-data-table">`` (one row per x label).

    Wrap it in (or give it) the site's ``visually-hidden`` class to offer the data to screen
    reader users next to a chart, as the phase timeline does.
    """
    header = format_html_join("", '<th scope="col">{}</th>', ((s.name,) for s in series))
    rows = []
    for index, label in enumerate(x_labels):
        cells = []
        for s in series:
            value = s.values[index] if index < len(s.values) else None
            text = format_value(value, y_format) if _finite(value) else missing  # type: ignore[arg-type]
            cells.append(format_html("<td>{}</td>", text))
        rows.append(format_html('<tr><th scope="row">{}</th>{}</tr>', label, _join(cells)))
    return format_html(
        '<table class="chart-data-table"><caption>{caption}</caption>'
        '<thead><tr><th scope="col">{first}</th>{header}</tr></thead><tbody>{rows}</tbody></table>',
        caption=caption,
        first=first_header,
        header=header,
        rows=_join(rows),
    )
