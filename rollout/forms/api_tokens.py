"""The form on a workflow's API tokens page."""

from django import forms

from core.text import SingleLineCharField
from rollout.models import ApiToken


class ApiTokenForm(forms.Form):
    name = SingleLineCharField(
        label="Name",
        max_length=ApiToken._meta.get_field("name").max_length,
        help_text="What will use the token, e.g. “support tool production”.",
    )
