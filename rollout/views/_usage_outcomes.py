"""The usage page's "Outcomes: AI vs holdout" section: per declared outcome metric, per cohort
and for the workflow, the difference AI − holdout with its fixed 95 % interval (a chart and a
table), the always-valid interval the gates use beside it, the relative figure with its own
interval, and the people per arm; "not enough data" below the minimum. Two queries."""

from dataclasses import dataclass
from datetime import date

from rollout.lib.interval_chart import IntervalChart, IntervalInput, interval_chart
from rollout.lib.numbers import format_percent
from rollout.models import Cohort, OutcomeMetric, Workflow
from rollout.selectors.impact import (
    WORKFLOW_SCOPE,
    ImpactFigures,
    format_outcome,
    impact_figures,
)
from rollout.selectors.outcome_metrics import outcome_metric_list

WHOLE_WORKFLOW = "Whole workflow"


@dataclass(frozen=True)
class OutcomeRow:
    label: str
    figures: ImpactFigures

    def _span(self, interval, signed: bool = True) -> str:
        unit = self.figures.metric.unit
        return (
            f"{format_outcome(interval.low, unit, signed=signed)} to "
            f"{format_outcome(interval.high, unit, signed=signed)}"
        )

    @property
    def difference(self) -> str:
        fixed = self.figures.fixed
        return format_outcome(fixed.estimate, self.figures.metric.unit, signed=True)

    @property
    def fixed_text(self) -> str:
        return self._span(self.figures.fixed)

    @property
    def sequential_text(self) -> str:
        return self._span(self.figures.sequential) if self.figures.sequential else "—"

    @property
    def relative_estimate(self) -> str:
        relative = self.figures.relative
        return _signed_percent(relative.estimate) if relative else "—"

    @property
    def relative_span(self) -> str:
        relative = self.figures.relative
        if relative is None:
            return ""
        return f"{_signed_percent(relative.low)} to {_signed_percent(relative.high)}"

    @property
    def verdict_text(self) -> str:
        """In words: whether the fixed interval is clear of zero, and on which side."""
        fixed = self.figures.fixed
        higher = self.figures.metric.higher_is_better
        if fixed.low > 0 or fixed.high < 0:
            better = (fixed.low > 0) == higher
            return "AI better" if better else "AI worse"
        return "No clear difference"

    @property
    def not_enough(self) -> str:
        f = self.figures
        return (
            f"Not enough data: {f.ai_people} with the AI, {f.holdout_people} in the holdout "
            f"({f.min_people} per arm needed)"
        )


def _tick(value: float, unit: str) -> str:
    """An axis tick: the round number as it is (nice_ticks made it round), signed, with unit."""
    text = f"{value:,g}" if value else "0"
    return f"{'+' if value > 0 else ''}{text} {unit}".strip()


def _signed_percent(fraction: float) -> str:
    text = format_percent(fraction)
    return f"+{text}" if fraction > 0 and text != "0.0%" else text


@dataclass(frozen=True)
class OutcomeSection:
    metric: OutcomeMetric
    rows: list[OutcomeRow]
    chart: IntervalChart

    @property
    def any_enough(self) -> bool:
        return any(row.figures.enough for row in self.rows)


def _chart(metric: OutcomeMetric, rows: list[OutcomeRow]) -> IntervalChart:
    inputs = []
    for row in rows:
        f = row.figures
        if f.enough:
            inputs.append(
                IntervalInput(
                    row.label,
                    f.fixed.estimate,
                    (f.fixed.low, f.fixed.high),
                    (f.sequential.low, f.sequential.high) if f.sequential else None,
                )
            )
        else:
            inputs.append(IntervalInput(row.label, note="not enough data"))
    return interval_chart(
        inputs,
        title=f"{metric.label}: AI − holdout per cohort with 95% intervals",
        format_tick=lambda v: _tick(v, metric.unit),
        higher_is_better=metric.higher_is_better,
    )


def outcome_sections(
    workflow: Workflow, *, cohorts: list[Cohort], cohort: Cohort | None, start: date, end: date
) -> list[OutcomeSection]:
    """One section per current outcome metric over the page's period: a row per cohort shown
    (the chosen one, or every cohort that has a holdout now or had outcome rows) and one for the
    whole workflow."""
    metrics = list(outcome_metric_list(workflow, archived=False))
    if not metrics:
        return []
    shown = [cohort] if cohort else cohorts
    found = impact_figures(workflow, metrics=metrics, cohorts=shown, first_day=start, last_day=end)
    sections = []
    for metric in metrics:
        rows = [
            OutcomeRow(c.name, found[(metric.name, c.pk)])
            for c in shown
            if c.holdout_percentage
            or found[(metric.name, c.pk)].ai_people
            or found[(metric.name, c.pk)].holdout_people
        ]
        rows.append(OutcomeRow(WHOLE_WORKFLOW, found[(metric.name, WORKFLOW_SCOPE)]))
        sections.append(OutcomeSection(metric, rows, _chart(metric, rows)))
    return sections
