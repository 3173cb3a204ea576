"""Reading API tokens: the list on the tokens page, and the pure helpers that name a token
(its hash and cache key), shared with rollout.services.api_tokens, which authenticates."""

import hashlib

from rollout.models import ApiToken, Workflow

TOKEN_PREFIX = "ro_"


def token_hash(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def token_cache_key(digest: str) -> str:
    """Where the API keeps an authenticated token (rollout.services.api_tokens)."""
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
