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
