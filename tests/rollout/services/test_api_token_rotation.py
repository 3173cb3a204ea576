"""Rotating an API token (issue 19): a replacement and a grace period for the old token, which
stops at the end of it on every path authentication takes — the memo, the shared cache and the
database — with time injected, not waited for."""

import threading
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from core.errors import ApplicationError
from rollout.lib import local_memo
from rollout.models import ActivityEntry, ApiToken, ApiTokenStatus
from rollout.selectors.api_tokens import api_token_list_for_workflow, token_cache_key, token_hash
from rollout.selectors.cache_invalidations import invalidations_pending
from rollout.services import api_tokens as svc
from tests.factories import make_workflow

HOUR = timedelta(hours=1)


@pytest.fixture
def issued(workflow, workflow_owner) -> tuple[ApiToken, str]:
    return svc.api_token_create(workflow=workflow, actor=workflow_owner, name="Support tool")


def rotate(token, actor, grace=HOUR):
    return svc.api_token_rotate(token=token, actor=actor, grace=grace)


def counts() -> tuple[int, int, list]:
    return (
        ApiToken.objects.count(),
        ActivityEntry.objects.count(),
        list(ApiToken.objects.order_by("pk").values_list("expires_at", "revoked_at")),
    )


def test_rotation_makes_a_replacement_and_both_work_during_grace(
    issued, workflow, workflow_owner, django_capture_on_commit_callbacks
):
    old, old_plain = issued
    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        new, new_plain = rotate(old, workflow_owner, grace=timedelta(hours=24))
    old.refresh_from_db()
    new.refresh_from_db()
    assert new_plain != old_plain and new_plain.startswith("ro_")
    assert new.token_hash == token_hash(new_plain)
    assert (new.name, new.workflow, new.replaces, new.created_by) == (
        "Support tool",
        workflow,
        old,
        workflow_owner,
    )
    assert new.expires_at is None and new.status == ApiTokenStatus.ACTIVE
    assert before + timedelta(hours=24) <= old.expires_at <= timezone.now() + timedelta(hours=24)
    assert old.status == ApiTokenStatus.REPLACED
    assert old.revoked_at is None
    assert svc.api_token_authenticate(old_plain).pk == old.pk
    assert svc.api_token_authenticate(new_plain).pk == new.pk
    entry = ActivityEntry.objects.filter(workflow=workflow).latest("pk")
    assert (entry.actor, entry.verb, entry.target, entry.note) == (
        workflow_owner,
        "rotated an API token",
        f"Support tool ({old.prefix}…)",
        f"Replaced by Support tool ({new.prefix}…); the old token keeps working for 1 day.",
    )
    assert old_plain not in entry.note and new_plain not in entry.note


def test_both_are_listed_working_ones_first(issued, workflow, workflow_owner):
    old, _ = issued
    other, _ = svc.api_token_create(workflow=workflow, actor=workflow_owner, name="Batch")
    svc.api_token_revoke(token=other, actor=workflow_owner)
    new, _ = rotate(old, workflow_owner)
    listed = api_token_list_for_workflow(workflow)
    assert [t.pk for t in listed] == [new.pk, old.pk, other.pk]
    assert listed[0].replaces == old and listed[1].replaced_by == new
    later = timezone.now() + 2 * HOUR
    # Later the old one has stopped too: among the stopped ones, newest first.
    assert [
        (t.pk, t.status_at(later)) for t in api_token_list_for_workflow(workflow, now=later)
    ] == [
        (new.pk, ApiTokenStatus.ACTIVE),
        (other.pk, ApiTokenStatus.REVOKED),
        (old.pk, ApiTokenStatus.EXPIRED),
    ]


