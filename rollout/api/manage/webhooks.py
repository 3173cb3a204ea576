"""Management API: webhooks and chat channels (issue 20 §1, §2, §4).

A workflow's at /api/v1/workflows/{slug}/webhooks (its owner and ops leaders, as its Webhooks &
chat page), the organisation's at /api/v1/webhooks (ops leaders, every workflow's events). Each
operation goes through rollout.services.webhooks — same rules and activity log (noted "via token
<name>") as the pages. A webhook's secret is in the answer of its creation and of a rotation only.
A workflow the token's person cannot see is 404; one they see but may not change is 403; the
organisation's endpoints are 403 for anyone but ops leaders; a read token never writes (403).
"""

from datetime import datetime, timedelta
from typing import Literal

from django.db import transaction
from django.http import HttpResponse
from ninja import Header, Router, Status
from ninja.errors import HttpError
from pydantic import BaseModel, Field

from rollout.api.errors import ErrorOut
from rollout.api.manage.auth import PersonalTokenAuth
from rollout.api.manage.common import (
    MAX_KEY_LENGTH,
    Body,
    ManageHttpRequest,
    OneLine,
    PersonOut,
    Slug,
    idempotent,
    person_out,
    require_write,
    workflow_changeable,
    workflow_visible,
)
from rollout.lib.webhook_events import EVENT_TYPES
from rollout.models import Webhook, WebhookKind, Workflow
from rollout.permissions import can_manage_webhooks
from rollout.selectors.webhooks import webhook_get_for_workflow, webhook_list_for_workflow
from rollout.services import webhooks as services

router = Router(auth=PersonalTokenAuth(), tags=["Management"])

MSG_NOT_FOUND = "This workflow has no webhook or chat channel with this id."
MSG_NOT_FOUND_ORG = "The organisation has no webhook or chat channel with this id."
MSG_NOT_CHANGER = "Only the workflow's owner or an ops leader can see and change its webhooks."
IDEMPOTENCY_KEY = Header(
    None,
    alias="Idempotency-Key",
    max_length=MAX_KEY_LENGTH,
    description=(
        "Any unique string (e.g. a UUID). A retry with the same key and body answers what the "
        "first request answered (its secret included), without creating twice (kept 24 hours); "
        "the same key with another body answers 422, and while the first is still running, 409."
    ),
)
KindValue = Literal[tuple(WebhookKind.values)]
EventTypeValue = Literal[tuple(EVENT_TYPES)]
URL_MAX_LENGTH = Webhook._meta.get_field("url").max_length


# --- Bodies ---


class WebhookIn(Body):
    """A new webhook (signed per Standard Webhooks) or Slack or Teams channel."""

    kind: KindValue = Field(default="webhook", description="webhook, slack or teams.")
    url: OneLine = Field(
        min_length=1,
        max_length=URL_MAX_LENGTH,
        description=(
            "A webhook: any http(s) address. Slack: https://hooks.slack.com/services/…. Teams: "
            "a Workflows webhook on logic.azure.com, powerautomate.com or webhook.office.com."
        ),
    )
    event_types: list[EventTypeValue] = Field(
        default_factory=list,
        max_length=len(EVENT_TYPES),
        description="The event types to send; empty: every type, also ones added later.",
    )


class WebhookPatch(Body):
    """What to change; the rest stays."""

    event_types: list[EventTypeValue] | None = Field(
        default=None, max_length=len(EVENT_TYPES), description="Empty: every type."
    )
    active: bool | None = Field(
        default=None, description="false: turn off (what waits is skipped); true: turn on."
    )
    format: Literal["standard"] | None = Field(
        default=None,
        description=(
            'A webhook made before Standard Webhooks: "standard" stops the old body and '
            "X-Rollout-* headers."
        ),
    )


class RotateIn(Body):
    grace_hours: int = Field(
        default=24,
        ge=0,
        le=168,
        description="How long the old secret keeps signing beside the new one (0: stop it now).",
    )


# --- Answers ---


class WebhookOut(BaseModel):
    id: int
    kind: KindValue
    url: str
    workflow: str | None = Field(description="The workflow's slug; null: the organisation's.")
    event_types: list[str] = Field(description="Empty: every type.")
    active: bool
    format: Literal["standard", "legacy", "chat"] = Field(
        description="legacy: the old body and X-Rollout-* headers too, until `legacy_until`."
    )
    legacy_until: datetime | None
    previous_secret_valid_until: datetime | None = Field(
        description="While a rotated secret still signs beside the current one."
    )
    disabled_at: datetime | None = Field(description="When Rollout turned it off itself.")
    disabled_reason: str
    created_at: datetime
    created_by: PersonOut | None


class WebhookSecretOut(WebhookOut):
    secret: str | None = Field(
        description="The signing secret (whsec_…), shown in this answer only; null for chat."
    )


