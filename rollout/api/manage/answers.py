"""What the management endpoints of a workflow's parts (data sources, cohorts, thresholds,
escalation levels, notices) share beyond rollout.api.manage.common: reading a body that the
operation documents itself (`openapi_extra`), so that the errors name the body's own fields, with
no control character or lone surrogate in any text; partial changes; ids in paths; the
Idempotency-Key header in the schema.

Who may do what is common's (workflow_visible, workflow_changeable): a workflow the person may not
see is 404; a write needs a write token and the right to change the workflow (else 403). Invalid
input is 400 `{"detail", "errors": [{"field", "message"}]}` before anything is written; a
service's refusal is 400 with its own words (rollout.api.errors.application_error).
"""

from datetime import datetime
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Path
from ninja.errors import ValidationError
from pydantic import BaseModel, BeforeValidator, Field, field_validator

from core.text import MSG_ONE_LINE, has_line_breaks_or_controls
from rollout.api.checks import error_message, validate_body
from rollout.api.errors import MSG_NOT_NULL
from rollout.api.manage.common import IDEMPOTENCY_HEADER, MAX_KEY_LENGTH, Body

MAX_ID = 2**62  # well inside a 64-bit column: a larger id never reaches the database

MSG_OBJECT = "Send one JSON object with the fields of the schema."
MSG_UNKNOWN_FIELD = "Unknown field: {field}."
MSG_CONTROL = "Control characters (such as NUL) and lone surrogates are not allowed here."
MSG_ISO = "Give a time as ISO 8601 text with its time zone, e.g. 2027-01-04T09:00:00+01:00."


def object_id(description: str) -> Any:
    """A path parameter holding a row's id: 1 to MAX_ID (ninja answers others with a 400)."""
    return Path(ge=1, le=MAX_ID, description=description)


def _forbidden_character(text: str) -> bool:
    # C0 controls but tab and line ends, and lone surrogates, which UTF-8 (so PostgreSQL) cannot
    # store: JSON may escape both ("\u0000", "\ud800").
    return any((ord(c) < 32 and c not in "\t\n\r") or 0xD800 <= ord(c) <= 0xDFFF for c in text)


def one_line(value: str | None) -> str | None:
    """A field validator's check of a one-line text (a name, a title)."""
    if value is not None and has_line_breaks_or_controls(value):
        raise ValueError(MSG_ONE_LINE)
    return value


def _iso_text(value: Any) -> Any:
    # pydantic would read a number as a Unix time; the contract is ISO 8601 text.
    if value is not None and not isinstance(value, str):
        raise ValueError(MSG_ISO)
    return value


# Strict bodies read times from text all the same (JSON has no time type), never a number. (Dates:
# rollout.api.manage.common.IsoDate.)
IsoDateTime = Annotated[datetime, BeforeValidator(_iso_text), Field(strict=False)]


class ManageIn(Body):
    """A management body (strict, unknown fields refused) with no control characters or lone
    surrogates in any of its text."""

    @field_validator("*")
    @classmethod
    def _text(cls, value: Any) -> Any:
        texts = value if isinstance(value, list) else [value]
        if any(isinstance(text, str) and _forbidden_character(text) for text in texts):
            raise ValueError(MSG_CONTROL)
        return value


class ManagePatch(ManageIn):
    """A partial update: the fields sent are changed, the others kept. Its fields default to None
    without allowing it: null is refused (MSG_NOT_NULL) but where the type says `| None`."""


def _message(error: dict[str, Any]) -> str:
    if error.get("input", "") is None and error.get("type") != "missing":
        return MSG_NOT_NULL
    if error.get("type") == "extra_forbidden":
        field = str(error["loc"][0]) if error.get("loc") else ""
        return MSG_UNKNOWN_FIELD.format(field=field[:100])
    return error_message(error)


def _invalid(errors: list[dict[str, str]]) -> ValidationError:
    """ninja's ValidationError, answered 400 with every error by field (rollout.api.errors)."""
    return ValidationError(
        [
            {"loc": ("body", e["field"]) if e["field"] else ("body",), "msg": e["message"]}
            for e in errors
        ]
    )


def read_body[M: BaseModel](request: HttpRequest, model: type[M]) -> M:
    """The body as `model`, or a 400 with every problem by field."""
    data, errors = validate_body(
        request.body or b"null",
        model,
        not_an_object=MSG_OBJECT,
        message=_message,
        field_chars=100,
    )
    if data is None:
        raise _invalid(errors)
    return data


IDEMPOTENCY_PARAMETER = {
    "in": "header",
    "name": IDEMPOTENCY_HEADER,
    "required": False,
    "description": (
        "Any unique string (a UUID): the same key and body again within 24 hours answers the "
        "first answer again, without creating anything twice; another body with it is a 422, "
        "and a request still running with it a 409."
    ),
    # Printable ASCII, no space at either end (a header's ends are trimmed).
    "schema": {
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_KEY_LENGTH,
        "pattern": "^[!-~]([ -~]*[!-~])?$",
    },
}


def request_body(model: type[BaseModel], *, idempotent: bool = False) -> dict[str, Any]:
    """The operation's documented body (`openapi_extra`), since read_body reads it; with the
    Idempotency-Key header for a create."""
    content = {"application/json": {"schema": model.model_json_schema()}}
    extra: dict[str, Any] = {"requestBody": {"required": True, "content": content}}
    if idempotent:
        extra["parameters"] = [IDEMPOTENCY_PARAMETER]
    return extra
