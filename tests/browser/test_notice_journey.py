"""A change notice in the browser: the owner's scheduled notice publishes, a member finds it in
the inbox (the count in the navigation), reads and acknowledges it, and the owner sees the
acknowledgement counted on the notice's page."""

import re

import pytest
from playwright.sync_api import Page, expect

from rollout.models import NoticeReceipt
from rollout.services.notice_delivery import notice_deliveries_send, notices_publish_due
from tests.browser.conftest import axe_violations, screenshot
from tests.rollout.notice_fixtures import make_notice, make_scene

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.mark.django_db(transaction=True)
def test_member_reads_and_acknowledges_and_the_owner_sees_it(
    page: Page, live_server, sign_in_as, console_errors
):
    scene = make_scene()
    notice = make_notice(
        scene,
        title="Shorter reply drafts from Monday",
        body_html=(
            "<p>From Monday the drafts are <strong>shorter</strong>: three sentences at most.</p>"
            "<ul><li>Greeting and sign-off stay as they are.</li>"
            "<li>Refund wording is never drafted.</li></ul>"
        ),
        requires_ack=True,
        reminder_hours=24,
    )
    make_notice(scene, title="Pilot feedback round closes Friday", kind="other", cohorts=[scene.eu])
    # The scheduler's work, done here in the test process.
    assert notices_publish_due() == 2
    notice_deliveries_send()

    # The member: the unread count in the navigation, the inbox, open, acknowledge.
    page.set_viewport_size(DESKTOP)
    sign_in_as(scene.amy)
    page.goto(f"{live_server.url}/")
    badge = page.locator("#inbox-count .badge-count")
    expect(badge).to_have_text("2 unread")
    page.get_by_role("link", name=re.compile(r"^Inbox")).click()
    expect(page.get_by_role("heading", name="Inbox", exact=True)).to_be_visible()
    screenshot(page, "notice-inbox-desktop")
    assert axe_violations(page) == []
    page.set_viewport_size(PHONE)
    screenshot(page, "notice-inbox-phone")
    page.set_viewport_size(DESKTOP)

    page.get_by_role("link", name="Unread: Shorter reply drafts from Monday").click()
    expect(page).to_have_url(re.compile(r"/inbox/\d+/$"))
    expect(page.get_by_text("three sentences at most")).to_be_visible()
    expect(page.locator("#inbox-count .badge-count")).to_have_text("1 unread")
    page.get_by_role("button", name="I've read this and I'm ready").click()
    expect(page.locator("#ack-panel [role=status]")).to_contain_text("Thanks")
    expect(page.locator("#ack-panel")).to_contain_text("Acknowledged")
    screenshot(page, "notice-inbox-notice-desktop")
    assert axe_violations(page) == []
    receipt = NoticeReceipt.objects.get(notice=notice, recipient=scene.amy)
    assert receipt.acknowledged_at is not None

    # The owner: the notice's page counts Amy's acknowledgement.
    sign_in_as(scene.owner)
    page.goto(f"{live_server.url}/workflows/{scene.workflow.slug}/notices/{notice.pk}/")
    expect(
        page.get_by_role("heading", name="Shorter reply drafts from Monday").first
    ).to_be_visible()
    expect(page.locator(".notice-status-line .badge-ok")).to_have_text("Published")
    eu_row = page.get_by_role("row", name=re.compile(r"^EU tier-1 agents"))
    expect(eu_row.get_by_role("cell").nth(5)).to_have_text("1 50.0%")
    expect(page.get_by_role("heading", name="Not acknowledged yet (2)")).to_be_visible()
    screenshot(page, "notice-detail-desktop")
    assert axe_violations(page) == []
    page.set_viewport_size(PHONE)
    screenshot(page, "notice-detail-phone")

    assert console_errors == []
