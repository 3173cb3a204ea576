"""What the AI costs: prices the owner declares per model version, and the daily cost rollup.

Events may report `attrs.cost` (in the organisation's currency) and/or `attrs.input_tokens` and
`attrs.output_tokens`. `CostDay` keeps, per workflow, cohort, day and model version, the tokens
and the reported costs, rebuilt with the day's usage rollups (rollout.services.cost_rollup).
Prices are applied when the rollup is read (rollout.selectors.costs), not when it is built: a
price declared or changed later re-costs every day it covers at once, the days before its
`valid_from` keep the price that was in force then, and no raw event needs reading again.
"""

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models

from core.text import refuse_control_characters
from rollout.lib.cost_attrs import COST_ATTRS

__all__ = ["COST_ATTRS", "CostDay", "ModelPrice"]


class ModelPrice(models.Model):
    """The price of one model version from `valid_from` (a day of the organisation's calendar)
    until the next price of the same version: per 1,000 input and per 1,000 output tokens."""

    workflow = models.ForeignKey(
        "rollout.Workflow", on_delete=models.CASCADE, related_name="model_prices"
    )
    model_version = models.CharField(
        "model version", max_length=80, validators=[refuse_control_characters]
    )
    valid_from = models.DateField("valid from")
    input_per_1k = models.DecimalField(
        "price per 1,000 input tokens",
        max_digits=14,
        decimal_places=6,
        validators=[MinValueValidator(0)],
    )
    output_per_1k = models.DecimalField(
        "price per 1,000 output tokens",
        max_digits=14,
        decimal_places=6,
        validators=[MinValueValidator(0)],
    )
    declared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    declared_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["workflow", "model_version", "-valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["workflow", "model_version", "valid_from"], name="model_price_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.workflow_id} {self.model_version} from {self.valid_from}"


class CostDay(models.Model):
    """One day's cost-bearing events of one cohort (None: people in no cohort) and model version
    ("" when neither the event nor the configuration names one).

    Cost-bearing: invocations, and any other usage event reporting tokens or a cost. Each is in
    exactly one of three counts: `reported` (it carried `attrs.cost`, summed in `reported_cost`),
    `tokens_only` (tokens without a cost: priced when read, with `priced_input_tokens` and
    `priced_output_tokens`), `unreported` (neither: its cost is unknown, never zero).
    `input_tokens` and `output_tokens` are every token reported, whatever carried a cost."""

    workflow = models.ForeignKey("rollout.Workflow", on_delete=models.CASCADE, related_name="+")
    cohort = models.ForeignKey(
        "rollout.Cohort", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    day = models.DateField()
    model_version = models.CharField(max_length=80, blank=True)
    input_tokens = models.PositiveBigIntegerField(default=0)
    output_tokens = models.PositiveBigIntegerField(default=0)
    reported = models.PositiveIntegerField(default=0)
    reported_cost = models.FloatField(default=0.0)
    tokens_only = models.PositiveIntegerField(default=0)
    priced_input_tokens = models.PositiveBigIntegerField(default=0)
    priced_output_tokens = models.PositiveBigIntegerField(default=0)
    unreported = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["workflow", "day"], name="cost_day_wf_day")]

    def __str__(self) -> str:
        return f"{self.workflow_id}/{self.cohort_id} {self.day} {self.model_version}"