def test_no_grace_stops_the_old_token_at_once(
    issued, workflow_owner, django_capture_on_commit_callbacks
):
    old, old_plain = issued
    assert svc.api_token_authenticate(old_plain) is not None  # cached and remembered
    with django_capture_on_commit_callbacks(execute=True):
        _, new_plain = rotate(old, workflow_owner, grace=timedelta(0))
    assert svc.api_token_authenticate(old_plain) is None
    assert svc.api_token_refusal(old_plain) == svc.MSG_TOKEN_EXPIRED
    assert svc.api_token_authenticate(new_plain) is not None
    assert ActivityEntry.objects.latest("pk").note.endswith(
        "no grace period: the old token stopped at once."
    )


@pytest.fixture
def rotated(issued, workflow_owner, django_capture_on_commit_callbacks):
    """(old token, its plaintext, the end of its grace period), the old token authenticated once
    after the rotation: its memo and cache entries carry the expiry."""
    old, old_plain = issued
    svc.api_token_authenticate(old_plain)  # entries from before the rotation, without expiry
    with django_capture_on_commit_callbacks(execute=True):
        rotate(old, workflow_owner)  # forgets them
    old.refresh_from_db()
    assert svc.api_token_authenticate(old_plain).expires_at == old.expires_at
    invalidations_pending()  # one query a second per process, not per call (see its module)
    return old, old_plain, old.expires_at


def test_the_memo_refuses_at_the_end_of_grace(rotated, django_assert_num_queries):
    old, plain, expires_at = rotated
    key = token_cache_key(token_hash(plain))
    assert local_memo.recall(key) is not None
    with django_assert_num_queries(0):
        assert svc.api_token_authenticate(plain, now=expires_at - timedelta(seconds=1)) == old
        assert svc.api_token_authenticate(plain, now=expires_at) is None
    assert local_memo.recall(key) is None  # dropped, not kept for the next call


def test_the_cache_entry_refuses_at_the_end_of_grace(rotated, django_assert_num_queries):
    old, plain, expires_at = rotated
    local_memo.forget_all()
    assert cache.get(token_cache_key(token_hash(plain)))["expires_at"] == expires_at
    with django_assert_num_queries(0):
        assert svc.api_token_authenticate(plain) == old  # the entry answers during grace
    local_memo.forget_all()
    with django_assert_num_queries(0):
        assert svc.api_token_authenticate(plain, now=expires_at) is None


def test_the_database_refuses_at_the_end_of_grace(rotated, django_assert_num_queries):
    old, plain, expires_at = rotated
    local_memo.forget_all()
    cache.clear()
    with django_assert_num_queries(1):
        assert svc.api_token_authenticate(plain, now=expires_at) is None
    assert cache.get(token_cache_key(token_hash(plain))) is None
    assert svc.api_token_authenticate(plain, now=expires_at - timedelta(seconds=1)) == old


def test_the_cache_keeps_a_rotated_token_no_longer_than_its_grace(issued, workflow_owner):
    old, plain = issued
    rotate(old, workflow_owner, grace=timedelta(seconds=30))
    local_memo.forget_all()
    cache.clear()
    svc.api_token_authenticate(plain)
    key = token_cache_key(token_hash(plain))
    # LocMemCache's own record of when the entry goes (the cache's key, its expiry time).
    expiry = cache._expire_info[cache.make_and_validate_key(key)]
    assert expiry - timezone.now().timestamp() <= 31


def test_an_entry_cached_before_rotation_existed_is_read_afresh(issued, workflow_owner):
    old, plain = issued
    key = token_cache_key(token_hash(plain))
    rotate(old, workflow_owner, grace=timedelta(0))  # its cache drop not run (no commit here)
    cache.set(key, {"pk": old.pk, "workflow_id": old.workflow_id, "slug": "x", "name": "n",
                    "prefix": old.prefix, "last_used_at": None})  # fmt: skip
    assert svc.api_token_authenticate(plain) is None


def test_the_memo_helper_refuses_an_expired_token(issued, workflow_owner):
    old, plain = issued
    key = token_cache_key(token_hash(plain))
    old.expires_at = timezone.now() - timedelta(seconds=1)
    local_memo.remember(key, old)
    assert svc.api_token_from_memo(key) is None
    old.expires_at = timezone.now() + HOUR
    local_memo.remember(key, old)
    assert svc.api_token_from_memo(key) is old


