"""The failure-mode briefing in the browser: the owner writes and publishes it (material), the
member finds the request among their notifications, reads and acknowledges it, and the decision
API — real HTTP with the workflow's token against the live server — answers `live` for them
where it answered `off` with reason `not_briefed` before."""

import json
import re
import urllib.request

import pytest
from playwright.sync_api import Page, expect

from rollout.models import BriefingAcknowledgement, Workflow
from rollout.services.api_tokens import api_token_create
from rollout.services.cohorts import cohort_create, cohort_enrol, cohort_members_add
from tests.browser.conftest import axe_violations, screenshot
from tests.factories import UserFactory, make_workflow, ops_leader_user
from tests.rollout.promotion_fixtures import make_plan
from tests.waiting import PATIENCE

pytestmark = pytest.mark.browser


def decision(base_url: str, token: str, user: str) -> dict:
    """What the AI tool asks before showing its output: GET /api/v1/decision."""
    request = urllib.request.Request(  # noqa: S310 — the test's own live server
        f"{base_url}/api/v1/decision?workflow=support-reply-drafting&user={user}",
        headers={"Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=PATIENCE) as response:  # noqa: S310
        return json.loads(response.read())


@pytest.mark.django_db(transaction=True)
def test_owner_publishes_member_acknowledges_and_goes_live(
    page: Page, live_server, sign_in_as, console_errors
):
    ops = ops_leader_user(email="ops@example.com", display_name="Olivia Ops")
    owner = UserFactory(email="owner@example.com", display_name="Owen Owner")
    member = UserFactory(email="amy@example.com", display_name="Amy Agent")
    workflow = make_workflow(
        owner=owner, actor=ops, name="Support reply drafting", slug="support-reply-drafting"
    )
    Workflow.objects.filter(pk=workflow.pk).update(fallback_mode="off")
    make_plan(workflow, current="limited")
    cohort = cohort_create(workflow=workflow, name="EU agents", actor=ops)
    cohort_members_add(cohort=cohort, users=[member], actor=ops)
    cohort_enrol(cohort=cohort, phase="limited", percentage=100, actor=ops)
    workflow.thresholds.create(
        metric="error_rate",
        comparator="lte",
        limit=0.02,
        bad_output="A draft that states a wrong refund amount.",
        action="pause_rollout",
    )
    _, token = api_token_create(workflow=workflow, actor=owner, name="Support tool")
    assert decision(live_server.url, token, member.email)["mode"] == "live"  # nothing published

    # The owner writes the first version: the thresholds' bad outputs are filled in.
    sign_in_as(owner)
    page.goto(f"{live_server.url}/workflows/support-reply-drafting/")
    page.get_by_role("navigation", name="Workflow sections").get_by_role(
        "link", name="Briefing"
    ).click()
    expect(page.get_by_role("heading", name="Write the briefing")).to_be_visible()
    expect(page.get_by_label("What a bad output looks like")).to_have_value(
        "- A draft that states a wrong refund amount."
    )
    page.get_by_label("What the AI does").fill(
        "Drafts the first reply to **tier-1 tickets**. You always send it yourself."
    )
    page.get_by_label("Examples of wrong outputs").fill("> “Your refund of €249 is on its way.”")
    page.get_by_role("button", name="Publish the briefing").click()
    expect(page.get_by_text("Published version 1. 1 person asked to read")).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile(r"^Version 1"))).to_be_visible()
    expect(page.locator("#coverage")).to_contain_text("0 of 1 member (0%)")
    screenshot(page, "briefing-owner")
    page.get_by_text("Publish a new version").click()  # the form, folded away once published
    expect(page.get_by_label("What changed")).to_be_visible()
    assert axe_violations(page) == []

    # Until the member acknowledges, the AI tool is told to hold back, and why.
    held_back = decision(live_server.url, token, member.email)
    assert held_back["mode"] == "off" and held_back["reason"] == "not_briefed"
    assert held_back["briefing_url"].endswith("/workflows/support-reply-drafting/briefing/")

    # The member finds the request on their home page and acknowledges.
    sign_in_as(member)
    page.goto(f"{live_server.url}/")
    page.get_by_role(
        "link", name="Please read and acknowledge the briefing for Support reply drafting"
    ).click()
    expect(page).to_have_url(re.compile(r"/workflows/support-reply-drafting/briefing/$"))
    expect(page.get_by_text("You always send it yourself.")).to_be_visible()
    assert axe_violations(page) == []
    page.get_by_role("button", name="Acknowledge version 1").click()
    expect(page.get_by_text("Thank you: you acknowledged version 1")).to_be_visible()
    expect(page.locator("#acknowledgement")).to_contain_text("You acknowledged version 1 on")
    expect(page.get_by_role("button", name="Acknowledge version 1")).to_have_count(0)
    screenshot(page, "briefing-member-acknowledged")
    assert BriefingAcknowledgement.objects.filter(user=member).count() == 1

    # The very next question gets the new answer: acknowledging invalidated the cached one.
    assert decision(live_server.url, token, member.email) == {
        "mode": "live",
        "phase": "limited",
        "cohort": "EU agents",
        "config_version": 1,
        "review_level": "every",
    }
    assert console_errors == []
