"""The autonomy ladder and the review queue in Chromium. The owner names a reviewer with the people
picker and asks for a 10% sample instead of reviewing every draft; an ops leader approves it on the
cohort's page (the gate passes: few overrides and edits, and shadow mode's final agreement verdict
was a pass); the AI tool, told `review_level: sample` by the decision API, posts the picked outputs;
the reviewer grades five of them with the keyboard — each next one arrives without a page reload
and the progress count follows — and the harmful one opens an escalation. The module's tests share
one live server (pytest-django's); each builds its own data."""

import json
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from rollout.lib.output_sampling import output_picked
from rollout.models import (
    Cohort,
    Escalation,
    Metric,
    OutputReview,
    Phase,
    ReviewLevel,
    Threshold,
    ThresholdEvaluation,
    Verdict,
)
from rollout.services import cohorts as cohort_svc
from rollout.services.api_tokens import api_token_create
from rollout.services.evaluation import usage_refresh_pending
from rollout.services.usage_ingest import EventData, usage_events_store
from tests.browser.conftest import axe_violations, pick_person, screenshot
from tests.factories import UserFactory, make_workflow, ops_leader_user
from tests.rollout.promotion_fixtures import make_plan

pytestmark = pytest.mark.browser

SLUG = "support-reply-drafting"
DRAFTS = [
    "Hi Emma, order #48213 left our warehouse yesterday; DHL delivers it on Thursday.",
    "Hello Mr Novak, a replacement lid is on its way free of charge, within 3–5 working days.",
    "Hi Sam, I've upgraded your delivery to express at no cost because of the delay.",
    "Hi Jonas, I've sent a fresh password reset link; it expires after 30 minutes.",
    "Dear Ms Byrne, please send us your full card number so we can refund you faster.",
]


@pytest.fixture
def cast(transactional_db) -> dict:
    ops = ops_leader_user(email="ops@example.com", display_name="Olivia Ops")
    owner = UserFactory(email="owner@example.com", display_name="Owen Owner")
    member = UserFactory(email="mia@example.com", display_name="Mia Member")
    reviewer = UserFactory(email="rita@example.com", display_name="Rita Reviewer")
    workflow = make_workflow(owner=owner, actor=ops, name="Support reply drafting", slug=SLUG)
    make_plan(workflow, current="limited")
    cohort = cohort_svc.cohort_create(workflow=workflow, name="EU agents", actor=ops)
    cohort_svc.cohort_members_add(cohort=cohort, users=[member], actor=ops)
    cohort_svc.cohort_enrol(cohort=cohort, phase="limited", percentage=100, actor=ops)
    # 200 decisions an hour ago, 4% overridden or edited; shadow ended on a passing verdict.
    at = timezone.now() - timedelta(hours=1)
    kinds = ["accepted"] * 192 + ["edited"] * 5 + ["overridden"] * 3
    usage_events_store(
        workflow=workflow,
        events=[EventData(uuid.uuid4(), member.email, kind, at) for kind in kinds],
    )
    usage_refresh_pending()
    ended = timezone.now() - timedelta(days=20)
    Phase.objects.filter(workflow=workflow, kind="shadow").update(actual_end=ended)
    agreement = Threshold.objects.create(
        workflow=workflow,
        metric=Metric.SHADOW_AGREEMENT_RATE,
        comparator="gte",
        limit=0.9,
        bad_output="A draft the agent would not send.",
        action="block_promotion",
    )
    ThresholdEvaluation.objects.create(
        threshold=agreement,
        scope_key="",
        verdict=Verdict.PASS,
        reason="93% over 412 cases: at least 90%.",
        window_start=ended - timedelta(days=7),
        window_end=ended,
        evaluated_at=ended - timedelta(hours=1),
    )
    _, token = api_token_create(workflow=workflow, actor=owner, name="Support tool")
    return {
        "ops": ops,
        "owner": owner,
        "member": member,
        "reviewer": reviewer,
        "workflow": workflow,
        "cohort": cohort,
        "token": token,
    }


