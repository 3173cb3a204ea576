from django.db import models


class Metric(models.TextChoices):
    ERROR_RATE = "error_rate", "Error rate"
    OVERRIDE_RATE = "override_rate", "Override rate"
    ACCEPTANCE_RATE = "acceptance_rate", "Acceptance rate"
    SHADOW_AGREEMENT_RATE = "shadow_agreement_rate", "Shadow agreement rate"
    NEGATIVE_FEEDBACK_SHARE = "negative_feedback_share", "Negative-feedback share"
    P95_LATENCY_MS = "p95_latency_ms", "p95 latency (ms)"
    ADOPTION_RATE = "adoption_rate", "Adoption rate"
    ESCALATION_RATE = "escalation_rate", "Escalation rate"
    INPUT_REJECTION_RATE = "input_rejection_rate", "Input rejection rate"
    STALE_INPUT_RATE = "stale_input_rate", "Stale input rate"
    COST_PER_ACCEPTED_OUTPUT = "cost_per_accepted_output", "Cost per accepted output"
    DAILY_COST = "daily_cost", "Daily cost"
    # AI better than the holdout by at least `limit` on `outcome_metric` (rollout.selectors.impact).
    IMPACT = "impact", "Impact on an outcome (AI vs holdout)"
    # (wrong + harmful) ÷ graded sampled outputs (rollout.selectors.output_reviews); the sample
    # is the graded outputs.
    REVIEWED_ERROR_RATE = "reviewed_error_rate", "Reviewed error rate"


# Judged from data-source reports (rollout.models.source_health), per source or all sources.
SOURCE_METRICS = (Metric.INPUT_REJECTION_RATE, Metric.STALE_INPUT_RATE)


# Rule 2: a workflow needs at least one threshold on one of these before it may enter `limited`.
QUALITY_METRICS = (Metric.ERROR_RATE, Metric.OVERRIDE_RATE, Metric.ACCEPTANCE_RATE)
# Money in the organisation's currency (rollout.selectors.costs): budgets, judged "at most".
COST_METRICS = (Metric.COST_PER_ACCEPTED_OUTPUT, Metric.DAILY_COST)
RATE_METRICS = tuple(
    m for m in Metric if m not in (Metric.P95_LATENCY_MS, Metric.IMPACT) and m not in COST_METRICS
)


class Comparator(models.TextChoices):
    AT_MOST = "lte", "at most"
    AT_LEAST = "gte", "at least"


class ThresholdScope(models.TextChoices):
    WORKFLOW = "workflow", "Whole workflow"
    PER_COHORT = "per_cohort", "Each cohort"


class BreachAction(models.TextChoices):
    ALERT = "alert", "Alert the owner"
    BLOCK_PROMOTION = "block_promotion", "Block promotion"
    PAUSE_ROLLOUT = "pause_rollout", "Pause the roll-out"


class Verdict(models.TextChoices):
    PASS = "pass", "Pass"
    MARGINAL = "marginal", "Marginal"
    FAIL = "fail", "Fail"
    INSUFFICIENT_DATA = "insufficient_data", "Insufficient data"


class Threshold(models.Model):
    """A quality rule defined before launch.

    `limit` is where passing ends. The optional marginal band lies beyond it, on the failing
    side: for "at most" (lte) the value passes up to `limit`, is marginal up to
    `marginal_limit`, and fails above; for "at least" (gte) it passes down to `limit`, is
    marginal down to `marginal_limit`, and fails below. Rates are fractions 0–1; latency is in
    milliseconds.
    """

    workflow = models.ForeignKey(
        "rollout.Workflow", on_delete=models.CASCADE, related_name="thresholds"
    )
    metric = models.CharField(max_length=30, choices=Metric.choices)
    comparator = models.CharField(max_length=3, choices=Comparator.choices)
    limit = models.FloatField()
    marginal_limit = models.FloatField("marginal band edge", null=True, blank=True)
    window_days = models.PositiveSmallIntegerField("window (days)", default=7)
    min_sample = models.PositiveIntegerField("minimum sample size", default=100)
    scope = models.CharField(
        max_length=12, choices=ThresholdScope.choices, default=ThresholdScope.WORKFLOW
    )
    # Only for SOURCE_METRICS: the one source judged (None: all sources of the workflow).
    source = models.ForeignKey(
        "rollout.DataSource",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="thresholds",
    )
    # Only for Metric.IMPACT: the outcome compared; `limit` is then in its unit.
    outcome_metric = models.ForeignKey(
        "rollout.OutcomeMetric",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="thresholds",
    )
    bad_output = models.TextField(
        "what a bad output looks like",
        max_length=2000,
        help_text="In plain words, so everyone recognises one when they see it.",
    )
    action = models.CharField(max_length=20, choices=BreachAction.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    added_after_launch = models.BooleanField(
        default=False, help_text="Added or loosened after the limited roll-out started."
    )

    class Meta:
        ordering = ["workflow", "metric", "id"]

    def __str__(self) -> str:
        return f"{self.get_metric_display()} {self.get_comparator_display()} {self.limit}"
