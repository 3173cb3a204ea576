"""/api/v1/workflows/{slug}/escalation-levels: a workflow's escalation path (who is told, in
order, how and how fast), as on its escalation path page, through the same services
(rollout.services.escalation_path). Levels are numbered 1..n; a contact is named by email."""

from typing import Any, Literal

from django.http import HttpResponse
from ninja import Router, Schema, Status
from ninja.errors import HttpError
from pydantic import Field

from accounts.models import User
from core.errors import ApplicationError
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
    ManageHttpRequest,
    Slug,
    idempotent,
    workflow_changeable,
    workflow_visible,
)
from rollout.forms.people import MSG_UNKNOWN_EMAIL
from rollout.models import EscalationChannel, EscalationLevel, Workflow
from rollout.selectors.escalation_path import escalation_level_get, escalation_level_list
from rollout.selectors.people import people_named
from rollout.services.escalation_path import (
    DIRECTIONS,
    MAX_TARGET_MINUTES,
    escalation_level_add,
    escalation_level_move,
    escalation_level_remove,
    escalation_level_update,
    level_summary,
)

router = Router(auth=PersonalTokenAuth(), tags=["Management"])

MSG_UNKNOWN_LEVEL = "This workflow's escalation path has no level with this id."

ChannelValue = Literal[tuple(EscalationChannel.values)]
DirectionValue = Literal[DIRECTIONS]

_CONTACT = "The email address of the person this level notifies (an active account)."
_TARGET = f"How long they have to acknowledge, in minutes (1 to {MAX_TARGET_MINUTES}: 14 days)."


class ContactOut(Schema):
    email: str
    display_name: str


class LevelOut(Schema):
    id: int
    level: int = Field(description="Its place on the path, from 1.")
    contact: ContactOut
    channel: str
    response_target_minutes: int
    summary: str = Field(description="The level in words, as the activity log says it.")


class LevelIn(ManageIn):
    """A new level, added at the end of the path."""

    contact: str = Field(min_length=1, max_length=254, description=_CONTACT)
    channel: ChannelValue
    response_target_minutes: int = Field(ge=1, le=MAX_TARGET_MINUTES, description=_TARGET)


class LevelPatch(ManagePatch):
    """The fields to change; the others keep their value."""

    contact: str = Field(default=None, min_length=1, max_length=254, description=_CONTACT)
    channel: ChannelValue = None
    response_target_minutes: int = Field(
        default=None, ge=1, le=MAX_TARGET_MINUTES, description=_TARGET
    )


class MoveIn(ManageIn):
    direction: DirectionValue = Field(description="up: one level earlier; down: one later.")


def _out(level: EscalationLevel) -> dict[str, Any]:
    return {
        "id": level.pk,
        "level": level.position,
        "contact": {"email": level.contact.email, "display_name": level.contact.display_name},
        "channel": level.channel,
        "response_target_minutes": level.response_target_minutes,
        "summary": level_summary(level),
    }


def _level(workflow: Workflow, level_id: int) -> EscalationLevel:
    try:
        return escalation_level_get(workflow, level_id)
    except EscalationLevel.DoesNotExist:
        raise HttpError(404, MSG_UNKNOWN_LEVEL) from None


def _contact(email: str) -> User:
    found = [
        u
        for u in people_named(emails=[email], names=[], ids=[])
        if u.email.lower() == email.strip().lower()
    ]
    if not found:
        raise ApplicationError(MSG_UNKNOWN_EMAIL.format(email=email.strip()), field="contact")
    return found[0]


def _path(workflow: Workflow) -> list[dict[str, Any]]:
    return [_out(level) for level in escalation_level_list(workflow)]


@router.get(
    "/workflows/{slug}/escalation-levels",
    response={200: list[LevelOut], 404: ErrorOut},
    summary="List a workflow's escalation levels",
    operation_id="manage_escalation_levels_list",
    url_name="manage_escalation_levels_list",
)
def list_levels(request: ManageHttpRequest, slug: Slug) -> list[dict[str, Any]]:
    """The escalation path, level 1 first."""
    return _path(workflow_visible(request, slug))


