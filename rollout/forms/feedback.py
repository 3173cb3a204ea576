"""Forms for feedback: the quick form a member fills in, triage, comments, merges, the filters.
They clean input; rollout.services.feedback decides and writes."""

from typing import Any

from django import forms

from accounts.models import User
from rollout.models import Cohort, FeedbackCategory, FeedbackRating, FeedbackStatus, Severity
from rollout.selectors.feedback import NO_COHORT, OPEN
from rollout.services.feedback import (
    MAX_TEXT,
    MSG_BAD_CATEGORY,
    MSG_BAD_EVENT,
    MSG_BAD_RATING,
    MSG_BAD_SEVERITY,
    MSG_BAD_STATUS,
    MSG_BULK_NONE,
    MSG_BULK_UNKNOWN,
    MSG_COMMENT_EMPTY,
)

MSG_MERGE_NUMBER = "Type the number of the feedback to merge into, for example 12."
MSG_PICK_PERSON = "Choose a person from the list."
KEEP = ""  # a bulk field left as it is
CLEAR = "none"  # a bulk field emptied: severity not set, assigned to nobody


class FeedbackForm(forms.Form):
    """Under ten seconds: two big choices, a category, optional words. Text length is checked by
    the service (so the message is the same from the form and the API)."""

    rating = forms.ChoiceField(
        label="Was the output helpful?",
        choices=FeedbackRating.choices,
        widget=forms.RadioSelect,
        error_messages={"required": MSG_BAD_RATING, "invalid_choice": MSG_BAD_RATING},
    )
    category = forms.ChoiceField(
        label="What best describes it?",
        choices=FeedbackCategory.choices,
        widget=forms.RadioSelect,
        error_messages={"required": MSG_BAD_CATEGORY, "invalid_choice": MSG_BAD_CATEGORY},
    )
    text = forms.CharField(
        label="Anything to add? (optional)",
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": MAX_TEXT}),
        help_text="What was wrong, or what you expected. Up to 4,000 characters.",
    )
    event_id = forms.CharField(
        label="Output reference",
        required=False,
        max_length=64,
        help_text="Filled in by the AI tool's link, so the owner can find the exact output.",
        error_messages={"max_length": MSG_BAD_EVENT},
    )
    notify_by_email = forms.BooleanField(
        label="Email me when its status changes", required=False, initial=True
    )


class TriageForm(forms.Form):
    status = forms.ChoiceField(label="Status", choices=FeedbackStatus.choices)
    severity = forms.ChoiceField(
        label="Severity", choices=[("", "Not set"), *Severity.choices], required=False
    )
    assignee = forms.CharField(label="Assignee", required=False)

    def clean_assignee(self) -> User | None:
        raw = self.cleaned_data["assignee"]
        if not raw:
            return None
        if not raw.isdigit() or not (user := User.objects.filter(pk=int(raw)).first()):
            raise forms.ValidationError(MSG_PICK_PERSON)
        return user


