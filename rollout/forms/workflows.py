"""Forms for the workflow pages. They clean input; services decide and write."""

import re
from typing import Any

from django import forms
from django.utils.text import slugify

from rollout.forms.people import PersonField, search_url
from rollout.models import Workflow
from rollout.services.workflows import MSG_OWNER_REQUIRED

_text = forms.TextInput
_area = forms.Textarea(attrs={"rows": 4})


def _model_field(name: str, **kwargs: Any) -> forms.CharField:
    """A CharField with the model field's label, help text, length, requiredness and validators
    (single-line fields refuse line breaks)."""
    field = Workflow._meta.get_field(name)
    return forms.CharField(
        validators=list(field.validators),
        label=str(field.verbose_name).capitalize(),
        max_length=field.max_length,
        required=not field.blank,
        help_text=field.help_text,
        **kwargs,
    )


def suggest_slug(name: str) -> str:
    """A slug made from a name: lowercase words joined by single hyphens, at most 60 characters."""
    slug = re.sub(r"[^a-z0-9]+", "-", slugify(name)).strip("-")
    return slug[:60].rstrip("-")


class WorkflowDetailsForm(forms.Form):
    """The descriptive fields an owner or ops leader may edit."""

    name = _model_field("name", widget=_text)
    summary = _model_field("summary", widget=_area)
    business_action = _model_field("business_action", widget=_text)
    model_provider = _model_field("model_provider", widget=_text)
    model_name = _model_field("model_name", widget=_text)
    model_version = _model_field("model_version", widget=_text)
    prompt_version = _model_field("prompt_version", widget=_text)


class WorkflowCreateForm(WorkflowDetailsForm):
    slug = _model_field("slug", widget=_text)
    owner = PersonField(
        label="Owner",
        help_text=(
            "The one person accountable for this workflow: type their name or email address. "
            "You can hand it over later."
        ),
        error_messages={"required": MSG_OWNER_REQUIRED},
    )
    plan_start_date = forms.DateField(
        label="Plan start date",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=(
            "Optional: the day the data audit starts. The default five-phase plan is made from "
            "it; you can also create it later on the Plan page."
        ),
    )

    field_order = [
        "name",
        "slug",
        "summary",
        "business_action",
        "model_provider",
        "model_name",
        "model_version",
        "prompt_version",
        "owner",
        "plan_start_date",
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].search_url = search_url("owner")
        slug = self.fields["slug"]
        slug.required = False
        slug.help_text = (
            "Used in the workflow's address and by the API. Leave it empty to make one from the "
            "name; it cannot be changed later."
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not cleaned.get("slug") and cleaned.get("name"):
            cleaned["slug"] = suggest_slug(cleaned["name"])
        return cleaned


class WorkflowHandoverForm(forms.Form):
    new_owner = PersonField(
        label="New owner",
        help_text=(
            "Type their name or email address. They get the owner's access at once; the current "
            "owner loses it."
        ),
        error_messages={"required": "Choose the person who takes over this workflow."},
    )
    note = forms.CharField(
        label="Note",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Optional: why ownership moves. It is kept in the activity log.",
    )

    def __init__(self, *args: Any, workflow: Workflow, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["new_owner"].search_url = search_url("handover", workflow=workflow.slug)
