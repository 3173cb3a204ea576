"""Rolling raw usage events up into per-day and per-hour counts per cohort.

A day is always rebuilt whole from its raw events (never incremented), so rollups equal a
recomputation from raw events whatever arrived late, twice, or out of order. Ingestion marks days
dirty; `usage_rollup_pending` claims and rebuilds them (called by
rollout.services.evaluation.usage_refresh_pending: the task after each ingestion, and the minutely
sweep for anything a lost task left behind).

Each person's latest day (UsageLastActive) spans days, so it is the one thing a day's rebuild
updates rather than replaces: it moves to the rebuilt day for the people active on it, and is
recomputed from the days left for anyone no longer active on it. Those updates of one workflow are
serialized (core.db.lock_until_commit): two days rebuilt at once by two workers would each miss the
other's uncommitted day. The recovery command recomputes it whole.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import transaction
from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    F,
    Max,
    Min,
    OuterRef,
    Q,
    Value,
    When,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Concat, Lower, TruncHour
from django.utils import timezone

from core.dates import day_bounds
from core.db import lock_until_commit
from rollout.lib.stats import LATENCY_EDGES_MS
from rollout.models import (
    NOT_USAGE_KINDS,
    REPORTED_FIELDS,
    Cohort,
    ConfigMismatchDay,
    ConfigReportDay,
    CostDay,
    EventKind,
    RollupPeriod,
    SourceHealthDay,
    UsageActiveUser,
    UsageDirtyDay,
    UsageEvent,
    UsageLastActive,
    UsageRollup,
    Workflow,
)
from rollout.selectors.ai_config import ai_config_periods
from rollout.selectors.retention import retention_cutoffs
from rollout.services.cost_rollup import cost_rebuild_day
from rollout.services.outcome_rollup import outcome_rollup_rebuild_day
from rollout.services.source_rollup import source_health_rebuild_day

# Event kind → the rollup's counter.
COUNTER = {
    EventKind.INVOCATION: "invocations",
    EventKind.ACCEPTED: "accepted",
    EventKind.EDITED: "edited",
    EventKind.OVERRIDDEN: "overridden",
    EventKind.ERROR: "errors",
    EventKind.FALLBACK: "fallbacks",
    EventKind.AGREED: "agreed",
    EventKind.DISAGREED: "disagreed",
}
HIST_SIZE = len(LATENCY_EDGES_MS) + 1
CLAIM_BATCH = 20
# core.db.lock_until_commit's namespace for "the UsageLastActive rows of workflow <key>".
LAST_ACTIVE_LOCK = 1
# Who an event is by, for counting active people: the user when Rollout knows them (however the
# integration named them: email in any case, external id), else the reference as sent, an email
# in any case being one address. Stored as UsageActiveUser.user_ref.
PERSON = Case(
    When(user_id__isnull=False, then=Concat(Value("#"), Cast("user_id", CharField()))),
    When(user_ref__contains="@", then=Lower("user_ref")),
    default=F("user_ref"),
    output_field=CharField(),
)


def _new_row(workflow_id: int, cohort_id: int | None, period: str, day: date, start: datetime):
    return UsageRollup(
        workflow_id=workflow_id,
        cohort_id=cohort_id,
        period=period,
        day=day,
        start=start,
        latency_hist=[0] * HIST_SIZE,
    )


def usage_rollup_rebuild_day(*, workflow_id: int, day: date) -> int:
    """Replace the day's rollups with a recomputation from its raw events. Returns the number of
    events the day holds. Four aggregate queries over one day's rows, whatever their number."""
    tz = timezone.get_current_timezone()
    start, end = day_bounds(day)
    events = UsageEvent.objects.filter(
        workflow_id=workflow_id, occurred_at__gte=start, occurred_at__lt=end
    ).annotate(hour=TruncHour("occurred_at", tzinfo=tz), person=PERSON)
    hours: dict[tuple[int | None, datetime], UsageRollup] = {}
    days: dict[int | None, UsageRollup] = {}
    day_start = start

    def rows_for(cohort_id: int | None, hour: datetime) -> tuple[UsageRollup, UsageRollup]:
        key = (cohort_id, hour)
        if key not in hours:
            hours[key] = _new_row(workflow_id, cohort_id, RollupPeriod.HOUR, day, hour)
        if cohort_id not in days:
            days[cohort_id] = _new_row(workflow_id, cohort_id, RollupPeriod.DAY, day, day_start)
        return hours[key], days[cohort_id]

    counts = list(
        events.values("cohort_id", "hour", "kind").annotate(n=Count("event_id")).order_by()
    )
    named = {row["cohort_id"] for row in counts} - {None}
    gone = named - set(Cohort.objects.filter(pk__in=named).values_list("pk", flat=True))
    if gone:
        # A cohort deleted while a batch naming it was being stored: the SET_NULL Django ran on
        # deleting it (UsageEvent's foreign keys are not the database's) could not see that
        # batch's events yet. Finish it, so they count as no cohort, as its other events do.
        UsageEvent.objects.filter(
            workflow_id=workflow_id, occurred_at__gte=start, occurred_at__lt=end, cohort_id__in=gone
        ).update(cohort=None)
        return usage_rollup_rebuild_day(workflow_id=workflow_id, day=day)
    total = 0
    for row in counts:
        counter = COUNTER.get(row["kind"])
        total += row["n"]
        if counter is None:
            continue
        for rollup in rows_for(row["cohort_id"], row["hour"]):
            setattr(rollup, counter, getattr(rollup, counter) + row["n"])
    # Data-source reports (input_*) and outcomes are no one's activity: counted apart, in
    # SourceHealthDay and OutcomeDay.
    usage = events.exclude(kind__in=NOT_USAGE_KINDS)
    latency = (
        usage.filter(latency_bucket__isnull=False)
        .values("cohort_id", "hour", "latency_bucket")
        .annotate(n=Count("event_id"))
        .order_by()
    )
    for row in latency:
        bucket = min(row["latency_bucket"], HIST_SIZE - 1)
        for rollup in rows_for(row["cohort_id"], row["hour"]):
            rollup.latency_hist[bucket] += row["n"]
            rollup.latency_count += row["n"]
    hourly_users = (
        usage.values("cohort_id", "hour").annotate(n=Count("person", distinct=True)).order_by()
    )
    for row in hourly_users:
        rows_for(row["cohort_id"], row["hour"])[0].active_users = row["n"]
    active = list(usage.values_list("cohort_id", "person").distinct().order_by())
    per_cohort: dict[int | None, int] = defaultdict(int)
    for cohort_id, _ in active:
        per_cohort[cohort_id] += 1
    for cohort_id, n in per_cohort.items():
        days[cohort_id].active_users = n
    reports, mismatches = _config_reports(workflow_id, day, start, end)

    with transaction.atomic():
        _config_reports_replace(workflow_id, day, reports, mismatches)
        UsageRollup.objects.filter(workflow_id=workflow_id, day=day).delete()
        UsageActiveUser.objects.filter(workflow_id=workflow_id, day=day).delete()
        UsageRollup.objects.bulk_create([*days.values(), *hours.values()], batch_size=1000)
        UsageActiveUser.objects.bulk_create(
            [
                UsageActiveUser(workflow_id=workflow_id, cohort_id=c, day=day, user_ref=ref)
                for c, ref in active
            ],
            batch_size=1000,
        )
        _last_active_update(workflow_id, day, active)
        source_health_rebuild_day(workflow_id=workflow_id, day=day)
        cost_rebuild_day(workflow_id=workflow_id, day=day)
        outcome_rollup_rebuild_day(workflow_id=workflow_id, day=day)
    return total


