"""The usage page's cost section and the AI configuration page's prices (issue 18 §3): what each
role sees, the figures, bad input for prices, and a fixed number of queries whatever the data."""

from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import ORGANISATION_PK, Organisation
from rollout.models import ActivityEntry, Metric, ModelPrice
from rollout.services import thresholds as threshold_services
from rollout.services.cost_prices import MSG_VERSION_REQUIRED, model_price_declare
from rollout.services.usage_ingest import EventData
from rollout.views.model_prices import MSG_NO_PRICE, MSG_UNKNOWN_ACTION
from tests.factories import UserFactory
from tests.rollout.promotion_fixtures import make_plan
from tests.rollout.usage_events_data import at_noon, event
from tests.rollout.views.conftest import as_user
from tests.rollout.views.usage_page_data import days_ago, make_cohort, member_ref, record_usage

pytestmark = pytest.mark.django_db


def usage_url(workflow, **params) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return reverse("workflow_usage", kwargs={"slug": workflow.slug}) + (
        f"?{query}" if query else ""
    )


def config_url(workflow) -> str:
    return reverse("workflow_configuration", kwargs={"slug": workflow.slug})


def prices_url(workflow) -> str:
    return reverse("workflow_model_prices", kwargs={"slug": workflow.slug})


def costly_day(ref: str, back: int, *, calls: int, accepted: int, tokens: bool = True) -> list:
    at = at_noon(days_ago(back))
    attrs = {"input_tokens": 1000, "output_tokens": 500} if tokens else {"cost": 0.05}
    return [event("invocation", user_ref=ref, at=at, attrs=attrs) for _ in range(calls)] + [
        event("accepted", user_ref=ref, at=at) for _ in range(accepted)
    ]


@pytest.fixture
def priced(workflow, workflow_owner):
    return model_price_declare(
        workflow=workflow,
        actor=workflow_owner,
        model_version="2026-09",
        valid_from=days_ago(60),
        input_per_1k=Decimal("0.01"),
        output_per_1k=Decimal("0.02"),
    )


@pytest.fixture
def costs(workflow, ops_leader, priced):
    """Two cohorts over three days; one unknown cost (an invocation with neither) in no cohort."""
    eu = make_cohort(workflow, ops_leader, "EU agents", 3)
    us = make_cohort(workflow, ops_leader, "US agents", 2)
    events: list[EventData] = []
    for back in (1, 2, 3):
        events += costly_day(member_ref(eu, 0), back, calls=10, accepted=5)
        events += costly_day(member_ref(us, 0), back, calls=4, accepted=4, tokens=False)
    events.append(event("invocation", user_ref="outsider@example.com", at=at_noon(days_ago(1))))
    record_usage(workflow, events)
    return eu, us


@pytest.mark.parametrize("role", ["ops_leader", "executive", "workflow_owner"])
def test_every_role_that_reads_usage_sees_the_cost_section(request, workflow, costs, role):
    response = as_user(request.getfixturevalue(role)).get(usage_url(workflow, days=7))
    assert response.status_code == 200
    section = response.context["cost"]
    page = response.content.decode()
    assert 'id="cost-heading">Cost</h2>' in page
    assert page.count('class="rollout-chart"') >= 2 + len(response.context["charts"])
    # EU: 30 calls × (1 × 0.01 + 0.5 × 0.02) = €0.60, 15 accepted; US: 12 × €0.05 = €0.60.
    eu, us, outsider = section.rows
    assert (eu.label, eu.counts.known_cost, eu.per_accepted) == (
        "EU agents",
        pytest.approx(0.6),
        pytest.approx(0.04),
    )
    assert (us.counts.known_cost, us.per_accepted) == (pytest.approx(0.6), pytest.approx(0.05))
    assert (outsider.counts.events, outsider.counts.unknown, outsider.counts.estimated_cost) == (
        1,
        1,
        None,
    )
    assert section.total.counts.unknown_share == pytest.approx(1 / 43)
    assert "€0.04" in page and "€0.020" in page  # per accepted output; per invocation (EU)
    assert "1 of 43 cost-bearing events (2.3%) have no known cost" in page
    assert ("Declare their prices" in page) == (role != "executive")


