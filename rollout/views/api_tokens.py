"""A workflow's API tokens: listed, created (the token shown once) and revoked by owner or ops."""

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from core.errors import ApplicationError
from core.htmx import HtmxHttpRequest
from rollout.forms.api_tokens import ApiTokenForm
from rollout.forms.fields import add_application_error
from rollout.models import ApiToken
from rollout.permissions import access_workflow
from rollout.selectors.api_tokens import api_token_get_for_workflow, api_token_list_for_workflow
from rollout.selectors.otlp import otlp_counts_prefetch
from rollout.services import api_tokens as services
from rollout.views._workflow import workflow_page_context

MSG_CREATED = "Created the API token “{name}”. Copy it now: it will not be shown again."
MSG_REVOKED = "Revoked the API token “{name}”. Calls using it are refused from now on."


# never_cache: the response to a creation carries the token itself, which no cache may keep.
@never_cache
@require_http_methods(["GET", "POST"])
def workflow_tokens(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """The tokens of one workflow. POST creates one and shows it on this response, once: a
    redirect would need the plaintext stored somewhere to show it after."""
    workflow = access_workflow(request.user, slug, for_change=True)
    form = ApiTokenForm(request.POST or None)
    new_token = plaintext = None
    if form.is_bound and form.is_valid():
        try:
            new_token, plaintext = services.api_token_create(
                workflow=workflow, actor=request.user, name=form.cleaned_data["name"]
            )
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, MSG_CREATED.format(name=new_token.name))
            form = ApiTokenForm()
    context = workflow_page_context(request.user, workflow, tab="tokens")
    context.update(
        tokens=otlp_counts_prefetch(api_token_list_for_workflow(workflow)),
        form=form,
        new_token=new_token,
        plaintext=plaintext,
    )
    return render(request, "rollout/workflow_tokens.html", context)


@require_POST
def workflow_token_revoke(request: HtmxHttpRequest, slug: str, token_id: int) -> HttpResponse:
    workflow = access_workflow(request.user, slug, for_change=True)
    try:
        token = api_token_get_for_workflow(workflow, token_id)
    except ApiToken.DoesNotExist:
        raise Http404("No such API token.") from None
    try:
        services.api_token_revoke(token=token, actor=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, MSG_REVOKED.format(name=token.name))
    return redirect("workflow_tokens", slug=workflow.slug)
