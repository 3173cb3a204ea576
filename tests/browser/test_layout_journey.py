"""Layout and navigation in Chromium, at a desktop width (1440 px) and a phone's (390 px).

On a wide screen a workflow's sections are one column beside the page (never wrapping), and each
portfolio row is one line with no text spilling out of its cell. On a phone no page is wider than
the screen, the main menu and the sections are folded into menus that open without JavaScript,
the portfolio's Health column is in view, the plan is a list of phases, and wide tables scroll in
their own keyboard-reachable boxes. axe-core finds no serious or critical violation at either
width. The module's tests share one live server (pytest-django's); each builds its own data.
"""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from rollout.models import Threshold
from rollout.services.escalations import escalation_open
from rollout.services.feedback import feedback_create
from rollout.services.incidents import incident_open
from rollout.services.notice_delivery import notice_deliveries_send, notices_publish_due
from tests.browser.conftest import axe_violations, patient, screenshot, session_cookie_for
from tests.factories import UserFactory, executive_user, make_workflow
from tests.rollout.notice_fixtures import make_notice, make_scene
from tests.rollout.promotion_fixtures import make_plan
from tests.rollout.views.usage_page_data import day_events, days_ago, record_usage

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
SLUG = "support-reply-drafting"
SECTIONS = [
    "Overview",
    "Plan",
    "Cohorts",
    "Briefing",
    "Thresholds",
    "Reviews",
    "Usage",
    "Outcome metrics",
    "AI configuration",
    "Feedback",
    "Review queue",
    "Escalation",
    "Incidents",
    "Notices",
    "Activity",
    "Evidence",
    "API tokens",
    "Webhooks & chat",
]


@pytest.fixture
def cast(transactional_db) -> dict:
    """Support reply drafting in limited roll-out: two cohorts with usage, a threshold it fails,
    feedback, an open incident and a critical escalation, and a notice published to both cohorts
    and delivered (its "Who it reached" table has a row per cohort and a total). Two more
    workflows fill the portfolio."""
    scene = make_scene()
    workflow = scene.workflow
    make_plan(workflow, current="limited")
    Threshold.objects.create(
        workflow=workflow,
        metric="override_rate",
        comparator="lte",
        limit=0.10,
        min_sample=10,
        bad_output="A reply the agent rewrites.",
        action="alert",
    )
    events = []
    for day in range(1, 15):
        events += day_events(scene.amy.email, days_ago(day), invocations=6, accepted=3)
        events += day_events(scene.amy.email, days_ago(day), overridden=3)
        events += day_events(scene.cat.email, days_ago(day), invocations=2, accepted=2)
    record_usage(workflow, events)
    feedback_create(
        workflow=workflow,
        author=scene.amy,
        rating="not_helpful",
        category="wrong_output",
        text="The draft promised a refund we do not give.",
    )
    incident_open(
        workflow=workflow,
        actor=scene.owner,
        title="Drafts quoted the old return window",
        started_at=timezone.now() - timedelta(hours=3),
    )
    escalation_open(workflow=workflow, title="Refunds", source="manual", severity="critical")
    make_notice(scene, title="New reply prompt from Monday", requires_ack=True)
    assert notices_publish_due() == 1
    notice_deliveries_send()
    for name, slug in [("Invoice coding", "invoice-coding"), ("Sales lead scoring", "sales")]:
        make_workflow(owner=UserFactory(), actor=scene.ops, name=name, slug=slug)
    return {
        "ops": scene.ops,
        "owner": scene.owner,
        "member": scene.amy,
        "exec": executive_user(email="exec@example.com", display_name="Erin Exec"),
        "notice": workflow.notices.get(),
    }


def pages(cast: dict) -> list[tuple[str, str, str]]:
    """(name, who, path) of the pages every width is checked on."""
    notice = cast["notice"]
    return [
        ("home-ops", "ops", "/"),
        ("home-owner", "owner", "/"),
        ("home-exec", "exec", "/"),
        ("home-member", "member", "/"),
        ("portfolio", "ops", "/workflows/"),
        ("overview", "owner", f"/workflows/{SLUG}/"),
        ("usage", "owner", f"/workflows/{SLUG}/usage/"),
        ("feedback", "owner", f"/workflows/{SLUG}/feedback/"),
        ("notices", "owner", f"/workflows/{SLUG}/notices/"),
        ("notice-detail", "owner", f"/workflows/{SLUG}/notices/{notice.pk}/"),
        ("activity", "owner", f"/workflows/{SLUG}/activity/"),
        ("api-docs", "owner", "/api/v1/docs"),
    ]


