"""What the AI cost: CostDay rollups priced with the prices in force (issue 18 §3).

An event's cost is `attrs.cost` when it reported one; otherwise its tokens × the price of its
model version in force on its day (ModelPrice.valid_from, the organisation's calendar); with
neither, its cost is unknown. Unknown costs are counted ("events without a known cost"), never
taken as zero: where some are unknown, the total is estimated from the events whose cost is
known (`CostCounts.estimated_cost`: their average × every cost-bearing event) and the share of
unknown ones is shown beside it. Thresholds refuse a verdict when that share is above
MAX_UNKNOWN_SHARE.

Reads rollups only: two queries for any period (the rollups and the prices), whatever the number
of events.
"""

import bisect
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

from django.db.models import Exists, OuterRef, Sum
from django.utils import timezone

from accounts.selectors import organisation_get
from rollout.lib.numbers import format_count, format_percent
from rollout.models import (
    PHASE_ORDER,
    Cohort,
    CohortMember,
    CostDay,
    EnrolmentPhase,
    HoldoutRelease,
    Metric,
    ModelPrice,
    Phase,
    PhaseKind,
    RollupPeriod,
    UsageRollup,
    Workflow,
)
from rollout.selectors.decision import in_holdout, in_percentage, member_key
from rollout.selectors.usage import ALL, NO_COHORT, DailySeries

# A threshold on cost is judged only when at most this share of the window's cost-bearing events
# has no known cost: beyond it the estimate leans on too few known costs.
MAX_UNKNOWN_SHARE = 0.05
# "Today's" cost per active person: the last FORECAST_DAYS complete days (today is not over).
FORECAST_DAYS = 7
# Money is judged to a billionth of a unit: float sums of costs (0.1 + 0.2) must not fail a limit.
PRECISION = 9
MSG_UNKNOWN_COSTS = (
    "{unknown} of the {events} cost-bearing events {days} ({share}) have no "
    "known cost (at most {limit} may): declare the price of {versions} on the AI configuration "
    "page, or report attrs.cost."
)
MSG_NO_ACCEPTED = "No accepted outputs {days}."
MSG_NO_COSTS = "No cost-bearing events {days}."


def currency_code() -> str:
    """The organisation's currency (ISO 4217): every cost is in it."""
    return organisation_get().currency


# --- Prices -------------------------------------------------------------------------------------


class PriceBook:
    """A workflow's prices by model version, answering which one is in force on a day."""

    def __init__(self, prices: Iterable[ModelPrice]) -> None:
        self._by_version: dict[str, list[tuple[date, Decimal, Decimal]]] = defaultdict(list)
        for price in prices:
            self._by_version[price.model_version].append(
                (price.valid_from, price.input_per_1k, price.output_per_1k)
            )
        for entries in self._by_version.values():
            entries.sort()

    def in_force(self, model_version: str, day: date) -> tuple[Decimal, Decimal] | None:
        """(per 1,000 input tokens, per 1,000 output tokens) on `day`, or None."""
        entries = self._by_version.get(model_version)
        if not entries:
            return None
        index = bisect.bisect_right(entries, (day, Decimal("Infinity"), Decimal("Infinity")))
        if index == 0:
            return None
        _, per_input, per_output = entries[index - 1]
        return per_input, per_output


def price_book(workflow: Workflow) -> PriceBook:
    # Unordered: PriceBook sorts; the model's ordering would join the workflow to sort by name.
    return PriceBook(ModelPrice.objects.filter(workflow=workflow).order_by())


def model_price_list(workflow: Workflow) -> list[ModelPrice]:
    """The workflow's prices by model version, the newest first within each."""
    return list(
        ModelPrice.objects.filter(workflow=workflow)
        .select_related("declared_by")
        .order_by("model_version", "-valid_from")
    )


def model_price_terms(workflow: Workflow) -> list[tuple[str, date, Decimal, Decimal]]:
    """(model version, from, per 1,000 input tokens, per 1,000 output tokens) of each of the
    workflow's prices, in a fixed order: what costs are computed with, and nothing else."""
    return list(
        ModelPrice.objects.filter(workflow=workflow)
        .order_by("model_version", "valid_from", "pk")
        .values_list("model_version", "valid_from", "input_per_1k", "output_per_1k")
    )


# --- Counts -------------------------------------------------------------------------------------


