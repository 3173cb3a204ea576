"""People management for ops leaders: the list, invitations, org roles, deactivation.

Every view answers 403 to signed-in users who are not ops leaders and sends anonymous visitors to
the sign-in page. Plain form posts redirect back to the list with a flash message; htmx posts from
the list re-render just the person's row, with the outcome shown inside it.
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect

from accounts.forms import InviteForm, RolesForm
from accounts.models import User
from accounts.roles import OPS_LEADERS, ORG_ROLES
from accounts.selectors import user_list_people
from accounts.services import (
    MSG_ALREADY_ERASED,
    MSG_ALREADY_INACTIVE,
    MSG_DEACTIVATE_SELF,
    MSG_ERASE_SELF,
    user_deactivate,
    user_erase,
    user_invite,
    user_reactivate,
    user_roles_set,
)
from core.errors import ApplicationError
from core.htmx import HtmxHttpRequest
from core.pagination import paginate
from rollout.permissions import can_manage_people
from rollout.selectors.workflows import workflow_list_owned

PEOPLE_PER_PAGE = 25

MSG_INVITED = "Invitation sent to {email}."
MSG_ROLES_SAVED = "Roles saved for {user}."
MSG_OWN_OPS_ROLE_REMOVED = "You are no longer an ops leader, so you cannot manage people any more."
MSG_DEACTIVATED = "{user} has been deactivated and can no longer sign in."
MSG_DEACTIVATED_OWNERLESS = (
    "{user} has been deactivated and can no longer sign in. Now without an owner: {workflows}. "
    "Name a new owner for each."
)
MSG_REACTIVATED = "{user} has been reactivated and can sign in again."
MSG_ERASED = (
    "The person is erased. Their usage now counts under {label}; their feedback text and "
    "comments are deleted and their account is emptied."
)
MSG_ERASE_CONFIRM = "Tick the box to confirm: erasing cannot be undone."


def _require_people_manager(user: User) -> None:
    if not can_manage_people(user):
        raise PermissionDenied("Only ops leaders manage people.")


def _list_url(request: HtmxHttpRequest) -> str:
    """Where a plain form post returns to: the list page it came from (search and page kept)."""
    candidate = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("people_list")


def _render_row(
    request: HtmxHttpRequest, user_id: int, *, message: str, is_error: bool
) -> HttpResponse:
    person = user_list_people().get(pk=user_id)
    return render(
        request,
        "accounts/people_list.html#person-row",
        {
            "person": person,
            "org_roles": ORG_ROLES,
            "next_url": _list_url(request),
            "row_message": message,
            "row_message_is_error": is_error,
        },
    )


@require_GET
@vary_on_headers("HX-Request", "HX-Target")  # the same URL answers a page or a partial
def people_list(request: HtmxHttpRequest) -> HttpResponse:
    """Everyone with an account, searchable by name or email, 25 to a page."""
    _require_people_manager(request.user)
    query = request.GET.get("q", "").strip()
    page = paginate(user_list_people(query=query), request.GET, per_page=PEOPLE_PER_PAGE)
    template = "accounts/people_list.html"
    if request.htmx and request.htmx.target == "people-results":
        template += "#people-results"
    return render(
        request,
        template,
        {
            "query": query,
            **page,
            "page_query": urlencode({"q": query}) + "&" if query else "",
            "org_roles": ORG_ROLES,
            "next_url": request.get_full_path(),
        },
    )


@require_http_methods(["GET", "POST"])
def people_invite(request: HtmxHttpRequest) -> HttpResponse:
    """Create an account and email its owner a link to choose a password."""
    _require_people_manager(request.user)
    form = InviteForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            invited = user_invite(
                actor=request.user,
                base_url=request.build_absolute_uri("/"),
                **form.cleaned_data,
            )
        except ApplicationError as exc:
            form.add_error(exc.field, exc.message)
        else:
            messages.success(request, MSG_INVITED.format(email=invited.email))
            return redirect("people_list")
    return render(request, "accounts/people_invite.html", {"form": form})


@require_POST
def people_roles(request: HtmxHttpRequest, user_id: int) -> HttpResponse:
    """Set exactly the org roles ticked in the person's row."""
    _require_people_manager(request.user)
    person = get_object_or_404(User, pk=user_id)
    form = RolesForm(request.POST)
    error = ""
    if form.is_valid():
        roles = form.cleaned_data["roles"]
        try:
            user_roles_set(actor=request.user, user=person, roles=roles)
        except ApplicationError as exc:
            error = exc.message
        else:
            if person.pk == request.user.pk and OPS_LEADERS not in roles:
                # The list is no longer theirs to see; send them somewhere they may go.
                messages.warning(request, MSG_OWN_OPS_ROLE_REMOVED)
                if request.htmx:
                    return HttpResponseClientRedirect(reverse("profile"))
                return redirect("profile")
    else:
        error = " ".join(form.errors["roles"])
    message = error or MSG_ROLES_SAVED.format(user=person)
    if request.htmx:
        return _render_row(request, person.pk, message=message, is_error=bool(error))
    if error:
        messages.error(request, error)
    else:
        messages.success(request, message)
    return redirect(_list_url(request))


