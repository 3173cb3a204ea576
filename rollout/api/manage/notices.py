"""/api/v1/workflows/{slug}/notices: a workflow's change notices, as on its notices page, through
the same services (rollout.services.notices): write a draft, change it, schedule it.

Scheduling applies the page's rules: the effective time after the publish time, the publish time
not past, neither inside a blackout window (rule 10); less than the workflow's lead time between
them makes it urgent (rule 5): it then needs `urgent_reason` and waits for an ops leader other
than its author (status awaiting_approval). Approving is never done with a token.
"""

from datetime import datetime
from typing import Annotated, Any, Literal

from django.http import HttpResponse
from ninja import Router, Schema
from ninja.errors import HttpError
from pydantic import Field, field_validator

from rollout.api.checks import MSG_NAIVE
from rollout.api.errors import ErrorOut, ValidationErrorOut
from rollout.api.manage.answers import (
    MAX_ID,
    IsoDateTime,
    ManageIn,
    ManagePatch,
    object_id,
    read_body,
    request_body,
)
from rollout.api.manage.auth import PersonalTokenAuth
from rollout.api.manage.common import (
    ManageHttpRequest,
    Slug,
    idempotent,
    workflow_changeable,
    workflow_visible,
)
from rollout.models import ChangeNotice, NoticeAudience, NoticeKind, NoticeStatus, Workflow
from rollout.selectors.notices import notice_get_for_workflow, notice_list_for_workflow
from rollout.services.notices import notice_create, notice_schedule, notice_update

router = Router(auth=PersonalTokenAuth(), tags=["Management"])

MSG_UNKNOWN_NOTICE = "This workflow has no notice with this id."
MSG_YEAR = "Give a time between the years 2000 and 2999."
MAX_COHORTS = 200
MAX_REMINDER_HOURS = 720

KindValue = Literal[tuple(NoticeKind.values)]
AudienceValue = Literal[tuple(NoticeAudience.values)]
CohortId = Annotated[int, Field(ge=1, le=MAX_ID)]

_TIME = "ISO 8601 with a time zone, e.g. 2027-01-04T09:00:00+01:00."
_COHORTS = "For audience `cohorts`: the ids of this workflow's cohorts that receive it."
_URGENT = "Why it cannot wait: needed when less than the lead time lies between the two times."
_REMINDER = "Remind those who have not acknowledged this many hours before it takes effect."


class NoticeOut(Schema):
    id: int
    status: str = Field(description=", ".join(NoticeStatus.values))
    kind: str
    title: str
    body: str = Field(description="Markdown.")
    audience: str
    cohorts: list[int]
    include_followers: bool
    publish_at: datetime
    effective_at: datetime
    requires_ack: bool
    reminder_hours: int | None
    urgent: bool
    urgent_reason: str
    published_at: datetime | None


