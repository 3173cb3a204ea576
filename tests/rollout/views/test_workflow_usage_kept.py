"""The usage page keeps its charts, table by cohort and cost section rendered
(rollout/views/_usage_sections.py): asked again, it shows them as they were only while nothing
they are made of changed. Each test renders the page (so the sections are kept), changes one input
the way the product changes it, and reads the page again: the sections show the change."""

import re
from decimal import Decimal
from html import unescape

import pytest
from django.urls import reverse

from accounts.selectors import organisation_get
from accounts.services import organisation_update
from rollout.services.cohorts import cohort_members_add, cohort_update
from rollout.services.cost_prices import model_price_declare
from rollout.services.feedback import feedback_create
from tests.factories import UserFactory
from tests.rollout.usage_events_data import at_noon, event
from tests.rollout.views.conftest import as_user
from tests.rollout.views.usage_page_data import (
    add_threshold,
    day_events,
    days_ago,
    make_cohort,
    member_ref,
    record_usage,
)

pytestmark = pytest.mark.django_db


def url(workflow, **params) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return reverse("workflow_usage", kwargs={"slug": workflow.slug}) + (
        f"?{query}" if query else ""
    )


def row(page: str, label: str) -> list[str]:
    """The cells of the table-by-cohort row `label` (the first table whose row it is)."""
    found = re.search(rf'<th scope="row">{re.escape(label)}</th>(.*?)</tr>', page, re.S)
    assert found, f"no row {label!r}"
    return [unescape(cell) for cell in re.findall(r"<td>(.*?)</td>", found.group(1), re.S)]


@pytest.fixture
def eu(workflow, ops_leader):
    """A cohort of 3 with usage on three days, its model version priced."""
    cohort = make_cohort(workflow, ops_leader, "EU agents", 3)
    events = []
    for back in (1, 2, 3):
        events += day_events(member_ref(cohort, 0), days_ago(back), invocations=2, accepted=1)
        events.append(
            event(
                "invocation",
                user_ref=member_ref(cohort, 1),
                at=at_noon(days_ago(back)),
                attrs={"model_version": "2026-09", "input_tokens": 1000, "output_tokens": 500},
            )
        )
    record_usage(workflow, events)
    return cohort


@pytest.fixture
def leader(ops_leader):
    return as_user(ops_leader)


def page(client, workflow, **params) -> str:
    """The page's body (charts, tables, sections): what follows the page's head, whose script
    nonce is new on every response."""
    response = client.get(url(workflow, **params))
    assert response.status_code == 200
    return response.content.decode().partition('<div id="usage-body"')[2]


def test_nothing_changed_shows_the_same_page(leader, workflow, eu):
    first = page(leader, workflow, days=30)
    assert page(leader, workflow, days=30) == first
    assert row(first, "EU agents")[0] == "9"  # invocations


def test_new_usage_rolled_up_shows_at_once(leader, workflow, eu):
    assert row(page(leader, workflow, days=30), "EU agents")[0] == "9"
    record_usage(workflow, day_events(member_ref(eu, 2), days_ago(0), invocations=4))
    after = page(leader, workflow, days=30)
    assert row(after, "EU agents")[0] == "13"
    assert row(after, "EU agents")[1] == "100.0% (3 of 3)"  # all three active now


def test_a_new_member_changes_the_members_counted(
    leader, workflow, eu, ops_leader, django_capture_on_commit_callbacks
):
    assert row(page(leader, workflow, days=30), "EU agents")[1] == "66.7% (2 of 3)"
    # The plan version moves when the change commits (rollout.services.decision_cache).
    with django_capture_on_commit_callbacks(execute=True):
        cohort_members_add(cohort=eu, users=[UserFactory()], actor=ops_leader)
    assert row(page(leader, workflow, days=30), "EU agents")[1] == "50.0% (2 of 4)"


def test_a_renamed_cohort_shows_its_new_name(leader, workflow, eu, ops_leader):
    assert "EU agents" in page(leader, workflow, days=30)
    cohort_update(cohort=eu, name="Europe", actor=ops_leader)
    assert row(page(leader, workflow, days=30), "Europe")[0] == "9"


