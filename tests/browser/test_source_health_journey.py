"""A data source goes silent and recovers, in the browser: the owner sees the flag and the gate's
reason on the overview, has the notification on the home page, and a pipeline's heartbeat — a
real HTTP call to the live server with the workflow's token — makes the source fresh again and
the gate condition pass."""

import json
import urllib.request
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from rollout.models import Notification, SourceKind, SourceState, SourceStatus
from rollout.services.api_tokens import api_token_create
from rollout.services.data_sources import data_source_create
from rollout.services.evaluation import evaluation_sweep
from rollout.services.source_health import source_heartbeat_record
from tests.browser.conftest import axe_violations, screenshot
from tests.factories import UserFactory, make_workflow, ops_leader_user
from tests.rollout.promotion_fixtures import make_plan

pytestmark = pytest.mark.browser


def heartbeat(base_url: str, token: str, key: str, body: dict) -> dict:
    request = urllib.request.Request(
        f"{base_url}/api/v1/sources/{key}/heartbeat",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310 — the live server
        assert response.status == 200
        return json.loads(response.read())


@pytest.mark.django_db(transaction=True)
def test_a_silent_source_is_flagged_blocks_the_gate_and_recovers_with_a_heartbeat(
    page: Page, live_server, sign_in_as, console_errors
):
    ops = ops_leader_user(email="ops@example.com", display_name="Olivia Ops")
    owner = UserFactory(email="owner@example.com", display_name="Owen Owner")
    workflow = make_workflow(
        owner=owner, actor=ops, name="Support reply drafting", slug="support-reply-drafting"
    )
    make_plan(workflow, current="shadow")
    crm = data_source_create(
        workflow=workflow,
        actor=owner,
        name="CRM export",
        kind=SourceKind.LIVE,
        max_age_minutes=60,
        freshness="Refreshed every hour",
    )
    _, token = api_token_create(workflow=workflow, actor=owner, name="CRM pipeline")
    source_heartbeat_record(source=crm, records=120, rejected=3)
    # Then nothing for 30 hours (backdated), and the periodic sweep notices the silence.
    long_ago = timezone.now() - timedelta(hours=30)
    SourceStatus.objects.filter(source=crm).update(last_seen_at=long_ago, last_data_as_of=long_ago)
    evaluation_sweep()
    assert SourceStatus.objects.get(source=crm).state == SourceState.SILENT

    sign_in_as(owner)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/workflows/{workflow.slug}/")
    health = page.locator(".health-card")
    expect(health.get_by_text("! At risk")).to_be_visible()
    expect(health.get_by_text("Data source “CRM export” is silent since")).to_be_visible()
    gate = page.locator("#gate-checklist")
    silent_check = gate.locator(".gate-check", has_text="Live data sources fresh")
    expect(silent_check).to_contain_text("✗ Fail")
    expect(silent_check).to_contain_text("nothing reported for over 24 hours.")
    screenshot(page, "source-silent-overview")
    assert axe_violations(page) == []

    # The owner was told, once, in the app.
    page.goto(f"{live_server.url}/")
    notice = page.locator(".notification", has_text="data source “CRM export” is silent")
    expect(notice).to_have_count(1)
    notice.get_by_role("link").click()
    expect(page.locator("#data-sources")).to_contain_text("✗ Silent")
    expect(page.locator("#data-sources")).to_contain_text("crm-export")
    screenshot(page, "source-silent-plan")
    assert axe_violations(page) == []

    # The pipeline runs again and calls the heartbeat with the workflow's token.
    answer = heartbeat(
        live_server.url,
        token,
        "crm-export",
        {"data_as_of": timezone.now().isoformat(), "records": 80, "rejected": 1},
    )
    assert answer["state"] == "fresh"

    page.goto(f"{live_server.url}/workflows/{workflow.slug}/")
    fresh_check = page.locator("#gate-checklist .gate-check", has_text="Live data sources fresh")
    expect(fresh_check).to_contain_text("✓ Pass")
    expect(fresh_check).to_contain_text("No live data source is stale or silent (1 checked).")
    expect(page.locator(".health-card")).not_to_contain_text("CRM export")
    assert Notification.objects.filter(
        recipient=owner, title="Support reply drafting: data source “CRM export” recovered"
    ).exists()
    page.goto(f"{live_server.url}/workflows/{workflow.slug}/usage/")
    expect(page.locator("#data-sources")).to_contain_text("✓ Fresh")
    screenshot(page, "source-recovered-usage")
    assert axe_violations(page) == []
    assert console_errors == []
