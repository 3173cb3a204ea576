"""The form on a workflow's webhooks page. The service validates the address (http/https)."""

from django import forms

from rollout.models import Webhook


class WebhookForm(forms.Form):
    # A CharField, not a URLField: the service's message is the one people read.
    url = forms.CharField(
        label="Address (URL)",
        max_length=Webhook._meta.get_field("url").max_length,
        help_text="Where Rollout POSTs each event, e.g. https://hooks.example.com/rollout.",
        widget=forms.URLInput(attrs={"placeholder": "https://", "spellcheck": "false"}),
    )
