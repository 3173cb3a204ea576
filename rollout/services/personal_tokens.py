"""Creating, revoking and authenticating personal access tokens (the management API's tokens).

A token is `rop_` + a random tail (its first 8 characters are the prefix shown in lists); only its
SHA-256 is stored, so the plaintext exists once, in what `personal_token_create` returns. Every
token expires, at most a year ahead. Tokens are managed only by their person (create, revoke) and
by ops leaders (revoke anyone's), signed in: never through a token (core.acting).

Authentication reads the database on every call (one indexed query joining the person): the
management API is for scripts, not the hot decision path, and a token must stop the moment its
person is deactivated or loses a role.
"""

import secrets
from datetime import date, datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from accounts.roles import is_ops_leader
from core.acting import refuse_via_token
from core.dates import day_bounds
from core.errors import ApplicationError
from rollout.models import PersonalToken, PersonalTokenScope, PersonalTokenStatus
from rollout.selectors.personal_tokens import TOKEN_PREFIX, token_hash
from rollout.services.activity import activity_record

PREFIX_LENGTH = 8
NAME_MAX_LENGTH = PersonalToken._meta.get_field("name").max_length
MAX_LIFETIME_DAYS = 365
DEFAULT_LIFETIME_DAYS = 90
LAST_USED_RESOLUTION = timedelta(minutes=1)
_MAX_TOKEN_LENGTH = 200

MSG_NOT_YOURS = "You can only create tokens for yourself."
MSG_NOT_ALLOWED = "Only the token's owner or an ops leader can revoke it."
MSG_NAME_REQUIRED = "Name the token after what will use it, e.g. “laptop scripts”."
MSG_NAME_TOO_LONG = f"Keep the name to {NAME_MAX_LENGTH} characters or fewer."
MSG_NAME_TAKEN = "One of your live tokens already has this name. Choose another."
MSG_SCOPE = "Choose read or write."
MSG_EXPIRY_REQUIRED = "Choose the date the token stops working."
MSG_EXPIRY_PAST = "Choose a date after today."
MSG_EXPIRY_TOO_FAR = (
    f"A token works for at most a year: choose a date within {MAX_LIFETIME_DAYS} days."
)
MSG_INACTIVE = "A deactivated person cannot hold tokens."
MSG_ALREADY_REVOKED = "This token was already revoked."

# What the management API answers (401) for a token it refuses. The holder of a real token learns
# why it stopped (they held it); an unknown token gets the same words whatever it looks like.
MSG_TOKEN_INVALID = "This personal access token is unknown."
MSG_TOKEN_REVOKED = "This personal access token was revoked. Create a new one on your profile page."
MSG_TOKEN_EXPIRED = "This personal access token has expired. Create a new one on your profile page."


def _new_plaintext() -> str:
    # token_urlsafe(32): 256 random bits.
    return f"{TOKEN_PREFIX}{secrets.token_urlsafe(32)}"


def personal_token_expiry_bounds(today: date | None = None) -> tuple[date, date]:
    """The first and last dates a new token may stop working on (the current time zone's days)."""
    today = timezone.localdate() if today is None else today
    return today + timedelta(days=1), today + timedelta(days=MAX_LIFETIME_DAYS)


