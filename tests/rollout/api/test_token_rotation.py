"""A rotated token over HTTP (issue 19): it works during its grace period, beside its
replacement, and from the end of it the API answers 401 saying it was replaced — on the full
path and on the decision endpoint's fast lane. Time is moved by patching the clock, never waited
for."""

from datetime import timedelta

import pytest
from django.utils import timezone

from rollout.api.auth import MSG_INVALID
from rollout.services.api_tokens import MSG_TOKEN_EXPIRED, api_token_revoke, api_token_rotate
from tests.rollout.api.conftest import IssuedToken
from tests.rollout.api.test_decision import ask, assert_unauthorized
from tests.rollout.api.test_fast_decision import served_fast  # noqa: F401 — a fixture
from tests.rollout.promotion_fixtures import make_plan

pytestmark = pytest.mark.django_db


@pytest.fixture
def replacement(
    api_client, api_token, workflow, workflow_owner, django_capture_on_commit_callbacks
) -> IssuedToken:
    make_plan(workflow, current="shadow")
    assert ask(api_client, api_token, user="a").status_code == 200  # cached before rotation
    with django_capture_on_commit_callbacks(execute=True):
        token, plaintext = api_token_rotate(
            token=api_token.token, actor=workflow_owner, grace=timedelta(hours=1)
        )
    return IssuedToken(token, plaintext)


def move_clock(monkeypatch, moment) -> None:
    monkeypatch.setattr(timezone, "now", lambda: moment)


def test_both_work_during_grace_and_record_their_use(api_client, api_token, replacement):
    for issued in (api_token, replacement):
        response = ask(api_client, issued, user="a")
        assert response.status_code == 200
        assert response.json()["mode"] == "shadow"
        issued.token.refresh_from_db()
        assert issued.token.last_used_at is not None


def test_the_old_token_is_refused_from_the_end_of_grace(
    api_client,
    api_token,
    replacement,
    monkeypatch,
    served_fast,  # noqa: F811
):
    # Warm: the second question is answered by the fast lane, from memory.
    assert ask(api_client, api_token, user="a").status_code == 200
    assert ask(api_client, api_token, user="a").status_code == 200
    assert served_fast[-1] is True
    api_token.token.refresh_from_db()
    move_clock(monkeypatch, api_token.token.expires_at)
    assert_unauthorized(ask(api_client, api_token, user="a"), MSG_TOKEN_EXPIRED)
    assert served_fast[-1] is False
    response = ask(api_client, replacement, user="a")
    assert response.status_code == 200


def test_no_grace_refuses_at_once_with_the_replaced_message(
    api_client, api_token, workflow, workflow_owner, django_capture_on_commit_callbacks
):
    make_plan(workflow, current="shadow")
    assert ask(api_client, api_token, user="a").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        api_token_rotate(token=api_token.token, actor=workflow_owner, grace=timedelta(0))
    assert_unauthorized(ask(api_client, api_token, user="a"), MSG_TOKEN_EXPIRED)


def test_stopping_the_old_token_during_grace_refuses_it_as_revoked(
    api_client, api_token, replacement, workflow_owner, django_capture_on_commit_callbacks
):
    assert ask(api_client, api_token, user="a").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        api_token_revoke(token=api_token.token, actor=workflow_owner)
    assert_unauthorized(ask(api_client, api_token, user="a"), MSG_INVALID)
    assert ask(api_client, replacement, user="a").status_code == 200
