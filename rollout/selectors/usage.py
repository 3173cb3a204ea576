"""Reading usage metrics from the rollups (never from raw events).

`UsageCounts` holds summed counters for a window and derives every rate from them; `usage_window`
sums a window for the whole workflow, one cohort, or people in no cohort; `usage_daily` returns the
day-by-day series per cohort that the usage page and the metrics API show.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import zip_longest
from typing import NamedTuple

from django.db.models import Count, Q, Sum
from django.utils import timezone

from core.dates import day_bounds
from rollout.lib.stats import LATENCY_EDGES_MS, percentile_from_histogram
from rollout.models import (
    Cohort,
    CohortMember,
    Metric,
    RollupPeriod,
    UsageActiveUser,
    UsageRollup,
    Workflow,
)

COUNTERS = (
    "invocations",
    "accepted",
    "edited",
    "overridden",
    "errors",
    "fallbacks",
    "agreed",
    "disagreed",
)
HIST_SIZE = len(LATENCY_EDGES_MS) + 1
SUMMED = (*COUNTERS, "latency_count")  # what adds up across days and cohorts
# Metrics measured from feedback and escalations, which usage events do not carry
# (rollout.selectors.feedback.feedback_measure,
# rollout.selectors.escalations.escalation_rate_measure).
NOT_FROM_USAGE = (Metric.NEGATIVE_FEEDBACK_SHARE, Metric.ESCALATION_RATE)


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass
class UsageCounts:
    """Counters summed over a window, and the rates derived from them.

    Outcome rates (acceptance, edit, override) are shares of the outputs people acted on
    (accepted + edited + overridden); error and fallback rates are shares of invocations; shadow
    agreement is agreed ÷ (agreed + disagreed); adoption is active members ÷ members.
    """

    invocations: int = 0
    accepted: int = 0
    edited: int = 0
    overridden: int = 0
    errors: int = 0
    fallbacks: int = 0
    agreed: int = 0
    disagreed: int = 0
    active_users: int = 0
    members: int = 0
    latency_count: int = 0
    latency_hist: list[int] = field(default_factory=lambda: [0] * HIST_SIZE)

    @classmethod
    def of_row(cls, row: dict, *, members: int = 0) -> "UsageCounts":
        """One rollup row's counters and active users, as `add` would put them into empty
        counts (this many members), built at once: the usage page makes one per cohort and day."""
        hist = list(row.get("latency_hist") or ())[:HIST_SIZE]
        if len(hist) < HIST_SIZE:
            hist += [0] * (HIST_SIZE - len(hist))
        return cls(
            invocations=row.get("invocations") or 0,
            accepted=row.get("accepted") or 0,
            edited=row.get("edited") or 0,
            overridden=row.get("overridden") or 0,
            errors=row.get("errors") or 0,
            fallbacks=row.get("fallbacks") or 0,
            agreed=row.get("agreed") or 0,
            disagreed=row.get("disagreed") or 0,
            active_users=row.get("active_users") or 0,
            members=members,
            latency_count=row.get("latency_count") or 0,
            latency_hist=hist,
        )

    def add(self, row: dict) -> None:
        for name in COUNTERS:
            setattr(self, name, getattr(self, name) + (row.get(name) or 0))
        self.latency_count += row.get("latency_count") or 0
        for i, n in enumerate(row.get("latency_hist") or []):
            if i < HIST_SIZE:
                self.latency_hist[i] += n

    @property
    def outcomes(self) -> int:
        return self.accepted + self.edited + self.overridden

    @property
    def shadow_compared(self) -> int:
        return self.agreed + self.disagreed

    @property
    def acceptance_rate(self) -> float | None:
        return _ratio(self.accepted, self.outcomes)

    @property
    def edit_rate(self) -> float | None:
        return _ratio(self.edited, self.outcomes)

    @property
    def override_rate(self) -> float | None:
        return _ratio(self.overridden, self.outcomes)

    @property
    def error_rate(self) -> float | None:
        return _ratio(self.errors, self.invocations)

    @property
    def fallback_rate(self) -> float | None:
        return _ratio(self.fallbacks, self.invocations)

    @property
    def shadow_agreement_rate(self) -> float | None:
        return _ratio(self.agreed, self.shadow_compared)

    @property
    def adoption_rate(self) -> float | None:
        return _ratio(min(self.active_users, self.members), self.members)

    @property
    def p50_latency_ms(self) -> float | None:
        return percentile_from_histogram(self.latency_hist, LATENCY_EDGES_MS, 0.50)

    @property
    def p95_latency_ms(self) -> float | None:
        return percentile_from_histogram(self.latency_hist, LATENCY_EDGES_MS, 0.95)

    @classmethod
    def sum_of(cls, counts: Sequence["UsageCounts"], *, members: int = 0) -> "UsageCounts":
        """`counts` added up, as `add` would one by one, in a pass per counter and one over the
        buckets. `active_users` stays 0: people over several days or cohorts are not a sum."""
        total = cls.latency_of(counts)
        total.members = members
        if not counts:
            return total
        for name in SUMMED:
            setattr(total, name, sum([getattr(c, name) for c in counts]))
        return total

    @classmethod
    def latency_of(cls, counts: Sequence["UsageCounts"]) -> "UsageCounts":
        """Counts holding only the latency histograms of `counts` added up, as sum_of adds
        them: all the latency percentiles need."""
        if not counts:
            return cls()
        buckets = zip_longest(*(c.latency_hist[:HIST_SIZE] for c in counts), fillvalue=0)
        hist = [sum(bucket) for bucket in buckets]
        return cls(latency_hist=hist + [0] * (HIST_SIZE - len(hist)))

    def measure(self, metric: str) -> tuple[float | None, int]:
        """(value, sample size) of a threshold metric; (None, 0) when not measurable here."""
        return {
            Metric.ERROR_RATE: (self.error_rate, self.invocations),
            Metric.OVERRIDE_RATE: (self.override_rate, self.outcomes),
            Metric.ACCEPTANCE_RATE: (self.acceptance_rate, self.outcomes),
            Metric.SHADOW_AGREEMENT_RATE: (self.shadow_agreement_rate, self.shadow_compared),
            Metric.P95_LATENCY_MS: (self.p95_latency_ms, self.latency_count),
            Metric.ADOPTION_RATE: (self.adoption_rate, self.members),
        }.get(metric, (None, 0))


# Scope: a Cohort, NO_COHORT (people in no cohort), or ALL (the whole workflow).
ALL = "all"
NO_COHORT = "none"


def _rollups(workflow: Workflow, start: date, end: date, scope: object):
    rows = UsageRollup.objects.filter(
        workflow=workflow, period=RollupPeriod.DAY, day__gte=start, day__lte=end
    )
    actives = UsageActiveUser.objects.filter(workflow=workflow, day__gte=start, day__lte=end)
    if isinstance(scope, Cohort):
        rows, actives = rows.filter(cohort=scope), actives.filter(cohort=scope)
    elif scope == NO_COHORT:
        rows, actives = rows.filter(cohort__isnull=True), actives.filter(cohort__isnull=True)
    return rows, actives


def _count_people(counts: UsageCounts, workflow: Workflow, actives, scope: object) -> None:
    """Set the scope's members and the distinct people of `actives` (two queries)."""
    members = CohortMember.objects.filter(cohort__workflow=workflow)
    if isinstance(scope, Cohort):
        members = members.filter(cohort=scope)
    elif scope == NO_COHORT:
        members = members.none()
    counts.members = members.values("user_id").distinct().count()
    counts.active_users = (
        actives.filter(cohort__isnull=False).values("user_ref").distinct().count()
        if scope != NO_COHORT
        else actives.values("user_ref").distinct().count()
    )


