"""Creating, rotating, revoking and authenticating a workflow's API tokens.

A token is `ro_` + 8 characters (its prefix, shown in lists) + a random tail; only its SHA-256 is
stored, so the plaintext exists once, in what `api_token_create` (or `api_token_rotate`) returns.

Rotation without downtime: `api_token_rotate` creates a replacement and gives the old token a
grace period (`expires_at`); both work until it ends, then the old one is refused at once on every
path — the database query, the shared cache entry and the per-process memo all carry `expires_at`
and are checked against the clock on each call, so no cleanup job is needed for correctness.
"""

import functools
import math
import secrets
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from core.errors import ApplicationError
from rollout.lib import local_memo
from rollout.lib.cache import CACHE_ERRORS, cache_answered, cache_failed, cache_trusted
from rollout.models import ApiToken, ApiTokenStatus, CacheInvalidationKind, Workflow
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
MSG_ALREADY_EXPIRED = "This token already stopped working when its grace period ended."

# Rotation. The grace period lets the tool switch to the new token before the old one stops.
MAX_GRACE = timedelta(days=7)
MSG_GRACE_INVALID = "Choose a grace period from none to 7 days."
MSG_ROTATE_REVOKED = "This token was revoked, so there is nothing to rotate: create a new token."
MSG_ROTATE_EXPIRED = (
    "This token already stopped working when its grace period ended: create a new token."
)
MSG_ALREADY_ROTATED = "This token was already rotated: its replacement is in the list."

# What the API answers (401) for a token it refuses. An expired token's holder learns only what
# they already know (they held a token that was rotated), never which token replaced it.
MSG_TOKEN_INVALID = "This API token is unknown or has been revoked."
MSG_TOKEN_EXPIRED = (
    "This API token was replaced by a newer one and its grace period has ended: use the new token."
)


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
    """Stops the token working at once. The row stays, so the list shows who used what when.

    A replaced token in its grace period may be revoked too ("Stop it now"); one whose grace
    period already ended is refused (it stopped already).
    """
    if not can_change_workflow(actor, token.workflow):
        raise ApplicationError(MSG_NOT_ALLOWED)
    with transaction.atomic():
        now = timezone.now()
        revoked = ApiToken.objects.filter(pk=token.pk).usable(now).update(revoked_at=now)
        if not revoked:
            current = ApiToken.objects.get(pk=token.pk)
            raise ApplicationError(
                MSG_ALREADY_EXPIRED
                if current.status_at(now) == ApiTokenStatus.EXPIRED
                else MSG_ALREADY_REVOKED
            )
        token.refresh_from_db(fields=["revoked_at", "token_hash", "expires_at"])
        # The API reads tokens from the cache: drop this one the moment the revocation commits.
        transaction.on_commit(functools.partial(token_forget, token.token_hash))
        activity_record(
            workflow=token.workflow,
            actor=actor,
            verb=(
                "stopped a replaced API token"
                if token.expires_at is not None
                else "revoked an API token"
            ),
            target=str(token),
        )
    return token


