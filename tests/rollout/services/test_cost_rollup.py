"""The cost rollup (rollout.services.cost_rollup) and its pricing when read
(rollout.selectors.costs): per cohort and day, the costs equal a recomputation from the raw
events with the prices in force on each day, whatever mix of reported costs, tokens and events
with neither; a price declared or changed later re-costs exactly the days it covers."""

import math
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from rollout.models import Cohort, CohortMember, CostDay, UsageEvent
from rollout.selectors.costs import CostCounts, PriceBook, cost_daily, cost_total, price_book
from rollout.services.cost_prices import model_price_declare
from rollout.services.usage_rollup import usage_rollup_rebuild
from tests.factories import UserFactory
from tests.rollout.usage_events_data import at_noon, days_ago, event, ingest

pytestmark = pytest.mark.django_db

DECLARED = "2026-09"  # the workflow's model version (tests.factories.make_workflow)


def _declare(workflow, actor, version, days_back, per_input, per_output):
    return model_price_declare(
        workflow=workflow,
        actor=actor,
        model_version=version,
        valid_from=days_ago(days_back),
        input_per_1k=Decimal(per_input),
        output_per_1k=Decimal(per_output),
    )


def _recomputed(workflow) -> dict:
    """{(cohort id, day): (known cost, costed events, cost-bearing events)} straight from the raw
    events and the prices, event by event (the rollups' meaning, written the slow way)."""
    book = price_book(workflow)
    result: dict = defaultdict(lambda: [0.0, 0, 0])
    for e in UsageEvent.objects.filter(workflow=workflow):
        attrs = e.attrs
        tokens = "input_tokens" in attrs or "output_tokens" in attrs
        if e.kind != "invocation" and "cost" not in attrs and not tokens:
            continue
        row = result[(e.cohort_id, timezone.localdate(e.occurred_at))]
        row[2] += 1
        if "cost" in attrs:
            row[0] += attrs["cost"]
            row[1] += 1
            continue
        price = book.in_force(
            attrs.get("model_version", DECLARED), timezone.localdate(e.occurred_at)
        )
        if tokens and price is not None:
            row[0] += float(
                (attrs.get("input_tokens", 0) * price[0] + attrs.get("output_tokens", 0) * price[1])
                / 1000
            )
            row[1] += 1
    return {key: tuple(value) for key, value in result.items()}


def _from_rollups(workflow, start, end) -> dict:
    return {
        key: (counts.known_cost, counts.costed, counts.events)
        for key, counts in cost_daily(workflow, start=start, end=end).items()
    }


def _mixed_usage(workflow, cohort_member) -> None:
    for back in (6, 3, 1):
        noon = at_noon(days_ago(back))
        ingest(
            workflow,
            [
                event("invocation", at=noon, attrs={"input_tokens": 1200, "output_tokens": 300}),
                event(
                    "invocation",
                    at=noon,
                    user_ref=cohort_member.email,
                    attrs={"input_tokens": 800, "output_tokens": 100, "model_version": "mini"},
                ),
                event("invocation", at=noon, user_ref=cohort_member.email, attrs={"cost": 0.25}),
                event("invocation", at=noon, attrs={"cost": 0.1, "input_tokens": 5}),
                event("invocation", at=noon),  # neither: unknown
                event("accepted", at=noon),  # not cost-bearing
                event("edited", at=noon, attrs={"output_tokens": 40}),  # tokens on another kind
                event("fallback", at=noon),
            ],
        )


@pytest.fixture
def member(workflow):
    cohort = Cohort.objects.create(workflow=workflow, name="Pilot")
    user = UserFactory(email="mia@example.com")
    CohortMember.objects.create(cohort=cohort, user=user)
    return user


def _assert_equal(ours: dict, reference: dict) -> None:
    assert ours.keys() == reference.keys()
    for key, (cost, costed, events) in reference.items():
        assert ours[key][1:] == (costed, events), key
        assert math.isclose(ours[key][0], cost, rel_tol=1e-9, abs_tol=1e-12), key


def test_rollups_equal_a_recomputation_from_raw_events(workflow, workflow_owner, member):
    _declare(workflow, workflow_owner, DECLARED, 10, "0.002", "0.008")
    _declare(workflow, workflow_owner, DECLARED, 2, "0.001", "0.004")  # cheaper from 2 days ago
    _mixed_usage(workflow, member)
    start, end = days_ago(7), days_ago(0)
    reference = _recomputed(workflow)
    _assert_equal(_from_rollups(workflow, start, end), reference)
    # Per day: the unknown ones are the events with neither, and "mini" (no price declared).
    day = _from_rollups(workflow, start, end)
    none_day = (None, days_ago(6))
    # People in no cohort: tokens (priced), cost and tokens, tokens on an edit; one with neither.
    assert day[none_day][1:] == (3, 4)
    # Rebuilt from scratch (the recovery command), the same again.
    CostDay.objects.all().delete()
    usage_rollup_rebuild(workflow=workflow)
    _assert_equal(_from_rollups(workflow, start, end), reference)


