"""Reading personal access tokens: a person's own list on their profile, everyone's for ops
leaders, and the pure helpers that name a token (shared with rollout.services.personal_tokens)."""

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


def personal_token_list_all() -> list[PersonalToken]:
    """Everyone's tokens, for ops leaders: live ones first is the page's job; newest first here.
    Two queries whatever their number (tokens with their person and revoker)."""
    return list(
        PersonalToken.objects.select_related("user", "revoked_by").order_by(
            "revoked_at", "-created_at", "-pk"
        )
    )


def personal_token_get(token_id: int, *, user: User | None = None) -> PersonalToken:
    """One token (of `user`, when given); PersonalToken.DoesNotExist otherwise."""
    tokens = PersonalToken.objects.select_related("user")
    if user is not None:
        tokens = tokens.filter(user=user)
    return tokens.get(pk=token_id)
