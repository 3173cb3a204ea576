"""Roll-out planning in the browser: an owner plans a workflow and asks to promote it, an ops
leader approves and the phase changes; a blackout window that stops a promotion; and a pause and
its resumption; and reordering the escalation path. The promotion card's and the path's buttons
swap the cards in place (htmx)."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import User
from rollout.models import (
    DataSource,
    Phase,
    PhaseKind,
    PhaseStatus,
    PromotionRequest,
    ReadinessAnswer,
    ReadinessQuestion,
    Workflow,
)
from rollout.services.blackouts import blackout_create, blackout_message
from rollout.services.escalation_path import escalation_level_add
from rollout.services.phases import plan_create_default
from rollout.services.source_health import source_heartbeat_record
from tests.browser.conftest import pick_person, screenshot
from tests.factories import UserFactory, make_workflow, ops_leader_user
from tests.rollout.promotion_fixtures import (
    make_briefed,
    make_healthy_usage,
    make_limited_ready,
    make_notice_published,
    make_shadow_ready,
)

pytestmark = pytest.mark.browser

CSV_WITH_BAD_ROWS = b"""email
amy@example.com
not-an-email
stranger@nowhere.example
AMY@example.com
ben@example.com
"""


def put_in_shadow(workflow: Workflow, actor: User) -> None:
    """The default plan with the audit done and shadow mode running past its minimum duration."""
    plan_create_default(
        workflow=workflow, start_date=timezone.localdate() - timedelta(days=40), actor=actor
    )
    now = timezone.now()
    shadow = Phase.objects.get(workflow=workflow, kind=PhaseKind.SHADOW)
    Phase.objects.filter(workflow=workflow, kind=PhaseKind.AUDIT).update(
        status=PhaseStatus.COMPLETED, actual_start=now - timedelta(days=60), actual_end=now
    )
    shadow.status = PhaseStatus.ACTIVE
    shadow.actual_start = now - timedelta(days=shadow.min_duration_days + 1)
    shadow.save(update_fields=["status", "actual_start"])


def phase_status(workflow: Workflow, kind: str) -> str:
    return Phase.objects.get(workflow=workflow, kind=kind).status


@pytest.mark.django_db(transaction=True)
def test_owner_plans_and_an_ops_leader_approves_the_promotion(
    page: Page, live_server, sign_in_as, console_errors
):
    ops = ops_leader_user(email="ops@example.com", display_name="Olivia Ops")
    owner = UserFactory(email="owner@example.com", display_name="Owen Owner")
    UserFactory(email="amy@example.com", display_name="Amy Agent")
    UserFactory(email="ben@example.com", display_name="Ben Agent")
    workflow = make_workflow(
        owner=owner, actor=ops, name="Support reply drafting", slug="support-reply-drafting"
    )
    put_in_shadow(workflow, ops)
    # The integration has been reporting shadow comparisons, all without errors.
    make_healthy_usage(workflow, "amy@example.com", cases=250)
    # The roll-out was announced to everyone in scope a week ago (rule 3: notice in time).
    make_notice_published(workflow)
    # Seven of the nine questions were answered earlier; the owner answers the last two below.
    for question in ReadinessQuestion.values[:7]:
        ReadinessAnswer.objects.create(
            workflow=workflow, question=question, answer="yes", answered_by=owner
        )
    base = f"{live_server.url}/workflows/{workflow.slug}"
    sign_in_as(owner)

    # Plan: the limited roll-out's dates and exit criteria.
    page.goto(f"{base}/plan/")
    limited = Phase.objects.get(workflow=workflow, kind=PhaseKind.LIMITED)
    new_end = limited.planned_end + timedelta(days=7)
    row = page.locator("#phase-limited")
    row.get_by_text("Edit limited roll-out").click()
    row.get_by_label("Planned end").fill(new_end.isoformat())
    row.get_by_label("Exit criteria").fill("Error rate under 2% for two weeks on 200 tickets.")
    row.get_by_role("button", name="Save limited roll-out").click()
    expect(page.locator("#phase-limited")).to_contain_text(
        "Error rate under 2% for two weeks on 200 tickets."
    )
    expect(page.locator("#phase-limited")).to_contain_text(new_end.strftime("%-d %b %Y"))

    # Data source.
    page.get_by_text("Add a data source").click()
    page.locator("#id_source-new-name").fill("Zendesk tickets")
    page.locator("#id_source-new-kind").select_option(label="Live connection")
    page.locator("#id_source-new-freshness").fill("Updated within 15 minutes")
    page.locator("#id_source-new-validation").fill("Row counts checked hourly")
    page.locator("#id_source-new-last_verified_at").fill(timezone.localdate().isoformat())
    page.get_by_role("button", name="Add data source").click()
    expect(page.locator("#data-sources").get_by_role("heading", level=3)).to_contain_text(
        "Zendesk tickets"
    )
    # Its pipeline reports on it (the heartbeat; test_source_health_journey calls it over HTTP),
    # so "runs on live data" is borne out by what Rollout observes.
    source_heartbeat_record(
        source=DataSource.objects.get(workflow=workflow, key="zendesk-tickets"),
        records=500,
        rejected=0,
        data_as_of=timezone.now(),
    )

    # The last two readiness questions.
    for question, evidence in [
        (ReadinessQuestion.SHADOW_RUN, "Six weeks of shadow output reviewed by tier-1 leads."),
        (ReadinessQuestion.COMMUNICATION_PLAN, "Announcement drafted for the tier-1 channel."),
    ]:
        item = page.locator(f"#q-{question}")
        item.get_by_text("Answer", exact=True).click()
        item.get_by_label("Yes").check()
        item.get_by_label("Evidence").fill(evidence)
        item.get_by_role("button", name="Record answer").click()
        expect(page.locator(f"#q-{question}")).to_contain_text(evidence)
    screenshot(page, "planning-plan")

    # Cohort, then members from a CSV file with bad rows.
    page.get_by_role("link", name="Cohorts", exact=True).click()
    page.locator("#id_new_name").fill("EU tier-1 agents")
    page.get_by_role("button", name="Create cohort").click()
    expect(page.get_by_role("heading", name=re.compile("EU tier-1 agents"))).to_be_visible()
    page.get_by_role("link", name="Add from a CSV file").click()
    page.get_by_label("CSV file of email addresses").set_input_files(
        files=[{"name": "agents.csv", "mimeType": "text/csv", "buffer": CSV_WITH_BAD_ROWS}]
    )
    page.get_by_role("button", name="Preview").click()
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(5)
    for index, (value, fate) in enumerate(
        [
            ("amy@example.com", "will be added"),
            ("not-an-email", "malformed"),
            ("stranger@nowhere.example", "unknown email"),
            ("AMY@example.com", "duplicate in file"),
            ("ben@example.com", "will be added"),
        ]
    ):
        expect(rows.nth(index)).to_contain_text(value)
        expect(rows.nth(index)).to_contain_text(fate)
    expect(page.get_by_text("Nothing has been saved yet.")).to_be_visible()
    assert not workflow.cohorts.get().memberships.exists()
    screenshot(page, "planning-cohort-csv-preview")
    page.get_by_role("button", name="Add to EU tier-1 agents").click()
    members = page.get_by_role("table", name="Members of EU tier-1 agents")
    expect(members).to_contain_text("Amy Agent")
    expect(members).to_contain_text("Ben Agent")
    expect(members.locator("tbody tr")).to_have_count(2)

    # Enrol at the limited roll-out.
    cohort = workflow.cohorts.get()
    section = page.locator(f"#cohort-{cohort.pk}")
    section.get_by_label("Enrol at").select_option(label="Limited roll-out")
    section.get_by_label("Percentage of members").fill("100")
    section.get_by_role("button", name="Enrol").click()
    expect(page.locator(f"#cohort-{cohort.pk} h2")).to_contain_text("Limited roll-out · 100%")
    screenshot(page, "planning-cohorts")
    # Both agents read the failure-mode briefing (its own journey: test_briefing_journey), so
    # "the team understands the failure modes" is borne out by what Rollout observes.
    make_briefed(
        workflow, owner, list(User.objects.filter(email__in=["amy@example.com", "ben@example.com"]))
    )

    # Escalation path: one level.
    page.get_by_role("link", name="Escalation", exact=True).click()
    pick_person(page, "Contact", "oli", "Olivia Ops")
    page.get_by_label("Channel").select_option(label="Email")
    page.get_by_label("Response target").fill("30")
    page.get_by_role("button", name="Add level").click()
    expect(page.locator(".escalation-level")).to_have_count(1)
    expect(page.locator(".escalation-level")).to_contain_text("Olivia Ops")

    # Thresholds: one on the error rate.
    page.get_by_role("link", name="Thresholds", exact=True).click()
    page.get_by_label(re.compile(r"^Metric")).select_option(label="Error rate")
    page.get_by_label("Passes when the value is").select_option(label="at most")
    page.get_by_label("Limit (%, ms or amount)").fill("2")
    page.get_by_label("Window (days)").fill("7")
    page.get_by_label("Minimum sample (cases)").fill("200")
    page.get_by_label("On breach").select_option(label="Pause the roll-out")
    page.get_by_label("What a bad output looks like").fill(
        "A reply that promises a refund we do not give."
    )
    page.get_by_role("button", name="Add threshold").click()
    expect(page.get_by_role("table")).to_contain_text("promises a refund")

    # The gate passes; the owner asks for the promotion.
    page.get_by_role("link", name="Overview", exact=True).click()
    checklist = page.locator("#gate-checklist")
    expect(checklist).to_contain_text("Gate passes")
    expect(checklist.locator(".gate-check.gate-pass")).to_have_count(
        8
    )  # 7, and no live source stale or silent
    page.locator("summary", has_text="Request promotion").click()
    page.get_by_label("Note for the approvers").fill("Tier-1 leads are ready.")
    page.get_by_role("button", name="Request promotion").click()
    expect(page.get_by_role("heading", name="Open request")).to_be_visible()
    expect(page.locator("#promotion-card").get_by_role("status")).to_have_text(
        "Promotion requested. An ops leader must approve it."
    )
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)
    screenshot(page, "planning-overview-requested")

    # An ops leader approves it from the approvals list.
    sign_in_as(ops)
    page.goto(f"{live_server.url}/approvals/")
    page.get_by_role("link", name="Support reply drafting").click()
    page.get_by_role("button", name="Approve").click()
    expect(page.locator("#phase-card")).to_contain_text("Now in Limited roll-out")
    expect(page.locator("#promotion-card").get_by_role("status")).to_have_text(
        "Promoted: Limited roll-out is now active."
    )
    expect(page.get_by_role("heading", name="Open request")).to_have_count(0)
    screenshot(page, "planning-overview-promoted")

    assert phase_status(workflow, PhaseKind.SHADOW) == PhaseStatus.COMPLETED
    assert phase_status(workflow, PhaseKind.LIMITED) == PhaseStatus.ACTIVE
    assert PromotionRequest.objects.get().status == "executed"
    assert console_errors == []


@pytest.mark.django_db(transaction=True)
def test_a_blackout_window_stops_the_promotion(page: Page, live_server, sign_in_as, console_errors):
    ops = ops_leader_user(email="ops@example.com", display_name="Olivia Ops")
    owner = UserFactory(email="owner@example.com", display_name="Owen Owner")
    member = UserFactory(email="amy@example.com", display_name="Amy Agent")
    workflow = make_workflow(
        owner=owner, actor=ops, name="Support reply drafting", slug="support-reply-drafting"
    )
    put_in_shadow(workflow, ops)
    make_shadow_ready(workflow, ops)
    make_limited_ready(workflow, owner, member)
    now = timezone.now()
    window = blackout_create(
        actor=ops,
        name="Year-end freeze",
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=3),
    )
    message = blackout_message(window)
    base = f"{live_server.url}/workflows/{workflow.slug}"

    # Scheduled inside the window: refused beside the field, nothing requested.
    sign_in_as(owner)
    page.goto(f"{base}/")
    page.locator("summary", has_text="Request promotion").click()
    run_at = timezone.localtime(now + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    page.get_by_label("Run at (optional)").fill(run_at)
    page.get_by_role("button", name="Request promotion").click()
    expect(page.get_by_text(message)).to_be_visible()
    screenshot(page, "planning-blackout-refused")
    assert not PromotionRequest.objects.exists()

    # Asked to run once approved: the approval, now, is refused too.
    page.goto(f"{base}/")
    page.locator("summary", has_text="Request promotion").click()
    page.get_by_role("button", name="Request promotion").click()
    expect(page.get_by_role("heading", name="Open request")).to_be_visible()
    sign_in_as(ops)
    page.goto(f"{base}/")
    page.get_by_role("button", name="Approve").click()
    expect(page.locator("#promotion-card").get_by_role("alert")).to_have_text(message)
    expect(page.get_by_text(re.compile("Now in Shadow mode"))).to_be_visible()

    assert phase_status(workflow, PhaseKind.SHADOW) == PhaseStatus.ACTIVE
    assert phase_status(workflow, PhaseKind.LIMITED) == PhaseStatus.PLANNED
    assert PromotionRequest.objects.get().status == "pending"
    assert console_errors == []


@pytest.mark.django_db(transaction=True)
def test_the_owner_pauses_and_resumes_the_roll_out(
    page: Page, live_server, sign_in_as, console_errors
):
    ops = ops_leader_user(email="ops@example.com", display_name="Olivia Ops")
    owner = UserFactory(email="owner@example.com", display_name="Owen Owner")
    workflow = make_workflow(
        owner=owner, actor=ops, name="Support reply drafting", slug="support-reply-drafting"
    )
    put_in_shadow(workflow, ops)

    sign_in_as(owner)
    page.goto(f"{live_server.url}/workflows/{workflow.slug}/")
    phase_card = page.locator("#phase-card")
    page.locator("summary", has_text="Pause").click()
    page.get_by_label("While paused").select_option(label="Off")
    page.get_by_label("Why pause").fill("Replies quote the wrong refund policy.")
    page.get_by_role("button", name="Pause the roll-out").click()
    expect(phase_card.get_by_role("status")).to_have_text("Roll-out paused.")
    expect(phase_card).to_contain_text("Paused (fallback: Off)")
    callout = page.get_by_role("heading", name="The shadow mode is paused")
    expect(callout).to_be_visible()
    expect(page.get_by_text("Replies quote the wrong refund policy.")).to_be_visible()
    screenshot(page, "planning-overview-paused")
    assert phase_status(workflow, PhaseKind.SHADOW) == PhaseStatus.PAUSED

    page.get_by_role("button", name="Resume").click()
    expect(phase_card.get_by_role("status")).to_have_text("Roll-out resumed.")
    expect(callout).to_have_count(0)
    assert phase_status(workflow, PhaseKind.SHADOW) == PhaseStatus.ACTIVE
    assert console_errors == []


@pytest.mark.django_db(transaction=True)
def test_the_owner_reorders_edits_and_removes_escalation_levels(
    page: Page, live_server, sign_in_as, console_errors
):
    ops = ops_leader_user(email="ops@example.com", display_name="Olivia Ops")
    owner = UserFactory(email="owner@example.com", display_name="Owen Owner")
    deputy = UserFactory(email="dan@example.com", display_name="Dan Deputy")
    workflow = make_workflow(
        owner=owner, actor=ops, name="Support reply drafting", slug="support-reply-drafting"
    )
    for contact in (ops, deputy):
        escalation_level_add(
            workflow=workflow,
            actor=ops,
            contact=contact,
            channel="email",
            response_target_minutes=30,
        )

    sign_in_as(owner)
    page.goto(f"{live_server.url}/workflows/{workflow.slug}/escalation/")
    path = page.locator("#escalation-path")
    levels = page.locator(".escalation-level")
    page.get_by_role("button", name="Move up level 2").click()
    expect(path.get_by_role("status")).to_have_text("Moved Dan Deputy to level 1.")
    expect(levels.first).to_contain_text("Dan Deputy")
    expect(levels.nth(1)).to_contain_text("Olivia Ops")

    page.get_by_role("link", name="Edit level 2").click()
    expect(page.get_by_role("heading", name="Edit level 2")).to_be_visible()
    page.get_by_label("Response target").fill("45")
    page.get_by_role("button", name="Save level 2").click()
    expect(page.get_by_text("Saved level 2.")).to_be_visible()
    expect(levels.nth(1)).to_contain_text("45 minutes")

    page.get_by_role("button", name="Remove level 1").click()
    expect(path.get_by_role("status")).to_have_text(
        "Removed level 1. The levels after it moved up."
    )
    expect(levels).to_have_count(1)
    expect(levels.first).to_contain_text("Olivia Ops")
    expect(page.get_by_text("It goes at the end of the path, as level 2.")).to_be_visible()
    screenshot(page, "escalation-path-reordered")
    assert [level.contact for level in workflow.escalation_levels.order_by("position")] == [ops]
    assert console_errors == []
