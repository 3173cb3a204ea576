"""Output-review test data: a workflow in its limited phase with one cohort at the `sample` review
level (the fixtures in tests/rollout/conftest.py), event ids picked or not, and review items made
straight through the ORM."""

import uuid
from datetime import timedelta

from django.utils import timezone

from accounts.models import User
from rollout.lib.output_sampling import output_picked
from rollout.models import Cohort, OutputReview, ReviewLevel, Workflow
from rollout.services import cohorts as cohort_svc
from tests.factories import UserFactory
from tests.rollout.promotion_fixtures import make_plan


def make_sampled_cohort(workflow: Workflow, ops_leader: User, *, rate: int = 10) -> Cohort:
    """mia.member@example.com, in "Tier 1" enrolled at limited, reviewed at a `rate` % sample."""
    make_plan(workflow, current="limited")
    user = UserFactory(email="mia.member@example.com", external_id="EMP-7")
    cohort = cohort_svc.cohort_create(workflow=workflow, name="Tier 1", actor=ops_leader)
    cohort_svc.cohort_members_add(cohort=cohort, users=[user], actor=ops_leader)
    cohort_svc.cohort_enrol(cohort=cohort, phase="limited", percentage=100, actor=ops_leader)
    Cohort.objects.filter(pk=cohort.pk).update(
        review_level=ReviewLevel.SAMPLE, review_sample_rate=rate
    )
    return Cohort.objects.get(pk=cohort.pk)


def picked_ids(count: int, rate: int = 10, *, picked: bool = True) -> list[uuid.UUID]:
    """`count` event ids that are (or are not) picked at `rate` %."""
    ids = []
    while len(ids) < count:
        candidate = uuid.uuid4()
        if output_picked(candidate, rate) == picked:
            ids.append(candidate)
    return ids


def make_review(
    workflow: Workflow,
    cohort: Cohort | None,
    *,
    grade: str = "",
    excerpt: str = "Dear customer, your refund of €40 is on its way.",
    days_ago: float = 1,
    graded_days_ago: float | None = None,
    user: User | None = None,
) -> OutputReview:
    now = timezone.now()
    graded_at = None
    if grade:
        graded_at = now - timedelta(days=days_ago if graded_days_ago is None else graded_days_ago)
    return OutputReview.objects.create(
        workflow=workflow,
        event_id=uuid.uuid4(),
        cohort=cohort,
        user=user,
        user_ref=user.email if user else "someone@example.com",
        occurred_at=now - timedelta(days=days_ago),
        excerpt=excerpt,
        created_at=now - timedelta(days=days_ago),
        grade=grade,
        graded_at=graded_at,
    )
