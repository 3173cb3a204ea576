"""The executive evidence timeline in Chromium: an executive filters it by a workflow and downloads
the CSV (it parses); the board pack prints to PDF with a page per workflow; the pages pass axe and
nothing scrolls sideways on a phone."""

import csv
import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.browser.conftest import axe_violations, screenshot
from tests.factories import UserFactory, executive_user, make_workflow, ops_leader_user
from tests.rollout.evidence_fixtures import make_evidence

pytestmark = pytest.mark.browser

PDF_PAGE = re.compile(rb"/Type\s*/Page[^s]")


@pytest.fixture
def cast(transactional_db) -> dict:
    ops = ops_leader_user(email="ops@example.com", display_name="Olivia Ops")
    owner = UserFactory(email="owner@example.com", display_name="Owen Owner")
    member = UserFactory(email="member@example.com", display_name="Mia Member")
    workflows = [
        make_workflow(owner=owner, actor=ops, name="Support reply drafting", slug="support"),
        make_workflow(owner=owner, actor=ops, name="Invoice coding", slug="invoices"),
        make_workflow(owner=owner, actor=ops, name="Contract clause review", slug="contracts"),
    ]
    for index, workflow in enumerate(workflows):
        make_evidence(
            workflow,
            requester=owner,
            approver=ops,
            recipients=[owner, member],
            # Inside the current quarter (the board pack's default) on any day it runs.
            start=timezone.now() - timedelta(hours=12 + index),
        )
    return {"ops": ops, "owner": owner, "exec": executive_user(), "workflows": workflows}


def _no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.clientWidth")
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_executive_filters_by_workflow_and_downloads_the_csv(
    page: Page, live_server, sign_in_as, console_errors, cast
):
    sign_in_as(cast["exec"])
    page.set_viewport_size({"width": 1440, "height": 1000})
    page.goto(f"{live_server.url}/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Evidence").click()
    expect(page.get_by_role("heading", name="Evidence", level=1)).to_be_visible()
    expect(page.get_by_text("36 entries, newest first.")).to_be_visible()
    assert axe_violations(page) == []
    screenshot(page, "evidence-timeline-1440")

    page.get_by_label("Workflow").select_option(label="Invoice coding")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"workflow=invoices"))
    expect(page.get_by_text("12 entries match these filters")).to_be_visible()
    assert set(page.locator(".evidence-workflow").all_inner_texts()) == {"Invoice coding"}

    with page.expect_download() as download_info:
        page.get_by_role("link", name="CSV").click()
    download = download_info.value
    assert download.suggested_filename == "evidence-invoices.csv"
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    assert len(rows) == 12
    assert {row["workflow"] for row in rows} == {"invoices"}
    assert {row["kind"] for row in rows} >= {"promotion", "override", "incident", "notice"}
    assert console_errors == []

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/evidence/")
    _no_sideways_scroll(page)
    screenshot(page, "evidence-timeline-390")


def test_board_pack_prints_a_page_per_workflow(page: Page, live_server, sign_in_as, cast):
    sign_in_as(cast["exec"])
    page.set_viewport_size({"width": 1440, "height": 1000})
    page.goto(f"{live_server.url}/evidence/board-pack/")
    expect(
        page.get_by_role("heading", name=re.compile(r"^Board pack · Q\d \d{4}$"))
    ).to_be_visible()
    assert axe_violations(page) == []
    screenshot(page, "evidence-board-pack-1440")

    pdf = page.pdf(format="A4", print_background=True)
    assert len(PDF_PAGE.findall(pdf)) == len(cast["workflows"])

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    _no_sideways_scroll(page)
    screenshot(page, "evidence-board-pack-390")


@pytest.mark.parametrize(
    ("who", "path"),
    [
        ("owner", "/workflows/support/evidence/"),
        ("ops", "/activity/"),
        ("exec", "/evidence/?kind=nonsense"),
    ],
)
def test_other_evidence_pages(page: Page, live_server, sign_in_as, console_errors, cast, who, path):
    sign_in_as(cast[who])
    for width in (1440, 390):
        page.set_viewport_size({"width": width, "height": 900})
        response = page.goto(f"{live_server.url}{path}")
        assert response is not None and response.status == 200
        _no_sideways_scroll(page)
    assert axe_violations(page) == []
    assert console_errors == []
