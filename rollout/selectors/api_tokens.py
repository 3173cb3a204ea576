"""Reading API tokens: the list on the tokens page, and the pure helpers that name a token
(its hash and cache key), shared with rollout.services.api_tokens, which authenticates."""

import hashlib
from datetime import datetime

from django.utils import timezone

from rollout.models import ApiToken, ApiTokenStatus, Workflow

TOKEN_PREFIX = "ro_"


def token_hash(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def token_cache_key(digest: str) -> str:
    """Where the API keeps an authenticated token (rollout.services.api_tokens)."""
    return f"api-token:{digest}"


def api_token_get_for_workflow(workflow: Workflow, token_id: int) -> ApiToken:
    """One token of this workflow; ApiToken.DoesNotExist for another workflow's."""
    return ApiToken.objects.get(pk=token_id, workflow=workflow)


def api_token_list_for_workflow(
    workflow: Workflow, *, now: datetime | None = None
) -> list[ApiToken]:
    """The tokens that work first — active ones, then replaced ones in their grace period — then
    those that stopped (expired or revoked); newest first within each. Each with `replaces` and
    `replaced_by` loaded (one query)."""
    now = timezone.now() if now is None else now
    tokens = list(
        ApiToken.objects.filter(workflow=workflow)
        .select_related("created_by", "replaces", "replaced_by")
        .order_by("-created_at", "-pk")
    )
    return sorted(tokens, key=lambda token: _LIST_RANK[token.status_at(now)])


_LIST_RANK = {
    ApiTokenStatus.ACTIVE: 0,
    ApiTokenStatus.REPLACED: 1,
    ApiTokenStatus.EXPIRED: 2,
    ApiTokenStatus.REVOKED: 2,
}
