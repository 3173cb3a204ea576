"""Ops leaders' list of everyone's personal access tokens, with revoke."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.views.personal_tokens import MSG_NO_SUCH_TOKEN, MSG_REVOKED, MSG_UNKNOWN_ACTION
from rollout.models import PersonalToken
from rollout.services.personal_tokens import personal_token_create
from tests.accounts.conftest import contains, messages_of
from tests.factories import UserFactory

URL = reverse("people_tokens")


def _issue(user: User, name: str) -> PersonalToken:
    return personal_token_create(
        user=user,
        actor=user,
        name=name,
        scope="write",
        expires_on=timezone.localdate() + timedelta(days=10),
    )[0]


def test_ops_leaders_see_everyones_live_tokens_first(
    as_user, ops_leader, workflow_owner, django_assert_max_num_queries
) -> None:
    old = _issue(workflow_owner, "Old laptop")
    PersonalToken.objects.filter(pk=old.pk).update(revoked_at=timezone.now())
    live = _issue(workflow_owner, "CI set-up")
    for n in range(5):
        _issue(UserFactory(), f"Script {n}")
    client = as_user(ops_leader)
    with django_assert_max_num_queries(12):
        response = client.get(URL)
    assert response.status_code == 200
    tokens = list(response.context["page_obj"].object_list)
    assert tokens[-1] == old
    assert live in tokens[:-1]
    assert contains(response, workflow_owner.email)
    assert contains(response, f"rop_{live.prefix}…")
    people = as_user(ops_leader).get(reverse("people_list"))
    assert f'href="{URL}"' in people.content.decode()


@pytest.mark.parametrize("who", ["executive", "workflow_owner", "other_user"])
def test_others_are_refused(request, as_user, workflow_owner, who: str) -> None:
    token = _issue(workflow_owner, "CI")
    client = as_user(request.getfixturevalue(who))
    assert client.get(URL).status_code == 403
    assert client.post(URL, {"action": "revoke", "token": token.pk}).status_code == 403
    token.refresh_from_db()
    assert token.revoked_at is None


def test_anonymous_is_sent_to_sign_in(client, db) -> None:
    assert client.get(URL).status_code == 302


def test_an_ops_leader_revokes_anyones(as_user, ops_leader, workflow_owner) -> None:
    token = _issue(workflow_owner, "CI")
    response = as_user(ops_leader).post(URL, {"action": "revoke", "token": token.pk}, follow=True)
    assert response.redirect_chain == [(URL, 302)]
    assert messages_of(response) == [MSG_REVOKED.format(name="CI", user=workflow_owner)]
    token.refresh_from_db()
    assert token.revoked_by == ops_leader


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"action": "revoke", "token": "nope"}, MSG_NO_SUCH_TOKEN),
        ({"action": "revoke", "token": "424242"}, MSG_NO_SUCH_TOKEN),
        ({"action": "delete", "token": "1"}, MSG_UNKNOWN_ACTION),
    ],
)
def test_bad_posts_change_nothing(as_user, ops_leader, workflow_owner, data, message) -> None:
    token = _issue(workflow_owner, "CI")
    response = as_user(ops_leader).post(URL, data, follow=True)
    assert messages_of(response) == [message]
    token.refresh_from_db()
    assert token.revoked_at is None