def _grace_label(grace: timedelta) -> str:
    if not grace:
        return "no grace period: the old token stopped at once"
    hours = grace / timedelta(hours=1)
    if hours < 24 or hours % 24:
        amount = f"{hours:g} hour" + ("" if hours == 1 else "s")
    else:
        days = int(hours // 24)
        amount = f"{days} day" + ("" if days == 1 else "s")
    return f"the old token keeps working for {amount}"


def api_token_rotate(*, token: ApiToken, actor: User, grace: timedelta) -> tuple[ApiToken, str]:
    """A new token that replaces `token`, and its plaintext (shown once, never stored).

    `token` keeps working for `grace` (0 to MAX_GRACE), then is refused: its `expires_at` is set
    and its cached entry dropped on commit, so the next call re-reads it with the expiry. The new
    token takes over the name. Revoked, expired or already rotated tokens are refused, and two
    concurrent rotations of one token make one replacement between them (row lock, plus the
    conditional update and the one-to-one `replaces` where row locks do not exist).
    """
    if not can_change_workflow(actor, token.workflow):
        raise ApplicationError(MSG_NOT_ALLOWED)
    if not timedelta(0) <= grace <= MAX_GRACE:
        raise ApplicationError(MSG_GRACE_INVALID, field="grace")
    plaintext = _new_plaintext()
    with transaction.atomic():
        old = ApiToken.objects.select_for_update().get(pk=token.pk)
        now = timezone.now()
        status = old.status_at(now)
        if status != ApiTokenStatus.ACTIVE:
            raise ApplicationError(
                {
                    ApiTokenStatus.REVOKED: MSG_ROTATE_REVOKED,
                    ApiTokenStatus.EXPIRED: MSG_ROTATE_EXPIRED,
                    ApiTokenStatus.REPLACED: MSG_ALREADY_ROTATED,
                }[status]
            )
        expires_at = now + grace
        if not ApiToken.objects.active().filter(pk=old.pk).update(expires_at=expires_at):
            raise ApplicationError(MSG_ALREADY_ROTATED)
        old.expires_at = expires_at
        new = ApiToken.objects.create(
            workflow=old.workflow,
            name=old.name,
            prefix=plaintext[len(TOKEN_PREFIX) : len(TOKEN_PREFIX) + PREFIX_LENGTH],
            token_hash=token_hash(plaintext),
            created_by=actor,
            replaces=old,
        )
        # The cached entry says "no expiry": drop it once the rotation commits.
        transaction.on_commit(functools.partial(token_forget, old.token_hash))
        activity_record(
            workflow=old.workflow,
            actor=actor,
            verb="rotated an API token",
            target=str(old),
            note=f"Replaced by {new}; {_grace_label(grace)}.",
        )
    token.expires_at = expires_at
    return new, plaintext


def api_tokens_record_expired(*, now: datetime | None = None) -> int:
    """The sweep: one activity entry (and so one webhook) per rotated token whose grace period
    has ended, once each; returns how many. Authentication does not depend on it — it compares
    expires_at with the clock itself — so a late or missed run only delays the log entry.
    Rows are claimed with SKIP LOCKED, so two concurrent runs never record one token twice."""
    now = timezone.now() if now is None else now
    recorded = 0
    with transaction.atomic():
        due = list(
            ApiToken.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(revoked_at__isnull=True, expires_at__lte=now, expiry_recorded_at__isnull=True)
            .select_related("workflow", "replaced_by")
            .order_by("expires_at", "pk")[:500]
        )
        for token in due:
            ApiToken.objects.filter(pk=token.pk).update(expiry_recorded_at=now)
            replacement = getattr(token, "replaced_by", None)
            activity_record(
                workflow=token.workflow,
                actor=None,
                verb="stopped accepting a replaced API token",
                target=str(token),
                note=(
                    f"Its grace period ended; {replacement} replaces it."
                    if replacement
                    else "Its grace period ended."
                ),
            )
            recorded += 1
    return recorded


# --- Authentication (it writes last_used_at, so it is a service) ---------------------------------


def _from_cache(entry: dict) -> ApiToken:
    token = ApiToken(
        pk=entry["pk"],
        workflow_id=entry["workflow_id"],
        name=entry["name"],
        prefix=entry["prefix"],
        last_used_at=entry["last_used_at"],
        expires_at=entry["expires_at"],
    )
    token._state.adding, token._state.db = False, "default"
    # Only what API operations read: the workflow's primary key and slug.
    token.workflow = Workflow(pk=entry["workflow_id"], slug=entry["slug"])
    return token


def _token_entry(digest: str, now: datetime) -> dict | None:
    """The usable token with this hash, as the cache keeps it; None if none (one query)."""
    row = (
        ApiToken.objects.usable(now)
        .filter(token_hash=digest)
        .select_related("workflow")
        .only("name", "prefix", "last_used_at", "expires_at", "workflow__slug")
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
        # None, or the end of a rotated token's grace period: checked on every call.
        "expires_at": row.expires_at,
    }


def _expired(expires_at: datetime | None, now: datetime) -> bool:
    return expires_at is not None and now >= expires_at


def _seconds_left(expires_at: datetime | None, now: datetime, cap: float) -> float:
    """How long a cache or memo may keep an entry: never past the token's expiry."""
    if expires_at is None:
        return cap
    return min(cap, (expires_at - now).total_seconds())


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
    # An entry written before rotation existed has no expiry field: read it afresh.
    if entry is not None and "expires_at" not in entry:
        return True, None
    return True, entry


def _cache_set(key: str, entry: dict, now: datetime) -> None:
    seconds = math.ceil(_seconds_left(entry["expires_at"], now, TOKEN_CACHE_SECONDS))
    if seconds <= 0:
        return
    try:
        cache.set(key, entry, seconds)
    except CACHE_ERRORS as exc:
        cache_failed(exc, "caching an API token")


def api_token_from_memo(key: str, *, now: datetime | None = None) -> ApiToken | None:
    """The token this process remembers under `key` (token_cache_key), unless its grace period
    is over. For api_token_authenticate and the decision endpoint's fast lane, which both read
    the memo: neither may answer with an expired token, however recently it was remembered."""
    token = local_memo.recall(key)
    if token is None or token.expires_at is None:
        return token
    if _expired(token.expires_at, timezone.now() if now is None else now):
        local_memo.forget(key)
        return None
    return token


def api_token_authenticate(plaintext: str, *, now: datetime | None = None) -> ApiToken | None:
    """The usable token with this plaintext, its workflow's slug loaded; None for anything else
    (unknown, revoked, or rotated and past its grace period: api_token_refusal says which).

    Warm: one cache read and no query (revoking or rotating deletes the entry, so a revoked token
    stops at once; other web processes may still accept it from their memo for about a second,
    see rollout.lib.local_memo). Cold, or while the cache is unreachable or may still hold a
    revocation it missed (rollout.services.cache_invalidations): one indexed query on the hash.
    Plus an UPDATE of last_used_at at most once a minute.

    A rotated token's expiry travels with it (query, cache entry, memo) and is compared with the
    clock on every call, whichever path answers: it stops at the end of its grace period exactly.
    `now` is for tests; it defaults to the current time.
    """
    if not plaintext.startswith(TOKEN_PREFIX) or len(plaintext) > _MAX_TOKEN_LENGTH:
        return None
    now = timezone.now() if now is None else now
    digest = token_hash(plaintext)
    key = token_cache_key(digest)
    memo = api_token_from_memo(key, now=now)
    if memo is not None:
        return memo
    cache_up, entry = _cache_get(digest, key)
    if entry is not None and _expired(entry["expires_at"], now):
        return None
    if entry is None:
        entry = _token_entry(digest, now)
        if entry is None:
            return None
        if cache_up:
            _cache_set(key, entry, now)
    last_used = entry["last_used_at"]
    if last_used is None or now - last_used >= LAST_USED_RESOLUTION:
        stale = Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_RESOLUTION)
        # The condition makes concurrent requests write once between them, not once each.
        ApiToken.objects.filter(stale, pk=entry["pk"]).update(last_used_at=now)
        entry = {**entry, "last_used_at": now}
        if cache_up:
            _cache_set(key, entry, now)
    token = _from_cache(entry)
    # Remembered until last_used_at next needs a write (and ~1 s at most, see local_memo), and
    # checked against expires_at on recall.
    if now - entry["last_used_at"] < LAST_USED_RESOLUTION:
        seconds = _seconds_left(entry["expires_at"], now, local_memo.ttl())
        if seconds > 0:
            local_memo.remember(key, token, seconds)
    return token


def api_token_refusal(plaintext: str, *, now: datetime | None = None) -> str:
    """Why api_token_authenticate refused this plaintext, for the 401 body (one query; call it
    only after a refusal). A rotated token past its grace period is told so; anything else (unknown,
    revoked, malformed) gets the same message, so nothing is learnt by guessing."""
    if plaintext.startswith(TOKEN_PREFIX) and len(plaintext) <= _MAX_TOKEN_LENGTH:
        now = timezone.now() if now is None else now
        expired = ApiToken.objects.filter(
            token_hash=token_hash(plaintext), revoked_at__isnull=True, expires_at__lte=now
        ).exists()
        if expired:
            return MSG_TOKEN_EXPIRED
    return MSG_TOKEN_INVALID
