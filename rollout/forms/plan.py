"""Forms of the plan page. They clean input; the plan services decide and write."""

from typing import Any

from django import forms
from django.db import models

from rollout.models import DataSource, ReadinessAnswerValue, Workflow

_date = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
_area = forms.Textarea(attrs={"rows": 3})


class PlanCreateForm(forms.Form):
    start_date = forms.DateField(
        label="Plan start date",
        widget=_date,
        help_text="The data audit starts on this day; the other phases follow the default plan.",
        error_messages={"required": "Choose the day the data audit starts."},
    )


class PhaseForm(forms.Form):
    planned_start = forms.DateField(label="Planned start", widget=_date)
    planned_end = forms.DateField(
        label="Planned end",
        widget=_date,
        required=False,
        help_text="The last day of the phase. Only steady state may be left open-ended.",
    )
    min_duration_days = forms.IntegerField(
        label="Minimum duration (days)", min_value=0, max_value=365
    )
    exit_criteria = forms.CharField(
        label="Exit criteria", widget=_area, max_length=4000, required=False
    )


class AgeUnit(models.IntegerChoices):
    """A declared maximum age's unit, in minutes."""

    MINUTES = 1, "minutes"
    HOURS = 60, "hours"
    DAYS = 1440, "days"


MSG_KEY_FIXED_HELP = (
    "Fixed: the integration already reports under this key. Add a new source for another key."
)
MSG_AGE_UNIT = "Choose minutes, hours or days for the maximum data age."
MAX_AGE_VALUE = 100_000


def _age_initial(minutes: int | None) -> tuple[int | None, int]:
    if not minutes:
        return None, AgeUnit.HOURS
    for unit in (AgeUnit.DAYS, AgeUnit.HOURS):
        if minutes % unit == 0:
            return minutes // unit, unit
    return minutes, AgeUnit.MINUTES


class DataSourceForm(forms.ModelForm):
    max_age_value = forms.IntegerField(
        label="Maximum data age",
        required=False,
        min_value=1,
        max_value=MAX_AGE_VALUE,
        help_text="Older data is stale. Leave empty for no measured expectation.",
    )
    max_age_unit = forms.TypedChoiceField(
        label="Unit",
        choices=AgeUnit.choices,
        coerce=int,
        initial=AgeUnit.HOURS,
        error_messages={"invalid_choice": MSG_AGE_UNIT},
    )

    class Meta:
        model = DataSource
        fields = [
            "name",
            "key",
            "kind",
            "live_equivalent",
            "description",
            "freshness",
            "max_age_value",
            "max_age_unit",
            "validation",
            "last_verified_at",
            "version",
        ]
        labels = {"freshness": "Freshness note"}
        widgets = {
            "last_verified_at": _date,
            "description": _area,
            "validation": _area,
        }
        help_texts = {
            "version": "Changing it while a phase is in progress changes the AI itself.",
            "key": "What the integration sends as attrs.source and calls the heartbeat with. "
            "Left empty, it is made from the name. Fixed once something was reported.",
        }

    def __init__(self, *args: Any, key_fixed: bool = False, **kwargs: Any) -> None:
        """`key_fixed`: something was reported under the source's key, so it cannot change."""
        super().__init__(*args, **kwargs)
        instance = kwargs.get("instance")
        if instance is not None and instance.pk:
            value, unit = _age_initial(instance.max_age_minutes)
            self.initial.update(max_age_value=value, max_age_unit=unit)
        self.order_fields(self.Meta.fields)
        for name, field in self.fields.items():
            field.label = str(field.label).capitalize()
            if name != "name" and name != "kind":
                field.required = False
        if key_fixed:
            self.fields["key"].disabled = True
            self.fields["key"].help_text = MSG_KEY_FIXED_HELP

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        value, unit = data.pop("max_age_value", None), data.pop("max_age_unit", None)
        data["max_age_minutes"] = value * (unit or AgeUnit.HOURS) if value else None
        return data

    def _post_clean(self) -> None:
        # The service checks the model's rules (and the unique name) itself; the form must not
        # build an instance without its workflow.
        return None


class ReadinessForm(forms.Form):
    answer = forms.ChoiceField(
        label="Answer",
        choices=ReadinessAnswerValue.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose yes, partly or no."},
    )
    evidence = forms.CharField(
        label="Evidence",
        widget=_area,
        max_length=4000,
        required=False,
        help_text="What shows it: a link, a document, a test. Needed for yes and partly.",
    )


class PlanSettingsForm(forms.ModelForm):
    class Meta:
        model = Workflow
        fields = [
            "lead_time_days",
            "required_approvals",
            "review_cadence_days",
            "next_review_due",
            "fallback_mode",
            "pause_on_unannounced_change",
            "drift_opens_escalation",
            "briefing_required_from",
            "briefing_grace_days",
            "briefing_coverage_target",
        ]
        widgets = {"next_review_due": _date}

    def __init__(self, *args: Any, approvals_editable: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.label = str(field.label).capitalize()
        if not approvals_editable:
            approvals = self.fields["required_approvals"]
            approvals.disabled = True
            approvals.help_text = "Set by ops leaders."

    def _post_clean(self) -> None:
        # The service validates the workflow; the form must not change the instance it shows.
        return None
