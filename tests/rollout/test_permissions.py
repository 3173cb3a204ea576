import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404

from accounts.models import User
from accounts.services import user_deactivate
from rollout import permissions as perms
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