def personal_token_create(
    *, user: User, actor: User, name: str, scope: str, expires_on: date | None
) -> tuple[PersonalToken, str]:
    """A new token for `user` (who must be `actor`), and its plaintext (shown once, never stored).

    It works until the end of `expires_on` (in the current time zone), at most a year ahead.
    """
    refuse_via_token()
    if actor.pk != user.pk:
        raise ApplicationError(MSG_NOT_YOURS)
    if not user.is_active:
        raise ApplicationError(MSG_INACTIVE)
    name = " ".join(name.split())
    if not name:
        raise ApplicationError(MSG_NAME_REQUIRED, field="name")
    if len(name) > NAME_MAX_LENGTH:
        raise ApplicationError(MSG_NAME_TOO_LONG, field="name")
    if scope not in PersonalTokenScope.values:
        raise ApplicationError(MSG_SCOPE, field="scope")
    if expires_on is None:
        raise ApplicationError(MSG_EXPIRY_REQUIRED, field="expires_on")
    first, last = personal_token_expiry_bounds()
    if expires_on < first:
        raise ApplicationError(MSG_EXPIRY_PAST, field="expires_on")
    if expires_on > last:
        raise ApplicationError(MSG_EXPIRY_TOO_FAR, field="expires_on")
    plaintext = _new_plaintext()
    token = PersonalToken(
        user=user,
        name=name,
        prefix=plaintext[len(TOKEN_PREFIX) : len(TOKEN_PREFIX) + PREFIX_LENGTH],
        token_hash=token_hash(plaintext),
        scope=scope,
        expires_at=day_bounds(expires_on)[1],
    )
    try:
        with transaction.atomic():
            if (
                PersonalToken.objects.filter(user=user, revoked_at__isnull=True)
                .filter(name__iexact=name)
                .exists()
            ):
                raise ApplicationError(MSG_NAME_TAKEN, field="name")
            token.save()
            activity_record(
                workflow=None,
                actor=actor,
                verb="created a personal access token",
                target=str(token),
                note=f"Scope {token.get_scope_display().lower()}, until {expires_on.isoformat()}.",
            )
    except IntegrityError:
        # Two concurrent creations with one name: the partial unique constraint keeps one.
        raise ApplicationError(MSG_NAME_TAKEN, field="name") from None
    return token, plaintext


def can_revoke_personal_token(actor: User, token: PersonalToken) -> bool:
    return actor.is_active and (token.user_id == actor.pk or is_ops_leader(actor))


@transaction.atomic
def personal_token_revoke(*, token: PersonalToken, actor: User) -> PersonalToken:
    """Stops the token at once. The row stays, so the lists show what was used when."""
    refuse_via_token()
    if not can_revoke_personal_token(actor, token):
        raise ApplicationError(MSG_NOT_ALLOWED)
    now = timezone.now()
    if not PersonalToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=now, revoked_by=actor
    ):
        raise ApplicationError(MSG_ALREADY_REVOKED)
    token.revoked_at, token.revoked_by = now, actor
    owner = "" if token.user_id == actor.pk else f" of {token.user.email}"
    activity_record(
        workflow=None,
        actor=actor,
        verb="revoked a personal access token",
        target=f"{token}{owner}"[:200],
    )
    return token


def personal_tokens_revoke_all(*, user: User, actor: User) -> int:
    """Revokes every live token of `user` (their deactivation calls it, in its transaction);
    returns how many. Expired tokens are revoked too, so the list says why each stopped."""
    revoked = PersonalToken.objects.filter(user=user, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_by=actor
    )
    if revoked:
        activity_record(
            workflow=None,
            actor=actor,
            verb="revoked all personal access tokens of",
            target=f"user {user.email}",
            note=f"{revoked} token{'s' if revoked != 1 else ''}.",
        )
    return revoked


def personal_token_authenticate(
    plaintext: str, *, now: datetime | None = None
) -> PersonalToken | None:
    """The usable token with this plaintext, its person loaded; None for anything else (unknown,
    revoked, expired, or its person deactivated: personal_token_refusal says which). One query,
    plus an UPDATE of last_used_at at most once a minute."""
    if not plaintext.startswith(TOKEN_PREFIX) or len(plaintext) > _MAX_TOKEN_LENGTH:
        return None
    now = timezone.now() if now is None else now
    token = (
        PersonalToken.objects.usable(now)
        .filter(token_hash=token_hash(plaintext))
        .select_related("user")
        .first()
    )
    if token is None:
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        stale = Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_RESOLUTION)
        # The condition makes concurrent requests write once between them, not once each.
        PersonalToken.objects.filter(stale, pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def personal_token_refusal(plaintext: str, *, now: datetime | None = None) -> str:
    """Why personal_token_authenticate refused this plaintext, for the 401 body (one query)."""
    if not plaintext.startswith(TOKEN_PREFIX) or len(plaintext) > _MAX_TOKEN_LENGTH:
        return MSG_TOKEN_INVALID
    token = (
        PersonalToken.objects.filter(token_hash=token_hash(plaintext))
        .select_related("user")
        .first()
    )
    if token is None:
        return MSG_TOKEN_INVALID
    now = timezone.now() if now is None else now
    status = token.status_at(now)
    if status == PersonalTokenStatus.REVOKED or not token.user.is_active:
        return MSG_TOKEN_REVOKED
    if status == PersonalTokenStatus.EXPIRED:
        return MSG_TOKEN_EXPIRED
    return MSG_TOKEN_INVALID
