"""Long lists in the browser: the owner pages through 123 notices by the page links — with and
without JavaScript — and every paginated page looks right (screenshots) and passes axe."""

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from rollout.models import NoticeStatus
from tests.browser.conftest import (
    SCREENSHOTS,
    axe_violations,
    patient,
    screenshot,
    session_cookie_for,
)
from tests.factories import UserFactory, executive_user, make_workflow, ops_leader_user
from tests.rollout.list_fixtures import (
    CALENDAR_MONTH,
    LARGE,
    Scene,
    make_notices,
    seed_approvals,
    seed_calendar,
    seed_cohort_members,
    seed_escalations,
    seed_inbox,
    seed_incidents,
    seed_not_acknowledged,
)

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
PUBLISHED, DRAFTS = 120, 3


def _scene() -> Scene:
    owner = UserFactory(email="owner@example.com", display_name="Owen Owner")
    ops = ops_leader_user(email="ops@example.com", display_name="Olivia Ops")
    workflow = make_workflow(
        owner=owner, actor=ops, name="Support reply drafting", slug="support-reply-drafting"
    )
    stranger = UserFactory(email="stranger@example.com", display_name="Sam Stranger")
    return Scene(workflow, owner, ops, executive_user(), stranger)


def _nav_screenshot(page: Page, name: str) -> None:
    """A close-up of the page's last pagination with what is just above it."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    nav = page.locator(".pagination").last
    nav.scroll_into_view_if_needed()
    box = nav.bounding_box()
    assert box is not None
    top = max(box["y"] + page.evaluate("window.scrollY") - 120, 0)  # page, not viewport, y
    clip = {"x": 0, "y": top, "width": page.viewport_size["width"], "height": box["height"] + 140}
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), clip=clip, full_page=True)


def _summary(page: Page, text: str) -> None:
    expect(page.locator(".pagination-summary")).to_have_text(text)


@pytest.mark.django_db(transaction=True)
def test_the_owner_pages_through_a_long_list_of_notices(
    page: Page, live_server, sign_in_as, console_errors
):
    scene = _scene()
    make_notices(scene, 0, PUBLISHED)
    make_notices(scene, PUBLISHED, DRAFTS, status=NoticeStatus.DRAFT, published_at=None)
    total = PUBLISHED + DRAFTS
    page.set_viewport_size(DESKTOP)
    sign_in_as(scene.owner)

    page.goto(f"{live_server.url}/workflows/{scene.workflow.slug}/notices/")
    _summary(page, f"Showing 1–50 of {total}")
    # Drafts first, then the newest published; each heading counts all of its kind.
    expect(page.get_by_role("heading", name=f"Drafts ({DRAFTS})")).to_be_visible()
    expect(page.get_by_role("heading", name=f"Published ({PUBLISHED})")).to_be_visible()
    nav = page.get_by_role("navigation", name="Pages of notices")
    expect(nav.get_by_role("link", name="Page 1, current page")).to_have_attribute(
        "aria-current", "page"
    )
    screenshot(page, "lists-notices-page-1-desktop")
    _nav_screenshot(page, "lists-notices-page-1-nav")
    assert axe_violations(page) == []

    nav.get_by_role("link", name="Next page").click()
    expect(page).to_have_url(re.compile(r"/notices/\?page=2$"))
    _summary(page, f"Showing 51–100 of {total}")
    expect(page.get_by_role("heading", name=f"Drafts ({DRAFTS})")).to_have_count(0)
    nav = page.get_by_role("navigation", name="Pages of notices")
    nav.get_by_role("link", name="Page 3", exact=True).click()
    expect(page).to_have_url(re.compile(r"\?page=3$"))
    _summary(page, f"Showing 101–{total} of {total}")
    # The oldest published notice ends the list; there is no next page.
    expect(page.get_by_role("link", name="Model update 0000")).to_be_visible()
    expect(nav.get_by_role("link", name="Next page")).to_have_count(0)
    page.set_viewport_size(PHONE)
    screenshot(page, "lists-notices-page-3-phone")
    _nav_screenshot(page, "lists-notices-page-3-nav-phone")
    page.set_viewport_size(DESKTOP)

    # A page number typed into the address that does not exist: the nearest real page.
    page.goto(f"{live_server.url}/workflows/{scene.workflow.slug}/notices/?page=abc")
    _summary(page, f"Showing 1–50 of {total}")
    page.goto(f"{live_server.url}/workflows/{scene.workflow.slug}/notices/?page=40")
    _summary(page, f"Showing 101–{total} of {total}")
    page.get_by_role("navigation", name="Pages of notices").get_by_role(
        "link", name="Previous page"
    ).click()
    _summary(page, f"Showing 51–100 of {total}")
    assert console_errors == []


@pytest.mark.django_db(transaction=True)
def test_the_page_links_work_without_javascript(browser: Browser, live_server):
    scene = _scene()
    make_notices(scene, 0, PUBLISHED)
    context = patient(browser.new_context(java_script_enabled=False, viewport=DESKTOP))
    context.add_cookies([session_cookie_for(scene.owner, live_server.url)])
    page = context.new_page()

    page.goto(f"{live_server.url}/workflows/{scene.workflow.slug}/notices/")
    page.get_by_role("navigation", name="Pages of notices").get_by_role(
        "link", name="Page 3", exact=True
    ).click()
    _summary(page, f"Showing 101–{PUBLISHED} of {PUBLISHED}")
    context.close()


@pytest.mark.django_db(transaction=True)
def test_every_paginated_page_looks_right_and_passes_axe(
    page: Page, live_server, sign_in_as, console_errors
):
    scene = _scene()
    seeds = (
        seed_incidents,
        seed_inbox,
        seed_calendar,
        seed_escalations,
        seed_cohort_members,
        seed_not_acknowledged,
        seed_approvals,
    )
    for n, seed in enumerate(seeds):
        seed(scene, n * LARGE, LARGE)  # numbered apart: people's addresses are unique
    slug = scene.workflow.slug
    pages = {
        "incidents": (scene.owner, f"/workflows/{slug}/incidents/?page=2"),
        "inbox": (scene.owner, "/inbox/?page=2"),
        "calendar": (scene.owner, f"/calendar/?month={CALENDAR_MONTH}&page=2"),
        "escalations": (scene.owner, f"/workflows/{slug}/escalation/?open_page=2"),
        "cohorts": (scene.owner, f"/workflows/{slug}/cohorts/?members_{scene.cohort.pk}=2"),
        "notice-who-it-reached": (
            scene.owner,
            f"/workflows/{slug}/notices/{scene.notice.pk}/?pending_page=3",
        ),
        "approvals": (scene.ops_leader, "/approvals/?notices_page=2"),
    }
    page.set_viewport_size(DESKTOP)
    for name, (user, path) in pages.items():
        sign_in_as(user)
        page.goto(f"{live_server.url}{path}")
        expect(page.locator(".pagination-summary").first).to_contain_text("Showing")
        expect(page.locator('.pagination a[aria-current="page"]').first).to_be_visible()
        screenshot(page, f"lists-{name}-desktop")
        _nav_screenshot(page, f"lists-{name}-nav")
        assert axe_violations(page) == [], name
    assert console_errors == []
