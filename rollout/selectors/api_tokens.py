"""Reading API tokens: the list on the tokens page, and authenticating a bearer token."""

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from rollout.models import ApiToken, Workflow
from rollout.services.api_tokens import TOKEN_PREFIX, token_hash

# last_used_at is for people ("used 3 minutes ago"), not an audit trail: writing it on every call
# would cost a write per request on the hot decision endpoint.
LAST_USED_RESOLUTION = timedelta(minutes=1)
_MAX_TOKEN_LENGTH = 200


def api_token_list_for_workflow(workflow: Workflow) -> list[ApiToken]:
    """Active tokens first (newest first), then revoked ones."""
    return list(
        ApiToken.objects.filter(workflow=workflow)
        .select_related("created_by")
        .order_by("revoked_at", "-created_at", "-pk")
    )


def api_token_authenticate(plaintext: str) -> ApiToken | None:
    """The active token with this plaintext, its workflow's slug loaded; None for anything else.

    One indexed query on the hash; plus an UPDATE of last_used_at at most once a minute.
    """
    if not plaintext.startswith(TOKEN_PREFIX) or len(plaintext) > _MAX_TOKEN_LENGTH:
        return None
    token = (
        ApiToken.objects.filter(token_hash=token_hash(plaintext), revoked_at__isnull=True)
        .select_related("workflow")
        .only("name", "prefix", "last_used_at", "workflow__slug")
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        stale = Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_RESOLUTION)
        # The condition makes concurrent requests write once between them, not once each.
        ApiToken.objects.filter(stale, pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