def test_cost_is_shown_in_the_organisations_currency(client, ops_leader, workflow, costs):
    Organisation.objects.update_or_create(pk=ORGANISATION_PK, defaults={"currency": "GBP"})
    page = as_user(ops_leader).get(usage_url(workflow, days=7)).content.decode()
    assert "In GBP" in page and "£0.04" in page and "€" not in page


def test_without_any_reported_cost_the_section_says_how_to_report_it(workflow, ops_leader):
    eu = make_cohort(workflow, ops_leader, "EU agents", 1)
    record_usage(workflow, [event("invocation", user_ref=member_ref(eu, 0))])
    response = as_user(ops_leader).get(usage_url(workflow))
    assert response.context["cost"].reports_cost is False
    assert "No cost reported in the last 30 days" in response.content.decode()


def test_the_forecast_states_its_assumption(workflow, ops_leader, priced):
    make_plan(workflow, current="limited")
    eu = make_cohort(workflow, ops_leader, "EU agents", 4)
    eu.enrolled_phase = "broad"
    eu.save()
    # Day -1: two active people, 10 calls at €0.02 each = €0.20: €0.10 per person and day.
    record_usage(
        workflow,
        costly_day(member_ref(eu, 0), 1, calls=5, accepted=1)
        + costly_day(member_ref(eu, 1), 1, calls=5, accepted=1),
    )
    page = as_user(ops_leader).get(usage_url(workflow, days=7)).content.decode()
    assert (
        "If each of the 4 people who get it at the broad roll-out uses it as today's active "
        "users do: <strong>≈ €0.40 per day</strong>."
    ) in page
    assert "Today's active users cost €0.10 per person and day" in page


def test_the_cost_section_costs_the_same_queries_with_few_and_many_events(
    workflow, ops_leader, priced
):
    make_plan(workflow, current="limited")
    cohorts = [make_cohort(workflow, ops_leader, f"Cohort {n}", 2) for n in range(3)]
    for cohort in cohorts:
        cohort.enrolled_phase = "limited"
        cohort.save()
    leader = as_user(ops_leader)

    def queries() -> int:
        cache.clear()  # the section computed, not kept rendered from the request before
        with CaptureQueriesContext(connection) as captured:
            response = leader.get(usage_url(workflow, days=180))
        assert response.status_code == 200 and response.context["cost"].reports_cost
        return len(captured.captured_queries)

    record_usage(workflow, costly_day(member_ref(cohorts[0], 0), 0, calls=1, accepted=1))
    few = queries()
    events = []
    for back in range(0, 180, 3):
        for cohort in cohorts:
            events += costly_day(member_ref(cohort, 1), back, calls=3, accepted=1)
            events += costly_day(member_ref(cohort, 0), back, calls=2, accepted=1, tokens=False)
    record_usage(workflow, events)
    assert queries() == few


# --- Prices on the AI configuration page ---------------------------------------------------------


def test_the_configuration_page_lists_prices_and_offers_the_form_to_the_owner(
    workflow, workflow_owner, executive, priced
):
    page = as_user(workflow_owner).get(config_url(workflow)).content.decode()
    assert 'id="prices-heading">Model prices</h2>' in page
    assert "€0.01" in page and "€0.02" in page
    assert "Price per 1,000 input tokens (EUR)" in page
    read_only = as_user(executive).get(config_url(workflow)).content.decode()
    assert "€0.01" in read_only and "Save the price" not in read_only and "Delete" not in read_only


