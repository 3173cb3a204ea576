"""What the management endpoints of a workflow's parts (data sources, cohorts, thresholds,
escalation levels, notices) share: finding the workflow as the person may see it, reading a body
into its schema, and answering a service's refusal.

* A workflow the person may not see is 404, whatever the token (its existence is not leaked).
* A write needs a write-scoped token (403, rollout.api.manage.common.require_write) and the
  person's right to change the workflow: the owner or an ops leader (403 for someone who may see
  it, an executive say).
* Invalid input is 400 `{"detail", "errors": [{"field", "message"}]}` before anything is written;
  a service's ApplicationError naming a field is the same 400 with the service's words, one that
  names none is about the state of things (a cohort in use, a notice already published): 409.
"""

import functools
from collections.abc import Callable
from typing import Annotated, Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import Path
from ninja.errors import HttpError
from pydantic import BaseModel, ConfigDict, WithJsonSchema, field_validator

from core.errors import ApplicationError
from rollout.api.base import json_response
from rollout.api.checks import error_message, validate_body
from rollout.api.errors import MSG_INVALID_INPUT
from rollout.api.manage.common import ManageHttpRequest, require_write
from rollout.models import Workflow
from rollout.models.workflow import SLUG_VALIDATOR
from rollout.permissions import access_workflow, can_change_workflow

MAX_ID = 2**62  # well inside a 64-bit column: a larger id is a 404, never a database overflow

MSG_UNKNOWN_WORKFLOW = "No workflow has this slug, or you may not see it."
MSG_MAY_NOT_CHANGE = (
    "You may see this workflow but not change it: only its owner or an ops leader can."
)
MSG_OBJECT = "Send one JSON object with the fields of the schema."
MSG_UNKNOWN_FIELD = "Unknown field: {field}."
MSG_CONTROL = "Control characters (such as NUL) and lone surrogates are not allowed here."
MSG_NOT_NULL = "This field cannot be null: leave it out to keep its value."

# Declared, not validated by ninja: a slug that cannot be one is answered as an unknown one (404).
Slug = Annotated[
    str,
    WithJsonSchema(
        {
            "type": "string",
            "minLength": 1,
            "maxLength": 60,
            "pattern": SLUG_VALIDATOR.regex.pattern,
            "description": "The workflow's slug.",
        }
    ),
]


def object_id(description: str) -> Any:
    """A path parameter holding a row's id: 1 to MAX_ID (ninja answers others with a 400)."""
    return Path(ge=1, le=MAX_ID, description=description)


def _has_forbidden_characters(value: str) -> bool:
    # NUL and the other C0 controls but tab and line ends; lone surrogates, which UTF-8 (and so
    # PostgreSQL) cannot store: JSON may escape both ("\u0000", "\ud800").
    return any(
        (ord(c) < 32 and c not in "\t\n\r") or 0xD800 <= ord(c) <= 0xDFFF for c in value
    )


class ManageIn(BaseModel):
    """A management body: unknown fields refused; no control characters in any text."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*")
    @classmethod
    def _text(cls, value: Any) -> Any:
        texts = value if isinstance(value, list) else [value]
        if any(isinstance(text, str) and _has_forbidden_characters(text) for text in texts):
            raise ValueError(MSG_CONTROL)
        return value


class ManagePatch(ManageIn):
    """A partial update: the fields sent are changed, the others kept. Only the fields listed in
    `NULLABLE` may be sent as null (to clear them)."""

    NULLABLE: frozenset[str] = frozenset()

    def sent(self) -> dict[str, Any]:
        """The fields the client sent, with their values."""
        return {name: getattr(self, name) for name in self.model_fields_set}


class InvalidInput(Exception):
    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__(MSG_INVALID_INPUT)
        self.errors = errors


def _message(error: dict[str, Any]) -> str:
    if error.get("type") == "extra_forbidden":
        field = str(error["loc"][0]) if error.get("loc") else ""
        return MSG_UNKNOWN_FIELD.format(field=field[:100])
    return error_message(error)


def read_body[M: ManageIn](request: HttpRequest, model: type[M]) -> M:
    """The body as `model`; InvalidInput (answered 400 by `answers`) with every problem by field.
    A patch refuses null for the fields that cannot be cleared."""
    data, errors = validate_body(
        request.body or b"null",
        model,
        not_an_object=MSG_OBJECT,
        message=_message,
        field_chars=100,
    )
    if data is None:
        raise InvalidInput(errors)
    if isinstance(data, ManagePatch):
        nulls = [
            {"field": name, "message": MSG_NOT_NULL}
            for name, value in data.sent().items()
            if value is None and name not in data.NULLABLE
        ]
        if nulls:
            raise InvalidInput(nulls)
    return data


def request_body(model: type[BaseModel], *, required: bool = True) -> dict[str, Any]:
    """The operation's documented body (`openapi_extra`), since it is read by read_body."""
    schema = model.model_json_schema()
    return {"requestBody": {"required": required, "content": {"application/json": {"schema": schema}}}}


def workflow_to_read(request: ManageHttpRequest, slug: str) -> Workflow:
    """The workflow if the token's person may see it (as its pages decide); else 404."""
    try:
        return access_workflow(request.user, slug)
    except Http404:
        raise HttpError(404, MSG_UNKNOWN_WORKFLOW) from None


def workflow_to_change(request: ManageHttpRequest, slug: str) -> Workflow:
    """The workflow if the token may write and its person may change it: 403 for a read token,
    404 for a workflow the person may not see, 403 for one they may see but not change."""
    require_write(request)
    workflow = workflow_to_read(request, slug)
    if not can_change_workflow(request.user, workflow):
        raise HttpError(403, MSG_MAY_NOT_CHANGE)
    return workflow


def refusal(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
    """A service's refusal: 400 with the field it names, or 409 when it names none."""
    if exc.field:
        body = {
            "detail": MSG_INVALID_INPUT,
            "errors": [{"field": exc.field, "message": exc.message}],
        }
        return json_response(request, body, status=400)
    return json_response(request, {"detail": exc.message}, status=409)


def answers(view: Callable[..., Any]) -> Callable[..., Any]:
    """Answers InvalidInput and a service's ApplicationError raised by the operation."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        try:
            return view(request, *args, **kwargs)
        except InvalidInput as exc:
            body = {"detail": MSG_INVALID_INPUT, "errors": exc.errors}
            return json_response(request, body, status=400)
        except ApplicationError as exc:
            return refusal(request, exc)
        except ValidationError as exc:
            # A model's own validator behind a service that does not word it (a line break in
            # a one-line name): still the person's input, never a server error.
            by_field = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
            errors = [
                {"field": "" if field == NON_FIELD_ERRORS else field, "message": message}
                for field, messages in by_field.items()
                for message in messages
            ]
            body = {"detail": MSG_INVALID_INPUT, "errors": errors}
            return json_response(request, body, status=400)

    return wrapper
