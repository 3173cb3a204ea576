"""What every management endpoint shares: the typed request, strict bodies and their text
checks, who may see and change a workflow, the write scope, and Idempotency-Key.

Errors keep the API's conventions (rollout.api.errors): `{"detail": ...}`, plus
`"errors": [{"field", "message"}]` for input a person can fix — a service's ApplicationError is
turned into that by the API's handler (rollout.api.errors.application_error).
"""

import hashlib
import json
import string
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from django.http import Http404, HttpRequest, HttpResponse
from ninja.errors import HttpError
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from accounts.models import User
from core.text import MSG_ONE_LINE, has_line_breaks_or_controls
from rollout.api.base import json_response
from rollout.api.checks import MSG_CONTROL, has_control_characters
from rollout.api.errors import json_error
from rollout.models import PersonalToken, Workflow
from rollout.models.workflow import SLUG_VALIDATOR
from rollout.permissions import access_workflow, can_change_workflow
from rollout.services.idempotency import (
    Outcome,
    idempotency_abandon,
    idempotency_begin,
    idempotency_finish,
)

IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
_KEY_CHARACTERS = frozenset(string.printable) - frozenset(string.whitespace) | {" "}

MSG_READ_SCOPE = (
    "This personal access token has the read scope: it cannot change anything. Create a token "
    "with the write scope on your profile page."
)
MSG_KEY_INVALID = (
    f"An Idempotency-Key is 1 to {MAX_KEY_LENGTH} printable ASCII characters, e.g. a UUID."
)
MSG_KEY_IN_FLIGHT = (
    "A request with this Idempotency-Key is still being answered. Wait for it, then send this "
    "one again to get its answer."
)
MSG_KEY_OTHER_BODY = (
    "This Idempotency-Key was already used with a different body. Use a new key for a new request."
)
REPLAYED_HEADER = "Idempotent-Replayed"
MSG_NO_WORKFLOW = "There is no workflow with this slug that you can see."
MSG_NOT_CHANGER = "Only the workflow's owner or an ops leader can change it."
MSG_DATE = "Give a date as YYYY-MM-DD, e.g. 2027-01-31."


class ManageHttpRequest(HttpRequest):
    """A request that passed PersonalTokenAuth: `auth` is its token, `user` its person."""

    auth: PersonalToken
    user: User


# --- Bodies: strict JSON types (no "5" for 5, no 1 for true), and text checked as the forms do ---


class Body(BaseModel):
    """A management API body: unknown fields and loose types are refused, field by field."""

    model_config = ConfigDict(extra="forbid", strict=True)

    def sent(self) -> dict[str, Any]:
        """The fields the client sent, with their values (what a partial change changes)."""
        return {name: getattr(self, name) for name in self.model_fields_set}


def _has_lone_surrogate(value: str) -> bool:
    # JSON may escape one ("\ud800"); UTF-8, so PostgreSQL, cannot store it.
    return any(0xD800 <= ord(c) <= 0xDFFF for c in value)


def _one_line(value: str) -> str:
    if has_line_breaks_or_controls(value) or _has_lone_surrogate(value):
        raise ValueError(MSG_ONE_LINE)
    return value.strip()


def _text(value: str) -> str:
    if has_control_characters(value) or _has_lone_surrogate(value):
        raise ValueError(MSG_CONTROL)
    return value


def _date_text(value: Any) -> Any:
    # pydantic would read a number as a Unix timestamp; the contract is ISO 8601 text.
    if value is not None and not isinstance(value, str):
        raise ValueError(MSG_DATE)
    return value


OneLine = Annotated[str, AfterValidator(_one_line)]
Text = Annotated[str, AfterValidator(_text)]
IsoDate = Annotated[date, BeforeValidator(_date_text), Field(strict=False)]


# A path's workflow. Declared, not validated: a slug that cannot be one is answered as an unknown
# one (404), as a workflow the person cannot see is.
Slug = Annotated[
    str,
    WithJsonSchema(
        {
            "type": "string",
            "minLength": 1,
            "maxLength": 60,
            "pattern": SLUG_VALIDATOR.regex.pattern,
            "description": "The workflow's slug.",
            "examples": ["support-reply-drafting"],
        }
    ),
]


class PersonOut(BaseModel):
    name: str
    email: str


def person_out(user: User) -> PersonOut:
    return PersonOut(name=str(user), email=user.email)


# --- Who may see and change a workflow: its pages' rules (rollout.permissions) ---


def workflow_visible(request: ManageHttpRequest, slug: str, *, members: bool = False) -> Workflow:
    """The workflow if the token's person may see it (as its pages decide), else 404."""
    try:
        return access_workflow(request.user, slug, members=members)
    except Http404:
        raise HttpError(404, MSG_NO_WORKFLOW) from None


def workflow_changeable(
    request: ManageHttpRequest, slug: str, *, members: bool = False
) -> Workflow:
    """For a write: a write token (else 403), a workflow its person sees (else 404) and may
    change — its owner or an ops leader (else 403)."""
    require_write(request)
    workflow = workflow_visible(request, slug, members=members)
    if not can_change_workflow(request.user, workflow):
        raise HttpError(403, MSG_NOT_CHANGER)
    return workflow


def require_write(request: ManageHttpRequest) -> None:
    """Refuse (403) a token with the read scope; every management write calls it first."""
    if not request.auth.can_write:
        raise HttpError(403, MSG_READ_SCOPE)


def body_hash(body: bytes) -> str:
    """The SHA-256 of the body; of its canonical form when it is JSON, so a client that sends the
    same object with other spacing or key order is recognised as sending the same body."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        canonical = body
    return hashlib.sha256(canonical).hexdigest()


def _key(request: HttpRequest) -> str | None:
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not set(key) <= _KEY_CHARACTERS:
        raise HttpError(400, MSG_KEY_INVALID)
    return key


def idempotent(request: ManageHttpRequest, create: Callable[[], tuple[int, Any]]) -> HttpResponse:
    """Answers a create, honouring an `Idempotency-Key` header (rollout.services.idempotency).

    `create` makes the thing and returns (status, JSON-ready body). Without the header it simply
    runs. With it: the first request runs it and its answer is kept 24 hours; the same key and body
    again replays that answer (with `Idempotent-Replayed: true`) without creating anything; the
    same key with another body answers 422; while the first is still running, 409. A create that
    fails (a refusal, a bug) keeps nothing, so the client may fix the request and reuse the key.
    """
    key = _key(request)
    if key is None:
        status, body = create()
        return json_response(request, body, status=status)
    claim = idempotency_begin(
        token=request.auth,
        method=request.method or "",
        path=request.path,
        key=key,
        body_hash=body_hash(request.body),
    )
    if claim.outcome == Outcome.OTHER_BODY:
        return json_error(422, MSG_KEY_OTHER_BODY)
    if claim.outcome == Outcome.IN_FLIGHT:
        return json_error(409, MSG_KEY_IN_FLIGHT)
    if claim.outcome == Outcome.REPLAY:
        response = json_response(request, claim.row.response, status=claim.row.status or 200)
        response[REPLAYED_HEADER] = "true"
        return response
    try:
        status, body = create()
    except BaseException:
        idempotency_abandon(row=claim.row)
        raise
    # The answer as the client will read it, so a replay is byte for byte what JSON gives back.
    response = json_response(request, body, status=status)
    idempotency_finish(row=claim.row, status=status, response=json.loads(response.content))
    return response
