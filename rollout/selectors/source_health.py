"""Reads of data-source health: each source's observed state, data age and report rates.

The state is judged at the time of reading (rollout.lib.freshness) from what SourceStatus last
observed, so a source that went silent since the last sweep already shows so; rates come from
SourceHealthDay and SourceHeartbeat, never from raw events.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Max, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import formats, timezone

from core.dates import day_bounds
from rollout.lib.freshness import Freshness, format_age, format_minutes, freshness_at, silent_after
from rollout.models import (
    UNHEALTHY_STATES,
    DataSource,
    SourceHealthDay,
    SourceHeartbeat,
    SourceKind,
    SourceState,
    SourceStatus,
    Workflow,
)

RATE_WINDOW_DAYS = 7


def data_source_keys(workflow_id: int) -> frozenset[str]:
    """The keys of the workflow's data sources (one query)."""
    return frozenset(
        DataSource.objects.filter(workflow_id=workflow_id).values_list("key", flat=True)
    )


def data_source_by_key(workflow_id: int, key: str) -> DataSource | None:
    return (
        DataSource.objects.filter(workflow_id=workflow_id, key=key)
        .select_related("workflow__owner")
        .first()
    )


def source_has_reports(source: DataSource) -> bool:
    """Whether anything was ever reported for the source (its key is then fixed)."""
    if SourceHeartbeat.objects.filter(source=source).exists():
        return True
    return (
        SourceHealthDay.objects.filter(
            workflow_id=source.workflow_id, source_key=source.key
        ).exists()
        or SourceStatus.objects.filter(source=source, last_seen_at__isnull=False).exists()
    )


def max_age_of(source: DataSource) -> timedelta | None:
    minutes = source.max_age_minutes
    return timedelta(minutes=minutes) if minutes else None


def judged(status: SourceStatus | None, source: DataSource, now: datetime) -> Freshness:
    """The source's freshness at `now` from its status row (None: never reported)."""
    if status is None:
        return Freshness(SourceState.NEVER_REPORTED)
    verdict = freshness_at(
        now,
        last_seen_at=status.last_seen_at,
        last_data_as_of=status.last_data_as_of,
        last_report_stale=status.last_report_stale,
        max_age=max_age_of(source),
    )
    if verdict.state == status.state and status.state_since is not None:
        return Freshness(verdict.state, status.state_since)
    return verdict


