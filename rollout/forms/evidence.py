"""The evidence timeline's filters (workflow, kind, date range), the org-wide activity page's
(kind, date range) and the board pack's quarter. Never an error page: a value the form does not
understand is left out, with a message saying so; exports refuse it instead (400), since a file
of something other than what was asked is worse than none."""

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django import forms
from django.utils import timezone

from core.dates import day_bounds
from rollout.models import Workflow
from rollout.selectors.evidence.kinds import KINDS
from rollout.selectors.org_activity import ORG_ACTIVITY_KINDS

MSG_BAD_WORKFLOW = "That workflow is not one whose evidence you can see. Showing every workflow."
MSG_BAD_KIND = "That kind of entry does not exist. Showing every kind."
MSG_BAD_START = "“From” must be a date such as 2026-10-01. Showing from the beginning."
MSG_BAD_END = "“To” must be a date such as 2026-12-31. Showing up to today."
MSG_REVERSED = "“From” was after “To”: showing the days between them."
MSG_BAD_QUARTER = "Choose a quarter such as 2026-Q4. Showing the current quarter."
QUARTER_PATTERN = re.compile(r"^(\d{4})-Q([1-4])$")
QUARTERS_OFFERED = 8


class DateInput(forms.DateInput):
    input_type = "date"


@dataclass(frozen=True)
class DateRange:
    """[start, end) as aware datetimes in the reader's zone, either open; the days as asked."""

    start: datetime | None = None
    end: datetime | None = None
    first_day: date | None = None
    last_day: date | None = None


class _DateRangeForm(forms.Form):
    start = forms.DateField(label="From", required=False, widget=DateInput)
    end = forms.DateField(label="To", required=False, widget=DateInput)
    # (field, message when its value is not understood), in the order the messages are shown.
    MESSAGES: tuple[tuple[str, str], ...] = (("start", MSG_BAD_START), ("end", MSG_BAD_END))

    def _cleaned(self) -> dict[str, Any]:
        """What was understood (nothing for an unbound form): each field on its own."""
        self.is_valid()
        return getattr(self, "cleaned_data", {})

    def notes(self) -> list[str]:
        """Messages about the values that were not understood (and left out)."""
        data = self._cleaned()
        notes = []
        for name, message in self.MESSAGES:
            if name in self.errors:
                notes.append(message)
        first, last = data.get("start"), data.get("end")
        if first and last and first > last:
            notes.append(MSG_REVERSED)
        return notes

    def date_range(self) -> DateRange:
        """The days asked for (each bound in the reader's zone), swapped if reversed."""
        data = self._cleaned()
        first, last = data.get("start"), data.get("end")
        if first and last and first > last:
            first, last = last, first
        return DateRange(
            start=day_bounds(first)[0] if first else None,
            end=day_bounds(last)[1] if last else None,
            first_day=first,
            last_day=last,
        )


class EvidenceFilterForm(_DateRangeForm):
    """`workflows` are those the reader may see; `with_workflow=False` on a workflow's own page."""

    workflow = forms.ChoiceField(label="Workflow", required=False)
    kind = forms.ChoiceField(
        label="Kind",
        required=False,
        choices=[("", "Every kind")] + [(kind.key, kind.label) for kind in KINDS],
    )
    field_order = ["workflow", "kind", "start", "end"]
    MESSAGES = (
        ("workflow", MSG_BAD_WORKFLOW),
        ("kind", MSG_BAD_KIND),
        ("start", MSG_BAD_START),
        ("end", MSG_BAD_END),
    )

    def __init__(
        self, *args: Any, workflows: list[Workflow], with_workflow: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self._workflows = {w.slug: w for w in workflows}
        if with_workflow:
            self.fields["workflow"].choices = [("", "Every workflow")] + [
                (w.slug, w.name) for w in workflows
            ]
        else:
            del self.fields["workflow"]
            self.MESSAGES = tuple(m for m in self.MESSAGES if m[0] != "workflow")

    def chosen_workflow(self) -> Workflow | None:
        return self._workflows.get(self._cleaned().get("workflow") or "")

    def chosen_kinds(self) -> tuple[str, ...]:
        kind = self._cleaned().get("kind")
        return (kind,) if kind else ()


class OrgActivityFilterForm(_DateRangeForm):
    kind = forms.ChoiceField(
        label="Kind",
        required=False,
        choices=[("", "Every kind")] + [(key, label) for key, label, _ in ORG_ACTIVITY_KINDS],
    )
    field_order = ["kind", "start", "end"]
    MESSAGES = (("kind", MSG_BAD_KIND), ("start", MSG_BAD_START), ("end", MSG_BAD_END))

    def chosen_kind(self) -> str:
        return self._cleaned().get("kind") or ""


@dataclass(frozen=True)
class Quarter:
    year: int
    number: int

    @property
    def key(self) -> str:
        return f"{self.year}-Q{self.number}"

    @property
    def label(self) -> str:
        return f"Q{self.number} {self.year}"

    @property
    def first_day(self) -> date:
        return date(self.year, 3 * self.number - 2, 1)

    @property
    def last_day(self) -> date:
        if self.number == 4:
            return date(self.year, 12, 31)
        return date(self.year, 3 * self.number + 1, 1) - timedelta(days=1)

    def previous(self) -> "Quarter":
        return (
            Quarter(self.year - 1, 4) if self.number == 1 else Quarter(self.year, self.number - 1)
        )


def quarter_of(day: date) -> Quarter:
    return Quarter(day.year, (day.month - 1) // 3 + 1)


class BoardPackForm(forms.Form):
    quarter = forms.ChoiceField(label="Quarter", required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        quarter = quarter_of(timezone.localdate())
        offered = []
        for _ in range(QUARTERS_OFFERED):
            offered.append(quarter)
            quarter = quarter.previous()
        self.current = offered[0]
        self.fields["quarter"].choices = [(q.key, q.label) for q in offered]

    def chosen(self) -> tuple[Quarter, list[str]]:
        """The quarter asked for (any quarter written as 2026-Q4, offered or not), else the
        current one with a message."""
        raw = (self.data.get("quarter") or "").strip()
        if not raw:
            return self.current, []
        match = QUARTER_PATTERN.match(raw)
        if not match or not 1990 <= int(match[1]) <= 2200:
            return self.current, [MSG_BAD_QUARTER]
        return Quarter(int(match[1]), int(match[2])), []
