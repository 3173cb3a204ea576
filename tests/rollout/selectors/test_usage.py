"""Reading usage from the rollups: rates, windows, daily series, portfolio totals."""

from datetime import date, timedelta

import pytest

from rollout.lib.stats import histogram_from_samples
from rollout.models import Cohort, CohortMember, Metric, Workflow
from rollout.selectors.usage import (
    ALL,
    HIST_SIZE,
    NO_COHORT,
    UsageCounts,
    usage_daily,
    usage_totals_by_workflow,
    usage_window,
)
from tests.factories import UserFactory, make_workflow
from tests.rollout.usage_events_data import at_noon, event, events, ingest

DAY = date(2026, 11, 20)


# --- UsageCounts: rates from counters ----------------------------------------------------------


def test_rates_are_none_when_nothing_was_measured():
    counts = UsageCounts()
    assert counts.acceptance_rate is None
    assert counts.edit_rate is None
    assert counts.override_rate is None
    assert counts.error_rate is None
    assert counts.fallback_rate is None
    assert counts.shadow_agreement_rate is None
    assert counts.adoption_rate is None
    assert counts.p50_latency_ms is None
    assert counts.p95_latency_ms is None


def test_outcome_rates_are_shares_of_the_outputs_people_acted_on():
    counts = UsageCounts(invocations=200, accepted=60, edited=30, overridden=10)
    assert counts.outcomes == 100
    assert (counts.acceptance_rate, counts.edit_rate, counts.override_rate) == (0.6, 0.3, 0.1)


def test_error_and_fallback_rates_are_shares_of_invocations():
    counts = UsageCounts(invocations=200, errors=5, fallbacks=20)
    assert (counts.error_rate, counts.fallback_rate) == (0.025, 0.1)


def test_shadow_agreement_is_agreed_over_compared():
    counts = UsageCounts(agreed=45, disagreed=5)
    assert (counts.shadow_compared, counts.shadow_agreement_rate) == (50, 0.9)


def test_adoption_never_exceeds_everyone():
    assert UsageCounts(active_users=3, members=4).adoption_rate == 0.75
    assert UsageCounts(active_users=9, members=4).adoption_rate == 1.0
    assert UsageCounts(active_users=3, members=0).adoption_rate is None


def test_latency_percentiles_come_from_the_histogram_buckets():
    # 100 calls: 90 in (75, 100] ms, 10 in (750, 1000] ms.
    hist = histogram_from_samples([80] * 90 + [800] * 10)
    counts = UsageCounts(latency_count=100, latency_hist=hist)
    assert counts.p50_latency_ms == pytest.approx(75 + 25 * 50 / 90)
    assert counts.p95_latency_ms == pytest.approx(750 + 250 * 5 / 10)


def test_add_sums_counters_and_buckets():
    counts = UsageCounts()
    counts.add({"invocations": 2, "errors": 1, "latency_count": 1, "latency_hist": [1, 0]})
    counts.add({"invocations": 3, "latency_count": 2, "latency_hist": [0] * HIST_SIZE + [7]})
    assert (counts.invocations, counts.errors, counts.latency_count) == (5, 1, 3)
    assert counts.latency_hist == [1] + [0] * (HIST_SIZE - 1)  # unknown buckets are ignored


def test_sum_of_adds_up_as_add_does_one_by_one():
    rows = [
        {"invocations": 2, "errors": 1, "latency_count": 1, "latency_hist": [1, 0]},
        {"accepted": 3, "edited": 1, "overridden": 2, "fallbacks": 1, "agreed": 4},
        {"disagreed": 5, "latency_count": 2, "latency_hist": [0] * HIST_SIZE + [7]},
        {"invocations": 1, "latency_count": 1, "latency_hist": [0] * (HIST_SIZE - 1) + [1]},
    ]
    counts = []
    for row in rows:
        c = UsageCounts(active_users=9, members=4)
        c.add(row)
        counts.append(c)
    one_by_one = UsageCounts(members=4)
    for c in counts:
        one_by_one.add(c.__dict__)

    assert UsageCounts.sum_of(counts, members=4) == one_by_one
    assert UsageCounts.sum_of([], members=4) == UsageCounts(members=4)


