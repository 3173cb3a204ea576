"""Sign in → portfolio → create a workflow → hand it over → see it in the activity log."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import pick_person, screenshot
from tests.factories import PASSWORD, UserFactory, make_workflow

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True)
def test_ops_leader_creates_and_hands_over_a_workflow(page: Page, live_server, console_errors):
    from tests.factories import ops_leader_user

    ops = ops_leader_user(email="ops@example.com", display_name="Olivia Ops")
    UserFactory(email="owner@example.com", display_name="Owen Owner")
    UserFactory(email="newowner@example.com", display_name="Nadia Newowner")
    make_workflow(name="Invoice coding", slug="invoice-coding", actor=ops)

    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.get_by_label("Email address").fill("OPS@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My home")
    expect(page.get_by_role("link", name="Olivia Ops")).to_be_visible()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Workflows").click()
    expect(page.get_by_role("cell", name=re.compile("Invoice coding"))).to_be_visible()
    screenshot(page, "journey-portfolio")

    page.get_by_role("link", name="New workflow").click()
    page.get_by_label("Name").fill("Support reply drafting")
    page.get_by_label("Business action").fill("Reply email sent to the customer")
    page.get_by_label("Model provider").fill("Anthropic")
    pick_person(page, "Owner", "owe", "Owen Owner")
    page.get_by_role("button", name="Create workflow").click()

    expect(page).to_have_url(re.compile(r"/workflows/support-reply-drafting/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Support reply drafting")
    expect(page.get_by_text("Owen Owner").first).to_be_visible()
    screenshot(page, "journey-overview")

    page.get_by_role("link", name="Hand over").click()
    pick_person(page, "New owner", "nad", "Nadia Newowner")
    page.get_by_label("Note").fill("Nadia runs tier-1 support from December.")
    page.get_by_role("button", name="Hand over").click()
    expect(page.get_by_text("Nadia Newowner").first).to_be_visible()

    page.get_by_role("link", name="Activity", exact=True).click()
    entries = page.locator(".activity > li")
    expect(entries.first).to_contain_text("handed over")
    expect(entries.first).to_contain_text("Owen Owner")
    expect(entries.first).to_contain_text("Nadia Newowner")
    expect(entries.first).to_contain_text("Nadia runs tier-1 support from December.")
    expect(entries.nth(1)).to_contain_text("created")
    screenshot(page, "journey-activity")
    assert console_errors == []


@pytest.mark.django_db(transaction=True)
def test_portfolio_filters_with_htmx_and_keeps_the_url(page: Page, live_server, sign_in_as):
    from tests.factories import executive_user

    viewer = executive_user()
    make_workflow(name="Invoice coding", slug="invoice-coding")
    make_workflow(name="Contract clause review", slug="contract-clause-review")
    sign_in_as(viewer)

    page.goto(f"{live_server.url}/workflows/")
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))
    page.get_by_label("Search").fill("contract")

    expect(page.get_by_role("cell", name=re.compile("Invoice coding"))).to_have_count(0)
    expect(page.get_by_role("cell", name=re.compile("Contract clause review"))).to_be_visible()
    expect(page).to_have_url(re.compile(r"q=contract"))
    # htmx swapped the table and pushed the URL; the page itself never reloaded.
    assert all("q=contract" in url or url.endswith("/workflows/") for url in navigations)

    page.reload()
    expect(page.get_by_label("Search")).to_have_value("contract")
    expect(page.get_by_role("cell", name=re.compile("Invoice coding"))).to_have_count(0)
