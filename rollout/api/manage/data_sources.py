"""/api/v1/workflows/{slug}/data-sources: the data sources a workflow depends on, as on its plan
page, through the same services (rollout.services.data_sources)."""

from datetime import date, datetime
from typing import Literal

from django.http import HttpResponse
from ninja import Router, Schema, Status
from ninja.errors import HttpError
from pydantic import Field

from rollout.api.errors import ErrorOut, ValidationErrorOut
from rollout.api.manage.answers import (
    ManageIn,
    ManagePatch,
    object_id,
    read_body,
    request_body,
)
from rollout.api.manage.auth import PersonalTokenAuth
from rollout.api.manage.common import (
    IsoDate,
    ManageHttpRequest,
    Slug,
    idempotent,
    workflow_changeable,
    workflow_visible,
)
from rollout.models import DataSource, SourceKind, Workflow
from rollout.selectors.plan import data_source_get, data_source_list
from rollout.services.data_sources import (
    data_source_create,
    data_source_delete,
    data_source_update,
)

router = Router(auth=PersonalTokenAuth(), tags=["Management"])

MSG_UNKNOWN_SOURCE = "This workflow has no data source with this id."
MAX_AGE_MINUTES = 60 * 24 * 366

KindValue = Literal[tuple(SourceKind.values)]

_KEY = "What the integration calls it (attrs.source, the heartbeat's path). Made from the name "
_KEY += "when empty; fixed once something was reported under it."


class DataSourceOut(Schema):
    id: int
    name: str
    key: str
    kind: str = Field(description=f"One of: {', '.join(SourceKind.values)}.")
    live_equivalent: str
    description: str
    freshness: str
    max_age_minutes: int | None = Field(description="Older data is stale (null: no expectation).")
    validation: str
    last_verified_at: date | None
    version: str
    created_at: datetime


class DataSourceIn(ManageIn):
    """A new data source."""

    name: str = Field(min_length=1, max_length=120)
    key: str = Field(default="", max_length=60, description=_KEY)
    kind: KindValue
    live_equivalent: str = Field(
        default="", max_length=200, description="For a static export: the live connection."
    )
    description: str = Field(default="", max_length=2000)
    freshness: str = Field(default="", max_length=120, description="How fresh, in words.")
    max_age_minutes: int | None = Field(default=None, ge=1, le=MAX_AGE_MINUTES)
    validation: str = Field(default="", max_length=2000, description="The checks in place.")
    last_verified_at: IsoDate | None = Field(
        default=None, description="YYYY-MM-DD, not after today."
    )
    version: str = Field(
        default="",
        max_length=60,
        description="A new version while a phase is in progress changes the AI itself (rule 9).",
    )


class DataSourcePatch(ManagePatch):
    """The fields to change; the others keep their value. Null clears max_age_minutes and
    last_verified_at."""

    name: str = Field(default=None, min_length=1, max_length=120)
    key: str = Field(default=None, max_length=60, description=_KEY)
    kind: KindValue = None
    live_equivalent: str = Field(default=None, max_length=200)
    description: str = Field(default=None, max_length=2000)
    freshness: str = Field(default=None, max_length=120)
    max_age_minutes: int | None = Field(default=None, ge=1, le=MAX_AGE_MINUTES)
    validation: str = Field(default=None, max_length=2000)
    last_verified_at: IsoDate | None = None
    version: str = Field(default=None, max_length=60)


def _out(source: DataSource) -> dict:
    return DataSourceOut.model_validate(source, from_attributes=True).model_dump(mode="json")


def _source(workflow: Workflow, source_id: int) -> DataSource:
    source = data_source_get(workflow, source_id)
    if source is None:
        raise HttpError(404, MSG_UNKNOWN_SOURCE)
    return source


@router.get(
    "/workflows/{slug}/data-sources",
    response={200: list[DataSourceOut], 404: ErrorOut},
    summary="List a workflow's data sources",
    operation_id="manage_data_sources_list",
    url_name="manage_data_sources_list",
)
def list_sources(request: ManageHttpRequest, slug: Slug) -> list[DataSource]:
    """Every data source of the workflow, by name."""
    return list(data_source_list(workflow_visible(request, slug)))


@router.post(
    "/workflows/{slug}/data-sources",
    response={
        201: DataSourceOut,
        400: ValidationErrorOut,
        403: ErrorOut,
        404: ErrorOut,
        409: ErrorOut,
        422: ErrorOut,
    },
    summary="Add a data source",
    operation_id="manage_data_sources_create",
    url_name="manage_data_sources_create",
    openapi_extra=request_body(DataSourceIn, idempotent=True),
)
def create_source(request: ManageHttpRequest, slug: Slug) -> HttpResponse:
    """Adds a data source, as the plan page does. Takes an Idempotency-Key.

    Rules beyond the schema, answered with 400: the name and the key unique within the workflow;
    a key of letters, digits, hyphens and underscores; the last verification not in the future;
    no line breaks in the name or version."""
    workflow = workflow_changeable(request, slug)
    data = read_body(request, DataSourceIn)

    def create() -> tuple[int, dict]:
        source = data_source_create(workflow=workflow, actor=request.user, **data.model_dump())
        return 201, _out(source)

    return idempotent(request, create)


@router.patch(
    "/workflows/{slug}/data-sources/{source_id}",
    response={200: DataSourceOut, 400: ValidationErrorOut, 403: ErrorOut, 404: ErrorOut},
    summary="Change a data source",
    operation_id="manage_data_sources_update",
    url_name="manage_data_sources_update",
    openapi_extra=request_body(DataSourcePatch),
)
def update_source(
    request: ManageHttpRequest, slug: Slug, source_id: int = object_id("The data source's id.")
) -> DataSource:
    """Changes the fields sent. A new version while a phase is in progress is logged as a change
    of the AI's input (rule 9).

    Rules beyond the schema, answered with 400: as for a new data source, and the key cannot
    change once something was reported under it."""
    workflow = workflow_changeable(request, slug)
    source = _source(workflow, source_id)
    data = read_body(request, DataSourcePatch)
    return data_source_update(source=source, actor=request.user, **data.sent())


@router.delete(
    "/workflows/{slug}/data-sources/{source_id}",
    response={204: None, 403: ErrorOut, 404: ErrorOut},
    summary="Remove a data source",
    operation_id="manage_data_sources_delete",
    url_name="manage_data_sources_delete",
)
def delete_source(
    request: ManageHttpRequest, slug: Slug, source_id: int = object_id("The data source's id.")
) -> Status[None]:
    """Removes the data source (and the thresholds judging it alone)."""
    workflow = workflow_changeable(request, slug)
    data_source_delete(source=_source(workflow, source_id), actor=request.user)
    return Status(204, None)
