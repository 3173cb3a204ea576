"""Rotating an API token in Chromium (issue 19): the owner rotates the tool's token with an hour
of grace, copies the new token (shown once), sees both listed with when each was last used and
when the old one stops, the tool works with either, then "Stop it now" ends the old one. The page,
with its Connect panel, passes axe-core and fits a phone; pictures under var/screenshots/."""

import json
import re
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import Page, expect

from rollout.services.api_tokens import MSG_TOKEN_INVALID
from tests.browser.conftest import axe_violations, screenshot
from tests.factories import UserFactory, make_workflow, ops_leader_user
from tests.rollout.promotion_fixtures import make_plan
from tests.waiting import PATIENCE

pytestmark = pytest.mark.browser


def decide(base_url: str, token: str) -> tuple[int, dict]:
    """What the AI tool does: ask for a person's mode with its bearer token."""
    request = urllib.request.Request(  # noqa: S310 — the test's own live server
        f"{base_url}/api/v1/decision?workflow=support-reply-drafting&user=a%40example.com",
        headers={"Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=PATIENCE) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture
def owner(transactional_db):
    ops = ops_leader_user(email="ops@example.com", display_name="Olivia Ops")
    person = UserFactory(email="owner@example.com", display_name="Owen Owner")
    workflow = make_workflow(
        owner=person, actor=ops, name="Support reply drafting", slug="support-reply-drafting"
    )
    make_plan(workflow, current="shadow")
    return person


def test_rotate_then_stop_the_old_token(page: Page, live_server, sign_in_as, console_errors, owner):
    tokens_url = f"{live_server.url}/workflows/support-reply-drafting/tokens/"
    sign_in_as(owner)
    page.goto(tokens_url)
    page.get_by_label("Name").fill("Support tool")
    page.get_by_role("button", name="Create token").click()
    old = page.locator("#new-token").input_value()
    assert decide(live_server.url, old)[0] == 200  # the tool in production uses it

    page.goto(tokens_url)
    row = page.get_by_role("row", name=re.compile("Support tool"))
    expect(row.get_by_role("cell", name="just now")).to_be_visible()  # last used
    row.locator("summary", has_text="Rotate").click()
    row.get_by_label("The old token keeps working for").select_option(label="1 hour")
    row.get_by_role("button", name="Rotate token").click()

    expect(page.get_by_role("heading", name="Your new token “Support tool”")).to_be_visible()
    new = page.locator("#new-token").input_value()
    assert new.startswith("ro_") and new != old
    expect(page.locator(".callout")).to_contain_text(
        re.compile(r"It replaces ro_\S+…, which keeps working until .+: switch the tool")
    )
    rows = page.locator("table.token-table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Active")
    expect(rows.nth(0)).to_contain_text("Never")
    expect(rows.nth(1)).to_contain_text("Replaced")
    expect(rows.nth(1)).to_contain_text(re.compile(r"stops working in (59|60)\s+minutes"))
    expect(rows.nth(1)).to_contain_text("just now")  # last used, by the old token's call
    screenshot(page, "tokens-rotated")

    # Both work during the grace period.
    assert decide(live_server.url, old)[0] == 200
    assert decide(live_server.url, new)[0] == 200
    # Shown once: a fresh load of the page no longer holds the new token.
    page.goto(tokens_url)
    expect(page.locator("#new-token")).to_have_count(0)
    assert new not in page.content()

    page.get_by_role("button", name=re.compile("Stop it now")).click()
    expect(page.get_by_text("Stopped the replaced token")).to_be_visible()
    expect(rows.nth(1)).to_contain_text("Revoked")
    assert decide(live_server.url, old) == (401, {"detail": MSG_TOKEN_INVALID})
    assert decide(live_server.url, new)[0] == 200
    assert console_errors == []


@pytest.mark.parametrize("width", [1280, 390])
def test_the_tokens_page_reads_well(
    page: Page, live_server, sign_in_as, console_errors, owner, width
):
    page.set_viewport_size({"width": width, "height": 900})
    sign_in_as(owner)
    url = f"{live_server.url}/workflows/support-reply-drafting/tokens/"
    page.goto(url)
    for name in ("Support tool", "Nightly batch"):
        page.get_by_label("Name").fill(name)
        page.get_by_role("button", name="Create token").click()
        expect(page.locator("#new-token")).to_be_visible()
    page.goto(url)
    row = page.get_by_role("row", name=re.compile("Support tool"))
    row.locator("summary", has_text="Rotate").click()
    row.get_by_role("button", name="Rotate token").click()
    expect(page.locator("#new-token")).to_be_visible()
    page.goto(url)
    page.get_by_role("row", name=re.compile("Nightly batch")).locator(
        "summary", has_text="Rotate"
    ).click()
    expect(page.get_by_text("OTEL_EXPORTER_OTLP_ENDPOINT=")).to_contain_text(
        f"{live_server.url}/otlp"
    )
    screenshot(page, f"tokens-{width}")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert axe_violations(page) == []
    assert console_errors == []
