"""Rule 10 in the browser: an ops leader adds an org-wide blackout window over a planned phase
start; the owner sees the conflict on the plan page and on the calendar, and the window's
creation is in the org-wide activity log (an entry with no workflow)."""

from datetime import date

import pytest
from django.utils.formats import date_format
from playwright.sync_api import Page, expect

from rollout.models import ActivityEntry, Phase
from rollout.services.phases import plan_create_default
from tests.browser.conftest import axe_violations, screenshot
from tests.factories import UserFactory, make_workflow, ops_leader_user

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}


@pytest.mark.django_db(transaction=True)
def test_a_blackout_over_a_planned_start_shows_as_a_conflict(
    page: Page, live_server, sign_in_as, console_errors
):
    ops = ops_leader_user(email="ops@example.com", display_name="Olivia Ops")
    owner = UserFactory(email="owner@example.com", display_name="Owen Owner")
    workflow = make_workflow(
        owner=owner, actor=ops, name="Support reply drafting", slug="support-reply-drafting"
    )
    plan_create_default(workflow=workflow, start_date=date(2027, 1, 4), actor=ops)
    limited = Phase.objects.get(workflow=workflow, kind="limited")
    day = limited.planned_start
    page.set_viewport_size(DESKTOP)

    # The ops leader adds an org-wide window over the planned start of the limited roll-out.
    sign_in_as(ops)
    page.goto(f"{live_server.url}/blackouts/")
    page.get_by_label("Name").fill("Quarter close")
    page.get_by_label("Starts").fill(f"{day:%Y-%m-%d}T00:00")
    page.get_by_label("Ends").fill(f"{day:%Y-%m-%d}T23:00")
    page.get_by_role("button", name="Add window").click()
    expect(page.get_by_role("cell", name="Quarter close", exact=True)).to_be_visible()
    (entry,) = ActivityEntry.objects.filter(workflow=None)
    assert (entry.actor, entry.verb) == (ops, "added an org-wide blackout window")

    # The owner sees the conflict on the plan page…
    sign_in_as(owner)
    page.goto(f"{live_server.url}/workflows/{workflow.slug}/plan/")
    callout = page.locator("#blackout-conflicts")
    expect(callout).to_contain_text("1 planned date in a blackout window.")
    row = page.locator("#phase-limited")
    expect(row.get_by_text("Blackout conflict")).to_be_visible()
    expect(row).to_contain_text(
        f"Its planned start ({date_format(day, 'j M Y')}) falls in the “Quarter close” "
        "blackout window"
    )
    screenshot(page, "plan-blackout-conflict-desktop")
    assert axe_violations(page) == []

    # …and on the calendar.
    page.goto(f"{live_server.url}/calendar/?month={day:%Y-%m}")
    expect(page.get_by_text("Blackout conflict").first).to_be_visible()
    screenshot(page, "calendar-blackout-conflict-desktop")
    assert axe_violations(page) == []
    assert console_errors == []
