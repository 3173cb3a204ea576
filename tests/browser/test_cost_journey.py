"""Cost per useful output in Chromium (issue 18 §3): the integration reports tokens, the owner
declares the model version's price on the AI configuration page, and the usage page's cost
section shows its two charts and the costed table, with no serious accessibility violation."""

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import axe_violations, screenshot
from tests.factories import UserFactory, make_workflow, ops_leader_user
from tests.rollout.promotion_fixtures import make_plan
from tests.rollout.usage_events_data import at_noon, event
from tests.rollout.views.usage_page_data import days_ago, make_cohort, member_ref, record_usage

pytestmark = pytest.mark.browser


@pytest.fixture
def cast(transactional_db) -> dict:
    ops = ops_leader_user(email="ops@example.com", display_name="Olivia Ops")
    owner = UserFactory(email="owner@example.com", display_name="Owen Owner")
    workflow = make_workflow(
        owner=owner, actor=ops, name="Support reply drafting", slug="support-reply-drafting"
    )
    make_plan(workflow, current="limited")
    eu = make_cohort(workflow, ops, "EU agents", 3)
    eu.enrolled_phase = "limited"
    eu.save()
    tokens = {"input_tokens": 1200, "output_tokens": 400}
    events = []
    for back in range(1, 20):
        at = at_noon(days_ago(back))
        ref = member_ref(eu, back % 3)
        events += [event("invocation", user_ref=ref, at=at, attrs=tokens) for _ in range(4)]
        events += [event("accepted", user_ref=ref, at=at) for _ in range(3)]
    record_usage(workflow, events)
    return {"owner": owner, "workflow": workflow}


def test_the_owner_prices_the_model_and_the_usage_page_shows_the_cost(
    page: Page, live_server, sign_in_as, console_errors, cast
):
    sign_in_as(cast["owner"])
    base = f"{live_server.url}/workflows/support-reply-drafting"

    page.goto(f"{base}/usage/?days=30")
    expect(page.locator("#cost")).to_contain_text("76 of 76 cost-bearing events (100.0%)")

    page.goto(f"{base}/configuration/")
    prices = page.locator("#prices")
    prices.get_by_label("Model version").fill("2026-09")
    prices.get_by_label("Valid from").fill(days_ago(60).isoformat())
    prices.get_by_label("Price per 1,000 input tokens (EUR)").fill("0.01")
    prices.get_by_label("Price per 1,000 output tokens (EUR)").fill("0.03")
    prices.get_by_role("button", name="Save the price").click()
    expect(page.locator("#prices tbody")).to_contain_text("€0.030")
    screenshot(page, "configuration-prices")

    page.goto(f"{base}/usage/?days=30")
    cost = page.locator("#cost")
    # 76 calls × (1.2 × 0.01 + 0.4 × 0.03) = €1.82; 57 accepted: €0.032 each.
    expect(cost.locator("tbody")).to_contain_text("€1.82")
    expect(cost.locator("svg.rollout-chart")).to_have_count(2)
    # The forecast at the broad roll-out: the limited cohort's 3 people stay live there.
    expect(cost.locator(".cost-forecast")).to_contain_text("If each of the 3 people")
    cost.scroll_into_view_if_needed()
    screenshot(page, "usage-cost")
    assert axe_violations(page) == []
    assert console_errors == []
