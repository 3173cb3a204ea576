"""Writes on cohorts: create, rename, delete, members, enrolment. Each one transaction, each
recorded, each re-syncing the object permissions of the people it affects and invalidating cached
rollout decisions."""

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from core.errors import ApplicationError
from rollout.models import (
    IN_PROGRESS,
    PHASE_ORDER,
    Cohort,
    CohortMember,
    Phase,
    RollupPeriod,
    UsageDirtyDay,
    UsageRollup,
    Workflow,
)
from rollout.models.cohort import EnrolmentPhase
from rollout.selectors.decision import member_key, percentage_bucket
from rollout.services.access import workflow_access_sync
from rollout.services.activity import activity_record
from rollout.services.briefings import briefing_ask_joiners
from rollout.services.decision_cache import plan_changed
from rollout.services.holdouts import enrolment_setting_record

MSG_NAME_REQUIRED = "Give the cohort a name."
MSG_NAME_TAKEN = "This workflow already has a cohort called “{name}”."
MSG_DELETE_LIVE = (
    "“{name}” is enrolled at the {phase} phase, which is in progress: its members are using the "
    "workflow. Unenrol it first, or wait until the roll-out is paused or finished."
)
MSG_NOT_A_MEMBER = "{user} is not a member of “{cohort}”."
MSG_INACTIVE_USER = "{user} is deactivated and cannot join a cohort."
MSG_BAD_PHASE = "Choose the limited or the broad roll-out."
MSG_BAD_PERCENTAGE = "The percentage must be a whole number from 1 to 100."
MSG_BAD_HOLDOUT = "The holdout must be a whole number from 0 to 50 (% of the members in)."
MSG_NOT_ENROLLED = "“{name}” is not enrolled."
MSG_ENROL_UNCHANGED = "“{name}” is already enrolled at that phase, percentage and holdout."
NOTE_MAY_LOSE = "{count} members may lose live output."


def _display_enrolment(cohort: Cohort) -> str:
    if not cohort.enrolled_phase:
        return "—"
    holdout = f", {cohort.holdout_percentage}% held out" if cohort.holdout_percentage else ""
    return f"{cohort.get_enrolled_phase_display()}, {cohort.percentage}%{holdout}"


def cohort_is_live(cohort: Cohort) -> bool:
    """Whether the cohort's enrolment has started: an in-progress phase at or after it."""
    if not cohort.enrolled_phase:
        return False
    kind = (
        Phase.objects.filter(workflow_id=cohort.workflow_id, status__in=IN_PROGRESS)
        .values_list("kind", flat=True)
        .first()
    )
    return kind is not None and PHASE_ORDER.index(kind) >= PHASE_ORDER.index(cohort.enrolled_phase)


def _clean_name(workflow: Workflow, name: str, *, exclude_pk: int | None = None) -> str:
    name = " ".join(name.split())
    if not name:
        raise ApplicationError(MSG_NAME_REQUIRED, field="name")
    clash = Cohort.objects.filter(workflow=workflow, name__iexact=name).exclude(pk=exclude_pk)
    if clash.exists():
        raise ApplicationError(MSG_NAME_TAKEN.format(name=name), field="name")
    return name


@transaction.atomic
def cohort_create(*, workflow: Workflow, name: str, description: str = "", actor: User) -> Cohort:
    cohort = Cohort(
        workflow=workflow, name=_clean_name(workflow, name), description=description.strip()
    )
    cohort.full_clean()
    cohort.save()
    activity_record(
        workflow=workflow,
        actor=actor,
        verb="created",
        target=f"cohort {cohort.name}",
        changes={"name": ["—", cohort.name]},
    )
    plan_changed(workflow)
    return cohort


@transaction.atomic
def cohort_update(*, cohort: Cohort, name: str, description: str = "", actor: User) -> Cohort:
    before = {"name": cohort.name, "description": cohort.description}
    cohort.name = _clean_name(cohort.workflow, name, exclude_pk=cohort.pk)
    cohort.description = description.strip()
    changes = {
        label: [before[label] or "—", getattr(cohort, label) or "—"]
        for label in before
        if before[label] != getattr(cohort, label)
    }
    if not changes:
        return cohort
    cohort.full_clean()
    cohort.save()
    activity_record(
        workflow=cohort.workflow,
        actor=actor,
        verb="edited",
        target=f"cohort {cohort.name}",
        changes=changes,
    )
    plan_changed(cohort.workflow)
    return cohort


