"""Reading personal access tokens: a person's own list on their profile, everyone's for ops
leaders, and the pure helpers that name a token (shared with rollout.services.personal_tokens)."""

from datetime import datetime

from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet
from django.utils import timezone

from accounts.models import User
from rollout.models import PersonalToken
from rollout.selectors.api_tokens import token_hash

TOKEN_PREFIX = "rop_"

__all__ = [
    "TOKEN_PREFIX",
    "personal_token_get",
    "personal_token_list_all",
    "personal_token_list_for_user",
    "token_hash",
]


def personal_token_list_for_user(user: User) -> list[PersonalToken]:
    """The person's tokens, newest first (revoked and expired ones too: the page marks them)."""
    return list(PersonalToken.objects.filter(user=user).select_related("revoked_by"))


def personal_token_list_all(*, now: datetime | None = None) -> QuerySet[PersonalToken]:
    """Everyone's tokens, for ops leaders (their page paginates): the live ones first, then
    expired and revoked ones; newest first within each. With their person and revoker (one query
    per page)."""
    now = timezone.now() if now is None else now
    stopped = Q(revoked_at__isnull=False) | Q(expires_at__lte=now)
    return (
        PersonalToken.objects.select_related("user", "revoked_by")
        .annotate(stopped=ExpressionWrapper(stopped, output_field=BooleanField()))
        .order_by("stopped", "-created_at", "-pk")
    )


def personal_token_get(token_id: int, *, user: User | None = None) -> PersonalToken:
    """One token (of `user`, when given); PersonalToken.DoesNotExist otherwise."""
    tokens = PersonalToken.objects.select_related("user")
    if user is not None:
        tokens = tokens.filter(user=user)
    return tokens.get(pk=token_id)
