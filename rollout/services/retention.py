"""Retention (PRODUCT.md "Personal data"): what is older than the organisation keeps is deleted,
each night (rollout.tasks.apply_retention) — raw usage events, feedback text and comments, and
who read which notice. What the pages count from them stays right:

* the usage rollups are kept (the events API refuses events older than the raw events are kept,
  and the rollup never rebuilds a day before the cutoff from what is left of it);
* feedback keeps its rating, category, status, cohort and votes — only its words go;
* a notice keeps its counts per cohort (ChangeNotice.kept_counts) when its receipts go;
* a sampled AI output's excerpt goes ROLLOUT_REVIEW_EXCERPT_DAYS after it was graded; its grade,
  note and cohort stay, so the reviewed error rate is unchanged.

Deletes run in batches of their own transactions: a night with a year of events to drop never
holds one long transaction or lock on the hot events table.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from rollout.models import (
    ChangeNotice,
    Feedback,
    FeedbackComment,
    NoticeDelivery,
    NoticeReceipt,
    OutputReview,
    SourceHeartbeat,
    UsageDirtyDay,
    UsageEvent,
    Workflow,
)
from rollout.selectors.notice_stats import notice_stats, notice_stats_as_json
from rollout.selectors.retention import retention_cutoffs
from rollout.services.idempotency import idempotency_forget_expired

logger = logging.getLogger(__name__)

EVENT_BATCH = 10_000
NOTICE_BATCH = 100


@dataclass(frozen=True)
class RetentionRun:
    events_deleted: int = 0
    feedback_texts_deleted: int = 0
    comments_deleted: int = 0
    notices_kept_as_counts: int = 0
    receipts_deleted: int = 0
    heartbeats_deleted: int = 0
    excerpts_deleted: int = 0
    idempotency_keys_deleted: int = 0


def _delete_old_events(before: datetime) -> int:
    """Per workflow, by its (workflow, occurred_at) index; batches of EVENT_BATCH rows."""
    deleted = 0
    for workflow_id in Workflow.objects.order_by("pk").values_list("pk", flat=True):
        while True:
            with transaction.atomic():
                ids = list(
                    UsageEvent.objects.filter(workflow_id=workflow_id, occurred_at__lt=before)
                    .order_by("occurred_at")
                    .values_list("event_id", flat=True)[:EVENT_BATCH]
                )
                if not ids:
                    break
                # By the primary key, (workflow, event_id).
                UsageEvent.objects.filter(workflow_id=workflow_id, event_id__in=ids).delete()
            deleted += len(ids)
    # A day before the cutoff can no longer be rebuilt from its events: its rollup stays.
    UsageDirtyDay.objects.filter(day__lt=before.date()).delete()
    return deleted


def _delete_old_heartbeats(before: datetime) -> int:
    """Data-source heartbeats are raw reports like usage events, kept as long. What the pages
    show of a source lives on its status row and the day rollups."""
    deleted = 0
    while True:
        with transaction.atomic():
            ids = list(
                SourceHeartbeat.objects.filter(received_at__lt=before)
                .order_by("received_at")
                .values_list("pk", flat=True)[:EVENT_BATCH]
            )
            if not ids:
                return deleted
            SourceHeartbeat.objects.filter(pk__in=ids).delete()
        deleted += len(ids)


@transaction.atomic
def _delete_old_feedback_text(before: datetime) -> tuple[int, int]:
    old = Q(feedback__created_at__lt=before) | Q(created_at__lt=before)
    comments, _ = FeedbackComment.objects.filter(old).delete()
    texts = Feedback.objects.filter(created_at__lt=before).exclude(text="").update(text="")
    return texts, comments


def _delete_old_receipts(before: datetime) -> tuple[int, int]:
    notices = receipts = 0
    while True:
        with transaction.atomic():
            batch = list(
                ChangeNotice.objects.select_for_update(skip_locked=True)
                .filter(published_at__lt=before, kept_counts__isnull=True)
                .order_by("published_at", "pk")[:NOTICE_BATCH]
            )
            if not batch:
                break
            for notice in batch:
                notice.kept_counts = notice_stats_as_json(notice_stats(notice))
                notice.save(update_fields=["kept_counts"])
            ids = [notice.pk for notice in batch]
            deleted, _ = NoticeReceipt.objects.filter(notice_id__in=ids).delete()
            NoticeDelivery.objects.filter(notice_id__in=ids).delete()
        notices += len(batch)
        receipts += deleted
    return notices, receipts


def _delete_graded_excerpts(now: datetime) -> int:
    """Excerpts of outputs graded more than ROLLOUT_REVIEW_EXCERPT_DAYS ago; ungraded ones wait."""
    before = now - timedelta(days=settings.ROLLOUT_REVIEW_EXCERPT_DAYS)
    deleted = 0
    while True:
        with transaction.atomic():
            ids = list(
                OutputReview.objects.filter(graded_at__lt=before, excerpt_deleted_at__isnull=True)
                .order_by("graded_at")
                .values_list("pk", flat=True)[:EVENT_BATCH]
            )
            if not ids:
                return deleted
            OutputReview.objects.filter(pk__in=ids).update(excerpt="", excerpt_deleted_at=now)
        deleted += len(ids)


def retention_apply(*, now: datetime | None = None) -> RetentionRun:
    """Delete what is past the organisation's retention; returns what went."""
    cutoffs = retention_cutoffs(now)
    events = _delete_old_events(cutoffs.usage_events)
    heartbeats = _delete_old_heartbeats(cutoffs.usage_events)
    texts = comments = notices = receipts = 0
    if cutoffs.feedback_text is not None:
        texts, comments = _delete_old_feedback_text(cutoffs.feedback_text)
    if cutoffs.notice_receipts is not None:
        notices, receipts = _delete_old_receipts(cutoffs.notice_receipts)
    excerpts = _delete_graded_excerpts(now or timezone.now())
    # Not personal data, but nightly housekeeping all the same: the management API's
    # Idempotency-Keys are answered for 24 hours only (rollout.services.idempotency).
    keys = idempotency_forget_expired(now=now)
    run = RetentionRun(events, texts, comments, notices, receipts, heartbeats, excerpts, keys)
    if any(vars(run).values()):
        logger.info("Retention: %s", run)
    return run
