"""Outcome holdouts in the browser: the owner sets a 10 % holdout on an enrolment, a script —
the integration — asks the decision API about each person and posts every case's handle time
through the events API (the held-out people on the old process are slower), and the usage page
shows the difference AI − holdout with its interval, clear of zero."""

import json
import random
import urllib.parse
import urllib.request
import uuid

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from rollout.services.api_tokens import api_token_create
from rollout.services.cohorts import cohort_create, cohort_enrol, cohort_members_add
from rollout.services.outcome_metrics import outcome_metric_create
from tests.browser.conftest import axe_violations, screenshot
from tests.factories import UserFactory, make_workflow, ops_leader_user
from tests.rollout.promotion_fixtures import make_plan

pytestmark = pytest.mark.browser

PEOPLE = 200


def call(base: str, token: str, path: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(
        f"{base}{path}",
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST" if body is not None else "GET",
    )
    with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310 — the live server
        assert response.status == 200
        return json.loads(response.read())


def integration(base: str, token: str, people: list[str]) -> dict[str, int]:
    """What the AI tool does: ask who gets the AI, then report each case's handle time."""
    rng = random.Random(18)  # noqa: S311 — test data
    modes: dict[str, int] = {"live": 0, "holdout": 0}
    events = []
    for email in people:
        query = urllib.parse.urlencode({"workflow": "support-reply-drafting", "user": email})
        answer = call(base, token, f"/api/v1/decision?{query}")
        held_out = answer.get("reason") == "holdout"
        modes["holdout" if held_out else answer["mode"]] += 1
        typical = rng.gauss(420 if held_out else 330, 30)
        for _ in range(3):
            events.append(
                {
                    "event_id": str(uuid.uuid4()),
                    "user_ref": email,
                    "kind": "outcome",
                    "occurred_at": timezone.now().isoformat(),
                    "attrs": {"metric": "handle_time_s"},
                    "value": round(rng.gauss(typical, 60), 1),
                }
            )
    result = call(base, token, "/api/v1/events", {"events": events})
    assert result == {"accepted": 3 * len(people), "duplicate": 0, "rejected": 0, "errors": []}
    return modes


@pytest.mark.django_db(transaction=True)
def test_the_owner_sets_a_holdout_and_the_usage_page_shows_the_impact(
    page: Page, live_server, sign_in_as, console_errors
):
    ops = ops_leader_user(email="ops@example.com", display_name="Olivia Ops")
    owner = UserFactory(email="owner@example.com", display_name="Owen Owner")
    workflow = make_workflow(
        owner=owner, actor=ops, name="Support reply drafting", slug="support-reply-drafting"
    )
    make_plan(workflow, current="limited")
    people = [UserFactory(email=f"agent{n:03d}@example.com") for n in range(PEOPLE)]
    cohort = cohort_create(workflow=workflow, name="Tier-1 agents", actor=owner)
    cohort_members_add(cohort=cohort, users=people, actor=owner)
    cohort_enrol(cohort=cohort, phase="limited", percentage=100, actor=owner)
    outcome_metric_create(
        workflow=workflow, actor=owner, name="handle_time_s", label="Handle time", unit="s",
        higher_is_better=False,
    )  # fmt: skip
    _, token = api_token_create(workflow=workflow, actor=owner, name="Support tool")
    sign_in_as(owner)

    # The owner keeps 10 % of the enrolment on the old process.
    page.goto(f"{live_server.url}/workflows/support-reply-drafting/cohorts/")
    section = page.locator(f"#cohort-{cohort.pk}")
    section.get_by_label("Holdout (% of those members)").fill("10")
    section.get_by_role("button", name="Change enrolment").click()
    expect(page.get_by_text("enrolled at the limited roll-out")).to_be_visible()
    expect(section.get_by_text("Holdout 10%")).to_be_visible()
    held = section.locator(f"#cohort-{cohort.pk}-holdout")
    expect(held).to_contain_text("kept on the old process")

    modes = integration(live_server.url, token, [p.email for p in people])
    assert modes["holdout"] >= 10 and modes["live"] >= 150, modes

    page.goto(f"{live_server.url}/workflows/support-reply-drafting/usage/?days=7")
    outcomes = page.locator("#outcomes")
    expect(outcomes.get_by_role("heading", name="Handle time (s) lower is better")).to_be_visible()
    row = outcomes.get_by_role("row", name="Tier-1 agents")
    expect(row).to_contain_text("AI better")
    expect(row).to_contain_text(f"{modes['live']} / {modes['holdout']}")
    expect(outcomes.locator("svg.interval-chart .interval-fixed")).to_have_count(2)
    screenshot(page, "outcome-holdout-usage")
    assert axe_violations(page) == []
    assert console_errors == []
