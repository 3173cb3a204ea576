"""Idempotent creates for the management API: the `Idempotency-Key` header (issue 20 §4).

A key is kept 24 hours per (token, method, path, key) with the first answer's status and body:

* `idempotency_begin` claims the key in a transaction of its own (committed before the create
  runs, so a concurrent duplicate sees it): a new key is claimed; a key whose first request is
  still being answered is a conflict (409); a key sent with another body is refused (422); a key
  whose first request succeeded is replayed.
* `idempotency_finish` stores the answer; `idempotency_abandon` forgets the key when the create
  failed (a refused create changed nothing, so the client may fix it and send the key again).

A claim older than IN_FLIGHT_TIMEOUT whose answer never came (its process died) is taken over.
Keys older than KEEP are ignored here and deleted by the nightly retention run.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from rollout.models import IdempotentRequest, PersonalToken

KEEP = timedelta(hours=24)
IN_FLIGHT_TIMEOUT = timedelta(minutes=5)


class Outcome(StrEnum):
    CLAIMED = "claimed"
    REPLAY = "replay"
    IN_FLIGHT = "in_flight"
    OTHER_BODY = "other_body"


@dataclass(frozen=True)
class Claim:
    outcome: Outcome
    row: IdempotentRequest


def idempotency_begin(
    *, token: PersonalToken, method: str, path: str, key: str, body_hash: str
) -> Claim:
    """Claim `key` for this request, or say why not (see the module's docstring)."""
    now = timezone.now()
    scope = {"token": token, "method": method, "path": path[:500], "key": key}
    with transaction.atomic():
        # Forgotten after KEEP; an unanswered claim is taken over after IN_FLIGHT_TIMEOUT.
        IdempotentRequest.objects.filter(**scope, created_at__lte=now - KEEP).delete()
        IdempotentRequest.objects.filter(
            **scope, status__isnull=True, created_at__lte=now - IN_FLIGHT_TIMEOUT
        ).delete()
        try:
            with transaction.atomic():
                row = IdempotentRequest.objects.create(**scope, body_hash=body_hash)
            return Claim(Outcome.CLAIMED, row)
        except IntegrityError:
            row = IdempotentRequest.objects.get(**scope)
    if row.body_hash != body_hash:
        return Claim(Outcome.OTHER_BODY, row)
    if row.status is None:
        return Claim(Outcome.IN_FLIGHT, row)
    return Claim(Outcome.REPLAY, row)


def idempotency_finish(*, row: IdempotentRequest, status: int, response: Any) -> None:
    IdempotentRequest.objects.filter(pk=row.pk).update(status=status, response=response)


def idempotency_abandon(*, row: IdempotentRequest) -> None:
    IdempotentRequest.objects.filter(pk=row.pk, status__isnull=True).delete()


def idempotency_forget_expired(*, now: datetime | None = None) -> int:
    """Deletes the keys older than KEEP (the nightly retention run); returns how many."""
    now = timezone.now() if now is None else now
    deleted, _ = IdempotentRequest.objects.filter(created_at__lte=now - KEEP).delete()
    return deleted