def test_cost_from_tokens_times_the_price_in_force(workflow, workflow_owner):
    _declare(workflow, workflow_owner, DECLARED, 10, "0.002", "0.008")
    ingest(
        workflow,
        [event(at=at_noon(days_ago(1)), attrs={"input_tokens": 1500, "output_tokens": 500})],
    )
    total = cost_total(cost_daily(workflow, start=days_ago(1), end=days_ago(1)))
    # 1.5 × 0.002 + 0.5 × 0.008
    assert math.isclose(total.known_cost, 0.007)
    assert (total.costed, total.events, total.unknown) == (1, 1, 0)
    assert (total.input_tokens, total.output_tokens) == (1500, 500)


def test_a_price_declared_later_re_costs_the_days_it_covers_and_only_those(
    workflow, workflow_owner
):
    tokens = {"input_tokens": 1000, "output_tokens": 1000}
    ingest(workflow, [event(at=at_noon(days_ago(back)), attrs=tokens) for back in (5, 2)])

    def cost_on(back):
        counts = cost_daily(workflow, start=days_ago(back), end=days_ago(back))[
            (None, days_ago(back))
        ]
        return counts.known_cost, counts.unknown

    assert cost_on(5) == (0.0, 1) and cost_on(2) == (0.0, 1)  # no price: unknown, never zero
    _declare(workflow, workflow_owner, DECLARED, 7, "0.01", "0.03")
    assert cost_on(5) == pytest.approx((0.04, 0)) and cost_on(2) == pytest.approx((0.04, 0))
    _declare(workflow, workflow_owner, DECLARED, 3, "0.02", "0.05")  # a change from 3 days ago
    assert cost_on(5) == pytest.approx((0.04, 0))  # history kept
    assert cost_on(2) == pytest.approx((0.07, 0))
    _declare(workflow, workflow_owner, DECLARED, 3, "0.01", "0.01")  # that day's price replaced
    assert cost_on(2) == pytest.approx((0.02, 0))


def test_events_without_a_model_version_take_the_configuration_in_effect(workflow, workflow_owner):
    _declare(workflow, workflow_owner, DECLARED, 5, "1", "1")
    ingest(
        workflow,
        [
            event(at=at_noon(days_ago(1)), attrs={"input_tokens": 1000}),
            event(at=at_noon(days_ago(1)), attrs={"input_tokens": 1000, "model_version": "other"}),
        ],
    )
    rows = dict(CostDay.objects.values_list("model_version", "priced_input_tokens"))
    assert rows == {DECLARED: 1000, "other": 1000}
    total = cost_total(cost_daily(workflow, start=days_ago(1), end=days_ago(1)))
    assert (total.known_cost, total.unknown, total.unpriced) == (1.0, 1, {"other": 1})


def test_the_estimate_stands_in_for_unknown_costs_never_zero():
    book = PriceBook([])
    row = CostDay(
        day=timezone.localdate(), reported=3, reported_cost=0.3, unreported=1, model_version="x"
    )
    counts = CostCounts()
    counts.add_row(row, book)
    assert (counts.events, counts.costed, counts.unknown) == (4, 3, 1)
    assert counts.cost_per_event == pytest.approx(0.1)
    assert counts.estimated_cost == pytest.approx(0.4)
    assert counts.unknown_share == 0.25
    nothing_known = CostCounts()
    nothing_known.add_row(CostDay(day=timezone.localdate(), unreported=2), book)
    assert nothing_known.estimated_cost is None


def test_the_price_in_force_is_the_latest_valid_from_on_or_before_the_day():
    day = timezone.localdate()

    class P:
        def __init__(self, back, price):
            self.model_version, self.valid_from = "v", day - timedelta(days=back)
            self.input_per_1k = self.output_per_1k = Decimal(price)

    book = PriceBook([P(10, "1"), P(3, "2")])
    assert book.in_force("v", day - timedelta(days=11)) is None
    assert book.in_force("v", day - timedelta(days=10)) == (Decimal(1), Decimal(1))
    assert book.in_force("v", day - timedelta(days=4)) == (Decimal(1), Decimal(1))
    assert book.in_force("v", day - timedelta(days=3)) == (Decimal(2), Decimal(2))
    assert book.in_force("w", day) is None
