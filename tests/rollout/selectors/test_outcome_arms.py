"""The arm a person was in at `occurred_at` (rollout.selectors.outcome_arms): from the settings
history, membership, releases and the phase — never from today's settings."""

from datetime import timedelta

import pytest
from django.utils import timezone

from rollout.models import ActivityEntry, Arm, CohortMember, EnrolmentSetting, HoldoutRelease
from rollout.selectors.outcome_arms import arm_timeline
from rollout.services.cohorts import cohort_enrol, cohort_unenrol
from rollout.services.phase_control import phase_pause, phase_resume
from tests.rollout.holdout_fixtures import holdout_cohort
from tests.rollout.promotion_fixtures import make_plan

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def at(hours_ago: float):
    return NOW - timedelta(hours=hours_ago)


@pytest.fixture
def setup(workflow, ops_leader):
    """Limited running for 20 days; the cohort joined and enrolled (50 % holdout) 10 days ago."""
    make_plan(workflow, current="limited")
    setup = holdout_cohort(workflow, ops_leader)
    EnrolmentSetting.objects.filter(cohort=setup.cohort).update(effective_at=at(240))
    CohortMember.objects.filter(cohort=setup.cohort).update(added_at=at(240))
    return setup


def arm(workflow, user, cohort, moment):
    return arm_timeline(workflow.pk, {(user.pk, cohort.pk)}).arm_at(user.pk, cohort.pk, moment)


def test_arms_follow_the_holdout_hash(workflow, setup):
    for user in setup.held_out:
        assert arm(workflow, user, setup.cohort, at(1)) == Arm.HOLDOUT
    for user in setup.ai:
        assert arm(workflow, user, setup.cohort, at(1)) == Arm.AI


def test_before_the_enrolment_or_joining_nobody_is_in_an_arm(workflow, setup):
    person = setup.ai[0]
    assert arm(workflow, person, setup.cohort, at(241)) is None
    CohortMember.objects.filter(cohort=setup.cohort, user=person).update(added_at=at(5))
    assert arm(workflow, person, setup.cohort, at(6)) is None
    assert arm(workflow, person, setup.cohort, at(4)) == Arm.AI


def test_a_holdout_change_counts_from_its_time_on(workflow, ops_leader, setup):
    person = setup.held_out[0]
    cohort_enrol(
        cohort=setup.cohort,
        phase="limited",
        percentage=100,
        holdout_percentage=0,
        actor=ops_leader,
    )
    EnrolmentSetting.objects.filter(cohort=setup.cohort, holdout_percentage=0).update(
        effective_at=at(48)
    )
    assert arm(workflow, person, setup.cohort, at(49)) == Arm.HOLDOUT
    assert arm(workflow, person, setup.cohort, at(47)) == Arm.AI


def test_unenrolled_periods_are_in_no_arm(workflow, ops_leader, setup):
    person = setup.ai[0]
    cohort_unenrol(cohort=setup.cohort, actor=ops_leader)
    EnrolmentSetting.objects.filter(cohort=setup.cohort, enrolled_phase="").update(
        effective_at=at(24)
    )
    assert arm(workflow, person, setup.cohort, at(25)) == Arm.AI
    assert arm(workflow, person, setup.cohort, at(23)) is None


def test_people_outside_the_enrolment_percentage_are_no_control_group(workflow, ops_leader, setup):
    EnrolmentSetting.objects.filter(cohort=setup.cohort).update(percentage=1)
    users = [*setup.held_out, *setup.ai]
    arms = {arm(workflow, u, setup.cohort, at(1)) for u in users}
    # 12 people at 1 %: at most a few are in; everybody else is in neither arm.
    assert None in arms


def test_a_release_counts_from_its_time_on(workflow, ops_leader, setup):
    person = setup.held_out[0]
    HoldoutRelease.objects.create(
        cohort=setup.cohort, user=person, released_by=ops_leader, released_at=at(10), reason="x"
    )
    assert arm(workflow, person, setup.cohort, at(11)) == Arm.HOLDOUT
    assert arm(workflow, person, setup.cohort, at(9)) == Arm.AI


def test_paused_periods_are_in_no_arm(workflow, workflow_owner, setup):
    person = setup.ai[0]
    phase_pause(workflow=workflow, actor=workflow_owner, fallback_mode="off", reason="Checking.")
    phase_resume(workflow=workflow, actor=workflow_owner)
    ActivityEntry.objects.filter(workflow=workflow, verb="paused").update(created_at=at(30))
    ActivityEntry.objects.filter(workflow=workflow, verb="resumed").update(created_at=at(20))
    assert arm(workflow, person, setup.cohort, at(31)) == Arm.AI
    assert arm(workflow, person, setup.cohort, at(25)) is None
    assert arm(workflow, person, setup.cohort, at(19)) == Arm.AI
    phase_pause(workflow=workflow, actor=workflow_owner, fallback_mode="off", reason="Again.")
    assert arm(workflow, person, setup.cohort, timezone.now()) is None


def test_before_a_live_phase_nobody_is_in_an_arm(workflow, ops_leader):
    phases = make_plan(workflow, current="limited", days_running=2)
    setup = holdout_cohort(workflow, ops_leader)
    EnrolmentSetting.objects.filter(cohort=setup.cohort).update(effective_at=at(240))
    CohortMember.objects.filter(cohort=setup.cohort).update(added_at=at(240))
    assert phases["limited"].actual_start > at(49)
    assert arm(workflow, setup.ai[0], setup.cohort, at(49)) is None
    assert arm(workflow, setup.ai[0], setup.cohort, at(47)) == Arm.AI


def test_a_broad_enrolment_is_in_no_arm_during_limited(workflow, ops_leader):
    make_plan(workflow, current="limited")
    setup = holdout_cohort(workflow, ops_leader, phase="broad")
    assert arm(workflow, setup.ai[0], setup.cohort, timezone.now()) is None


def test_the_timeline_costs_a_fixed_number_of_queries(workflow, setup, django_assert_num_queries):
    pairs = {(u.pk, setup.cohort.pk) for u in [*setup.held_out, *setup.ai]}
    with django_assert_num_queries(5):
        arm_timeline(workflow.pk, pairs)


def test_a_known_timeline_reads_only_what_it_lacks(workflow, setup, django_assert_num_queries):
    """What rollout.services.usage_ingest remembers per plan version: the same answers as a
    timeline read at once, and no query for what it has read before."""
    ai, held = setup.ai[0], setup.held_out[0]
    known = arm_timeline(workflow.pk, {(ai.pk, setup.cohort.pk)})
    with django_assert_num_queries(0):
        assert arm_timeline(workflow.pk, {(ai.pk, setup.cohort.pk)}, known=known) is known
    with django_assert_num_queries(2):  # the new pair's membership and release
        arm_timeline(workflow.pk, {(held.pk, setup.cohort.pk)}, known=known)

    everyone = {(u.pk, setup.cohort.pk) for u in (*setup.ai, *setup.held_out)}
    at_once = arm_timeline(workflow.pk, everyone)
    arm_timeline(workflow.pk, everyone, known=known)
    for user_id, cohort_id in everyone:
        for moment in (at(1), at(241)):
            assert known.arm_at(user_id, cohort_id, moment) == at_once.arm_at(
                user_id, cohort_id, moment
            )
    assert known.arm_at(held.pk, setup.cohort.pk, at(1)) == Arm.HOLDOUT
    assert known.arm_at(ai.pk, setup.cohort.pk, at(1)) == Arm.AI
