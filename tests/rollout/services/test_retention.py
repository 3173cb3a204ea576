"""Retention (PRODUCT.md "Personal data"): what is older than the organisation keeps goes, and
what the pages count from it stays right."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import ORGANISATION_PK, Organisation
from core.dates import months_before
from rollout.models import (
    DataSource,
    Feedback,
    FeedbackComment,
    NoticeDelivery,
    NoticeReceipt,
    SourceHeartbeat,
    UsageDirtyDay,
    UsageEvent,
    UsageRollup,
)
from rollout.selectors.notice_stats import notice_stats
from rollout.selectors.retention import retention_cutoffs
from rollout.services.feedback import feedback_comment_add, feedback_create
from rollout.services.notice_delivery import notice_deliveries_send, notices_publish_due
from rollout.services.retention import RetentionRun, retention_apply
from rollout.services.source_health import source_heartbeat_record
from rollout.services.usage_rollup import usage_rollup_pending, usage_rollup_rebuild
from tests.rollout.notice_fixtures import make_notice, make_scene
from tests.rollout.usage_events_data import at_noon, event, ingest

pytestmark = pytest.mark.django_db


def keep(**months):
    Organisation.objects.update_or_create(pk=ORGANISATION_PK, defaults=months)


def day_totals(workflow):
    return {
        row.day: row.invocations
        for row in UsageRollup.objects.filter(workflow=workflow, period="day", cohort=None)
    }


def test_raw_events_past_retention_go_and_their_days_rollups_stay():
    scene = make_scene()
    keep(usage_events_retention_months=24)  # when these events came in
    now = timezone.now()
    old_day = timezone.localdate(months_before(now, 13)) - timedelta(days=3)
    recent_day = timezone.localdate(now) - timedelta(days=10)
    # Stored before the organisation's retention applied (events API refuses them today).
    ingest(scene.workflow, [event(at=at_noon(old_day)) for _ in range(3)])
    ingest(scene.workflow, [event(at=at_noon(recent_day)) for _ in range(2)])
    totals = day_totals(scene.workflow)
    assert totals == {old_day: 3, recent_day: 2}
    keep(usage_events_retention_months=13)

    run = retention_apply()

    assert run.events_deleted == 3
    assert UsageEvent.objects.count() == 2
    assert day_totals(scene.workflow) == totals  # the old day's figures are kept

    # Rebuilding from raw events leaves the day it can no longer rebuild as it was.
    out = StringIO()
    call_command("rebuild_rollups", stdout=out)
    assert day_totals(scene.workflow) == totals
    first = retention_cutoffs().first_rebuildable_day
    assert out.getvalue().splitlines() == [
        "Rebuilt 1 day of usage rollups (all workflows) from raw events.",
        f"1 earlier day of rollups (before {first:%d %b %Y}) were kept as they are and can no "
        "longer be rebuilt: raw usage events are kept 13 months (organisation settings).",
    ]
    assert usage_rollup_rebuild() == 1


def test_heartbeats_past_the_raw_events_retention_go(workflow):
    source = DataSource.objects.create(workflow=workflow, name="Tickets", kind="live")
    now = timezone.now()
    old = source_heartbeat_record(source=source, records=5, rejected=1)
    SourceHeartbeat.objects.filter(pk=old.pk).update(
        received_at=months_before(now, 13) - timedelta(days=1)
    )
    recent = source_heartbeat_record(source=source, records=7, rejected=0)

    run = retention_apply()

    assert run.heartbeats_deleted == 1
    assert list(SourceHeartbeat.objects.values_list("pk", flat=True)) == [recent.pk]
    assert retention_apply() == RetentionRun()


def test_a_day_past_retention_marked_dirty_is_not_rebuilt_from_what_is_left():
    scene = make_scene()
    keep(usage_events_retention_months=24)
    old_day = timezone.localdate(months_before(timezone.now(), 13)) - timedelta(days=1)
    ingest(scene.workflow, [event(at=at_noon(old_day)) for _ in range(4)])
    keep(usage_events_retention_months=13)
    UsageEvent.objects.filter(workflow=scene.workflow).first().delete()  # partly deleted
    UsageDirtyDay.objects.create(workflow=scene.workflow, day=old_day)

    usage_rollup_pending()

    assert not UsageDirtyDay.objects.exists()
    assert day_totals(scene.workflow) == {old_day: 4}


def test_feedback_past_retention_loses_its_words_and_keeps_what_is_counted():
    scene = make_scene()
    keep(feedback_text_retention_months=12)
    old = feedback_create(
        workflow=scene.workflow,
        rating="not_helpful",
        category="wrong_output",
        text="It quoted the wrong refund policy to Mrs Jones.",
        author=scene.amy,
    )
    new = feedback_create(
        workflow=scene.workflow, rating="helpful", category="other", text="Great", author=scene.cat
    )
    feedback_comment_add(feedback=old, author=scene.owner, text="Looking at it, Amy.")
    feedback_comment_add(feedback=new, author=scene.owner, text="Thanks Cat.")
    Feedback.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=400))

    run = retention_apply()

    assert (run.feedback_texts_deleted, run.comments_deleted) == (1, 1)
    old.refresh_from_db()
    assert (old.text, old.rating, old.category, old.cohort_id) == (
        "",
        "not_helpful",
        "wrong_output",
        scene.eu.pk,
    )
    assert Feedback.objects.get(pk=new.pk).text == "Great"
    assert list(FeedbackComment.objects.values_list("text", flat=True)) == ["Thanks Cat."]


def test_feedback_text_kept_for_ever_by_default():
    scene = make_scene()
    feedback = feedback_create(
        workflow=scene.workflow, rating="helpful", category="other", text="Kept", author=scene.amy
    )
    Feedback.objects.filter(pk=feedback.pk).update(created_at=timezone.now() - timedelta(days=3000))

    assert retention_apply() == RetentionRun()
    assert Feedback.objects.get(pk=feedback.pk).text == "Kept"


def test_notice_receipts_past_retention_go_and_the_notice_keeps_its_counts(
    django_assert_num_queries,
):
    scene = make_scene()
    keep(notice_receipts_retention_months=6)
    old = make_notice(scene)
    notices_publish_due()
    notice_deliveries_send()
    receipt = NoticeReceipt.objects.get(notice=old, recipient=scene.amy)
    receipt.read_at = receipt.acknowledged_at = timezone.now()
    receipt.save()
    recent = make_notice(scene, title="Another change")
    notices_publish_due()
    type(old).objects.filter(pk=old.pk).update(published_at=timezone.now() - timedelta(days=200))
    old.refresh_from_db()
    before = notice_stats(old)
    assert (before.total.recipients, before.total.acknowledged) == (3, 1)

    run = retention_apply()

    assert (run.notices_kept_as_counts, run.receipts_deleted) == (1, 3)
    assert not NoticeReceipt.objects.filter(notice=old).exists()
    assert not NoticeDelivery.objects.filter(notice=old).exists()
    assert NoticeReceipt.objects.filter(notice=recent).count() == 3
    old.refresh_from_db()
    with django_assert_num_queries(0):
        after = notice_stats(old)
    assert after == before
    # A second night finds nothing more to do.
    assert retention_apply() == RetentionRun()


@pytest.mark.parametrize(
    ("when", "months", "expected"),
    [
        ("2026-12-06T10:00:00+00:00", 13, "2025-11-06T10:00:00+00:00"),
        ("2026-03-31T10:00:00+00:00", 1, "2026-02-28T10:00:00+00:00"),
        ("2028-03-31T10:00:00+00:00", 1, "2028-02-29T10:00:00+00:00"),
        ("2026-01-15T10:00:00+00:00", 120, "2016-01-15T10:00:00+00:00"),
    ],
)
def test_months_before_counts_calendar_months(when, months, expected):
    from datetime import datetime

    assert months_before(datetime.fromisoformat(when), months) == datetime.fromisoformat(expected)
