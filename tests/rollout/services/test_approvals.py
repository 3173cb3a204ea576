"""Approvals reach the approvers: a promotion request and an urgent notice ask every ops leader
who may approve (in the app and by email, with a link), through one path
(rollout.services.approvals); the requester hears when it is approved, rejected or lapses."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import User
from rollout.models import DataSource, Notification, PromotionRequest, PromotionStatus
from rollout.services import approvals, notices
from rollout.services import promotions as svc
from rollout.services.approvals import approval_request_send, approvers_for
from tests.factories import UserFactory, ops_leader_user
from tests.rollout.promotion_fixtures import make_plan, make_shadow_ready

pytestmark = pytest.mark.django_db


@pytest.fixture
def second_ops(db) -> User:
    return ops_leader_user(email="ops2@example.com", display_name="Pat Ops")


@pytest.fixture
def ready(workflow, ops_leader):
    phases = make_plan(workflow, current="audit")
    make_shadow_ready(workflow, ops_leader)
    return phases


def titles(user: User) -> list[str]:
    return list(Notification.objects.filter(recipient=user).values_list("title", flat=True))


def emailed_to(address: str) -> list[str]:
    return [m.subject for m in mail.outbox if m.to == [address]]


def test_approvers_are_active_ops_leaders_but_the_requester(ops_leader, second_ops):
    ops_leader_user(email="gone@example.com", is_active=False)
    UserFactory(email="member@example.com")
    assert approvers_for(requester=ops_leader) == [second_ops]
    assert approvers_for(requester=None, exclude=[second_ops.pk]) == [ops_leader]


def test_a_promotion_request_asks_every_ops_leader_in_app_and_by_email(
    workflow, workflow_owner, ops_leader, second_ops, ready, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        svc.promotion_request(workflow=workflow, actor=workflow_owner, note="Shadow is ready")
    for leader in (ops_leader, second_ops):
        (note,) = Notification.objects.filter(recipient=leader)
        assert note.title == f"Promotion to approve: {workflow.name} (Data audit → Shadow mode)"
        assert note.url == f"/workflows/{workflow.slug}/#promotion-card"
        assert "Shadow is ready" in note.body
        assert note.email_category == "approvals"
        (subject,) = emailed_to(leader.email)
        assert "Promotion to approve" in subject
        (message,) = [m for m in mail.outbox if m.to == [leader.email]]
        assert f"/workflows/{workflow.slug}/#promotion-card" in message.body
    assert titles(workflow_owner) == []  # the requester is not asked


def test_an_ops_leader_requesting_is_not_asked_to_approve_it(
    workflow, ops_leader, second_ops, ready
):
    svc.promotion_request(workflow=workflow, actor=ops_leader)
    assert titles(ops_leader) == []
    assert len(titles(second_ops)) == 1


def test_the_requester_hears_it_was_approved(workflow, workflow_owner, ops_leader, ready):
    request = svc.promotion_request(workflow=workflow, actor=workflow_owner)
    svc.promotion_approve(request=request, actor=ops_leader)
    (note,) = Notification.objects.filter(recipient=workflow_owner, title__startswith="Promotion")
    assert note.title == f"Promotion approved: {workflow.name} (Data audit → Shadow mode)"
    assert note.body == f"{ops_leader} approved it and it ran: promoted."


def test_the_requester_hears_a_scheduled_approval(workflow, workflow_owner, ops_leader, ready):
    when = timezone.now() + timedelta(days=2)
    request = svc.promotion_request(workflow=workflow, actor=workflow_owner, scheduled_for=when)
    svc.promotion_approve(request=request, actor=ops_leader)
    (note,) = Notification.objects.filter(recipient=workflow_owner)
    assert note.title.startswith("Promotion approved")
    assert note.body.startswith(f"{ops_leader} approved it; it runs ")


def test_the_requester_hears_it_was_rejected(workflow, workflow_owner, ops_leader, ready):
    request = svc.promotion_request(workflow=workflow, actor=workflow_owner)
    svc.promotion_reject(request=request, actor=ops_leader, note="Wait for quarter close")
    (note,) = Notification.objects.filter(recipient=workflow_owner)
    assert note.title.startswith("Promotion rejected")
    assert note.body == f"{ops_leader} rejected it. Why: Wait for quarter close"


def test_the_requester_hears_it_lapsed(workflow, workflow_owner, ops_leader, ready):
    request = svc.promotion_request(workflow=workflow, actor=workflow_owner)
    DataSource.objects.filter(workflow=workflow).update(last_verified_at=None)
    with pytest.raises(svc.PromotionLapsed):
        svc.promotion_approve(request=request, actor=ops_leader)
    assert PromotionRequest.objects.get(pk=request.pk).status == PromotionStatus.LAPSED
    (note,) = Notification.objects.filter(recipient=workflow_owner)
    assert note.title.startswith("Promotion lapsed")
    assert "Request it again" in note.body


def test_cancelling_ones_own_request_tells_nobody(workflow, workflow_owner, ops_leader, ready):
    request = svc.promotion_request(workflow=workflow, actor=workflow_owner)
    svc.promotion_cancel(request=request, actor=workflow_owner)
    assert titles(workflow_owner) == []


def test_urgent_notice_and_promotion_share_one_path(
    workflow, workflow_owner, ops_leader, ready, monkeypatch
):
    calls = []

    def spy(**kwargs):
        calls.append(kwargs["title"])
        return approval_request_send(**kwargs)

    monkeypatch.setattr(svc, "approval_request_send", spy)
    monkeypatch.setattr(notices, "approval_request_send", spy)
    assert svc.approval_request_send is notices.approval_request_send
    svc.promotion_request(workflow=workflow, actor=workflow_owner)
    now = timezone.now()
    notices.notice_create_scheduled(
        workflow=workflow,
        actor=workflow_owner,
        kind="other",
        title="Hotfix",
        body="Now.",
        audience="everyone",
        publish_at=now,
        effective_at=now + timedelta(hours=1),
        urgent_reason="A wrong price is live.",
    )
    assert [t.split(":")[0] for t in calls] == ["Promotion to approve", "Urgent notice to approve"]
    assert approvals.approval_request_send is approval_request_send


def test_the_author_hears_the_urgent_notice_was_approved(workflow, workflow_owner, ops_leader):
    now = timezone.now()
    notice = notices.notice_create_scheduled(
        workflow=workflow,
        actor=workflow_owner,
        kind="other",
        title="Hotfix",
        body="Now.",
        audience="everyone",
        publish_at=now + timedelta(minutes=10),
        effective_at=now + timedelta(hours=1),
        urgent_reason="A wrong price is live.",
    )
    assert titles(ops_leader) == ["Urgent notice to approve: Hotfix"]
    notices.notice_approve_urgent(notice=notice, actor=ops_leader)
    (note,) = Notification.objects.filter(recipient=workflow_owner)
    assert note.title == "Urgent notice approved: Hotfix"
    assert note.url == f"/workflows/{workflow.slug}/notices/{notice.pk}/edit/"
