"""The threshold form. Rates are entered as percentages (2 means 2%) and stored as fractions."""

from typing import Any

from django import forms

from rollout.models import (
    SOURCE_METRICS,
    BreachAction,
    Comparator,
    DataSource,
    Metric,
    OutcomeMetric,
    Threshold,
    ThresholdScope,
    Workflow,
)
from rollout.selectors.costs import currency_code
from rollout.selectors.outcome_metrics import outcome_metric_list
from rollout.selectors.plan import data_source_list
from rollout.selectors.thresholds import is_rate
from rollout.services.thresholds import (
    MSG_BAD_OUTPUT_REQUIRED,
    MSG_OUTCOME_ONLY_FOR_IMPACT,
    MSG_OUTCOME_REQUIRED,
    MSG_SOURCE_ONLY_FOR_INPUTS,
)

_UNIT_HELP = (
    "For rates, a percentage (2 means 2%). For p95 latency, milliseconds. For costs, an amount "
    "in the organisation's currency ({currency}). For impact, X in the outcome metric's unit: "
    "the AI must be better than the holdout by at least X."
)


class ThresholdForm(forms.Form):
    metric = forms.ChoiceField(label="Metric", choices=Metric.choices)
    comparator = forms.ChoiceField(label="Passes when the value is", choices=Comparator.choices)
    limit = forms.FloatField(label="Limit (%, ms or amount)", help_text=_UNIT_HELP)
    marginal_limit = forms.FloatField(
        label="Marginal band edge (%, ms or amount)",
        required=False,
        help_text=(
            "Optional. Beyond the limit, on the failing side: values between the limit and this "
            "edge are marginal, values past it fail."
        ),
    )
    window_days = forms.IntegerField(label="Window (days)", initial=7, help_text="1 to 90 days.")
    min_sample = forms.IntegerField(
        label="Minimum sample (cases)",
        initial=100,
        help_text="Fewer cases than this in the window means insufficient data, not a verdict.",
    )
    scope = forms.ChoiceField(label="Applies to", choices=ThresholdScope.choices)
    source = forms.ModelChoiceField(
        label="Data source",
        queryset=DataSource.objects.none(),
        required=False,
        empty_label="All data sources",
        help_text="Only for the input rejection rate and the stale input rate, which are "
        "judged per data source or over all of them.",
    )
    outcome_metric = forms.ModelChoiceField(
        label="Outcome metric",
        queryset=OutcomeMetric.objects.none(),
        required=False,
        empty_label="—",
        help_text="Only for impact: the declared outcome the AI should improve, judged on "
        "AI vs holdout people with an always-valid 95% interval.",
    )
    action = forms.ChoiceField(label="On breach", choices=BreachAction.choices)
    bad_output = forms.CharField(
        label="What a bad output looks like",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="In plain words, so everyone recognises one when they see it.",
        error_messages={"required": MSG_BAD_OUTPUT_REQUIRED},
    )

    def __init__(self, *args: Any, workflow: Workflow, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["source"].queryset = data_source_list(workflow)
        self.currency = currency_code()  # the page writes costs in it too
        self.fields["limit"].help_text = _UNIT_HELP.format(currency=self.currency)
        self.fields["outcome_metric"].queryset = outcome_metric_list(workflow, archived=False)

    @classmethod
    def for_threshold(cls, threshold: Threshold, data: Any = None) -> "ThresholdForm":
        scale = 100 if is_rate(threshold.metric) else 1
        initial = {name: getattr(threshold, name) for name in cls.base_fields}
        initial["limit"] = round(threshold.limit * scale, 6)
        if threshold.marginal_limit is not None:
            initial["marginal_limit"] = round(threshold.marginal_limit * scale, 6)
        return cls(data, initial=initial, workflow=threshold.workflow)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("source") is not None and data.get("metric") not in SOURCE_METRICS:
            self.add_error("source", MSG_SOURCE_ONLY_FOR_INPUTS)
        impact = data.get("metric") == Metric.IMPACT
        if impact and data.get("outcome_metric") is None:
            self.add_error("outcome_metric", MSG_OUTCOME_REQUIRED)
        if not impact and data.get("outcome_metric") is not None:
            self.add_error("outcome_metric", MSG_OUTCOME_ONLY_FOR_IMPACT)
        return data

    def service_kwargs(self) -> dict[str, Any]:
        """The cleaned values in stored units: percentages become fractions for rates."""
        data = dict(self.cleaned_data)
        scale = 100 if is_rate(data["metric"]) else 1
        data["limit"] = data["limit"] / scale
        if data["marginal_limit"] is not None:
            data["marginal_limit"] = data["marginal_limit"] / scale
        return data
