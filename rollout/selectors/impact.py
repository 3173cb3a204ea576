"""Impact of the AI on the outcomes the owner declared: AI arm vs holdout (issue 18 §1).

The unit of analysis is the person (people, not cases, are randomised into the holdout): over a
window of days, each person's mean outcome per arm is Σsum ÷ Σcount of their OutcomeDay rows;
people with rows in both arms within the window (their arm changed: moved out of the holdout,
the holdout changed) are left out; the per-person means of each arm are then compared with the
intervals of rollout.lib.impact_stats: the fixed (Welch) interval for reports, the always-valid
(sequential) interval that gates and pauses use, and the relative figure with its delta-method
interval. Below MIN_PEOPLE_PER_ARM people in either arm there is no interval: "not enough data".

One query per call, whatever the number of events, people, cohorts and metrics.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Sum
from django.utils import timezone

from rollout.lib.impact_stats import (
    MIN_PEOPLE_PER_ARM,
    ArmSummary,
    ImpactVerdict,
    Interval,
    arm_summary,
    impact_verdict,
    relative_interval,
    sequential_interval,
    split_alpha,
    welch_interval,
)
from rollout.lib.numbers import format_count, format_number, format_percent
from rollout.models import Arm, Cohort, Metric, OutcomeDay, OutcomeMetric, Threshold, Workflow

ALPHA = 0.05
WORKFLOW_SCOPE = None  # the key of the whole workflow's figures (a cohort's is its id)


@dataclass(frozen=True)
class ImpactFigures:
    """One metric's comparison in one scope (a cohort, or the whole workflow)."""

    metric: OutcomeMetric
    cohort: Cohort | None
    ai: ArmSummary | None
    holdout: ArmSummary | None
    left_out: int  # people whose arm changed within the window
    fixed: Interval | None
    sequential: Interval | None
    relative: Interval | None

    @property
    def ai_people(self) -> int:
        return self.ai.people if self.ai else 0

    @property
    def holdout_people(self) -> int:
        return self.holdout.people if self.holdout else 0

    @property
    def enough(self) -> bool:
        return self.fixed is not None

    @property
    def min_people(self) -> int:
        return MIN_PEOPLE_PER_ARM


def _summary(means: list[float]) -> ArmSummary | None:
    return arm_summary(means) if means else None


def _figures(
    metric: OutcomeMetric,
    cohort: Cohort | None,
    people: dict[str, dict[str, list[float]]],
    alpha: float,
) -> ImpactFigures:
    """`people`: person → arm → [count, total] over the window."""
    means: dict[str, list[float]] = {Arm.AI: [], Arm.HOLDOUT: []}
    left_out = 0
    for arms in people.values():
        if len(arms) > 1:
            left_out += 1
            continue
        ((arm, (count, total)),) = arms.items()
        if count:
            means[arm].append(total / count)
    ai, holdout = _summary(means[Arm.AI]), _summary(means[Arm.HOLDOUT])
    both = ai is not None and holdout is not None
    return ImpactFigures(
        metric=metric,
        cohort=cohort,
        ai=ai,
        holdout=holdout,
        left_out=left_out,
        fixed=welch_interval(ai, holdout, alpha=alpha) if both else None,
        sequential=sequential_interval(ai, holdout, alpha=alpha) if both else None,
        relative=relative_interval(ai, holdout, alpha=alpha) if both else None,
    )


def window_days(days: int, today: date | None = None) -> tuple[date, date]:
    """The last `days` days, today included."""
    today = today or timezone.localdate()
    return today - timedelta(days=days - 1), today