def test_stop_it_now_revokes_during_grace(
    issued, workflow, ops_leader, workflow_owner, django_capture_on_commit_callbacks
):
    old, plain = issued
    rotate(old, workflow_owner)
    svc.api_token_authenticate(plain)
    with django_capture_on_commit_callbacks(execute=True):
        svc.api_token_revoke(token=old, actor=ops_leader)
    old.refresh_from_db()
    assert old.status == ApiTokenStatus.REVOKED
    assert svc.api_token_authenticate(plain) is None
    # Revoked, not expired: the holder is told what they would be told for any revoked token.
    assert svc.api_token_refusal(plain) == svc.MSG_TOKEN_INVALID
    entry = ActivityEntry.objects.filter(workflow=workflow).latest("pk")
    assert (entry.actor, entry.verb, entry.target) == (
        ops_leader,
        "stopped a replaced API token",
        f"Support tool ({old.prefix}…)",
    )


def test_an_expired_token_cannot_be_revoked(issued, workflow_owner):
    old, _ = issued
    rotate(old, workflow_owner, grace=timedelta(0))
    before = counts()
    with pytest.raises(ApplicationError) as exc:
        svc.api_token_revoke(token=old, actor=workflow_owner)
    assert exc.value.message == svc.MSG_ALREADY_EXPIRED
    assert counts() == before


@pytest.mark.parametrize(
    ("prepare", "message"),
    [
        ("revoke", svc.MSG_ROTATE_REVOKED),
        ("expire", svc.MSG_ROTATE_EXPIRED),
        ("rotate", svc.MSG_ALREADY_ROTATED),
    ],
)
def test_only_an_active_token_can_be_rotated(issued, workflow_owner, prepare, message):
    old, _ = issued
    if prepare == "revoke":
        svc.api_token_revoke(token=old, actor=workflow_owner)
    else:
        rotate(old, workflow_owner, grace=timedelta(0) if prepare == "expire" else HOUR)
    before = counts()
    with pytest.raises(ApplicationError) as exc:
        rotate(old, workflow_owner)
    assert (exc.value.message, exc.value.field) == (message, None)
    assert counts() == before


def test_a_stale_copy_cannot_rotate_twice(issued, workflow_owner):
    old, _ = issued
    stale = ApiToken.objects.get(pk=old.pk)
    rotate(old, workflow_owner)
    before = counts()
    with pytest.raises(ApplicationError) as exc:
        rotate(stale, workflow_owner)
    assert exc.value.message == svc.MSG_ALREADY_ROTATED
    assert counts() == before


@pytest.mark.parametrize(
    "grace", [timedelta(seconds=-1), timedelta(days=7, seconds=1), timedelta(days=365)]
)
def test_grace_must_be_from_none_to_a_week(issued, workflow_owner, grace):
    old, _ = issued
    before = counts()
    with pytest.raises(ApplicationError) as exc:
        rotate(old, workflow_owner, grace=grace)
    assert (exc.value.message, exc.value.field) == (svc.MSG_GRACE_INVALID, "grace")
    assert counts() == before


def test_a_week_of_grace_is_allowed(issued, ops_leader):
    old, _ = issued
    new, _ = rotate(old, ops_leader, grace=timedelta(days=7))
    assert new.created_by == ops_leader
    assert ActivityEntry.objects.latest("pk").note.endswith("keeps working for 7 days.")


@pytest.mark.parametrize("who", ["executive", "other_user"])
def test_others_may_not_rotate(request, issued, who):
    old, _ = issued
    before = counts()
    with pytest.raises(ApplicationError) as exc:
        rotate(old, request.getfixturevalue(who))
    assert exc.value.message == svc.MSG_NOT_ALLOWED
    assert counts() == before


