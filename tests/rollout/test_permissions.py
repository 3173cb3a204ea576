import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404

from accounts.models import User
from accounts.services import user_deactivate
from rollout import permissions as perms
from rollout.models import EscalationChannel
from rollout.services.cohorts import cohort_create, cohort_members_add
from rollout.services.escalation_path import escalation_level_add
from rollout.services.workflows import workflow_handover
from tests.factories import UserFactory

# role → (view, change, hand over, create)
EXPECTED = {
    "ops_leader": (True, True, True, True),
    "executive": (True, False, False, False),
    "workflow_owner": (True, True, True, False),
    "other_user": (False, False, False, False),
}


@pytest.mark.parametrize("role", EXPECTED)
def test_predicates_per_role(request, workflow, role):
    user = request.getfixturevalue(role)

    assert (
        perms.can_view_workflow(user, workflow),
        perms.can_change_workflow(user, workflow),
        perms.can_handover_workflow(user, workflow),
        perms.can_create_workflow(user),
    ) == EXPECTED[role]


def test_anonymous_may_do_nothing(workflow):
    anonymous = AnonymousUser()

    assert not perms.can_view_workflow(anonymous, workflow)
    assert not perms.can_change_workflow(anonymous, workflow)
    assert not perms.can_handover_workflow(anonymous, workflow)
    assert not perms.can_create_workflow(anonymous)
    assert not perms.can_manage_people(anonymous)


def test_only_ops_leaders_manage_people(ops_leader, executive, workflow_owner):
    assert perms.can_manage_people(ops_leader)
    assert not perms.can_manage_people(executive)
    assert not perms.can_manage_people(workflow_owner)


def test_a_deactivated_owner_loses_every_right(ops_leader, workflow, workflow_owner):
    user_deactivate(actor=ops_leader, user=workflow_owner)
    gone = User.objects.get(pk=workflow_owner.pk)

    assert not perms.can_view_workflow(gone, workflow)
    assert not perms.can_change_workflow(gone, workflow)
    assert not perms.can_handover_workflow(gone, workflow)


def test_the_previous_owner_loses_access_after_a_handover(ops_leader, workflow, workflow_owner):
    successor = UserFactory()
    workflow = workflow_handover(workflow=workflow, actor=ops_leader, new_owner=successor)
    # Guardian caches permissions on the user instance: ask with fresh ones.
    previous, successor = User.objects.get(pk=workflow_owner.pk), User.objects.get(pk=successor.pk)

    assert not perms.can_view_workflow(previous, workflow)
    assert not perms.can_change_workflow(previous, workflow)
    assert perms.can_handover_workflow(successor, workflow)


def test_a_stray_change_permission_without_ownership_is_not_enough(ops_leader, workflow):
    from guardian.shortcuts import assign_perm

    helper = UserFactory()
    assign_perm("rollout.view_workflow", helper, workflow)
    assign_perm("rollout.change_workflow", helper, workflow)

    assert perms.can_view_workflow(helper, workflow)
    assert not perms.can_change_workflow(helper, workflow)
    assert not perms.can_handover_workflow(helper, workflow)


@pytest.mark.parametrize("role", ["ops_leader", "executive", "workflow_owner"])
def test_access_workflow_returns_it_to_those_who_see_it(request, workflow, role):
    user = request.getfixturevalue(role)

    assert perms.access_workflow(user, workflow.slug) == workflow


@pytest.mark.parametrize(
    ("role", "slug", "for_change"),
    [
        ("other_user", "support-reply-drafting", False),
        ("executive", "support-reply-drafting", True),
        ("ops_leader", "no-such-workflow", False),
    ],
)
def test_access_workflow_is_404_otherwise(request, workflow, role, slug, for_change):
    user = request.getfixturevalue(role)

    with pytest.raises(Http404):
        perms.access_workflow(user, slug, for_change=for_change)


def test_access_workflow_for_change_lets_owner_and_ops_leader_in(ops_leader, workflow):
    assert perms.access_workflow(workflow.owner, workflow.slug, for_change=True) == workflow
    assert perms.access_workflow(ops_leader, workflow.slug, for_change=True) == workflow


def test_may_use_workflow_as_a_query_agrees_with_can_use_workflow(
    ops_leader, executive, workflow_owner, other_user, workflow
):
    """Notice delivery asks "who of these followers may still see it" in one query; its answer
    must be exactly the predicate's, for every role (member and contact included)."""
    member = UserFactory(email="member@example.com")
    contact = UserFactory(email="contact@example.com")
    cohort = cohort_create(workflow=workflow, actor=ops_leader, name="Tier 1")
    cohort_members_add(cohort=cohort, users=[member], actor=ops_leader)
    escalation_level_add(
        workflow=workflow,
        actor=ops_leader,
        contact=contact,
        channel=EscalationChannel.IN_APP,
        response_target_minutes=30,
    )
    people = [ops_leader, executive, workflow_owner, other_user, member, contact]

    allowed = set(
        User.objects.filter(pk__in=[p.pk for p in people])
        .filter(perms.may_use_workflow(workflow.pk, user_ref="pk"))
        .values_list("pk", flat=True)
    )
    fresh = {p.pk: User.objects.get(pk=p.pk) for p in people}
    assert allowed == {pk for pk, user in fresh.items() if perms.can_use_workflow(user, workflow)}
    assert allowed == {p.pk for p in people if p is not other_user}
