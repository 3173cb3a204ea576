"""The usage page's charts: one line per cohort for adoption and each quality rate, with the
workflow's threshold lines, and latency p50/p95. Pure presentation over the daily series: the
page draws each chart's geometry with rollout/charts/line_chart.svg.html."""

from dataclasses import dataclass

from rollout.lib.charts import PALETTE, LineChart, Series, ThresholdLine, line_chart
from rollout.models import Comparator, Metric, Threshold
from rollout.selectors.thresholds import format_threshold_value
from rollout.selectors.usage import DailySeries, UsageCounts

NO_COHORT_COLOUR = "#7b8794"
# The adoption chart averages each day with the days before it (daily adoption dips every weekend).
SMOOTHING_DAYS = 7
CHART_SIZE = {"width": 420, "height": 230}


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    intro: str
    line: LineChart
    note: str = ""


# Rate charts: (metric, title, what the line means).
RATE_CHARTS = (
    (
        Metric.ACCEPTANCE_RATE,
        "Acceptance rate",
        "Share of the outputs people acted on that they used as they were.",
    ),
    (
        Metric.OVERRIDE_RATE,
        "Override rate",
        "Share of the outputs people acted on that they replaced with their own.",
    ),
    (Metric.ERROR_RATE, "Error rate", "Share of invocations that failed."),
)


def _colour(series: DailySeries, index: int) -> str:
    return PALETTE[index % len(PALETTE)] if series.cohort else NO_COHORT_COLOUR


def _threshold_lines(thresholds: list[Threshold], metric: str) -> list[ThresholdLine]:
    """Where passing ends, and where failing begins. Without a marginal band both are the limit
    (red); with one, the limit is amber (beyond it is marginal) and the band's edge is red."""
    lines = []
    for t in thresholds:
        if t.metric != metric:
            continue
        at_most = t.comparator == Comparator.AT_MOST
        limit = format_threshold_value(metric, t.limit)
        if t.marginal_limit is None:
            lines.append(ThresholdLine(t.limit, f"limit {'≤' if at_most else '≥'} {limit}"))
            continue
        edge = format_threshold_value(metric, t.marginal_limit)
        lines.append(ThresholdLine(t.limit, f"limit {limit}", "marginal"))
        lines.append(ThresholdLine(t.marginal_limit, f"fails {'>' if at_most else '<'} {edge}"))
    return lines


def _window_note(thresholds: list[Threshold], metric: str, *, daily: bool = True) -> str:
    windows = sorted({t.window_days for t in thresholds if t.metric == metric})
    if not windows:
        return ""
    days = " or ".join(str(d) for d in windows)
    note = f"The threshold is judged over {days} days, not a single day."
    return f"Daily values. {note}" if daily else note


def smoothed_adoption(extended: DailySeries) -> list[float | None]:
    """Each shown day's adoption averaged with the SMOOTHING_DAYS - 1 days before it (fetched for
    the purpose), so weekends and quiet days don't hide the trend."""
    daily = [c.adoption_rate for c in extended.counts]
    averages: list[float | None] = []
    for end in range(SMOOTHING_DAYS - 1, len(daily)):
        window = [v for v in daily[end - SMOOTHING_DAYS + 1 : end + 1] if v is not None]
        averages.append(sum(window) / len(window) if window else None)
    return averages


def shown_days(extended: list[DailySeries]) -> list[DailySeries]:
    """The period itself, without the days fetched only for smoothing."""
    skip = SMOOTHING_DAYS - 1
    return [DailySeries(s.cohort, s.days[skip:], s.counts[skip:]) for s in extended]


def usage_charts(
    extended: list[DailySeries], thresholds: list[Threshold], x_labels: list[str]
) -> list[Chart]:
    series = shown_days(extended)
    common = {"x_labels": x_labels, **CHART_SIZE}
    colours = [_colour(s, i) for i, s in enumerate(extended)]
    coloured = list(zip(series, colours, strict=True))
    charts = [
        Chart(
            "adoption",
            "Active on a typical day",
            f"Share of each cohort's members who use it on a typical day: the average of the "
            f"{SMOOTHING_DAYS} days up to each date.",
            line_chart(
                series=[
                    Series(s.label, smoothed_adoption(s), colour)
                    for s, colour in zip(extended, colours, strict=True)
                    if s.cohort
                ],
                y_format="percent",
                title="Active on a typical day by cohort, 7-day average",
                thresholds=_threshold_lines(thresholds, Metric.ADOPTION_RATE),
                **common,
            ),
            _window_note(thresholds, Metric.ADOPTION_RATE, daily=False),
        )
    ]
    for metric, title, intro in RATE_CHARTS:
        lines = _threshold_lines(thresholds, metric)
        charts.append(
            Chart(
                metric,
                title,
                intro,
                line_chart(
                    series=[
                        Series(s.label, [getattr(c, metric) for c in s.counts], colour)
                        for s, colour in coloured
                    ],
                    y_format="percent",
                    title=f"{title} by cohort",
                    thresholds=lines,
                    **common,
                ),
                _window_note(thresholds, metric),
            )
        )
    charts.append(_latency_chart(series, thresholds, common))
    if any(c.shadow_compared for s in series for c in s.counts):
        metric = Metric.SHADOW_AGREEMENT_RATE
        charts.append(
            Chart(
                metric,
                "Shadow agreement",
                "Share of shadow cases where the AI agreed with what the person did.",
                line_chart(
                    series=[
                        Series(s.label, [c.shadow_agreement_rate for c in s.counts], colour)
                        for s, colour in coloured
                    ],
                    y_format="percent",
                    title="Shadow agreement by cohort",
                    thresholds=_threshold_lines(thresholds, metric),
                    **common,
                ),
                _window_note(thresholds, metric),
            )
        )
    return charts


def _latency_chart(series: list[DailySeries], thresholds: list[Threshold], common: dict) -> Chart:
    """p50 and p95 of everyone shown, per day: the cohorts' histograms added up (the
    percentiles need nothing else of the day's counts)."""
    days = len(common["x_labels"])
    combined = [UsageCounts.latency_of([s.counts[day] for s in series]) for day in range(days)]
    metric = Metric.P95_LATENCY_MS
    return Chart(
        "latency",
        "Latency",
        "How long people waited for an output: the median (p50) and the slowest 5% (p95).",
        line_chart(
            series=[
                Series("p50", [c.p50_latency_ms for c in combined], PALETTE[4]),
                Series("p95", [c.p95_latency_ms for c in combined], PALETTE[0]),
            ],
            y_format="ms",
            title="Latency, p50 and p95",
            thresholds=_threshold_lines(thresholds, metric),
            **common,
        ),
        _window_note(thresholds, metric),
    )