class FeedbackBulkForm(forms.Form):
    """The bulk bar: the ticked items (`ids`) and what to set on all of them. An empty field
    keeps each item's value; CLEAR empties it. `changes()` gives feedback_triage_bulk's
    keyword arguments."""

    ids = forms.Field(widget=forms.MultipleHiddenInput, error_messages={"required": MSG_BULK_NONE})
    status = forms.ChoiceField(
        label="Set status",
        required=False,
        choices=[(KEEP, "Keep status"), *FeedbackStatus.choices],
        error_messages={"invalid_choice": MSG_BAD_STATUS},
    )
    severity = forms.ChoiceField(
        label="Set severity",
        required=False,
        choices=[(KEEP, "Keep severity"), (CLEAR, "Not set"), *Severity.choices],
        error_messages={"invalid_choice": MSG_BAD_SEVERITY},
    )
    assignee = forms.ChoiceField(label="Assign to", required=False)

    def __init__(self, *args: Any, assignees: list[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = [
            (KEEP, "Keep assignee"),
            (CLEAR, "Nobody (unassign)"),
            *((str(u.pk), str(u)) for u in assignees),
        ]
        self.fields["assignee"].error_messages["invalid_choice"] = MSG_PICK_PERSON
        self._assignees = {str(u.pk): u for u in assignees}

    def clean_ids(self) -> list[int]:
        raw = self.cleaned_data["ids"]
        values = [raw] if isinstance(raw, str) else list(raw)
        bad = [v for v in values if not str(v).isdigit()]
        if bad:
            raise forms.ValidationError(MSG_BULK_UNKNOWN.format(ids=", ".join(bad)))
        return [int(v) for v in values]

    def changes(self) -> dict[str, Any]:
        """status, severity, assignee for feedback_triage_bulk; a kept field is left out."""
        data = self.cleaned_data
        changes: dict[str, Any] = {}
        if data["status"] != KEEP:
            changes["status"] = data["status"]
        if data["severity"] != KEEP:
            changes["severity"] = "" if data["severity"] == CLEAR else data["severity"]
        if data["assignee"] != KEEP:
            changes["assignee"] = self._assignees.get(data["assignee"])
        return changes


class CommentForm(forms.Form):
    text = forms.CharField(
        label="Comment",
        strip=False,
        widget=forms.Textarea(attrs={"rows": 2, "maxlength": MAX_TEXT}),
        error_messages={"required": MSG_COMMENT_EMPTY},
    )


class MergeForm(forms.Form):
    into = forms.IntegerField(
        label="Merge into #",
        min_value=1,
        error_messages={
            "required": MSG_MERGE_NUMBER,
            "invalid": MSG_MERGE_NUMBER,
            "min_value": MSG_MERGE_NUMBER,
        },
    )


class FeedbackFilterForm(forms.Form):
    """The triage list's filters. Never invalid: a value it does not know means "any"."""

    status = forms.ChoiceField(
        label="Status",
        required=False,
        initial=OPEN,
        choices=[(OPEN, "Open"), ("", "Any"), *FeedbackStatus.choices],
    )
    category = forms.ChoiceField(
        label="Category", required=False, choices=[("", "Any"), *FeedbackCategory.choices]
    )
    cohort = forms.ChoiceField(label="Cohort", required=False)
    rating = forms.ChoiceField(
        label="Rating", required=False, choices=[("", "Any"), *FeedbackRating.choices]
    )

    def __init__(self, *args: Any, cohorts: list[Cohort], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._cohorts = {str(c.pk): c for c in cohorts}
        self.fields["cohort"].choices = [
            ("", "Any"),
            *((str(c.pk), c.name) for c in cohorts),
            (NO_COHORT, "In no cohort"),
        ]

    def filters(self) -> dict[str, Any]:
        """Keyword arguments for feedback_list_for_triage; defaults for anything not understood."""
        data = self.data
        filters: dict[str, Any] = {"status": OPEN, "category": "", "cohort": None, "rating": ""}
        for name in ("status", "category", "rating"):
            value = data.get(name)
            if value is not None and value in dict(self.fields[name].choices):
                filters[name] = value
        cohort = data.get("cohort", "")
        filters["cohort"] = NO_COHORT if cohort == NO_COHORT else self._cohorts.get(cohort)
        return filters

    def query(self) -> str:
        """The filters as a query string (for links that keep them), without defaults."""
        from urllib.parse import urlencode

        filters = self.filters()
        values = {
            "status": filters["status"],
            "category": filters["category"],
            "cohort": filters["cohort"].pk
            if isinstance(filters["cohort"], Cohort)
            else filters["cohort"] or "",
            "rating": filters["rating"],
        }
        if values["status"] == OPEN:
            del values["status"]
        return urlencode({k: v for k, v in values.items() if v != ""})