def test_the_replacement_holds_the_name(issued, workflow, workflow_owner, ops_leader):
    old, _ = issued
    new, _ = rotate(old, workflow_owner)
    with pytest.raises(ApplicationError) as exc:
        svc.api_token_create(workflow=workflow, actor=workflow_owner, name="support TOOL")
    assert exc.value.message == svc.MSG_NAME_TAKEN
    # Once the replacement is revoked the name is free, though the old one is still in grace.
    svc.api_token_revoke(token=new, actor=workflow_owner)
    svc.api_token_create(workflow=workflow, actor=workflow_owner, name="Support tool")
    other = make_workflow(owner=workflow_owner, actor=ops_leader, slug="other-flow")
    svc.api_token_create(workflow=other, actor=workflow_owner, name="Support tool")


@pytest.mark.parametrize(
    "plaintext", ["", "ro_", "nope", "ro_" + "a" * 300, "x" * 500, "ro_unknowntoken"]
)
def test_refusal_says_nothing_about_unknown_tokens(db, plaintext):
    assert svc.api_token_refusal(plaintext) == svc.MSG_TOKEN_INVALID


def test_refusal_of_a_token_in_grace_or_active_is_the_general_one(issued, workflow_owner):
    old, plain = issued
    rotate(old, workflow_owner)
    # Not expired yet: no "replaced" answer (it would be accepted anyway).
    assert svc.api_token_refusal(plain) == svc.MSG_TOKEN_INVALID
    assert svc.api_token_refusal(plain, now=old.expires_at) == svc.MSG_TOKEN_EXPIRED


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_concurrent_rotations_make_one_replacement(workflow, workflow_owner, ops_leader):
    old, _ = svc.api_token_create(workflow=workflow, actor=workflow_owner, name="CI")
    results: list[str] = []
    barrier = threading.Barrier(2)

    def run(actor) -> None:
        barrier.wait()
        try:
            rotate(ApiToken.objects.get(pk=old.pk), actor)
            results.append("ok")
        except ApplicationError as exc:
            results.append(exc.message)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(a,)) for a in (workflow_owner, ops_leader)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == sorted(["ok", svc.MSG_ALREADY_ROTATED])
    assert ApiToken.objects.filter(replaces=old).count() == 1
    assert ActivityEntry.objects.filter(verb="rotated an API token").count() == 1


# --- The sweep that logs the end of a grace period ----------------------------------------------


def test_the_end_of_grace_is_logged_once(issued, workflow, workflow_owner):
    old, plain = issued
    new, _ = rotate(old, workflow_owner)
    old.refresh_from_db()
    assert svc.api_tokens_record_expired(now=old.expires_at - timedelta(seconds=1)) == 0
    assert svc.api_tokens_record_expired(now=old.expires_at) == 1
    entry = ActivityEntry.objects.filter(workflow=workflow).latest("pk")
    assert (entry.actor, entry.verb, entry.target, entry.note) == (
        None,
        "stopped accepting a replaced API token",
        f"Support tool ({old.prefix}…)",
        f"Its grace period ended; Support tool ({new.prefix}…) replaces it.",
    )
    # Once only; and a token stopped by hand ("Stop it now") is not logged as expired as well.
    assert svc.api_tokens_record_expired(now=old.expires_at + HOUR) == 0
    other, _ = svc.api_token_create(workflow=workflow, actor=workflow_owner, name="Other")
    rotate(other, workflow_owner)
    svc.api_token_revoke(token=other, actor=workflow_owner)
    assert svc.api_tokens_record_expired(now=timezone.now() + 2 * HOUR) == 0


def test_refusal_does_not_wait_for_the_sweep(issued, workflow_owner):
    old, plain = issued
    rotate(old, workflow_owner, grace=timedelta(0))
    assert ApiToken.objects.get(pk=old.pk).expiry_recorded_at is None
    assert svc.api_token_authenticate(plain) is None
