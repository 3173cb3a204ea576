"""What an operator watches: backlogs and the sweeps' last runs (rollout.views.metrics).

Each figure is one aggregate query, whatever the data size."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Min
from django.utils import timezone

from rollout.models import (
    DeliveryStatus,
    NoticeDelivery,
    Notification,
    SweepRun,
    UsageDirtyDay,
    WebhookDelivery,
)

# Rows a sender still has to finish: pending ones, claimed ones not yet marked, and failed ones
# (a failed row is retried until its attempts run out; the count shows a sender that keeps failing).
UNFINISHED = (
    DeliveryStatus.PENDING,
    DeliveryStatus.QUEUED,
    DeliveryStatus.SENDING,
    DeliveryStatus.FAILED,
)


@dataclass(frozen=True)
class SweepState:
    task: str
    finished_at: datetime
    succeeded: bool


@dataclass(frozen=True)
class Operations:
    notice_deliveries: dict[str, int]  # status → rows, for UNFINISHED
    oldest_pending_notice_seconds: float  # 0 when nothing is pending
    webhook_deliveries: dict[str, int]
    notification_emails_pending: int
    dirty_days: int  # ingested days whose rollups are behind
    oldest_dirty_day_seconds: float
    sweeps: list[SweepState]


def _by_status(queryset) -> dict[str, int]:
    counts = dict(
        queryset.filter(status__in=UNFINISHED)
        .values_list("status")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("status", "n")
    )
    return {str(status): counts.get(status, 0) for status in UNFINISHED}


def _age(oldest: datetime | None, now: datetime) -> float:
    return max((now - oldest).total_seconds(), 0.0) if oldest else 0.0


def operations_snapshot(*, now: datetime | None = None) -> Operations:
    now = now or timezone.now()
    oldest_pending = NoticeDelivery.objects.filter(status=DeliveryStatus.PENDING).aggregate(
        oldest=Min("created_at")
    )["oldest"]
    dirty = UsageDirtyDay.objects.aggregate(n=Count("pk"), oldest=Min("marked_at"))
    return Operations(
        notice_deliveries=_by_status(NoticeDelivery.objects.all()),
        oldest_pending_notice_seconds=_age(oldest_pending, now),
        webhook_deliveries=_by_status(WebhookDelivery.objects.all()),
        notification_emails_pending=Notification.objects.filter(
            emailed_at__isnull=True, email_error="", recipient__is_active=True
        )
        .exclude(email_category="")
        .count(),
        dirty_days=dirty["n"],
        oldest_dirty_day_seconds=_age(dirty["oldest"], now),
        sweeps=[
            SweepState(task=r.task, finished_at=r.finished_at, succeeded=r.succeeded)
            for r in SweepRun.objects.order_by("task")
        ],
    )