def _out(webhook: Webhook) -> WebhookOut:
    rotating = webhook.is_rotating
    legacy = webhook.is_legacy
    return WebhookOut(
        id=webhook.pk,
        kind=webhook.kind,
        url=webhook.url,
        workflow=webhook.workflow.slug if webhook.workflow else None,
        event_types=list(webhook.event_types),
        active=webhook.active,
        format="chat" if not webhook.signed else "legacy" if legacy else "standard",
        legacy_until=webhook.legacy_until if legacy else None,
        previous_secret_valid_until=webhook.previous_secret_expires_at if rotating else None,
        disabled_at=webhook.disabled_at,
        disabled_reason=webhook.disabled_reason,
        created_at=webhook.created_at,
        created_by=person_out(webhook.created_by) if webhook.created_by else None,
    )


def _secret_out(webhook: Webhook) -> WebhookSecretOut:
    return WebhookSecretOut(
        **_out(webhook).model_dump(), secret=webhook.secret_shown if webhook.signed else None
    )


# --- Who may: the pages' rules ---


def _workflow_reader(request: ManageHttpRequest, slug: str) -> Workflow:
    """A workflow's endpoints are read by those who manage them (their addresses hold keys)."""
    workflow = workflow_visible(request, slug)
    if not can_manage_webhooks(request.user, workflow):
        raise HttpError(403, MSG_NOT_CHANGER)
    return workflow


def _organisation(request: ManageHttpRequest, *, write: bool) -> None:
    if write:
        require_write(request)
    if not can_manage_webhooks(request.user, None):
        raise HttpError(403, services.MSG_NOT_ALLOWED_ORG)


def _get(workflow: Workflow | None, webhook_id: int) -> Webhook:
    if not 0 < webhook_id < 2**63:  # beyond any database id (and any integer column)
        raise HttpError(404, MSG_NOT_FOUND if workflow else MSG_NOT_FOUND_ORG)
    try:
        return webhook_get_for_workflow(workflow, webhook_id)
    except Webhook.DoesNotExist:
        raise HttpError(404, MSG_NOT_FOUND if workflow else MSG_NOT_FOUND_ORG) from None


def _create(request: ManageHttpRequest, workflow: Workflow | None, payload: WebhookIn):
    def create() -> tuple[int, WebhookSecretOut]:
        webhook = services.webhook_create(
            workflow=workflow,
            actor=request.user,
            url=payload.url,
            kind=payload.kind,
            event_types=list(payload.event_types),
        )
        return 201, _secret_out(webhook)

    return idempotent(request, create)


@transaction.atomic  # all the changes asked for, or (one refused) none
def _update(request: ManageHttpRequest, webhook: Webhook, payload: WebhookPatch) -> WebhookOut:
    if payload.format is not None:
        services.webhook_switch_to_standard(webhook=webhook, actor=request.user)
    if payload.event_types is not None:
        services.webhook_event_types_set(
            webhook=webhook, actor=request.user, event_types=list(payload.event_types)
        )
    if payload.active is not None:
        services.webhook_set_active(webhook=webhook, actor=request.user, active=payload.active)
    return _out(webhook)


def _rotate(request: ManageHttpRequest, webhook: Webhook, payload: RotateIn) -> WebhookSecretOut:
    services.webhook_secret_rotate(
        webhook=webhook, actor=request.user, grace=timedelta(hours=payload.grace_hours)
    )
    return _secret_out(webhook)


# --- A workflow's ---

WF = "/workflows/{slug}/webhooks"
_ONE = {200: WebhookOut, 403: ErrorOut, 404: ErrorOut}


@router.get(
    WF,
    response={200: list[WebhookOut], 403: ErrorOut, 404: ErrorOut},
    summary="List a workflow's webhooks and chat channels",
    operation_id="manage_webhooks_list",
)
def webhooks_list(request: ManageHttpRequest, slug: Slug) -> list[WebhookOut]:
    """Its owner and ops leaders, as on its Webhooks & chat page. Secrets are never listed."""
    workflow = _workflow_reader(request, slug)
    return [_out(webhook) for webhook in webhook_list_for_workflow(workflow)]


