"""Cost threshold metrics and the forecast at the next phase (rollout.selectors.costs), judged
through the evaluator as the gates read them."""

from decimal import Decimal

import pytest
from django.utils import timezone

from rollout.models import Cohort, CohortMember, Metric, Verdict
from rollout.selectors.costs import MAX_UNKNOWN_SHARE, cost_forecast, people_live_at
from rollout.selectors.decision import in_percentage, member_key
from rollout.services.cost_prices import model_price_declare
from rollout.services.evaluation import thresholds_evaluate_workflow
from tests.factories import UserFactory
from tests.rollout.promotion_fixtures import make_plan
from tests.rollout.usage_events_data import at_noon, days_ago, event, events, ingest, make_threshold

pytestmark = pytest.mark.django_db


def _costed(n: int, cost: float, back: int = 0, **fields) -> list:
    at = at_noon(days_ago(back)) if back else None
    return [event("invocation", at=at, attrs={"cost": cost}, **fields) for _ in range(n)]


def _accepted(n: int, back: int = 0) -> list:
    at = at_noon(days_ago(back)) if back else None
    return [event("accepted", at=at) for _ in range(n)]


@pytest.mark.parametrize(
    ("cost", "verdict"),
    [
        (0.02, Verdict.PASS),  # 100 × 0.02 ÷ 50 accepted = 0.04: exactly at the limit
        (0.021, Verdict.MARGINAL),  # 0.042
        (0.025, Verdict.MARGINAL),  # 0.05: the band's edge
        (0.026, Verdict.FAIL),
    ],
)
def test_cost_per_accepted_output(workflow, cost, verdict):
    make_threshold(
        workflow,
        metric=Metric.COST_PER_ACCEPTED_OUTPUT,
        limit=0.04,
        marginal_limit=0.05,
        min_sample=50,
    )
    ingest(workflow, _costed(100, cost) + _accepted(50))
    (status,) = thresholds_evaluate_workflow(workflow=workflow)
    assert (status.verdict, status.sample) == (verdict, 50)
    assert status.observed == pytest.approx(100 * cost / 50)
    assert "€" in status.reason


def test_cost_per_accepted_output_below_the_minimum_sample(workflow):
    make_threshold(workflow, metric=Metric.COST_PER_ACCEPTED_OUTPUT, limit=1, min_sample=50)
    ingest(workflow, _costed(100, 0.01) + _accepted(49))
    (status,) = thresholds_evaluate_workflow(workflow=workflow)
    assert (status.verdict, status.sample) == (Verdict.INSUFFICIENT_DATA, 49)
    assert status.reason == "49 of the 50 cases needed in the last 7 days."


def test_daily_cost_is_judged_on_the_highest_day_of_the_window(workflow):
    make_threshold(workflow, metric=Metric.DAILY_COST, limit=2.0, min_sample=10)
    # Day -3 costs 2.5, day -1 costs 1.0: the average (1.75) passes, the highest day does not.
    ingest(workflow, _costed(10, 0.25, back=3) + _costed(10, 0.1, back=1))
    (status,) = thresholds_evaluate_workflow(workflow=workflow)
    assert (status.verdict, status.observed, status.sample) == (Verdict.FAIL, 2.5, 20)
    assert status.reason == "€2.50 over 20 cases: should be at most €2.00."


def test_a_day_outside_the_window_does_not_count(workflow):
    make_threshold(workflow, metric=Metric.DAILY_COST, limit=2.0, window_days=3, min_sample=5)
    ingest(workflow, _costed(10, 1.0, back=5) + _costed(10, 0.1, back=1))
    (status,) = thresholds_evaluate_workflow(workflow=workflow)
    assert (status.verdict, status.observed) == (Verdict.PASS, pytest.approx(1.0))


def test_unknown_costs_give_no_verdict_past_the_allowed_share(workflow, workflow_owner):
    make_threshold(workflow, metric=Metric.DAILY_COST, limit=100, min_sample=10)
    # The configuration's own version (another would be an unannounced change), not priced.
    tokens = {"input_tokens": 1000, "output_tokens": 100}
    # 94 with a cost, 6 with tokens of a version nobody priced: 6% unknown.
    ingest(
        workflow,
        _costed(94, 0.01) + [event("invocation", attrs=tokens) for _ in range(6)],
    )
    (status,) = thresholds_evaluate_workflow(workflow=workflow)
    assert status.verdict == Verdict.INSUFFICIENT_DATA
    assert status.observed is None
    assert status.reason == (
        "6 of the 100 cost-bearing events in the last 7 days (6.0%) have no known cost (at most "
        "5% may): declare the price of “2026-09” on the AI configuration page, or report "
        "attrs.cost."
    )
    # Declared, the same events are costed and judged.
    model_price_declare(
        workflow=workflow,
        actor=workflow_owner,
        model_version="2026-09",
        valid_from=days_ago(30),
        input_per_1k=Decimal("0.01"),
        output_per_1k=Decimal("0.1"),
    )
    (status,) = thresholds_evaluate_workflow(workflow=workflow)
    assert status.verdict == Verdict.PASS
    assert status.observed == pytest.approx(94 * 0.01 + 6 * (0.01 + 0.01))


