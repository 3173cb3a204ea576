import pytest
from django.http import HttpResponse
from django.test import Client

from accounts.models import User
from accounts.services import user_deactivate
from rollout.models import Workflow
from tests.factories import UserFactory, make_workflow


def template_names(response: HttpResponse) -> list[str]:
    """Names of the templates and partials rendered, in order (a partial is named by itself)."""
    return [t.name for t in response.templates]


def login_redirect(path: str) -> str:
    return f"/accounts/login/?next={path}"


def as_user(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def gone_owner(db) -> User:
    return UserFactory(email="gone@example.com", display_name="Gina Gone")


@pytest.fixture
def ownerless_workflow(gone_owner: User, ops_leader: User) -> Workflow:
    """A workflow whose owner was deactivated through the product."""
    workflow = make_workflow(
        owner=gone_owner, actor=ops_leader, name="Invoice coding", slug="invoice-coding"
    )
    user_deactivate(actor=ops_leader, user=gone_owner)
    return Workflow.objects.with_owner().get(pk=workflow.pk)