@require_http_methods(["GET", "POST"])
def people_deactivate(request: HtmxHttpRequest, user_id: int) -> HttpResponse:
    """GET: what deactivating this person means (their workflows go ownerless). POST: do it."""
    _require_people_manager(request.user)
    person = get_object_or_404(User, pk=user_id)
    owned = list(workflow_list_owned(person))
    if request.method == "POST":
        try:
            user_deactivate(actor=request.user, user=person)
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            if owned:
                names = ", ".join(workflow.name for workflow in owned)
                messages.warning(
                    request, MSG_DEACTIVATED_OWNERLESS.format(user=person, workflows=names)
                )
            else:
                messages.success(request, MSG_DEACTIVATED.format(user=person))
        return redirect("people_list")
    # Shown up front so nobody is offered a button that can only fail; the service still decides.
    blocker = ""
    if person.pk == request.user.pk:
        blocker = MSG_DEACTIVATE_SELF
    elif not person.is_active:
        blocker = MSG_ALREADY_INACTIVE.format(user=person)
    return render(
        request,
        "accounts/people_deactivate.html",
        {"person": person, "owned_workflows": owned, "blocker": blocker},
    )


@require_http_methods(["GET", "POST"])
def people_erase(request: HtmxHttpRequest, user_id: int) -> HttpResponse:
    """GET: what erasing this person means. POST (with the confirmation ticked): do it."""
    _require_people_manager(request.user)
    person = get_object_or_404(User, pk=user_id)
    owned = list(workflow_list_owned(person))
    error = ""
    if request.method == "POST":
        if request.POST.get("confirm") != "yes":
            error = MSG_ERASE_CONFIRM
        else:
            try:
                label = user_erase(actor=request.user, user=person)
            except ApplicationError as exc:
                error = exc.message
            else:
                messages.success(request, MSG_ERASED.format(label=label))
                return redirect("people_list")
    blocker = ""
    if person.pk == request.user.pk:
        blocker = MSG_ERASE_SELF
    elif person.is_erased:
        blocker = MSG_ALREADY_ERASED
    return render(
        request,
        "accounts/people_erase.html",
        {"person": person, "owned_workflows": owned, "blocker": blocker, "error": error},
    )


@require_POST
def people_reactivate(request: HtmxHttpRequest, user_id: int) -> HttpResponse:
    """Let a deactivated person sign in again."""
    _require_people_manager(request.user)
    person = get_object_or_404(User, pk=user_id)
    error = ""
    try:
        user_reactivate(actor=request.user, user=person)
    except ApplicationError as exc:
        error = exc.message
    message = error or MSG_REACTIVATED.format(user=person)
    if request.htmx:
        return _render_row(request, person.pk, message=message, is_error=bool(error))
    if error:
        messages.error(request, error)
    else:
        messages.success(request, message)
    return redirect(_list_url(request))
