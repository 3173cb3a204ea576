"""Usage: raw events reported by the integration, and the rollups every page reads.

Raw events are written once (idempotent on `event_id` per workflow) and never scanned by a page:
ingestion marks the days it touched as dirty, and the rollup service rebuilds those days' rollups
from the raw rows. Rebuilding a whole day (rather than adding counts) makes late and duplicate
events harmless: a rollup always equals a recomputation from raw events.

The people active over a period are not a sum of days. `UsageActiveUser` keeps who was active on
each day (rows grow with people × days); `UsageLastActive` keeps each person's latest day (rows
grow with people only), which is what a period ending today needs.
"""

from django.conf import settings
from django.db import models


class EventKind(models.TextChoices):
    INVOCATION = "invocation", "Invocation"
    ACCEPTED = "accepted", "Accepted"
    EDITED = "edited", "Edited"
    OVERRIDDEN = "overridden", "Overridden"
    ERROR = "error", "Error"
    FALLBACK = "fallback", "Fallback"
    AGREED = "agreed", "Agreed (shadow)"
    DISAGREED = "disagreed", "Disagreed (shadow)"
    # Data-source health (rollout.models.source_health): reports on an input, never usage.
    INPUT_OK = "input_ok", "Input accepted"
    INPUT_REJECTED = "input_rejected", "Input rejected"
    INPUT_STALE = "input_stale", "Input stale"
    # An outcome of a case (attrs.metric, a numeric `value`), AI or not (rollout.models.outcome).
    OUTCOME = "outcome", "Outcome"


# Kinds that report on a data source (attrs.source): never activity, invocations or quality.
INPUT_KINDS = frozenset({EventKind.INPUT_OK, EventKind.INPUT_REJECTED, EventKind.INPUT_STALE})
# Kinds that are nobody's use of the AI: never activity, invocations or quality.
NOT_USAGE_KINDS = INPUT_KINDS | {EventKind.OUTCOME}


