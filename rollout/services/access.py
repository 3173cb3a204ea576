"""Object permissions follow roles. Each role change calls `workflow_access_sync` for the person.

A person may hold several roles on one workflow (owner and escalation contact, member of two
cohorts): permissions are recomputed from all of them, so removing one role never strips what
another still grants.
"""

from guardian.shortcuts import assign_perm, remove_perm

from accounts.models import User
from rollout.models import CohortMember, EscalationLevel, Workflow, WorkflowUserObjectPermission

OWNER_PERMS = frozenset({"view_workflow", "change_workflow", "use_workflow"})
CONTACT_PERMS = frozenset({"view_workflow"})
MEMBER_PERMS = frozenset({"use_workflow"})


def workflow_roles_perms(*, workflow: Workflow, user: User) -> set[str]:
    """The object permissions `user` should hold on `workflow`, from the roles they have."""
    perms: set[str] = set()
    if workflow.owner_id == user.pk:
        perms |= OWNER_PERMS
    if EscalationLevel.objects.filter(workflow=workflow, contact=user).exists():
        perms |= CONTACT_PERMS
    if CohortMember.objects.filter(cohort__workflow=workflow, user=user).exists():
        perms |= MEMBER_PERMS
    return perms


def workflow_access_sync(*, workflow: Workflow, user: User) -> None:
    """Grant and revoke so `user` holds exactly the permissions their roles give. Call inside the
    transaction of the role change."""
    desired = workflow_roles_perms(workflow=workflow, user=user)
    current = set(
        WorkflowUserObjectPermission.objects.filter(content_object=workflow, user=user).values_list(
            "permission__codename", flat=True
        )
    )
    for codename in desired - current:
        assign_perm(f"rollout.{codename}", user, workflow)
    for codename in current - desired:
        remove_perm(f"rollout.{codename}", user, workflow)
    # Guardian and rollout.permissions cache permissions on the user instance.
    for attr in [
        a
        for a in vars(user)
        if a.startswith(("_guardian", "_rollout_workflow_perms")) or a.endswith("_perm_cache")
    ]:
        delattr(user, attr)