@router.post(
    "/workflows/{slug}/escalation-levels",
    response={
        201: LevelOut,
        400: ValidationErrorOut,
        403: ErrorOut,
        404: ErrorOut,
        409: ErrorOut,
        422: ErrorOut,
    },
    summary="Add an escalation level",
    operation_id="manage_escalation_levels_create",
    url_name="manage_escalation_levels_create",
    openapi_extra=request_body(LevelIn, idempotent=True),
)
def create_level(request: ManageHttpRequest, slug: Slug) -> HttpResponse:
    """Adds a level at the end of the path; its contact may then see the workflow. Takes an
    Idempotency-Key.

    Rules beyond the schema, answered with 400: `contact` the email of an active account; at most
    10 levels."""
    workflow = workflow_changeable(request, slug)
    data = read_body(request, LevelIn)
    contact = _contact(data.contact)

    def create() -> tuple[int, dict[str, Any]]:
        level = escalation_level_add(
            workflow=workflow,
            actor=request.user,
            contact=contact,
            channel=data.channel,
            response_target_minutes=data.response_target_minutes,
        )
        return 201, _out(level)

    return idempotent(request, create)


@router.patch(
    "/workflows/{slug}/escalation-levels/{level_id}",
    response={200: LevelOut, 400: ValidationErrorOut, 403: ErrorOut, 404: ErrorOut},
    summary="Change an escalation level",
    operation_id="manage_escalation_levels_update",
    url_name="manage_escalation_levels_update",
    openapi_extra=request_body(LevelPatch),
)
def update_level(
    request: ManageHttpRequest, slug: Slug, level_id: int = object_id("The level's id.")
) -> dict[str, Any]:
    """Changes who the level notifies, how, or how fast.

    Rules beyond the schema, answered with 400: `contact` the email of an active account."""
    workflow = workflow_changeable(request, slug)
    level = _level(workflow, level_id)
    sent = read_body(request, LevelPatch).sent()
    level = escalation_level_update(
        level=level,
        actor=request.user,
        contact=_contact(sent["contact"]) if "contact" in sent else level.contact,
        channel=sent.get("channel", level.channel),
        response_target_minutes=sent.get("response_target_minutes", level.response_target_minutes),
    )
    return _out(level)


@router.post(
    "/workflows/{slug}/escalation-levels/{level_id}/move",
    response={200: list[LevelOut], 400: ValidationErrorOut, 403: ErrorOut, 404: ErrorOut},
    summary="Move an escalation level up or down",
    operation_id="manage_escalation_levels_move",
    url_name="manage_escalation_levels_move",
    openapi_extra=request_body(MoveIn),
)
def move_level(
    request: ManageHttpRequest, slug: Slug, level_id: int = object_id("The level's id.")
) -> list[dict[str, Any]]:
    """Swaps the level with the one before it (up) or after it (down); answers the whole path.

    Rules beyond the schema, answered with 400: a level already first cannot move up, nor one
    already last down."""
    workflow = workflow_changeable(request, slug)
    level = _level(workflow, level_id)
    data = read_body(request, MoveIn)
    escalation_level_move(level=level, actor=request.user, direction=data.direction)
    return _path(workflow)


@router.delete(
    "/workflows/{slug}/escalation-levels/{level_id}",
    response={204: None, 403: ErrorOut, 404: ErrorOut},
    summary="Remove an escalation level",
    operation_id="manage_escalation_levels_delete",
    url_name="manage_escalation_levels_delete",
)
def delete_level(
    request: ManageHttpRequest, slug: Slug, level_id: int = object_id("The level's id.")
) -> Status[None]:
    """Removes the level; the levels after it move up one. Its contact loses the workflow unless
    another role keeps it."""
    workflow = workflow_changeable(request, slug)
    escalation_level_remove(level=_level(workflow, level_id), actor=request.user)
    return Status(204, None)