@dataclass
class CostCounts:
    """Cost-bearing events and their costs, for any set of CostDay rows priced with a PriceBook."""

    events: int = 0  # cost-bearing events: costed + unknown
    costed: int = 0
    known_cost: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    unpriced: dict[str, int] = field(default_factory=dict)  # model version → events unknown

    @property
    def unknown(self) -> int:
        return self.events - self.costed

    @property
    def unknown_share(self) -> float | None:
        return self.unknown / self.events if self.events else None

    @property
    def cost_per_event(self) -> float | None:
        """The average cost of a cost-bearing event whose cost is known (per invocation)."""
        return self.known_cost / self.costed if self.costed else None

    @property
    def estimated_cost(self) -> float | None:
        """The known cost when every cost is known; else the known events' average × every
        cost-bearing event. None when no cost is known."""
        if not self.unknown:
            return self.known_cost
        average = self.cost_per_event
        return None if average is None else average * self.events

    def add_row(self, row: "CostDay | CostRow", book: PriceBook) -> None:
        self.events += row.reported + row.tokens_only + row.unreported
        self.input_tokens += row.input_tokens
        self.output_tokens += row.output_tokens
        self.costed += row.reported
        self.known_cost += row.reported_cost
        unknown = row.unreported
        if row.tokens_only:
            price = book.in_force(row.model_version, row.day)
            if price is None:
                unknown += row.tokens_only
            else:
                self.costed += row.tokens_only
                self.known_cost += float(
                    (row.priced_input_tokens * price[0] + row.priced_output_tokens * price[1])
                    / 1000
                )
        if unknown:
            name = row.model_version or "(no model version)"
            self.unpriced[name] = self.unpriced.get(name, 0) + unknown

    def add(self, other: "CostCounts") -> None:
        self.events += other.events
        self.costed += other.costed
        self.known_cost += other.known_cost
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        for name, n in other.unpriced.items():
            self.unpriced[name] = self.unpriced.get(name, 0) + n


class CostRow(NamedTuple):
    """The CostDay columns CostCounts.add_row reads (a tuple: no model instance per row)."""

    cohort_id: int | None
    day: date
    model_version: str
    input_tokens: int
    output_tokens: int
    reported: int
    reported_cost: float
    tokens_only: int
    priced_input_tokens: int
    priced_output_tokens: int
    unreported: int


def _rows(workflow: Workflow, start: date, end: date, scope: object = ALL):
    rows = CostDay.objects.filter(workflow=workflow, day__gte=start, day__lte=end)
    if isinstance(scope, Cohort):
        rows = rows.filter(cohort=scope)
    elif scope == NO_COHORT:
        rows = rows.filter(cohort__isnull=True)
    return rows.order_by().values_list(*CostRow._fields)


def cost_daily(
    workflow: Workflow, *, start: date, end: date, scope: object = ALL
) -> dict[tuple[int | None, date], CostCounts]:
    """{(cohort id, day): CostCounts} for the days start..end. Two queries."""
    book = price_book(workflow)
    counts: dict[tuple[int | None, date], CostCounts] = defaultdict(CostCounts)
    for values in _rows(workflow, start, end, scope):
        row = CostRow._make(values)
        counts[(row.cohort_id, row.day)].add_row(row, book)
    return dict(counts)


def cost_total(by_day: dict[tuple[int | None, date], CostCounts]) -> CostCounts:
    total = CostCounts()
    for counts in by_day.values():
        total.add(counts)
    return total


# --- Thresholds ---------------------------------------------------------------------------------


def _versions_text(unpriced: dict[str, int]) -> str:
    names = sorted(unpriced, key=lambda name: -unpriced[name])
    shown = ", ".join(f"“{name}”" for name in names[:3])
    return shown + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def cost_measure(
    workflow: Workflow, metric: str, *, start: datetime, end: datetime, scope: object = ALL
) -> tuple[float | None, int, str]:
    """(observed, sample, why there is no verdict) of a cost metric over a threshold's window.

    The window is judged in whole days (the cost rollups are daily): from the day `start` falls
    on to the day of `end`. Cost per accepted output is the window's cost ÷ its accepted outputs,
    over that many cases. Daily cost is the highest day's cost in the window (a budget holds
    every day, and today only grows), over the window's cost-bearing events. No verdict when
    more than MAX_UNKNOWN_SHARE of the cost-bearing events have no known cost."""
    first, last = timezone.localdate(start), timezone.localdate(end)
    count = (last - first).days + 1
    days = "today" if count == 1 else f"in the last {count} days"
    by_day = cost_daily(workflow, start=first, end=last, scope=scope)
    total = cost_total(by_day)
    if metric == Metric.COST_PER_ACCEPTED_OUTPUT:
        accepted = _accepted(workflow, first, last, scope)
        sample = accepted
    else:
        sample = total.events
    if not total.events:
        return None, sample, MSG_NO_COSTS.format(days=days)
    if total.unknown_share > MAX_UNKNOWN_SHARE or total.estimated_cost is None:
        reason = MSG_UNKNOWN_COSTS.format(
            unknown=format_count(total.unknown),
            events=format_count(total.events),
            days=days,
            share=format_percent(total.unknown_share),
            limit=format_percent(MAX_UNKNOWN_SHARE, 0),
            versions=_versions_text(total.unpriced),
        )
        return None, sample, reason
    if metric == Metric.COST_PER_ACCEPTED_OUTPUT:
        if not sample:
            return None, 0, MSG_NO_ACCEPTED.format(days=days)
        return round(total.estimated_cost / sample, PRECISION), sample, ""
    per_day: dict[date, CostCounts] = defaultdict(CostCounts)
    for (_, day), counts in by_day.items():
        per_day[day].add(counts)
    highest = max((c.estimated_cost or 0.0) for c in per_day.values())
    return round(highest, PRECISION), sample, ""


