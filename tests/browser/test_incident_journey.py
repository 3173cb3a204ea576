"""An incident in the browser: the owner opens one, adds to its timeline and posts an update to
the affected cohort, closes it with what happened and what changed, which publishes the
explanation at once; a member of the affected cohort finds the update and the explanation in
their inbox and reads it."""

import re

import pytest
from playwright.sync_api import Page, expect

from rollout.models import Incident
from rollout.services.cohorts import cohort_create, cohort_members_add
from tests.browser.conftest import axe_violations, screenshot
from tests.factories import UserFactory, make_workflow, ops_leader_user

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.mark.django_db(transaction=True)
def test_owner_opens_updates_and_closes_an_incident(
    page: Page, live_server, sign_in_as, console_errors
):
    ops = ops_leader_user(email="ops@example.com", display_name="Olivia Ops")
    owner = UserFactory(email="owner@example.com", display_name="Owen Owner")
    member = UserFactory(email="amy@example.com", display_name="Amy Agent")
    workflow = make_workflow(
        owner=owner, actor=ops, name="Support reply drafting", slug="support-reply-drafting"
    )
    eu = cohort_create(workflow=workflow, name="EU tier-1 agents", actor=owner)
    cohort_create(workflow=workflow, name="UK tier-1 agents", actor=owner)
    cohort_members_add(cohort=eu, users=[member], actor=owner)
    base = f"{live_server.url}/workflows/{workflow.slug}"
    page.set_viewport_size(DESKTOP)
    sign_in_as(owner)

    # Open one from the Incidents tab.
    page.goto(f"{base}/")
    page.get_by_role("link", name="Incidents").click()
    expect(page.get_by_text("No incidents recorded.")).to_be_visible()
    page.get_by_label("Title").fill("Replies promised refunds we do not give")
    page.get_by_label("Started").fill("2026-03-03T14:05")
    page.get_by_label("Detected by").fill("Complaints from three EU agents")
    page.get_by_label("Impact").fill("About 40 replies to EU customers offered a refund.")
    page.get_by_label("EU tier-1 agents").check()
    screenshot(page, "incidents-open-form-desktop")
    assert axe_violations(page) == []
    page.get_by_role("button", name="Open incident").click()
    expect(page).to_have_url(re.compile(r"/incidents/\d+/$"))
    expect(
        page.get_by_role("heading", name="Replies promised refunds we do not give")
    ).to_be_visible()
    incident = Incident.objects.get()

    # A timeline entry, swapped in by htmx.
    page.get_by_label("New timeline entry").fill("Rolled the prompt back to the previous version.")
    page.get_by_role("button", name="Add to timeline").click()
    expect(page.locator("#incident-body [role=status]")).to_have_text("Added to the timeline.")
    expect(page.locator(".incident-timeline")).to_contain_text(
        "Rolled the prompt back to the previous version."
    )
    screenshot(page, "incident-open-desktop")
    assert axe_violations(page) == []

    # An update posted to the people affected (their inbox), as a status page would.
    page.get_by_label("New timeline entry").fill("We found the cause and are fixing it.")
    page.get_by_label("Also post it to the people affected").check()
    page.get_by_role("button", name="Add to timeline").click()
    expect(page.locator("#incident-body [role=status]")).to_have_text(
        "Added to the timeline and posted to EU tier-1 agents."
    )

    # Closing needs both answers (the browser asks for them first; the server refuses too, see
    # tests/rollout/views/test_incidents.py).
    page.get_by_role("textbox", name="What happened", exact=True).fill(
        "A prompt change on 3 March told the model it could offer refunds."
    )
    page.get_by_label("What changed").fill(
        "We rolled the prompt back and added a check that blocks any reply offering a refund."
    )
    page.get_by_role("button", name="Close and publish the explanation").click()
    expect(page.get_by_role("heading", name="Explanation to EU tier-1 agents")).to_be_visible()
    expect(page.locator(".notice-draft")).to_contain_text(
        "Marked urgent and sent without approval, as every incident explanation is."
    )
    expect(page.get_by_role("link", name="See who has read it")).to_be_visible()
    expect(page.locator(".notice-draft .notice-title")).to_contain_text(
        "What happened with Support reply drafting on 3 March 2026, and what we changed"
    )
    incident.refresh_from_db()
    assert (incident.status, incident.closed_by) == ("closed", owner)
    assert axe_violations(page) == []
    screenshot(page, "incident-closed-desktop")
    page.set_viewport_size(PHONE)
    screenshot(page, "incident-closed-phone")
    page.goto(f"{base}/incidents/")
    screenshot(page, "incidents-list-phone")
    page.set_viewport_size(DESKTOP)
    screenshot(page, "incidents-list-desktop")

    # The member of the affected cohort finds the update and the explanation in their inbox.
    sign_in_as(member)
    page.goto(f"{live_server.url}/inbox/")
    explanation = "What happened with Support reply drafting on 3 March 2026, and what we changed"
    expect(page.get_by_role("link", name=explanation)).to_be_visible()
    expect(
        page.get_by_role(
            "link", name="Update on the incident: Replies promised refunds we do not give"
        )
    ).to_be_visible()
    screenshot(page, "inbox-incident-explanation-desktop")
    page.get_by_role("link", name=explanation).click()
    expect(page.get_by_text("We rolled the prompt back and added a check")).to_be_visible()
    assert axe_violations(page) == []

    # The incident page shows them the explanation, not the internal workings.
    page.goto(f"{base}/incidents/")
    page.get_by_role("link", name="Replies promised refunds we do not give").click()
    expect(page.get_by_text("We rolled the prompt back and added a check")).to_be_visible()
    expect(page.get_by_role("heading", name="Timeline")).to_have_count(0)
    page.set_viewport_size(PHONE)
    screenshot(page, "incident-member-phone")
    assert console_errors == []


@pytest.mark.django_db(transaction=True)
def test_open_incidents_show_on_the_overview_and_portfolio(
    page: Page, live_server, sign_in_as, console_errors
):
    from django.utils import timezone

    from rollout.services.incidents import incident_open

    ops = ops_leader_user(email="ops@example.com", display_name="Olivia Ops")
    workflow = make_workflow(
        actor=ops, name="Support reply drafting", slug="support-reply-drafting"
    )
    incident_open(
        workflow=workflow,
        actor=ops,
        title="Replies promised refunds",
        started_at=timezone.now(),
    )
    page.set_viewport_size(DESKTOP)
    sign_in_as(ops)
    page.goto(f"{live_server.url}/workflows/")
    expect(page.get_by_role("link", name="1 open incident")).to_be_visible()
    screenshot(page, "portfolio-open-incident")
    page.get_by_role("link", name="Support reply drafting").click()
    expect(page.get_by_role("heading", name="Open incident")).to_be_visible()
    screenshot(page, "overview-open-incident")
    page.get_by_role("link", name="Replies promised refunds").click()
    expect(page).to_have_url(re.compile(r"/incidents/\d+/$"))
    assert console_errors == []