def impact_figures(
    workflow: Workflow,
    *,
    metrics: list[OutcomeMetric],
    cohorts: list[Cohort],
    first_day: date,
    last_day: date,
    alpha: float = ALPHA,
    workflow_scope: bool = True,
) -> dict[tuple[str, int | None], ImpactFigures]:
    """{(metric name, cohort id or WORKFLOW_SCOPE): figures} for each metric, per cohort in
    `cohorts` and (with `workflow_scope`) for the whole workflow, over the days from
    `first_day` to `last_day` included. One query."""
    if not metrics:
        return {}
    rows = (
        OutcomeDay.objects.filter(
            workflow=workflow,
            metric__in=[m.name for m in metrics],
            day__gte=first_day,
            day__lte=last_day,
        )
        .values("metric", "cohort_id", "user_ref", "arm")
        .annotate(count=Sum("count"), total=Sum("total"))
        .order_by()
    )
    # (metric, scope) → person → arm → [count, total]
    scoped: dict[tuple[str, int | None], dict[str, dict[str, list[float]]]] = defaultdict(
        lambda: defaultdict(dict)
    )
    cohort_ids = {c.pk for c in cohorts}
    for row in rows:
        scopes = [row["cohort_id"]] if row["cohort_id"] in cohort_ids else []
        if workflow_scope:
            scopes.append(WORKFLOW_SCOPE)
        for scope in scopes:
            arms = scoped[(row["metric"], scope)][row["user_ref"]]
            sums = arms.setdefault(row["arm"], [0, 0.0])
            sums[0] += row["count"]
            sums[1] += row["total"]
    figures = {}
    for metric in metrics:
        for cohort in [*cohorts, *([None] if workflow_scope else [])]:
            key = (metric.name, cohort.pk if cohort else WORKFLOW_SCOPE)
            figures[key] = _figures(metric, cohort, scoped.get(key, {}), alpha)
    return figures


def format_outcome(value: float | None, unit: str = "", *, signed: bool = False) -> str:
    """An outcome figure for people: three significant digits or so, with its unit."""
    if value is None:
        return "—"
    size = abs(value)
    decimals = 0 if size >= 100 else 1 if size >= 10 else 2
    text = format_number(value, decimals)
    if signed and value > 0 and text.strip("0.,") != "":
        text = f"+{text}"
    return f"{text} {unit}".strip()


def impact_conditions(workflow: Workflow) -> int:
    """How many impact conditions the workflow's gate holds (its impact thresholds): each is
    judged at α ÷ that number (Bonferroni), so luck passes or pauses on none of them more often
    than α altogether. One query."""
    return Threshold.objects.filter(workflow=workflow, metric=Metric.IMPACT).count()


def impact_alpha(conditions: int) -> float:
    return split_alpha(ALPHA, max(conditions, 1))


@dataclass(frozen=True)
class ImpactJudgement:
    verdict: ImpactVerdict
    observed: float | None
    sample: int
    reason: str


def impact_judge(
    threshold: Threshold,
    *,
    start: datetime,
    end: datetime,
    cohort: Cohort | None,
    conditions: int,
) -> ImpactJudgement:
    """An impact threshold's verdict over its window in one scope, from the SEQUENTIAL interval
    at α ÷ `conditions` (it is looked at again every few minutes): pass when the whole interval
    clears the limit in the better direction, marginal when it straddles it, fail when it falls
    short, insufficient data below the minimum of people per arm. `observed` is AI − holdout;
    `sample` the people compared."""
    metric = threshold.outcome_metric
    alpha = impact_alpha(conditions)
    first, last = timezone.localdate(start), timezone.localdate(end)
    figures = impact_figures(
        threshold.workflow,
        metrics=[metric],
        cohorts=[cohort] if cohort else [],
        first_day=first,
        last_day=last,
        alpha=alpha,
        workflow_scope=cohort is None,
    )[(metric.name, cohort.pk if cohort else WORKFLOW_SCOPE)]
    verdict = impact_verdict(
        figures.sequential,
        min_effect=threshold.limit,
        higher_is_better=metric.higher_is_better,
    )
    people = figures.ai_people + figures.holdout_people
    arms = (
        f"{format_count(figures.ai_people)} people with the AI, "
        f"{format_count(figures.holdout_people)} in the holdout"
    )
    if figures.sequential is None:
        reason = f"Not enough data: {arms} over the window; {MIN_PEOPLE_PER_ARM} per arm needed."
        return ImpactJudgement(verdict, None, people, reason)
    interval = figures.sequential
    unit = metric.unit
    level = format_percent(1 - alpha)
    direction = "higher" if metric.higher_is_better else "lower"
    reason = (
        f"AI − holdout {format_outcome(interval.estimate, unit, signed=True)} "
        f"(always-valid {level} interval {format_outcome(interval.low, unit, signed=True)} to "
        f"{format_outcome(interval.high, unit, signed=True)}), {arms}: should be "
        f"{direction} by at least {format_outcome(threshold.limit, unit)}."
    )
    return ImpactJudgement(verdict, interval.estimate, people, reason)


