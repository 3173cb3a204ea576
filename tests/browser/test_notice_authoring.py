"""Writing change notices in the browser: the live preview as the owner types, scheduling, an
urgent notice an ops leader approves; axe on each page at desktop and phone widths."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from rollout.models import ChangeNotice, NoticeStatus
from rollout.services import notices as svc
from rollout.services.cohorts import cohort_create, cohort_members_add
from tests.browser.conftest import axe_violations, screenshot
from tests.factories import UserFactory, make_workflow, ops_leader_user

pytestmark = pytest.mark.browser

WIDTHS = {"desktop": 1280, "phone": 390}


@pytest.fixture
def cast(transactional_db) -> dict:
    ops = ops_leader_user(email="ops@example.com", display_name="Olivia Ops")
    owner = UserFactory(email="owner@example.com", display_name="Owen Owner")
    amy = UserFactory(email="amy@example.com", display_name="Amy Agent")
    workflow = make_workflow(
        owner=owner, actor=ops, name="Support reply drafting", slug="support-reply-drafting"
    )
    eu = cohort_create(workflow=workflow, name="EU tier-1 agents", actor=owner)
    cohort_members_add(cohort=eu, users=[amy], actor=owner)
    cohort_create(workflow=workflow, name="US tier-1 agents", actor=owner)
    now = timezone.now()
    scheduled = svc.notice_create(
        workflow=workflow,
        actor=owner,
        cohorts=[eu],
        kind="prompt_change",
        title="Shorter, friendlier replies",
        body="From Monday the drafts are **shorter**.\n\n- Greeting kept\n- Sign-off removed",
        publish_at=now + timedelta(days=1),
        effective_at=now + timedelta(days=8),
        requires_ack=True,
    )
    svc.notice_schedule(notice=scheduled, actor=owner)
    urgent = svc.notice_create(
        workflow=workflow,
        actor=owner,
        audience="everyone",
        kind="model_change",
        title="Security fix to the model",
        body="A patched model version.",
        publish_at=now + timedelta(hours=2),
        effective_at=now + timedelta(days=1),
        urgent_reason="The provider patched a prompt-injection hole; it cannot wait.",
    )
    svc.notice_schedule(notice=urgent, actor=owner)
    return {"ops": ops, "owner": owner, "workflow": workflow, "urgent": urgent}


def settle(page: Page, name: str, console_errors: list[str]) -> None:
    page.wait_for_load_state("networkidle")
    screenshot(page, name)
    assert axe_violations(page) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
    assert console_errors == []


@pytest.mark.parametrize("width", WIDTHS)
def test_notice_pages_at_each_width(
    page: Page, live_server, sign_in_as, console_errors, cast, width
):
    page.set_viewport_size({"width": WIDTHS[width], "height": 900})
    workflow = cast["workflow"]
    sign_in_as(cast["owner"])
    page.goto(f"{live_server.url}/workflows/{workflow.slug}/notices/")
    expect(page.get_by_role("heading", name="Change notices")).to_be_visible()
    settle(page, f"notices-list-{width}", console_errors)

    sign_in_as(cast["ops"])
    page.goto(f"{live_server.url}/workflows/{workflow.slug}/notices/{cast['urgent'].pk}/edit/")
    expect(page.get_by_role("button", name="Approve urgent notice")).to_be_visible()
    settle(page, f"notice-edit-urgent-{width}", console_errors)

    page.goto(f"{live_server.url}/approvals/")
    expect(page.get_by_role("link", name="Security fix to the model")).to_be_visible()
    settle(page, f"approvals-with-notices-{width}", console_errors)


def test_owner_writes_with_a_live_preview_and_an_ops_leader_approves(
    page: Page, live_server, sign_in_as, console_errors, cast
):
    workflow = cast["workflow"]
    sign_in_as(cast["owner"])
    page.goto(f"{live_server.url}/workflows/{workflow.slug}/notices/")
    page.get_by_role("link", name="New notice").click()
    page.get_by_label("Title").fill("Refund wording changes")
    page.get_by_label("Body (Markdown)").fill(
        "## What changes\n\nReplies no longer **promise refunds**.\n\n"
        "<script>alert('x')</script>[bad](javascript:alert(1))"
    )
    preview = page.locator("#notice-preview")
    expect(preview.get_by_role("heading", name="Refund wording changes")).to_be_visible()
    expect(preview.locator("strong")).to_have_text("promise refunds")
    expect(preview).not_to_contain_text("alert")
    assert preview.locator("script").count() == 0
    assert preview.locator("a", has_text="bad").get_attribute("href") is None

    page.get_by_label("EU tier-1 agents").check()
    start = timezone.localtime() + timedelta(days=1)
    page.get_by_label("Publish at").fill(start.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Effective at").fill((start + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"))
    expect(preview).to_contain_text("it is urgent")
    expect(page.locator("details.notice-urgent-reason")).to_have_attribute("open", "")
    page.get_by_label("Why it cannot wait").fill("Legal asked for it before the weekend.")
    page.get_by_label("Ask recipients to acknowledge").check()
    screenshot(page, "notice-new-preview")
    page.get_by_role("button", name="Schedule").click()
    expect(page.get_by_text("it now waits for an ops leader's approval")).to_be_visible()
    notice = ChangeNotice.objects.get(title="Refund wording changes")
    assert notice.status == NoticeStatus.AWAITING_APPROVAL

    sign_in_as(cast["ops"])
    page.goto(f"{live_server.url}/approvals/")
    page.get_by_role("link", name="Refund wording changes").click()
    page.get_by_role("button", name="Approve urgent notice").click()
    expect(page.get_by_text("Approved the urgent notice")).to_be_visible()
    notice.refresh_from_db()
    assert (notice.status, notice.urgent) == (NoticeStatus.SCHEDULED, True)
    assert console_errors == []


def test_preview_without_javascript(browser, live_server, cast):
    from tests.browser.conftest import patient, session_cookie_for

    context = patient(browser.new_context(java_script_enabled=False))

    context.add_cookies([session_cookie_for(cast["owner"], live_server.url)])
    page = context.new_page()
    page.goto(f"{live_server.url}/workflows/{cast['workflow'].slug}/notices/")
    page.get_by_label("Title").fill("No-JS notice")
    page.get_by_label("Body (Markdown)").fill("Plain **bold**.")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#notice-preview strong")).to_have_text("bold")
    assert not ChangeNotice.objects.filter(title="No-JS notice").exists()
    context.close()
