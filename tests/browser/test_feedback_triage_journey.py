"""The feedback inbox in Chromium: the owner walks the list with j/k (each item opens beside the
list), sets a status with a key, ticks two items with x and assigns both from the bulk bar, and
every save is confirmed on the page's status line. The harmful report leads the list, marked.
Shortcuts stay quiet while typing. At 1440 px every row is one line; at 390 px nothing is wider
than the screen; axe finds no serious or critical violation at either width. The module's tests
share one live server (pytest-django's); each builds its own data."""

import re

import pytest
from playwright.sync_api import Page, expect

from rollout.models import ActivityEntry, Feedback
from rollout.services import cohorts as cohort_svc
from rollout.services import feedback as feedback_svc
from tests.browser.conftest import axe_violations, screenshot
from tests.factories import UserFactory, make_workflow, ops_leader_user

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
SLUG = "support-reply-drafting"


@pytest.fixture
def cast(transactional_db) -> dict:
    """Four open reports: a harmful one (the oldest), a slow response, a wrong output and a
    confusing one (the newest)."""
    ops = ops_leader_user(email="ops@example.com", display_name="Olivia Ops")
    owner = UserFactory(email="owner@example.com", display_name="Owen Owner")
    member = UserFactory(email="mia@example.com", display_name="Mia Member")
    workflow = make_workflow(owner=owner, actor=ops, name="Support reply drafting", slug=SLUG)
    cohort = cohort_svc.cohort_create(workflow=workflow, name="EU agents", actor=ops)
    cohort_svc.cohort_members_add(cohort=cohort, users=[member], actor=ops)
    reports = [
        ("harmful", "The draft told a customer to stop taking her medication."),
        ("slow", "Took twenty seconds to draft on Monday morning."),
        ("wrong_output", "Promised a full refund for a damaged item; we only replace it."),
        ("confusing", "Mixed up two orders in one reply, so the customer got the wrong tracking."),
    ]
    items = [
        feedback_svc.feedback_create(
            workflow=workflow, author=member, rating="not_helpful", category=category, text=text
        )
        for category, text in reports
    ]
    return {
        "ops": ops,
        "owner": owner,
        "workflow": workflow,
        "items": dict(zip(dict(reports), items)),
    }


def status_line(page: Page):
    return page.locator("#triage-toast")


def test_the_owner_triages_from_the_keyboard_and_in_bulk(
    page: Page, live_server, sign_in_as, console_errors, cast
):
    items = cast["items"]
    harmful, slow, wrong, confusing = (
        items[k] for k in ("harmful", "slow", "wrong_output", "confusing")
    )
    page.set_viewport_size(DESKTOP)
    sign_in_as(cast["owner"])
    page.goto(f"{live_server.url}/workflows/{SLUG}/feedback/")
    # The test database is one SQLite connection shared by the live server's threads: let the
    # page's own requests (the inbox count) finish before the keys send more.
    page.wait_for_load_state("networkidle")

    # The harmful report leads, marked; then the newest first.
    rows = page.locator("#triage-list tbody tr")
    expect(rows).to_have_count(4)
    ids = [int(r.get_attribute("data-id")) for r in rows.all()]
    assert ids == [harmful.pk, confusing.pk, wrong.pk, slow.pk]
    expect(rows.first).to_have_class(re.compile(r"\btriage-harmful\b"))
    expect(rows.first.locator(".badge-danger")).to_have_text("Harmful or unsafe")
    expect(rows.nth(3)).not_to_have_class(re.compile(r"\btriage-harmful\b"))

    # j opens the first item beside the list, j again the next; k goes back.
    panel = page.locator("#triage-panel")
    page.keyboard.press("j")
    expect(panel.get_by_role("heading", level=2).first).to_contain_text(f"#{harmful.pk}")
    page.keyboard.press("j")
    expect(panel.get_by_role("heading", level=2).first).to_contain_text(f"#{confusing.pk}")
    page.keyboard.press("j")
    page.keyboard.press("k")
    expect(panel.get_by_role("heading", level=2).first).to_contain_text(f"#{confusing.pk}")
    expect(page.locator(f"#feedback-{confusing.pk}")).to_have_class(re.compile(r"\bis-selected\b"))
    screenshot(page, "feedback-inbox-panel-1440")

    # 3 sets the third status, In progress: saved, confirmed, the row follows.
    page.keyboard.press("3")
    saved = f"Saved #{confusing.pk}: status In progress."
    expect(status_line(page)).to_have_text(saved)
    expect(page.get_by_role("status").filter(has_text=saved)).to_be_visible()
    expect(page.locator(f"#feedback-{confusing.pk} .col-status")).to_have_text("In progress")
    assert Feedback.objects.get(pk=confusing.pk).status == "in_progress"

    # While typing, keys are text: a "3" in the comment box saves nothing.
    comment = panel.get_by_role("textbox", name="Comment")
    comment.click()
    comment.press_sequentially("j3x")
    expect(comment).to_have_value("j3x")
    assert Feedback.objects.get(pk=confusing.pk).status == "in_progress"
    assert ActivityEntry.objects.filter(verb="triaged").count() == 1
    page.keyboard.press("Escape")  # out of the field, then ? shows the shortcuts
    page.locator(f"#feedback-{confusing.pk} [data-row-link]").focus()
    page.keyboard.press("?")
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_visible()
    page.keyboard.press("?")
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_hidden()

    # x ticks the selected item; k and x tick the one above; the bulk bar assigns both.
    page.keyboard.press("x")
    page.keyboard.press("k")
    page.keyboard.press("x")
    bar = page.locator("[data-bulk-bar]")
    expect(bar.locator("[data-bulk-count]")).to_have_text("2 ticked:")
    bar.get_by_label("Assign to").select_option(label="Olivia Ops")
    bar.get_by_role("button", name="Apply to ticked").click()
    expect(status_line(page)).to_have_text("Updated 2 items: assignee Olivia Ops.")
    expect(page.locator(f"#feedback-{harmful.pk} .col-assignee")).to_have_text("Olivia Ops")
    expect(page.locator(f"#feedback-{confusing.pk} .col-assignee")).to_have_text("Olivia Ops")
    assignees = dict(Feedback.objects.values_list("pk", "assignee__display_name"))
    assert assignees == {
        harmful.pk: "Olivia Ops",
        confusing.pk: "Olivia Ops",
        wrong.pk: None,
        slow.pk: None,
    }
    assert ActivityEntry.objects.filter(verb="triaged").count() == 3
    expect(bar.locator("[data-bulk-count]")).to_have_text(re.compile("^Tick items"))
    assert console_errors == []


