"""Rule 10 without holes: a window created over an already-scheduled notice or promotion holds it
at run time — it stays scheduled, marked blocked with the window's name and end, its owner told
once — instead of publishing into the window; org-wide windows are in the org-wide activity log."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.time_zones import format_instant
from rollout.models import (
    ActivityEntry,
    ChangeNotice,
    NoticeStatus,
    Notification,
    PhaseStatus,
    PromotionRequest,
    PromotionStatus,
)
from rollout.selectors.blackouts import BLOCKED_NOTICE, BLOCKED_PROMOTION, MSG_BLOCKED
from rollout.services import blackouts
from rollout.services import promotions as svc
from rollout.services.notice_delivery import notices_publish_due
from rollout.services.notices import notice_create_scheduled
from tests.rollout.promotion_fixtures import make_plan, make_shadow_ready

pytestmark = pytest.mark.django_db


def window_now(actor, *, workflow=None, hours=6, name="Quarter close"):
    now = timezone.now()
    return blackouts.blackout_create(
        workflow=workflow,
        actor=actor,
        name=name,
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=hours),
    )


def scheduled_notice(workflow, owner, *, publish_in=timedelta(hours=1)):
    publish = timezone.now() + publish_in
    return notice_create_scheduled(
        workflow=workflow,
        actor=owner,
        kind="other",
        title="New prompt",
        body="Shorter replies.",
        audience="everyone",
        publish_at=publish,
        effective_at=publish + timedelta(days=workflow.lead_time_days),
    )


def test_org_wide_windows_are_logged_without_a_workflow(ops_leader):
    window = window_now(ops_leader)
    blackouts.blackout_delete(window=window, actor=ops_leader)
    entries = ActivityEntry.objects.filter(workflow=None).order_by("created_at", "pk")
    assert [(e.actor, e.verb, e.target) for e in entries] == [
        (ops_leader, "added an org-wide blackout window", "Quarter close"),
        (ops_leader, "removed an org-wide blackout window", "Quarter close"),
    ]
    assert entries[0].changes["Window"][0] == "—"


def test_a_window_created_over_a_scheduled_notice_holds_it(workflow, workflow_owner, ops_leader):
    notice = scheduled_notice(workflow, workflow_owner)
    assert notice.status == NoticeStatus.SCHEDULED
    window = window_now(ops_leader)  # org-wide, made after the notice was scheduled
    at = notice.publish_at + timedelta(minutes=1)
    assert notices_publish_due(now=at) == 0
    assert notices_publish_due(now=at) == 0  # a second run tells nobody again
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.SCHEDULED
    expected = MSG_BLOCKED.format(
        name="Quarter close", ends=format_instant(window.ends_at), what=BLOCKED_NOTICE
    )
    assert notice.blocked_reason == expected
    (told,) = Notification.objects.filter(recipient=workflow_owner)
    assert told.title == "Notice held by the “Quarter close” blackout: New prompt"
    assert told.body == expected
    assert (
        ActivityEntry.objects.filter(workflow=workflow, verb="held by a blackout window").count()
        == 1
    )
    # The window removed: the next run publishes it and clears the mark.
    blackouts.blackout_delete(window=window, actor=ops_leader)
    assert notices_publish_due(now=at) == 1
    notice.refresh_from_db()
    assert (notice.status, notice.blocked_reason) == (NoticeStatus.PUBLISHED, "")


def test_a_window_over_the_effective_time_holds_it_too(workflow, workflow_owner, ops_leader):
    notice = scheduled_notice(workflow, workflow_owner)
    blackouts.blackout_create(
        workflow=workflow,
        actor=workflow_owner,
        name="Launch week",
        starts_at=notice.effective_at - timedelta(hours=1),
        ends_at=notice.effective_at + timedelta(days=1),
    )
    assert notices_publish_due(now=notice.publish_at) == 0
    assert "“Launch week”" in ChangeNotice.objects.get(pk=notice.pk).blocked_reason


def test_other_notices_still_publish_beside_a_held_one(workflow, workflow_owner, ops_leader):
    from tests.factories import make_workflow

    held = scheduled_notice(workflow, workflow_owner)
    other = make_workflow(slug="other", name="Other")
    free = scheduled_notice(other, other.owner)
    blackouts.blackout_create(
        workflow=workflow,
        actor=workflow_owner,
        name="Launch week",
        starts_at=timezone.now(),
        ends_at=timezone.now() + timedelta(days=1),
    )
    assert notices_publish_due(now=timezone.now() + timedelta(hours=2)) == 1
    assert ChangeNotice.objects.get(pk=free.pk).status == NoticeStatus.PUBLISHED
    assert ChangeNotice.objects.get(pk=held.pk).status == NoticeStatus.SCHEDULED


@pytest.fixture
def ready(workflow, ops_leader):
    phases = make_plan(workflow, current="audit")
    make_shadow_ready(workflow, ops_leader)
    return phases


def test_a_window_created_over_a_scheduled_promotion_holds_it(
    workflow, workflow_owner, ops_leader, ready
):
    when = timezone.now() + timedelta(hours=2)
    request = svc.promotion_request(workflow=workflow, actor=workflow_owner, scheduled_for=when)
    request = svc.promotion_approve(request=request, actor=ops_leader)
    assert request.status == PromotionStatus.APPROVED
    PromotionRequest.objects.filter(pk=request.pk).update(scheduled_for=timezone.now())
    window = window_now(ops_leader)
    Notification.objects.all().delete()
    assert svc.promotions_run_due(timezone.now()) == 0
    assert svc.promotions_run_due(timezone.now()) == 0
    request.refresh_from_db()
    assert request.status == PromotionStatus.APPROVED  # still scheduled, not failed
    assert request.blocked_reason == MSG_BLOCKED.format(
        name="Quarter close", ends=format_instant(window.ends_at), what=BLOCKED_PROMOTION
    )
    ready["audit"].refresh_from_db()
    assert ready["audit"].status == PhaseStatus.ACTIVE
    (told,) = Notification.objects.filter(recipient=workflow_owner)
    assert told.title.startswith("Promotion held by the “Quarter close” blackout")
    # After the window: it runs.
    blackouts.blackout_delete(window=window, actor=ops_leader)
    assert svc.promotions_run_due(timezone.now()) == 1
    request.refresh_from_db()
    assert (request.status, request.blocked_reason) == (PromotionStatus.EXECUTED, "")


def test_the_notice_pages_show_it_is_blocked(workflow, workflow_owner, ops_leader):
    from django.urls import reverse

    from tests.rollout.views.conftest import as_user

    notice = scheduled_notice(workflow, workflow_owner)
    window_now(ops_leader)
    notices_publish_due(now=notice.publish_at)
    client = as_user(workflow_owner)
    listing = client.get(reverse("workflow_notices", kwargs={"slug": workflow.slug}))
    assert "Blocked by a blackout" in listing.content.decode()
    edit = client.get(
        reverse("notice_edit", kwargs={"slug": workflow.slug, "notice_id": notice.pk})
    ).content.decode()
    assert "<strong>Blocked.</strong> Blocked by the “Quarter close” blackout window" in edit
