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
