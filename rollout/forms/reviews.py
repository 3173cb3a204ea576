"""The forms of a review: one item's re-attestation, a decision, completing it."""

from django import forms

from rollout.models import AttestationAnswer, DecisionKind, ReviewAttestation
from rollout.selectors.thresholds import is_rate
from rollout.services.reviews import MSG_BAD_ANSWER, MSG_BAD_DECISION, MSG_RATIONALE_REQUIRED


class AttestationForm(forms.Form):
    """`new_limit` is shown for a threshold only; rates are entered as percentages (2 means 2%),
    as on the thresholds page, and stored as fractions."""

    answer = forms.ChoiceField(
        label="Does it still hold?",
        choices=AttestationAnswer.choices,
        widget=forms.RadioSelect,
        error_messages={"required": MSG_BAD_ANSWER, "invalid_choice": MSG_BAD_ANSWER},
    )
    what_changed = forms.CharField(
        label="What changed",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    new_limit = forms.FloatField(
        label="New limit (% or ms)",
        required=False,
        help_text="Only if the threshold changes. A looser limit is recorded as loosened.",
    )

    def __init__(self, *args, attestation: ReviewAttestation, metric: str = "", **kwargs):
        kwargs.setdefault("prefix", f"item-{attestation.pk}")
        super().__init__(*args, **kwargs)
        self.attestation = attestation
        self.metric = metric
        if not metric:
            del self.fields["new_limit"]

    def new_limit_stored(self) -> float | None:
        value = self.cleaned_data.get("new_limit")
        if value is None:
            return None
        return value / 100 if is_rate(self.metric) else value


class DecisionForm(forms.Form):
    kind = forms.ChoiceField(
        label="Decision",
        choices=DecisionKind.choices,
        widget=forms.RadioSelect,
        error_messages={"required": MSG_BAD_DECISION, "invalid_choice": MSG_BAD_DECISION},
    )
    rationale = forms.CharField(
        label="Rationale",
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Why, in a few sentences: it goes into the review-outcome notice.",
        error_messages={"required": MSG_RATIONALE_REQUIRED},
    )


class CompleteForm(forms.Form):
    summary = forms.CharField(
        label="Summary (optional)",
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
