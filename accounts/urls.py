from django.urls import path

from accounts.views import auth, organisation, people, personal_tokens, profile, unsubscribe

urlpatterns = [
    path("accounts/login/", auth.login, name="login"),
    path("accounts/logout/", auth.logout, name="logout"),
    path("accounts/password/change/", auth.password_change, name="password_change"),
    path("accounts/password/change/done/", auth.password_change_done, name="password_change_done"),
    path("accounts/password/reset/", auth.password_reset, name="password_reset"),
    path("accounts/password/reset/sent/", auth.password_reset_done, name="password_reset_done"),
    path(
        "accounts/password/reset/<uidb64>/<token>/",
        auth.password_reset_confirm,
        name="password_reset_confirm",
    ),
    path(
        "accounts/password/reset/complete/",
        auth.password_reset_complete,
        name="password_reset_complete",
    ),
    path("accounts/profile/", profile.profile, name="profile"),
    path(
        "organisation/",
        organisation.organisation_settings,
        name="organisation_settings",
    ),
    path(
        "email/unsubscribe/<str:token>/",
        unsubscribe.email_unsubscribe,
        name="email_unsubscribe",
    ),
    path("people/", people.people_list, name="people_list"),
    path("people/invite/", people.people_invite, name="people_invite"),
    path("people/tokens/", personal_tokens.people_tokens, name="people_tokens"),
    path("people/<int:user_id>/roles/", people.people_roles, name="people_roles"),
    path("people/<int:user_id>/deactivate/", people.people_deactivate, name="people_deactivate"),
    path("people/<int:user_id>/erase/", people.people_erase, name="people_erase"),
    path("people/<int:user_id>/reactivate/", people.people_reactivate, name="people_reactivate"),
]
