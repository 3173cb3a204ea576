"""Forms for promotions, phase control and blackout windows. Each has its own prefix, since
several share one page (the workflow overview) and must not share element ids."""

from django import forms

from core.text import SingleLineCharField
from rollout.models import FallbackMode

_local_dt = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
_area = forms.Textarea(attrs={"rows": 3})


class PromotionRequestForm(forms.Form):
    prefix = "promote"
    scheduled_for = forms.DateTimeField(
        label="Run at (optional)",
        required=False,
        widget=_local_dt,
        help_text="Leave empty to promote as soon as it is approved.",
    )
    note = forms.CharField(
        label="Note for the approvers", required=False, max_length=2000, widget=_area
    )


class PromotionApproveForm(forms.Form):
    prefix = "approve"
    note = forms.CharField(label="Note (optional)", required=False, max_length=2000, widget=_area)


class PromotionOverrideForm(forms.Form):
    prefix = "override"
    reason = forms.CharField(
        label="Why promote despite the failing gate", max_length=2000, widget=_area
    )


class PromotionRejectForm(forms.Form):
    prefix = "reject"
    note = forms.CharField(
        label="Why reject (optional)", required=False, max_length=2000, widget=_area
    )


class PhasePauseForm(forms.Form):
    prefix = "pause"
    fallback_mode = forms.ChoiceField(
        label="While paused", choices=FallbackMode.choices, initial=FallbackMode.SHADOW
    )
    reason = forms.CharField(label="Why pause", max_length=2000, widget=_area)


class PhaseRollbackForm(forms.Form):
    prefix = "rollback"
    reason = forms.CharField(label="Why roll back", max_length=2000, widget=_area)


class BlackoutForm(forms.Form):
    prefix = "blackout"
    name = SingleLineCharField(label="Name", max_length=120)
    starts_at = forms.DateTimeField(label="Starts", widget=_local_dt)
    ends_at = forms.DateTimeField(label="Ends", widget=_local_dt)
