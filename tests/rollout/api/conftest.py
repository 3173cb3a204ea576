from dataclasses import dataclass

import pytest
from django.test import Client

from accounts.models import User
from rollout.models import ApiToken, Workflow
from rollout.services.api_tokens import api_token_create


@dataclass(frozen=True)
class IssuedToken:
    """A token as its integration holds it: the row, and the plaintext shown once."""

    token: ApiToken
    plaintext: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.plaintext}"}


def issue_token(workflow: Workflow, actor: User, name: str = "Support tool") -> IssuedToken:
    return IssuedToken(*api_token_create(workflow=workflow, actor=actor, name=name))


@pytest.fixture
def api_token(workflow: Workflow, workflow_owner: User) -> IssuedToken:
    return issue_token(workflow, workflow_owner)


@pytest.fixture
def api_client() -> Client:
    # No cookies, no session: what an integration sends.
    return Client()


@pytest.fixture
def member(workflow: Workflow, ops_leader: User) -> User:
    """In cohort "Tier 1", enrolled for the limited phase at 100%."""
    from rollout.services import cohorts as cohort_svc
    from tests.factories import UserFactory

    user = UserFactory(email="mia.member@example.com", external_id="EMP-7")
    cohort = cohort_svc.cohort_create(workflow=workflow, name="Tier 1", actor=ops_leader)
    cohort_svc.cohort_members_add(cohort=cohort, users=[user], actor=ops_leader)
    cohort_svc.cohort_enrol(cohort=cohort, phase="limited", percentage=100, actor=ops_leader)
    return user
