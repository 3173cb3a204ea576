"""How far back the organisation keeps each kind of personal data (PRODUCT.md "Personal data"):
the instants before which rollout.services.retention deletes it."""

from dataclasses import dataclass
from datetime import date, datetime

from django.utils import timezone

from accounts.selectors import organisation_get
from core.dates import months_before


@dataclass(frozen=True)
class RetentionCutoffs:
    """Data from before these instants is deleted; None: kept for ever."""

    usage_events: datetime
    usage_events_months: int
    feedback_text: datetime | None
    notice_receipts: datetime | None

    @property
    def first_rebuildable_day(self) -> date:
        """The first day whose raw events are all still kept: rollups of earlier days stay as
        they are and can no longer be rebuilt from raw events."""
        cutoff = timezone.localtime(self.usage_events)
        first = cutoff.date()
        midnight = cutoff.replace(hour=0, minute=0, second=0, microsecond=0)
        return first if cutoff == midnight else date.fromordinal(first.toordinal() + 1)


def retention_cutoffs(now: datetime | None = None) -> RetentionCutoffs:
    organisation = organisation_get()
    now = now or timezone.now()

    def cutoff(months: int | None) -> datetime | None:
        return None if months is None else months_before(now, months)

    return RetentionCutoffs(
        usage_events=months_before(now, organisation.usage_events_retention_months),
        usage_events_months=organisation.usage_events_retention_months,
        feedback_text=cutoff(organisation.feedback_text_retention_months),
        notice_receipts=cutoff(organisation.notice_receipts_retention_months),
    )
