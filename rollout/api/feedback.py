"""POST /api/v1/feedback: the AI tool's "thumbs down" (or up), on behalf of a person.

Validated like the events endpoint: the body must be one JSON object; each field is checked and
every problem reported by field, before anything is written. A `user_ref` Rollout does not know is
stored with no author (it still counts for the workflow's negative-feedback share).
"""

import uuid
from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Router
from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.errors import ApplicationError
from rollout.api.base import json_response
from rollout.api.checks import (
    MSG_CONTROL,
    ApiHttpRequest,
    check_reported_time,
    clean_user_ref,
    error_message,
    has_control_characters,
    require_iso_text,
    validate_body,
)
from rollout.api.errors import MSG_INVALID_INPUT, ErrorOut, ValidationErrorOut, json_error
from rollout.models import FeedbackCategory, FeedbackRating, Workflow
from rollout.selectors.workflows import workflow_is_retired
from rollout.services.feedback import MAX_TEXT, MSG_TEXT_TOO_LONG, feedback_create

router = Router()

MSG_OBJECT = (
    'Send one JSON object: {"user_ref": …, "rating": …, "category": …, "text": …}; see the schema.'
)
MSG_RATING = f"Unknown rating. Use one of: {', '.join(FeedbackRating.values)}."
MSG_CATEGORY = f"Unknown category. Use one of: {', '.join(FeedbackCategory.values)}."
MSG_EVENT_ID = "Give the usage event's UUID, as sent to /api/v1/events."

# Built from the enums, so the API cannot drift from them; pydantic documents a Literal as an
# inline enum of strings and reports a wrong value as a literal_error (see _message).
RatingValue = Literal[tuple(FeedbackRating.values)]
CategoryValue = Literal[tuple(FeedbackCategory.values)]


class FeedbackIn(BaseModel):
    """One person's feedback on an output."""

    model_config = ConfigDict(extra="forbid")

    user_ref: str = Field(
        min_length=1, max_length=254, description="The person: email (any case) or external id."
    )
    rating: RatingValue = Field(description="helpful or not_helpful.")
    category: CategoryValue = Field(
        description=(
            "wrong_output, harmful, slow, confusing, missing_capability, praise or other. "
            "harmful opens an escalation."
        )
    )
    text: str = Field(default="", max_length=MAX_TEXT, description="What they said (optional).")
    event_id: uuid.UUID | None = Field(
        default=None, description="The usage event the feedback is about (optional)."
    )
    occurred_at: datetime | None = Field(
        default=None, description="When it was given, ISO 8601 with a time zone (default: now)."
    )

    @field_validator("user_ref")
    @classmethod
    def _user_ref(cls, value: str) -> str:
        return clean_user_ref(value)

    @field_validator("text")
    @classmethod
    def _text(cls, value: str) -> str:
        if has_control_characters(value):
            raise ValueError(MSG_CONTROL)
        return value

    @field_validator("occurred_at", mode="before")
    @classmethod
    def _occurred_at_text(cls, value: Any) -> Any:
        return require_iso_text(value)

    @field_validator("occurred_at")
    @classmethod
    def _occurred_at(cls, value: datetime | None) -> datetime | None:
        return None if value is None else check_reported_time(value)


class FeedbackCreatedOut(BaseModel):
    id: int = Field(description="The feedback's number in Rollout.")
    status: str = Field(description="Always new.")
    cohort: str | None = Field(description="The cohort it was attributed to, if any.")
    author_known: bool = Field(description="Whether user_ref named a member Rollout knows.")


def _message(error: dict[str, Any]) -> str:
    field = str(error.get("loc", ("",))[0]) if error.get("loc") else ""
    kind = error.get("type")
    if field == "rating" and kind == "literal_error":
        return MSG_RATING
    if field == "category" and kind == "literal_error":
        return MSG_CATEGORY
    if field == "event_id" and kind != "extra_forbidden":
        return MSG_EVENT_ID
    if field == "text" and kind == "string_too_long":
        return MSG_TEXT_TOO_LONG.format(length=len(error.get("input") or ""))
    if kind == "extra_forbidden":
        return f"Unknown field: {field}."
    return error_message(error)


def _invalid(request: HttpRequest, errors: list[dict[str, str]]) -> HttpResponse:
    return json_response(request, {"detail": MSG_INVALID_INPUT, "errors": errors}, status=400)


_REQUEST_BODY = {
    "required": True,
    "content": {"application/json": {"schema": FeedbackIn.model_json_schema()}},
}


MSG_RETIRED = (
    "This workflow is retired and takes no new feedback. Stop sending it, or ask an ops leader "
    "to reinstate the workflow."
)


@router.post(
    "/feedback",
    response={201: FeedbackCreatedOut, 400: ValidationErrorOut, 410: ErrorOut},
    summary="Report a person's feedback on an output",
    operation_id="feedback",
    url_name="feedback",
    openapi_extra={"requestBody": _REQUEST_BODY},
)
def feedback(request: ApiHttpRequest) -> HttpResponse:
    """Feedback from inside the AI tool. 201 with its id; 400 with every invalid field (nothing
    is stored).

    Rules beyond the schema, answered with 400: `event_id` must be a usage event already
    reported for this workflow; `occurred_at` at most 400 days ago and at most an hour ahead;
    `user_ref` not blank; no control characters in `user_ref` or `text`. A retired workflow
    answers 410 and stores nothing."""
    if workflow_is_retired(request.auth.workflow_id):
        return json_error(410, MSG_RETIRED)
    data, errors = validate_body(
        request.body or b"null", FeedbackIn, not_an_object=MSG_OBJECT, message=_message
    )
    if data is None:
        return _invalid(request, errors)
    # The token carries a stub of its workflow (pk and slug, rollout.selectors.api_tokens); filing
    # may open an escalation, which needs the whole workflow and its owner.
    workflow = Workflow.objects.with_owner().get(pk=request.auth.workflow_id)
    try:
        created = feedback_create(
            workflow=workflow,
            user_ref=data.user_ref,
            rating=data.rating,
            category=data.category,
            text=data.text,
            event_id=data.event_id,
            source="api",
            occurred_at=data.occurred_at,
        )
    except ApplicationError as exc:
        return _invalid(request, [{"field": exc.field or "", "message": exc.message}])
    body = {
        "id": created.pk,
        "status": created.status,
        "cohort": created.cohort.name if created.cohort_id else None,
        "author_known": created.author_id is not None,
    }
    return json_response(request, body, status=201)
