"""The forms on the webhooks & chat pages (a workflow's, the organisation's). The service
validates the address for its kind and the event types; these only carry them."""

from django import forms

from rollout.lib.webhook_events import EVENT_TYPES
from rollout.models import Webhook, WebhookKind

EVENT_CHOICES = [(name, name) for name in EVENT_TYPES]
EVENT_HELP = "None ticked: every event, including types added later."
# Offered grace periods for a rotated secret, in hours (the service takes 0 to 168).
GRACE_CHOICES = [
    ("24", "24 hours (default)"),
    ("1", "1 hour"),
    ("72", "3 days"),
    ("168", "7 days"),
    ("0", "Stop the old secret now"),
]


class EventTypesField(forms.MultipleChoiceField):
    def __init__(self, **kwargs: object) -> None:
        super().__init__(
            choices=EVENT_CHOICES,
            required=False,
            widget=forms.CheckboxSelectMultiple(attrs={"class": "event-type"}),
            label="Events to send",
            help_text=EVENT_HELP,
            **kwargs,
        )


class WebhookForm(forms.Form):
    kind = forms.ChoiceField(
        label="Send to",
        choices=WebhookKind.choices,
        initial=WebhookKind.WEBHOOK,
        widget=forms.RadioSelect,
    )
    # A CharField, not a URLField: the service's message (per kind) is the one people read.
    url = forms.CharField(
        label="Address (URL)",
        max_length=Webhook._meta.get_field("url").max_length,
        help_text=(
            "A webhook: your receiver, e.g. https://hooks.example.com/rollout. Slack: the "
            "incoming-webhook address (https://hooks.slack.com/services/…). Teams: the address of "
            'the channel\'s "Post to a channel when a webhook request is received" workflow.'
        ),
        widget=forms.URLInput(attrs={"placeholder": "https://", "spellcheck": "false"}),
    )
    event_types = EventTypesField()


class EventTypesForm(forms.Form):
    event_types = EventTypesField()


class RotateForm(forms.Form):
    grace_hours = forms.TypedChoiceField(
        label="Old secret stays valid for",
        choices=GRACE_CHOICES,
        coerce=int,
        initial="24",
    )
