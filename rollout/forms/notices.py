"""The change-notice form: it cleans input; rollout.services.notices decides and writes."""

from typing import Any

from django import forms

from core.text import SingleLineCharField
from rollout.models import ChangeNotice, Cohort, NoticeAudience, NoticeKind, Workflow

_local_dt = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
_field = ChangeNotice._meta.get_field


class AnyCohortField(forms.TypedMultipleChoiceField):
    """Lists the workflow's cohorts but accepts any cohort id: the service refuses another
    workflow's cohorts with its own message (naming them) instead of "not a valid choice"."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(coerce=int, **kwargs)

    def valid_value(self, value: Any) -> bool:
        return str(value).isdigit()


class NoticeForm(forms.Form):
    title = SingleLineCharField(label="Title", max_length=_field("title").max_length)
    kind = forms.ChoiceField(label="Kind", choices=NoticeKind.choices)
    body = forms.CharField(
        label="Body (Markdown)",
        max_length=_field("body").max_length,
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text="What changes, for whom, from when, and what people should do. **Bold**, "
        "lists, links and tables work; anything else is removed.",
    )
    audience = forms.ChoiceField(
        label="Audience",
        choices=NoticeAudience.choices,
        initial=NoticeAudience.COHORTS,
        widget=forms.RadioSelect,
    )
    cohorts = AnyCohortField(
        label="Cohorts",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="For “Chosen cohorts”: whoever is a member when it is published receives it.",
    )
    include_followers = forms.BooleanField(
        label="Also send to people who follow the workflow", required=False, initial=True
    )
    publish_at = forms.DateTimeField(label="Publish at", widget=_local_dt)
    effective_at = forms.DateTimeField(
        label="Effective at", widget=_local_dt, help_text="When the change takes effect."
    )
    requires_ack = forms.BooleanField(
        label="Ask recipients to acknowledge (“I've read this and I'm ready”)", required=False
    )
    reminder_hours = forms.IntegerField(
        label="Remind those who have not acknowledged (hours before effective)",
        required=False,
        min_value=1,
        max_value=720,
    )
    urgent_reason = forms.CharField(
        label="Why it cannot wait",
        required=False,
        max_length=_field("urgent_reason").max_length,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, workflow: Workflow, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.workflow = workflow
        cohorts = Cohort.objects.filter(workflow=workflow).order_by("name")
        self.fields["cohorts"].choices = [(c.pk, c.name) for c in cohorts]
        days = workflow.lead_time_days
        self.fields[
            "publish_at"
        ].help_text = f"At least {days} days before the effective time (this workflow's lead time)."
        self.fields["urgent_reason"].help_text = (
            f"Needed when it takes effect less than {days} days after it is published: "
            "an ops leader then approves it, and it is marked urgent."
        )

    @classmethod
    def for_notice(cls, notice: ChangeNotice, data: Any = None) -> "NoticeForm":
        initial = {name: getattr(notice, name) for name in FIELDS}
        initial["cohorts"] = [c.pk for c in notice.cohorts.all()]
        return cls(data, initial=initial, workflow=notice.workflow)

    def service_fields(self) -> dict[str, Any]:
        """cleaned_data as the services take it."""
        data = dict(self.cleaned_data)
        data["cohorts"] = data.get("cohorts") or []
        return data


FIELDS = (
    "title",
    "kind",
    "body",
    "audience",
    "include_followers",
    "publish_at",
    "effective_at",
    "requires_ack",
    "reminder_hours",
    "urgent_reason",
)
