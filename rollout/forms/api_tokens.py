"""The forms on a workflow's API tokens page."""

from datetime import timedelta

from django import forms

from core.text import SingleLineCharField
from rollout.models import ApiToken, RotationGrace

MSG_GRACE_CHOICE = "Choose how long the old token keeps working: none, 1 hour, 24 hours or 7 days."
MSG_TOKEN_CHOICE = "Choose a token of this workflow to rotate."


class ApiTokenForm(forms.Form):
    name = SingleLineCharField(
        label="Name",
        max_length=ApiToken._meta.get_field("name").max_length,
        help_text="What will use the token, e.g. “support tool production”.",
    )


class ApiTokenRotateForm(forms.Form):
    """Rotating one token: which one, and the grace period of the old one."""

    token = forms.IntegerField(
        min_value=1,
        max_value=2**63 - 1,  # a primary key's range: beyond it, a message rather than an error
        widget=forms.HiddenInput,
        error_messages={
            code: MSG_TOKEN_CHOICE for code in ("invalid", "required", "min_value", "max_value")
        },
    )
    grace = forms.TypedChoiceField(
        label="The old token keeps working for",
        choices=RotationGrace.choices,
        coerce=int,
        initial=RotationGrace.DAY,
        error_messages={"invalid_choice": MSG_GRACE_CHOICE, "required": MSG_GRACE_CHOICE},
    )

    def grace_period(self) -> timedelta:
        return timedelta(seconds=self.cleaned_data["grace"])