def test_feedback_given_changes_the_negative_share(leader, workflow, eu):
    assert row(page(leader, workflow, days=30), "EU agents")[-1] == "—"
    author = eu.members.first()
    feedback_create(workflow=workflow, rating="not_helpful", category="wrong_output", author=author)
    assert row(page(leader, workflow, days=30), "EU agents")[-1] == "100.0% (1 of 1)"


def test_a_new_threshold_is_drawn_on_its_chart(leader, workflow, eu, ops_leader):
    before = page(leader, workflow, days=30)
    add_threshold(workflow, ops_leader, metric="override_rate", limit=0.25)
    after = page(leader, workflow, days=30)
    assert "chart-threshold-label" not in before
    assert re.findall(r'class="chart-threshold-label[^>]*>([^<]*)<', after) == ["limit ≤ 25%"]


def test_a_price_declared_later_costs_the_days_it_covers(leader, workflow, eu, workflow_owner):
    before = page(leader, workflow, days=30)
    model_price_declare(
        workflow=workflow,
        actor=workflow_owner,
        model_version="2026-09",
        valid_from=days_ago(60),
        input_per_1k=Decimal("0.01"),
        output_per_1k=Decimal("0.02"),
    )
    after = page(leader, workflow, days=30)
    assert after != before
    # 3 calls of 1,000 input and 500 output tokens: 3 × (0.01 + 0.01) = 0.06.
    assert "0.06" in after and "0.06" not in before


def test_a_new_currency_shows_at_once(leader, workflow, eu, ops_leader):
    assert "In EUR" in page(leader, workflow, days=30)
    org = organisation_get()
    organisation_update(
        actor=ops_leader,
        name=org.name or "Example",
        default_time_zone=org.default_time_zone,
        currency="GBP",
        default_lead_time_days=org.default_lead_time_days,
    )
    assert "In GBP" in page(leader, workflow, days=30)


def test_each_period_and_cohort_is_kept_apart(leader, workflow, eu, ops_leader):
    us = make_cohort(workflow, ops_leader, "US agents", 2)
    record_usage(workflow, day_events(member_ref(us, 0), days_ago(20), invocations=5))
    assert row(page(leader, workflow, days=30), "US agents")[0] == "5"
    assert row(page(leader, workflow, days=7), "US agents")[0] == "0"
    only_eu = page(leader, workflow, days=30, cohort=eu.pk)
    assert row(only_eu, "EU agents")[0] == "9" and 'row">US agents<' not in only_eu


def test_a_repeat_view_reads_no_days_figures(leader, workflow, eu, monkeypatch):
    """Whether the period has usage and the groups shown are kept with the sections: a view
    whose sections are kept reads none of the days' figures."""
    first = page(leader, workflow, days=30)

    def unread(*args, **kwargs):
        raise AssertionError("the days' figures were read again")

    monkeypatch.setattr("rollout.views.usage.usage_daily", unread)
    assert page(leader, workflow, days=30) == first


def test_a_period_without_usage_shows_it_until_usage_comes(leader, workflow, eu, ops_leader):
    # EU's usage is 1–3 days back: the last 7 days' smoothing reads 13 days, the 7 days shown
    # have usage; US's 10 days back is read for the smoothing only, not shown.
    us = make_cohort(workflow, ops_leader, "US agents", 2)
    record_usage(workflow, day_events(member_ref(us, 0), days_ago(10), invocations=5))
    only_us = page(leader, workflow, days=7, cohort=us.pk)
    assert "No usage in the last 7 days for “US agents”." in unescape(only_us)
    assert page(leader, workflow, days=7, cohort=us.pk) == only_us  # kept, and still so
    record_usage(workflow, day_events(member_ref(us, 1), days_ago(0), invocations=2))
    after = page(leader, workflow, days=7, cohort=us.pk)
    assert "No usage in the last" not in after and row(after, "US agents")[0] == "2"


def test_a_workflow_that_never_reported_says_how_to_start(leader, workflow):
    body = page(leader, workflow, days=30)
    assert "No usage reported yet" in body and 'class="chart-grid"' not in body
