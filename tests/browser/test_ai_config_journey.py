"""An unannounced prompt change in the browser: the AI tool's events — real HTTP with the
workflow's token against the live server — report prompt v7 while v6 is declared; Rollout records
it as observed and tells the owner, who finds it on the AI configuration page, declares v7 on the
workflow, and the decision API then answers the new declared version."""

import json
import urllib.request
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from rollout.models import AIConfiguration, Notification
from rollout.services.api_tokens import api_token_create
from rollout.services.evaluation import usage_refresh_pending
from rollout.services.workflows import workflow_update
from tests.browser.conftest import axe_violations, screenshot
from tests.factories import UserFactory, make_workflow, ops_leader_user
from tests.rollout.promotion_fixtures import make_plan
from tests.waiting import PATIENCE

pytestmark = pytest.mark.browser


def call(base_url: str, token: str, path: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(  # noqa: S310 — the test's own live server
        f"{base_url}{path}",
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=PATIENCE) as response:  # noqa: S310
        return json.loads(response.read())


def config_version(base_url: str, token: str) -> int:
    path = "/api/v1/decision?workflow=support-reply-drafting&user=amy@example.com"
    return call(base_url, token, path)["config_version"]


@pytest.mark.django_db(transaction=True)
def test_an_unannounced_prompt_change_is_found_and_declared(
    page: Page, live_server, sign_in_as, console_errors
):
    ops = ops_leader_user(email="ops@example.com", display_name="Olivia Ops")
    owner = UserFactory(email="owner@example.com", display_name="Owen Owner")
    workflow = make_workflow(
        owner=owner, actor=ops, name="Support reply drafting", slug="support-reply-drafting"
    )
    make_plan(workflow, current="limited")
    AIConfiguration.objects.filter(workflow=workflow).update(
        effective_at=timezone.now() - timedelta(days=30)
    )
    workflow_update(workflow=workflow, actor=owner, prompt_version="v6")
    AIConfiguration.objects.filter(workflow=workflow, version=2).update(
        effective_at=timezone.now() - timedelta(days=7)
    )
    _, token = api_token_create(workflow=workflow, actor=owner, name="Support tool")
    assert config_version(live_server.url, token) == 2

    # The tool runs prompt v7, which nobody announced.
    now = timezone.now() - timedelta(minutes=1)
    events = [
        {
            "event_id": str(uuid.uuid4()),
            "user_ref": "amy@example.com",
            "kind": "invocation",
            "occurred_at": now.isoformat(),
            "attrs": {"prompt_version": "v7"},
        }
        for _ in range(25)
    ]
    assert call(live_server.url, token, "/api/v1/events", {"events": events})["accepted"] == 25
    usage_refresh_pending()  # what the worker does after ingestion
    alert = Notification.objects.get(recipient=owner, title__contains="unannounced change")
    assert "prompt version “v7” where “v6” was declared" in alert.body
    assert config_version(live_server.url, token) == 2  # observed, not declared

    sign_in_as(owner)
    page.goto(f"{live_server.url}{alert.url}")
    expect(
        page.get_by_role("heading", name="The AI runs something nobody declared")
    ).to_be_visible()
    expect(page.get_by_text("Prompt version: declared v6, observed v7")).to_be_visible()
    expect(page.get_by_text("Evidence: 25 events since")).to_be_visible()
    screenshot(page, "ai-configuration-unannounced")
    assert axe_violations(page) == []

    # The change was intended: the owner declares it on the workflow.
    page.get_by_role("link", name="declare it on the workflow").click()
    page.get_by_label("Prompt version").fill("v7")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Saved your changes to “Support reply drafting”.")).to_be_visible()

    page.get_by_role("link", name="AI configuration", exact=True).first.click()
    expect(page.get_by_role("heading", name="In effect now")).to_be_visible()
    expect(page.get_by_text("The AI runs something nobody declared")).to_have_count(0)
    expect(page.get_by_text("Version 4, declared by Owen Owner")).to_be_visible()
    assert config_version(live_server.url, token) == 4
    assert console_errors == []
