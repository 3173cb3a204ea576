"""Signed approval links: the token in the link an approval email carries (issue 20 §3).

A token is Django's TimestampSigner over {approver id, request kind, request id, request
version}, with a salt of its own, so no other signed value of the app (an unsubscribe link, a
session) can stand in for it. It is not a bearer credential: the page it opens needs its approver
signed in, and the approval is a POST from that page. It works for MAX_AGE after it was made; a
token older than that still says what it was for (its signature is good), so the page can offer
the request's own page instead.
"""

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum, nonmember

from django.core import signing

SALT = "rollout.approval-link"
MAX_AGE = timedelta(hours=72)


class ApprovalKind(StrEnum):
    """What a link asks to approve."""

    PROMOTION = "promotion"
    NOTICE = "notice"  # an urgent change notice (rule 5)

    do_not_call_in_templates = nonmember(True)  # a class is callable: Django would call it


@dataclass(frozen=True)
class ApprovalLinkPayload:
    approver_id: int
    kind: ApprovalKind
    request_id: int
    version: str


class BadApprovalLink(Exception):
    """Not a token we made: tampered, truncated, or signed for something else."""


class ExpiredApprovalLink(Exception):
    """A token we made, older than MAX_AGE. `payload` says what it was for."""

    def __init__(self, payload: ApprovalLinkPayload) -> None:
        super().__init__("approval link expired")
        self.payload = payload


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=SALT)


def approval_link_token(payload: ApprovalLinkPayload) -> str:
    """The URL-safe token for `payload` (base64 and colons only)."""
    return _signer().sign_object(
        {
            "a": payload.approver_id,
            "k": str(payload.kind),
            "r": payload.request_id,
            "v": payload.version,
        }
    )


def _payload(value: object) -> ApprovalLinkPayload:
    if not isinstance(value, dict):
        raise BadApprovalLink
    approver, kind, request, version = (value.get(key) for key in ("a", "k", "r", "v"))
    if type(approver) is not int or type(request) is not int or not isinstance(version, str):
        raise BadApprovalLink
    try:
        return ApprovalLinkPayload(approver, ApprovalKind(kind), request, version)
    except ValueError:
        raise BadApprovalLink from None


def approval_link_read(token: str, *, max_age: timedelta = MAX_AGE) -> ApprovalLinkPayload:
    """What `token` was signed for. Raises BadApprovalLink, or ExpiredApprovalLink when it is a
    good token older than `max_age`."""
    signer = _signer()
    try:
        return _payload(signer.unsign_object(token, max_age=max_age))
    except signing.SignatureExpired:
        # The signature is good, only old: read it without the age limit to say what it was for.
        raise ExpiredApprovalLink(_payload(signer.unsign_object(token))) from None
    except (signing.BadSignature, ValueError, UnicodeError):
        raise BadApprovalLink from None