@transaction.atomic
def cohort_delete(*, cohort: Cohort, actor: User) -> None:
    """Delete a cohort, unless its members are using the workflow right now."""
    cohort = Cohort.objects.select_for_update().select_related("workflow").get(pk=cohort.pk)
    if cohort_is_live(cohort):
        raise ApplicationError(
            MSG_DELETE_LIVE.format(
                name=cohort.name, phase=cohort.get_enrolled_phase_display().lower()
            )
        )
    workflow = cohort.workflow
    members = list(cohort.members.all())
    name = cohort.name
    _mark_cohort_days_dirty(cohort)
    cohort.delete()
    for user in members:
        workflow_access_sync(workflow=workflow, user=user)
    activity_record(
        workflow=workflow,
        actor=actor,
        verb="deleted",
        target=f"cohort {name}",
        changes={"members": [str(len(members)), "—"]},
    )
    plan_changed(workflow)


def _mark_cohort_days_dirty(cohort: Cohort) -> None:
    """The cohort's events become "not in a cohort" (SET NULL) and its rollups go with it: its
    days are rebuilt, so the no-cohort numbers include those events (one query per statement)."""
    days = (
        UsageRollup.objects.filter(cohort=cohort, period=RollupPeriod.DAY)
        .values_list("day", flat=True)
        .distinct()
    )
    UsageDirtyDay.objects.bulk_create(
        [UsageDirtyDay(workflow_id=cohort.workflow_id, day=day) for day in days],
        ignore_conflicts=True,
    )


@transaction.atomic
def cohort_members_add(*, cohort: Cohort, users: Iterable[User], actor: User) -> list[User]:
    """Add people to the cohort; those already in it are skipped. Returns the people added."""
    users = list({u.pk: u for u in users}.values())
    for user in users:
        if not user.is_active:
            raise ApplicationError(MSG_INACTIVE_USER.format(user=user), field="users")
    existing = set(
        CohortMember.objects.filter(cohort=cohort, user__in=users).values_list("user_id", flat=True)
    )
    added = [u for u in users if u.pk not in existing]
    if not added:
        return []
    CohortMember.objects.bulk_create(
        [CohortMember(cohort=cohort, user=u, added_by=actor) for u in added]
    )
    for user in added:
        workflow_access_sync(workflow=cohort.workflow, user=user)
    # Newcomers are asked to read the failure-mode briefing, as the members were.
    briefing_ask_joiners(cohort=cohort, users=added)
    activity_record(
        workflow=cohort.workflow,
        actor=actor,
        verb="added members to",
        target=f"cohort {cohort.name}",
        changes={"members added": ["—", ", ".join(sorted(u.email for u in added))]},
    )
    plan_changed(cohort.workflow)
    return added


@transaction.atomic
def cohort_member_remove(*, cohort: Cohort, user: User, actor: User) -> None:
    """Remove one person. They lose the workflow only if no other role of theirs grants it."""
    deleted, _ = CohortMember.objects.filter(cohort=cohort, user=user).delete()
    if not deleted:
        raise ApplicationError(MSG_NOT_A_MEMBER.format(user=user, cohort=cohort.name))
    workflow_access_sync(workflow=cohort.workflow, user=user)
    activity_record(
        workflow=cohort.workflow,
        actor=actor,
        verb="removed a member from",
        target=f"cohort {cohort.name}",
        changes={"member": [user.email, "—"]},
    )
    plan_changed(cohort.workflow)


@transaction.atomic
def cohort_members_remove(*, cohort: Cohort, users: Iterable[User], actor: User) -> list[User]:
    """Remove several people at once; those not in the cohort are skipped. One activity entry
    for the batch. Each loses the workflow only if no other role of theirs grants it. Returns
    the people removed."""
    users = list({u.pk: u for u in users}.values())
    memberships = CohortMember.objects.filter(cohort=cohort, user__in=users)
    member_ids = set(memberships.values_list("user_id", flat=True))
    removed = [u for u in users if u.pk in member_ids]
    if not removed:
        return []
    memberships.delete()
    for user in removed:
        workflow_access_sync(workflow=cohort.workflow, user=user)
    activity_record(
        workflow=cohort.workflow,
        actor=actor,
        verb="removed members from",
        target=f"cohort {cohort.name}",
        changes={"members removed": [", ".join(sorted(u.email for u in removed)), "—"]},
    )
    plan_changed(cohort.workflow)
    return removed


