"""The forms of the outcomes page. They clean input; rollout.services.outcome_metrics decides
and writes."""

from django import forms

from core.text import SingleLineCharField
from rollout.models import OutcomeMetric


class OutcomeMetricForm(forms.Form):
    name = forms.CharField(
        label="Name (as events send it)",
        max_length=40,
        help_text=OutcomeMetric._meta.get_field("name").help_text,
    )
    label = SingleLineCharField(label="Label", max_length=80)
    unit = SingleLineCharField(
        label="Unit", max_length=20, required=False, help_text="e.g. s, €, points"
    )
    higher_is_better = forms.BooleanField(
        label="Higher is better",
        required=False,
        help_text=OutcomeMetric._meta.get_field("higher_is_better").help_text,
    )


class OutcomeMetricEditForm(OutcomeMetricForm):
    """The name stays once declared: stored events and thresholds refer to it."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["name"]
