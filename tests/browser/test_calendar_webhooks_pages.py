"""The calendar and webhooks & chat pages in Chromium, on a desktop and a phone: axe-core finds no
serious violation, nothing scrolls sideways, pictures kept under var/screenshots/."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page

from rollout.models import BlackoutWindow, ChangeNotice, Webhook, WebhookDelivery, Workflow
from rollout.services.activity import activity_record
from rollout.services.webhooks import webhook_create
from tests.browser.conftest import axe_violations, screenshot
from tests.factories import UserFactory, make_workflow, ops_leader_user
from tests.rollout.promotion_fixtures import make_plan

pytestmark = pytest.mark.browser


@pytest.fixture
def cast(transactional_db, monkeypatch) -> dict:
    # No wake-up task: it would POST to these made-up addresses; the log is filled in below.
    monkeypatch.setattr("rollout.services.webhook_outbox.wake", lambda *args: None)
    ops = ops_leader_user(email="ops@example.com", display_name="Olivia Ops")
    owner = UserFactory(email="owner@example.com", display_name="Owen Owner")
    workflow = make_workflow(
        owner=owner, actor=ops, name="Support reply drafting", slug="support-reply-drafting"
    )
    other = make_workflow(owner=owner, actor=ops, name="Invoice coding", slug="invoice-coding")
    today = timezone.localdate()
    now = timezone.now()
    for wf, offset in ((workflow, 3), (other, 9)):
        phases = make_plan(wf, current="shadow")
        phases["limited"].planned_start = today + timedelta(days=offset)
        phases["limited"].save()
        phases["shadow"].planned_end = today + timedelta(days=offset - 1)
        phases["shadow"].save()
    Workflow.objects.filter(pk=workflow.pk).update(next_review_due=today + timedelta(days=12))
    ChangeNotice.objects.create(
        workflow=workflow,
        kind="model_change",
        title="New model version for drafting",
        body="Body",
        publish_at=now + timedelta(days=1),
        effective_at=now + timedelta(days=6),
        status="scheduled",
    )
    BlackoutWindow.objects.create(
        name="Quarter close",
        starts_at=now + timedelta(days=14),
        ends_at=now + timedelta(days=16),
        created_by=ops,
    )
    webhook_create(workflow=workflow, actor=owner, url="https://hooks.example.com/rollout/events")
    webhook_create(workflow=workflow, actor=owner, url="https://chat.example.org/incoming/abc123")
    webhook_create(
        workflow=workflow,
        actor=owner,
        url="https://hooks.slack.com/services/T0/B0/abc123",
        kind="slack",
        event_types=["approval.requested", "incident.opened"],
    )
    webhook_create(
        workflow=None,
        actor=ops,
        url="https://contoso.webhook.office.com/webhookb2/abc",
        kind="teams",
    )
    activity_record(workflow=workflow, actor=owner, verb="paused", target="Shadow mode")
    deliveries = list(WebhookDelivery.objects.order_by("pk"))
    for n, delivery in enumerate(deliveries):
        if n % 3 == 0:
            delivery.status, delivery.response_status = "sent", 204
            delivery.attempts, delivery.delivered_at = 1, now
        elif n % 3 == 1:
            delivery.status, delivery.response_status, delivery.attempts = "failed", 502, 2
            delivery.last_error = "The receiver answered HTTP 502."
            delivery.next_attempt_at = now + timedelta(minutes=2)
        delivery.save()
    return {"ops": ops, "owner": owner}


PAGES = [
    ("calendar", "/calendar/"),
    ("webhooks", "/workflows/support-reply-drafting/webhooks/"),
]


@pytest.mark.parametrize("width", [1280, 390])
def test_calendar_and_webhooks_pages(
    page: Page, live_server, sign_in_as, console_errors, cast, width
):
    page.set_viewport_size({"width": width, "height": 900})
    sign_in_as(cast["owner"])
    for name, path in PAGES:
        response = page.goto(live_server.url + path)
        assert response is not None and response.status == 200
        screenshot(page, f"{name}-{width}")
        assert page.evaluate("document.documentElement.scrollWidth") <= width, path
        assert axe_violations(page) == [], path
    assert console_errors == []


@pytest.mark.parametrize("width", [1280, 390])
def test_the_organisations_webhooks_page(
    page: Page, live_server, sign_in_as, console_errors, cast, width
):
    page.set_viewport_size({"width": width, "height": 900})
    sign_in_as(cast["ops"])
    response = page.goto(live_server.url + "/webhooks/")
    assert response is not None and response.status == 200
    page.get_by_text("Choose events").first.click()  # the fold opens: its checkboxes too
    screenshot(page, f"org-webhooks-{width}")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert axe_violations(page) == []
    assert console_errors == []


def test_creating_a_feed_and_following_with_htmx(
    page: Page, live_server, sign_in_as, console_errors, cast
):
    sign_in_as(cast["ops"])
    page.goto(live_server.url + "/calendar/")
    loads = []
    page.on("load", lambda: loads.append(page.url))
    page.get_by_role("button", name="Create a feed address").click()
    feed_url = page.locator("#feed-url").input_value()
    assert "/calendar/feed/" in feed_url and feed_url.endswith(".ics")
    screenshot(page, "calendar-feed-created")

    page.goto(live_server.url + "/workflows/support-reply-drafting/")
    loads.clear()
    page.get_by_role("button", name="Follow").click()
    page.get_by_role("button", name="Unfollow").wait_for()
    assert loads == []  # htmx swapped the button; no page load
    assert console_errors == []


def test_an_owner_adds_a_webhook_sees_its_secret_once_then_chooses_events_and_rotates(
    page: Page, live_server, sign_in_as, console_errors, cast
):
    sign_in_as(cast["owner"])
    url = live_server.url + "/workflows/support-reply-drafting/webhooks/"
    page.goto(url)
    page.get_by_label("Address (URL)").fill("https://receiver.example.com/rollout")
    page.get_by_role("button", name="Add", exact=True).click()
    secret = page.locator("#new-secret").input_value()
    webhook = Webhook.objects.get(url="https://receiver.example.com/rollout")
    assert secret == webhook.secret and secret.startswith("whsec_")

    page.goto(url)  # shown once
    assert page.locator("#new-secret").count() == 0
    card = page.locator(f"#endpoint-{webhook.pk}")
    card.get_by_text("Choose events").click()
    card.get_by_label("incident.opened").check()
    card.get_by_role("button", name="Save events").click()
    assert page.get_by_text("Saved the events to send.").is_visible()
    webhook.refresh_from_db()
    assert webhook.event_types == ["incident.opened"]

    card = page.locator(f"#endpoint-{webhook.pk}")
    card.get_by_text("Rotate secret").click()
    card.get_by_role("button", name="Make a new secret").click()
    rotated = page.locator("#new-secret").input_value()
    webhook.refresh_from_db()
    assert rotated == webhook.secret != secret
    assert webhook.previous_secret == secret
    screenshot(page, "webhooks-rotated")
    assert console_errors == []
