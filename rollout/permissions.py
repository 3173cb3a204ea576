"""Who may do what. Predicates `can_<verb>_<entity>` and fetch-and-check helpers `access_<entity>`.

Ops leaders and executives see every workflow (executives read-only). Everyone else sees a workflow
only through an object permission granted by a service (owner today; cohort members and escalation
contacts later). A workflow the user may not see is a 404, never a 403: its existence is not leaked.
"""

from django.contrib.auth.models import AnonymousUser
from django.db.models import Exists, OuterRef, Q
from django.http import Http404

from accounts.models import User
from accounts.roles import ORG_ROLES, is_executive, is_ops_leader
from rollout.models import (
    Escalation,
    EscalationEvent,
    EscalationEventKind,
    OutputReviewer,
    Workflow,
    WorkflowUserObjectPermission,
)

AnyUser = User | AnonymousUser
PERMS_CACHE_ATTR = "_rollout_workflow_perms"


def workflow_perms(user: AnyUser, workflow: Workflow) -> frozenset[str]:
    """The user's object permission codenames on the workflow: one query per user and workflow,
    remembered on the user instance for the rest of the request (services that change roles drop
    it, see rollout.services.access)."""
    if not user.is_authenticated or not user.is_active:
        return frozenset()
    cache: dict[int, frozenset[str]] = user.__dict__.setdefault(PERMS_CACHE_ATTR, {})
    if workflow.pk not in cache:
        cache[workflow.pk] = frozenset(
            WorkflowUserObjectPermission.objects.filter(
                user=user, content_object=workflow
            ).values_list("permission__codename", flat=True)
        )
    return cache[workflow.pk]


def can_manage_people(user: AnyUser) -> bool:
    return is_ops_leader(user)


def can_create_workflow(user: AnyUser) -> bool:
    return is_ops_leader(user)


def can_view_workflow(user: AnyUser, workflow: Workflow) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    if is_ops_leader(user) or is_executive(user):
        return True
    return "view_workflow" in workflow_perms(user, workflow)


def can_use_workflow(user: AnyUser, workflow: Workflow) -> bool:
    """Member-facing pages: cohort members, plus everyone who may view the workflow."""
    if can_view_workflow(user, workflow):
        return True
    return "use_workflow" in workflow_perms(user, workflow)


def may_use_workflow(workflow_id: int, *, user_ref: str = "user_id") -> Q:
    """`can_use_workflow` as a query condition, for rows whose `user_ref` column is a user id:
    an org role, or an object permission to view or use the workflow. (Activeness is the
    caller's filter.) Lets a sender ask "who of these may still see it" in one query."""
    holds_perm = WorkflowUserObjectPermission.objects.filter(
        content_object_id=workflow_id,
        user_id=OuterRef(user_ref),
        permission__codename__in=("view_workflow", "use_workflow"),
    )
    org_role = User.groups.through.objects.filter(
        user_id=OuterRef(user_ref), group__name__in=ORG_ROLES
    )
    return Q(Exists(holds_perm)) | Q(Exists(org_role))


def can_change_workflow(user: AnyUser, workflow: Workflow) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    if is_ops_leader(user):
        return True
    return workflow.owner_id == user.pk and "change_workflow" in workflow_perms(user, workflow)


def can_manage_webhooks(user: AnyUser, workflow: Workflow | None) -> bool:
    """A workflow's webhooks and chat channels: its owner and ops leaders. The organisation's
    (workflow None, every workflow's events): ops leaders."""
    if workflow is None:
        return user.is_active and is_ops_leader(user)
    return can_change_workflow(user, workflow)


def can_handover_workflow(user: AnyUser, workflow: Workflow) -> bool:
    """Ops leaders name owners (always for an ownerless workflow); an owner may hand theirs on."""
    if is_ops_leader(user):
        return True
    return can_change_workflow(user, workflow) and workflow.owner_id == user.pk


def access_workflow(
    user: AnyUser, slug: str, *, for_change: bool = False, members: bool = False
) -> Workflow:
    """The workflow with this slug if the user may see it; else 404.

    `members=True` admits cohort members (member-facing pages); `for_change=True` demands the
    right to change it (owner or ops leader).
    """
    try:
        workflow = Workflow.objects.with_owner().get(slug=slug)
    except Workflow.DoesNotExist:
        raise Http404("No such workflow.") from None
    allowed = can_use_workflow if members else can_view_workflow
    if not allowed(user, workflow):
        raise Http404("No such workflow.")
    if for_change and not can_change_workflow(user, workflow):
        raise Http404("No such workflow.")
    return workflow


def can_open_escalation(user: AnyUser, workflow: Workflow) -> bool:
    """Opening an escalation by hand: the owner or an ops leader."""
    return can_change_workflow(user, workflow)


def can_act_on_escalation(user: AnyUser, escalation: Escalation) -> bool:
    """Acknowledge, reassign, resolve, add a note: the owner, an ops leader, the current contact,
    or a contact the escalation has notified. Executives read only (unless they are a contact)."""
    workflow = escalation.workflow
    if not can_view_workflow(user, workflow):
        return False
    if can_change_workflow(user, workflow) or escalation.current_contact_id == user.pk:
        return True
    return EscalationEvent.objects.filter(
        escalation=escalation, kind=EscalationEventKind.NOTIFIED, contact=user
    ).exists()


def can_give_feedback(user: AnyUser, workflow: Workflow) -> bool:
    """Filing feedback, "me too" and comments: anyone with a role on the workflow (cohort member,
    owner, escalation contact) and ops leaders. Executives only read, unless they hold a role."""
    if not user.is_authenticated or not user.is_active:
        return False
    if is_ops_leader(user):
        return True
    return bool({"use_workflow", "view_workflow"} & workflow_perms(user, workflow))


def can_triage_feedback(user: AnyUser, workflow: Workflow) -> bool:
    """Severity, status, assignee, merging duplicates: the owner or an ops leader."""
    return can_change_workflow(user, workflow)


def can_view_notice_stats(user: AnyUser, workflow: Workflow) -> bool:
    """Who read and acknowledged a notice: the owner, ops leaders and executives (not escalation
    contacts or cohort members, who only see their own inbox)."""
    if is_executive(user) or is_ops_leader(user):
        return True
    return can_change_workflow(user, workflow)


def can_manage_output_reviewers(user: AnyUser, workflow: Workflow) -> bool:
    """Naming the people who grade sampled outputs: the owner or an ops leader."""
    return can_change_workflow(user, workflow)


def can_review_outputs(user: AnyUser, workflow: Workflow) -> bool:
    """Seeing and grading sampled AI outputs (issue 18 §2): the owner, ops leaders, and the
    reviewers the owner named. Nobody else sees excerpts — not executives, not cohort members."""
    if not user.is_authenticated or not user.is_active:
        return False
    if can_change_workflow(user, workflow):
        return True
    return OutputReviewer.objects.filter(workflow=workflow, user=user).exists()


def access_review_queue(user: AnyUser, slug: str) -> Workflow:
    """The workflow with this slug if the user may review its outputs; else 404 (whether the
    workflow exists, or has a queue, is not leaked)."""
    try:
        workflow = Workflow.objects.with_owner().get(slug=slug)
    except Workflow.DoesNotExist:
        raise Http404("No such workflow.") from None
    if not can_review_outputs(user, workflow):
        raise Http404("No such workflow.")
    return workflow