def _active_on(workflow_id: int, day: date) -> Q:
    """UsageLastActive rows whose person was active on `day` in the row's cohort (None: in no
    cohort, which `cohort=OuterRef` would never match), as UsageActiveUser says."""
    on_day = UsageActiveUser.objects.filter(
        workflow_id=workflow_id, day=day, user_ref=OuterRef("user_ref")
    )
    return Q(Exists(on_day.filter(cohort=OuterRef("cohort"))), cohort__isnull=False) | Q(
        Exists(on_day.filter(cohort__isnull=True)), cohort__isnull=True
    )


def _last_active_update(workflow_id: int, day: date, active: list[tuple[int | None, str]]) -> None:
    """After `day`'s UsageActiveUser rows were replaced by `active` (cohort id, person): the
    people active on it were last active on it at the earliest, and anyone whose latest day it
    was but who is no longer active on it (their events gone, or attributed anew) gets their
    latest remaining day, or no row. Queries: a few, whatever the number of days."""
    lock_until_commit(LAST_ACTIVE_LOCK, workflow_id)
    rows = UsageLastActive.objects.filter(workflow_id=workflow_id)
    UsageLastActive.objects.bulk_create(
        [
            UsageLastActive(workflow_id=workflow_id, cohort_id=c, user_ref=ref, day=day)
            for c, ref in active
        ],
        batch_size=1000,
        ignore_conflicts=True,  # known already: moved to `day` below if it is later
    )
    on_day = _active_on(workflow_id, day)
    rows.filter(on_day, day__lt=day).update(day=day)
    gone = set(rows.filter(day=day).exclude(on_day).values_list("user_ref", flat=True))
    if gone:
        _last_active_recompute(workflow_id, people=gone)


