"""Webhooks & chat: a workflow's (its owner and ops leaders) and the organisation's (ops
leaders; every workflow's events). Endpoints added (a webhook's secret shown once), their event
types chosen, a webhook's secret rotated (the new one shown once) or switched to the standard
format, turned off and on, deleted; and the delivery log with every attempt. Everyone else gets
a 404."""

from datetime import timedelta

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from core.errors import ApplicationError
from core.htmx import HtmxHttpRequest
from rollout.forms.fields import add_application_error
from rollout.forms.webhooks import EventTypesForm, RotateForm, WebhookForm
from rollout.lib.webhook_events import EVENT_TYPES
from rollout.models import Webhook, WebhookKind, Workflow
from rollout.permissions import access_workflow, can_manage_webhooks
from rollout.selectors.webhooks import (
    webhook_delivery_log,
    webhook_get_for_workflow,
    webhook_list_for_workflow,
)
from rollout.services import webhook_outbox as outbox
from rollout.services import webhooks as services
from rollout.views._workflow import workflow_page_context

MSG_CREATED = "Added the webhook. Copy its signing secret now: it will not be shown again."
MSG_CREATED_CHAT = "Added the {kind} channel. Events are posted to it from now on."
MSG_ROTATED = "Made a new signing secret. Copy it now: it will not be shown again."
MSG_EVENTS = "Saved the events to send."
MSG_SWITCHED = "Switched to the standard format: the old body and X-Rollout headers stop now."
MSG_TURNED_OFF = "Turned it off. Nothing more is sent to it until you turn it on."
MSG_TURNED_ON = "Turned it on. Events from now on are sent to it."
MSG_DELETED = "Deleted it and its delivery log."
ROW_ACTIONS = ("turn_off", "turn_on", "delete", "event_types", "switch")


# never_cache: the response to a creation or rotation carries a secret, which no cache may keep.
@never_cache
@require_http_methods(["GET", "POST"])
def workflow_webhooks(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """A workflow's webhooks and chat channels (owner, ops leaders)."""
    workflow = access_workflow(request.user, slug, for_change=True)
    context = workflow_page_context(request.user, workflow, tab="webhooks")
    return _page(request, workflow, context, "rollout/workflow_webhooks.html")


@never_cache
@require_http_methods(["GET", "POST"])
def org_webhooks(request: HtmxHttpRequest) -> HttpResponse:
    """The organisation's webhooks and chat channels: every workflow's events (ops leaders)."""
    if not can_manage_webhooks(request.user, None):
        raise Http404("No such page.")
    return _page(request, None, {}, "rollout/org_webhooks.html")


def _page(
    request: HtmxHttpRequest, workflow: Workflow | None, context: dict, template: str
) -> HttpResponse:
    """The page, with named POST actions: `create` and `rotate` show the secret on this
    response, once (a redirect would need it shown again later); the row actions redirect
    back here."""
    form = WebhookForm()
    shown: Webhook | None = None  # an endpoint whose secret this response shows
    if request.method == "POST":
        action = request.POST.get("action", "create")
        if action in ROW_ACTIONS:
            return _row_action(request, workflow, action)
        if action == "rotate":
            shown = _rotate(request, workflow)
        elif action == "create":
            form, shown = _create(request, workflow)
        else:
            raise Http404("No such action.")
    context.update(
        workflow=workflow,
        page_url=_url(workflow),
        webhooks=list(webhook_list_for_workflow(workflow)),
        deliveries=webhook_delivery_log(workflow),
        form=form,
        rotate_form=RotateForm(),
        event_types=EVENT_TYPES,
        new_webhook=shown,
        max_attempts=services.MAX_ATTEMPTS,
        timeout=outbox.TIMEOUT_SECONDS,
        WebhookKind=WebhookKind,
    )
    return render(request, template, context)


def _create(
    request: HtmxHttpRequest, workflow: Workflow | None
) -> tuple[WebhookForm, Webhook | None]:
    form = WebhookForm(request.POST)
    if not form.is_valid():
        return form, None
    try:
        webhook = services.webhook_create(
            workflow=workflow, actor=request.user, **form.cleaned_data
        )
    except ApplicationError as exc:
        add_application_error(form, exc)
        return form, None
    if webhook.signed:
        messages.success(request, MSG_CREATED)
        return WebhookForm(), webhook
    messages.success(request, MSG_CREATED_CHAT.format(kind=webhook.get_kind_display()))
    return WebhookForm(), None


def _rotate(request: HtmxHttpRequest, workflow: Workflow | None) -> Webhook | None:
    webhook = _webhook(request, workflow)
    form = RotateForm(request.POST)
    if not form.is_valid():
        messages.error(request, services.MSG_BAD_GRACE)
        return None
    try:
        services.webhook_secret_rotate(
            webhook=webhook,
            actor=request.user,
            grace=timedelta(hours=form.cleaned_data["grace_hours"]),
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return None
    messages.success(request, MSG_ROTATED)
    return webhook


def _webhook(request: HtmxHttpRequest, workflow: Workflow | None) -> Webhook:
    webhook_id = request.POST.get("webhook", "")
    if not webhook_id.isdigit():
        raise Http404("No such webhook.")
    try:
        return webhook_get_for_workflow(workflow, int(webhook_id))
    except Webhook.DoesNotExist:
        raise Http404("No such webhook.") from None


def _row_action(request: HtmxHttpRequest, workflow: Workflow | None, action: str) -> HttpResponse:
    webhook = _webhook(request, workflow)
    try:
        if action == "delete":
            services.webhook_delete(webhook=webhook, actor=request.user)
            messages.success(request, MSG_DELETED)
        elif action == "switch":
            services.webhook_switch_to_standard(webhook=webhook, actor=request.user)
            messages.success(request, MSG_SWITCHED)
        elif action == "event_types":
            form = EventTypesForm(request.POST)
            if not form.is_valid():
                raise ApplicationError(services.MSG_BAD_EVENT_TYPE)
            services.webhook_event_types_set(
                webhook=webhook, actor=request.user, event_types=form.cleaned_data["event_types"]
            )
            messages.success(request, MSG_EVENTS)
        else:
            active = action == "turn_on"
            services.webhook_set_active(webhook=webhook, actor=request.user, active=active)
            messages.success(request, MSG_TURNED_ON if active else MSG_TURNED_OFF)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect(_url(workflow))


def _url(workflow: Workflow | None) -> str:
    if workflow is None:
        return reverse("org_webhooks")
    return reverse("workflow_webhooks", kwargs={"slug": workflow.slug})