@router.post(
    WF,
    response={201: WebhookSecretOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
    summary="Add a webhook or chat channel to a workflow",
    operation_id="manage_webhooks_create",
)
def webhooks_create(
    request: ManageHttpRequest,
    slug: Slug,
    payload: WebhookIn,
    idempotency_key: str | None = IDEMPOTENCY_KEY,
) -> HttpResponse:
    """The answer carries a webhook's signing secret, this once. Standard format only.

    Rules beyond the schema, answered with 400: the address suits its kind (Slack's and Teams'
    own hosts, https), is not already used by this workflow, and the workflow has fewer than
    10."""
    workflow = workflow_changeable(request, slug)
    return _create(request, workflow, payload)


@router.patch(
    WF + "/{webhook_id}",
    response=_ONE,
    summary="Change a workflow's webhook: events, on/off, format",
    operation_id="manage_webhooks_update",
)
def webhooks_update(
    request: ManageHttpRequest, slug: Slug, webhook_id: int, payload: WebhookPatch
) -> WebhookOut:
    """Rules beyond the schema, answered with 400: `format` only for a webhook still in the old
    format."""
    webhook = _get(workflow_changeable(request, slug), webhook_id)
    return _update(request, webhook, payload)


@router.post(
    WF + "/{webhook_id}/rotate",
    response={200: WebhookSecretOut, 403: ErrorOut, 404: ErrorOut},
    summary="Rotate a workflow's webhook secret",
    operation_id="manage_webhooks_rotate",
)
def webhooks_rotate(
    request: ManageHttpRequest, slug: Slug, webhook_id: int, payload: RotateIn
) -> WebhookSecretOut:
    """A new secret, in this answer only; the old one signs beside it for `grace_hours`.

    Rules beyond the schema, answered with 400: a chat channel has no secret."""
    webhook = _get(workflow_changeable(request, slug), webhook_id)
    return _rotate(request, webhook, payload)


@router.delete(
    WF + "/{webhook_id}",
    response={204: None, 403: ErrorOut, 404: ErrorOut},
    summary="Delete a workflow's webhook or chat channel",
    operation_id="manage_webhooks_delete",
)
def webhooks_delete(request: ManageHttpRequest, slug: Slug, webhook_id: int) -> Status[None]:
    webhook = _get(workflow_changeable(request, slug), webhook_id)
    services.webhook_delete(webhook=webhook, actor=request.user)
    return Status(204, None)


# --- The organisation's ---

ORG = "/webhooks"


@router.get(
    ORG,
    response={200: list[WebhookOut], 403: ErrorOut},
    summary="List the organisation's webhooks and chat channels (ops leaders)",
    operation_id="manage_org_webhooks_list",
)
def org_webhooks_list(request: ManageHttpRequest) -> list[WebhookOut]:
    """They receive every workflow's events."""
    _organisation(request, write=False)
    return [_out(webhook) for webhook in webhook_list_for_workflow(None)]


@router.post(
    ORG,
    response={201: WebhookSecretOut, 403: ErrorOut, 409: ErrorOut, 422: ErrorOut},
    summary="Add an organisation-wide webhook or chat channel (ops leaders)",
    operation_id="manage_org_webhooks_create",
)
def org_webhooks_create(
    request: ManageHttpRequest, payload: WebhookIn, idempotency_key: str | None = IDEMPOTENCY_KEY
) -> HttpResponse:
    """As for a workflow's; it receives every workflow's events.

    Rules beyond the schema, answered with 400: the address suits its kind, is not already used
    by the organisation, and it has fewer than 10."""
    _organisation(request, write=True)
    return _create(request, None, payload)


@router.patch(
    ORG + "/{webhook_id}",
    response={200: WebhookOut, 403: ErrorOut, 404: ErrorOut},
    summary="Change an organisation-wide webhook (ops leaders)",
    operation_id="manage_org_webhooks_update",
)
def org_webhooks_update(
    request: ManageHttpRequest, webhook_id: int, payload: WebhookPatch
) -> WebhookOut:
    """Rules beyond the schema, answered with 400: `format` only for a webhook still in the old
    format."""
    _organisation(request, write=True)
    return _update(request, _get(None, webhook_id), payload)


@router.post(
    ORG + "/{webhook_id}/rotate",
    response={200: WebhookSecretOut, 403: ErrorOut, 404: ErrorOut},
    summary="Rotate an organisation-wide webhook's secret (ops leaders)",
    operation_id="manage_org_webhooks_rotate",
)
def org_webhooks_rotate(
    request: ManageHttpRequest, webhook_id: int, payload: RotateIn
) -> WebhookSecretOut:
    """A new secret, in this answer only; the old one signs beside it for `grace_hours`.

    Rules beyond the schema, answered with 400: a chat channel has no secret."""
    _organisation(request, write=True)
    return _rotate(request, _get(None, webhook_id), payload)


@router.delete(
    ORG + "/{webhook_id}",
    response={204: None, 403: ErrorOut, 404: ErrorOut},
    summary="Delete an organisation-wide webhook or chat channel (ops leaders)",
    operation_id="manage_org_webhooks_delete",
)
def org_webhooks_delete(request: ManageHttpRequest, webhook_id: int) -> Status[None]:
    _organisation(request, write=True)
    services.webhook_delete(webhook=_get(None, webhook_id), actor=request.user)
    return Status(204, None)
