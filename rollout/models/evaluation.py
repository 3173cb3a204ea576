"""Threshold evaluations and drift: what the numbers say about a workflow's quality.

`scope_key` is "" for the whole workflow and the cohort's id for a per-cohort scope: a plain
string, so "one current row per threshold and scope" is a unique constraint on every database
(NULLs are distinct in unique constraints).
"""

from django.db import models

from rollout.models.threshold import Verdict


class _Judged(models.Model):
    """What one evaluation found for one threshold in one scope."""

    cohort = models.ForeignKey(
        "rollout.Cohort", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    scope_key = models.CharField(max_length=20, blank=True)
    verdict = models.CharField(max_length=20, choices=Verdict.choices)
    observed = models.FloatField(null=True, blank=True)
    sample = models.PositiveIntegerField(default=0)
    reason = models.TextField(blank=True)
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    evaluated_at = models.DateTimeField()

    class Meta:
        abstract = True


class ThresholdStatus(_Judged):
    """The latest verdict of one threshold in one scope, updated in place by every evaluation.

    `breached_since` is set when the verdict turns to fail and cleared when it stops failing: the
    breach is acted on (alert, pause) only on that turn, never on every evaluation while it lasts.
    """

    threshold = models.ForeignKey(
        "rollout.Threshold", on_delete=models.CASCADE, related_name="statuses"
    )
    breached_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["threshold", "scope_key"], name="threshold_status_one_per_scope"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.threshold_id}/{self.scope_key or 'all'}: {self.verdict}"


class ThresholdEvaluation(_Judged):
    """History: one row each time a threshold's verdict in a scope changes, and at most hourly
    while it stays the same (the status row holds the minute-by-minute latest)."""

    threshold = models.ForeignKey(
        "rollout.Threshold", on_delete=models.CASCADE, related_name="evaluations"
    )
    breach = models.BooleanField(default=False, help_text="This evaluation started a breach.")

    class Meta:
        ordering = ["-evaluated_at", "-id"]
        indexes = [
            models.Index(fields=["threshold", "-evaluated_at"], name="threshold_eval_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.threshold_id}/{self.scope_key or 'all'} {self.verdict} {self.evaluated_at}"


class DriftStatus(models.TextChoices):
    STABLE = "stable", "Stable"
    DEGRADING = "degrading", "Degrading"
    INSUFFICIENT_DATA = "insufficient_data", "Not enough data"


class CohortDrift(models.Model):
    """The latest drift check of one metric of one cohort against its phase's baseline window."""

    workflow = models.ForeignKey("rollout.Workflow", on_delete=models.CASCADE, related_name="+")
    cohort = models.ForeignKey(
        "rollout.Cohort", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    scope_key = models.CharField(max_length=20, blank=True)
    metric = models.CharField(max_length=30)
    status = models.CharField(max_length=20, choices=DriftStatus.choices)
    baseline_value = models.FloatField(null=True, blank=True)
    current_value = models.FloatField(null=True, blank=True)
    baseline_sample = models.PositiveIntegerField(default=0)
    current_sample = models.PositiveIntegerField(default=0)
    p_value = models.FloatField(null=True, blank=True)
    baseline_start = models.DateField(null=True, blank=True)
    baseline_end = models.DateField(null=True, blank=True)
    current_start = models.DateField(null=True, blank=True)
    current_end = models.DateField(null=True, blank=True)
    explanation = models.TextField(blank=True)
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workflow", "scope_key", "metric"], name="cohort_drift_one_per_metric"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.workflow_id}/{self.scope_key or 'none'} {self.metric}: {self.status}"


class DriftEpisode(models.Model):
    """One stretch of time a cohort was degrading: opened when a check first finds a degrading
    metric (the owner is told then, once), closed when none is degrading any more. At most one
    open episode per cohort, which the database enforces."""

    workflow = models.ForeignKey("rollout.Workflow", on_delete=models.CASCADE, related_name="+")
    cohort = models.ForeignKey("rollout.Cohort", on_delete=models.CASCADE, related_name="+")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    metrics = models.JSONField(default=list, blank=True, help_text="The degrading metrics.")
    explanation = models.TextField(blank=True)
    recovery = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["cohort"],
                condition=models.Q(ended_at__isnull=True),
                name="drift_episode_one_open",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.cohort_id} degrading from {self.started_at:%Y-%m-%d %H:%M}"
