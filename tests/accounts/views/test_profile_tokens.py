"""Personal access tokens on the profile page: create (shown once), list, revoke."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.views.profile import MSG_NO_SUCH_TOKEN, MSG_TOKEN_CREATED, MSG_TOKEN_REVOKED
from rollout.models import PersonalToken
from rollout.services.personal_tokens import (
    MSG_EXPIRY_TOO_FAR,
    personal_token_authenticate,
    personal_token_create,
)
from tests.accounts.conftest import contains, messages_of

PROFILE = reverse("profile")


def _fields(**overrides: str) -> dict[str, str]:
    fields = {
        "action": "token_create",
        "token-name": "Laptop scripts",
        "token-scope": "write",
        "token-expires_on": (timezone.localdate() + timedelta(days=90)).isoformat(),
    }
    fields.update(overrides)
    return fields


def _issue(user: User, name: str = "Old") -> PersonalToken:
    return personal_token_create(
        user=user,
        actor=user,
        name=name,
        scope="read",
        expires_on=timezone.localdate() + timedelta(days=10),
    )[0]


@pytest.mark.parametrize("who", ["ops_leader", "executive", "workflow_owner", "other_user"])
def test_everyone_creates_their_own_and_sees_it_once(request, as_user, who: str) -> None:
    user = request.getfixturevalue(who)
    client = as_user(user)
    page = client.get(PROFILE)
    assert contains(page, "Personal access tokens")
    assert contains(page, "No personal access tokens yet.")
    default = (timezone.localdate() + timedelta(days=90)).isoformat()
    assert f'value="{default}"' in page.content.decode()

    response = client.post(PROFILE, _fields())
    assert response.status_code == 200
    assert "no-cache" in response["Cache-Control"]
    plaintext = response.context["plaintext"]
    assert plaintext.startswith("rop_")
    assert plaintext in response.content.decode()
    assert messages_of(response) == [MSG_TOKEN_CREATED.format(name="Laptop scripts")]
    token = PersonalToken.objects.get(user=user)
    assert personal_token_authenticate(plaintext) == token

    again = client.get(PROFILE)
    assert plaintext not in again.content.decode()
    assert contains(again, f"rop_{token.prefix}…")
    assert contains(again, "Read and write")


def test_bad_input_is_shown_beside_the_field_and_creates_nothing(as_user, workflow_owner) -> None:
    too_far = (timezone.localdate() + timedelta(days=400)).isoformat()
    response = as_user(workflow_owner).post(PROFILE, _fields(**{"token-expires_on": too_far}))
    assert response.status_code == 200
    assert response.context["token_form"].errors == {"expires_on": [MSG_EXPIRY_TOO_FAR]}
    assert response.context["plaintext"] is None
    missing = as_user(workflow_owner).post(PROFILE, _fields(**{"token-expires_on": ""}))
    assert "expires_on" in missing.context["token_form"].errors
    bad_scope = as_user(workflow_owner).post(PROFILE, _fields(**{"token-scope": "admin"}))
    assert "scope" in bad_scope.context["token_form"].errors
    assert not PersonalToken.objects.exists()


def test_revoke_ones_own(as_user, workflow_owner) -> None:
    token = _issue(workflow_owner)
    response = as_user(workflow_owner).post(
        PROFILE, {"action": "token_revoke", "token": token.pk}, follow=True
    )
    assert response.redirect_chain == [(f"{PROFILE}#personal-tokens", 302)]
    assert messages_of(response) == [MSG_TOKEN_REVOKED.format(name="Old")]
    token.refresh_from_db()
    assert token.revoked_by == workflow_owner


@pytest.mark.parametrize("value", ["someone-elses", "abc", "", "99999999999999999999999"])
def test_nobody_revokes_anothers_token_from_their_profile(
    as_user, workflow_owner, ops_leader, value: str
) -> None:
    token = _issue(workflow_owner)
    posted = str(token.pk) if value == "someone-elses" else value
    response = as_user(ops_leader).post(
        PROFILE, {"action": "token_revoke", "token": posted}, follow=True
    )
    assert messages_of(response) == [MSG_NO_SUCH_TOKEN]
    token.refresh_from_db()
    assert token.revoked_at is None


def test_anonymous_cannot_create(client, db) -> None:
    response = client.post(PROFILE, _fields())
    assert response.status_code == 302
    assert not PersonalToken.objects.exists()