class UsageEvent(models.Model):
    """One event as the integration reported it. `cohort` and `user` are resolved at ingestion:
    the cohort the person was in when it happened (None for people Rollout does not know, or who
    are in no cohort of the workflow — they are still counted).

    The hot table: every index and check here is paid on every stored event, so it holds only
    what the service cannot guarantee or a query needs. Its foreign keys are not enforced by the
    database (checking three per event was most of the cost of ingestion): the only writer,
    rollout.services.usage_ingest, takes the workflow from the API token and resolves user and
    cohort itself. Deletions keep their meaning through Django: deleting a workflow deletes its
    events, deleting a person or a cohort empties the field (the ORM's collector runs CASCADE and
    SET_NULL, whatever the database enforces). The rollup treats a cohort deleted while a batch
    naming it was being stored as no cohort (rollout.services.usage_rollup).
    """

    # Rule 7: a batch sent twice counts once. The key is the idempotency key itself, not a
    # surrogate id whose index every stored event would pay for (nothing reads events by id).
    pk = models.CompositePrimaryKey("workflow", "event_id")
    # No index of its own: the key and the index below start with it.
    workflow = models.ForeignKey(
        "rollout.Workflow",
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    event_id = models.UUIDField()
    user_ref = models.CharField(max_length=254)
    # Not indexed: no read looks events up by person or cohort (the rollups read a workflow's
    # day), and each index cost about an eighth of storing an event. Deleting a person or a
    # cohort (rare: people are deactivated or erased, cohorts emptied) reads the table once to
    # empty the field, as erasing a person already does to find every spelling of their address.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    cohort = models.ForeignKey(
        "rollout.Cohort",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    kind = models.CharField(max_length=16, choices=EventKind.choices)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    latency_bucket = models.PositiveSmallIntegerField(null=True, blank=True)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField()
    attrs = models.JSONField(default=dict, blank=True)
    # Outcome events only: the value reported, and the arm (rollout.models.holdout.Arm) the
    # person was in when it happened (None: in neither, e.g. outside the percentage or paused).
    value = models.FloatField(null=True, blank=True)
    arm = models.CharField(max_length=7, null=True, blank=True)

    class Meta:
        # The rollup reads one workflow's day at a time.
        indexes = [models.Index(fields=["workflow", "occurred_at"], name="usage_event_wf_time")]

    def __str__(self) -> str:
        return f"{self.kind} by {self.user_ref} at {self.occurred_at:%Y-%m-%d %H:%M}"


class UsageDirtyDay(models.Model):
    """A (workflow, day) whose rollups are behind its raw events. Written by ingestion, claimed and
    deleted by the rollup service; the periodic sweep finds any a lost task left behind."""

    workflow = models.ForeignKey("rollout.Workflow", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    marked_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workflow", "day"], name="usage_dirty_day_once"),
        ]

    def __str__(self) -> str:
        return f"{self.workflow_id} {self.day}"


class RollupPeriod(models.TextChoices):
    DAY = "day", "Day"
    HOUR = "hour", "Hour"


class UsageRollup(models.Model):
    """Counts for one workflow, cohort (None: people in no cohort) and day or hour.

    Rates are derived (see rollout.selectors.usage.UsageCounts); latency is a histogram over
    rollout.lib.stats.LATENCY_EDGES_MS so percentiles of any window come from summed buckets.
    """

    workflow = models.ForeignKey("rollout.Workflow", on_delete=models.CASCADE, related_name="+")
    cohort = models.ForeignKey(
        "rollout.Cohort", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    period = models.CharField(max_length=4, choices=RollupPeriod.choices)
    day = models.DateField()
    start = models.DateTimeField()
    invocations = models.PositiveIntegerField(default=0)
    accepted = models.PositiveIntegerField(default=0)
    edited = models.PositiveIntegerField(default=0)
    overridden = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    fallbacks = models.PositiveIntegerField(default=0)
    agreed = models.PositiveIntegerField(default=0)
    disagreed = models.PositiveIntegerField(default=0)
    active_users = models.PositiveIntegerField(default=0)
    latency_count = models.PositiveIntegerField(default=0)
    latency_hist = models.JSONField(default=list, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["workflow", "period", "day"], name="usage_rollup_wf_day"),
        ]

    def __str__(self) -> str:
        return f"{self.workflow_id}/{self.cohort_id} {self.period} {self.start:%Y-%m-%d %H:%M}"


class UsageActiveUser(models.Model):
    """One person active on one day in one cohort of a workflow: lets "active users over a window"
    be counted without scanning raw events (a few rows per person per day)."""

    workflow = models.ForeignKey("rollout.Workflow", on_delete=models.CASCADE, related_name="+")
    cohort = models.ForeignKey(
        "rollout.Cohort", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    day = models.DateField()
    user_ref = models.CharField(max_length=254)

    class Meta:
        indexes = [
            models.Index(fields=["workflow", "day"], name="usage_active_wf_day"),
            # One person's days: their latest day after a rebuild, and whether someone whose
            # latest day is after a period was also active within it (UsageLastActive).
            models.Index(fields=["workflow", "user_ref", "day"], name="usage_active_wf_person"),
        ]

    def __str__(self) -> str:
        return f"{self.user_ref} on {self.day}"


class UsageLastActive(models.Model):
    """The latest day one person was active in one cohort of a workflow (None: in no cohort):
    the latest `UsageActiveUser.day` of that cohort and `user_ref`, kept with it by the rollup
    service. People active over a period ending today (the usage page's) are then the rows whose
    day falls in it: one row per person to count, whatever the number of days
    (rollout.selectors.usage_summary.active_users_by_cohort)."""

    workflow = models.ForeignKey("rollout.Workflow", on_delete=models.CASCADE, related_name="+")
    cohort = models.ForeignKey(
        "rollout.Cohort", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    user_ref = models.CharField(max_length=254)
    day = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workflow", "cohort", "user_ref"], name="usage_last_active_once"
            ),
            # NULLs are distinct in a unique index: people in no cohort need their own.
            models.UniqueConstraint(
                fields=["workflow", "user_ref"],
                condition=models.Q(cohort__isnull=True),
                name="usage_last_active_once_no_cohort",
            ),
        ]
        indexes = [models.Index(fields=["workflow", "day"], name="usage_last_active_wf_day")]

    def __str__(self) -> str:
        return f"{self.user_ref} last on {self.day}"
