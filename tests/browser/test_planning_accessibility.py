"""axe-core on the roll-out planning pages, as the role that uses each: no "serious" or "critical"
violation and no console error. Each page is kept as a screenshot under var/screenshots/."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import User
from rollout.models import (
    DataSource,
    EscalationLevel,
    ReadinessAnswer,
    ReadinessQuestion,
    SourceKind,
    Threshold,
    Workflow,
)
from rollout.services.blackouts import blackout_create
from rollout.services.promotions import promotion_request
from tests.browser.conftest import axe_violations, screenshot
from tests.browser.test_planning_journey import put_in_shadow
from tests.factories import UserFactory, executive_user, make_workflow, ops_leader_user
from tests.rollout.promotion_fixtures import make_cohort

pytestmark = pytest.mark.browser

# (screenshot name, who looks, path); {slug}, {threshold}, {level} and {cohort} are filled in.
PAGES = [
    ("plan-owner", "owner", "/workflows/{slug}/plan/"),
    ("plan-exec", "exec", "/workflows/{slug}/plan/"),
    ("cohorts-owner", "owner", "/workflows/{slug}/cohorts/"),
    ("cohort-csv-upload", "owner", "/workflows/{slug}/cohorts/{cohort}/csv/"),
    ("thresholds-owner", "owner", "/workflows/{slug}/thresholds/"),
    ("threshold-edit", "owner", "/workflows/{slug}/thresholds/{threshold}/edit/"),
    ("escalation-owner", "owner", "/workflows/{slug}/escalation/"),
    ("escalation-level-edit", "owner", "/workflows/{slug}/escalation/?edit={level}"),
    ("overview-gate-owner", "owner", "/workflows/{slug}/"),
    ("overview-gate-ops", "ops", "/workflows/{slug}/"),
    ("overview-no-plan", "owner", "/workflows/unplanned/"),
    ("plan-create", "owner", "/workflows/unplanned/plan/"),
    ("approvals-ops", "ops", "/approvals/"),
    ("blackouts-ops", "ops", "/blackouts/"),
    ("blackouts-owner", "owner", "/blackouts/"),
]


@pytest.fixture
def cast(transactional_db) -> dict[str, object]:
    ops = ops_leader_user(email="ops@example.com", display_name="Olivia Ops")
    owner = UserFactory(email="owner@example.com", display_name="Owen Owner")
    amy = UserFactory(email="amy@example.com", display_name="Amy Agent")
    workflow = make_workflow(
        owner=owner, actor=ops, name="Support reply drafting", slug="support-reply-drafting"
    )
    make_workflow(owner=owner, actor=ops, name="Unplanned flow", slug="unplanned")
    put_in_shadow(workflow, ops)
    DataSource.objects.create(
        workflow=workflow,
        name="Zendesk tickets",
        kind=SourceKind.LIVE,
        freshness="Updated within 15 minutes",
        validation="Row counts checked hourly",
        last_verified_at=timezone.localdate(),
    )
    DataSource.objects.create(
        workflow=workflow, name="Macro library export", kind=SourceKind.STATIC_EXPORT
    )
    level = EscalationLevel.objects.create(
        workflow=workflow, position=1, contact=owner, channel="email", response_target_minutes=30
    )
    EscalationLevel.objects.create(
        workflow=workflow, position=2, contact=ops, channel="in_app", response_target_minutes=120
    )
    threshold = Threshold.objects.create(
        workflow=workflow,
        metric="error_rate",
        comparator="lte",
        # Stored as fractions; the pages show percentages.
        limit=0.02,
        marginal_limit=0.03,
        min_sample=200,
        bad_output="A reply that promises a refund we do not give.",
        action="pause_rollout",
    )
    for question in ReadinessQuestion.values[:6]:
        ReadinessAnswer.objects.create(
            workflow=workflow,
            question=question,
            answer="yes",
            evidence="Checked in the pilot review.",
            answered_by=owner,
        )
    ReadinessAnswer.objects.create(
        workflow=workflow,
        question=ReadinessQuestion.values[6],
        answer="partly",
        evidence="Logs kept for 7 days only.",
        answered_by=owner,
    )
    cohort = make_cohort(workflow, "limited", amy)
    promotion_request(workflow=workflow, actor=owner, note="Tier-1 leads are ready.")
    now = timezone.now()
    blackout_create(
        actor=ops,
        name="Year-end freeze",
        starts_at=now + timedelta(days=20),
        ends_at=now + timedelta(days=34),
    )
    blackout_create(
        workflow=workflow,
        actor=owner,
        name="Support peak",
        starts_at=now + timedelta(days=5),
        ends_at=now + timedelta(days=6),
    )
    return {
        "ops": ops,
        "owner": owner,
        "exec": executive_user(email="exec@example.com", display_name="Erin Exec"),
        "workflow": workflow,
        "cohort": cohort,
        "threshold": threshold,
        "level": level,
    }


def check(page: Page, name: str, console_errors: list[str]) -> None:
    screenshot(page, name)
    assert axe_violations(page) == []
    assert console_errors == []


@pytest.mark.parametrize(("name", "who", "path"), PAGES, ids=[p[0] for p in PAGES])
def test_planning_page_has_no_serious_accessibility_violations(
    page: Page, live_server, sign_in_as, console_errors, cast, name, who, path
):
    workflow: Workflow = cast["workflow"]
    sign_in_as(cast[who])
    url = path.format(
        slug=workflow.slug,
        cohort=cast["cohort"].pk,
        threshold=cast["threshold"].pk,
        level=cast["level"].pk,
    )

    response = page.goto(f"{live_server.url}{url}")

    assert response is not None and response.status == 200, (url, response and response.status)
    # The gate checklist reloads itself with htmx on load; check the page once it has settled.
    page.wait_for_load_state("networkidle")
    check(page, name, console_errors)


def test_cohort_csv_preview(page: Page, live_server, sign_in_as, console_errors, cast):
    owner: User = cast["owner"]
    sign_in_as(owner)
    page.goto(
        f"{live_server.url}/workflows/{cast['workflow'].slug}/cohorts/{cast['cohort'].pk}/csv/"
    )
    page.get_by_label("CSV file of email addresses").set_input_files(
        files=[
            {
                "name": "agents.csv",
                "mimeType": "text/csv",
                "buffer": b"email\nowner@example.com\namy@example.com\nnope\nnew@example.com\n"
                b"owner@example.com\n",
            }
        ]
    )
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_text("Nothing has been saved yet.")).to_be_visible()

    check(page, "cohort-csv-preview", console_errors)


def test_overview_reads_on_a_phone(page: Page, live_server, sign_in_as, console_errors, cast):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in_as(cast["ops"])
    page.goto(f"{live_server.url}/workflows/{cast['workflow'].slug}/")
    page.wait_for_load_state("networkidle")
    width = page.evaluate("document.documentElement.scrollWidth")
    screenshot(page, "overview-gate-phone")
    assert width <= 390
    assert console_errors == []


def test_gate_checklist_refreshes_once_then_polls(page: Page, live_server, sign_in_as, cast):
    """A swapped-in checklist must not trigger its own reload: that would loop without end."""
    sign_in_as(cast["owner"])
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if "/gate/" in r.url else None)
    page.goto(f"{live_server.url}/workflows/{cast['workflow'].slug}/")
    # The refreshed checklist is in place once the one htmx swapped in (no `load` trigger) is;
    # a reload it triggered itself would follow at once, so a short look after that catches it.
    # (A selector, not wait_for_function: the page's CSP forbids evaluating strings.)
    page.locator("#gate-checklist[hx-trigger='every 30s']").wait_for()
    page.wait_for_timeout(2000)

    assert len(requests) == 1
    expect(page.locator("#gate-checklist .gate-check")).to_have_count(8)
