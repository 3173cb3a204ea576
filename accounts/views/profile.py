from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.forms import EmailPreferencesForm, ProfileForm
from accounts.models import OPTIONAL_EMAIL
from accounts.roles import role_names
from accounts.services import user_email_preferences_update, user_profile_update
from core.errors import ApplicationError
from core.htmx import HtmxHttpRequest
from rollout.selectors.workflows import workflow_list_owned

MSG_PROFILE_SAVED = "Your profile has been saved."
MSG_EMAIL_SAVED = "Your email preferences have been saved."
ACTION_EMAIL = "email"  # the email preferences' form; without an action, the settings' form


@require_http_methods(["GET", "POST"])
def profile(request: HtmxHttpRequest) -> HttpResponse:
    """The signed-in user's own account: who they are, what they own, how they are notified.
    Two forms, each saved on its own: the settings, and the email preferences (action=email)."""
    user = request.user
    form = ProfileForm(initial={"display_name": user.display_name})
    email_form = EmailPreferencesForm(
        initial={category.value: user.wants_email(category) for category in OPTIONAL_EMAIL}
    )
    if request.method == "POST" and request.POST.get("action") == ACTION_EMAIL:
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
            "email_form": email_form,
            "roles": sorted(role_names(user)),
            "owned_workflows": workflow_list_owned(user),
        },
    )
