"""Everyone's personal access tokens, for ops leaders: who holds which, when each was last used,
and revoking any of them (issue 20 §4). Others get 403, as on the people pages."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from core.errors import ApplicationError
from core.htmx import HtmxHttpRequest
from core.pagination import paginate
from rollout.models import PersonalToken, PersonalTokenStatus
from rollout.permissions import can_manage_people
from rollout.selectors.personal_tokens import personal_token_get, personal_token_list_all
from rollout.services.personal_tokens import personal_token_revoke

MSG_OPS_ONLY = "Only ops leaders see everyone's tokens."
MSG_REVOKED = "Revoked “{name}” of {user}. Calls using it are refused now."
MSG_NO_SUCH_TOKEN = "There is no such token. Nothing was changed."
MSG_UNKNOWN_ACTION = "That is not something this page can do. Nothing was changed."
ACTION_REVOKE = "revoke"
TOKENS_PER_PAGE = 50


@require_http_methods(["GET", "POST"])
def people_tokens(request: HtmxHttpRequest) -> HttpResponse:
    """The list (paginated, live tokens first); POST action=revoke with `token` revokes one."""
    if not can_manage_people(request.user):
        raise PermissionDenied(MSG_OPS_ONLY)
    if request.method == "POST":
        return _revoke(request)
    context = paginate(personal_token_list_all(), request.GET, per_page=TOKENS_PER_PAGE)
    context["PersonalTokenStatus"] = PersonalTokenStatus
    return render(request, "accounts/people_tokens.html", context)


def _revoke(request: HtmxHttpRequest) -> HttpResponse:
    back = redirect("people_tokens")
    if request.POST.get("action") != ACTION_REVOKE:
        messages.error(request, MSG_UNKNOWN_ACTION)
        return back
    try:
        token = personal_token_get(int(request.POST.get("token", "")))
    except (ValueError, OverflowError, PersonalToken.DoesNotExist):
        messages.error(request, MSG_NO_SUCH_TOKEN)
        return back
    try:
        personal_token_revoke(token=token, actor=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, MSG_REVOKED.format(name=token.name, user=token.user))
    return back