def _accepted(workflow: Workflow, first: date, last: date, scope: object) -> int:
    rows = UsageRollup.objects.filter(
        workflow=workflow, period=RollupPeriod.DAY, day__gte=first, day__lte=last
    )
    if isinstance(scope, Cohort):
        rows = rows.filter(cohort=scope)
    elif scope == NO_COHORT:
        rows = rows.filter(cohort__isnull=True)
    return rows.aggregate(n=Sum("accepted"))["n"] or 0


# --- Forecast -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CostForecast:
    """Today's cost per active person and day × the people live at the next phase."""

    phase_label: str
    people: int
    per_person_day: float | None  # None: no known cost, or nobody active, in the last days
    days: int
    person_days: int

    @property
    def per_day(self) -> float | None:
        return None if self.per_person_day is None else self.per_person_day * self.people


def _live_at(kind: str) -> list[str]:
    """Enrolments live during `kind`: limited stays live in broad and steady (as the decision
    API answers, rollout.selectors.decision)."""
    position = PHASE_ORDER.index(kind)
    enrolments = (EnrolmentPhase.LIMITED, EnrolmentPhase.BROAD)
    return [k for k in enrolments if PHASE_ORDER.index(k) <= position]


def people_live_at(workflow: Workflow, kind: str) -> int:
    """Active people who get live output at phase `kind`: members of the cohorts enrolled by
    then, inside their cohort's percentage and not held out (rollout.selectors.decision; a
    person moved out of the holdout counts), a person in several cohorts once."""
    rows = (
        CohortMember.objects.filter(
            cohort__workflow=workflow,
            cohort__enrolled_phase__in=_live_at(kind),
            user__is_active=True,
        )
        .annotate(
            released=Exists(
                HoldoutRelease.objects.filter(
                    cohort=OuterRef("cohort_id"), user=OuterRef("user_id")
                )
            )
        )
        .values_list("user_id", "cohort__percentage", "cohort__holdout_percentage", "released")
    )
    live = set()
    for user_id, percentage, holdout, released in rows:
        key = member_key(user_id)
        # A whole cohort (100 %) is everyone: no hash to compute.
        if percentage < 100 and not in_percentage(workflow.pk, key, percentage):
            continue
        if holdout and not released and in_holdout(workflow.pk, key, holdout):
            continue
        live.add(user_id)
    return len(live)


def forecast_days(today: date) -> tuple[date, date]:
    """The complete days "today's" cost per active person is measured over."""
    return today - timedelta(days=FORECAST_DAYS), today - timedelta(days=1)


def person_days_in(series: Iterable[DailySeries], today: date) -> int:
    """Active people summed over forecast_days(today) — the forecast's person-days — from daily
    series the caller already read: every group of the workflow (usage_daily without a cohort),
    covering those days."""
    first, last = forecast_days(today)
    return sum(
        counts.active_users
        for s in series
        for day, counts in zip(s.days, s.counts, strict=True)
        if first <= day <= last
    )


def cost_forecast(
    workflow: Workflow,
    *,
    today: date,
    by_day: dict[tuple[int | None, date], CostCounts] | None = None,
    person_days: int | None = None,
) -> CostForecast | None:
    """The forecast at the phase after the one in progress (None: none after it, or the next
    one has no live output). Five queries; one fewer when the caller passes the workflow's
    `by_day` costs (cost_daily) covering forecast_days(today), and one fewer again with its
    `person_days` (person_days_in)."""
    phases = list(Phase.objects.filter(workflow=workflow).order_by("position"))
    in_progress = [p for p in phases if p.is_in_progress]
    if not in_progress:
        return None
    following = [p for p in phases if p.position == in_progress[0].position + 1]
    if not following or following[0].kind in (PhaseKind.AUDIT, PhaseKind.SHADOW):
        return None
    kind = following[0].kind
    start, end = forecast_days(today)
    if by_day is None:
        by_day = cost_daily(workflow, start=start, end=end)
    total = cost_total({key: c for key, c in by_day.items() if start <= key[1] <= end})
    if person_days is None:
        person_days = (
            UsageRollup.objects.filter(
                workflow=workflow, period=RollupPeriod.DAY, day__gte=start, day__lte=end
            ).aggregate(n=Sum("active_users"))["n"]
            or 0
        )
    cost = total.estimated_cost
    per_person_day = cost / person_days if cost is not None and person_days else None
    return CostForecast(
        phase_label=following[0].get_kind_display(),
        people=people_live_at(workflow, kind),
        per_person_day=per_person_day,
        days=FORECAST_DAYS,
        person_days=person_days,
    )
