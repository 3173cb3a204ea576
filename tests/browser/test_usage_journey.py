"""Usage tracking in the browser: an owner creates an API token, a script reports usage with it,
the usage page charts the cohort, and a threshold breach pauses the roll-out — the overview says
why."""

import json
import urllib.request
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from rollout.models import CohortMember, Phase, PhaseStatus, Threshold
from tests.browser.conftest import screenshot
from tests.factories import UserFactory, make_workflow, ops_leader_user
from tests.rollout.promotion_fixtures import make_cohort, make_plan
from tests.waiting import PATIENCE

pytestmark = pytest.mark.browser


def post_events(base_url: str, token: str, events: list[dict]) -> dict:
    """What the AI tool's integration does: POST a batch with its bearer token."""
    request = urllib.request.Request(  # noqa: S310 — the test's own live server
        f"{base_url}/api/v1/events",
        data=json.dumps({"events": events}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=PATIENCE) as response:  # noqa: S310
        return json.loads(response.read())


def events_for(people: list[str], *, days_ago: int, outcome: str, count: int) -> list[dict]:
    at = timezone.now() - timedelta(days=days_ago, minutes=5)
    events = []
    for i in range(count):
        person = people[i % len(people)]
        moment = (at - timedelta(seconds=i)).isoformat()
        for kind in ("invocation", outcome):
            events.append(
                {
                    "event_id": str(uuid.uuid4()),
                    "user_ref": person,
                    "kind": kind,
                    "occurred_at": moment,
                    "latency_ms": 600 + (i * 53) % 900,
                }
            )
    return events


@pytest.mark.django_db(transaction=True)
def test_reported_usage_is_charted_and_a_breach_pauses_the_rollout(
    page: Page, live_server, sign_in_as, console_errors
):
    ops = ops_leader_user(email="ops@example.com", display_name="Olivia Ops")
    owner = UserFactory(email="owner@example.com", display_name="Owen Owner")
    agents = [UserFactory(email=f"agent{i}@example.com") for i in range(6)]
    workflow = make_workflow(
        owner=owner, actor=ops, name="Support reply drafting", slug="support-reply-drafting"
    )
    make_plan(workflow, current="limited", days_running=20)
    cohort = make_cohort(workflow, "limited", agents[0])
    CohortMember.objects.bulk_create([CohortMember(cohort=cohort, user=a) for a in agents[1:]])
    Threshold.objects.create(
        workflow=workflow,
        metric="override_rate",
        comparator="lte",
        limit=0.10,
        min_sample=50,
        window_days=7,
        bad_output="A reply the agent has to rewrite before sending.",
        action="pause_rollout",
    )
    base = f"{live_server.url}/workflows/{workflow.slug}"
    sign_in_as(owner)

    # The owner creates a token for the support tool; it is shown once.
    page.goto(f"{base}/tokens/")
    page.get_by_label("Name").fill("Support tool production")
    page.get_by_role("button", name="Create token").click()
    token = page.locator("#new-token").input_value()
    assert token.startswith("ro_")

    # The tool reports a healthy week: mostly accepted drafts.
    people = [a.email for a in agents]
    for days_ago in range(6, 0, -1):
        result = post_events(
            live_server.url,
            token,
            events_for(people, days_ago=days_ago, outcome="accepted", count=40),
        )
        assert (result["accepted"], result["rejected"]) == (80, 0)

    # The usage page charts the cohort.
    page.goto(f"{base}/usage/?days=30")
    expect(page.get_by_role("heading", name="Last 30 days by cohort")).to_be_visible()
    expect(page.locator("svg.rollout-chart").first).to_be_visible()
    expect(page.get_by_role("rowheader", name=cohort.name)).to_be_visible()
    screenshot(page, "usage-page")

    # Today the drafts go wrong: agents override most of them. The breach pauses the roll-out.
    post_events(
        live_server.url, token, events_for(people, days_ago=0, outcome="overridden", count=60)
    )
    limited = Phase.objects.get(workflow=workflow, kind="limited")
    assert limited.status == PhaseStatus.PAUSED

    page.goto(f"{base}/")
    expect(page.get_by_text("Paused automatically", exact=False).first).to_be_visible()
    expect(page.get_by_text("override rate", exact=False).first).to_be_visible()
    screenshot(page, "overview-paused-by-breach")

    # The owner was told, on their home page.
    page.goto(f"{live_server.url}/")
    expect(page.get_by_text("paused: override rate breached", exact=False).first).to_be_visible()
    assert console_errors == []
