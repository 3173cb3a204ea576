"""Forms of the plan page. They clean input; the plan services decide and write."""

from typing import Any

from django import forms

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


class DataSourceForm(forms.ModelForm):
    class Meta:
        model = DataSource
        fields = [
            "name",
            "kind",
            "live_equivalent",
            "description",
            "freshness",
            "validation",
            "last_verified_at",
            "version",
        ]
        widgets = {
            "last_verified_at": _date,
            "description": _area,
            "validation": _area,
        }
        help_texts = {"version": "Changing it while a phase is in progress changes the AI itself."}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            field.label = str(field.label).capitalize()
            if name != "name" and name != "kind":
                field.required = False

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
