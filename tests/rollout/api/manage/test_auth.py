"""PersonalTokenAuth: bearer only, and every refusal a 401 that says why."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import User
from accounts.services import user_deactivate, user_roles_set
from core.acting import acting_token_name
from rollout.api.errors import WWW_AUTHENTICATE
from rollout.api.manage.auth import MSG_MISSING
from rollout.api.manage.common import MSG_READ_SCOPE
from rollout.models import ActivityEntry, PersonalToken, Workflow
from rollout.services.api_tokens import api_token_create
from rollout.services.personal_tokens import (
    MSG_TOKEN_EXPIRED,
    MSG_TOKEN_INVALID,
    MSG_TOKEN_REVOKED,
    personal_token_revoke,
)
from tests.factories import ops_leader_user
from tests.rollout.api.manage.conftest import IssuedPersonalToken, issue_personal_token

URL = "/api/v1/workflows"


def _refused(response, message: str) -> None:
    assert response.status_code == 401
    assert response.json() == {"detail": message}
    assert response["WWW-Authenticate"] == WWW_AUTHENTICATE


def test_a_live_token_lists_and_notes_its_use(
    api_client: Client, workflow: Workflow, owner_token: IssuedPersonalToken
) -> None:
    response = api_client.get(URL, headers=owner_token.headers)
    assert response.status_code == 200
    assert [w["slug"] for w in response.json()] == [workflow.slug]
    owner_token.token.refresh_from_db()
    assert owner_token.token.last_used_at is not None


@pytest.mark.parametrize("header", ["", "Bearer", "Bearer   ", "Basic abc", "Token rop_x"])
def test_without_a_bearer_token(api_client: Client, db, header: str) -> None:
    headers = {"Authorization": header} if header else {}
    _refused(api_client.get(URL, headers=headers), MSG_MISSING)


def test_a_session_is_not_enough(client: Client, ops_leader: User) -> None:
    """No cookie authenticates the management API, so no other site can call it in a browser."""
    client.force_login(ops_leader)
    _refused(client.get(URL), MSG_MISSING)
    response = client.post(URL, {}, content_type="application/json")
    _refused(response, MSG_MISSING)


def test_unknown_tokens_and_workflow_tokens(
    api_client: Client, workflow: Workflow, workflow_owner: User
) -> None:
    _, workflow_token = api_token_create(workflow=workflow, actor=workflow_owner, name="Tool")
    for token in ("rop_not-a-token", workflow_token, "x" * 300):
        _refused(
            api_client.get(URL, headers={"Authorization": f"Bearer {token}"}), MSG_TOKEN_INVALID
        )


def test_an_expired_token(api_client: Client, owner_token: IssuedPersonalToken) -> None:
    PersonalToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    _refused(api_client.get(URL, headers=owner_token.headers), MSG_TOKEN_EXPIRED)


def test_a_revoked_token(
    api_client: Client, owner_token: IssuedPersonalToken, ops_leader: User
) -> None:
    personal_token_revoke(token=owner_token.token, actor=ops_leader)
    _refused(api_client.get(URL, headers=owner_token.headers), MSG_TOKEN_REVOKED)


def test_a_deactivated_persons_token(
    api_client: Client, owner_token: IssuedPersonalToken, ops_leader: User
) -> None:
    user_deactivate(actor=ops_leader, user=owner_token.token.user)
    _refused(api_client.get(URL, headers=owner_token.headers), MSG_TOKEN_REVOKED)


def test_a_person_deactivated_behind_the_services_back_is_refused(
    api_client: Client, owner_token: IssuedPersonalToken
) -> None:
    User.objects.filter(pk=owner_token.token.user_id).update(is_active=False)
    _refused(api_client.get(URL, headers=owner_token.headers), MSG_TOKEN_REVOKED)


def test_a_read_token_reads_but_never_writes(
    api_client: Client, workflow: Workflow, workflow_owner: User
) -> None:
    read = issue_personal_token(workflow_owner, scope="read")
    assert api_client.get(f"{URL}/{workflow.slug}", headers=read.headers).status_code == 200
    response = api_client.patch(
        f"{URL}/{workflow.slug}",
        {"summary": "Changed"},
        content_type="application/json",
        headers=read.headers,
    )
    assert response.status_code == 403
    assert response.json() == {"detail": MSG_READ_SCOPE}
    workflow.refresh_from_db()
    assert workflow.summary != "Changed"


def test_writes_are_logged_via_the_token_and_the_mark_ends_with_the_request(
    api_client: Client, workflow: Workflow, owner_token: IssuedPersonalToken
) -> None:
    response = api_client.patch(
        f"{URL}/{workflow.slug}",
        {"summary": "Drafts replies to every ticket."},
        content_type="application/json",
        headers=owner_token.headers,
    )
    assert response.status_code == 200
    entry = ActivityEntry.objects.filter(workflow=workflow).first()
    assert entry.verb == "edited"
    assert entry.actor == owner_token.token.user
    assert entry.note == "via token CI bot"
    assert acting_token_name() is None


def test_a_token_loses_what_its_person_loses(
    api_client: Client, ops_leader: User, workflow_owner: User
) -> None:
    """Permissions are read on every call: a token never keeps a role its person lost."""
    other_ops = ops_leader_user(email="ops2@example.com")
    token = issue_personal_token(ops_leader)
    body = {
        "name": "Invoice triage",
        "slug": "invoice-triage",
        "owner": workflow_owner.email,
        "business_action": "Invoice routed",
    }
    user_roles_set(actor=other_ops, user=ops_leader, roles=[])
    response = api_client.post(URL, body, content_type="application/json", headers=token.headers)
    assert response.status_code == 403
    assert not Workflow.objects.filter(slug="invoice-triage").exists()


def test_personal_tokens_are_rate_limited_each_on_its_own(
    api_client: Client, owner_token: IssuedPersonalToken, ops_token: IssuedPersonalToken, settings
) -> None:
    settings.ROLLOUT_API_RATE_PER_MINUTE = 2
    for _ in range(2):
        assert api_client.get(URL, headers=owner_token.headers).status_code == 200
    limited = api_client.get(URL, headers=owner_token.headers)
    assert limited.status_code == 429
    assert int(limited["Retry-After"]) >= 1
    assert api_client.get(URL, headers=ops_token.headers).status_code == 200
