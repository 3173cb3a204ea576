"""Demo data-source health (issue 17 §1): what the integrations reported about the inputs.

Support reply drafting reads the customer's account from a "CRM export" (live, refreshed hourly).
The export stopped a week ago: input events before then are fresh (a few rejected for a missing
account id), and since then the integration reports `input_stale` with the data frozen at the
last export — so the source is stale, its owner was notified, and the gate into the broad
roll-out says why. The other workflows' documented live sources report by heartbeat and are
fresh; Sales lead scoring's sources never reported, so its gate into shadow says how to start.

Everything goes through the services: events through ingestion and the rollup, heartbeats
through rollout.services.source_health.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from rollout.lib.freshness import as_of_text
from rollout.models import DataSource, SourceHeartbeat, SourceKind, Workflow
from rollout.services.data_sources import data_source_create
from rollout.services.evaluation import usage_refresh_pending
from rollout.services.source_health import source_heartbeat_record
from rollout.services.usage_ingest import EventData, usage_events_store

STALE_WORKFLOW = "support-reply-drafting"
QUIET_WORKFLOW = "sales-lead-scoring"  # never reported: the audit → shadow gate says how
CRM_KEY = "crm-export"
HISTORY_DAYS = 28
STOPPED_DAYS_AGO = 7
EVERY = timedelta(hours=2)


@dataclass(frozen=True)
class SeededSources:
    events: int
    heartbeats: int


def _crm_export(workflow: Workflow, now: datetime) -> DataSource:
    return data_source_create(
        workflow=workflow,
        actor=workflow.owner,
        name="CRM export",
        key=CRM_KEY,
        kind=SourceKind.LIVE,
        description="The customer's account and plan, exported from Salesforce each hour.",
        freshness="Refreshed every hour by the nightly-and-hourly export job",
        max_age_minutes=60,
        validation="Rows without an account id are rejected before the model sees them.",
        last_verified_at=timezone.localdate(now) - timedelta(days=20),
        # No version: a versioned input added now would be a new AI configuration (rule 9),
        # restarting Support reply drafting's windows and baseline in the middle of its story.
    )


def _crm_events(workflow: Workflow, now: datetime) -> list[EventData]:
    """Every two hours for four weeks: fresh inputs until the export stopped, stale since."""
    stopped = now - timedelta(days=STOPPED_DAYS_AGO)
    frozen = stopped - timedelta(minutes=20)  # the last export's data
    events = []
    at = now - timedelta(days=HISTORY_DAYS)
    n = 0
    while at < now - timedelta(minutes=5):
        n += 1
        event_id = uuid.uuid5(uuid.NAMESPACE_URL, f"demo/{workflow.slug}/{CRM_KEY}/{n}")
        if at < stopped:
            kind = "input_rejected" if n % 9 == 0 else "input_ok"
            attrs = {"source": CRM_KEY, "data_as_of": as_of_text(at - timedelta(minutes=20))}
            if kind == "input_rejected":
                attrs["reason"] = "Account id missing"
        else:
            kind = "input_stale"
            attrs = {
                "source": CRM_KEY,
                "data_as_of": as_of_text(frozen),
                "reason": "The CRM export has not run since the last successful job.",
            }
        events.append(EventData(event_id, "", kind, at, None, attrs))
        at += EVERY
    return events


def _heartbeats(source: DataSource, now: datetime) -> int:
    """A daily heartbeat for two weeks, the latest an hour ago: a fresh source."""
    count = 0
    for days_ago in range(14, -1, -1):
        at = now - timedelta(days=days_ago, hours=1)
        records = 400 + 13 * days_ago
        source_heartbeat_record(
            source=source,
            records=records,
            rejected=days_ago % 4,
            data_as_of=at - timedelta(minutes=3),
            now=at,
        )
        count += 1
    return count


def demo_sources_seed(*, workflows: list[Workflow], now: datetime) -> SeededSources:
    """Seed the demo workflows' source reports, once (a workflow whose sources already reported
    is left alone). Returns what was stored."""
    reported = set(
        SourceHeartbeat.objects.filter(source__workflow__in=workflows)
        .values_list("source__workflow_id", flat=True)
        .distinct()
    )
    events = heartbeats = 0
    for workflow in workflows:
        if workflow.pk in reported or workflow.slug == QUIET_WORKFLOW:
            continue
        live = list(
            DataSource.objects.filter(workflow=workflow, kind=SourceKind.LIVE).order_by("name")
        )
        if not live:
            continue  # not planned (yet): nothing to report on
        if workflow.slug == STALE_WORKFLOW and not any(s.key == CRM_KEY for s in live):
            _crm_export(workflow, now)
            events += usage_events_store(
                workflow=workflow, events=_crm_events(workflow, now)
            ).accepted
        for source in live:
            heartbeats += _heartbeats(source, now)
    usage_refresh_pending()
    return SeededSources(events=events, heartbeats=heartbeats)
