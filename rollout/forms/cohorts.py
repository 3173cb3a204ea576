"""Forms for the cohorts page. They clean input; rollout.services.cohorts decides and writes."""

from typing import Any

from django import forms

from core.text import SingleLineCharField
from rollout.forms.people import PeopleField, search_url
from rollout.models import Cohort, Workflow
from rollout.models.cohort import EnrolmentPhase
from rollout.services.cohort_csv import MAX_ROWS

MSG_NOBODY_PICKED = "Pick at least one person to add."


class CohortForm(forms.Form):
    name = SingleLineCharField(label="Name", max_length=120)
    description = forms.CharField(
        label="Description",
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Who they are, for example “EU tier-1 support agents”.",
    )


class CohortMembersAddForm(forms.Form):
    users = PeopleField(
        label="People to add",
        help_text=(
            "Type a name or email address and pick from the list; without the list, type their "
            "email addresses separated by commas."
        ),
        error_messages={"required": MSG_NOBODY_PICKED},
    )

    def __init__(self, *args: Any, workflow: Workflow, cohort: Cohort, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A member picked again is skipped by the service, not refused; the picker marks them.
        self.fields["users"].search_url = search_url(
            "cohort", workflow=workflow.slug, cohort=cohort.pk
        )


class CohortEnrolForm(forms.Form):
    phase = forms.ChoiceField(label="Enrol at", choices=EnrolmentPhase.choices)
    percentage = forms.IntegerField(
        label="Percentage of members",
        min_value=1,
        max_value=100,
        initial=100,
        help_text=Cohort._meta.get_field("percentage").help_text,
    )
    holdout_percentage = forms.IntegerField(
        label="Holdout (% of those members)",
        min_value=0,
        max_value=50,
        initial=0,
        required=False,  # left out: the enrolment keeps its holdout
        help_text=Cohort._meta.get_field("holdout_percentage").help_text,
    )


class CohortCsvUploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file of email addresses",
        help_text=(
            f"UTF-8, at most 1 MB and {MAX_ROWS:,} rows: one address per line, or a column "
            "named “email”. You will see what happens to each row before anything is saved."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,text/csv,text/plain"}),
    )


class _EmailListField(forms.Field):
    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[str]:
        if not value:
            return []
        return [str(v).strip() for v in value if str(v).strip()][:MAX_ROWS]


class CohortCsvConfirmForm(forms.Form):
    email = _EmailListField(required=True)
    invite_unknown = forms.BooleanField(required=False)

    def __init__(self, *args: Any, unknown_count: int = 0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["invite_unknown"].label = (
            "Invite the unknown person by email and add them too"
            if unknown_count == 1
            else f"Invite the {unknown_count} unknown people by email and add them too"
        )
