"""The form of the holdout page. It cleans input; rollout.services.holdouts decides and writes."""

from django import forms


class HoldoutReleaseForm(forms.Form):
    user = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    reason = forms.CharField(
        label="Why they leave the holdout",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Recorded in the activity log. They get live output from now on.",
    )
