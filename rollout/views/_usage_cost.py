"""The usage page's cost section (issue 18 §3): cost per invocation and per accepted output per
cohort and day, the period's totals, the share of events without a known cost, and the forecast
at the next phase. From the cost rollups (rollout.selectors.costs) and the daily usage series the
page already read: a fixed number of queries whatever the data size."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from rollout.lib.charts import PALETTE, Series, ThresholdLine, line_chart
from rollout.lib.numbers import format_money, money_decimals
from rollout.models import Metric, Threshold, Workflow
from rollout.selectors.costs import (
    MAX_UNKNOWN_SHARE,
    CostCounts,
    CostForecast,
    cost_daily,
    cost_forecast,
    currency_code,
    forecast_days,
)
from rollout.selectors.usage import DailySeries
from rollout.views._usage_charts import CHART_SIZE, NO_COHORT_COLOUR, Chart


@dataclass(frozen=True)
class CostRow:
    label: str
    counts: CostCounts
    accepted: int
    is_total: bool = False

    @property
    def per_accepted(self) -> float | None:
        cost = self.counts.estimated_cost
        return cost / self.accepted if cost is not None and self.accepted else None


@dataclass(frozen=True)
class CostSection:
    currency: str
    reports_cost: bool  # some event of the period reported tokens or a cost
    charts: list[Chart]
    rows: list[CostRow]
    total: CostRow
    forecast: CostForecast | None
    max_unknown_share: float = MAX_UNKNOWN_SHARE

    @property
    def unpriced(self) -> list[tuple[str, int]]:
        """Model versions whose events have no known cost, the most events first."""
        return sorted(self.total.counts.unpriced.items(), key=lambda kv: (-kv[1], kv[0]))


def _per_accepted(counts: CostCounts | None, accepted: int) -> float | None:
    if counts is None or not accepted:
        return None
    cost = counts.estimated_cost
    return None if cost is None else cost / accepted


def _axis_money(lines: list[Series], currency: str) -> Callable[[float], str]:
    """Money with one number of decimals along an axis, enough for a quarter of its top value."""
    top = max((v for line in lines for v in line.values if v is not None), default=0.0)
    decimals = money_decimals(top / 4) if top else 2

    def money(value: float) -> str:
        return format_money(value, currency, decimals)

    return money


def _budget_lines(thresholds: list[Threshold], currency: str) -> list[ThresholdLine]:
    """The cost-per-accepted-output thresholds as lines on its chart (where passing ends, and
    where failing begins when there is a marginal band), in the organisation's currency."""
    lines = []
    for t in thresholds:
        if t.metric != Metric.COST_PER_ACCEPTED_OUTPUT:
            continue
        limit = format_money(t.limit, currency)
        if t.marginal_limit is None:
            lines.append(ThresholdLine(t.limit, f"limit ≤ {limit}"))
            continue
        edge = format_money(t.marginal_limit, currency)
        lines.append(ThresholdLine(t.limit, f"limit {limit}", "marginal"))
        lines.append(ThresholdLine(t.marginal_limit, f"fails > {edge}"))
    return lines


def usage_cost(
    workflow: Workflow,
    series: list[DailySeries],
    x_labels: list[str],
    thresholds: list[Threshold],
    *,
    start: date,
    end: date,
    today: date,
    person_days: int | None = None,
    currency: str | None = None,
) -> CostSection:
    """The section for the days of `series` (the page's period, one series per cohort shown),
    with the workflow's cost-per-accepted-output thresholds drawn on its chart. `person_days`:
    the forecast's (rollout.selectors.costs.person_days_in), when the caller read them; likewise
    the organisation's `currency` (rollout.selectors.costs.currency_code)."""
    currency = currency or currency_code()
    # One read for the period and the forecast's days (the week before today).
    by_day = cost_daily(workflow, start=min(start, forecast_days(today)[0]), end=end)
    rows, lines_invocation, lines_accepted = [], [], []
    total_counts, total_accepted = CostCounts(), 0
    for index, s in enumerate(series):
        key = s.cohort.pk if s.cohort else None
        colour = PALETTE[index % len(PALETTE)] if s.cohort else NO_COHORT_COLOUR
        daily = [by_day.get((key, day)) for day in s.days]
        lines_invocation.append(
            Series(s.label, [c.cost_per_event if c else None for c in daily], colour)
        )
        lines_accepted.append(
            Series(
                s.label,
                [_per_accepted(c, u.accepted) for c, u in zip(daily, s.counts, strict=True)],
                colour,
            )
        )
        counts = CostCounts()
        for c in daily:
            if c is not None:
                counts.add(c)
        accepted = sum(u.accepted for u in s.counts)
        rows.append(CostRow(s.label, counts, accepted))
        total_counts.add(counts)
        total_accepted += accepted

    common = {"x_labels": x_labels, **CHART_SIZE}
    charts = [
        Chart(
            "cost-per-invocation",
            "Cost per invocation",
            "The average cost of an AI call whose cost is known, per cohort and day.",
            line_chart(
                series=lines_invocation,
                title="Cost per invocation by cohort",
                y_format=_axis_money(lines_invocation, currency),
                **common,
            ),
        ),
        Chart(
            "cost-per-accepted",
            "Cost per accepted output",
            "What the day's AI calls cost for each output people used as it was (shadow-mode "
            "calls, which nobody accepts, count in the table's totals only).",
            line_chart(
                series=lines_accepted,
                title="Cost per accepted output by cohort",
                y_format=_axis_money(lines_accepted, currency),
                thresholds=_budget_lines(thresholds, currency),
                **common,
            ),
        ),
    ]
    return CostSection(
        currency=currency,
        reports_cost=bool(
            total_counts.costed or total_counts.input_tokens or total_counts.output_tokens
        ),
        charts=charts,
        rows=rows,
        total=CostRow("All shown", total_counts, total_accepted, is_total=True),
        forecast=cost_forecast(workflow, today=today, by_day=by_day, person_days=person_days),
    )
