"""The review-level form of a cohort (the autonomy ladder). It cleans input;
rollout.services.autonomy decides (up at once, down as a gated request) and writes."""

from typing import Any

from django import forms

from rollout.models import MAX_SAMPLE_RATE_PERCENT, MIN_SAMPLE_RATE_PERCENT, ReviewLevel
from rollout.services.autonomy import MSG_BAD_LEVEL, MSG_BAD_RATE

MSG_RATE_REQUIRED = "Give the share of outputs to review, from 1% to 50%."


class ReviewLevelForm(forms.Form):
    to_level = forms.ChoiceField(
        label="Review level",
        choices=ReviewLevel.choices,
        error_messages={"invalid_choice": MSG_BAD_LEVEL, "required": MSG_BAD_LEVEL},
    )
    sample_rate = forms.IntegerField(
        label="Sample rate (%)",
        required=False,
        min_value=MIN_SAMPLE_RATE_PERCENT,
        max_value=MAX_SAMPLE_RATE_PERCENT,
        error_messages={
            "min_value": MSG_BAD_RATE,
            "max_value": MSG_BAD_RATE,
            "invalid": MSG_BAD_RATE,
        },
        help_text="With “a sample”: the share of outputs a person grades after the fact (1–50%).",
    )
    note = forms.CharField(
        label="Why (optional)",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        wants_sample = data.get("to_level") == ReviewLevel.SAMPLE
        if wants_sample and data.get("sample_rate") is None and "sample_rate" not in self.errors:
            self.add_error("sample_rate", MSG_RATE_REQUIRED)
        return data


class ApprovalNoteForm(forms.Form):
    note = forms.CharField(required=False, max_length=2000)
