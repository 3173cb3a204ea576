"""Forms of the review queue: a grade, and naming a reviewer. They clean input;
rollout.services.output_reviews decides and writes."""

from typing import Any

from django import forms

from rollout.forms.people import PersonField, search_url
from rollout.models import OutputGrade, Workflow
from rollout.services.output_reviews import MAX_NOTE, MSG_BAD_GRADE

MSG_NO_SUCH_OUTPUT = "That output is no longer in the queue: reload the page."
MSG_NOBODY_PICKED = "Pick the person who should review outputs."


class OutputGradeForm(forms.Form):
    review = forms.IntegerField(
        widget=forms.HiddenInput,
        min_value=1,
        error_messages={k: MSG_NO_SUCH_OUTPUT for k in ("invalid", "required", "min_value")},
    )
    grade = forms.ChoiceField(
        label="Grade",
        choices=OutputGrade.choices,
        error_messages={"invalid_choice": MSG_BAD_GRADE, "required": MSG_BAD_GRADE},
    )
    note = forms.CharField(
        label="Note (optional)",
        required=False,
        max_length=MAX_NOTE,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="What is wrong with it, or why it is fine.",
    )


class OutputReviewerAddForm(forms.Form):
    user = PersonField(
        label="Reviewer",
        help_text="Type a name or email address and pick from the list.",
        error_messages={"required": MSG_NOBODY_PICKED},
    )

    def __init__(self, *args: Any, workflow: Workflow, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].search_url = search_url("reviewer", workflow=workflow.slug)
