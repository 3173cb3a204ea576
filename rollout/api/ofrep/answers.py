"""OFREP's bodies: the evaluation (reason and metadata from a Decision), its errors and ETags.

Reasons come from the spec's list only, by this precedence (issue 19): retired or paused →
DISABLED; shadow phase, or not in an enrolled cohort (also: no phase in progress, audit) →
STATIC; decided by the percentage or holdout hash → SPLIT; a member of an enrolled cohort at
100 %, or not briefed (decided by the briefing, not by a hash) → TARGETING_MATCH. Never DEFAULT
or ERROR, which clients set themselves.
"""

import functools
import hashlib
import json
from enum import StrEnum
from typing import Any

from rollout.api import errors
from rollout.selectors.decision import Basis, Decision
from rollout.services.api_tokens import MSG_TOKEN_INVALID


class Reason(StrEnum):
    DISABLED = "DISABLED"
    STATIC = "STATIC"
    SPLIT = "SPLIT"
    TARGETING_MATCH = "TARGETING_MATCH"


class ErrorCode(StrEnum):
    PARSE_ERROR = "PARSE_ERROR"
    TARGETING_KEY_MISSING = "TARGETING_KEY_MISSING"
    INVALID_CONTEXT = "INVALID_CONTEXT"
    FLAG_NOT_FOUND = "FLAG_NOT_FOUND"
    GENERAL = "GENERAL"


MAX_TARGETING_KEY = 254  # as the native API's `user`

MSG_NOT_JSON = "The body is not valid JSON."
MSG_NOT_AN_OBJECT = 'The body must be a JSON object: {"context": {"targetingKey": "..."}}.'
MSG_NO_CONTEXT = (
    "The body has no context: send the person as context.targetingKey (their email or the id "
    "the AI tool knows them by)."
)
MSG_CONTEXT_NOT_AN_OBJECT = "context must be a JSON object."
MSG_NO_TARGETING_KEY = (
    "context.targetingKey is missing or blank: name the person (their email or the id the AI "
    "tool knows them by)."
)
MSG_TARGETING_KEY_NOT_TEXT = "context.targetingKey must be a string."
MSG_TARGETING_KEY_TOO_LONG = f"context.targetingKey is longer than {MAX_TARGETING_KEY} characters."
MSG_TARGETING_KEY_CONTROL = (
    "context.targetingKey must not hold control characters (such as NUL) or lone surrogates."
)
MSG_BAD_QUERY = "The query string is not valid UTF-8 or not a query string."
MSG_BAD_LAST_MODIFIED = (
    "flagConfigLastModified must be Unix seconds or an RFC 3339 date-time, "
    "e.g. 1771622898 or 2026-02-20T21:28:18Z."
)
MSG_RATE_LIMITED = errors.MSG_RATE_LIMITED  # the native API's words, in OFREP's shape
MSG_FLAG_NOT_FOUND = "No flag has this key for this API token."
MSG_MISSING_TOKEN = (
    "Send the workflow's API token: Authorization: Bearer <token>, or X-API-Key: <token>."
)
MSG_INVALID_TOKEN = MSG_TOKEN_INVALID  # api_token_refusal's words for any unknown token
MSG_TWO_TOKENS = "Authorization and X-API-Key hold different tokens: send one."

_REASONS = {
    Basis.RETIRED: Reason.DISABLED,
    Basis.PAUSED: Reason.DISABLED,
    Basis.SHADOW: Reason.STATIC,
    Basis.NOT_STARTED: Reason.STATIC,
    Basis.AUDIT: Reason.STATIC,
    Basis.NOT_ENROLLED: Reason.STATIC,
    Basis.OUTSIDE_PERCENTAGE: Reason.SPLIT,
    Basis.HOLDOUT: Reason.SPLIT,
    Basis.NOT_BRIEFED: Reason.TARGETING_MATCH,
}


def reason(decision: Decision) -> Reason:
    if decision.basis == Basis.ENROLLED:
        return Reason.SPLIT if decision.split else Reason.TARGETING_MATCH
    # A decision without a basis came from a cache written before it had one: it expires with
    # the next plan change; till then, the answer names no hash and no targeting.
    return _REASONS.get(decision.basis, Reason.STATIC)


def metadata(decision: Decision) -> dict[str, Any]:
    """Primitives only (the spec's flag metadata: strings, numbers, booleans); nothing null."""
    found = {
        "phase": decision.phase,
        "cohort": decision.cohort,
        "bucket": decision.bucket,
        "config_version": decision.config_version,
        "review_level": decision.review_level,
        "review_sample_rate": decision.review_sample_rate,
        "rollout_reason": None if decision.basis is None else str(decision.basis),
        "briefing_url": decision.briefing_url,
    }
    return {name: value for name, value in found.items() if value is not None}


def evaluation(key: str, decision: Decision) -> dict[str, Any]:
    """A successful evaluation: value and variant are the mode; `variant` and `reason` always
    (the Python provider reads both without a default)."""
    return {
        "key": key,
        "value": decision.mode,
        "variant": decision.mode,
        "reason": str(reason(decision)),
        "metadata": metadata(decision),
    }


@functools.lru_cache(maxsize=4096)
def _encoded(key: str, decision: Decision, basis: str | None, split: bool, bucket: int | None):
    # Decision's equality leaves basis, split and bucket out: they are part of the cache's key.
    return json.dumps(evaluation(key, decision)).encode()


def evaluation_bytes(key: str, decision: Decision) -> bytes:
    """`evaluation`, encoded (answers repeat: the same people ask again and again)."""
    return _encoded(key, decision, decision.basis, decision.split, decision.bucket)


def bulk_bytes(evaluations: list[dict[str, Any]]) -> bytes:
    return json.dumps({"flags": evaluations}).encode()


def etag(body: bytes) -> str:
    """A strong entity tag: the quoted hash of the exact body (RFC 9110 8.8.3)."""
    return f'"{hashlib.sha256(body).hexdigest()[:32]}"'


def none_match(header: str, current: str) -> bool:
    """Whether If-None-Match `header` matches `current` (RFC 9110 13.1.2): `*`, or a list of
    entity tags compared weakly (W/ ignored)."""
    if header.strip() == "*":
        return True
    tags = (tag.strip() for tag in header.split(","))
    return any(tag.removeprefix("W/") == current for tag in tags if tag)


def error(code: ErrorCode, details: str, key: str | None = None) -> dict[str, Any]:
    """An evaluation failure (single, with the key) or a bulk failure (no key)."""
    body: dict[str, Any] = {} if key is None else {"key": key}
    return {**body, "errorCode": str(code), "errorDetails": details}
