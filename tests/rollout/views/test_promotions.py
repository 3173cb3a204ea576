import re
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from guardian.shortcuts import assign_perm

from rollout.models import ActivityEntry, PhaseStatus, PromotionRequest, PromotionStatus
from rollout.services.phase_control import MSG_ALREADY_PAUSED, MSG_NOTHING_TO_ROLL_BACK_TO
from rollout.services.promotions import MSG_OWN_REQUEST, promotion_request
from rollout.views import promotions as views
from tests.factories import make_workflow, ops_leader_user
from tests.rollout.promotion_fixtures import make_plan, make_shadow_ready
from tests.rollout.views.conftest import as_user, login_redirect, template_names

HTMX = {"HX-Request": "true"}


@pytest.fixture
def ready(workflow, ops_leader):
    phases = make_plan(workflow, current="audit")
    make_shadow_ready(workflow, ops_leader)
    return phases


def flashes(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def url(workflow) -> str:
    return reverse("workflow_promotions", args=[workflow.slug])


def htmx_post(client: Client, workflow, data: dict, target: str):
    return client.post(url(workflow), data, headers={**HTMX, "HX-Target": target})


def test_overview_shows_gate_and_request_button_to_owner(workflow, ready):
    response = as_user(workflow.owner).get(workflow.get_absolute_url())
    assert response.status_code == 200
    body = response.content.decode()
    assert "rollout/_gate_checklist.html" in template_names(response)
    assert f'hx-get="{reverse("workflow_gate", args=[workflow.slug])}"' in body
    assert 'hx-trigger="load, every 30s"' in body
    assert "✓ Pass" in body and "Data sources documented" in body
    assert '<input type="hidden" name="action" value="request">' in body
    assert '<input type="hidden" name="action" value="pause">' in body


def test_every_hx_post_on_the_overview_has_the_same_action(workflow, ready, ops_leader):
    """Pages work without JavaScript: each htmx form posts to the same place without it."""
    promotion_request(workflow=workflow, actor=workflow.owner)
    body = as_user(ops_leader).get(workflow.get_absolute_url()).content.decode()
    forms = [tag for tag in re.findall(r"<form [^>]*>", body) if "hx-post=" in tag]
    posts = [
        (re.search(r' action="([^"]+)"', tag)[1], re.search(r' hx-post="([^"]+)"', tag)[1])
        for tag in forms
    ]
    assert all(action == hx_post for action, hx_post in posts)
    # approve, reject, cancel and pause (nothing to roll back to from the first phase)
    assert [action for action, _ in posts].count(url(workflow)) == 4


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
    response = as_user(workflow.owner).post(
        url(workflow), {"action": "request", "promote-note": "Ready to shadow"}
    )
    assert response.status_code == 302
    assert response["Location"] == workflow.get_absolute_url()
    assert flashes(response) == [views.MSG_REQUESTED]
    request = PromotionRequest.objects.get()
    assert request.note == "Ready to shadow"
    response = as_user(ops_leader).post(
        url(workflow), {"action": "approve", "promotion": request.pk}
    )
    assert response.status_code == 302
    assert flashes(response) == [views.MSG_EXECUTED.format(phase="Shadow mode")]
    ready["shadow"].refresh_from_db()
    assert ready["shadow"].status == PhaseStatus.ACTIVE


def test_approving_own_request_is_refused_with_message(workflow, ready, ops_leader):
    request = promotion_request(workflow=workflow, actor=ops_leader)
    before = ActivityEntry.objects.count()
    response = as_user(ops_leader).post(
        url(workflow), {"action": "approve", "promotion": request.pk}
    )
    assert response.status_code == 302
    assert flashes(response) == [MSG_OWN_REQUEST]
    request.refresh_from_db()
    assert request.status == PromotionStatus.PENDING
    assert ActivityEntry.objects.count() == before


def test_invalid_form_is_refused_with_its_errors(workflow, ready):
    request = promotion_request(workflow=workflow, actor=workflow.owner)
    client = as_user(ops_leader_user())
    response = client.post(url(workflow), {"action": "override", "promotion": request.pk})
    assert flashes(response) == [views.MSG_FIX_FORM.format(errors="This field is required.")]
    request.refresh_from_db()
    assert request.status == PromotionStatus.PENDING


@pytest.mark.parametrize(
    "action", ["request", "approve", "override", "reject", "cancel", "pause", "rollback"]
)
def test_executive_gets_404_for_every_action(workflow, ready, executive, action):
    request = promotion_request(workflow=workflow, actor=workflow.owner)
    data = {"action": action, "promotion": request.pk, "override-reason": "x", "pause-reason": "x"}
    response = as_user(executive).post(url(workflow), data)
    assert response.status_code == 404
    request.refresh_from_db()
    assert request.status == PromotionStatus.PENDING
    assert ready["audit"].status == PhaseStatus.ACTIVE


def test_owner_cannot_decide_but_may_cancel(workflow, ready, ops_leader):
    request = promotion_request(workflow=workflow, actor=ops_leader)
    client = as_user(workflow.owner)
    for action in ("approve", "override", "reject"):
        response = client.post(url(workflow), {"action": action, "promotion": request.pk})
        assert response.status_code == 404
    response = client.post(url(workflow), {"action": "cancel", "promotion": request.pk})
    assert flashes(response) == [views.MSG_CANCELLED]
    request.refresh_from_db()
    assert request.status == PromotionStatus.CANCELLED


def test_another_workflows_request_is_a_404(workflow, ready, ops_leader):
    other = make_workflow(owner=workflow.owner, actor=ops_leader, name="Other", slug="other")
    make_plan(other, current="audit")
    make_shadow_ready(other, ops_leader)
    request = promotion_request(workflow=other, actor=other.owner)
    client = as_user(ops_leader_user())
    for promotion in (request.pk, "", "x"):
        response = client.post(url(workflow), {"action": "reject", "promotion": promotion})
        assert response.status_code == 404
    request.refresh_from_db()
    assert request.status == PromotionStatus.PENDING


def test_unknown_action_is_a_bad_request(workflow, ready, other_user):
    client = as_user(workflow.owner)
    for data in ({}, {"action": "promote"}):
        response = client.post(url(workflow), data)
        assert response.status_code == 400
        assert response.content.decode() == views.MSG_UNKNOWN_ACTION
    assert as_user(other_user).post(url(workflow), {"action": "x"}).status_code == 404


def test_get_is_not_allowed(workflow, ready):
    assert as_user(workflow.owner).get(url(workflow)).status_code == 405


def test_anonymous_is_sent_to_sign_in(client, workflow, ready):
    response = client.post(url(workflow), {"action": "request"})
    assert response["Location"] == login_redirect(url(workflow))


def test_csrf_is_enforced(workflow, ready):
    client = Client(enforce_csrf_checks=True)
    client.force_login(workflow.owner)
    response = client.post(url(workflow), {"action": "request"})
    assert response.status_code == 403
    assert PromotionRequest.objects.count() == 0


def test_pause_resume_rollback(workflow, ready):
    client = as_user(workflow.owner)
    response = client.post(
        url(workflow), {"action": "pause", "pause-fallback_mode": "off", "pause-reason": "Odd"}
    )
    assert flashes(response) == [views.MSG_PAUSED]
    ready["audit"].refresh_from_db()
    assert ready["audit"].status == PhaseStatus.PAUSED
    response = client.post(url(workflow), {"action": "resume"})
    assert flashes(response)[-1] == views.MSG_RESUMED
    response = client.post(url(workflow), {"action": "rollback", "rollback-reason": "Bad data"})
    assert flashes(response)[-1] == MSG_NOTHING_TO_ROLL_BACK_TO


def test_rollback(workflow_owner, ops_leader):
    workflow = make_workflow(owner=workflow_owner, actor=ops_leader, name="Late", slug="late")
    phases = make_plan(workflow, current="shadow")
    response = as_user(workflow_owner).post(
        url(workflow), {"action": "rollback", "rollback-reason": "Bad data"}
    )
    assert flashes(response) == [views.MSG_ROLLED_BACK.format(phase="Data audit")]
    phases["audit"].refresh_from_db()
    assert phases["audit"].status == PhaseStatus.ACTIVE


def test_htmx_request_returns_the_promotion_card_and_the_rest_out_of_band(workflow, ready):
    response = htmx_post(as_user(workflow.owner), workflow, {"action": "request"}, "promotion-card")
    assert response.status_code == 200
    partials = [name for name in template_names(response) if "/" not in name]
    assert partials == ["promotion-card", "phase-card", "pause-callout"]
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="promotion-card"')
    assert f'<p class="row-status" role="status">{views.MSG_REQUESTED}</p>' in body
    assert "<h3>Open request</h3>" in body
    assert '<section id="phase-card" class="card overview-wide"' in body
    assert 'aria-labelledby="phase-heading" hx-swap-oob="true">' in body
    assert '<div id="pause-callout" hidden hx-swap-oob="true"></div>' in body
    assert body.count("row-status") == 1  # the message is the targeted card's only
    assert PromotionRequest.objects.get().status == PromotionStatus.PENDING


def test_htmx_refusal_is_shown_in_the_card(workflow, ready):
    client = as_user(workflow.owner)
    client.post(
        url(workflow), {"action": "pause", "pause-fallback_mode": "off", "pause-reason": "Odd"}
    )
    data = {"action": "pause", "pause-fallback_mode": "off", "pause-reason": "Again"}
    response = htmx_post(client, workflow, data, "phase-card")
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="phase-card"')
    assert f'<p class="error" role="alert">{MSG_ALREADY_PAUSED}</p>' in body
    assert '<section id="pause-callout" class="callout pause-callout"' in body
    assert MSG_ALREADY_PAUSED not in flashes(response)  # shown once, not again on the next page


def test_htmx_approve_that_runs_moves_the_phase_card_too(workflow, ready, ops_leader):
    request = promotion_request(workflow=workflow, actor=workflow.owner)
    data = {"action": "approve", "promotion": request.pk}
    response = htmx_post(as_user(ops_leader), workflow, data, "promotion-card")
    body = response.content.decode()
    assert views.MSG_EXECUTED.format(phase="Shadow mode") in body
    assert "Now in <strong>Shadow mode</strong>" in body
    assert "<h3>Open request</h3>" not in body


def test_htmx_action_queries_bounded(django_assert_max_num_queries, workflow, ready, ops_leader):
    request = promotion_request(workflow=workflow, actor=workflow.owner)
    client = as_user(ops_leader)
    with django_assert_max_num_queries(60):
        response = htmx_post(client, workflow, {"action": "reject", "promotion": request.pk}, "x")
    assert views.MSG_REJECTED in response.content.decode()


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
    assign_perm("rollout.use_workflow", other_user, workflow)
    response = as_user(other_user).get(workflow.get_absolute_url())
    assert response.status_code == 200
    body = response.content.decode()
    assert "Data audit" in body
    assert "rollout/_gate_checklist.html" not in template_names(response)
    assert url(workflow) not in body
    assert as_user(other_user).post(url(workflow), {"action": "pause"}).status_code == 404