def _members_losing(cohort: Cohort, old: int, new: int) -> int:
    """How many members are inside the old percentage slice but outside the new one."""
    member_ids = cohort.memberships.values_list("user_id", flat=True)
    low, high = new * 100, old * 100
    return sum(
        1
        for pk in member_ids
        if low <= percentage_bucket(cohort.workflow_id, member_key(pk)) < high
    )


@transaction.atomic
def cohort_enrol(
    *,
    cohort: Cohort,
    phase: str,
    percentage: int,
    actor: User,
    holdout_percentage: int | None = None,
) -> Cohort:
    """Enrol the cohort at the limited or broad phase for `percentage` of its members, or change
    an enrolment. Lowering the percentage of a live cohort is allowed but noted in the log.
    `holdout_percentage` (0–50; None keeps it) keeps a slice of those on the old process
    (rollout.models.holdout). Every change is kept in the enrolment settings history."""
    if phase not in EnrolmentPhase.values:
        raise ApplicationError(MSG_BAD_PHASE, field="phase")
    if (
        isinstance(percentage, bool)
        or not isinstance(percentage, int)
        or not 1 <= percentage <= 100
    ):
        raise ApplicationError(MSG_BAD_PERCENTAGE, field="percentage")
    if holdout_percentage is not None and (
        isinstance(holdout_percentage, bool)
        or not isinstance(holdout_percentage, int)
        or not 0 <= holdout_percentage <= 50
    ):
        raise ApplicationError(MSG_BAD_HOLDOUT, field="holdout_percentage")
    cohort = Cohort.objects.select_for_update().select_related("workflow").get(pk=cohort.pk)
    if holdout_percentage is None:
        holdout_percentage = cohort.holdout_percentage
    if (
        cohort.enrolled_phase == phase
        and cohort.percentage == percentage
        and cohort.holdout_percentage == holdout_percentage
    ):
        raise ApplicationError(MSG_ENROL_UNCHANGED.format(name=cohort.name))
    before = _display_enrolment(cohort)
    note = ""
    if cohort.enrolled_phase == phase and percentage < cohort.percentage and cohort_is_live(cohort):
        losing = _members_losing(cohort, cohort.percentage, percentage)
        note = NOTE_MAY_LOSE.format(count=losing)
    if cohort.enrolled_phase != phase:
        cohort.enrolled_at = timezone.now()
    cohort.enrolled_phase = phase
    cohort.percentage = percentage
    cohort.holdout_percentage = holdout_percentage
    cohort.full_clean()
    cohort.save()
    enrolment_setting_record(cohort=cohort, actor=actor)
    activity_record(
        workflow=cohort.workflow,
        actor=actor,
        verb="enrolled",
        target=f"cohort {cohort.name}",
        changes={"enrolment": [before, _display_enrolment(cohort)]},
        note=note,
    )
    plan_changed(cohort.workflow)
    return cohort


@transaction.atomic
def cohort_unenrol(*, cohort: Cohort, actor: User) -> Cohort:
    """Take the cohort out of the roll-out; its members keep their membership."""
    cohort = Cohort.objects.select_for_update().select_related("workflow").get(pk=cohort.pk)
    if not cohort.enrolled_phase:
        raise ApplicationError(MSG_NOT_ENROLLED.format(name=cohort.name))
    before = _display_enrolment(cohort)
    note = ""
    if cohort_is_live(cohort):
        note = NOTE_MAY_LOSE.format(count=_members_losing(cohort, cohort.percentage, 0))
    cohort.enrolled_phase = ""
    cohort.enrolled_at = None
    cohort.percentage = 100
    cohort.holdout_percentage = 0
    cohort.full_clean()
    cohort.save()
    enrolment_setting_record(cohort=cohort, actor=actor)
    activity_record(
        workflow=cohort.workflow,
        actor=actor,
        verb="unenrolled",
        target=f"cohort {cohort.name}",
        changes={"enrolment": [before, "—"]},
        note=note,
    )
    plan_changed(cohort.workflow)
    return cohort
