"""A quarterly review in the browser: the owner starts it from the Reviews section, reads the
frozen snapshot, re-attests every item (one changed), is told what is missing before completing,
records a decision and completes it; the answers and decisions swap in place (htmx). An executive
then reads the completed review without a single button to change it."""

import csv
import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from rollout.models import Review, ReviewStatus, Threshold
from rollout.services.cohorts import cohort_create, cohort_members_add
from tests.browser.conftest import axe_violations, screenshot
from tests.factories import UserFactory, executive_user, make_workflow, ops_leader_user
from tests.rollout.promotion_fixtures import make_plan, make_shadow_ready

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1440, "height": 900}


@pytest.mark.django_db(transaction=True)
def test_the_owner_runs_a_review_end_to_end(page: Page, live_server, sign_in_as, console_errors):
    ops = ops_leader_user(email="ops@example.com", display_name="Olivia Ops")
    owner = UserFactory(email="owner@example.com", display_name="Owen Owner")
    workflow = make_workflow(
        owner=owner, actor=ops, name="Support reply drafting", slug="support-reply-drafting"
    )
    make_plan(workflow, current="broad")
    make_shadow_ready(workflow, ops)
    Threshold.objects.create(
        workflow=workflow,
        metric="error_rate",
        comparator="lte",
        limit=0.02,
        window_days=7,
        min_sample=100,
        bad_output="A reply that promises a refund.",
        action="pause_rollout",
    )
    eu = cohort_create(workflow=workflow, name="EU tier-1 agents", actor=owner)
    cohort_members_add(cohort=eu, users=[UserFactory(email="amy@example.com")], actor=owner)
    base = f"{live_server.url}/workflows/{workflow.slug}"
    page.set_viewport_size(DESKTOP)
    sign_in_as(owner)

    page.goto(f"{base}/")
    page.get_by_role("link", name="Reviews").first.click()
    expect(page).to_have_url(f"{base}/reviews/")
    expect(page.get_by_text("No review yet.")).to_be_visible()
    page.get_by_role("button", name="Start a review").click()
    expect(page).to_have_url(re.compile(r"/reviews/\d+/$"))
    expect(page.get_by_role("heading", name=re.compile("^Snapshot"))).to_be_visible()
    expect(page.locator(".review-snapshot")).to_contain_text("EU tier-1 agents")
    review = Review.objects.get()

    # Completing too early: the page says what is missing, nothing changes.
    page.get_by_role("button", name="Complete review").click()
    expect(page.locator("#review-work [role=alert]")).to_contain_text("Answer every item first")

    for item in review.attestations.order_by("position"):
        box = page.locator(f"#item-{item.pk}")
        if item.item == "data_source":
            box.get_by_label("Changed", exact=True).check()
            box.get_by_label("What changed").fill("Ticket history now comes from the live API.")
        else:
            box.get_by_label("Holds", exact=True).check()
        box.get_by_role("button", name="Save answer").click()
        # The answer's badge shows once the panel is swapped in: only then the next item.
        answered = "Changed" if item.item == "data_source" else "Holds"
        expect(page.locator(f"#item-{item.pk} .attestation-label")).to_contain_text(answered)
    expect(page.locator("#attest-heading")).to_contain_text(
        f"{review.attestations.count()} of {review.attestations.count()} answered"
    )

    page.get_by_label("Continue as is").check()
    page.get_by_label("Rationale").fill("Thresholds pass; adoption is complete in the cohort.")
    page.get_by_role("button", name="Record decision").click()
    expect(page.locator("#review-work [role=status]")).to_have_text("Decision recorded.")
    screenshot(page, "review-in-progress-desktop")
    assert axe_violations(page) == []

    page.get_by_label("Summary (optional)").fill("A calm quarter.")
    page.get_by_role("button", name="Complete review").click()
    expect(page.locator("#review-work [role=status]")).to_contain_text("Review completed.")
    review.refresh_from_db()
    assert review.status == ReviewStatus.COMPLETED
    page.reload()
    expect(page.locator(".review-summary")).to_contain_text("Completed")
    expect(page.get_by_role("link", name=re.compile("the outcome"))).to_be_visible()
    screenshot(page, "review-completed-desktop")
    assert console_errors == []

    # An executive reads it, and can change nothing.
    sign_in_as(executive_user(email="exec@example.com"))
    page.goto(f"{base}/reviews/{review.pk}/")
    expect(page.get_by_text("Thresholds pass; adoption is complete")).to_be_visible()
    for name in ("Save answer", "Record decision", "Complete review", "Start a review"):
        expect(page.get_by_role("button", name=name)).to_have_count(0)

    # …and finds it among the evidence, and downloads it as CSV.
    page.goto(f"{live_server.url}/evidence/")
    page.get_by_label("Kind").select_option(label="Reviews")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("Review completed: continue as is")).to_be_visible()
    expect(page.get_by_text("Thresholds pass; adoption is complete in the cohort.")).to_be_visible()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="CSV").click()
    rows = list(csv.DictReader(io.StringIO(Path(download_info.value.path()).read_text())))
    assert [row["kind"] for row in rows] == ["review"]
    assert "Thresholds pass; adoption is complete in the cohort." in rows[0]["details"]