def _last_active_recompute(workflow_id: int, *, people: set[str] | None = None) -> None:
    """Set the latest day of `people` (UsageActiveUser.user_ref), in every cohort, or of
    everyone in the workflow, from UsageActiveUser: their latest day there, or no row. Under the
    workflow's lock."""
    lock_until_commit(LAST_ACTIVE_LOCK, workflow_id)
    rows = UsageLastActive.objects.filter(workflow_id=workflow_id)
    days = UsageActiveUser.objects.filter(workflow_id=workflow_id)
    if people is not None:
        rows, days = rows.filter(user_ref__in=people), days.filter(user_ref__in=people)
    latest = list(days.values("cohort_id", "user_ref").annotate(last=Max("day")).order_by())
    rows.delete()
    UsageLastActive.objects.bulk_create(
        [
            UsageLastActive(
                workflow_id=workflow_id,
                cohort_id=row["cohort_id"],
                user_ref=row["user_ref"],
                day=row["last"],
            )
            for row in latest
        ],
        batch_size=1000,
    )


@dataclass(frozen=True)
class RollupRun:
    """What one `usage_rollup_pending` call did: days rebuilt, and the workflows they belong to."""

    days: int
    workflow_ids: frozenset[int]


def usage_rollup_pending(*, max_days: int | None = None) -> RollupRun:
    """Rebuild every dirty day (or up to `max_days`). Safe to run concurrently: each dirty row is
    claimed with SKIP LOCKED and deleted in the transaction that rebuilds its day, so a day marked
    dirty again meanwhile (new events) stays dirty for the next run.

    A leaf: it judges nothing. rollout.services.evaluation.usage_refresh_pending evaluates the
    thresholds of the workflows it returns."""
    done = 0
    touched: set[int] = set()
    kept_from = retention_cutoffs().first_rebuildable_day
    while max_days is None or done < max_days:
        batch = CLAIM_BATCH if max_days is None else min(CLAIM_BATCH, max_days - done)
        with transaction.atomic():
            claimed = list(
                UsageDirtyDay.objects.select_for_update(skip_locked=True).order_by("day", "pk")[
                    :batch
                ]
            )
            if not claimed:
                break
            # Workflow by workflow: each takes its UsageLastActive lock for the rest of the
            # transaction, so every worker takes them in the same order (no deadlock).
            for dirty in sorted(claimed, key=lambda d: (d.workflow_id, d.day)):
                UsageDirtyDay.objects.filter(pk=dirty.pk).delete()
                if dirty.day < kept_from:
                    continue  # its raw events are past retention: its rollup is all there is
                usage_rollup_rebuild_day(workflow_id=dirty.workflow_id, day=dirty.day)
            done += len(claimed)
            touched.update(d.workflow_id for d in claimed)
    return RollupRun(days=done, workflow_ids=frozenset(touched))


