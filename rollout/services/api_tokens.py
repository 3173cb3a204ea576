"""Creating and revoking a workflow's API tokens.

A token is `ro_` + 8 characters (its prefix, shown in lists) + a random tail; only its SHA-256 is
stored, so the plaintext exists once, in what `api_token_create` returns.
"""

import secrets

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from core.errors import ApplicationError
from rollout.lib import local_memo
from rollout.models import ApiToken, Workflow
from rollout.permissions import can_change_workflow
from rollout.selectors.api_tokens import TOKEN_PREFIX, token_cache_key, token_hash
from rollout.services.activity import activity_record

PREFIX_LENGTH = 8
NAME_MAX_LENGTH = ApiToken._meta.get_field("name").max_length

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
        key = token_cache_key(token.token_hash)
        transaction.on_commit(lambda: (cache.delete(key), local_memo.forget(key)))
        activity_record(
            workflow=token.workflow,
            actor=actor,
            verb="revoked an API token",
            target=str(token),
        )
    return token
