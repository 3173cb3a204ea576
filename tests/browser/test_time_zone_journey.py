"""An ops leader sets the organisation's time zone; a person picks theirs on the profile; the
pages show times in it, with the zone's abbreviation."""

import re
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Page, expect

from rollout.models import Workflow
from tests.browser.conftest import axe_violations, screenshot
from tests.factories import UserFactory, make_workflow, ops_leader_user

pytestmark = pytest.mark.browser

CREATED = datetime(2026, 12, 13, 14, 17, tzinfo=UTC)


@pytest.mark.django_db(transaction=True)
def test_times_follow_the_organisation_then_the_persons_own_zone(
    page: Page, live_server, sign_in_as, console_errors
):
    ops = ops_leader_user(email="ops@example.com", display_name="Olivia Ops")
    owner = UserFactory(email="owner@example.com", display_name="Owen Owner")
    workflow = make_workflow(owner=owner, actor=ops, name="Invoice coding", slug="invoice-coding")
    Workflow.objects.filter(pk=workflow.pk).update(created_at=CREATED)
    overview = f"{live_server.url}/workflows/invoice-coding/"
    created = page.locator("dt:has-text('Created') + dd")

    # The ops leader sets the organisation's default zone from the main navigation.
    sign_in_as(ops)
    page.goto(f"{live_server.url}/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Organisation").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Organisation settings")
    page.get_by_label("Default time zone").select_option("America/New_York")
    page.get_by_label("Currency").fill("usd")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator("#messages")).to_contain_text(
        "The organisation's settings have been saved."
    )
    expect(page.locator(".organisation-changes")).to_contain_text(
        "Default time zone: UTC → America/New_York"
    )
    expect(page.locator(".organisation-changes")).to_contain_text("Currency: EUR → USD")
    screenshot(page, "time-zone-organisation-settings")
    assert axe_violations(page) == []

    # Someone who chose no zone reads in the organisation's.
    sign_in_as(owner)
    page.goto(overview)
    expect(created).to_have_text("13 Dec 2026, 09:17 EST")
    expect(
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Organisation")
    ).to_have_count(0)

    # They pick their own on the profile page.
    page.get_by_role("link", name="Owen Owner").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your profile")
    zone = page.get_by_label("Your time zone")
    expect(zone.locator("option:checked")).to_have_text(
        "The organisation's default (America/New York)"
    )
    zone.select_option("Asia/Tokyo")
    page.get_by_role("button", name="Save time zone").click()
    expect(
        page.get_by_text("Your time zone has been saved: times are now shown in Asia/Tokyo.")
    ).to_be_visible()
    expect(page.get_by_text(re.compile(r"It is now .* JST for you\."))).to_be_visible()
    screenshot(page, "time-zone-profile")
    assert axe_violations(page) == []

    page.goto(overview)
    expect(created).to_have_text("13 Dec 2026, 23:17 JST")
    screenshot(page, "time-zone-overview")

    # A date and time to type says which zone it is read in.
    page.goto(f"{overview}notices/")
    expect(page.get_by_text("In your time zone, Asia/Tokyo.").first).to_be_visible()
    screenshot(page, "time-zone-notice-form")
    assert console_errors == []