@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        (Metric.ERROR_RATE, (0.05, 100)),
        (Metric.OVERRIDE_RATE, (0.25, 40)),
        (Metric.ACCEPTANCE_RATE, (0.5, 40)),
        (Metric.SHADOW_AGREEMENT_RATE, (0.8, 10)),
        (Metric.ADOPTION_RATE, (0.5, 8)),
        (Metric.NEGATIVE_FEEDBACK_SHARE, (None, 0)),
        (Metric.ESCALATION_RATE, (None, 0)),
    ],
)
def test_measure_gives_the_value_and_its_sample(metric, expected):
    counts = UsageCounts(
        invocations=100,
        errors=5,
        accepted=20,
        edited=10,
        overridden=10,
        agreed=8,
        disagreed=2,
        active_users=4,
        members=8,
    )
    assert counts.measure(metric) == expected


def test_measure_p95_latency_counts_timed_calls():
    counts = UsageCounts(latency_count=20, latency_hist=histogram_from_samples([40] * 20))
    value, sample = counts.measure(Metric.P95_LATENCY_MS)
    assert (round(value, 6), sample) == (48.75, 20)


# --- Windows -----------------------------------------------------------------------------------


@pytest.fixture
def tier1(workflow: Workflow) -> Cohort:
    cohort = Cohort.objects.create(workflow=workflow, name="Tier 1", enrolled_phase="limited")
    for email in ("ann@example.com", "bob@example.com", "cy@example.com", "di@example.com"):
        CohortMember.objects.create(cohort=cohort, user=UserFactory(email=email))
    return cohort


@pytest.fixture
def broad(workflow: Workflow) -> Cohort:
    cohort = Cohort.objects.create(workflow=workflow, name="Broad", enrolled_phase="broad")
    CohortMember.objects.create(cohort=cohort, user=UserFactory(email="eve@example.com"))
    return cohort


@pytest.fixture
def usage(workflow, tier1, broad) -> None:
    """Three days: Ann every day, Bob once, Eve (Broad) once, two outsiders."""
    batch = []
    for offset in range(3):
        at = at_noon(DAY - timedelta(days=offset))
        batch += events("invocation", 10, user_ref="ann@example.com", at=at, latency_ms=80)
        batch += [event("error", user_ref="Ann@Example.com", at=at)]
        batch += events("accepted", 4, user_ref="ann@example.com", at=at)
    at = at_noon(DAY)
    batch += [event("overridden", user_ref="bob@example.com", at=at)]
    batch += [event("invocation", user_ref="eve@example.com", at=at, latency_ms=900)]
    batch += [event("invocation", user_ref=f"out{i}@example.com", at=at) for i in range(2)]
    ingest(workflow, batch)


def test_a_window_sums_its_days(workflow, usage):
    counts = usage_window(workflow, start=DAY - timedelta(days=2), end=DAY)
    assert (counts.invocations, counts.errors, counts.accepted, counts.overridden) == (33, 3, 12, 1)
    assert counts.latency_count == 31
    # Active members over the window: Ann, Bob, Eve (not the outsiders), each once.
    assert (counts.active_users, counts.members) == (3, 5)
    assert counts.adoption_rate == 0.6


def test_a_window_includes_both_ends_and_nothing_else(workflow, usage):
    assert usage_window(workflow, start=DAY, end=DAY).invocations == 13
    assert usage_window(workflow, start=DAY - timedelta(days=1), end=DAY).invocations == 23
    assert usage_window(workflow, start=DAY + timedelta(days=1), end=DAY + timedelta(9)) == (
        UsageCounts(members=5)
    )