def usage_rollup_rebuild(*, workflow: Workflow | None = None) -> int:
    """Rebuild every day that has raw events (for one workflow or all): the recovery command.

    Days before the raw events' retention (rollout.selectors.retention) are left as they are:
    their events are deleted, or about to be, so their rollups are all that is left of them."""
    kept_from = retention_cutoffs().first_rebuildable_day
    # Events of a workflow deleted while a batch for it was being stored outlive it (the
    # database does not cascade, see UsageEvent): there is nothing left to roll them up for.
    events = UsageEvent.objects.filter(
        workflow_id__in=Workflow.objects.values("pk"), occurred_at__gte=day_bounds(kept_from)[0]
    )
    if workflow is not None:
        events = events.filter(workflow=workflow)
    first_last = list(events.values("workflow_id").annotate(n=Count("event_id")).order_by())
    # A workflow whose kept events are all gone recomputes to nothing: its rollups of those
    # days go too.
    with_events = [row["workflow_id"] for row in first_last]
    for model in (
        UsageRollup,
        UsageActiveUser,
        SourceHealthDay,
        ConfigReportDay,
        ConfigMismatchDay,
        CostDay,
    ):
        stale = model.objects.exclude(workflow_id__in=with_events).filter(day__gte=kept_from)
        (stale.filter(workflow=workflow) if workflow is not None else stale).delete()
    rebuilt = 0
    for row in first_last:
        wf_events = events.filter(workflow_id=row["workflow_id"])
        first = wf_events.order_by("occurred_at").values_list("occurred_at", flat=True).first()
        last = wf_events.order_by("-occurred_at").values_list("occurred_at", flat=True).first()
        day, end = timezone.localdate(first), timezone.localdate(last)
        # Days with rollups but no events left (none today, but safe) are cleared too.
        for model in (
            UsageRollup,
            UsageActiveUser,
            SourceHealthDay,
            ConfigReportDay,
            ConfigMismatchDay,
            CostDay,
        ):
            model.objects.filter(workflow_id=row["workflow_id"], day__gte=kept_from).exclude(
                day__range=(day, end)
            ).delete()
        while day <= end:
            usage_rollup_rebuild_day(workflow_id=row["workflow_id"], day=day)
            day += timedelta(days=1)
            rebuilt += 1
    # Recomputed whole rather than trusted: the days cleared above, or rows lost or wrong.
    for workflow_id in _workflows_with_rollups(workflow):
        with transaction.atomic():
            _last_active_recompute(workflow_id)
    return rebuilt


def _workflows_with_rollups(workflow: Workflow | None) -> set[int]:
    """The workflows whose latest days need recomputing: those with people's days or latest
    days (a workflow with neither has nothing to recompute)."""
    if workflow is not None:
        return {workflow.pk}
    return {
        workflow_id
        for model in (UsageActiveUser, UsageLastActive)
        for workflow_id in model.objects.order_by().values_list("workflow_id", flat=True).distinct()
    }


# --- What the events report about the AI (rule 9) -------------------------------------------


def _config_reports(
    workflow_id: int, day: date, start: datetime, end: datetime
) -> tuple[list[ConfigReportDay], list[ConfigMismatchDay]]:
    """The day's events that report a model or prompt version (`attrs.model_version`,
    `attrs.prompt_version`), per configuration version in effect when they occurred, and those
    whose reported version differs from it. An event that occurred before a change but arrived
    after it is compared with the version of its own time: a late event is not a surprise.
    One aggregate query per version in effect that day (usually one)."""
    reports, mismatches = [], []
    reporting = Q()
    for name in REPORTED_FIELDS:
        reporting |= Q(attrs__has_key=name)
    for config, since, until in ai_config_periods(workflow_id, start, end):
        rows = (
            UsageEvent.objects.filter(
                reporting, workflow_id=workflow_id, occurred_at__gte=since, occurred_at__lt=until
            )
            .values(**{name: KT(f"attrs__{name}") for name in REPORTED_FIELDS})
            .annotate(n=Count("event_id"), first=Min("occurred_at"), last=Max("occurred_at"))
            .order_by()
        )
        total = 0
        # (field, reported) → [count, first, last]
        differing: dict[tuple[str, str], list] = {}
        for row in rows:
            total += row["n"]
            for name in REPORTED_FIELDS:
                reported = str(row[name] if row[name] is not None else "").strip()[:80]
                if not reported or reported == getattr(config, name):
                    continue  # not reported (or empty), or what was declared
                seen = differing.setdefault((name, reported), [0, row["first"], row["last"]])
                seen[0] += row["n"]
                seen[1], seen[2] = min(seen[1], row["first"]), max(seen[2], row["last"])
        if not total:
            continue
        reports.append(
            ConfigReportDay(
                workflow_id=workflow_id, day=day, config_version=config.version, reporting=total
            )
        )
        mismatches += [
            ConfigMismatchDay(
                workflow_id=workflow_id,
                day=day,
                config_version=config.version,
                field=name,
                reported=reported,
                count=count,
                first_at=first,
                last_at=last,
            )
            for (name, reported), (count, first, last) in differing.items()
        ]
    return reports, mismatches


def _config_reports_replace(
    workflow_id: int,
    day: date,
    reports: list[ConfigReportDay],
    mismatches: list[ConfigMismatchDay],
) -> None:
    ConfigReportDay.objects.filter(workflow_id=workflow_id, day=day).delete()
    ConfigMismatchDay.objects.filter(workflow_id=workflow_id, day=day).delete()
    ConfigReportDay.objects.bulk_create(reports)
    ConfigMismatchDay.objects.bulk_create(mismatches)
