"""Cohorts with a holdout, for the tests of outcome holdouts (issue 18 §1)."""

from dataclasses import dataclass

from accounts.models import User
from rollout.models import Cohort, Workflow
from rollout.selectors.decision import in_holdout, member_key
from rollout.services import cohorts as cohort_svc
from tests.factories import UserFactory


@dataclass
class HoldoutCohort:
    cohort: Cohort
    held_out: list[User]
    ai: list[User]


def holdout_cohort(
    workflow: Workflow,
    actor: User,
    *,
    name: str = "Tier 1",
    people: int = 12,
    holdout: int = 50,
    phase: str = "limited",
) -> HoldoutCohort:
    """A cohort of at least `people` enrolled at `phase` at 100 % with a `holdout` % holdout,
    and who falls on which side (by the hash)."""
    tag = name.lower().replace(" ", "")
    users = [UserFactory(email=f"{tag}.{i}@example.com") for i in range(people)]
    # Who falls where is the hash of their primary key: add people until both sides have some,
    # so no test depends on which keys the database handed out.
    while not (
        any(in_holdout(workflow.pk, member_key(u.pk), holdout) for u in users)
        and not all(in_holdout(workflow.pk, member_key(u.pk), holdout) for u in users)
    ):
        users.append(UserFactory(email=f"{tag}.{len(users)}@example.com"))
    cohort = cohort_svc.cohort_create(workflow=workflow, name=name, actor=actor)
    cohort_svc.cohort_members_add(cohort=cohort, users=users, actor=actor)
    cohort_svc.cohort_enrol(
        cohort=cohort, phase=phase, percentage=100, holdout_percentage=holdout, actor=actor
    )
    held = [u for u in users if in_holdout(workflow.pk, member_key(u.pk), holdout)]
    ai = [u for u in users if u not in held]
    return HoldoutCohort(cohort, held, ai)
