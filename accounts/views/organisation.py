"""The organisation's settings, for ops leaders: its name, default time zone, currency and the
notice lead time new workflows start with, with the log of every change.

Signed-in people who are not ops leaders get 403; anonymous visitors the sign-in page."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.forms import OrganisationForm
from accounts.roles import is_ops_leader
from accounts.selectors import organisation_change_list, organisation_get
from accounts.services import ORGANISATION_FIELDS, organisation_update
from core.errors import ApplicationError
from core.htmx import HtmxHttpRequest

MSG_SAVED = "The organisation's settings have been saved."
MSG_UNCHANGED = "Nothing changed: the settings were already so."
MSG_OPS_ONLY = "Only ops leaders change the organisation's settings."


@require_http_methods(["GET", "POST"])
def organisation_settings(request: HtmxHttpRequest) -> HttpResponse:
    if not is_ops_leader(request.user):
        raise PermissionDenied(MSG_OPS_ONLY)
    organisation = organisation_get()
    if request.method == "POST":
        form = OrganisationForm(request.POST)
        if form.is_valid():
            try:
                saved = organisation_update(actor=request.user, **form.cleaned_data)
            except ApplicationError as exc:
                form.add_error(exc.field, exc.message)
            else:
                changed = any(
                    getattr(saved, field) != getattr(organisation, field)
                    for field in ORGANISATION_FIELDS
                )
                messages.success(request, MSG_SAVED if changed else MSG_UNCHANGED)
                return redirect("organisation_settings")
    else:
        form = OrganisationForm(
            initial={field: getattr(organisation, field) for field in ORGANISATION_FIELDS}
        )
    return render(
        request,
        "accounts/organisation_settings.html",
        {"form": form, "organisation": organisation, "changes": organisation_change_list()},
    )
