from datetime import timedelta

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts.forms import EmailPreferencesForm, PersonalTokenForm, ProfileForm, TimeZoneForm
from accounts.models import OPTIONAL_EMAIL
from accounts.roles import role_names
from accounts.selectors import organisation_time_zone_name
from accounts.services import user_email_preferences_update, user_profile_update, user_time_zone_set
from core.errors import ApplicationError
from core.htmx import HtmxHttpRequest
from rollout.models import PersonalToken, PersonalTokenStatus
from rollout.selectors.personal_tokens import personal_token_get, personal_token_list_for_user
from rollout.selectors.workflows import workflow_list_owned
from rollout.services.personal_tokens import (
    DEFAULT_LIFETIME_DAYS,
    personal_token_create,
    personal_token_expiry_bounds,
    personal_token_revoke,
)

MSG_PROFILE_SAVED = "Your profile has been saved."
MSG_TIME_ZONE_SAVED = "Your time zone has been saved: times are now shown in {zone}."

# The named POST action of the time-zone section; a POST without it is the profile's settings.
ACTION_TIME_ZONE = "time_zone"

MSG_EMAIL_SAVED = "Your email preferences have been saved."
ACTION_EMAIL = "email"  # the email preferences' form; without an action, the settings' form

# Personal access tokens (issue 20 §4): created here and shown once, on the response itself.
ACTION_TOKEN_CREATE = "token_create"
ACTION_TOKEN_REVOKE = "token_revoke"
MSG_TOKEN_CREATED = (
    "Created the personal access token “{name}”. Copy it now: it will not be shown again."
)
MSG_TOKEN_REVOKED = "Revoked the personal access token “{name}”. Calls using it are refused now."
MSG_NO_SUCH_TOKEN = "That token is not one of yours. Nothing was changed."
TOKENS_ANCHOR = "#personal-tokens"


def _token_form(data: object = None) -> PersonalTokenForm:
    first, last = personal_token_expiry_bounds()
    initial = {"expires_on": timezone.localdate() + timedelta(days=DEFAULT_LIFETIME_DAYS)}
    return PersonalTokenForm(data, first=first, last=last, initial=initial, prefix="token")


def _revoke_token(request: HtmxHttpRequest) -> HttpResponse:
    try:
        token = personal_token_get(int(request.POST.get("token", "")), user=request.user)
    except (ValueError, OverflowError, PersonalToken.DoesNotExist):
        messages.error(request, MSG_NO_SUCH_TOKEN)
    else:
        try:
            personal_token_revoke(token=token, actor=request.user)
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, MSG_TOKEN_REVOKED.format(name=token.name))
    return redirect(reverse("profile") + TOKENS_ANCHOR)


# never_cache: the response to a token's creation carries the token itself, which no cache may keep.
@never_cache
@require_http_methods(["GET", "POST"])
def profile(request: HtmxHttpRequest) -> HttpResponse:
    """The signed-in user's own account: who they are, what they own, how they are notified.
    Forms each saved on its own: the settings, the time zone (action=time_zone), the email
    preferences (action=email), and personal access tokens (action=token_create, shown once on
    this response; action=token_revoke)."""
    user = request.user
    token_form = _token_form()
    new_token: PersonalToken | None = None
    plaintext: str | None = None
    organisation_zone = organisation_time_zone_name(user)
    zone_form = TimeZoneForm(
        initial={"time_zone": user.time_zone}, organisation_zone=organisation_zone, prefix="tz"
    )
    form = ProfileForm(initial={"display_name": user.display_name})
    email_form = EmailPreferencesForm(
        initial={category.value: user.wants_email(category) for category in OPTIONAL_EMAIL}
    )
    action = request.POST.get("action") if request.method == "POST" else None
    if action == ACTION_TOKEN_REVOKE:
        return _revoke_token(request)
    if action == ACTION_TOKEN_CREATE:
        token_form = _token_form(request.POST)
        if token_form.is_valid():
            try:
                new_token, plaintext = personal_token_create(
                    user=user, actor=user, **token_form.cleaned_data
                )
            except ApplicationError as exc:
                token_form.add_error(exc.field, exc.message)
            else:
                messages.success(request, MSG_TOKEN_CREATED.format(name=new_token.name))
                token_form = _token_form()
    elif action == ACTION_TIME_ZONE:
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
            "token_form": token_form,
            "tokens": personal_token_list_for_user(user),
            "new_token": new_token,
            "plaintext": plaintext,
            "PersonalTokenStatus": PersonalTokenStatus,
        },
    )
