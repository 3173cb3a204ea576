"""Writes on outcome holdouts: the enrolment settings history, and moving a person out of a
cohort's holdout (issue 18 §1). Each recorded, each invalidating cached rollout decisions."""

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from core.errors import ApplicationError
from rollout.models import Cohort, CohortMember, EnrolmentSetting, HoldoutRelease
from rollout.selectors.decision import in_holdout, in_percentage, member_key
from rollout.services.activity import activity_record
from rollout.services.decision_cache import plan_changed

MSG_NOT_HELD_OUT = "{user} is not in the holdout of “{cohort}”."
MSG_RELEASE_REASON = "Write why they leave the holdout: the comparison loses them from now on."
MSG_REASON_TOO_LONG = "Keep the reason under 2,000 characters."


def enrolment_setting_record(*, cohort: Cohort, actor: User | None) -> EnrolmentSetting:
    """Record the cohort's enrolment, percentage and holdout as they now stand, in effect from
    now: the history outcome arms are read from (rollout.selectors.outcome_arms). Call it in
    the transaction of every change of any of them."""
    setting = EnrolmentSetting(
        workflow_id=cohort.workflow_id,
        cohort=cohort,
        effective_at=timezone.now(),
        enrolled_phase=cohort.enrolled_phase,
        percentage=cohort.percentage,
        holdout_percentage=cohort.holdout_percentage,
        actor=actor,
    )
    setting.full_clean()
    setting.save()
    return setting


@transaction.atomic
def holdout_release(*, cohort: Cohort, user: User, actor: User, reason: str) -> HoldoutRelease:
    """Move `user` out of the cohort's holdout: from now on they are treated as any other member
    inside the percentage (live, in the AI arm). Refused for someone not held out now."""
    cohort = Cohort.objects.select_for_update().select_related("workflow").get(pk=cohort.pk)
    reason = reason.strip()
    if not reason:
        raise ApplicationError(MSG_RELEASE_REASON, field="reason")
    if len(reason) > 2000:
        raise ApplicationError(MSG_REASON_TOO_LONG, field="reason")
    key = member_key(user.pk)
    held_out = (
        CohortMember.objects.filter(cohort=cohort, user=user).exists()
        and in_percentage(cohort.workflow_id, key, cohort.percentage)
        and in_holdout(cohort.workflow_id, key, cohort.holdout_percentage)
        and not HoldoutRelease.objects.filter(cohort=cohort, user=user).exists()
    )
    if not held_out:
        raise ApplicationError(MSG_NOT_HELD_OUT.format(user=user.email, cohort=cohort.name))
    release = HoldoutRelease(
        cohort=cohort, user=user, released_by=actor, released_at=timezone.now(), reason=reason
    )
    release.full_clean()
    release.save()
    activity_record(
        workflow=cohort.workflow,
        actor=actor,
        verb="moved someone out of the holdout",
        target=f"of cohort {cohort.name}",
        changes={"holdout member": [user.email, "—"]},
        note=reason,
    )
    plan_changed(cohort.workflow)
    return release