def test_the_ladder_moves_after_approval_and_a_reviewer_grades_by_keyboard(
    page: Page, live_server, sign_in_as, console_errors, cast
):
    cohort, workflow = cast["cohort"], cast["workflow"]
    page.set_viewport_size({"width": 1280, "height": 900})

    # The owner names a reviewer on the queue page.
    sign_in_as(cast["owner"])
    page.goto(f"{live_server.url}/workflows/{SLUG}/review-queue/")
    expect(page.get_by_role("heading", name="Nothing to grade")).to_be_visible()
    screenshot(page, "review-queue-empty")
    pick_person(page.locator("#reviewers"), "Reviewer", "Rit", "Rita Reviewer")
    page.get_by_role("button", name="Add reviewer").click()
    expect(page.locator("#reviewers li", has_text="Rita Reviewer")).to_be_visible()
    screenshot(page, "review-queue-reviewers")

    # ...and asks for less review: a gated request.
    page.goto(f"{live_server.url}/workflows/{SLUG}/cohorts/")
    page.locator(f"#cohort-{cohort.pk}-review").get_by_role("link").click()
    page.locator("#id_to_level").select_option("sample")
    page.locator("#id_sample_rate").fill("10")
    page.get_by_role("button", name="Change or request").click()
    expect(page.locator(".messages, [role=status]").first).to_be_visible()
    expect(
        page.get_by_role(
            "heading",
            name="Waiting for approval: Every output reviewed → 10% sampled after the fact",
        )
    ).to_be_visible()
    assert Cohort.objects.get(pk=cohort.pk).review_level == ReviewLevel.EVERY

    # An ops leader approves: the gate passes.
    sign_in_as(cast["ops"])
    page.goto(f"{live_server.url}/approvals/")
    page.get_by_role("link", name="Support reply drafting: EU agents").click()
    expect(page.get_by_text("✓ Gate passes")).to_be_visible()
    screenshot(page, "cohort-review-level-pending")
    assert axe_violations(page) == []
    page.get_by_role("button", name="Approve", exact=True).click()
    expect(
        page.get_by_text("Approved: “EU agents” is now at a sample reviewed after the fact (10%).")
    ).to_be_visible()
    page.goto(f"{live_server.url}/workflows/{SLUG}/cohorts/")
    expect(page.locator(f"#cohort-{cohort.pk}-review .badge")).to_have_text(
        "A sample reviewed after the fact · 10%"
    )
    screenshot(page, "cohorts-ladder")

    # The AI tool hears the level and sends the picked outputs.
    headers = {"Authorization": f"Bearer {cast['token']}"}
    answer = page.request.get(
        f"{live_server.url}/api/v1/decision?workflow={SLUG}&user=mia@example.com", headers=headers
    ).json()
    assert (answer["review_level"], answer["review_sample_rate"]) == ("sample", 10)
    ids = []
    while len(ids) < len(DRAFTS):
        candidate = uuid.uuid4()
        if output_picked(candidate, answer["review_sample_rate"]):
            ids.append(candidate)
    events = [
        {
            "event_id": str(event_id),
            "user_ref": "mia@example.com",
            "kind": "invocation",
            "occurred_at": (timezone.now() - timedelta(minutes=10 - n)).isoformat(),
            "attrs": {"output": draft},
        }
        for n, (event_id, draft) in enumerate(zip(ids, DRAFTS, strict=True))
    ]
    posted = page.request.post(
        f"{live_server.url}/api/v1/events",
        data=json.dumps({"events": events}),
        headers={**headers, "Content-Type": "application/json"},
    )
    assert posted.json()["accepted"] == 5
    assert OutputReview.objects.count() == 5

    # The reviewer grades five outputs from the keyboard, without a page reload.
    sign_in_as(cast["reviewer"])
    page.goto(f"{live_server.url}/workflows/{SLUG}/review-queue/")
    page.wait_for_load_state("networkidle")
    progress = page.locator("#review-progress")
    expect(progress).to_have_text("0 of 5 graded this week, 5 waiting")
    expect(page.locator(".review-excerpt")).to_have_text(DRAFTS[0])
    screenshot(page, "review-queue-item")
    assert axe_violations(page) == []
    page.evaluate("window.stillTheSamePage = true")
    for n, key in enumerate(["1", "1", "3", "2", "4"]):
        expect(page.locator(".review-excerpt")).to_have_text(DRAFTS[n])
        expect(page.locator("#review-item")).to_have_attribute("aria-busy", "false")
        # One SQLite connection serves the live server's threads: let the page's own requests
        # (the inbox count) finish before a key sends the next.
        page.wait_for_load_state("networkidle")
        with page.expect_response(lambda r: r.request.method == "POST") as graded:
            page.keyboard.press(key)
        assert graded.value.status == 200
        expect(progress).to_have_text(f"{n + 1} of 5 graded this week, {4 - n} waiting")
    expect(page.get_by_role("heading", name="Nothing to grade")).to_be_visible()
    assert page.evaluate("window.stillTheSamePage") is True
    grades = list(OutputReview.objects.order_by("occurred_at").values_list("grade", flat=True))
    assert grades == ["correct", "correct", "wrong", "minor", "harmful"]
    assert Escalation.objects.filter(workflow=workflow, source="review").count() == 1

    page.goto(f"{live_server.url}/workflows/{SLUG}/review-queue/?show=graded")
    expect(page.locator("td .badge", has_text="Harmful")).to_be_visible()
    screenshot(page, "review-queue-graded")
    assert axe_violations(page) == []
    assert console_errors == []
