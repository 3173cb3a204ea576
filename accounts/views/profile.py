from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.forms import EmailPreferencesForm, ProfileForm, TimeZoneForm
from accounts.models import OPTIONAL_EMAIL
from accounts.roles import role_names
from accounts.selectors import organisation_time_zone_name
from accounts.services import user_email_preferences_update, user_profile_update, user_time_zone_set
from core.errors import ApplicationError
from core.htmx import HtmxHttpRequest
from rollout.selectors.workflows import workflow_list_owned

MSG_PROFILE_SAVED = "Your profile has been saved."
MSG_TIME_ZONE_SAVED = "Your time zone has been saved: times are now shown in {zone}."

# The named POST action of the time-zone section; a POST without it is the profile's settings.
ACTION_TIME_ZONE = "time_zone"

MSG_EMAIL_SAVED = "Your email preferences have been saved."
ACTION_EMAIL = "email"  # the email preferences' form; without an action, the settings' form


@require_http_methods(["GET", "POST"])
def profile(request: HtmxHttpRequest) -> HttpResponse:
    """The signed-in user's own account: who they are, what they own, how they are notified.
    Three forms, each saved on its own: the settings, the time zone (action=time_zone) and the
    email preferences (action=email)."""
    user = request.user
    organisation_zone = organisation_time_zone_name(user)
    zone_form = TimeZoneForm(
        initial={"time_zone": user.time_zone}, organisation_zone=organisation_zone, prefix="tz"
    )
    form = ProfileForm(initial={"display_name": user.display_name})
    email_form = EmailPreferencesForm(
        initial={category.value: user.wants_email(category) for category in OPTIONAL_EMAIL}
    )
    action = request.POST.get("action") if request.method == "POST" else None
    if action == ACTION_TIME_ZONE:
        zone_form = TimeZoneForm(request.POST, organisation_zone=organisation_zone, prefix="tz")
        if zone_form.is_valid():
            try:
                user_time_zone_set(user=user, **zone_form.cleaned_data)
            except ApplicationError as exc:
                zone_form.add_error("time_zone", exc.message)
            else:
                chosen = zone_form.cleaned_data["time_zone"] or organisation_zone
                messages.success(request, MSG_TIME_ZONE_SAVED.format(zone=chosen))
                return redirect("profile")
    elif action == ACTION_EMAIL:
        email_form = EmailPreferencesForm(request.POST)
        if email_form.is_valid():
            try:
                user_email_preferences_update(user=user, wanted=email_form.wanted())
            except ApplicationError as exc:
                email_form.add_error(exc.field, exc.message)
            else:
                messages.success(request, MSG_EMAIL_SAVED)
                return redirect("profile")
    elif request.method == "POST":
        form = ProfileForm(request.POST)
        if form.is_valid():
            try:
                user_profile_update(user=user, **form.cleaned_data)
            except ApplicationError as exc:
                form.add_error(exc.field, exc.message)
            else:
                messages.success(request, MSG_PROFILE_SAVED)
                return redirect("profile")
    return render(
        request,
        "accounts/profile.html",
        {
            "form": form,
            "zone_form": zone_form,
            "time_zone_action": ACTION_TIME_ZONE,
            "email_form": email_form,
            "roles": sorted(role_names(user)),
            "owned_workflows": workflow_list_owned(user),
        },
    )
