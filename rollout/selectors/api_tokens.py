"""Reading API tokens: the list on the tokens page, and authenticating a bearer token."""

import hashlib
from datetime import timedelta

from django.core.cache import cache
from django.db.models import Q
from django.utils import timezone

from rollout.lib import local_memo
from rollout.models import ApiToken, Workflow

TOKEN_PREFIX = "ro_"

# last_used_at is for people ("used 3 minutes ago"), not an audit trail: writing it on every call
# would cost a write per request on the hot decision endpoint.
LAST_USED_RESOLUTION = timedelta(minutes=1)
_MAX_TOKEN_LENGTH = 200
# A safety net only: revocation deletes the entry (rollout.services.api_tokens).
TOKEN_CACHE_SECONDS = 10 * 60


def token_hash(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def token_cache_key(digest: str) -> str:
    """Where the API keeps an authenticated token (below)."""
    return f"api-token:{digest}"


def api_token_get_for_workflow(workflow: Workflow, token_id: int) -> ApiToken:
    """One token of this workflow; ApiToken.DoesNotExist for another workflow's."""
    return ApiToken.objects.get(pk=token_id, workflow=workflow)


def api_token_list_for_workflow(workflow: Workflow) -> list[ApiToken]:
    """Active tokens first (newest first), then revoked ones."""
    return list(
        ApiToken.objects.filter(workflow=workflow)
        .select_related("created_by")
        .order_by("revoked_at", "-created_at", "-pk")
    )


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


def api_token_authenticate(plaintext: str) -> ApiToken | None:
    """The active token with this plaintext, its workflow's slug loaded; None for anything else.

    Warm: one cache read and no query (revoking deletes the entry, so a revoked token stops at
    once; other web processes may still accept it from their memo for about a second, see
    rollout.lib.local_memo). Cold: one indexed query on the hash. Plus an UPDATE of last_used_at at
    most once a minute.
    """
    if not plaintext.startswith(TOKEN_PREFIX) or len(plaintext) > _MAX_TOKEN_LENGTH:
        return None
    digest = token_hash(plaintext)
    key = token_cache_key(digest)
    memo = local_memo.recall(key)
    if memo is not None:
        return memo
    entry = cache.get(key)
    if entry is None:
        row = (
            ApiToken.objects.filter(token_hash=digest, revoked_at__isnull=True)
            .select_related("workflow")
            .only("name", "prefix", "last_used_at", "workflow__slug")
            .first()
        )
        if row is None:
            return None
        entry = {
            "pk": row.pk,
            "workflow_id": row.workflow_id,
            "slug": row.workflow.slug,
            "name": row.name,
            "prefix": row.prefix,
            "last_used_at": row.last_used_at,
        }
        cache.set(key, entry, TOKEN_CACHE_SECONDS)
    now = timezone.now()
    last_used = entry["last_used_at"]
    if last_used is None or now - last_used >= LAST_USED_RESOLUTION:
        stale = Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_RESOLUTION)
        # The condition makes concurrent requests write once between them, not once each.
        ApiToken.objects.filter(stale, pk=entry["pk"]).update(last_used_at=now)
        entry = {**entry, "last_used_at": now}
        cache.set(key, entry, TOKEN_CACHE_SECONDS)
    token = _from_cache(entry)
    # Remembered until last_used_at next needs a write (and ~1 s at most, see local_memo).
    if now - entry["last_used_at"] < LAST_USED_RESOLUTION:
        local_memo.remember(key, token)
    return token
