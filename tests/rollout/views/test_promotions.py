from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from rollout.models import ActivityEntry, PhaseStatus, PromotionRequest, PromotionStatus
from rollout.services.promotions import MSG_OWN_REQUEST, promotion_request
from rollout.views import promotions as views
from tests.factories import ops_leader_user
from tests.rollout.promotion_fixtures import make_plan, make_shadow_ready
from tests.rollout.views.conftest import as_user, login_redirect, template_names


@pytest.fixture
def ready(workflow, ops_leader):
    phases = make_plan(workflow, current="audit")
    make_shadow_ready(workflow, ops_leader)
    return phases


def flashes(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_overview_shows_gate_and_request_button_to_owner(workflow, ready):
    response = as_user(workflow.owner).get(workflow.get_absolute_url())
    assert response.status_code == 200
    body = response.content.decode()
    assert "rollout/_gate_checklist.html" in template_names(response)
    assert f'hx-get="{reverse("workflow_gate", args=[workflow.slug])}"' in body
    assert 'hx-trigger="load, every 30s"' in body
    assert "✓ Pass" in body and "Data sources documented" in body
    assert reverse("workflow_promotion_request", args=[workflow.slug]) in body
    assert reverse("workflow_pause", args=[workflow.slug]) in body


def test_gate_partial(client, workflow, ready, executive):
    client.force_login(executive)
    response = client.get(reverse("workflow_gate", args=[workflow.slug]))
    assert response.status_code == 200
    assert template_names(response)[0] == "rollout/_gate_checklist.html"
    assert "Escalation path" in response.content.decode()


def test_gate_partial_anonymous_and_no_role(client, workflow, other_user):
    url = reverse("workflow_gate", args=[workflow.slug])
    assert client.get(url)["Location"] == login_redirect(url)
    assert as_user(other_user).get(url).status_code == 404


def test_request_then_approve_promotes(workflow, ready, ops_leader):
    url = reverse("workflow_promotion_request", args=[workflow.slug])
    response = as_user(workflow.owner).post(url, {"promote-note": "Ready to shadow"})
    assert response.status_code == 302
    assert flashes(response) == [views.MSG_REQUESTED]
    request = PromotionRequest.objects.get()
    approve = reverse("workflow_promotion_approve", args=[workflow.slug, request.pk])
    response = as_user(ops_leader).post(approve, {})
    assert response.status_code == 302
    assert flashes(response) == [views.MSG_EXECUTED.format(phase="Shadow mode")]
    ready["shadow"].refresh_from_db()
    assert ready["shadow"].status == PhaseStatus.ACTIVE


def test_approving_own_request_is_refused_with_message(workflow, ready, ops_leader):
    request = promotion_request(workflow=workflow, actor=ops_leader)
    before = ActivityEntry.objects.count()
    approve = reverse("workflow_promotion_approve", args=[workflow.slug, request.pk])
    response = as_user(ops_leader).post(approve, {})
    assert flashes(response) == [MSG_OWN_REQUEST]
    request.refresh_from_db()
    assert request.status == PromotionStatus.PENDING
    assert ActivityEntry.objects.count() == before


def test_executive_cannot_post(workflow, ready, executive):
    request = promotion_request(workflow=workflow, actor=workflow.owner)
    client = as_user(executive)
    for name, args in (
        ("workflow_promotion_request", [workflow.slug]),
        ("workflow_promotion_approve", [workflow.slug, request.pk]),
        ("workflow_promotion_override", [workflow.slug, request.pk]),
        ("workflow_promotion_reject", [workflow.slug, request.pk]),
        ("workflow_promotion_cancel", [workflow.slug, request.pk]),
        ("workflow_pause", [workflow.slug]),
        ("workflow_rollback", [workflow.slug]),
    ):
        response = client.post(reverse(name, args=args), {"override-reason": "x"})
        assert response.status_code in (403, 404), name
    request.refresh_from_db()
    assert request.status == PromotionStatus.PENDING


def test_csrf_is_enforced(workflow, ready):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(workflow.owner)
    response = client.post(reverse("workflow_promotion_request", args=[workflow.slug]), {})
    assert response.status_code == 403
    assert PromotionRequest.objects.count() == 0


def test_pause_resume_rollback_views(workflow, ready):
    client = as_user(workflow.owner)
    response = client.post(
        reverse("workflow_pause", args=[workflow.slug]),
        {"pause-fallback_mode": "off", "pause-reason": "Odd outputs"},
    )
    assert flashes(response) == [views.MSG_PAUSED]
    ready["audit"].refresh_from_db()
    assert ready["audit"].status == PhaseStatus.PAUSED
    response = client.post(reverse("workflow_resume", args=[workflow.slug]))
    assert flashes(response)[-1] == views.MSG_RESUMED


def test_approval_list(client, workflow, ready, ops_leader, workflow_owner, other_user):
    promotion_request(
        workflow=workflow, actor=workflow_owner, scheduled_for=timezone.now() + timedelta(days=1)
    )
    url = reverse("approval_list")
    assert client.get(url)["Location"] == login_redirect(url)
    assert as_user(other_user).get(url).status_code == 403
    with_ops = as_user(ops_leader_user())
    response = with_ops.get(url)
    assert response.status_code == 200
    assert "Support reply drafting" in response.content.decode()
    home = with_ops.get(reverse("home")).content.decode()
    assert "1 promotion waiting for approval" in home


def test_overview_queries_bounded_with_plan(
    django_assert_max_num_queries, workflow, ready, ops_leader
):
    promotion_request(workflow=workflow, actor=workflow.owner)
    client = as_user(ops_leader)
    with django_assert_max_num_queries(30):
        assert client.get(workflow.get_absolute_url()).status_code == 200


def test_member_sees_phase_but_no_gate(workflow, ready, other_user):
    from guardian.shortcuts import assign_perm

    assign_perm("rollout.use_workflow", other_user, workflow)
    response = as_user(other_user).get(workflow.get_absolute_url())
    assert response.status_code == 200
    body = response.content.decode()
    assert "Data audit" in body
    assert "rollout/_gate_checklist.html" not in template_names(response)
    assert reverse("workflow_pause", args=[workflow.slug]) not in body
