"""Feedback in the browser: a cohort member files feedback in seconds, the owner triages it on the
feedback page (htmx, no reload), and the member sees the status change. Then axe on every
feedback page, at desktop and phone widths."""

import pytest
from playwright.sync_api import Page, expect

from accounts.models import User
from rollout.models import Feedback, Notification, Workflow
from rollout.services import cohorts as cohort_svc
from rollout.services import feedback as feedback_svc
from tests.browser.conftest import axe_violations, screenshot
from tests.factories import UserFactory, make_workflow, ops_leader_user

pytestmark = pytest.mark.browser


@pytest.fixture
def cast(transactional_db) -> dict[str, User | Workflow | Feedback]:
    ops = ops_leader_user(email="ops@example.com", display_name="Olivia Ops")
    owner = UserFactory(email="owner@example.com", display_name="Owen Owner")
    member = UserFactory(email="mia@example.com", display_name="Mia Member")
    colleague = UserFactory(email="cole@example.com", display_name="Cole Colleague")
    workflow = make_workflow(
        owner=owner, actor=ops, name="Support reply drafting", slug="support-reply-drafting"
    )
    cohort = cohort_svc.cohort_create(workflow=workflow, name="EU agents", actor=ops)
    cohort_svc.cohort_members_add(cohort=cohort, users=[member, colleague], actor=ops)
    return {
        "ops": ops,
        "owner": owner,
        "member": member,
        "colleague": colleague,
        "workflow": workflow,
    }


def test_member_files_owner_triages_member_sees_the_status(
    page: Page, live_server, sign_in_as, console_errors, cast
):
    workflow = cast["workflow"]
    sign_in_as(cast["member"])
    page.goto(f"{live_server.url}/feedback/new/?workflow={workflow.slug}")
    page.get_by_label("Not helpful").check()
    page.get_by_label("Wrong output").check()
    page.get_by_label("Anything to add? (optional)").fill("It promised a refund we never give.")
    page.get_by_role("button", name="Send feedback").click()
    expect(page.get_by_role("heading", name="Thank you — we got it")).to_be_visible()
    screenshot(page, "feedback-thanks")
    feedback = Feedback.objects.get()

    sign_in_as(cast["owner"])
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{live_server.url}/workflows/{workflow.slug}/feedback/")
    item = page.locator(f"#feedback-{feedback.pk}")
    expect(item).to_contain_text("It promised a refund we never give.")
    url_before = page.url
    item.get_by_role("link", name=f"#{feedback.pk}").click()  # opens beside the list (htmx)
    panel = page.locator("#triage-panel")
    panel.get_by_label("Status").select_option("in_progress")
    panel.get_by_label("Severity").select_option("high")
    panel.get_by_role("button", name="Save").click()
    saved = f"Saved #{feedback.pk}: status In progress, severity High."
    expect(page.get_by_role("status").filter(has_text=saved)).to_be_visible()
    assert page.url == url_before  # htmx swapped the panel and the row; no reload
    expect(page.locator(f"#feedback-{feedback.pk}")).to_contain_text("In progress")
    screenshot(page, "feedback-triage")

    sign_in_as(cast["member"])
    page.goto(f"{live_server.url}/")
    expect(page.get_by_role("link", name="Your feedback is now in progress")).to_be_visible()
    page.goto(f"{live_server.url}/workflows/{workflow.slug}/feedback/")
    expect(page.locator(".feedback-item").first).to_contain_text("In progress")
    assert Notification.objects.filter(recipient=cast["member"]).count() == 1
    assert console_errors == []


PAGES = [
    ("feedback-new", "member", "/feedback/new/?workflow={slug}"),
    ("feedback-list-owner", "owner", "/workflows/{slug}/feedback/"),
    ("feedback-list-member", "member", "/workflows/{slug}/feedback/"),
    ("feedback-detail-owner", "owner", "/workflows/{slug}/feedback/{feedback_id}/"),
    ("feedback-detail-colleague", "colleague", "/workflows/{slug}/feedback/{feedback_id}/"),
]


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize(("name", "who", "path"), PAGES, ids=[p[0] for p in PAGES])
def test_feedback_pages_are_accessible(
    page: Page, live_server, sign_in_as, console_errors, cast, name, who, path, width
):
    workflow = cast["workflow"]
    feedback = feedback_svc.feedback_create(
        workflow=workflow,
        author=cast["member"],
        rating="not_helpful",
        category="wrong_output",
        text="It promised a refund we never give. The policy changed in March.",
    )
    feedback_svc.feedback_comment_add(feedback=feedback, author=cast["owner"], text="Looking.")
    feedback_svc.feedback_create(
        workflow=workflow,
        author=cast["colleague"],
        rating="helpful",
        category="praise",
        text="Saved me ten minutes on a tricky reply.",
    )
    page.set_viewport_size({"width": width, "height": 900})
    sign_in_as(cast[who])
    url = path.format(slug=workflow.slug, feedback_id=feedback.pk)
    response = page.goto(f"{live_server.url}{url}")
    assert response is not None and response.status == 200
    screenshot(page, f"{name}-{width}")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert axe_violations(page) == []
    assert console_errors == []
