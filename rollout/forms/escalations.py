"""Forms for escalations: open one by hand, hand it on, resolve it, add a note. They clean input;
the services (rollout.services.escalations) decide and write. Prefixes keep the field ids of the
several forms on one page apart."""

from django import forms

from core.text import SingleLineCharField
from rollout.forms.people import PersonField, search_url
from rollout.models import Escalation, Severity, Workflow
from rollout.services.escalations import (
    MSG_CONTACT_REQUIRED,
    MSG_NOTE_EMPTY,
    MSG_NOTE_REQUIRED,
    MSG_SEVERITY_INVALID,
    MSG_TITLE_REQUIRED,
)

_field = Escalation._meta.get_field


class EscalationOpenForm(forms.Form):
    prefix = "open"

    title = SingleLineCharField(
        label="What is the problem?",
        max_length=_field("title").max_length,
        error_messages={"required": MSG_TITLE_REQUIRED},
    )
    severity = forms.ChoiceField(
        label="Severity",
        choices=Severity.choices,
        initial=Severity.HIGH,
        help_text="Critical blocks promotion to a wider audience until it is resolved.",
        error_messages={"invalid_choice": MSG_SEVERITY_INVALID},
    )
    description = forms.CharField(
        label="Details",
        required=False,
        max_length=_field("description").max_length,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What was seen, where, and who is affected.",
    )
    # What the escalation is about, when opened from a feedback, an incident or a breach.
    feedback = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    incident = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    threshold = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)


class EscalationReassignForm(forms.Form):
    prefix = "reassign"

    contact = PersonField(
        label="Hand it to",
        help_text="Type the name or email address of a contact on its path, or of the owner.",
        error_messages={"required": MSG_CONTACT_REQUIRED},
    )
    note = forms.CharField(
        label="Why (optional)",
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(
        self, *args: object, workflow: Workflow, escalation: Escalation, **kwargs: object
    ) -> None:
        super().__init__(*args, **kwargs)
        # The picker finds the people who see the workflow through the path: its contacts and
        # its owner (rollout.selectors.people.escalation_contact_candidates).
        self.fields["contact"].search_url = search_url(
            "reassign", workflow=workflow.slug, escalation=escalation.pk
        )


class EscalationResolveForm(forms.Form):
    prefix = "resolve"

    note = forms.CharField(
        label="What was done",
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Required: it stays in the timeline for whoever looks next.",
        error_messages={"required": MSG_NOTE_REQUIRED},
    )


class EscalationNoteForm(forms.Form):
    prefix = "note"

    note = forms.CharField(
        label="Note",
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": MSG_NOTE_EMPTY},
    )
