"""People active over a period, counted from each person's latest day (UsageLastActive): the same
numbers as counting them day by day (UsageActiveUser), in two queries whatever the data size."""

from datetime import date, timedelta

import pytest
from django.db.models import Count

from rollout.models import (
    Cohort,
    CohortMember,
    RollupPeriod,
    UsageActiveUser,
    UsageRollup,
    Workflow,
)
from rollout.selectors.usage_summary import (
    ActivePeople,
    Members,
    active_people,
    cohort_members,
    usage_rollup_stamp,
    workflow_member_count,
)
from rollout.services.decision_cache import plan_changed
from rollout.services.usage_rollup import usage_rollup_rebuild_day
from tests.factories import UserFactory
from tests.rollout.usage_events_data import at_noon, event, ingest

pytestmark = pytest.mark.django_db

DAY = date(2026, 11, 20)


def ago(days: int) -> date:
    return DAY - timedelta(days=days)


def counted_day_by_day(workflow: Workflow, start: date, end: date) -> ActivePeople:
    """The count the usage page made before UsageLastActive: distinct people over every day."""
    days = UsageActiveUser.objects.filter(workflow=workflow, day__gte=start, day__lte=end)
    by_cohort = dict(
        days.values("cohort_id")
        .annotate(n=Count("user_ref", distinct=True))
        .values_list("cohort_id", "n")
        .order_by()
    )
    in_any = days.filter(cohort__isnull=False).values("user_ref").distinct().count()
    return ActivePeople(by_cohort, in_any)


@pytest.fixture
def cohorts(workflow: Workflow) -> tuple[Cohort, Cohort]:
    tier1 = Cohort.objects.create(workflow=workflow, name="Tier 1", enrolled_phase="limited")
    broad = Cohort.objects.create(workflow=workflow, name="Broad", enrolled_phase="broad")
    CohortMember.objects.create(cohort=tier1, user=UserFactory(email="ann@example.com"))
    CohortMember.objects.create(cohort=broad, user=UserFactory(email="cy@example.com"))
    return tier1, broad


@pytest.fixture
def usage(workflow: Workflow, cohorts: tuple[Cohort, Cohort]) -> None:
    """Ann (Tier 1) 10 days before DAY and the day after it; Cy in Broad 40 days before, then in
    Tier 1 too (limited first) 2 days before; outsiders: Zed 3 days before and the day after,
    X-9 only the day after."""
    tier1, _ = cohorts
    ingest(
        workflow,
        [
            event(user_ref="ann@example.com", at=at_noon(ago(10))),
            event(user_ref="ann@example.com", at=at_noon(ago(-1))),
            event(user_ref="cy@example.com", at=at_noon(ago(40))),
            event(user_ref="zed@example.com", at=at_noon(ago(3))),
            event(user_ref="zed@example.com", at=at_noon(ago(-1))),
            event(user_ref="X-9", at=at_noon(ago(-1))),
        ],
    )
    cy = CohortMember.objects.get(user__email="cy@example.com").user
    CohortMember.objects.create(cohort=tier1, user=cy)
    plan_changed(workflow)  # as the cohorts service does: attribution remembered so far goes
    ingest(workflow, [event(user_ref="cy@example.com", at=at_noon(ago(2)))])


def test_people_active_over_a_period_ending_on_a_day(workflow, cohorts, usage):
    tier1, broad = cohorts
    # Ann's and Zed's latest days are after the period; they were active within it too.
    assert active_people(workflow, start=ago(29), end=DAY) == ActivePeople(
        {tier1.pk: 2, None: 1}, in_any_cohort=2
    )
    # Cy counts in both cohorts, and once in any cohort.
    assert active_people(workflow, start=ago(89), end=DAY) == ActivePeople(
        {tier1.pk: 2, broad.pk: 1, None: 1}, in_any_cohort=2
    )
    assert active_people(workflow, start=ago(1), end=DAY) == ActivePeople({}, in_any_cohort=0)


