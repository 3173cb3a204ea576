from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.forms import ProfileForm
from accounts.roles import role_names
from accounts.services import user_profile_update
from core.errors import ApplicationError
from core.htmx import HtmxHttpRequest
from rollout.selectors.workflows import workflow_list_owned

MSG_PROFILE_SAVED = "Your profile has been saved."


@require_http_methods(["GET", "POST"])
def profile(request: HtmxHttpRequest) -> HttpResponse:
    """The signed-in user's own account: who they are, what they own, how they are notified."""
    user = request.user
    if request.method == "POST":
        form = ProfileForm(request.POST)
        if form.is_valid():
            try:
                user_profile_update(user=user, **form.cleaned_data)
            except ApplicationError as exc:
                form.add_error(exc.field, exc.message)
            else:
                messages.success(request, MSG_PROFILE_SAVED)
                return redirect("profile")
    else:
        form = ProfileForm(
            initial={"display_name": user.display_name, "notify_by_email": user.notify_by_email}
        )
    return render(
        request,
        "accounts/profile.html",
        {
            "form": form,
            "roles": sorted(role_names(user)),
            "owned_workflows": workflow_list_owned(user),
        },
    )
