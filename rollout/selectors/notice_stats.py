"""What the owner sees of one published notice: per cohort and in total, how many it reached,
how many deliveries failed, read and acknowledged — aggregated in SQL, a fixed number of queries
whatever the audience size."""

from dataclasses import dataclass, field

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery

from rollout.models import (
    ChangeNotice,
    DeliveryChannel,
    DeliveryStatus,
    NoticeDelivery,
    NoticeReceipt,
    Workflow,
)

FOLLOWERS = "Followers"


def _share(part: int, whole: int) -> float:
    """A fraction of the recipients (0 when there are none); pages write it as a percentage."""
    return part / whole if whole else 0.0


@dataclass
class StatsRow:
    label: str
    is_followers: bool = False
    recipients: int = 0
    delivered: int = 0
    waiting: int = 0
    emailed: int = 0
    failed: int = 0
    read: int = 0
    acknowledged: int = 0
    removed: int = 0

    @property
    def delivered_share(self) -> float:
        return _share(self.delivered, self.recipients)

    @property
    def read_share(self) -> float:
        return _share(self.read, self.recipients)

    @property
    def acknowledged_share(self) -> float:
        return _share(self.acknowledged, self.recipients)

    @property
    def failed_share(self) -> float:
        return _share(self.failed, self.recipients)


@dataclass
class NoticeStats:
    rows: list[StatsRow] = field(default_factory=list)
    total: StatsRow = field(default_factory=lambda: StatsRow("All recipients"))


def _status_of(channel: str) -> Subquery:
    return Subquery(
        NoticeDelivery.objects.filter(
            notice_id=OuterRef("notice_id"),
            recipient_id=OuterRef("recipient_id"),
            channel=channel,
            kind="notice",
        ).values("status")[:1]
    )


def _receipts(notice: ChangeNotice) -> QuerySet[NoticeReceipt]:
    return NoticeReceipt.objects.filter(notice=notice).annotate(
        in_app=_status_of(DeliveryChannel.IN_APP), email=_status_of(DeliveryChannel.EMAIL)
    )


STATS_NUMBERS = (
    "recipients",
    "delivered",
    "waiting",
    "emailed",
    "failed",
    "read",
    "acknowledged",
    "removed",
)


def notice_stats_as_json(stats: NoticeStats) -> dict:
    """The counts per row, as ChangeNotice.kept_counts keeps them."""
    return {
        "rows": [
            {
                "label": row.label,
                "is_followers": row.is_followers,
                **{name: getattr(row, name) for name in STATS_NUMBERS},
            }
            for row in stats.rows
        ]
    }


def _kept_stats(kept: dict) -> NoticeStats:
    stats = NoticeStats()
    for kept_row in kept.get("rows", []):
        row = StatsRow(kept_row["label"], is_followers=kept_row["is_followers"])
        for name in STATS_NUMBERS:
            setattr(row, name, kept_row.get(name, 0))
            setattr(stats.total, name, getattr(stats.total, name) + getattr(row, name))
        stats.rows.append(row)
    return stats


def notice_stats(notice: ChangeNotice) -> NoticeStats:
    """Counts per cohort (followers outside any audience cohort as one row) and the total.
    Someone whose delivery was skipped at send time (no longer in the audience) is not a
    recipient; they are counted as `removed`. One query — none once the receipts are past their
    retention: then the counts they made, kept on the notice."""
    if notice.kept_counts is not None:
        return _kept_stats(notice.kept_counts)
    counted = ~Q(in_app=DeliveryStatus.SKIPPED)
    grouped = (
        _receipts(notice)
        .values("cohort_id", "cohort__name")
        .annotate(
            recipients=Count("pk", filter=counted),
            delivered=Count("pk", filter=Q(in_app=DeliveryStatus.SENT)),
            waiting=Count("pk", filter=Q(in_app=DeliveryStatus.PENDING)),
            emailed=Count("pk", filter=Q(email=DeliveryStatus.SENT)),
            failed=Count("pk", filter=Q(email=DeliveryStatus.FAILED)),
            read=Count("pk", filter=counted & Q(read_at__isnull=False)),
            acknowledged=Count("pk", filter=counted & Q(acknowledged_at__isnull=False)),
            removed=Count("pk", filter=Q(in_app=DeliveryStatus.SKIPPED)),
        )
        .order_by("cohort__name")
    )
    stats = NoticeStats()
    for group in grouped:
        row = StatsRow(group["cohort__name"] or FOLLOWERS, is_followers=group["cohort_id"] is None)
        for name in STATS_NUMBERS:
            setattr(row, name, group[name])
            setattr(stats.total, name, getattr(stats.total, name) + group[name])
        stats.rows.append(row)
    # Followers last, after the cohorts.
    stats.rows.sort(key=lambda r: (r.is_followers, r.label))
    return stats


def notice_list_not_acknowledged(notice: ChangeNotice) -> QuerySet[NoticeReceipt]:
    """Recipients who have not acknowledged yet (in the inbox, not removed), by cohort and name."""
    return (
        _receipts(notice)
        .filter(in_app=DeliveryStatus.SENT, acknowledged_at__isnull=True)
        .select_related("recipient", "cohort")
        .order_by("cohort__name", "recipient__display_name", "pk")
    )


def notice_list_failed_deliveries(notice: ChangeNotice) -> QuerySet[NoticeDelivery]:
    """Failed deliveries with their reason, newest attempt first."""
    return (
        NoticeDelivery.objects.filter(notice=notice, status=DeliveryStatus.FAILED)
        .select_related("recipient")
        .order_by("-sent_at", "pk")
    )


def notice_get_for_stats(workflow: Workflow, notice_id: int) -> ChangeNotice | None:
    """One notice of this workflow with who wrote and approved it, or None (another's too)."""
    return (
        ChangeNotice.objects.filter(workflow=workflow, pk=notice_id)
        .select_related("approved_by", "created_by")
        .first()
    )


def notice_delivery_get_failed(notice: ChangeNotice, delivery_id: int) -> NoticeDelivery | None:
    """One failed delivery of the notice with its recipient, or None: it is not the notice's, or
    no longer waiting for a retry."""
    return (
        NoticeDelivery.objects.filter(notice=notice, pk=delivery_id, status=DeliveryStatus.FAILED)
        .select_related("recipient")
        .first()
    )