def _checked_time(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(MSG_NAIVE)
    if not 2000 <= value.year <= 2999:  # far ones overflow when moved to UTC
        raise ValueError(MSG_YEAR)
    return value


class _Times:
    @field_validator("publish_at", "effective_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        return _checked_time(value)


class NoticeIn(_Times, ManageIn):
    """A new draft."""

    kind: KindValue
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=20000, description="Markdown.")
    audience: AudienceValue = NoticeAudience.COHORTS.value
    cohorts: list[CohortId] = Field(default=[], max_length=MAX_COHORTS, description=_COHORTS)
    include_followers: bool = True
    publish_at: IsoDateTime = Field(description=_TIME)
    effective_at: IsoDateTime = Field(description=_TIME)
    requires_ack: bool = False
    reminder_hours: int | None = Field(
        default=None, ge=1, le=MAX_REMINDER_HOURS, description=_REMINDER
    )
    urgent_reason: str = Field(default="", max_length=2000, description=_URGENT)


class NoticePatch(_Times, ManagePatch):
    """The fields to change; the others keep their value. Null clears reminder_hours."""

    kind: KindValue = None
    title: str = Field(default=None, min_length=1, max_length=200)
    body: str = Field(default=None, min_length=1, max_length=20000)
    audience: AudienceValue = None
    cohorts: list[CohortId] = Field(default=None, max_length=MAX_COHORTS, description=_COHORTS)
    include_followers: bool = None
    publish_at: IsoDateTime = Field(default=None, description=_TIME)
    effective_at: IsoDateTime = Field(default=None, description=_TIME)
    requires_ack: bool = None
    reminder_hours: int | None = Field(
        default=None, ge=1, le=MAX_REMINDER_HOURS, description=_REMINDER
    )
    urgent_reason: str = Field(default=None, max_length=2000, description=_URGENT)


def _out(notice: ChangeNotice) -> dict[str, Any]:
    return {
        "id": notice.pk,
        "status": notice.status,
        "kind": notice.kind,
        "title": notice.title,
        "body": notice.body,
        "audience": notice.audience,
        "cohorts": sorted(c.pk for c in notice.cohorts.all()),
        "include_followers": notice.include_followers,
        "publish_at": notice.publish_at,
        "effective_at": notice.effective_at,
        "requires_ack": notice.requires_ack,
        "reminder_hours": notice.reminder_hours,
        "urgent": notice.urgent,
        "urgent_reason": notice.urgent_reason,
        "published_at": notice.published_at,
    }


def _notice(workflow: Workflow, notice_id: int) -> ChangeNotice:
    try:
        return notice_get_for_workflow(workflow, notice_id)
    except ChangeNotice.DoesNotExist:
        raise HttpError(404, MSG_UNKNOWN_NOTICE) from None


def _fresh(workflow: Workflow, notice: ChangeNotice) -> dict[str, Any]:
    """The notice as stored now, its cohorts read anew (the service may have changed them)."""
    return _out(notice_get_for_workflow(workflow, notice.pk))


@router.get(
    "/workflows/{slug}/notices",
    response={200: list[NoticeOut], 404: ErrorOut},
    summary="List a workflow's change notices",
    operation_id="manage_notices_list",
    url_name="manage_notices_list",
)
def list_notices(request: ManageHttpRequest, slug: Slug) -> list[dict[str, Any]]:
    """Every notice of the workflow: drafts and open ones first, newest publish time first."""
    return [_out(n) for n in notice_list_for_workflow(workflow_visible(request, slug))]


@router.post(
    "/workflows/{slug}/notices",
    response={
        201: NoticeOut,
        400: ValidationErrorOut,
        403: ErrorOut,
        404: ErrorOut,
        409: ErrorOut,
        422: ErrorOut,
    },
    summary="Write a draft notice",
    operation_id="manage_notices_create",
    url_name="manage_notices_create",
    openapi_extra=request_body(NoticeIn, idempotent=True),
)
def create_notice(request: ManageHttpRequest, slug: Slug) -> HttpResponse:
    """Writes a draft; nobody is told until it is scheduled and published. Takes an
    Idempotency-Key.

    Rules beyond the schema, answered with 400: times with a time zone, between the years 2000
    and 2999, the effective time after the publish time; `cohorts` of this workflow; an audience
    (a cohort, everyone, or the followers); a reminder only when acknowledgement is asked; the
    title on one line."""
    workflow = workflow_changeable(request, slug)
    fields = read_body(request, NoticeIn).model_dump()

    def create() -> tuple[int, dict[str, Any]]:
        notice = notice_create(workflow=workflow, actor=request.user, **fields)
        return 201, _fresh(workflow, notice)

    return idempotent(request, create)


@router.patch(
    "/workflows/{slug}/notices/{notice_id}",
    response={200: NoticeOut, 400: ValidationErrorOut, 403: ErrorOut, 404: ErrorOut},
    summary="Change a notice not yet published",
    operation_id="manage_notices_update",
    url_name="manage_notices_update",
    openapi_extra=request_body(NoticePatch),
)
def update_notice(
    request: ManageHttpRequest, slug: Slug, notice_id: int = object_id("The notice's id.")
) -> dict[str, Any]:
    """Changes the fields sent of a draft, or of a scheduled or urgent notice, which is then
    checked again as when it was scheduled (an approval lapses). 400 for a notice published,
    being published or cancelled.

    Rules beyond the schema, answered with 400: as for a draft, and for a scheduled notice the
    scheduling rules."""
    workflow = workflow_changeable(request, slug)
    notice = _notice(workflow, notice_id)
    notice = notice_update(
        notice=notice, actor=request.user, **read_body(request, NoticePatch).sent()
    )
    return _fresh(workflow, notice)


@router.post(
    "/workflows/{slug}/notices/{notice_id}/schedule",
    response={200: NoticeOut, 400: ValidationErrorOut, 403: ErrorOut, 404: ErrorOut},
    summary="Schedule a draft notice",
    operation_id="manage_notices_schedule",
    url_name="manage_notices_schedule",
)
def schedule_notice(
    request: ManageHttpRequest, slug: Slug, notice_id: int = object_id("The notice's id.")
) -> dict[str, Any]:
    """Schedules a draft: status scheduled, or awaiting_approval when it is urgent (the ops
    leaders are asked). 400 when it is not a draft.

    Rules beyond the schema, answered with 400: the publish time not past; the effective time
    after it; neither inside a blackout window; an urgent notice needs `urgent_reason`."""
    workflow = workflow_changeable(request, slug)
    notice = notice_schedule(notice=_notice(workflow, notice_id), actor=request.user)
    return _fresh(workflow, notice)
