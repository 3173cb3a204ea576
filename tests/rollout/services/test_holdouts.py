"""Writes on outcome holdouts: the holdout percentage of an enrolment (validated, recorded in the
settings history and the activity log, invalidating decisions) and moving someone out of it."""

import pytest

from core.errors import ApplicationError
from rollout.models import ActivityEntry, EnrolmentSetting, HoldoutRelease
from rollout.services.cohorts import MSG_BAD_HOLDOUT, cohort_enrol, cohort_unenrol
from rollout.services.holdouts import (
    MSG_NOT_HELD_OUT,
    MSG_REASON_TOO_LONG,
    MSG_RELEASE_REASON,
    holdout_release,
)
from tests.rollout.holdout_fixtures import holdout_cohort
from tests.rollout.promotion_fixtures import make_plan

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(workflow, ops_leader):
    make_plan(workflow, current="limited")
    return holdout_cohort(workflow, ops_leader, holdout=20)


def settings_of(cohort) -> list[tuple]:
    return list(
        EnrolmentSetting.objects.filter(cohort=cohort)
        .order_by("effective_at", "id")
        .values_list("enrolled_phase", "percentage", "holdout_percentage")
    )


def test_every_enrolment_change_is_kept_with_its_time(ops_leader, setup):
    cohort = setup.cohort
    cohort_enrol(cohort=cohort, phase="limited", percentage=60, actor=ops_leader)
    cohort_enrol(
        cohort=cohort, phase="limited", percentage=60, holdout_percentage=35, actor=ops_leader
    )
    cohort_unenrol(cohort=cohort, actor=ops_leader)
    assert settings_of(cohort) == [
        ("limited", 100, 20),
        ("limited", 60, 20),  # the holdout is kept when not given
        ("limited", 60, 35),
        ("", 100, 0),
    ]
    entry = ActivityEntry.objects.filter(verb="enrolled").order_by("-id").first()
    assert entry.changes == {
        "enrolment": ["Limited roll-out, 60%, 20% held out", "Limited roll-out, 60%, 35% held out"]
    }


@pytest.mark.parametrize("bad", [-1, 51, 100, True, "10", 2.5])
def test_a_holdout_outside_0_to_50_is_refused_and_changes_nothing(ops_leader, setup, bad):
    with pytest.raises(ApplicationError) as caught:
        cohort_enrol(
            cohort=setup.cohort,
            phase="limited",
            percentage=100,
            holdout_percentage=bad,
            actor=ops_leader,
        )
    assert (caught.value.message, caught.value.field) == (MSG_BAD_HOLDOUT, "holdout_percentage")
    setup.cohort.refresh_from_db()
    assert setup.cohort.holdout_percentage == 20
    assert len(settings_of(setup.cohort)) == 1


def test_the_database_refuses_a_holdout_over_50(setup):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        type(setup.cohort).objects.filter(pk=setup.cohort.pk).update(holdout_percentage=51)


def test_moving_out_needs_a_reason_and_someone_held_out(ops_leader, setup):
    person, other = setup.held_out[0], setup.ai[0]
    with pytest.raises(ApplicationError) as caught:
        holdout_release(cohort=setup.cohort, user=person, actor=ops_leader, reason="  ")
    assert caught.value.message == MSG_RELEASE_REASON
    with pytest.raises(ApplicationError) as caught:
        holdout_release(cohort=setup.cohort, user=person, actor=ops_leader, reason="x" * 2001)
    assert caught.value.message == MSG_REASON_TOO_LONG
    with pytest.raises(ApplicationError) as caught:
        holdout_release(cohort=setup.cohort, user=other, actor=ops_leader, reason="Why not.")
    assert caught.value.message == MSG_NOT_HELD_OUT.format(user=other.email, cohort="Tier 1")
    assert not HoldoutRelease.objects.exists()
    holdout_release(cohort=setup.cohort, user=person, actor=ops_leader, reason="Team lead.")
    with pytest.raises(ApplicationError):  # once
        holdout_release(cohort=setup.cohort, user=person, actor=ops_leader, reason="Again.")
    assert HoldoutRelease.objects.count() == 1
