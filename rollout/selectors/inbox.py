"""A person's inbox of change notices: the receipts whose in-app delivery reached them."""

from django.db.models import Case, Exists, IntegerField, OuterRef, QuerySet, Value, When

from accounts.models import User
from rollout.models import DeliveryChannel, DeliveryStatus, NoticeDelivery, NoticeReceipt


def _delivered_in_app() -> Exists:
    # In the inbox once the in-app delivery was sent: someone removed from the audience before
    # that (delivery skipped) never sees it.
    return Exists(
        NoticeDelivery.objects.filter(
            notice_id=OuterRef("notice_id"),
            recipient_id=OuterRef("recipient_id"),
            channel=DeliveryChannel.IN_APP,
            kind="notice",
            status=DeliveryStatus.SENT,
        )
    )


def inbox_list_for_user(user: User) -> QuerySet[NoticeReceipt]:
    """My notices: unread first, then newest first."""
    return (
        NoticeReceipt.objects.filter(_delivered_in_app(), recipient=user)
        .select_related("notice__workflow")
        .annotate(
            unread=Case(
                When(read_at__isnull=True, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        .order_by("unread", "-notice__published_at", "-pk")
    )


def inbox_unread_count(user: User) -> int:
    if not user.is_authenticated:
        return 0
    return NoticeReceipt.objects.filter(
        _delivered_in_app(), recipient=user, read_at__isnull=True
    ).count()


def inbox_get_receipt(user: User, receipt_id: int) -> NoticeReceipt:
    """One of my receipts; anyone else's raises NoticeReceipt.DoesNotExist, like a missing one."""
    return (
        NoticeReceipt.objects.filter(_delivered_in_app(), recipient=user)
        .select_related("notice__workflow", "notice__approved_by")
        .get(pk=receipt_id)
    )