def test_within_the_allowed_share_unknown_costs_are_estimated_not_zero(workflow):
    make_threshold(workflow, metric=Metric.DAILY_COST, limit=100, min_sample=10)
    ingest(workflow, _costed(96, 0.5) + events("invocation", 4))  # 4% with no cost at all
    assert MAX_UNKNOWN_SHARE == 0.05
    (status,) = thresholds_evaluate_workflow(workflow=workflow)
    assert (status.verdict, status.observed) == (Verdict.PASS, pytest.approx(50.0))


def test_no_cost_reported_is_insufficient_data(workflow):
    make_threshold(workflow, metric=Metric.COST_PER_ACCEPTED_OUTPUT, limit=1, min_sample=1)
    ingest(workflow, _accepted(10))
    (status,) = thresholds_evaluate_workflow(workflow=workflow)
    assert (status.verdict, status.observed) == (Verdict.INSUFFICIENT_DATA, None)
    assert status.reason == "No cost-bearing events in the last 7 days."


def test_per_cohort_cost(workflow):
    cohort = Cohort.objects.create(workflow=workflow, name="Pilot")
    user = UserFactory(email="mia@example.com")
    CohortMember.objects.create(cohort=cohort, user=user)
    make_threshold(workflow, metric=Metric.DAILY_COST, limit=1.0, min_sample=5, scope="per_cohort")
    ingest(workflow, _costed(10, 0.5, user_ref=user.email) + _costed(10, 5.0))
    (status,) = thresholds_evaluate_workflow(workflow=workflow)
    assert (status.cohort, status.verdict, status.observed) == (
        cohort,
        Verdict.FAIL,
        pytest.approx(5.0),
    )


# --- Forecast ----------------------------------------------------------------------------------


def test_the_forecast_is_todays_cost_per_active_person_times_the_people_at_the_next_phase(
    workflow,
):
    make_plan(workflow, current="limited")
    limited = Cohort.objects.create(workflow=workflow, name="Early", enrolled_phase="limited")
    broad = Cohort.objects.create(workflow=workflow, name="Everyone", enrolled_phase="broad")
    people = [UserFactory(email=f"p{i}@example.com") for i in range(10)]
    for person in people[:2]:
        CohortMember.objects.create(cohort=limited, user=person)
    for person in people:  # the two early ones are in both: counted once
        CohortMember.objects.create(cohort=broad, user=person)
    # The last 7 full days: two active people on day -1 (cost 3.0), one on day -2 (cost 1.0);
    # today's events (not a full day) and day -8's do not count.
    ingest(
        workflow,
        _costed(2, 0.75, back=1, user_ref="p0@example.com")
        + _costed(2, 0.75, back=1, user_ref="p1@example.com")
        + _costed(1, 1.0, back=2, user_ref="p0@example.com")
        + _costed(5, 9.0, user_ref="p0@example.com")
        + _costed(5, 9.0, back=8, user_ref="p0@example.com"),
    )
    forecast = cost_forecast(workflow, today=days_ago(0))
    assert forecast.phase_label == "Broad roll-out"
    assert forecast.people == 10
    assert forecast.person_days == 3
    assert forecast.per_person_day == pytest.approx(4.0 / 3)
    assert forecast.per_day == pytest.approx(4.0 / 3 * 10)


def test_the_people_at_a_phase_are_inside_their_cohorts_percentage(workflow):
    cohort = Cohort.objects.create(
        workflow=workflow, name="Half", enrolled_phase="limited", percentage=50
    )
    people = [UserFactory(email=f"h{i}@example.com") for i in range(40)]
    for person in people:
        CohortMember.objects.create(cohort=cohort, user=person)
    inside = sum(in_percentage(workflow.pk, member_key(p.pk), 50) for p in people)
    assert 0 < inside < 40
    assert people_live_at(workflow, "limited") == inside
    assert people_live_at(workflow, "shadow") == 0


def test_no_forecast_without_a_next_live_phase(workflow):
    assert cost_forecast(workflow, today=days_ago(0)) is None  # no plan
    make_plan(workflow, current="audit")
    assert cost_forecast(workflow, today=days_ago(0)) is None  # next is shadow: no live output


def test_a_forecast_without_known_costs_says_so(workflow):
    make_plan(workflow, current="shadow")
    ingest(workflow, events("invocation", 3, at=at_noon(days_ago(1))))
    forecast = cost_forecast(workflow, today=days_ago(0))
    assert (forecast.phase_label, forecast.per_person_day, forecast.per_day) == (
        "Limited roll-out",
        None,
        None,
    )


def test_the_people_at_a_phase_leave_out_the_holdout_but_not_who_was_moved_out(workflow):
    from rollout.models import HoldoutRelease
    from rollout.selectors.decision import in_holdout

    cohort = Cohort.objects.create(
        workflow=workflow, name="Study", enrolled_phase="limited", holdout_percentage=50
    )
    people = [UserFactory(email=f"s{i}@example.com") for i in range(40)]
    for person in people:
        CohortMember.objects.create(cohort=cohort, user=person)
    held = [p for p in people if in_holdout(workflow.pk, member_key(p.pk), 50)]
    assert 0 < len(held) < 40
    assert people_live_at(workflow, "limited") == 40 - len(held)
    HoldoutRelease.objects.create(
        cohort=cohort, user=held[0], released_by=held[0], released_at=timezone.now(), reason="x"
    )
    assert people_live_at(workflow, "limited") == 40 - len(held) + 1