def test_a_cohort_window(workflow, usage, tier1, broad):
    counts = usage_window(workflow, start=DAY - timedelta(days=2), end=DAY, scope=tier1)
    assert (counts.invocations, counts.active_users, counts.members) == (30, 2, 4)
    assert counts.adoption_rate == 0.5
    eve = usage_window(workflow, start=DAY, end=DAY, scope=broad)
    assert (eve.invocations, eve.active_users, eve.members, eve.adoption_rate) == (1, 1, 1, 1.0)


def test_the_no_cohort_window_has_no_adoption(workflow, usage):
    counts = usage_window(workflow, start=DAY - timedelta(days=2), end=DAY, scope=NO_COHORT)
    assert (counts.invocations, counts.active_users, counts.members) == (2, 2, 0)
    assert counts.adoption_rate is None


def test_a_window_costs_three_queries_whatever_its_length(
    workflow, usage, django_assert_max_num_queries
):
    with django_assert_max_num_queries(3):
        usage_window(workflow, start=DAY - timedelta(days=365), end=DAY, scope=ALL)


# --- Daily series ------------------------------------------------------------------------------


def test_daily_series_per_cohort_then_people_in_no_cohort(workflow, usage, tier1, broad):
    series = usage_daily(workflow, start=DAY - timedelta(days=3), end=DAY)
    assert [s.label for s in series] == ["Broad", "Tier 1", "Not in a cohort"]
    assert [s.cohort for s in series] == [broad, tier1, None]
    tier1_days = series[1]
    assert tier1_days.days == [DAY - timedelta(days=d) for d in (3, 2, 1, 0)]
    assert [c.invocations for c in tier1_days.counts] == [0, 10, 10, 10]
    assert [c.active_users for c in tier1_days.counts] == [0, 1, 1, 2]
    assert [c.members for c in tier1_days.counts] == [4, 4, 4, 4]
    assert tier1_days.counts[-1].adoption_rate == 0.5
    assert tier1_days.counts[-1].p95_latency_ms == pytest.approx(75 + 25 * 0.95)
    assert series[2].counts[-1].members == 0


def test_daily_series_of_one_cohort(workflow, usage, broad):
    series = usage_daily(workflow, start=DAY, end=DAY, cohort=broad)
    assert [s.cohort for s in series] == [broad]
    assert series[0].counts[0].invocations == 1


def test_daily_series_without_usage_by_outsiders_has_no_outsider_row(workflow, tier1):
    ingest(workflow, [event(user_ref="ann@example.com", at=at_noon(DAY))])
    assert [s.label for s in usage_daily(workflow, start=DAY, end=DAY)] == ["Tier 1"]


def test_daily_series_total(workflow, usage, tier1):
    series = usage_daily(workflow, start=DAY - timedelta(days=2), end=DAY, cohort=tier1)
    total = series[0].total()
    assert (total.invocations, total.errors, total.members) == (30, 3, 4)
    assert total.latency_count == 30


def test_daily_series_cost_three_queries_whatever_the_range(
    workflow, usage, django_assert_max_num_queries
):
    with django_assert_max_num_queries(3):
        usage_daily(workflow, start=DAY - timedelta(days=365), end=DAY)


# --- Portfolio totals --------------------------------------------------------------------------


def test_totals_by_workflow(workflow, usage, ops_leader, django_assert_max_num_queries):
    quiet = make_workflow(actor=ops_leader)
    with django_assert_max_num_queries(3):
        totals = usage_totals_by_workflow(
            [workflow.pk, quiet.pk], start=DAY - timedelta(days=2), end=DAY
        )
    assert totals == {workflow.pk: {"invocations": 33, "active_users": 3, "members": 5}}


def test_a_member_of_two_cohorts_is_one_member(workflow, tier1, broad):
    ann = tier1.memberships.get(user__email="ann@example.com").user
    CohortMember.objects.create(cohort=broad, user=ann)
    counts = usage_window(workflow, start=DAY, end=DAY)
    assert counts.members == 5
    totals = usage_totals_by_workflow([workflow.pk], start=DAY, end=DAY)
    assert totals[workflow.pk]["members"] == 5
