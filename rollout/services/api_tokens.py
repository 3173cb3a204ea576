"""Creating, revoking and authenticating a workflow's API tokens.

A token is `ro_` + 8 characters (its prefix, shown in lists) + a random tail; only its SHA-256 is
stored, so the plaintext exists once, in what `api_token_create` returns.
"""

import functools
import secrets
from datetime import timedelta

from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from core.errors import ApplicationError
from rollout.lib import local_memo
from rollout.lib.cache import CACHE_ERRORS, cache_answered, cache_failed, cache_trusted
from rollout.models import ApiToken, CacheInvalidationKind, Workflow
from rollout.permissions import can_change_workflow
from rollout.selectors.api_tokens import TOKEN_PREFIX, token_cache_key, token_hash
from rollout.selectors.cache_invalidations import token_invalidation_pending
from rollout.services.activity import activity_record
from rollout.services.cache_invalidations import cache_invalidate

PREFIX_LENGTH = 8
NAME_MAX_LENGTH = ApiToken._meta.get_field("name").max_length

# last_used_at is for people ("used 3 minutes ago"), not an audit trail: writing it on every call
# would cost a write per request on the hot decision endpoint.
LAST_USED_RESOLUTION = timedelta(minutes=1)
_MAX_TOKEN_LENGTH = 200
# A safety net only: revocation deletes the entry.
TOKEN_CACHE_SECONDS = 10 * 60

MSG_NOT_ALLOWED = "Only the workflow's owner or an ops leader can manage its API tokens."
MSG_NAME_REQUIRED = "Name the token after what will use it, e.g. “support tool production”."
MSG_NAME_TOO_LONG = f"Keep the name to {NAME_MAX_LENGTH} characters or fewer."
MSG_NAME_TAKEN = "An active token of this workflow already has this name. Choose another."
MSG_ALREADY_REVOKED = "This token was already revoked."


def _new_plaintext() -> str:
    # token_urlsafe(32): 256 random bits; the prefix is the first characters of that randomness.
    return f"{TOKEN_PREFIX}{secrets.token_urlsafe(32)}"


def api_token_create(*, workflow: Workflow, actor: User, name: str) -> tuple[ApiToken, str]:
    """A new token for the workflow, and its plaintext (shown once, never stored)."""
    if not can_change_workflow(actor, workflow):
        raise ApplicationError(MSG_NOT_ALLOWED)
    name = " ".join(name.split())
    if not name:
        raise ApplicationError(MSG_NAME_REQUIRED, field="name")
    if len(name) > NAME_MAX_LENGTH:
        raise ApplicationError(MSG_NAME_TOO_LONG, field="name")
    plaintext = _new_plaintext()
    with transaction.atomic():
        # Locks the workflow row, so two concurrent creations with one name cannot both pass.
        Workflow.objects.select_for_update().filter(pk=workflow.pk).exists()
        if ApiToken.objects.active().filter(workflow=workflow, name__iexact=name).exists():
            raise ApplicationError(MSG_NAME_TAKEN, field="name")
        token = ApiToken.objects.create(
            workflow=workflow,
            name=name,
            prefix=plaintext[len(TOKEN_PREFIX) : len(TOKEN_PREFIX) + PREFIX_LENGTH],
            token_hash=token_hash(plaintext),
            created_by=actor,
        )
        activity_record(
            workflow=workflow,
            actor=actor,
            verb="created an API token",
            target=str(token),
        )
    return token, plaintext


def token_forget(digest: str) -> None:
    """Drop the cached token with this hash (after its revocation commits)."""
    local_memo.forget(token_cache_key(digest))
    cache_invalidate(CacheInvalidationKind.TOKEN, digest)


