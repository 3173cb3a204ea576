"""Personal access tokens in Chromium (issue 20 §4): the owner creates a write token on their
profile (shown once), a script changes their workflow with it — logged "via token" — and the
profile shows when it was last used; an ops leader finds it on the people page's token list and
revokes it, and the script is refused. Both pages pass axe-core; pictures under var/screenshots/."""

import json
import re
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import Page, expect

from rollout.models import ActivityEntry, Workflow
from rollout.services.personal_tokens import MSG_TOKEN_REVOKED
from tests.browser.conftest import axe_violations, screenshot
from tests.factories import UserFactory, make_workflow, ops_leader_user
from tests.waiting import PATIENCE

pytestmark = pytest.mark.browser


def patch_summary(base_url: str, token: str, summary: str) -> tuple[int, dict]:
    """What the owner's script does: change the workflow's summary with its bearer token."""
    request = urllib.request.Request(  # noqa: S310 — the test's own live server
        f"{base_url}/api/v1/workflows/invoice-triage",
        method="PATCH",
        data=json.dumps({"summary": summary}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=PATIENCE) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture
def people(transactional_db):
    ops = ops_leader_user(email="ops@example.com", display_name="Olivia Ops")
    owner = UserFactory(email="owner@example.com", display_name="Owen Owner")
    make_workflow(owner=owner, actor=ops, name="Invoice triage", slug="invoice-triage")
    return ops, owner


def test_create_use_and_revoke_a_personal_token(
    page: Page, live_server, sign_in_as, console_errors, people
):
    ops, owner = people
    sign_in_as(owner)
    page.goto(f"{live_server.url}/accounts/profile/")
    section = page.locator("#personal-tokens")
    expect(section.get_by_text("No personal access tokens yet.")).to_be_visible()
    section.get_by_label("Name").fill("Set-up script")
    section.get_by_label("Read and write").check()
    section.get_by_role("button", name="Create token").click()

    expect(page.get_by_role("heading", name="Your new token “Set-up script”")).to_be_visible()
    token = page.locator("#new-personal-token").input_value()
    assert token.startswith("rop_")

    status, body = patch_summary(live_server.url, token, "Routes every invoice.")
    assert status == 200, body
    assert Workflow.objects.get(slug="invoice-triage").summary == "Routes every invoice."
    entry = ActivityEntry.objects.filter(workflow__slug="invoice-triage", verb="edited").first()
    assert entry.note == "via token Set-up script"

    page.goto(f"{live_server.url}/accounts/profile/")
    row = page.get_by_role("row", name=re.compile("Set-up script"))
    expect(row).to_contain_text("Read and write")
    expect(row).to_contain_text("just now")
    expect(page.locator("#new-personal-token")).to_have_count(0)  # shown once only
    assert axe_violations(page) == []
    screenshot(page, "personal-tokens-profile")

    sign_in_as(ops)
    page.goto(f"{live_server.url}/people/")
    page.get_by_role("link", name="Personal access tokens").click()
    row = page.get_by_role("row", name=re.compile("Owen Owner"))
    expect(row).to_contain_text("Set-up script")
    assert axe_violations(page) == []
    screenshot(page, "personal-tokens-everyone")
    row.get_by_role("button", name=re.compile("Revoke")).click()
    expect(page.get_by_text("Revoked “Set-up script” of Owen Owner.")).to_be_visible()
    expect(page.get_by_role("row", name=re.compile("Owen Owner"))).to_contain_text("Revoked")

    assert patch_summary(live_server.url, token, "Again.") == (
        401,
        {"detail": MSG_TOKEN_REVOKED},
    )
    assert console_errors == []
