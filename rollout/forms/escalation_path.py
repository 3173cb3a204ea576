"""Forms for the escalation path page. They clean input; the services decide and write."""

from typing import Any

from django import forms

from rollout.forms.people import PersonField, search_url
from rollout.models import EscalationChannel, EscalationLevel, Workflow
from rollout.services.escalation_path import MSG_CONTACT_REQUIRED, MSG_REPEAT_RANGE

UNITS = {"minutes": 1, "hours": 60, "days": 60 * 24}


class EscalationLevelForm(forms.Form):
    """One level. The response target is entered as a number and a unit, stored in minutes."""

    contact = PersonField(
        label="Contact",
        help_text=(
            "Type their name or email address. They can see this workflow while they are on its "
            "escalation path."
        ),
        error_messages={"required": MSG_CONTACT_REQUIRED},
    )
    channel = forms.ChoiceField(label="Channel", choices=EscalationChannel.choices)
    target_amount = forms.IntegerField(
        label="Response target", min_value=1, help_text="How long they have to acknowledge."
    )
    target_unit = forms.ChoiceField(
        label="Unit", choices=[(u, u.capitalize()) for u in UNITS], initial="minutes"
    )

    def __init__(self, *args: Any, workflow: Workflow, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["contact"].search_url = search_url("contact", workflow=workflow.slug)

    @classmethod
    def for_level(cls, level: EscalationLevel, data: Any = None) -> "EscalationLevelForm":
        minutes = level.response_target_minutes
        unit = next(u for u in ("days", "hours", "minutes") if minutes % UNITS[u] == 0)
        initial = {
            "contact": level.contact_id,
            "channel": level.channel,
            "target_amount": minutes // UNITS[unit],
            "target_unit": unit,
        }
        return cls(data, initial=initial, workflow=level.workflow)

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "contact": data["contact"],
            "channel": data["channel"],
            "response_target_minutes": data["target_amount"] * UNITS[data["target_unit"]],
        }


class EscalationRepeatForm(forms.Form):
    repeat_last = forms.IntegerField(
        label="Repeat the last level",
        help_text="How many more times the last level is notified if nobody acknowledges (0–10).",
        error_messages={"required": MSG_REPEAT_RANGE, "invalid": MSG_REPEAT_RANGE},
    )
