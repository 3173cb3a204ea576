"""An escalation in the browser: nobody at level 1 answers, the scheduler moves it to level 2,
and the level-2 contact finds it and acknowledges it."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from rollout.models import Escalation
from rollout.services.escalation_path import escalation_level_add
from rollout.services.escalations import (
    escalation_add_note,
    escalation_open,
    escalation_resolve,
    escalations_advance,
)
from tests.browser.conftest import axe_violations, screenshot
from tests.factories import UserFactory, make_workflow, ops_leader_user

pytestmark = pytest.mark.browser

WIDTHS = {"desktop": 1280, "phone": 390}


@pytest.mark.django_db(transaction=True)
def test_an_escalation_climbs_a_level_and_the_level_2_contact_acknowledges_it(
    page: Page, live_server, sign_in_as, console_errors
):
    ops = ops_leader_user(email="ops@example.com", display_name="Olivia Ops")
    owner = UserFactory(email="owner@example.com", display_name="Owen Owner")
    first = UserFactory(email="fay@example.com", display_name="Fay First")
    second = UserFactory(email="sid@example.com", display_name="Sid Second")
    workflow = make_workflow(
        owner=owner, actor=ops, name="Support reply drafting", slug="support-reply-drafting"
    )
    for person, channel, target in ((first, "email", 30), (second, "in_app", 60)):
        escalation_level_add(
            workflow=workflow,
            actor=ops,
            contact=person,
            channel=channel,
            response_target_minutes=target,
        )
    escalation = escalation_open(
        workflow=workflow,
        title="Replies promise refunds we do not give",
        source="manual",
        severity="critical",
        actor=owner,
        description="Three customers in the EU cohort were promised refunds this morning.",
        now=timezone.now() - timedelta(minutes=31),
    )
    past = escalation_open(workflow=workflow, title="Slow replies", source="manual")
    escalation_add_note(escalation=past, actor=first, note="The provider had an outage.")
    escalation_resolve(escalation=past, actor=first, note="Provider recovered; latency is normal.")

    # Opened 31 minutes ago and nobody at level 1 acknowledged within their 30 minutes: the
    # scheduler's tick, run now, moves it on to level 2.
    assert escalations_advance(now=timezone.now()) == 1
    escalation.refresh_from_db()
    assert (escalation.step, escalation.current_contact) == (2, second)

    sign_in_as(second)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/workflows/{workflow.slug}/escalation/")
    expect(page.get_by_role("heading", name="Open escalations")).to_be_visible()
    page.get_by_text("Timeline of “Replies promise refunds").first.click()
    expect(page.get_by_text("Level 2 notified").first).to_be_visible()
    for name, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 900})
        screenshot(page, f"escalation-list-{name}")
    page.set_viewport_size({"width": 1280, "height": 900})
    assert axe_violations(page) == []
    print("AFTER LIST", len(console_errors))

    page.get_by_role("link", name="Replies promise refunds we do not give").click()
    expect(
        page.get_by_role("heading", name="Replies promise refunds we do not give")
    ).to_be_visible()
    expect(page.get_by_text("Level 2 notified")).to_be_visible()
    expect(page.get_by_text("the owner is told that nobody acknowledged")).to_be_visible()
    for name, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 900})
        screenshot(page, f"escalation-detail-{name}")
    page.set_viewport_size({"width": 1280, "height": 900})
    assert axe_violations(page) == []

    print("BEFORE ACK", len(console_errors))
    # htmx swaps the panel: the acknowledgement shows without a page load.
    page.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_role("status").filter(has_text="Acknowledged.")).to_be_visible()
    expect(page.get_by_text("Acknowledged by Sid Second")).to_be_visible()
    expect(page.get_by_role("button", name="Acknowledge")).to_have_count(0)
    escalation.refresh_from_db()
    assert (escalation.status, escalation.acknowledged_by) == ("acknowledged", second)
    assert escalation.next_step_at is None

    print("AFTER ACK", len(console_errors))
    page.get_by_label("What was done").fill("Rolled the prompt back to version 12.")
    page.get_by_role("button", name="Resolve").click()
    expect(page.get_by_text("What was done: Rolled the prompt back")).to_be_visible()
    for name, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 900})
        screenshot(page, f"escalation-resolved-{name}")
    assert Escalation.objects.get(pk=escalation.pk).status == "resolved"
    assert console_errors == [], console_errors
