"""The form an owner declares a model version's price with (per 1,000 input and output tokens)."""

from django import forms
from django.utils import timezone

from rollout.services.cost_prices import MAX_PRICE_PER_1K, MSG_VERSION_REQUIRED


def _price_field(label: str) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        min_value=0,
        max_value=MAX_PRICE_PER_1K,
        max_digits=14,
        decimal_places=6,
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
    )


class ModelPriceForm(forms.Form):
    model_version = forms.CharField(
        label="Model version",
        max_length=80,
        error_messages={"required": MSG_VERSION_REQUIRED},
        help_text="As the events report it in attrs.model_version, or as the configuration "
        "declares it for events that report none.",
    )
    valid_from = forms.DateField(
        label="Valid from",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="The first day it applies; earlier days keep the price they had.",
    )
    input_per_1k = _price_field("Price per 1,000 input tokens")
    output_per_1k = _price_field("Price per 1,000 output tokens")

    def __init__(self, *args, currency: str, **kwargs) -> None:
        kwargs["initial"] = {"valid_from": timezone.localdate(), **kwargs.get("initial", {})}
        super().__init__(*args, **kwargs)
        for name in ("input_per_1k", "output_per_1k"):
            self.fields[name].label = f"{self.fields[name].label} ({currency})"
