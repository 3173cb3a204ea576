import pytest
from django.test import Client

from accounts.models import User
from rollout.models import ActivityEntry, Webhook, WebhookDelivery, Workflow
from rollout.services import webhooks as svc
from rollout.services.activity import activity_record
from rollout.services.cohorts import cohort_create, cohort_members_add
from rollout.views import webhooks as views
from tests.factories import UserFactory
from tests.rollout.views.conftest import as_user, login_redirect, template_names

URL = "/workflows/support-reply-drafting/webhooks/"


@pytest.fixture
def member(workflow: Workflow, workflow_owner: User) -> User:
    person = UserFactory()
    cohort = cohort_create(workflow=workflow, actor=workflow_owner, name="EU", description="")
    cohort_members_add(cohort=cohort, users=[person], actor=workflow_owner)
    return person


def test_anonymous_is_sent_to_sign_in(client: Client, workflow):
    assert client.get(URL)["Location"] == login_redirect(URL)


@pytest.mark.parametrize("role", ["executive", "member", "other_user"])
def test_everyone_but_owner_and_ops_gets_a_404(role, request, workflow):
    client = as_user(request.getfixturevalue(role))
    assert client.get(URL).status_code == 404
    assert client.post(URL, {"action": "create", "url": "https://x.example/h"}).status_code == 404
    assert not Webhook.objects.exists()


@pytest.mark.parametrize("role", ["workflow_owner", "ops_leader"])
def test_owner_and_ops_see_the_page_and_the_webhooks_tab(role, request, workflow):
    response = as_user(request.getfixturevalue(role)).get(URL)
    assert response.status_code == 200
    assert template_names(response)[0] == "rollout/workflow_webhooks.html"
    body = response.content.decode()
    assert f'<a href="{URL}" aria-current="page">Webhooks</a>' in body
    assert "No webhooks yet." in body


def test_the_tab_is_not_shown_to_executives(workflow, executive):
    body = as_user(executive).get("/workflows/support-reply-drafting/").content.decode()
    assert URL not in body


def test_adding_shows_the_secret_once(workflow, workflow_owner):
    client = as_user(workflow_owner)
    response = client.post(URL, {"action": "create", "url": "https://hooks.example.com/r"})

    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    webhook = Webhook.objects.get()
    body = response.content.decode()
    assert views.MSG_CREATED in body
    assert f'value="{webhook.secret}"' in body
    assert webhook.secret not in client.get(URL).content.decode()


def test_a_bad_address_is_a_form_error(workflow, workflow_owner):
    response = as_user(workflow_owner).post(URL, {"action": "create", "url": "ftp://x.example"})
    assert response.status_code == 200
    assert response.context["form"].errors == {"url": [svc.MSG_BAD_URL]}
    assert not Webhook.objects.exists()


def test_turn_off_on_and_delete(workflow, workflow_owner):
    webhook = svc.webhook_create(workflow=workflow, actor=workflow_owner, url="https://a.example/h")
    client = as_user(workflow_owner)

    response = client.post(URL, {"action": "turn_off", "webhook": webhook.pk}, follow=True)
    assert response.redirect_chain == [(URL, 302)]
    assert views.MSG_TURNED_OFF in response.content.decode()
    webhook.refresh_from_db()
    assert webhook.active is False

    client.post(URL, {"action": "turn_on", "webhook": webhook.pk})
    webhook.refresh_from_db()
    assert webhook.active is True

    response = client.post(URL, {"action": "delete", "webhook": webhook.pk}, follow=True)
    assert views.MSG_DELETED in response.content.decode()
    assert not Webhook.objects.exists()


def test_another_workflows_webhook_is_a_404(workflow, workflow_owner, ops_leader):
    from tests.factories import make_workflow

    other = make_workflow(actor=ops_leader)
    foreign = svc.webhook_create(workflow=other, actor=ops_leader, url="https://a.example/h")
    client = as_user(workflow_owner)
    assert client.post(URL, {"action": "delete", "webhook": foreign.pk}).status_code == 404
    assert client.post(URL, {"action": "delete", "webhook": "x"}).status_code == 404
    assert client.post(URL, {"action": "explode"}).status_code == 404
    assert Webhook.objects.filter(pk=foreign.pk).exists()


def test_the_delivery_log_shows_status_attempts_response_and_error(
    workflow, workflow_owner, django_assert_max_num_queries
):
    webhook = svc.webhook_create(workflow=workflow, actor=workflow_owner, url="https://a.example/h")
    for n in range(60):
        activity_record(workflow=workflow, actor=None, verb="paused", target=f"Phase {n}")
    WebhookDelivery.objects.filter(activity__target="Phase 59").update(
        status="failed",
        attempts=3,
        response_status=500,
        last_error="The receiver answered HTTP 500.",
    )
    WebhookDelivery.objects.filter(activity__target="Phase 58").update(
        status="sent", attempts=1, response_status=204
    )
    client = as_user(workflow_owner)

    with django_assert_max_num_queries(14):
        response = client.get(URL)

    assert len(response.context["deliveries"]) == 50
    body = response.content.decode()
    assert "Retrying" in body and "The receiver answered HTTP 500." in body
    assert "Delivered" in body and "204" in body
    assert webhook.url in body
    assert ActivityEntry.objects.filter(verb="added a webhook").exists()
