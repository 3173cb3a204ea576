import pytest

from accounts.models import User
from core.errors import ApplicationError
from rollout.models import Follow, Notification, Workflow
from rollout.selectors.follows import follower_list_allowed
from rollout.services import follows as svc
from rollout.services.cohorts import cohort_create, cohort_members_add
from rollout.services.phase_control import phase_pause, phase_resume, phase_rollback
from rollout.services.promotions import promotion_approve, promotion_request
from rollout.services.workflows import workflow_handover
from tests.factories import UserFactory
from tests.rollout.promotion_fixtures import make_plan, make_shadow_ready


def titles(user: User) -> list[str]:
    return list(
        Notification.objects.filter(recipient=user).order_by("pk").values_list("title", flat=True)
    )


def test_executives_follow_and_unfollow_idempotently(workflow: Workflow, executive: User):
    first = svc.follow(workflow=workflow, user=executive)
    assert svc.follow(workflow=workflow, user=executive) == first
    assert Follow.objects.filter(workflow=workflow, user=executive).count() == 1

    svc.unfollow(workflow=workflow, user=executive)
    svc.unfollow(workflow=workflow, user=executive)
    assert not Follow.objects.exists()


def test_only_those_who_may_view_the_workflow_may_follow(
    workflow: Workflow, workflow_owner: User, other_user: User
):
    member = UserFactory(display_name="Maya Member")
    cohort = cohort_create(workflow=workflow, actor=workflow_owner, name="EU", description="")
    cohort_members_add(cohort=cohort, users=[member], actor=workflow_owner)

    for person in (other_user, member):
        with pytest.raises(ApplicationError) as exc:
            svc.follow(workflow=workflow, user=person)
        assert exc.value.message == svc.MSG_NOT_ALLOWED
    assert not Follow.objects.exists()


def test_followers_hear_of_pause_resume_and_rollback_but_not_the_actor(
    workflow: Workflow, workflow_owner: User, executive: User, ops_leader: User
):
    make_plan(workflow, current="shadow")
    svc.follow(workflow=workflow, user=executive)
    svc.follow(workflow=workflow, user=workflow_owner)

    phase_pause(workflow=workflow, actor=workflow_owner, fallback_mode="off", reason="Bad replies")
    phase_resume(workflow=workflow, actor=workflow_owner)
    phase_rollback(workflow=workflow, actor=ops_leader, reason="Wrong answers")

    assert titles(executive) == [
        "Support reply drafting: Shadow mode paused",
        "Support reply drafting: Shadow mode resumed",
        "Support reply drafting: rolled back from Shadow mode to Data audit",
    ]
    assert Notification.objects.get(recipient=executive, title__endswith="paused").body == (
        "Bad replies"
    )
    # The owner acted on the first two; they hear of the ops leader's roll-back only.
    assert titles(workflow_owner) == [
        "Support reply drafting: rolled back from Shadow mode to Data audit"
    ]
    assert Notification.objects.filter(recipient=executive).first().url == (
        "/workflows/support-reply-drafting/"
    )


def test_followers_hear_of_an_executed_promotion(
    workflow: Workflow, workflow_owner: User, executive: User, ops_leader: User
):
    make_plan(workflow, current="audit")
    make_shadow_ready(workflow, ops_leader)
    svc.follow(workflow=workflow, user=executive)

    request = promotion_request(workflow=workflow, actor=workflow_owner)
    assert promotion_approve(request=request, actor=ops_leader).status == "executed"

    assert titles(executive) == ["Support reply drafting: promoted from Data audit to Shadow mode"]


def test_a_follower_who_lost_access_hears_nothing(
    workflow: Workflow, workflow_owner: User, ops_leader: User
):
    make_plan(workflow, current="shadow")
    svc.follow(workflow=workflow, user=workflow_owner)
    successor = UserFactory(display_name="Sue Successor")
    workflow_handover(workflow=workflow, actor=ops_leader, new_owner=successor, note="")

    assert list(follower_list_allowed(workflow)) == []
    assert svc.followers_notify_phase_change(workflow, "promoted") == 0


def test_the_follower_list_is_one_query(
    workflow: Workflow, ops_leader: User, django_assert_num_queries
):
    people = [UserFactory() for _ in range(3)]
    for person in people:
        person.groups.add(*ops_leader.groups.all())
        svc.follow(workflow=workflow, user=person)
    with django_assert_num_queries(1):
        assert {u.pk for u in follower_list_allowed(workflow)} == {p.pk for p in people}
