"""Outcome metrics and their rollups (issue 18 §1).

The owner declares what the integration reports as `outcome` events (`attrs.metric` = the
metric's name, a numeric `value`): handle time, CSAT, rework… Each stored outcome event carries
the arm its person was in when it happened (rollout.models.holdout.Arm, stamped at ingestion);
`OutcomeDay` keeps per person, arm, metric and day the count, sum and sum of squares, rebuilt
with the day's usage rollups, so the impact figures never scan raw events.
"""

from django.db import models

from core.text import refuse_control_characters
from rollout.models.holdout import Arm

OUTCOME_NAME_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"


class OutcomeMetric(models.Model):
    """One outcome the integration reports, declared by the owner. `name` is what events put in
    `attrs.metric`; an archived metric takes no new events but keeps its figures."""

    workflow = models.ForeignKey(
        "rollout.Workflow", on_delete=models.CASCADE, related_name="outcome_metrics"
    )
    name = models.CharField(
        max_length=40,
        help_text="What events send as attrs.metric: lowercase letters, digits and _, "
        "e.g. handle_time_s.",
    )
    label = models.CharField(max_length=80, validators=[refuse_control_characters])
    unit = models.CharField(
        max_length=20, blank=True, validators=[refuse_control_characters], help_text="e.g. s, €, %"
    )
    higher_is_better = models.BooleanField(
        "higher is better", default=False, help_text="Off when lower is better (e.g. handle time)."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["workflow", "name"]
        constraints = [
            models.UniqueConstraint(fields=["workflow", "name"], name="outcome_metric_unique_name"),
        ]

    def __str__(self) -> str:
        return self.label or self.name


class OutcomeDay(models.Model):
    """One person's outcomes of one metric on one day in one arm (and the cohort their events
    were attributed to; None: no cohort). Sums, so any window's per-person mean and variance
    come from summed rows."""

    workflow = models.ForeignKey("rollout.Workflow", on_delete=models.CASCADE, related_name="+")
    cohort = models.ForeignKey(
        "rollout.Cohort", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    user_ref = models.CharField(max_length=254)
    arm = models.CharField(max_length=7, choices=Arm.choices)
    metric = models.CharField(max_length=40)
    day = models.DateField()
    count = models.PositiveIntegerField()
    total = models.FloatField()
    total_sq = models.FloatField()

    class Meta:
        indexes = [
            models.Index(fields=["workflow", "metric", "day"], name="outcome_day_wf_metric_day"),
            models.Index(fields=["workflow", "day"], name="outcome_day_wf_day"),
        ]

    def __str__(self) -> str:
        return f"{self.user_ref} {self.arm} {self.metric} on {self.day}: {self.count}"
