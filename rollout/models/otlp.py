"""OTLP trace ingestion's short-lived state (issue 19 §2, rollout.services.otlp_ingest).

A GenAI span is counted for the person its trace names; that name often arrives later, on a parent
span exported in another request. `OtlpTrace` remembers the person a trace named (for a while);
`OtlpHeldSpan` holds a span whose trace named nobody yet, until its person arrives or its hold ends
(then it is counted as nobody's, like an unknown person). Rows, not memory: a crash loses nothing,
and releasing a span deletes its row in the transaction that stores its events.
"""

from django.db import models


class OtlpTrace(models.Model):
    """The person (and flag variant) a trace named, for the workflow whose token sent it."""

    workflow = models.ForeignKey("rollout.Workflow", on_delete=models.CASCADE, related_name="+")
    trace_id = models.CharField(max_length=32)
    user_ref = models.CharField(max_length=254)
    variant = models.CharField(max_length=40, blank=True)
    seen_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workflow", "trace_id"], name="otlp_trace_once"),
        ]

    def __str__(self) -> str:
        return f"{self.trace_id} → {self.user_ref}"


class OtlpHeldSpan(models.Model):
    """A GenAI span waiting for its trace's person: its events, validated, as JSON items
    (event_id, kind, occurred_at, latency_ms, attrs), until `due_at`."""

    workflow = models.ForeignKey("rollout.Workflow", on_delete=models.CASCADE, related_name="+")
    trace_id = models.CharField(max_length=32)
    # The span's invocation event id: a span exported again while held is held once.
    event_id = models.UUIDField()
    events = models.JSONField()
    held_at = models.DateTimeField()
    due_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workflow", "event_id"], name="otlp_held_span_once"),
        ]
        indexes = [models.Index(fields=["workflow", "trace_id"], name="otlp_held_trace")]

    def __str__(self) -> str:
        return f"{self.trace_id} until {self.due_at:%H:%M:%S}"


class OtlpTokenCount(models.Model):
    """What one API token exported over OTLP: GenAI spans taken, other spans ignored."""

    token = models.OneToOneField(
        "rollout.ApiToken", on_delete=models.CASCADE, related_name="otlp_count"
    )
    genai_spans = models.BigIntegerField(default=0)
    ignored_spans = models.BigIntegerField(default=0)
    last_export_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"token {self.token_id}: {self.genai_spans} GenAI, {self.ignored_spans} ignored"