def open_page(page: Page, base: str, path: str) -> None:
    response = page.goto(f"{base}{path}")
    assert response is not None and response.status == 200, (path, response and response.status)
    if path.startswith("/api/"):
        expect(page.locator("#swagger-ui .opblock").first).to_be_visible()


def visit_all(page: Page, live_server, sign_in_as, cast: dict, width: str) -> dict[str, object]:
    """Every page at the current width: a screenshot, and what is wrong with it (if anything)."""
    problems: dict[str, object] = {}
    signed_in = None
    for name, who, path in pages(cast):
        if who != signed_in:
            sign_in_as(cast[who])
            signed_in = who
        open_page(page, live_server.url, path)
        screenshot(page, f"layout-{width}-{name}")
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        if scroll_width > page.viewport_size["width"]:
            problems[f"{name}: page width"] = scroll_width
        if violations := axe_violations(page):
            problems[f"{name}: axe"] = violations
    return problems


def test_on_a_wide_screen_the_sections_are_one_column_and_rows_one_line(
    page: Page, live_server, sign_in_as, console_errors, cast
):
    page.set_viewport_size(DESKTOP)
    sign_in_as(cast["owner"])
    open_page(page, live_server.url, f"/workflows/{SLUG}/usage/")

    # The sidebar: every section (the owner sees all), grouped, one under the other, beside it.
    nav = page.get_by_role("navigation", name="Workflow sections")
    expect(nav.get_by_role("link", name="Usage")).to_have_attribute("aria-current", "page")
    links = nav.get_by_role("link")
    assert links.all_inner_texts() == SECTIONS
    boxes = [link.bounding_box() for link in links.all()]
    assert all(box is not None for box in boxes)
    assert len({round(box["x"]) for box in boxes}) == 1, boxes  # one column
    assert all(a["y"] + a["height"] <= b["y"] for a, b in zip(boxes, boxes[1:])), boxes
    main = page.locator("main").bounding_box()
    assert main is not None
    assert max(box["x"] + box["width"] for box in boxes) <= main["x"]
    # Not folded: no menu to open on a wide screen.
    expect(nav.locator("summary")).to_be_hidden()
    expect(page.get_by_role("navigation", name="Main").locator("summary")).to_be_hidden()

    # The portfolio: every row one line tall, no text spilling out of its cell, no sideways scroll.
    sign_in_as(cast["ops"])
    open_page(page, live_server.url, "/workflows/")
    expect(page.locator("#portfolio-table tbody tr")).to_have_count(3)
    table = page.evaluate(
        """() => {
          const cell = document.querySelector('#portfolio-table tbody td');
          const style = getComputedStyle(cell);
          const px = (v) => parseFloat(v) || 0;
          return {
            line: px(style.lineHeight),
            oneLine: px(style.lineHeight) + px(style.paddingTop) + px(style.paddingBottom)
                     + px(style.borderBottomWidth),
            rows: [...document.querySelectorAll('#portfolio-table tbody tr')]
                    .map(r => r.getBoundingClientRect().height),
            spilling: [...document.querySelectorAll('#portfolio-table th, #portfolio-table td')]
                        .filter(c => c.scrollWidth > c.clientWidth).map(c => c.textContent.trim()),
            wrap: (w => [w.scrollWidth, w.clientWidth])(
                      document.querySelector('#portfolio-table .table-wrap')),
          };
        }"""
    )
    # A badge is a little taller than the text beside it; a second line would add a whole line.
    assert all(height < table["oneLine"] + table["line"] / 2 for height in table["rows"]), table
    assert max(table["rows"]) - min(table["rows"]) < table["line"] / 2, table
    assert table["spilling"] == []
    assert table["wrap"][0] <= table["wrap"][1], table
    # The widest health cell of the three is on its one line too.
    expect(
        page.get_by_role("link", name=re.compile(r"open escalations?, 1 critical"))
    ).to_be_visible()
    assert console_errors == []


def test_on_a_wide_screen_no_page_has_a_serious_accessibility_violation(
    page: Page, live_server, sign_in_as, cast
):
    page.set_viewport_size(DESKTOP)
    assert visit_all(page, live_server, sign_in_as, cast, "1440") == {}


def test_on_a_phone_nothing_is_wider_than_the_screen(page: Page, live_server, sign_in_as, cast):
    page.set_viewport_size(PHONE)
    assert visit_all(page, live_server, sign_in_as, cast, "390") == {}


