"""A workflow's outgoing webhooks: added (the secret shown once), turned off and on, deleted,
and their delivery log. Owner and ops leaders only; everyone else gets a 404."""

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from core.errors import ApplicationError
from core.htmx import HtmxHttpRequest
from rollout.forms.fields import add_application_error
from rollout.forms.webhooks import WebhookForm
from rollout.models import Webhook, Workflow
from rollout.permissions import access_workflow
from rollout.selectors.webhooks import (
    webhook_delivery_log,
    webhook_get_for_workflow,
    webhook_list_for_workflow,
)
from rollout.services import webhooks as services
from rollout.views._workflow import workflow_page_context

MSG_CREATED = "Added the webhook. Copy its signing secret now: it will not be shown again."
MSG_TURNED_OFF = "Turned the webhook off. Nothing more is sent to it until you turn it on."
MSG_TURNED_ON = "Turned the webhook on. Events from now on are sent to it."
MSG_DELETED = "Deleted the webhook and its delivery log."
ROW_ACTIONS = ("turn_off", "turn_on", "delete")


# never_cache: the response to a creation carries the secret, which no cache may keep.
@never_cache
@require_http_methods(["GET", "POST"])
def workflow_webhooks(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """The page, with named POST actions: `create` shows the new secret on this response, once
    (a redirect would need it shown again later); the row actions redirect back here."""
    workflow = access_workflow(request.user, slug, for_change=True)
    form = WebhookForm()
    new_webhook = None
    if request.method == "POST":
        action = request.POST.get("action", "create")
        if action in ROW_ACTIONS:
            return _row_action(request, workflow, action)
        if action != "create":
            raise Http404("No such action.")
        form = WebhookForm(request.POST)
        if form.is_valid():
            try:
                new_webhook = services.webhook_create(
                    workflow=workflow, actor=request.user, url=form.cleaned_data["url"]
                )
            except ApplicationError as exc:
                add_application_error(form, exc)
            else:
                messages.success(request, MSG_CREATED)
                form = WebhookForm()
    context = workflow_page_context(request.user, workflow, tab="webhooks")
    context.update(
        webhooks=list(webhook_list_for_workflow(workflow)),
        deliveries=webhook_delivery_log(workflow),
        form=form,
        new_webhook=new_webhook,
        max_attempts=services.MAX_ATTEMPTS,
    )
    return render(request, "rollout/workflow_webhooks.html", context)


def _row_action(request: HtmxHttpRequest, workflow: Workflow, action: str) -> HttpResponse:
    webhook_id = request.POST.get("webhook", "")
    if not webhook_id.isdigit():
        raise Http404("No such webhook.")
    try:
        webhook = webhook_get_for_workflow(workflow, int(webhook_id))
    except Webhook.DoesNotExist:
        raise Http404("No such webhook.") from None
    try:
        if action == "delete":
            services.webhook_delete(webhook=webhook, actor=request.user)
            messages.success(request, MSG_DELETED)
        else:
            active = action == "turn_on"
            services.webhook_set_active(webhook=webhook, actor=request.user, active=active)
            messages.success(request, MSG_TURNED_ON if active else MSG_TURNED_OFF)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("workflow_webhooks", slug=workflow.slug)