@pytest.mark.parametrize(
    ("start", "end"),
    [(29, 0), (89, 0), (179, 0), (6, 0), (0, 0), (1, -1), (0, -1), (60, 5), (40, 40), (11, 9)],
)
def test_the_same_numbers_as_counting_day_by_day(workflow, usage, start, end):
    assert active_people(workflow, start=ago(start), end=ago(end)) == counted_day_by_day(
        workflow, ago(start), ago(end)
    )


def test_two_queries_whatever_the_number_of_people_and_days(
    workflow, cohorts, django_assert_num_queries
):
    with django_assert_num_queries(2):
        active_people(workflow, start=ago(29), end=DAY)
    ingest(
        workflow,
        [event(user_ref=f"p{n}@example.com", at=at_noon(ago(n % 40 - 1))) for n in range(200)],
    )
    with django_assert_num_queries(2):
        active_people(workflow, start=ago(29), end=DAY)


def test_members_of_several_cohorts_count_once(workflow, cohorts):
    tier1, _ = cohorts
    cy = CohortMember.objects.get(user__email="cy@example.com").user
    CohortMember.objects.create(cohort=tier1, user=cy)
    assert workflow_member_count(workflow) == 2


@pytest.mark.parametrize(
    ("start", "end"),
    [(29, 0), (89, 0), (179, 0), (6, 0), (0, 0), (1, -1), (0, -1), (60, 5), (40, 40), (11, 9)],
)
def test_naming_the_cohorts_gives_the_same_numbers_in_one_query(
    workflow, cohorts, usage, start, end, django_assert_num_queries
):
    tier1, broad = cohorts
    with django_assert_num_queries(1):
        named = active_people(
            workflow, start=ago(start), end=ago(end), cohort_ids=[tier1.pk, broad.pk]
        )
    assert named == active_people(workflow, start=ago(start), end=ago(end))


def test_naming_one_cohort_counts_that_cohort_and_people_in_none(workflow, cohorts, usage):
    tier1, _ = cohorts
    assert active_people(workflow, start=ago(89), end=DAY, cohort_ids=[tier1.pk]) == ActivePeople(
        {tier1.pk: 2, None: 1}, in_any_cohort=2
    )


def test_members_per_cohort_and_in_any_cohort_in_one_query(
    workflow, cohorts, django_assert_num_queries
):
    tier1, broad = cohorts
    cy = CohortMember.objects.get(user__email="cy@example.com").user
    CohortMember.objects.create(cohort=tier1, user=cy)
    empty = Cohort.objects.create(workflow=workflow, name="Empty")
    with django_assert_num_queries(1):
        members = cohort_members(workflow, [tier1.pk, broad.pk, empty.pk])
    assert members == Members({tier1.pk: 2, broad.pk: 1, empty.pk: 0}, in_any_cohort=2)
    assert members.in_any_cohort == workflow_member_count(workflow)


def test_the_rollup_stamp_moves_with_every_rebuild_and_loss_of_the_days_it_covers(workflow, usage):
    """rollout.views._usage_sections keys the usage page's kept sections on it."""
    before = usage_rollup_stamp(workflow, start=ago(10), end=DAY)
    assert (
        before[0]
        == UsageRollup.objects.filter(
            workflow=workflow, period=RollupPeriod.DAY, day__gte=ago(10), day__lte=DAY
        ).count()
    )
    # The same events rolled up again: the same counts, new rows.
    usage_rollup_rebuild_day(workflow_id=workflow.pk, day=ago(3))
    rebuilt = usage_rollup_stamp(workflow, start=ago(10), end=DAY)
    assert rebuilt[0] == before[0] and rebuilt[1] > before[1]
    # A day outside start..end moves nothing.
    usage_rollup_rebuild_day(workflow_id=workflow.pk, day=ago(40))
    assert usage_rollup_stamp(workflow, start=ago(10), end=DAY) == rebuilt
    # Rows lost (retention, a deleted cohort): the count falls.
    UsageRollup.objects.filter(workflow=workflow, day=ago(10)).delete()
    assert usage_rollup_stamp(workflow, start=ago(10), end=DAY)[0] < rebuilt[0]
