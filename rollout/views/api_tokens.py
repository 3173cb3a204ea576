"""A workflow's API tokens: listed, created and rotated (the new token shown once), revoked, and
how an AI tool connects with them — by owner or ops."""

from dataclasses import dataclass

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from core.errors import ApplicationError
from core.htmx import HtmxHttpRequest
from rollout.forms.api_tokens import ApiTokenForm, ApiTokenRotateForm
from rollout.forms.fields import add_application_error
from rollout.models import ApiToken, ApiTokenStatus, RotationGrace, Workflow
from rollout.permissions import access_workflow
from rollout.selectors.api_tokens import api_token_get_for_workflow, api_token_list_for_workflow
from rollout.selectors.otlp import otlp_counts_prefetch
from rollout.services import api_tokens as services
from rollout.views._workflow import workflow_page_context

MSG_CREATED = "Created the API token “{name}”. Copy it now: it will not be shown again."
MSG_ROTATED = "Rotated the API token “{name}”. Copy the new token now: it will not be shown again."
MSG_REVOKED = "Revoked the API token “{name}”. Calls using it are refused from now on."
MSG_STOPPED = (
    "Stopped the replaced token “{token}” before its grace period ended. "
    "Calls using it are refused from now on."
)
MSG_UNKNOWN_ACTION = "That is not something this page can do. Nothing was changed."

ACTION_CREATE = "create"
ACTION_ROTATE = "rotate"


@dataclass(frozen=True)
class Connect:
    """The addresses an AI tool is configured with, built from this site's own address."""

    site: str  # e.g. https://rollout.example.com, no trailing slash
    slug: str

    @property
    def ofrep_single(self) -> str:
        return f"{self.site}/ofrep/v1/evaluate/flags/{self.slug}"

    @property
    def otlp_endpoint(self) -> str:
        return f"{self.site}/otlp"

    @property
    def native_decision(self) -> str:
        return f"{self.site}/api/v1/decision?workflow={self.slug}&user=<user>"


def _not_found() -> Http404:
    return Http404("No such API token.")


def _token(workflow: Workflow, token_id: int) -> ApiToken:
    try:
        return api_token_get_for_workflow(workflow, token_id)
    except ApiToken.DoesNotExist:
        raise _not_found() from None


def _page(
    request: HtmxHttpRequest,
    workflow: Workflow,
    form: ApiTokenForm,
    new_token: ApiToken | None = None,
    plaintext: str | None = None,
) -> HttpResponse:
    context = workflow_page_context(request.user, workflow, tab="tokens")
    context.update(
        tokens=otlp_counts_prefetch(api_token_list_for_workflow(workflow)),
        form=form,
        new_token=new_token,
        plaintext=plaintext,
        ApiTokenStatus=ApiTokenStatus,
        grace_choices=RotationGrace.choices,
        grace_default=RotationGrace.DAY,
        connect=Connect(site=request.build_absolute_uri("/").rstrip("/"), slug=workflow.slug),
    )
    return render(request, "rollout/workflow_tokens.html", context)


# never_cache: the response to a creation or rotation carries the token itself, which no cache
# may keep.
@never_cache
@require_http_methods(["GET", "POST"])
def workflow_tokens(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """The tokens of one workflow. POST creates one (action "create", the default) or rotates one
    (action "rotate") and shows the new token on this response, once: a redirect would need the
    plaintext stored somewhere to show it after. A rotation that cannot be done goes back to the
    page with a message and changes nothing."""
    workflow = access_workflow(request.user, slug, for_change=True)
    action = request.POST.get("action", ACTION_CREATE) if request.method == "POST" else None
    if action == ACTION_ROTATE:
        return _rotate(request, workflow)
    if action not in (None, ACTION_CREATE):
        messages.error(request, MSG_UNKNOWN_ACTION)
        return redirect("workflow_tokens", slug=workflow.slug)
    form = ApiTokenForm(request.POST if action else None)
    if form.is_bound and form.is_valid():
        try:
            new_token, plaintext = services.api_token_create(
                workflow=workflow, actor=request.user, name=form.cleaned_data["name"]
            )
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, MSG_CREATED.format(name=new_token.name))
            return _page(request, workflow, ApiTokenForm(), new_token, plaintext)
    return _page(request, workflow, form)


def _rotate(request: HtmxHttpRequest, workflow: Workflow) -> HttpResponse:
    form = ApiTokenRotateForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, errors[0])
        return redirect("workflow_tokens", slug=workflow.slug)
    token = _token(workflow, form.cleaned_data["token"])
    try:
        new_token, plaintext = services.api_token_rotate(
            token=token, actor=request.user, grace=form.grace_period()
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("workflow_tokens", slug=workflow.slug)
    messages.success(request, MSG_ROTATED.format(name=new_token.name))
    return _page(request, workflow, ApiTokenForm(), new_token, plaintext)


@require_POST
def workflow_token_revoke(request: HtmxHttpRequest, slug: str, token_id: int) -> HttpResponse:
    workflow = access_workflow(request.user, slug, for_change=True)
    token = _token(workflow, token_id)
    try:
        services.api_token_revoke(token=token, actor=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        if token.expires_at is not None:
            messages.success(request, MSG_STOPPED.format(token=token))
        else:
            messages.success(request, MSG_REVOKED.format(name=token.name))
    return redirect("workflow_tokens", slug=workflow.slug)
