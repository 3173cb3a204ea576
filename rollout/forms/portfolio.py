"""The portfolio's filter form."""

from typing import Any

from django import forms

from accounts.models import User
from rollout.selectors.workflows import PORTFOLIO_SORTS


class PortfolioFilterForm(forms.Form):
    """The portfolio's filters. Never invalid: a value it does not know is ignored, not an error."""

    q = forms.CharField(
        label="Search",
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Name, model or owner"}),
    )
    owner = forms.CharField(label="Owner", required=False, widget=forms.Select)
    ownerless = forms.BooleanField(label="Ownerless only", required=False)
    review_overdue = forms.BooleanField(label="Review overdue only", required=False)
    retired = forms.BooleanField(label="Retired workflows", required=False)
    sort = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, owners: list[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._owner_ids = {user.pk for user in owners}
        self.fields["owner"].widget.choices = [("", "Anyone")] + [
            (str(user.pk), str(user)) for user in owners
        ]

    def clean_owner(self) -> int | None:
        value = self.cleaned_data["owner"]
        return int(value) if value.isdigit() and int(value) in self._owner_ids else None

    def clean_sort(self) -> str:
        value = self.cleaned_data["sort"]
        return value if value in PORTFOLIO_SORTS else "name"

    def filters(self) -> dict[str, Any]:
        """`{query, owner_id, ownerless, review_overdue, retired, sort}` for
        workflow_list_portfolio; defaults if invalid."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {
            "query": data.get("q", ""),
            "owner_id": data.get("owner"),
            "ownerless": data.get("ownerless", False),
            "review_overdue": data.get("review_overdue", False),
            "retired": data.get("retired", False),
            "sort": data.get("sort", "name"),
        }