def test_on_a_phone_the_menus_fold_and_the_portfolio_shows_health(
    page: Page, live_server, sign_in_as, console_errors, cast
):
    page.set_viewport_size(PHONE)
    sign_in_as(cast["owner"])
    open_page(page, live_server.url, f"/workflows/{SLUG}/")

    # The main menu is folded behind "Menu".
    main_nav = page.get_by_role("navigation", name="Main")
    inbox = main_nav.get_by_role("link", name="Inbox")
    expect(inbox).to_be_hidden()
    main_nav.get_by_text("Menu").click()
    expect(inbox).to_be_visible()
    main_nav.get_by_text("Menu").click()
    expect(inbox).to_be_hidden()

    # The sections are a menu that says where you are.
    sections = page.get_by_role("navigation", name="Workflow sections")
    summary = sections.locator("summary")
    expect(summary).to_have_text("Section: Overview")
    expect(sections.get_by_role("link", name="Usage")).to_be_hidden()
    summary.click()
    expect(sections.get_by_role("link", name="Usage")).to_be_visible()
    sections.get_by_role("link", name="Usage").click()
    expect(page).to_have_url(f"{live_server.url}/workflows/{SLUG}/usage/")
    expect(
        page.get_by_role("navigation", name="Workflow sections").locator("summary")
    ).to_have_text("Section: Usage")

    # The plan on the overview is a list of phases, not the shrunken chart.
    open_page(page, live_server.url, f"/workflows/{SLUG}/")
    phases = page.locator(".phase-list li")
    expect(phases).to_have_count(5)
    expect(phases.nth(2)).to_contain_text("Limited roll-out")
    expect(phases.nth(2)).to_contain_text("Active")
    expect(page.locator(".phase-timeline svg")).to_be_hidden()

    # The portfolio: the Health column in view without scrolling sideways.
    sign_in_as(cast["ops"])
    open_page(page, live_server.url, "/workflows/")
    health = page.get_by_role("columnheader", name="Health")
    expect(health).to_be_visible()
    box = health.bounding_box()
    assert box is not None and box["x"] + box["width"] <= PHONE["width"]
    wrap = page.locator("#portfolio-table .table-wrap")
    assert wrap.evaluate("w => w.scrollWidth <= w.clientWidth")
    # Owner and phase fold under the name.
    expect(
        page.locator("#portfolio-table tbody tr").filter(has_text="Support reply")
    ).to_contain_text("Limited roll-out · Owen Owner")
    assert console_errors == []


def test_on_a_phone_wide_tables_scroll_in_a_box_the_keyboard_reaches(
    page: Page, live_server, sign_in_as, cast
):
    page.set_viewport_size(PHONE)
    sign_in_as(cast["owner"])
    for path, label in [
        (f"/workflows/{SLUG}/notices/{cast['notice'].pk}/", "Who it reached, by cohort"),
        (f"/workflows/{SLUG}/usage/", "Usage by cohort"),
    ]:
        open_page(page, live_server.url, path)
        region = page.get_by_role("region", name=label, exact=True)
        expect(region).to_have_attribute("tabindex", "0")
        assert region.evaluate("r => r.scrollWidth > r.clientWidth"), path  # it does scroll
        # It takes the keyboard focus, and then the arrow keys scroll it.
        region.focus()
        assert region.evaluate("r => document.activeElement === r")
        page.keyboard.press("ArrowRight")
        expect(region).not_to_have_js_property("scrollLeft", 0)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_the_menus_open_without_javascript(browser: Browser, live_server, cast):
    context = patient(browser.new_context(java_script_enabled=False, viewport=PHONE))
    context.add_cookies([session_cookie_for(cast["owner"], live_server.url)])
    page = context.new_page()
    open_page(page, live_server.url, f"/workflows/{SLUG}/")

    menu = page.get_by_role("navigation", name="Main").get_by_text("Menu")
    inbox = page.get_by_role("navigation", name="Main").get_by_role("link", name="Inbox")
    menu.click()
    expect(inbox).to_be_visible()
    menu.click()  # the open menu lies over the page; closed again, the sections are in reach
    expect(inbox).to_be_hidden()
    sections = page.get_by_role("navigation", name="Workflow sections")
    sections.locator("summary").click()
    sections.get_by_role("link", name="Notices").click()
    expect(page).to_have_url(f"{live_server.url}/workflows/{SLUG}/notices/")

    # On a wide screen, without JavaScript too, the sections are simply there.
    page.set_viewport_size(DESKTOP)
    expect(
        page.get_by_role("navigation", name="Workflow sections").get_by_role("link")
    ).to_have_count(len(SECTIONS))
    for link in page.get_by_role("navigation", name="Workflow sections").get_by_role("link").all():
        expect(link).to_be_visible()
    context.close()
