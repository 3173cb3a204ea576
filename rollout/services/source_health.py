"""Data-source health: heartbeats, and each source's observed state with its episodes.

A source's status (SourceStatus) is re-observed from the rollups (SourceHealthDay) and heartbeats
after each rollup run and on each heartbeat, and re-judged at the current time by the periodic
sweep too (a source goes silent by time passing, with no new data to wake anything).

An episode — a live source turning stale or silent, and its recovery to fresh — is acted on once,
on that turn, under a lock on the status row, as threshold breaches are
(rollout.services.evaluation): the owner is notified (in the app and by email) and it is an
activity entry. A turn from stale to silent is the same episode: recorded, not notified again.
"""

from collections.abc import Iterable
from datetime import datetime

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import EmailCategory
from core.errors import ApplicationError
from rollout.models import (
    UNHEALTHY_STATES,
    DataSource,
    SourceHeartbeat,
    SourceKind,
    SourceState,
    SourceStatus,
    Workflow,
)
from rollout.selectors.source_health import (
    SourceHealth,
    judged,
    source_observations,
)
from rollout.services.activity import activity_record
from rollout.services.notifications import notification_send

MSG_REJECTED_OVER_RECORDS = "rejected cannot be more than records ({records})."
MSG_SOURCE_GONE = "This data source was removed from the workflow."


class SourceGone(ApplicationError):
    """The source was deleted after it was looked up (a heartbeat racing its removal)."""


VERB_UNHEALTHY = {
    SourceState.STALE: "data source went stale",
    SourceState.SILENT: "data source went silent",
}
VERB_RECOVERED = "data source recovered"


def _later(*values: datetime | None) -> datetime | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def _locked_status(source: DataSource) -> SourceStatus:
    """The source's status row, locked (created on first use; a concurrent creator loses the
    race on the one-to-one and then locks the winner's row)."""
    query = SourceStatus.objects.select_for_update().filter(source=source)
    status = query.first()
    if status is not None:
        return status
    try:
        with transaction.atomic():
            return SourceStatus.objects.create(source=source)
    except IntegrityError:
        return query.get()


def _observe(status: SourceStatus, seen: dict) -> None:
    """Set what the reports say: the latest report, the newest data, whether the latest report
    was an input_stale."""
    status.last_seen_at = _later(seen["event_seen"], seen["beat_seen"])
    status.last_data_as_of = _later(seen["event_as_of"], seen["beat_as_of"])
    stale_at = seen["stale_at"]
    status.last_report_stale = stale_at is not None and stale_at == status.last_seen_at


def _judge(source: DataSource, status: SourceStatus, now: datetime) -> None:
    """Judge the locked status at `now`, save it, and act on a turn of episode."""
    before = SourceState(status.state)
    verdict = judged(status, source, now)
    status.evaluated_at = now
    if verdict.state != before:
        status.state = verdict.state
        status.state_since = verdict.since or now
    status.save()
    if verdict.state == before or source.kind != SourceKind.LIVE:
        return
    after = SourceState(verdict.state)
    health = SourceHealth(
        source=source,
        state=after,
        since=status.state_since,
        last_seen_at=status.last_seen_at,
        last_data_as_of=status.last_data_as_of,
    )
    if after in UNHEALTHY_STATES:
        activity_record(
            workflow=source.workflow,
            actor=None,
            verb=VERB_UNHEALTHY[after],
            target=f"data source {source.name}",
            note=health.reason,
        )
        if before not in UNHEALTHY_STATES:
            _notify(
                source,
                f"{source.workflow.name}: data source “{source.name}” is {after.label.lower()}",
                health.reason,
            )
    elif after == SourceState.FRESH and before in UNHEALTHY_STATES:
        activity_record(
            workflow=source.workflow,
            actor=None,
            verb=VERB_RECOVERED,
            target=f"data source {source.name}",
            note=f"“{source.name}” is fresh again after being {before.label.lower()}.",
        )
        _notify(
            source,
            f"{source.workflow.name}: data source “{source.name}” recovered",
            f"“{source.name}” reports fresh data again.",
        )


def _notify(source: DataSource, title: str, body: str) -> None:
    workflow = source.workflow
    notification_send(
        recipient=workflow.owner,
        workflow=workflow,
        title=title,
        body=body,
        url=reverse("workflow_plan", kwargs={"slug": workflow.slug}) + "#data-sources",
        email=EmailCategory.UPDATES,
    )


def source_statuses_refresh(
    *,
    workflow: Workflow,
    sources: Iterable[DataSource] | None = None,
    now: datetime | None = None,
) -> int:
    """Re-observe the workflow's sources (or `sources`) from rollups and heartbeats and judge
    them at `now`. Returns the number of sources judged. A few queries plus one transaction per
    source (its status row locked while it is judged)."""
    now = now or timezone.now()
    chosen = (
        list(sources)
        if sources is not None
        else list(DataSource.objects.filter(workflow=workflow).order_by("pk"))
    )
    if not chosen:
        return 0
    observations = source_observations(workflow, [s.pk for s in chosen])
    for source in chosen:
        if source.pk not in observations:
            continue  # removed meanwhile: nothing to judge
        source.workflow = workflow
        with transaction.atomic():
            status = _locked_status(source)
            _observe(status, observations[source.pk])
            _judge(source, status, now)
    return len(chosen)


def source_statuses_judge_all(*, now: datetime | None = None) -> int:
    """The periodic sweep: judge every reported source at `now` (its data ages, it may go
    silent) without re-reading the reports. Returns the number judged."""
    now = now or timezone.now()
    count = 0
    ids = SourceStatus.objects.filter(last_seen_at__isnull=False).values_list("pk", flat=True)
    for pk in list(ids):
        with transaction.atomic():
            status = (
                SourceStatus.objects.select_for_update()
                .select_related("source__workflow__owner")
                .filter(pk=pk)
                .first()
            )
            if status is None:
                continue
            _judge(status.source, status, now)
            count += 1
    return count


@transaction.atomic
def source_heartbeat_record(
    *,
    source: DataSource,
    records: int,
    rejected: int,
    data_as_of: datetime | None = None,
    now: datetime | None = None,
) -> SourceHeartbeat:
    """Store one heartbeat and update the source's observed state at once."""
    if rejected > records:
        raise ApplicationError(MSG_REJECTED_OVER_RECORDS.format(records=records), field="rejected")
    now = now or timezone.now()
    beat = SourceHeartbeat(
        source=source, received_at=now, data_as_of=data_as_of, records=records, rejected=rejected
    )
    with transaction.atomic():
        # Locked, so the source cannot be deleted between this check and the insert, which would
        # otherwise fail on the foreign key (a 500 on PostgreSQL) instead of answering "gone".
        if not DataSource.objects.select_for_update().filter(pk=source.pk).exists():
            raise SourceGone(MSG_SOURCE_GONE)
        beat.full_clean()
        beat.save()
    source_statuses_refresh(workflow=source.workflow, sources=[source], now=now)
    return beat
