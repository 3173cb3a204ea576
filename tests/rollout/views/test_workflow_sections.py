"""A workflow's sections (the sidebar, a menu on a phone): grouped, the current one marked, and
only those the role may open — the same checks as the pages themselves."""

import re
from html import escape, unescape

import pytest
from django.urls import reverse

from accounts.models import User
from rollout.models import Workflow
from rollout.services.cohorts import cohort_create, cohort_members_add
from tests.factories import UserFactory
from tests.rollout.views.conftest import as_user

pytestmark = pytest.mark.django_db

EVERY_SECTION = {
    "Roll-out": ["Overview", "Plan", "Cohorts", "Briefing", "Thresholds", "Reviews"],
    "Signals": ["Usage", "Outcome metrics", "AI configuration", "Feedback", "Review queue"],
    "Response": ["Escalation", "Incidents"],
    "Communication": ["Notices", "Activity"],
    "Evidence": ["Evidence"],
    "Integration": ["API tokens", "Webhooks & chat"],
}
NAV = re.compile(r'<nav class="workflow-nav" aria-label="Workflow sections">(.*?)</nav>', re.S)
GROUP = re.compile(
    r'<p class="workflow-nav-heading" id="(sections-\d+)">([^<]+)</p>\s*'
    r'<ul aria-labelledby="\1">(.*?)</ul>',
    re.S,
)
LINK = re.compile(r'<li><a href="([^"]+)"( aria-current="page")?>([^<]+)</a></li>')


@pytest.fixture
def member(workflow: Workflow, workflow_owner: User) -> User:
    cohort = cohort_create(workflow=workflow, name="EU agents", actor=workflow_owner)
    person = UserFactory(email="amy@example.com", display_name="Amy Agent")
    cohort_members_add(cohort=cohort, users=[person], actor=workflow_owner)
    return person


def sections(html: str) -> dict[str, list[str]]:
    """{group heading: [section label, ...]} as the page draws them; the current one ends in *."""
    (nav,) = NAV.findall(html)
    return {
        heading: [
            unescape(label) + ("*" if current else "") for _, current, label in LINK.findall(links)
        ]
        for _, heading, links in GROUP.findall(nav)
    }


def marked(groups: dict[str, list[str]], current: str) -> dict[str, list[str]]:
    return {h: [s + "*" if s == current else s for s in labels] for h, labels in groups.items()}


@pytest.mark.parametrize("role", ["workflow_owner", "ops_leader"])
def test_the_owner_and_ops_leaders_get_every_section(role, request, workflow):
    html = as_user(request.getfixturevalue(role)).get(workflow.get_absolute_url()).content
    assert sections(html.decode()) == marked(EVERY_SECTION, "Overview")


def test_executives_get_no_integration_section(executive, workflow):
    url = reverse("workflow_usage", args=[workflow.slug])
    html = as_user(executive).get(url).content.decode()
    expected = {h: s for h, s in EVERY_SECTION.items() if h != "Integration"}
    # The review queue shows excerpts of AI outputs: not to executives.
    expected["Signals"] = [s for s in expected["Signals"] if s != "Review queue"]
    assert sections(html) == marked(expected, "Usage")
    assert reverse("workflow_review_queue", args=[workflow.slug]) not in html
    assert reverse("workflow_tokens", args=[workflow.slug]) not in html
    assert reverse("workflow_webhooks", args=[workflow.slug]) not in html


def test_cohort_members_get_the_member_facing_sections_only(member, workflow):
    url = reverse("workflow_feedback", args=[workflow.slug])
    html = as_user(member).get(url).content.decode()
    assert sections(html) == {
        "Roll-out": ["Overview", "Briefing"],
        "Signals": ["Feedback*"],
        "Response": ["Incidents"],
    }
    hidden_pages = (
        "workflow_plan",
        "workflow_usage",
        "workflow_notices",
        "workflow_activity",
        "workflow_evidence",
    )
    for hidden in hidden_pages:
        assert reverse(hidden, args=[workflow.slug]) not in html


@pytest.mark.parametrize(
    ("url_name", "current"),
    [
        ("workflow_plan", "Plan"),
        ("workflow_cohorts", "Cohorts"),
        ("workflow_briefing", "Briefing"),
        ("workflow_thresholds", "Thresholds"),
        ("workflow_reviews", "Reviews"),
        ("escalation_path", "Escalation"),
        ("workflow_incidents", "Incidents"),
        ("workflow_notices", "Notices"),
        ("workflow_activity", "Activity"),
        ("workflow_configuration", "AI configuration"),
        ("workflow_review_queue", "Review queue"),
        ("workflow_evidence", "Evidence"),
        ("workflow_tokens", "API tokens"),
        ("workflow_webhooks", "Webhooks & chat"),
    ],
)
def test_each_page_marks_its_own_section(url_name, current, workflow_owner, workflow):
    html = as_user(workflow_owner).get(reverse(url_name, args=[workflow.slug])).content.decode()
    assert sections(html) == marked(EVERY_SECTION, current)
    # On a phone the menu's summary says where you are.
    assert f'<span class="muted">Section:</span> {escape(current)}</summary>' in html


def test_the_edit_page_has_the_sections_and_marks_none(workflow_owner, workflow):
    html = as_user(workflow_owner).get(reverse("workflow_edit", args=[workflow.slug])).content
    assert sections(html.decode()) == EVERY_SECTION
    assert b'<span class="menu-icon" aria-hidden="true"></span>Sections</summary>' in html


def test_pages_outside_a_workflow_have_no_sections(workflow_owner, workflow):
    for url in ("/", "/workflows/", "/inbox/", "/calendar/"):
        html = as_user(workflow_owner).get(url).content.decode()
        assert 'aria-label="Workflow sections"' not in html, url
        assert '<details class="nav-menu">' in html, url


def test_strangers_get_404_and_no_sections(other_user, workflow):
    response = as_user(other_user).get(workflow.get_absolute_url())
    assert response.status_code == 404
    assert b"Workflow sections" not in response.content
