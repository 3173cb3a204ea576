"""POST /api/v1/sources/<key>/heartbeat: a data pipeline says how one data source is doing.

For sources checked outside any invocation: a pipeline can call it with the workflow's token
before any AI integration exists. It counts as a report of the source (the audit → shadow gate
needs every live source to have reported once) and updates its observed state at once.
"""

from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Router
from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator

from core.errors import ApplicationError
from rollout.api.base import json_response
from rollout.api.checks import (
    MSG_NAIVE,
    ApiHttpRequest,
    check_reported_time,
    error_message,
    require_iso_text,
    validate_body,
)
from rollout.api.errors import MSG_INVALID_INPUT, ErrorOut, ValidationErrorOut, json_error
from rollout.selectors.source_health import data_source_by_key
from rollout.selectors.workflows import workflow_is_retired
from rollout.services.source_health import (
    MSG_REJECTED_OVER_RECORDS,
    SourceGone,
    source_heartbeat_record,
)

router = Router()

MAX_RECORDS = 2_000_000_000
MSG_OBJECT = 'Send one JSON object: {"data_as_of": …, "records": n, "rejected": n}; see the schema.'
MSG_UNKNOWN_SOURCE = (
    "This workflow has no data source with the key “{key}”. The keys are shown on the workflow's "
    "plan page."
)
MSG_RETIRED = (
    "This workflow is retired and takes no new reports. Stop sending them, or ask an ops leader "
    "to reinstate it."
)


class HeartbeatIn(BaseModel):
    """A data source's check, made outside any invocation."""

    model_config = ConfigDict(extra="forbid")

    data_as_of: datetime | None = Field(
        default=None,
        description="When the source's newest data was produced, ISO 8601 with a time zone. "
        "Without it, the data counts as current at the time of the heartbeat.",
    )
    records: StrictInt = Field(
        default=0, ge=0, le=MAX_RECORDS, description="Records checked since the last heartbeat."
    )
    rejected: StrictInt = Field(
        default=0,
        ge=0,
        le=MAX_RECORDS,
        description="Of those, how many failed validation (at most `records`).",
    )

    @field_validator("data_as_of", mode="before")
    @classmethod
    def _data_as_of_text(cls, value: Any) -> Any:
        return require_iso_text(value)

    @field_validator("data_as_of")
    @classmethod
    def _data_as_of(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(MSG_NAIVE)
        return check_reported_time(value)

    @field_validator("rejected")
    @classmethod
    def _rejected(cls, value: int, info: Any) -> int:
        records = info.data.get("records")
        if records is not None and value > records:
            raise ValueError(MSG_REJECTED_OVER_RECORDS.format(records=records))
        return value


class HeartbeatOut(BaseModel):
    source: str = Field(description="The data source's key.")
    state: str = Field(description="Its observed state: never_reported, fresh, stale or silent.")
    received_at: datetime


def _message(error: dict[str, Any]) -> str:
    field = str(error["loc"][0]) if error.get("loc") else ""
    if error.get("type") == "extra_forbidden":
        return f"Unknown field: {field[:100]}."
    return error_message(error)


def _invalid(request: HttpRequest, errors: list[dict[str, str]]) -> HttpResponse:
    return json_response(request, {"detail": MSG_INVALID_INPUT, "errors": errors}, status=400)


_REQUEST_BODY = {
    "required": False,
    "content": {"application/json": {"schema": HeartbeatIn.model_json_schema()}},
}


@router.post(
    "/sources/{key}/heartbeat",
    response={200: HeartbeatOut, 400: ValidationErrorOut, 404: ErrorOut, 410: ErrorOut},
    summary="Report a data source's health (heartbeat)",
    operation_id="source_heartbeat",
    url_name="source_heartbeat",
    openapi_extra={"requestBody": _REQUEST_BODY},
)
def source_heartbeat(request: ApiHttpRequest, key: str) -> HttpResponse:
    """A data pipeline's check of one data source, named by its key (shown on the plan page).
    200 with the source's observed state; 404 for a key none of the workflow's sources has;
    400 with every invalid field (nothing is stored); 410 for a retired workflow.

    Rules beyond the schema: `data_as_of` at most an hour ahead and at most 400 days ago;
    `rejected` at most `records`. An empty body is a heartbeat with no records."""
    if workflow_is_retired(request.auth.workflow_id):
        return json_error(410, MSG_RETIRED)
    source = data_source_by_key(request.auth.workflow_id, key)
    if source is None:
        return json_error(404, MSG_UNKNOWN_SOURCE.format(key=key[:60]))
    data, errors = validate_body(
        request.body or b"{}",
        HeartbeatIn,
        not_an_object=MSG_OBJECT,
        message=_message,
        field_chars=100,
    )
    if data is None:
        return _invalid(request, errors)
    try:
        beat = source_heartbeat_record(
            source=source, records=data.records, rejected=data.rejected, data_as_of=data.data_as_of
        )
    except SourceGone:
        return json_error(404, MSG_UNKNOWN_SOURCE.format(key=key[:60]))
    except ApplicationError as exc:
        return _invalid(request, [{"field": exc.field or "", "message": exc.message}])
    body = {
        "source": source.key,
        "state": source.status.state,
        "received_at": beat.received_at.isoformat(),
    }
    return json_response(request, body, status=200)
