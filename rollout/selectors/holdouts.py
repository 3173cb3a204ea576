"""Who is in a cohort's holdout (issue 18 §1), for the cohorts page and the holdout page.

Membership of the holdout is a hash (rollout.selectors.decision.in_holdout), not a stored row:
it is computed here from the members, less those moved out of it (HoldoutRelease)."""

from dataclasses import dataclass

from accounts.models import User
from rollout.models import Cohort, CohortMember, HoldoutRelease, Workflow
from rollout.selectors.decision import in_holdout, in_percentage, member_key


def _held(workflow_id: int, user_id: int, cohort: Cohort) -> bool:
    key = member_key(user_id)
    return in_percentage(workflow_id, key, cohort.percentage) and in_holdout(
        workflow_id, key, cohort.holdout_percentage
    )


def holdout_counts(workflow: Workflow, cohorts: list[Cohort]) -> dict[int, int]:
    """{cohort id: members held out now} for the enrolled cohorts with a holdout. Two queries,
    whatever the number of cohorts."""
    with_holdout = {c.pk: c for c in cohorts if c.enrolled_phase and c.holdout_percentage}
    if not with_holdout:
        return {}
    released = set(
        HoldoutRelease.objects.filter(cohort_id__in=list(with_holdout)).values_list(
            "cohort_id", "user_id"
        )
    )
    counts = dict.fromkeys(with_holdout, 0)
    members = CohortMember.objects.filter(cohort_id__in=list(with_holdout), user__is_active=True)
    for cohort_id, user_id in members.values_list("cohort_id", "user_id"):
        if (cohort_id, user_id) not in released and _held(
            workflow.pk, user_id, with_holdout[cohort_id]
        ):
            counts[cohort_id] += 1
    return counts


@dataclass(frozen=True)
class HoldoutList:
    held_out: list[User]
    released: list[HoldoutRelease]


def holdout_list(cohort: Cohort) -> HoldoutList:
    """The cohort's members held out now, by name, and the people moved out of its holdout,
    latest first. Two queries."""
    releases = list(
        HoldoutRelease.objects.filter(cohort=cohort).select_related("user", "released_by")
    )
    released = {r.user_id for r in releases}
    held: list[User] = []
    if cohort.enrolled_phase and cohort.holdout_percentage:
        members = (
            CohortMember.objects.filter(cohort=cohort, user__is_active=True)
            .select_related("user")
            .order_by("user__display_name", "user__email")
        )
        held = [
            m.user
            for m in members
            if m.user_id not in released and _held(cohort.workflow_id, m.user_id, cohort)
        ]
    return HoldoutList(held, releases)
