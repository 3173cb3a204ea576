"""Fixtures shared by the rollout tests of several layers."""

import pytest

from accounts.models import User
from rollout.models import Cohort, Workflow
from tests.rollout.output_review_fixtures import make_sampled_cohort


@pytest.fixture
def sampled_cohort(workflow: Workflow, ops_leader: User) -> Cohort:
    """ "Tier 1" in the limited phase, reviewed at a 10% sample; its member is
    mia.member@example.com (external id EMP-7)."""
    return make_sampled_cohort(workflow, ops_leader)