def test_the_owner_declares_a_price(workflow, workflow_owner):
    response = as_user(workflow_owner).post(
        prices_url(workflow),
        {
            "action": "declare",
            "model_version": " 2026-09 ",
            "valid_from": days_ago(3).isoformat(),
            "input_per_1k": "0.0025",
            "output_per_1k": "0.01",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == config_url(workflow) + "#prices"
    price = ModelPrice.objects.get()
    assert (price.model_version, price.valid_from, price.input_per_1k) == (
        "2026-09",
        days_ago(3),
        Decimal("0.0025"),
    )


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"model_version": ""}, "model_version", MSG_VERSION_REQUIRED),
        ({"valid_from": "yesterday"}, "valid_from", "Enter a valid date."),
        ({"valid_from": "2026-02-30"}, "valid_from", "Enter a valid date."),
        (
            {"input_per_1k": "-1"},
            "input_per_1k",
            "Ensure this value is greater than or equal to 0.",
        ),
        ({"input_per_1k": "abc"}, "input_per_1k", "Enter a number."),
        ({"output_per_1k": "NaN"}, "output_per_1k", "Enter a number."),
        (
            {"output_per_1k": "100001"},
            "output_per_1k",
            "Ensure this value is less than or equal to 100000.",
        ),
        (
            {"output_per_1k": "0.0000001"},
            "output_per_1k",
            "Ensure that there are no more than 6 decimal places.",
        ),
        ({"model_version": "a\x00b"}, "model_version", "Null characters are not allowed."),
    ],
)
def test_bad_price_input_re_renders_the_form_and_changes_nothing(
    workflow, workflow_owner, data, field, message
):
    body = {
        "action": "declare",
        "model_version": "2026-09",
        "valid_from": days_ago(3).isoformat(),
        "input_per_1k": "0.0025",
        "output_per_1k": "0.01",
        **data,
    }
    before = ActivityEntry.objects.count()
    response = as_user(workflow_owner).post(prices_url(workflow), body)
    assert response.status_code == 200
    form = response.context["price_form"]
    assert form.errors == {field: [message]}
    assert response.context["price_form_open"] is True
    assert not ModelPrice.objects.exists()
    assert ActivityEntry.objects.count() == before


def test_the_highest_price_and_the_longest_version_are_allowed(workflow, workflow_owner):
    response = as_user(workflow_owner).post(
        prices_url(workflow),
        {
            "action": "declare",
            "model_version": "x" * 80,
            "valid_from": days_ago(3).isoformat(),
            "input_per_1k": "100000",
            "output_per_1k": "0",
        },
    )
    assert response.status_code == 302
    assert ModelPrice.objects.get().input_per_1k == Decimal("100000")


def test_delete_and_its_mistakes(workflow, workflow_owner, priced):
    client = as_user(workflow_owner)
    response = client.post(prices_url(workflow), {"action": "delete", "price": "abc"}, follow=True)
    assert MSG_NO_PRICE in response.content.decode()
    response = client.post(prices_url(workflow), {"action": "explode"}, follow=True)
    assert MSG_UNKNOWN_ACTION in response.content.decode()
    assert ModelPrice.objects.exists()
    response = client.post(prices_url(workflow), {"action": "delete", "price": priced.pk})
    assert response.status_code == 302
    assert not ModelPrice.objects.exists()
    response = client.post(
        prices_url(workflow), {"action": "delete", "price": priced.pk}, follow=True
    )
    assert "That price was already deleted." in response.content.decode()


def test_a_cohort_member_and_a_stranger_cannot_declare(workflow, ops_leader):
    member = UserFactory(email="m@example.com")
    cohort = make_cohort(workflow, ops_leader, "EU agents", 0)
    cohort.members.add(member)
    for user in (member, UserFactory(email="s@example.com")):
        response = as_user(user).post(
            prices_url(workflow),
            {"action": "declare", "model_version": "v", "valid_from": "2026-01-01"},
        )
        assert response.status_code == 404
    assert as_user(ops_leader).get(prices_url(workflow)).status_code == 405
    assert not ModelPrice.objects.exists()


def test_a_forecast_with_nobody_at_the_next_phase_says_how_to_get_one(workflow, ops_leader, priced):
    make_plan(workflow, current="limited")
    eu = make_cohort(workflow, ops_leader, "EU agents", 2)  # not enrolled
    record_usage(workflow, costly_day(member_ref(eu, 0), 1, calls=2, accepted=1))
    page = as_user(ops_leader).get(usage_url(workflow, days=7)).content.decode()
    assert "No one gets it at the broad roll-out yet" in page
    assert "If each of the" not in page


def test_a_cost_per_accepted_output_threshold_is_drawn_on_its_chart(workflow, ops_leader, costs):
    threshold_services.threshold_create(
        workflow=workflow,
        actor=ops_leader,
        metric=Metric.COST_PER_ACCEPTED_OUTPUT,
        comparator="lte",
        limit=0.045,
        marginal_limit=0.06,
        window_days=7,
        min_sample=10,
        scope="workflow",
        bad_output="An output that costs more than a person's minute.",
        action="alert",
    )
    response = as_user(ops_leader).get(usage_url(workflow, days=7))
    chart = response.context["cost"].charts[1].line
    # Highest first, as the chart draws them.
    assert [t.label for t in chart.plot.thresholds] == ["fails > €0.060", "limit €0.045"]