@dataclass(frozen=True)
class SourceHealth:
    """One data source as the pages show it. Rates are over the last RATE_WINDOW_DAYS days
    (None without any report); `data_age` is now − the newest data reported."""

    source: DataSource
    state: SourceState
    since: datetime | None
    last_seen_at: datetime | None
    last_data_as_of: datetime | None
    reports: int = 0
    rejected: int = 0
    stale: int = 0

    @property
    def is_live(self) -> bool:
        return self.source.kind == SourceKind.LIVE

    @property
    def flagged(self) -> bool:
        """A live source that is stale or silent: flagged on every page and in the gates."""
        return self.is_live and self.state in UNHEALTHY_STATES

    @property
    def data_age(self) -> timedelta | None:
        as_of = self.last_data_as_of or self.last_seen_at
        return timezone.now() - as_of if as_of else None

    @property
    def data_age_text(self) -> str:
        age = self.data_age
        return format_age(age) if age is not None else ""

    @property
    def max_age_text(self) -> str:
        minutes = self.source.max_age_minutes
        return format_minutes(minutes) if minutes else ""

    @property
    def silent_after_text(self) -> str:
        hours = int(silent_after(max_age_of(self.source)).total_seconds() // 3600)
        return f"{hours // 24} days" if hours >= 48 and hours % 24 == 0 else f"{hours} hours"

    @property
    def rejection_rate(self) -> float | None:
        return self.rejected / self.reports if self.reports else None

    @property
    def stale_rate(self) -> float | None:
        return self.stale / self.reports if self.reports else None

    @property
    def reason(self) -> str:
        """“CRM export” is stale since 29 Nov 14:05 (data 7 days old; expected within 1 hour)."""
        name = f"“{self.source.name}”"
        when = (
            formats.date_format(timezone.localtime(self.since), "j M Y, H:i T")
            if self.since
            else ""
        )
        since = f" since {when}" if when else ""
        if self.state == SourceState.SILENT:
            return f"{name} is silent{since}: nothing reported for over {self.silent_after_text}."
        if self.state == SourceState.STALE:
            expected = f"; expected within {self.max_age_text}" if self.max_age_text else ""
            age = f"data {self.data_age_text} old" if self.data_age_text else "reported stale"
            return f"{name} is stale{since} ({age}{expected})."
        if self.state == SourceState.NEVER_REPORTED:
            return f"{name} has never reported."
        return f"{name} is fresh."


def _window_counts(
    workflow_ids: list[int], start: datetime, now: datetime
) -> tuple[dict[tuple[int, str], dict], dict[int, dict]]:
    """Per (workflow, source key) the input events' counts since `start`, and per source id the
    heartbeats' (two queries)."""
    events = {
        (row["workflow_id"], row["source_key"]): row
        for row in SourceHealthDay.objects.filter(
            workflow_id__in=workflow_ids, day__gte=timezone.localdate(start)
        )
        .values("workflow_id", "source_key")
        .annotate(ok=Sum("ok"), rejected=Sum("rejected"), stale=Sum("stale"))
        .order_by()
    }
    beats = {
        row["source_id"]: row
        for row in SourceHeartbeat.objects.filter(
            source__workflow_id__in=workflow_ids, received_at__gte=start, received_at__lte=now
        )
        .values("source_id")
        .annotate(records=Sum("records"), rejected=Sum("rejected"))
        .order_by()
    }
    return events, beats


def _health_rows(sources: list[DataSource], now: datetime, days: int) -> list[SourceHealth]:
    start, _ = day_bounds(timezone.localdate(now) - timedelta(days=days - 1))
    events, beats = _window_counts(sorted({s.workflow_id for s in sources}), start, now)
    rows = []
    for source in sources:
        status = status_of(source)
        verdict = judged(status, source, now)
        counts = events.get((source.workflow_id, source.key), {})
        beat = beats.get(source.pk, {})
        ok, rejected, stale = (counts.get(k) or 0 for k in ("ok", "rejected", "stale"))
        records, beat_rejected = beat.get("records") or 0, beat.get("rejected") or 0
        rows.append(
            SourceHealth(
                source=source,
                state=SourceState(verdict.state),
                since=verdict.since,
                last_seen_at=status.last_seen_at if status else None,
                last_data_as_of=status.last_data_as_of if status else None,
                reports=ok + rejected + stale + records,
                rejected=rejected + beat_rejected,
                stale=stale,
            )
        )
    return rows


def status_of(source: DataSource) -> SourceStatus | None:
    """The source's status row (selected with it), or None when nothing judged it yet."""
    try:
        return source.status
    except SourceStatus.DoesNotExist:  # a reverse one-to-one without a row raises
        return None


def source_health_at(source: DataSource, now: datetime) -> SourceHealth:
    """The source's health at `now`, without rates (its status selected with it)."""
    status = status_of(source)
    verdict = judged(status, source, now)
    return SourceHealth(
        source=source,
        state=SourceState(verdict.state),
        since=verdict.since,
        last_seen_at=status.last_seen_at if status else None,
        last_data_as_of=status.last_data_as_of if status else None,
    )


def source_health_list(
    workflow: Workflow, *, now: datetime | None = None, days: int = RATE_WINDOW_DAYS
) -> list[SourceHealth]:
    """Every data source of the workflow with its observed health (three queries)."""
    now = now or timezone.now()
    sources = list(
        DataSource.objects.filter(workflow=workflow).select_related("status").order_by("name")
    )
    return _health_rows(sources, now, days) if sources else []


def flagged_sources(workflow_ids: list[int], *, now: datetime | None = None) -> dict[int, list]:
    """{workflow id: [SourceHealth of each live source that is stale or silent]} (one query;
    rates are not needed for a flag and left at zero)."""
    now = now or timezone.now()
    flagged: dict[int, list[SourceHealth]] = defaultdict(list)
    sources = (
        DataSource.objects.filter(workflow_id__in=workflow_ids, kind=SourceKind.LIVE)
        .select_related("status")
        .order_by("name")
    )
    for source in sources:
        health = source_health_at(source, now)
        if health.state in UNHEALTHY_STATES:
            flagged[source.workflow_id].append(health)
    return flagged


def live_source_list(workflow: Workflow) -> QuerySet[DataSource]:
    """The workflow's live sources with their status rows (one query)."""
    return (
        DataSource.objects.filter(workflow=workflow, kind=SourceKind.LIVE)
        .select_related("status")
        .order_by("name", "pk")
    )


def source_rate_counts(
    workflow: Workflow, *, start: datetime, end: datetime, source: DataSource | None = None
) -> tuple[int, int, int]:
    """(reports, rejected, stale) over [start, end] for one source or all sources of the
    workflow: input events (by day, SourceHealthDay) plus heartbeat records. Two queries."""
    days = SourceHealthDay.objects.filter(
        workflow=workflow,
        day__gte=timezone.localdate(start),
        day__lte=timezone.localdate(end),
    )
    beats = SourceHeartbeat.objects.filter(
        source__workflow=workflow, received_at__gte=start, received_at__lte=end
    )
    if source is not None:
        days, beats = days.filter(source_key=source.key), beats.filter(source=source)
    else:
        # All sources: those the workflow declares (a key reported but never declared is noise).
        days = days.filter(
            source_key__in=DataSource.objects.filter(workflow=workflow).values("key")
        )
    e = days.aggregate(
        ok=Coalesce(Sum("ok"), 0),
        rejected=Coalesce(Sum("rejected"), 0),
        stale=Coalesce(Sum("stale"), 0),
    )
    b = beats.aggregate(records=Coalesce(Sum("records"), 0), rejected=Coalesce(Sum("rejected"), 0))
    reports = e["ok"] + e["rejected"] + e["stale"] + b["records"]
    return reports, e["rejected"] + b["rejected"], e["stale"]


def source_observations(workflow: Workflow, source_ids: list[int] | None = None) -> dict[int, dict]:
    """{source id: {"last_seen_at", "last_data_as_of", "last_stale_at"}} from the rollups and the
    heartbeats: what the status rows should hold (two queries)."""
    sources = DataSource.objects.filter(workflow=workflow)
    if source_ids is not None:
        sources = sources.filter(pk__in=source_ids)
    by_key = {key: pk for pk, key in sources.values_list("pk", "key")}
    seen = {
        row["source_key"]: row
        for row in SourceHealthDay.objects.filter(workflow=workflow, source_key__in=list(by_key))
        .values("source_key")
        .annotate(
            seen=Max("last_seen_at"), as_of=Max("last_data_as_of"), stale_at=Max("last_stale_at")
        )
        .order_by()
    }
    beats = {
        row["source_id"]: row
        for row in SourceHeartbeat.objects.filter(source_id__in=list(by_key.values()))
        .values("source_id")
        .annotate(seen=Max("received_at"), as_of=Max(Coalesce("data_as_of", "received_at")))
        .order_by()
    }
    result = {}
    for key, pk in by_key.items():
        event, beat = seen.get(key, {}), beats.get(pk, {})
        result[pk] = {
            "event_seen": event.get("seen"),
            "event_as_of": event.get("as_of"),
            "stale_at": event.get("stale_at"),
            "beat_seen": beat.get("seen"),
            "beat_as_of": beat.get("as_of"),
        }
    return result