def test_without_javascript_a_row_opens_its_page_and_the_bulk_bar_is_a_form(
    browser, live_server, cast
):
    from tests.browser.conftest import patient, session_cookie_for

    context = patient(browser.new_context(java_script_enabled=False, viewport=DESKTOP))
    context.add_cookies([session_cookie_for(cast["owner"], live_server.url)])
    page = context.new_page()
    items = cast["items"]
    page.goto(f"{live_server.url}/workflows/{SLUG}/feedback/")
    page.get_by_label(f"Tick #{items['slow'].pk}").check()
    page.get_by_label(f"Tick #{items['wrong_output'].pk}").check()
    page.get_by_label("Set status").select_option("acknowledged")
    page.get_by_role("button", name="Apply to ticked").click()
    expect(page.get_by_role("status").filter(has_text="Updated 2 items")).to_have_text(
        "Updated 2 items: status Acknowledged."
    )
    page.get_by_role("link", name=f"#{items['slow'].pk}", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/feedback/{items['slow'].pk}/$"))
    expect(page.get_by_role("heading", name="Triage")).to_be_visible()
    context.close()


def _rows_are_one_line(page: Page) -> dict:
    return page.evaluate(
        """() => {
          const cell = document.querySelector('.triage-table tbody td.col-number');
          const style = getComputedStyle(cell);
          const px = (v) => parseFloat(v) || 0;
          return {
            line: px(style.lineHeight) || px(style.fontSize) * 1.5,
            oneLine: (px(style.lineHeight) || px(style.fontSize) * 1.5)
                     + px(style.paddingTop) + px(style.paddingBottom) + px(style.borderBottomWidth),
            rows: [...document.querySelectorAll('.triage-table tbody tr')]
                    .map(r => r.getBoundingClientRect().height),
            wrap: (w => [w.scrollWidth, w.clientWidth])(
                      document.querySelector('.triage-table-wrap')),
          };
        }"""
    )


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1440", "390"])
def test_the_inbox_fits_the_screen_and_passes_axe(
    page: Page, live_server, sign_in_as, console_errors, cast, viewport
):
    width = viewport["width"]
    page.set_viewport_size(viewport)
    sign_in_as(cast["owner"])
    page.goto(f"{live_server.url}/workflows/{SLUG}/feedback/")
    expect(page.locator("#triage-list tbody tr")).to_have_count(4)
    page.wait_for_load_state("networkidle")
    if width == DESKTOP["width"]:
        page.keyboard.press("j")  # with the panel open beside the list
        expect(page.locator("#triage-panel").get_by_role("heading", name="Triage")).to_be_visible()
        slow = cast["items"]["slow"]
        page.locator(f"#feedback-{slow.pk} [data-row-link]").click()
        expect(page.locator("#triage-panel h2").first).to_contain_text(f"#{slow.pk} Slow")
    rows = _rows_are_one_line(page)
    # A badge is a little taller than the text beside it; a second line would add a whole line.
    assert all(height < rows["oneLine"] + rows["line"] / 2 for height in rows["rows"]), rows
    assert rows["wrap"][0] <= rows["wrap"][1], rows
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    screenshot(page, f"feedback-inbox-{width}")
    assert axe_violations(page) == []
    assert console_errors == []