def usage_window(workflow: Workflow, *, start: date, end: date, scope: object = ALL) -> UsageCounts:
    """Counters for the days start..end (inclusive). Three queries, whatever the data size.

    Adoption counts distinct cohort members active in the window against the scope's members
    (for ALL: everyone in any cohort of the workflow; people in no cohort have no denominator).
    """
    rows, actives = _rollups(workflow, start, end, scope)
    counts = UsageCounts()
    for row in rows.values(*COUNTERS, "latency_count", "latency_hist"):
        counts.add(row)
    _count_people(counts, workflow, actives, scope)
    return counts


def usage_window_since(
    workflow: Workflow, *, since: datetime, end: date, scope: object = ALL
) -> UsageCounts:
    """Counters from `since` to the end of the day `end`: the hourly rollups of the hours of
    since's day that start at or after it, then the daily rollups of the days after. Three
    queries. `since` on a day's start is exactly `usage_window` from that day.

    Used when the AI configuration changed mid-window (rule 9): only what happened since counts.
    An hour is the rollups' finest grain, so the caller passes an hour boundary. People active
    on since's day count as active (who was active which hour does not add up across hours)."""
    first_day = timezone.localdate(since)
    if since <= day_bounds(first_day)[0]:
        return usage_window(workflow, start=first_day, end=end, scope=scope)
    rows = UsageRollup.objects.filter(workflow=workflow).filter(
        Q(period=RollupPeriod.DAY, day__gt=first_day, day__lte=end)
        | Q(period=RollupPeriod.HOUR, day=first_day, start__gte=since)
    )
    _, actives = _rollups(workflow, first_day, end, scope)
    if isinstance(scope, Cohort):
        rows = rows.filter(cohort=scope)
    elif scope == NO_COHORT:
        rows = rows.filter(cohort__isnull=True)
    counts = UsageCounts()
    for row in rows.values(*COUNTERS, "latency_count", "latency_hist"):
        counts.add(row)
    _count_people(counts, workflow, actives, scope)
    return counts


