"""A recipient reading and acknowledging a published notice. Idempotent: the first time counts."""

from django.db import transaction
from django.utils import timezone

from rollout.models import NoticeReceipt


def notice_receipt_read(*, receipt: NoticeReceipt) -> NoticeReceipt:
    """Opening the notice marks it read (once; later opens keep the first time)."""
    if receipt.read_at is None:
        now = timezone.now()
        NoticeReceipt.objects.filter(pk=receipt.pk, read_at__isnull=True).update(read_at=now)
        receipt.read_at = now
    return receipt


@transaction.atomic
def notice_receipt_acknowledge(*, receipt: NoticeReceipt) -> NoticeReceipt:
    """ "I've read this and I'm ready": acknowledged (and read). A second click changes nothing."""
    now = timezone.now()
    NoticeReceipt.objects.filter(pk=receipt.pk, read_at__isnull=True).update(read_at=now)
    NoticeReceipt.objects.filter(pk=receipt.pk, acknowledged_at__isnull=True).update(
        acknowledged_at=now
    )
    receipt.refresh_from_db(fields=["read_at", "acknowledged_at"])
    return receipt
