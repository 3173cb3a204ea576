"""Sign in, sign out and passwords: Django's auth views with our forms and templates.

The names are the URL names, like every other view of the project.
"""

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse, HttpResponseRedirect

from accounts.forms import EmailAuthenticationForm, PasswordResetRequestForm
from accounts.services import password_reset_request
from core.client_ip import client_ip

login = auth_views.LoginView.as_view(
    template_name="accounts/login.html",
    authentication_form=EmailAuthenticationForm,
    redirect_authenticated_user=True,
)

# POST only (Django's LogoutView refuses GET): a link or prefetch cannot sign anyone out.
# Open to the signed-out too: signing out twice lands on the sign-in page, not on ?next=logout.
logout = login_not_required(auth_views.LogoutView.as_view())

password_change = auth_views.PasswordChangeView.as_view(
    template_name="accounts/password_change.html",
)
password_change_done = auth_views.PasswordChangeDoneView.as_view(
    template_name="accounts/password_change_done.html",
)


class PasswordResetView(auth_views.PasswordResetView):
    """Django's view (CSRF, never cached, open to the signed-out) without its form.save(), which
    looks the address up and sends the email inside the request: the service wakes a task instead.
    The "done" page reads the same whether or not the address has an account."""

    def form_valid(self, form: PasswordResetRequestForm) -> HttpResponse:
        password_reset_request(
            email=form.cleaned_data["email"],
            client_ip=client_ip(self.request),
            domain=self.request.get_host(),
            use_https=self.request.is_secure(),
        )
        return HttpResponseRedirect(self.get_success_url())


password_reset = PasswordResetView.as_view(
    template_name="accounts/password_reset.html",
    form_class=PasswordResetRequestForm,
)
password_reset_done = auth_views.PasswordResetDoneView.as_view(
    template_name="accounts/password_reset_done.html",
)
# Also the landing page of an invitation (accounts.services.set_password_url).
password_reset_confirm = auth_views.PasswordResetConfirmView.as_view(
    template_name="accounts/password_reset_confirm.html",
)
password_reset_complete = auth_views.PasswordResetCompleteView.as_view(
    template_name="accounts/password_reset_complete.html",
)
