"""Personal tokens for the management API tests: one per role, as their people hold them."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import User
from rollout.models import PersonalToken, Workflow
from rollout.services import cohorts as cohort_svc
from rollout.services.personal_tokens import personal_token_create
from tests.factories import UserFactory


@dataclass(frozen=True)
class IssuedPersonalToken:
    token: PersonalToken
    plaintext: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.plaintext}"}


def issue_personal_token(
    user: User, *, scope: str = "write", name: str = "CI bot", days: int = 30
) -> IssuedPersonalToken:
    return IssuedPersonalToken(
        *personal_token_create(
            user=user,
            actor=user,
            name=name,
            scope=scope,
            expires_on=timezone.localdate() + timedelta(days=days),
        )
    )


@pytest.fixture
def api_client() -> Client:
    # No cookies, no session: what a script sends.
    return Client()


@pytest.fixture
def cohort_member(workflow: Workflow, ops_leader: User) -> User:
    """In cohort "Tier 1" of the workflow: may use it, not see its plan."""
    user = UserFactory(email="mia.member@example.com")
    cohort = cohort_svc.cohort_create(workflow=workflow, name="Tier 1", actor=ops_leader)
    cohort_svc.cohort_members_add(cohort=cohort, users=[user], actor=ops_leader)
    return user


@pytest.fixture
def token_for() -> Callable[..., IssuedPersonalToken]:
    return issue_personal_token


@pytest.fixture
def ops_token(ops_leader: User) -> IssuedPersonalToken:
    return issue_personal_token(ops_leader)


@pytest.fixture
def owner_token(workflow: Workflow, workflow_owner: User) -> IssuedPersonalToken:
    return issue_personal_token(workflow_owner)