HEADLINE_DAYS = 28


def impact_headlines(
    workflow_ids: list[int], *, today: date | None = None, days: int = HEADLINE_DAYS
) -> dict[int, list[ImpactFigures]]:
    """{workflow id: the whole workflow's figures per current outcome metric, by name} over the
    last `days` days, for the overview and the portfolio. Two queries, whatever the number of
    workflows, metrics and rows."""
    if not workflow_ids:
        return {}
    first, last = window_days(days, today)
    metrics = list(
        OutcomeMetric.objects.filter(
            workflow_id__in=workflow_ids, archived_at__isnull=True
        ).order_by("workflow_id", "name")
    )
    if not metrics:
        return {}
    rows = (
        OutcomeDay.objects.filter(
            workflow_id__in={m.workflow_id for m in metrics},
            metric__in={m.name for m in metrics},
            day__gte=first,
            day__lte=last,
        )
        .values("workflow_id", "metric", "user_ref", "arm")
        .annotate(count=Sum("count"), total=Sum("total"))
        .order_by()
    )
    people: dict[tuple[int, str], dict[str, dict[str, list[float]]]] = defaultdict(
        lambda: defaultdict(dict)
    )
    for row in rows:
        sums = people[(row["workflow_id"], row["metric"])][row["user_ref"]].setdefault(
            row["arm"], [0, 0.0]
        )
        sums[0] += row["count"]
        sums[1] += row["total"]
    found: dict[int, list[ImpactFigures]] = defaultdict(list)
    for metric in metrics:
        key = (metric.workflow_id, metric.name)
        found[metric.workflow_id].append(_figures(metric, None, people.get(key, {}), ALPHA))
    return dict(found)


def headline_text(figures: ImpactFigures) -> str:
    """E.g. "Handle time: AI −87.8 s vs holdout (95% interval −113 s to −62.9 s; 17 and 23
    people)", or "Handle time: not enough data yet (4 and 0 people)"."""
    metric = figures.metric
    people = f"{figures.ai_people} and {figures.holdout_people} people"
    if not figures.enough:
        return f"{metric.label}: not enough data yet ({people})"
    fixed, unit = figures.fixed, metric.unit
    return (
        f"{metric.label}: AI {format_outcome(fixed.estimate, unit, signed=True)} vs holdout "
        f"(95% interval {format_outcome(fixed.low, unit, signed=True)} to "
        f"{format_outcome(fixed.high, unit, signed=True)}; {people})"
    )


def headline(figures_list: list[ImpactFigures]) -> str:
    """The one line for a workflow: the first metric with enough data, else the first."""
    if not figures_list:
        return ""
    chosen = next((f for f in figures_list if f.enough), figures_list[0])
    return headline_text(chosen)


def headline_short(figures_list: list[ImpactFigures]) -> str:
    """The portfolio's few words for the same metric as `headline`: e.g. "Handle time: AI
    −87.8 s, better" — "better" or "worse" only when the 95% interval is clear of zero that way,
    "unclear" when it straddles zero."""
    if not figures_list:
        return ""
    figures = next((f for f in figures_list if f.enough), figures_list[0])
    metric = figures.metric
    if not figures.enough:
        return f"{metric.label}: not enough data yet"
    fixed = figures.fixed
    if fixed.low > 0 or fixed.high < 0:
        ai_higher = fixed.low > 0
        word = "better" if ai_higher == metric.higher_is_better else "worse"
    else:
        word = "unclear"
    return f"{metric.label}: AI {format_outcome(fixed.estimate, metric.unit, signed=True)}, {word}"


def impact_alpha_note(conditions: int) -> str:
    """What the gate and thresholds page say of the α each impact condition is judged at."""
    if conditions < 1:
        return ""
    if conditions == 1:
        return (
            "The impact condition is judged at α = 5% with an always-valid interval, so "
            "looking again every few minutes does not cry wolf."
        )
    alpha = format_percent(impact_alpha(conditions))
    return (
        f"Each impact condition is judged at α = {alpha} because the gate holds {conditions} "
        "(α = 5% split between them), with always-valid intervals."
    )
