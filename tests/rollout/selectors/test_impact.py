"""The impact figures (rollout.selectors.impact): per-person means per arm from OutcomeDay,
people whose arm changed left out, the three intervals, "not enough data" at the edges, and
one query whatever the data."""

import pytest

from rollout.lib.impact_stats import arm_summary, sequential_interval, welch_interval
from rollout.models import Arm, Cohort, OutcomeDay
from rollout.selectors.impact import WORKFLOW_SCOPE, format_outcome, impact_figures, window_days
from tests.rollout.outcome_fixtures import days_ago, handle_time, person_days

pytestmark = pytest.mark.django_db

AI = [100.0 + i for i in range(20)]
HOLDOUT = [130.0 + 2 * i for i in range(12)]


def figures(workflow, metric, cohorts=(), days=14):
    first, last = window_days(days)
    return impact_figures(
        workflow, metrics=[metric], cohorts=list(cohorts), first_day=first, last_day=last
    )


def test_the_fixed_interval_is_welch_on_per_person_means(workflow):
    metric = handle_time(workflow)
    cohort = Cohort.objects.create(workflow=workflow, name="Tier 1")
    person_days(workflow, cohort, Arm.AI, AI)
    person_days(workflow, cohort, Arm.HOLDOUT, HOLDOUT)
    found = figures(workflow, metric, [cohort])
    for key in [("handle_time_s", cohort.pk), ("handle_time_s", WORKFLOW_SCOPE)]:
        result = found[key]
        assert (result.ai_people, result.holdout_people, result.left_out) == (20, 12, 0)
        expected = welch_interval(arm_summary(AI), arm_summary(HOLDOUT))
        assert result.fixed == expected
        assert result.fixed.estimate == pytest.approx(109.5 - 141.0)
        assert result.sequential == sequential_interval(arm_summary(AI), arm_summary(HOLDOUT))
        assert result.sequential.low < result.fixed.low  # always-valid: wider
        assert result.relative.estimate == pytest.approx((109.5 - 141.0) / 141.0)


def test_means_are_per_person_not_per_case(workflow):
    """One busy person with 100 cases counts once, at their mean."""
    metric = handle_time(workflow)
    person_days(workflow, None, Arm.AI, AI)
    person_days(workflow, None, Arm.HOLDOUT, HOLDOUT)
    OutcomeDay.objects.filter(user_ref="#ai0").update(count=100, total=100 * 100.0)
    OutcomeDay.objects.create(
        workflow=workflow, user_ref="#ai0", arm=Arm.AI, metric="handle_time_s",
        day=days_ago(1), count=1, total=200.0, total_sq=40000.0,
    )  # fmt: skip
    result = figures(workflow, metric)[("handle_time_s", WORKFLOW_SCOPE)]
    first = (100 * 100.0 + 200.0) / 101
    assert result.ai.mean == pytest.approx(sum([first, *AI[1:]]) / 20)


def test_people_whose_arm_changed_within_the_window_are_left_out(workflow):
    metric = handle_time(workflow)
    person_days(workflow, None, Arm.AI, AI)
    person_days(workflow, None, Arm.HOLDOUT, HOLDOUT)
    # #holdout0 moved to the AI three days ago; #holdout1 did so 30 days ago (outside).
    OutcomeDay.objects.create(
        workflow=workflow, user_ref="#holdout0", arm=Arm.AI, metric="handle_time_s",
        day=days_ago(3), count=2, total=180.0, total_sq=16200.0,
    )  # fmt: skip
    OutcomeDay.objects.create(
        workflow=workflow, user_ref="#holdout1", arm=Arm.AI, metric="handle_time_s",
        day=days_ago(30), count=2, total=180.0, total_sq=16200.0,
    )  # fmt: skip
    result = figures(workflow, metric)[("handle_time_s", WORKFLOW_SCOPE)]
    assert (result.ai_people, result.holdout_people, result.left_out) == (20, 11, 1)


def test_no_holdout_is_not_enough_data(workflow):
    metric = handle_time(workflow)
    person_days(workflow, None, Arm.AI, AI)
    result = figures(workflow, metric)[("handle_time_s", WORKFLOW_SCOPE)]
    assert not result.enough
    assert (result.fixed, result.sequential, result.relative) == (None, None, None)
    assert (result.ai_people, result.holdout_people) == (20, 0)


def test_tiny_samples_are_not_enough_data(workflow):
    metric = handle_time(workflow)
    person_days(workflow, None, Arm.AI, AI[:9])
    person_days(workflow, None, Arm.HOLDOUT, HOLDOUT[:9])
    result = figures(workflow, metric)[("handle_time_s", WORKFLOW_SCOPE)]
    assert not result.enough and result.sequential is None
    assert (result.ai_people, result.holdout_people, result.min_people) == (9, 9, 10)


def test_zero_variance_collapses_the_interval_to_the_difference(workflow):
    metric = handle_time(workflow)
    person_days(workflow, None, Arm.AI, [100.0] * 10)
    person_days(workflow, None, Arm.HOLDOUT, [120.0] * 10)
    result = figures(workflow, metric)[("handle_time_s", WORKFLOW_SCOPE)]
    assert result.enough
    assert (result.fixed.low, result.fixed.high) == (pytest.approx(-20), pytest.approx(-20))
    assert (result.sequential.low, result.sequential.high) == (
        pytest.approx(-20),
        pytest.approx(-20),
    )


def test_one_query_whatever_the_data(workflow, django_assert_num_queries):
    metric = handle_time(workflow)
    cohorts = [Cohort.objects.create(workflow=workflow, name=f"C{i}") for i in range(3)]
    for i, cohort in enumerate(cohorts):
        person_days(workflow, cohort, Arm.AI, AI * 5, prefix=f"{i}-")
        person_days(workflow, cohort, Arm.HOLDOUT, HOLDOUT * 5, prefix=f"{i}-")
    with django_assert_num_queries(1):
        found = figures(workflow, metric, cohorts)
    assert len(found) == 4
    assert found[("handle_time_s", WORKFLOW_SCOPE)].ai_people == 300


def test_outcome_figures_are_written_for_people():
    assert format_outcome(-31.456, "s", signed=True) == "-31.5 s"
    assert format_outcome(4.2, "s", signed=True) == "+4.20 s"
    assert format_outcome(1234.5, "€") == "1,235 €"
    assert format_outcome(None, "s") == "—"


def test_the_short_headline_says_better_worse_or_unclear_by_the_interval_and_direction():
    from types import SimpleNamespace

    from rollout.selectors.impact import headline_short

    def figures(low, high, *, higher_is_better=False, enough=True):
        metric = SimpleNamespace(label="Handle time", unit="s", higher_is_better=higher_is_better)
        fixed = SimpleNamespace(estimate=(low + high) / 2, low=low, high=high)
        return SimpleNamespace(metric=metric, fixed=fixed, enough=enough)

    assert headline_short([]) == ""
    assert headline_short([figures(-40, -20)]) == "Handle time: AI -30.0 s, better"
    assert headline_short([figures(20, 40)]) == "Handle time: AI +30.0 s, worse"
    assert headline_short([figures(-10, 30)]) == "Handle time: AI +10.0 s, unclear"
    assert headline_short([figures(20, 40, higher_is_better=True)]).endswith(", better")
    assert headline_short([figures(0, 0, enough=False)]) == "Handle time: not enough data yet"
    # The first metric with enough data, as the long headline picks.
    assert headline_short([figures(0, 0, enough=False), figures(-40, -20)]).endswith("better")
