"""Issue 20 §3 in the browser: an ops leader opens the signed link from the approval email, signs
in, sees the request and its gate, and approves the promotion (and, second, an urgent notice)
with the page's POST button — in real Chromium, whose form posts from a
`Referrer-Policy: no-referrer` page carry `Origin: null` (core.csrf lets those through only with
`Sec-Fetch-Site: same-origin`)."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import Page, Request, expect

from rollout.models import ActivityEntry, NoticeStatus, PromotionRequest, PromotionStatus
from rollout.services.notices import notice_create_scheduled
from rollout.services.promotions import promotion_request
from tests.browser.conftest import axe_violations, screenshot
from tests.factories import PASSWORD, UserFactory, make_workflow, ops_leader_user
from tests.rollout.promotion_fixtures import make_plan, make_shadow_ready

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.mark.django_db(transaction=True)
def test_an_ops_leader_approves_a_promotion_from_the_emailed_link(
    page: Page, live_server, settings, console_errors
):
    settings.SITE_URL = live_server.url
    ops = ops_leader_user(email="ops@example.com", display_name="Olivia Ops")
    owner = UserFactory(email="owner@example.com", display_name="Owen Owner")
    workflow = make_workflow(owner=owner, actor=ops, name="Invoice triage", slug="invoice-triage")
    make_plan(workflow, current="audit")
    make_shadow_ready(workflow, ops)
    request = promotion_request(
        workflow=workflow, actor=owner, note="Shadow data checked with finance."
    )

    # The approval email to the ops leader carries their own signed link.
    (email,) = [m for m in mail.outbox if m.to == ["ops@example.com"]]
    (link,) = re.findall(rf"{re.escape(live_server.url)}/approve/[^/\s]+/", email.body)

    # Opening it asks for a sign-in first, then comes back to it.
    page.set_viewport_size(DESKTOP)
    response = page.goto(link)
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.get_by_label("Email address").fill("ops@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(link)
    heading = page.get_by_role("heading", name="Promotion to approve: Data audit → Shadow mode")
    expect(heading).to_be_visible()
    response = page.reload()
    assert response is not None and response.headers["referrer-policy"] == "no-referrer"
    expect(page.get_by_text("✓ Gate passes")).to_be_visible()
    expect(page.get_by_text("Shadow data checked with finance.")).to_be_visible()
    screenshot(page, "approval-link-desktop")
    assert axe_violations(page) == []
    page.set_viewport_size(PHONE)
    screenshot(page, "approval-link-phone")
    page.set_viewport_size(DESKTOP)
    # Opening the page decided nothing.
    assert PromotionRequest.objects.get(pk=request.pk).status == PromotionStatus.PENDING

    posts: list[Request] = []
    page.on("request", lambda r: posts.append(r) if r.method == "POST" else None)
    page.get_by_label("Note (optional)").fill("Go ahead.")
    page.get_by_role("button", name="Approve promotion").click()

    expect(page).to_have_url(f"{live_server.url}/workflows/invoice-triage/#promotion-card")
    expect(page.get_by_text("Promoted: Shadow mode is now active.")).to_be_visible()
    screenshot(page, "approval-link-approved-desktop")
    (post,) = posts
    headers = post.all_headers()
    # The no-referrer page sent neither its address nor its origin; the browser vouched for it.
    assert "referer" not in headers
    assert headers.get("origin") == "null"
    assert headers.get("sec-fetch-site") == "same-origin"
    assert PromotionRequest.objects.get(pk=request.pk).status == PromotionStatus.EXECUTED
    approval = ActivityEntry.objects.get(workflow=workflow, verb="approved a promotion")
    assert (approval.actor, approval.note) == (ops, "Go ahead.")

    assert console_errors == []

    # The link has done its work: opened again, it says why it cannot be used, and where to go
    # (the browser reports the 409 as a failed load; nothing else may fail).
    response = page.goto(link)
    assert response is not None and response.status == 409
    assert response.headers["referrer-policy"] == "no-referrer"
    expect(page.get_by_role("heading", name="The request changed")).to_be_visible()
    expect(page.get_by_text("it is now “Done”")).to_be_visible()
    expect(page.get_by_role("link", name="Open the request's page")).to_be_visible()
    screenshot(page, "approval-link-changed-desktop")
    assert axe_violations(page) == []
    assert [e for e in console_errors if "status of 409" not in e] == []


@pytest.mark.django_db(transaction=True)
def test_an_ops_leader_approves_an_urgent_notice_from_the_emailed_link(
    page: Page, live_server, settings, sign_in_as, console_errors
):
    settings.SITE_URL = live_server.url
    ops = ops_leader_user(email="ops@example.com", display_name="Olivia Ops")
    owner = UserFactory(email="owner@example.com", display_name="Owen Owner")
    workflow = make_workflow(owner=owner, actor=ops, name="Invoice triage", slug="invoice-triage")
    now = timezone.now()
    notice = notice_create_scheduled(
        workflow=workflow,
        actor=owner,
        kind="other",
        title="Wrong VAT rate fixed",
        body="Invoices drafted since Monday used **20%** instead of 21%. Re-check them.",
        audience="everyone",
        publish_at=now + timedelta(minutes=10),
        effective_at=now + timedelta(hours=2),
        urgent_reason="Customers are being sent wrong totals today.",
    )
    (email,) = [m for m in mail.outbox if m.to == ["ops@example.com"]]
    (link,) = re.findall(rf"{re.escape(live_server.url)}/approve/[^/\s]+/", email.body)

    sign_in_as(ops)
    page.set_viewport_size(DESKTOP)
    page.goto(link)
    heading = page.get_by_role("heading", name="Urgent notice to approve: Wrong VAT rate fixed")
    expect(heading).to_be_visible()
    expect(page.get_by_text("Customers are being sent wrong totals today.")).to_be_visible()
    screenshot(page, "approval-link-notice-desktop")
    assert axe_violations(page) == []
    page.get_by_role("button", name="Approve urgent notice").click()
    expect(page).to_have_url(
        f"{live_server.url}/workflows/invoice-triage/notices/{notice.pk}/edit/"
    )
    expect(page.get_by_text("Approved the urgent notice “Wrong VAT rate fixed”")).to_be_visible()
    notice.refresh_from_db()
    assert (notice.status, notice.approved_by) == (NoticeStatus.SCHEDULED, ops)
    assert console_errors == []
