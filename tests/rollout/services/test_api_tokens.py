import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone

from core.errors import ApplicationError
from rollout.models import ActivityEntry, ApiToken
from rollout.selectors.cache_invalidations import invalidations_pending
from rollout.services.api_tokens import (
    MSG_ALREADY_REVOKED,
    MSG_NAME_REQUIRED,
    MSG_NAME_TAKEN,
    MSG_NAME_TOO_LONG,
    MSG_NOT_ALLOWED,
    api_token_authenticate,
    api_token_create,
    api_token_revoke,
)
from tests.factories import make_workflow


def test_create_stores_only_the_hash(workflow, workflow_owner):
    token, plaintext = api_token_create(
        workflow=workflow, actor=workflow_owner, name="  Support   tool "
    )
    token.refresh_from_db()
    assert plaintext.startswith("ro_")
    assert len(plaintext) > 40
    assert token.name == "Support tool"
    assert token.prefix == plaintext[3:11]
    assert token.token_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    assert token.created_by == workflow_owner
    assert token.last_used_at is None
    assert token.revoked_at is None
    stored = [str(v) for v in ApiToken.objects.values_list(flat=False).get(pk=token.pk)]
    assert all(plaintext not in value for value in stored)


def test_create_is_logged_without_the_secret(workflow, workflow_owner):
    token, plaintext = api_token_create(workflow=workflow, actor=workflow_owner, name="CI")
    entry = ActivityEntry.objects.filter(workflow=workflow).latest("pk")
    assert (entry.actor, entry.verb, entry.target) == (
        workflow_owner,
        "created an API token",
        f"CI ({token.prefix}…)",
    )
    assert plaintext not in f"{entry.target}{entry.note}{entry.changes}"


def test_every_token_is_different(workflow, workflow_owner):
    _, first = api_token_create(workflow=workflow, actor=workflow_owner, name="One")
    _, second = api_token_create(workflow=workflow, actor=workflow_owner, name="Two")
    assert first != second


def test_ops_leader_may_create(workflow, ops_leader):
    token, _ = api_token_create(workflow=workflow, actor=ops_leader, name="Ops")
    assert token.created_by == ops_leader


@pytest.mark.parametrize("who", ["executive", "other_user"])
def test_others_may_not_create(request, workflow, who):
    actor = request.getfixturevalue(who)
    entries = ActivityEntry.objects.count()
    with pytest.raises(ApplicationError) as exc:
        api_token_create(workflow=workflow, actor=actor, name="Nope")
    assert exc.value.message == MSG_NOT_ALLOWED
    assert ApiToken.objects.count() == 0
    assert ActivityEntry.objects.count() == entries


@pytest.mark.parametrize(
    ("name", "message"), [("   ", MSG_NAME_REQUIRED), ("x" * 81, MSG_NAME_TOO_LONG)]
)
def test_name_must_be_given_and_short(workflow, workflow_owner, name, message):
    with pytest.raises(ApplicationError) as exc:
        api_token_create(workflow=workflow, actor=workflow_owner, name=name)
    assert (exc.value.message, exc.value.field) == (message, "name")
    assert ApiToken.objects.count() == 0


def test_name_unique_among_active_tokens_only(workflow, workflow_owner, ops_leader):
    token, _ = api_token_create(workflow=workflow, actor=workflow_owner, name="CI")
    with pytest.raises(ApplicationError) as exc:
        api_token_create(workflow=workflow, actor=workflow_owner, name="ci")
    assert (exc.value.message, exc.value.field) == (MSG_NAME_TAKEN, "name")
    assert ApiToken.objects.count() == 1
    # Another workflow may use the name; so may a new token once the old one is revoked.
    other = make_workflow(owner=workflow_owner, actor=ops_leader, slug="other-flow")
    api_token_create(workflow=other, actor=workflow_owner, name="CI")
    api_token_revoke(token=token, actor=workflow_owner)
    api_token_create(workflow=workflow, actor=workflow_owner, name="CI")
    assert ApiToken.objects.count() == 3


def test_revoke(workflow, workflow_owner, ops_leader, django_capture_on_commit_callbacks):
    token, plaintext = api_token_create(workflow=workflow, actor=workflow_owner, name="CI")
    assert api_token_authenticate(plaintext) == token  # now cached
    with django_capture_on_commit_callbacks(execute=True):
        api_token_revoke(token=token, actor=ops_leader)
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert api_token_authenticate(plaintext) is None
    entry = ActivityEntry.objects.filter(workflow=workflow).latest("pk")
    assert (entry.actor, entry.verb, entry.target) == (
        ops_leader,
        "revoked an API token",
        f"CI ({token.prefix}…)",
    )


def test_revoke_twice_is_refused(workflow, workflow_owner):
    token, _ = api_token_create(workflow=workflow, actor=workflow_owner, name="CI")
    api_token_revoke(token=token, actor=workflow_owner)
    entries = ActivityEntry.objects.count()
    with pytest.raises(ApplicationError) as exc:
        api_token_revoke(token=token, actor=workflow_owner)
    assert exc.value.message == MSG_ALREADY_REVOKED
    assert ActivityEntry.objects.count() == entries


def test_others_may_not_revoke(workflow, workflow_owner, executive):
    token, _ = api_token_create(workflow=workflow, actor=workflow_owner, name="CI")
    with pytest.raises(ApplicationError) as exc:
        api_token_revoke(token=token, actor=executive)
    assert exc.value.message == MSG_NOT_ALLOWED
    token.refresh_from_db()
    assert token.revoked_at is None


@pytest.mark.parametrize("wrong", ["", "ro_", "ro_nope", "x" * 500, "ro_" + "a" * 300])
def test_authenticate_refuses_unknown(workflow, workflow_owner, wrong):
    api_token_create(workflow=workflow, actor=workflow_owner, name="CI")
    assert api_token_authenticate(wrong) is None


def test_authenticate_refuses_a_near_miss(workflow, workflow_owner):
    _, plaintext = api_token_create(workflow=workflow, actor=workflow_owner, name="CI")
    assert api_token_authenticate(plaintext[:-1]) is None
    assert api_token_authenticate(plaintext + "x") is None


def test_authenticate_is_one_query_and_records_use(
    workflow, workflow_owner, django_assert_num_queries
):
    token, plaintext = api_token_create(workflow=workflow, actor=workflow_owner, name="CI")
    invalidations_pending()  # one query a second per process, not per call (see its module)
    with django_assert_num_queries(2):  # the lookup, then the first last_used_at
        found = api_token_authenticate(plaintext)
    assert found.pk == token.pk
    assert found.workflow.slug == workflow.slug
    token.refresh_from_db()
    first_use = token.last_used_at
    assert first_use is not None
    # Within the minute: read from the cache, nothing queried or written.
    with django_assert_num_queries(0):
        api_token_authenticate(plaintext)
    token.refresh_from_db()
    assert token.last_used_at == first_use


def test_authenticate_updates_last_used_after_a_minute(workflow, workflow_owner):
    token, plaintext = api_token_create(workflow=workflow, actor=workflow_owner, name="CI")
    long_ago = timezone.now() - timedelta(minutes=5)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=long_ago)
    api_token_authenticate(plaintext)
    token.refresh_from_db()
    assert token.last_used_at > long_ago + timedelta(minutes=4)
