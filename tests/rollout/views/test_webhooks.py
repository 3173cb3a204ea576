"""The Webhooks & chat pages: a workflow's (owner, ops leaders) and the organisation's (ops
leaders). Every action, who may use it, bad input, the secret shown once, the delivery log."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import User
from rollout.models import ActivityEntry, Webhook, WebhookAttempt, WebhookDelivery, Workflow
from rollout.services import webhooks as svc
from rollout.services.activity import activity_record
from rollout.services.cohorts import cohort_create, cohort_members_add
from rollout.views import webhooks as views
from tests.factories import UserFactory, make_workflow
from tests.rollout.views.conftest import as_user, login_redirect, template_names

URL = "/workflows/support-reply-drafting/webhooks/"
ORG_URL = "/webhooks/"
SLACK = "https://hooks.slack.com/services/T000/B000/XXXXXXXX"


@pytest.fixture
def member(workflow: Workflow, workflow_owner: User) -> User:
    person = UserFactory()
    cohort = cohort_create(workflow=workflow, actor=workflow_owner, name="EU", description="")
    cohort_members_add(cohort=cohort, users=[person], actor=workflow_owner)
    return person


@pytest.fixture
def other_owner(ops_leader: User) -> User:
    person = UserFactory(email="other-owner@example.com")
    make_workflow(owner=person, actor=ops_leader, name="Invoice triage", slug="invoice-triage")
    return person


def test_anonymous_is_sent_to_sign_in(client: Client, workflow):
    assert client.get(URL)["Location"] == login_redirect(URL)
    assert client.get(ORG_URL)["Location"] == login_redirect(ORG_URL)


ALL_ACTIONS = [
    {"action": "create", "kind": "webhook", "url": "https://x.example/h"},
    {"action": "turn_off"},
    {"action": "turn_on"},
    {"action": "delete"},
    {"action": "event_types", "event_types": ["incident.opened"]},
    {"action": "rotate", "grace_hours": "24"},
    {"action": "switch"},
]


@pytest.mark.parametrize("role", ["executive", "member", "other_user", "other_owner"])
def test_everyone_but_owner_and_ops_gets_a_404_for_every_action(
    role, request, workflow, workflow_owner
):
    client = as_user(request.getfixturevalue(role))
    webhook = svc.webhook_create(workflow=workflow, actor=workflow_owner, url="https://a.ex/h")
    webhook.legacy_until = timezone.now() + timedelta(days=9)
    webhook.save()
    before = (Webhook.objects.get().__dict__.copy(), ActivityEntry.objects.count())
    assert client.get(URL).status_code == 404
    for data in ALL_ACTIONS:
        assert client.post(URL, {**data, "webhook": webhook.pk}).status_code == 404
    after = Webhook.objects.get().__dict__.copy()
    assert (before[0] | {"_state": None}, before[1]) == (
        after | {"_state": None},
        ActivityEntry.objects.count(),
    )


@pytest.mark.parametrize("role", ["executive", "member", "other_user", "workflow_owner"])
def test_the_organisation_page_is_for_ops_leaders_only(role, request, workflow, ops_leader):
    channel = svc.webhook_create(workflow=None, actor=ops_leader, url=SLACK, kind="slack")
    client = as_user(request.getfixturevalue(role))
    assert client.get(ORG_URL).status_code == 404
    for data in ALL_ACTIONS:
        assert client.post(ORG_URL, {**data, "webhook": channel.pk}).status_code == 404
    assert Webhook.objects.get().active and Webhook.objects.count() == 1


@pytest.mark.parametrize("role", ["workflow_owner", "ops_leader"])
def test_owner_and_ops_see_the_page_and_its_tab(role, request, workflow):
    response = as_user(request.getfixturevalue(role)).get(URL)
    assert response.status_code == 200
    assert template_names(response)[0] == "rollout/workflow_webhooks.html"
    body = response.content.decode()
    assert f'<a href="{URL}" aria-current="page">Webhooks &amp; chat</a>' in body
    assert "No webhooks or chat channels yet." in body


def test_the_organisation_settings_and_a_workflows_page_link_it_for_ops_leaders(
    ops_leader, workflow, workflow_owner
):
    assert f'href="{ORG_URL}"' in as_user(ops_leader).get("/organisation/").content.decode()
    assert f'href="{ORG_URL}"' in as_user(ops_leader).get(URL).content.decode()
    assert f'href="{ORG_URL}"' not in as_user(workflow_owner).get(URL).content.decode()
    response = as_user(ops_leader).get(ORG_URL)
    assert response.status_code == 200
    assert template_names(response)[0] == "rollout/org_webhooks.html"


def test_the_tab_is_not_shown_to_executives(workflow, executive):
    body = as_user(executive).get("/workflows/support-reply-drafting/").content.decode()
    assert URL not in body


def test_adding_a_webhook_shows_the_secret_once(workflow, workflow_owner):
    client = as_user(workflow_owner)
    response = client.post(
        URL,
        {
            "action": "create",
            "kind": "webhook",
            "url": "https://hooks.example.com/r",
            "event_types": ["incident.opened", "incident.closed"],
        },
    )

    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    webhook = Webhook.objects.get()
    assert webhook.event_types == ["incident.opened", "incident.closed"]
    body = response.content.decode()
    assert views.MSG_CREATED in body
    assert webhook.secret.startswith("whsec_")
    assert f'value="{webhook.secret}"' in body
    assert webhook.secret not in client.get(URL).content.decode()


def test_adding_a_chat_channel_shows_no_secret(workflow, workflow_owner):
    response = as_user(workflow_owner).post(
        URL, {"action": "create", "kind": "slack", "url": SLACK}
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert views.MSG_CREATED_CHAT.format(kind="Slack") in body
    assert 'id="new-secret"' not in body
    assert Webhook.objects.get().kind == "slack"


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ({"kind": "webhook", "url": "ftp://x.example"}, {"url": [svc.MSG_BAD_URL]}),
        ({"kind": "slack", "url": "https://example.com/services/x"}, {"url": [svc.MSG_SLACK_URL]}),
        ({"kind": "teams", "url": "https://example.com/x"}, {"url": [svc.MSG_TEAMS_URL]}),
        (
            {"kind": "webhook", "url": "https://x.example/h", "event_types": ["nope"]},
            {"event_types": ["Select a valid choice. nope is not one of the available choices."]},
        ),
        (
            {"kind": "irc", "url": "https://x.example/h"},
            {"kind": ["Select a valid choice. irc is not one of the available choices."]},
        ),
    ],
)
def test_bad_input_is_a_form_error_and_changes_nothing(data, errors, workflow, workflow_owner):
    before = ActivityEntry.objects.count()
    response = as_user(workflow_owner).post(URL, {"action": "create", **data})
    assert response.status_code == 200
    assert response.context["form"].errors == errors
    assert not Webhook.objects.exists()
    assert ActivityEntry.objects.count() == before


def test_turn_off_on_choose_events_and_delete(workflow, workflow_owner):
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

    response = client.post(
        URL,
        {"action": "event_types", "webhook": webhook.pk, "event_types": ["rollout.paused"]},
        follow=True,
    )
    assert views.MSG_EVENTS in response.content.decode()
    webhook.refresh_from_db()
    assert webhook.event_types == ["rollout.paused"]
    response = client.post(
        URL, {"action": "event_types", "webhook": webhook.pk, "event_types": ["x"]}, follow=True
    )
    assert svc.MSG_BAD_EVENT_TYPE in response.content.decode()
    webhook.refresh_from_db()
    assert webhook.event_types == ["rollout.paused"]
    client.post(URL, {"action": "event_types", "webhook": webhook.pk})  # none ticked: all
    webhook.refresh_from_db()
    assert webhook.event_types == []

    response = client.post(URL, {"action": "delete", "webhook": webhook.pk}, follow=True)
    assert views.MSG_DELETED in response.content.decode()
    assert not Webhook.objects.exists()


def test_rotating_shows_the_new_secret_once_and_says_until_when_the_old_signs(
    workflow, workflow_owner
):
    webhook = svc.webhook_create(workflow=workflow, actor=workflow_owner, url="https://a.example/h")
    old = webhook.secret
    client = as_user(workflow_owner)
    response = client.post(URL, {"action": "rotate", "webhook": webhook.pk, "grace_hours": "99"})
    assert svc.MSG_BAD_GRACE in response.content.decode()
    assert Webhook.objects.get().secret == old

    response = client.post(URL, {"action": "rotate", "webhook": webhook.pk, "grace_hours": "24"})
    assert response.status_code == 200
    webhook.refresh_from_db()
    assert webhook.secret != old and webhook.previous_secret == old
    body = response.content.decode()
    assert views.MSG_ROTATED in body and f'value="{webhook.secret}"' in body
    assert "the old secret keeps signing beside it until" in body
    later = client.get(URL).content.decode()
    assert webhook.secret not in later and old not in later
    assert "Rotating: the old secret also signs until" in later


def test_an_old_endpoint_says_so_and_switches_with_a_button(workflow, workflow_owner):
    webhook = svc.webhook_create(workflow=workflow, actor=workflow_owner, url="https://a.example/h")
    Webhook.objects.filter(pk=webhook.pk).update(
        secret="an-old-secret", legacy_until=timezone.now() + timedelta(days=90)
    )
    client = as_user(workflow_owner)
    body = client.get(URL).content.decode()
    assert "Old body and <code>X-Rollout-*</code> headers" in body
    assert 'value="switch"' in body
    assert "an-old-secret" not in body  # the secret is never shown again

    response = client.post(URL, {"action": "switch", "webhook": webhook.pk}, follow=True)
    assert views.MSG_SWITCHED in response.content.decode()
    assert Webhook.objects.get().legacy_until is None
    assert 'value="switch"' not in response.content.decode()
    response = client.post(URL, {"action": "switch", "webhook": webhook.pk}, follow=True)
    assert svc.MSG_ALREADY_STANDARD in response.content.decode()


def test_another_workflows_or_the_organisations_endpoint_is_a_404(
    workflow, workflow_owner, ops_leader
):
    other = make_workflow(actor=ops_leader)
    foreign = svc.webhook_create(workflow=other, actor=ops_leader, url="https://a.example/h")
    org = svc.webhook_create(workflow=None, actor=ops_leader, url="https://b.example/h")
    for client, url in ((as_user(workflow_owner), URL), (as_user(ops_leader), URL)):
        assert client.post(url, {"action": "delete", "webhook": foreign.pk}).status_code == 404
        assert client.post(url, {"action": "delete", "webhook": org.pk}).status_code == 404
        assert client.post(url, {"action": "delete", "webhook": "x"}).status_code == 404
        assert client.post(url, {"action": "explode"}).status_code == 404
    ops = as_user(ops_leader)
    assert ops.post(ORG_URL, {"action": "delete", "webhook": foreign.pk}).status_code == 404
    assert Webhook.objects.count() == 2


def test_an_ops_leader_adds_and_manages_an_organisation_channel(ops_leader, workflow):
    client = as_user(ops_leader)
    response = client.post(ORG_URL, {"action": "create", "kind": "teams", "url": "https://x.y"})
    assert response.context["form"].errors == {"url": [svc.MSG_TEAMS_URL]}
    url = "https://contoso.webhook.office.com/webhookb2/abc"
    response = client.post(
        ORG_URL,
        {"action": "create", "kind": "teams", "url": url, "event_types": ["incident.opened"]},
    )
    assert response.status_code == 200
    channel = Webhook.objects.get()
    assert (channel.workflow, channel.kind, channel.event_types) == (
        None,
        "teams",
        ["incident.opened"],
    )
    response = client.post(ORG_URL, {"action": "turn_off", "webhook": channel.pk}, follow=True)
    assert response.redirect_chain == [(ORG_URL, 302)]
    channel.refresh_from_db()
    assert not channel.active


def test_the_delivery_log_lists_every_attempt_in_bounded_queries(
    workflow, workflow_owner, django_assert_max_num_queries
):
    webhook = svc.webhook_create(workflow=workflow, actor=workflow_owner, url="https://a.example/h")
    for n in range(60):
        activity_record(workflow=workflow, actor=None, verb="paused", target=f"Phase {n}")
    failing = WebhookDelivery.objects.get(activity__target="Phase 59")
    WebhookDelivery.objects.filter(pk=failing.pk).update(
        status="failed",
        attempts=2,
        response_status=500,
        last_error="The receiver answered HTTP 500.",
        next_attempt_at=timezone.now() + timedelta(minutes=5),
    )
    now = timezone.now()
    WebhookAttempt.objects.create(
        delivery=failing, number=1, at=now, duration_ms=31, response_status=503,
        error="The receiver answered HTTP 503.",
    )  # fmt: skip
    WebhookAttempt.objects.create(
        delivery=failing, number=2, at=now, duration_ms=42, response_status=500,
        error="The receiver answered HTTP 500.",
    )  # fmt: skip
    sent = WebhookDelivery.objects.get(activity__target="Phase 58")
    WebhookDelivery.objects.filter(pk=sent.pk).update(
        status="sent", attempts=1, response_status=204
    )
    WebhookAttempt.objects.create(
        delivery=sent, number=1, at=now, duration_ms=7, response_status=204
    )
    client = as_user(workflow_owner)

    with django_assert_max_num_queries(16):
        response = client.get(URL)

    assert len(response.context["deliveries"]) == 50
    body = response.content.decode()
    assert "Retrying" in body and "Next try:" in body
    assert "HTTP 503" in body and "31 ms" in body and "The receiver answered HTTP 503." in body
    assert "HTTP 500" in body and "42 ms" in body
    assert "Delivered" in body and "HTTP 204" in body
    assert "rollout.paused" in body
    assert webhook.url in body
    assert ActivityEntry.objects.filter(verb="added a webhook").exists()


def test_an_endpoint_rollout_turned_off_says_why(workflow, workflow_owner):
    webhook = svc.webhook_create(workflow=workflow, actor=workflow_owner, url="https://a.example/h")
    Webhook.objects.filter(pk=webhook.pk).update(
        active=False, disabled_at=timezone.now(), disabled_reason="The receiver answered 410 Gone."
    )
    body = as_user(workflow_owner).get(URL).content.decode()
    assert "Turned off by Rollout" in body and "The receiver answered 410 Gone." in body
    assert 'value="turn_on"' in body