def api_token_revoke(*, token: ApiToken, actor: User) -> ApiToken:
    """Stops the token working at once. The row stays, so the list shows who used what when."""
    if not can_change_workflow(actor, token.workflow):
        raise ApplicationError(MSG_NOT_ALLOWED)
    with transaction.atomic():
        revoked = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        if not revoked:
            raise ApplicationError(MSG_ALREADY_REVOKED)
        token.refresh_from_db(fields=["revoked_at", "token_hash"])
        # The API reads tokens from the cache: drop this one the moment the revocation commits.
        transaction.on_commit(functools.partial(token_forget, token.token_hash))
        activity_record(
            workflow=token.workflow,
            actor=actor,
            verb="revoked an API token",
            target=str(token),
        )
    return token


# --- Authentication (it writes last_used_at, so it is a service) ---------------------------------


def _from_cache(entry: dict) -> ApiToken:
    token = ApiToken(
        pk=entry["pk"],
        workflow_id=entry["workflow_id"],
        name=entry["name"],
        prefix=entry["prefix"],
        last_used_at=entry["last_used_at"],
    )
    token._state.adding, token._state.db = False, "default"
    # Only what API operations read: the workflow's primary key and slug.
    token.workflow = Workflow(pk=entry["workflow_id"], slug=entry["slug"])
    return token


def _token_entry(digest: str) -> dict | None:
    """The active token with this hash, as the cache keeps it; None if none (one query)."""
    row = (
        ApiToken.objects.filter(token_hash=digest, revoked_at__isnull=True)
        .select_related("workflow")
        .only("name", "prefix", "last_used_at", "workflow__slug")
        .first()
    )
    if row is None:
        return None
    return {
        "pk": row.pk,
        "workflow_id": row.workflow_id,
        "slug": row.workflow.slug,
        "name": row.name,
        "prefix": row.prefix,
        "last_used_at": row.last_used_at,
    }


def _cache_get(digest: str, key: str) -> tuple[bool, dict | None]:
    """(whether the cache may be used, its entry). Not while the cache is unreachable (reported,
    not raised), nor while a revocation it missed is pending, nor just after an outage."""
    if token_invalidation_pending(digest):
        return False, None
    try:
        entry = cache.get(key)
    except CACHE_ERRORS as exc:
        cache_failed(exc, "reading an API token")
        return False, None
    cache_answered()
    if not cache_trusted():
        return False, None
    return True, entry


def _cache_set(key: str, entry: dict) -> None:
    try:
        cache.set(key, entry, TOKEN_CACHE_SECONDS)
    except CACHE_ERRORS as exc:
        cache_failed(exc, "caching an API token")


def api_token_authenticate(plaintext: str) -> ApiToken | None:
    """The active token with this plaintext, its workflow's slug loaded; None for anything else.

    Warm: one cache read and no query (revoking deletes the entry, so a revoked token stops at
    once; other web processes may still accept it from their memo for about a second, see
    rollout.lib.local_memo). Cold, or while the cache is unreachable or may still hold a
    revocation it missed (rollout.services.cache_invalidations): one indexed query on the hash.
    Plus an UPDATE of last_used_at at most once a minute.
    """
    if not plaintext.startswith(TOKEN_PREFIX) or len(plaintext) > _MAX_TOKEN_LENGTH:
        return None
    digest = token_hash(plaintext)
    key = token_cache_key(digest)
    memo = local_memo.recall(key)
    if memo is not None:
        return memo
    cache_up, entry = _cache_get(digest, key)
    if entry is None:
        entry = _token_entry(digest)
        if entry is None:
            return None
        if cache_up:
            _cache_set(key, entry)
    now = timezone.now()
    last_used = entry["last_used_at"]
    if last_used is None or now - last_used >= LAST_USED_RESOLUTION:
        stale = Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_RESOLUTION)
        # The condition makes concurrent requests write once between them, not once each.
        ApiToken.objects.filter(stale, pk=entry["pk"]).update(last_used_at=now)
        entry = {**entry, "last_used_at": now}
        if cache_up:
            _cache_set(key, entry)
    token = _from_cache(entry)
    # Remembered until last_used_at next needs a write (and ~1 s at most, see local_memo).
    if now - entry["last_used_at"] < LAST_USED_RESOLUTION:
        local_memo.remember(key, token)
    return token
