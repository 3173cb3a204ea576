"""Notices published with how many read and acknowledged them, and ownership changes."""

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.urls import reverse

from rollout.lib.numbers import format_count, format_percent
from rollout.models import (
    ActivityEntry,
    ChangeNotice,
    DeliveryChannel,
    DeliveryStatus,
    NoticeDelivery,
    NoticeKind,
    NoticeReceipt,
    NoticeStatus,
)
from rollout.selectors.evidence.entries import EvidenceEntry, timeline_rows
from rollout.selectors.evidence.kinds.text import NOBODY, person_text

OWNERSHIP_VERBS = ("handed over", "made ownerless")  # rollout.services.workflows, accounts


# --- Notices published, with how many read and acknowledged them --------------------------------


def notice_rows() -> QuerySet:
    return timeline_rows(
        ChangeNotice.objects.filter(status=NoticeStatus.PUBLISHED, published_at__isnull=False),
        kind="notice",
        workflow="workflow_id",
        at="published_at",
    )


def _notice_counts(pks: list[int]) -> dict[int, dict[str, int]]:
    """{notice id: recipients, read, acknowledged} in one query. Someone whose delivery was
    skipped at send time is not a recipient (as rollout.selectors.notice_stats counts)."""
    skipped = NoticeDelivery.objects.filter(
        notice_id=OuterRef("notice_id"),
        recipient_id=OuterRef("recipient_id"),
        channel=DeliveryChannel.IN_APP,
        kind="notice",
        status=DeliveryStatus.SKIPPED,
    )
    rows = (
        NoticeReceipt.objects.filter(notice_id__in=pks)
        .filter(~Exists(skipped))
        .values("notice_id")
        .annotate(
            recipients=Count("pk"),
            read=Count("pk", filter=Q(read_at__isnull=False)),
            acknowledged=Count("pk", filter=Q(acknowledged_at__isnull=False)),
        )
        .order_by()
    )
    return {row.pop("notice_id"): row for row in rows}


def _kept_totals(notice: ChangeNotice) -> dict[str, int]:
    """The totals of a notice whose receipts are past their retention: the counts per cohort
    kept on the notice (rollout.services.retention), summed; zeros for one that reached nobody."""
    rows = (notice.kept_counts or {}).get("rows", [])
    return {
        name: sum(row.get(name, 0) for row in rows)
        for name in ("recipients", "read", "acknowledged")
    }


def _share(part: int, whole: int) -> str:
    return f"{format_count(part)} of {format_count(whole)} ({format_percent(part / whole)})"


def notice_load(pks: list[int]) -> dict[int, EvidenceEntry]:
    counts = _notice_counts(pks)
    entries = {}
    for notice in ChangeNotice.objects.filter(pk__in=pks).select_related("workflow"):
        numbers = counts.get(notice.pk) or _kept_totals(notice)
        whole = numbers["recipients"]
        details = [("Kind", NoticeKind(notice.kind).label), ("Recipients", format_count(whole))]
        if whole:
            details.append(("Read", _share(numbers["read"], whole)))
            acked = _share(numbers["acknowledged"], whole)
            details.append(
                ("Acknowledged", acked if notice.requires_ack else f"{acked}, not required")
            )
        if notice.urgent:
            details.append(("Urgent", notice.urgent_reason or "Yes"))
        low = notice.requires_ack and whole and numbers["acknowledged"] / whole < 0.5
        entries[notice.pk] = EvidenceEntry(
            kind="notice",
            kind_label="Notice published",
            at=notice.published_at,
            workflow=notice.workflow,
            title=notice.title,
            details=details,
            url=reverse("notice_detail", args=[notice.workflow.slug, notice.pk]),
            tone="warn" if low else "",
        )
    return entries


# --- Ownership changes --------------------------------------------------------------------------


def ownership_rows() -> QuerySet:
    return timeline_rows(
        ActivityEntry.objects.filter(verb__in=OWNERSHIP_VERBS, workflow__isnull=False),
        kind="ownership",
        workflow="workflow_id",
        at="created_at",
    )


def ownership_load(pks: list[int]) -> dict[int, EvidenceEntry]:
    entries = {}
    for entry in ActivityEntry.objects.filter(pk__in=pks).select_related("workflow", "actor"):
        before, after = (list(entry.changes.get("owner") or []) + ["", ""])[:2]
        handed = entry.verb == "handed over"
        details = [("From", before or NOBODY), ("To", after or NOBODY)]
        details.append(("By", person_text(entry.actor) if entry.actor else "Rollout"))
        if entry.note:
            details.append(("Note", entry.note))
        entries[entry.pk] = EvidenceEntry(
            kind="ownership",
            kind_label="Ownership change",
            at=entry.created_at,
            workflow=entry.workflow,
            title="Ownership handed over" if handed else "Owner deactivated: workflow ownerless",
            details=details,
            url=reverse("workflow_activity", args=[entry.workflow.slug]),
            tone="" if handed else "bad",
        )
    return entries
