"""Data-source health: what the integration reports about a workflow's inputs, and the observed
state Rollout derives from it (issue 17 §1).

Reports arrive two ways: input events (`input_ok`, `input_rejected`, `input_stale`, with
`attrs.source` = DataSource.key) through the events API, and heartbeats (SourceHeartbeat) from a
pipeline that checks a source outside any invocation. Pages never read the raw events: the usage
rollup rebuilds SourceHealthDay per day from them, as it does UsageRollup, and SourceStatus keeps
each source's observed state, re-judged after each rollup run, on each heartbeat and by the
periodic sweep (a source goes silent by time passing).
"""

from django.db import models


class SourceState(models.TextChoices):
    NEVER_REPORTED = "never_reported", "Never reported"
    FRESH = "fresh", "Fresh"
    STALE = "stale", "Stale"
    SILENT = "silent", "Silent"


# The states a live source is flagged in: on the pages, the gates and the owner's notifications.
UNHEALTHY_STATES = (SourceState.STALE, SourceState.SILENT)


class SourceHealthDay(models.Model):
    """One source's input events of one day (rebuilt whole with the day's usage rollups).

    `source_key` is the key as reported (a source renamed or removed later keeps its days);
    `last_data_as_of` is the newest `attrs.data_as_of` reported that day, an accepted or rejected
    input without one counting as data of the time it was reported; `last_stale_at` is the time
    of the day's latest `input_stale`."""

    workflow = models.ForeignKey("rollout.Workflow", on_delete=models.CASCADE, related_name="+")
    source_key = models.CharField(max_length=60)
    day = models.DateField()
    ok = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    stale = models.PositiveIntegerField(default=0)
    last_seen_at = models.DateTimeField()
    last_data_as_of = models.DateTimeField(null=True, blank=True)
    last_stale_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workflow", "source_key", "day"], name="source_health_day_once"
            ),
        ]
        indexes = [models.Index(fields=["workflow", "day"], name="source_health_wf_day")]

    def __str__(self) -> str:
        return f"{self.source_key} on {self.day}: {self.ok}/{self.rejected}/{self.stale}"

    @property
    def reports(self) -> int:
        return self.ok + self.rejected + self.stale


class SourceHeartbeat(models.Model):
    """One heartbeat: a pipeline checked `records` records of the source, `rejected` of them
    failed validation, and the data is as of `data_as_of` (None: as of `received_at`)."""

    source = models.ForeignKey(
        "rollout.DataSource", on_delete=models.CASCADE, related_name="heartbeats"
    )
    received_at = models.DateTimeField()
    data_as_of = models.DateTimeField(null=True, blank=True)
    records = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["source", "-received_at"], name="source_heartbeat_recent"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(rejected__lte=models.F("records")),
                name="source_heartbeat_rejected_within_records",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source_id} at {self.received_at:%Y-%m-%d %H:%M}"


class SourceStatus(models.Model):
    """The observed state of one data source, updated in place by rollout.services.source_health.

    `last_seen_at` is the latest report received (an event's occurred_at or a heartbeat's time);
    `last_data_as_of` the newest data reported (else `last_seen_at`); `last_report_stale` whether
    the latest report was an `input_stale`. `state` is what the last judgement found and
    `state_since` when it turned so: an episode (turning stale or silent, recovering) is acted on
    once, on that turn, under a lock on this row."""

    source = models.OneToOneField(
        "rollout.DataSource", on_delete=models.CASCADE, related_name="status"
    )
    last_seen_at = models.DateTimeField(null=True, blank=True)
    last_data_as_of = models.DateTimeField(null=True, blank=True)
    last_report_stale = models.BooleanField(default=False)
    state = models.CharField(
        max_length=16, choices=SourceState.choices, default=SourceState.NEVER_REPORTED
    )
    state_since = models.DateTimeField(null=True, blank=True)
    evaluated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "source statuses"

    def __str__(self) -> str:
        return f"{self.source_id}: {self.state}"