NOT_IN_A_COHORT = "Not in a cohort"


class UsageGroup(NamedTuple):
    """A group of people the usage figures are shown for: a cohort, or the people in no cohort
    (None)."""

    cohort: Cohort | None

    @property
    def label(self) -> str:
        return self.cohort.name if self.cohort else NOT_IN_A_COHORT


@dataclass
class DailySeries:
    """One cohort's (or the no-cohort group's) days, oldest first, one UsageCounts per day."""

    cohort: Cohort | None
    days: list[date]
    counts: list[UsageCounts]

    @property
    def label(self) -> str:
        return UsageGroup(self.cohort).label

    def total(self) -> UsageCounts:
        """The period's counters summed. `active_users` stays 0: distinct people over a period
        are not a sum of days (usage_window or active_users_by_cohort count them)."""
        return UsageCounts.sum_of(self.counts, members=self.counts[0].members if self.counts else 0)


def usage_daily(
    workflow: Workflow,
    *,
    start: date,
    end: date,
    cohort: Cohort | None = None,
    cohorts: Sequence[Cohort] | None = None,
    members: dict[int, int] | None = None,
) -> list[DailySeries]:
    """Per-day counts for every cohort of the workflow (plus people in no cohort, if any used
    it), or for one cohort. Three queries whatever the range and the data size; one fewer when
    the caller passes the workflow's `cohorts`, by name (as usage_summary.usage_cohorts gives
    them), and one fewer again with their `members` ({cohort id: members},
    usage_summary.cohort_members)."""
    if cohorts is None:
        cohorts = Cohort.objects.filter(workflow=workflow).order_by("name")
    cohorts = list(cohorts)
    if cohort is not None:
        cohorts = [c for c in cohorts if c.pk == cohort.pk]
    if members is None:
        members = dict(
            CohortMember.objects.filter(cohort__workflow=workflow)
            .values("cohort_id")
            .annotate(n=Count("user_id"))
            .values_list("cohort_id", "n")
            .order_by()
        )
    rows = UsageRollup.objects.filter(
        workflow=workflow, period=RollupPeriod.DAY, day__gte=start, day__lte=end
    )
    if cohort is not None:
        rows = rows.filter(cohort=cohort)
    by_key: dict[tuple[int | None, date], dict] = {}
    seen_cohorts: set[int | None] = set()
    for row in rows.values(
        "cohort_id", "day", *COUNTERS, "active_users", "latency_count", "latency_hist"
    ):
        by_key[(row["cohort_id"], row["day"])] = row
        seen_cohorts.add(row["cohort_id"])
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    groups: list[Cohort | None] = list(cohorts)
    if cohort is None and None in seen_cohorts:
        groups.append(None)
    series = []
    for group in groups:
        group_id = group.pk if group else None
        size = members.get(group_id, 0)
        day_counts = []
        for day in days:
            row = by_key.get((group_id, day))
            if row is None:
                day_counts.append(UsageCounts(members=size))
            else:
                day_counts.append(UsageCounts.of_row(row, members=size))
        series.append(DailySeries(cohort=group, days=days, counts=day_counts))
    return series


def usage_totals_by_workflow(workflow_ids: list[int], *, start: date, end: date) -> dict[int, dict]:
    """{workflow id: {"invocations": n, "active_users": n, "members": n}} for the portfolio's
    adoption column: three queries for any number of workflows."""
    sums = defaultdict(lambda: {"invocations": 0, "active_users": 0, "members": 0})
    for row in (
        UsageRollup.objects.filter(
            workflow_id__in=workflow_ids, period=RollupPeriod.DAY, day__gte=start, day__lte=end
        )
        .values("workflow_id")
        .annotate(n=Sum("invocations"))
        .order_by()
    ):
        sums[row["workflow_id"]]["invocations"] = row["n"] or 0
    for row in (
        UsageActiveUser.objects.filter(
            workflow_id__in=workflow_ids, day__gte=start, day__lte=end, cohort__isnull=False
        )
        .values("workflow_id")
        .annotate(n=Count("user_ref", distinct=True))
        .order_by()
    ):
        sums[row["workflow_id"]]["active_users"] = row["n"]
    for row in (
        CohortMember.objects.filter(cohort__workflow_id__in=workflow_ids)
        .values("cohort__workflow_id")
        .annotate(n=Count("user_id", distinct=True))
        .order_by()
    ):
        sums[row["cohort__workflow_id"]]["members"] = row["n"]
    return dict(sums)
