"""Forms for incidents. Each has its own prefix: the detail page shows several at once."""

from typing import Any

from django import forms

from core.text import SingleLineCharField
from rollout.models import Cohort, Incident, Severity, Workflow
from rollout.services import incidents as services

_local_dt = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class _CohortChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Cohort) -> str:
        return obj.name


class IncidentForm(forms.Form):
    """Open an incident, or correct an open one's details."""

    prefix = "incident"
    title = SingleLineCharField(
        label="Title",
        max_length=services.MAX_TITLE,
        error_messages={"required": services.MSG_TITLE_REQUIRED},
        help_text="What went wrong, in a few words people will recognise.",
    )
    started_at = forms.DateTimeField(
        label="Started",
        widget=_local_dt,
        error_messages={"required": services.MSG_STARTED_REQUIRED},
        help_text="When the failure began to reach people, as best you know.",
    )
    detected_by = SingleLineCharField(
        label="Detected by",
        required=False,
        max_length=services.MAX_DETECTED_BY,
        help_text="Who or what noticed it: a person, a threshold, a customer complaint.",
    )
    severity = forms.ChoiceField(label="Severity", choices=Severity.choices, initial=Severity.HIGH)
    impact = forms.CharField(
        label="Impact",
        required=False,
        max_length=services.MAX_IMPACT,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What reached people, and how many.",
    )
    cohorts = _CohortChoiceField(
        label="Cohorts affected",
        queryset=Cohort.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="They receive the explanation when the incident is closed. None: everyone "
        "using the workflow.",
    )

    def __init__(self, *args: Any, workflow: Workflow, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["cohorts"].queryset = Cohort.objects.filter(workflow=workflow).order_by("name")

    @classmethod
    def for_incident(cls, incident: Incident, data: Any = None) -> "IncidentForm":
        initial = {name: getattr(incident, name) for name in services.DETAIL_FIELDS}
        initial["cohorts"] = [cohort.pk for cohort in incident.cohorts.all()]
        return cls(data, initial=initial, workflow=incident.workflow)


class IncidentEntryForm(forms.Form):
    prefix = "entry"
    text = forms.CharField(
        label="New timeline entry",
        max_length=services.MAX_ENTRY,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": services.MSG_ENTRY_REQUIRED},
    )
    at = forms.DateTimeField(
        label="When (optional)",
        required=False,
        widget=_local_dt,
        help_text="Leave empty for now.",
    )
    publish = forms.BooleanField(
        label="Also post it to the people affected",
        required=False,
        help_text="It reaches the inbox of the affected cohorts at once, as a status update.",
    )


class IncidentCloseForm(forms.Form):
    prefix = "close"
    what_happened = forms.CharField(
        label="What happened",
        max_length=services.MAX_EXPLANATION,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": services.MSG_WHAT_HAPPENED_REQUIRED},
        help_text="The cause, in words the people affected will understand.",
    )
    what_changed = forms.CharField(
        label="What changed",
        max_length=services.MAX_EXPLANATION,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": services.MSG_WHAT_CHANGED_REQUIRED},
        help_text="What was fixed or changed so it won't happen again. Closing publishes "
        "both at once; they cannot be changed afterwards.",
    )
