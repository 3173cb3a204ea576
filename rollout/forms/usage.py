"""The usage page's period and cohort choice. Never an error page: a value it does not know
falls back to the default, with a message saying so."""

from typing import Any

from django import forms

from rollout.models import Cohort

PERIODS = (7, 30, 90, 180)
DEFAULT_DAYS = 30
MSG_BAD_DAYS = "Choose a period of 7, 30, 90 or 180 days. Showing the last 30 days."
MSG_BAD_COHORT = "That cohort is not part of this workflow. Showing every cohort."


class UsageFilterForm(forms.Form):
    days = forms.TypedChoiceField(
        label="Period",
        coerce=int,
        choices=[(str(d), f"Last {d} days") for d in PERIODS],
        required=False,
        empty_value=DEFAULT_DAYS,
    )
    cohort = forms.ChoiceField(label="Cohort", required=False)

    def __init__(self, *args: Any, cohorts: list[Cohort], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._cohorts = {str(c.pk): c for c in cohorts}
        self.fields["cohort"].choices = [("", "All cohorts")] + [
            (str(c.pk), c.name) for c in cohorts
        ]

    def choice(self) -> tuple[int, Cohort | None, list[str]]:
        """(days, cohort or None for all, messages about values that were not understood)."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        notes = []
        if "days" in self.errors:
            notes.append(MSG_BAD_DAYS)
        if "cohort" in self.errors:
            notes.append(MSG_BAD_COHORT)
        days = data.get("days") or DEFAULT_DAYS
        return days, self._cohorts.get(data.get("cohort") or ""), notes

    def shown(self, days: int, cohort: Cohort | None) -> "UsageFilterForm":
        """An unbound copy showing what the page shows (not the rejected values)."""
        initial = {"days": str(days), "cohort": str(cohort.pk) if cohort else ""}
        return UsageFilterForm(initial=initial, cohorts=list(self._cohorts.values()))
