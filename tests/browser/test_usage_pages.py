"""The usage page, the overview's health panel and the home page's notifications in Chromium:
axe-core finds no serious violation, nothing scrolls sideways on a phone, and the htmx parts
(period and cohort choice, "Mark as read") work without a page load."""

import pytest
from django.utils import timezone
from playwright.sync_api import Page

from rollout.models import Notification
from tests.browser.conftest import axe_violations, screenshot
from tests.factories import UserFactory, executive_user, make_workflow, ops_leader_user
from tests.rollout.views.usage_page_data import (
    day_events,
    days_ago,
    make_cohort,
    member_ref,
    record_usage,
)

pytestmark = pytest.mark.browser


@pytest.fixture
def cast(transactional_db) -> dict:
    from rollout.models import Threshold
    from tests.rollout.promotion_fixtures import make_plan

    ops = ops_leader_user(email="ops@example.com", display_name="Olivia Ops")
    owner = UserFactory(email="owner@example.com", display_name="Owen Owner")
    workflow = make_workflow(
        owner=owner, actor=ops, name="Support reply drafting", slug="support-reply-drafting"
    )
    make_plan(workflow, current="limited")
    eu = make_cohort(workflow, ops, "EU agents", 4)
    us = make_cohort(workflow, ops, "US agents", 3)
    Threshold.objects.create(
        workflow=workflow,
        metric="override_rate",
        comparator="lte",
        limit=0.10,
        marginal_limit=0.15,
        min_sample=10,
        bad_output="A reply the agent rewrites.",
        action="pause_rollout",
    )
    events = []
    for day in range(1, 40):
        events += day_events(
            member_ref(eu, day % 4), days_ago(day), invocations=6, accepted=5, overridden=1
        )
        events += day_events(member_ref(us, day % 3), days_ago(day), invocations=3, accepted=3)
    events += day_events(member_ref(eu, 0), days_ago(0), invocations=20, accepted=8, overridden=12)
    record_usage(workflow, events)
    return {"ops": ops, "owner": owner, "exec": executive_user(), "workflow": workflow, "eu": eu}


@pytest.mark.parametrize(
    ("name", "who", "path"),
    [
        ("usage-exec", "exec", "/workflows/support-reply-drafting/usage/"),
        ("usage-owner-90", "owner", "/workflows/support-reply-drafting/usage/?days=90"),
        ("overview-health", "ops", "/workflows/support-reply-drafting/"),
        ("home-notifications", "owner", "/"),
        ("portfolio-health", "ops", "/workflows/"),
    ],
)
def test_no_serious_accessibility_violations(
    page: Page, live_server, sign_in_as, console_errors, cast, name, who, path
):
    sign_in_as(cast[who])

    response = page.goto(f"{live_server.url}{path}")

    assert response is not None and response.status == 200
    screenshot(page, name)
    assert axe_violations(page) == []
    assert console_errors == []


def test_usage_pages_read_on_a_phone(page: Page, live_server, sign_in_as, cast):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in_as(cast["ops"])
    for name, path in [
        ("phone-usage", "/workflows/support-reply-drafting/usage/"),
        ("phone-overview-health", "/workflows/support-reply-drafting/"),
        ("phone-portfolio-health", "/workflows/"),
    ]:
        page.goto(live_server.url + path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
        screenshot(page, name)


def test_choosing_a_period_and_cohort_refreshes_the_body_and_the_url(
    page: Page, live_server, sign_in_as, console_errors, cast
):
    sign_in_as(cast["ops"])
    page.goto(f"{live_server.url}/workflows/support-reply-drafting/usage/")
    loads = []
    page.on("load", lambda: loads.append(page.url))

    page.select_option("#id_days", "7")
    page.wait_for_url("**/usage/?days=7*")
    page.select_option("#id_cohort", str(cast["eu"].pk))
    page.wait_for_url(f"**cohort={cast['eu'].pk}")

    assert page.locator(".usage-period").inner_text().endswith("EU agents")
    assert page.locator("#summary-heading").inner_text() == "Last 7 days by cohort"
    assert page.locator("table.numbers tbody th").all_inner_texts() == ["EU agents"]
    assert loads == []  # htmx swapped the body; no page load
    assert console_errors == []


def test_mark_as_read_with_htmx(page: Page, live_server, sign_in_as, console_errors, cast):
    owner = cast["owner"]
    unread = Notification.objects.filter(recipient=owner, read_at__isnull=True).order_by("pk")
    # The breach told the owner, and so did its escalation (no path yet): keep one to click.
    assert unread.count() >= 1
    Notification.objects.filter(pk__in=list(unread.values_list("pk", flat=True))[1:]).update(
        read_at=timezone.now()
    )
    sign_in_as(owner)
    page.goto(f"{live_server.url}/")
    loads = []
    page.on("load", lambda: loads.append(page.url))

    page.get_by_role("button", name="Mark as read").click()

    page.locator(".notification").wait_for(state="detached")
    assert loads == []
    assert Notification.objects.filter(recipient=owner, read_at__isnull=True).count() == 0
    assert console_errors == []
