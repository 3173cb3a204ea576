"""Signing as the Standard Webhooks spec says (standard-webhooks/standard-webhooks,
spec/standard-webhooks.md, "Signature scheme"): HMAC-SHA256 of `"{id}.{timestamp}.{body}"` with
the secret's key bytes, sent as `v1,<base64>`; several signatures space-separated while a rotated
secret is still honoured. Secrets are `whsec_` + base64 of the key bytes. Pure: no models.

Endpoints made before the standard kept their old secret, a random URL-safe text whose UTF-8
bytes were the HMAC key; `secret_key` reads both forms, and `secret_display` shows an old one as
`whsec_` + base64 of those same bytes, so a standard library verifies with the key the receiver
already has.
"""

import base64
import binascii
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32  # the spec asks for 24 to 64 random bytes

ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"


def secret_generate() -> str:
    """A new secret: `whsec_` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key bytes of a stored secret: a `whsec_` secret's decoded base64, an old
    secret's own UTF-8 bytes."""
    if secret.startswith(SECRET_PREFIX):
        try:
            return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
        except binascii.Error:
            pass  # not base64 after all: an old secret that happens to start so
    return secret.encode()


def secret_display(secret: str) -> str:
    """The secret as a receiver's standard library takes it: `whsec_` + base64 of the key."""
    return SECRET_PREFIX + base64.b64encode(secret_key(secret)).decode()


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256 of "id.timestamp.body">` with the secret's key."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(secrets_in_use: list[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value: one signature per secret in use (the current one first,
    then a rotated one during its grace period), space-separated."""
    return " ".join(signature(s, msg_id, timestamp, body) for s in secrets_in_use)


def legacy_signature(secret: str, body: bytes) -> str:
    """The old `X-Rollout-Signature`: `sha256=` + hex HMAC-SHA256 of the body alone."""
    return "sha256=" + hmac.new(secret_key(secret), body, hashlib.sha256).hexdigest()


def headers(
    *, secrets_in_use: list[str], msg_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """The three standard headers of one attempt."""
    return {
        ID_HEADER: msg_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature_header(secrets_in_use, msg_id, timestamp, body),
    }
