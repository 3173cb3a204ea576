import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from accounts.roles import EXECUTIVES, OPS_LEADERS
from accounts.views.profile import MSG_EMAIL_SAVED, MSG_PROFILE_SAVED
from tests.accounts.conftest import contains, template_names

PROFILE = reverse("profile")


def test_anonymous_is_sent_to_sign_in(client, db):
    response = client.get(PROFILE)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={PROFILE}"


@pytest.mark.parametrize(
    ("fixture", "roles"),
    [
        ("ops_leader", [OPS_LEADERS]),
        ("executive", [EXECUTIVES]),
        ("workflow_owner", []),
        ("other_user", []),
    ],
)
def test_everyone_sees_their_own_profile(request, as_user, fixture, roles):
    user = request.getfixturevalue(fixture)

    response = as_user(user).get(PROFILE)

    assert response.status_code == 200
    assert template_names(response)[0] == "accounts/profile.html"
    assert response.context["roles"] == roles
    assert contains(response, user.email)
    for role in roles:
        assert f'<span class="badge badge-role">{role}</span>' in response.content.decode()
    assert f'href="{reverse("password_change")}"' in response.content.decode()


def test_owner_sees_the_workflows_they_own(
    as_user, workflow_owner, workflow, django_assert_max_num_queries
):
    client = as_user(workflow_owner)

    with django_assert_max_num_queries(6):
        response = client.get(PROFILE)

    assert list(response.context["owned_workflows"]) == [workflow]
    assert '<a href="/workflows/support-reply-drafting/">Support reply drafting</a>' in (
        response.content.decode()
    )


def test_someone_owning_nothing_is_told_so(as_user, other_user, workflow):
    response = as_user(other_user).get(PROFILE)

    assert contains(response, "You own no workflow.")
    assert "support-reply-drafting" not in response.content.decode()


def test_saving_the_profile(as_user, other_user):
    response = as_user(other_user).post(PROFILE, {"display_name": " Sam S. "})

    assert response.status_code == 302
    assert response["Location"] == PROFILE
    assert [str(m) for m in get_messages(response.wsgi_request)] == [MSG_PROFILE_SAVED]
    other_user.refresh_from_db()
    assert other_user.display_name == "Sam S."
    assert other_user.email_notices is True  # the email preferences are another form


def test_an_empty_display_name_is_refused_and_nothing_changes(as_user, other_user):
    response = as_user(other_user).post(PROFILE, {"display_name": "  "})

    assert response.status_code == 200
    assert response.context["form"].errors["display_name"] == ["This field is required."]
    assert '<p class="error" id="id_display_name_error">' in response.content.decode()
    other_user.refresh_from_db()
    assert other_user.display_name == "Sam Stranger"


def test_profile_needs_the_csrf_token(csrf_client, other_user):
    csrf_client.force_login(other_user)

    response = csrf_client.post(PROFILE, {"display_name": "Changed"})

    assert response.status_code == 403
    other_user.refresh_from_db()
    assert other_user.display_name == "Sam Stranger"


def test_profile_refuses_other_methods(as_user, other_user):
    assert as_user(other_user).put(PROFILE).status_code == 405


def test_the_profile_shows_the_email_preferences(as_user, other_user):
    other_user.email_reminders = False
    other_user.save()
    body = as_user(other_user).get(PROFILE).content.decode()

    assert '<h2 id="email-heading">Email</h2>' in body
    assert '<input type="hidden" name="action" value="email">' in body
    for name, checked in [("notices", True), ("reminders", False), ("feedback", True)]:
        box = (
            f'<input type="checkbox" name="{name}" aria-describedby="id_{name}_helptext" '
            f'id="id_{name}"'
        )
        assert box in body
        assert (box + " checked>" in body) is checked, name
    assert "<strong>escalation pages</strong>" in body
    assert "so their emails cannot be turned off" in body


def test_saving_email_preferences_turns_one_category_off(as_user, other_user):
    response = as_user(other_user).post(
        PROFILE, {"action": "email", "notices": "on", "feedback": "on", "updates": "on"}
    )

    assert response.status_code == 302
    assert response["Location"] == PROFILE
    assert [str(m) for m in get_messages(response.wsgi_request)] == [MSG_EMAIL_SAVED]
    other_user.refresh_from_db()
    assert (other_user.email_notices, other_user.email_reminders) == (True, False)
    assert (other_user.email_feedback, other_user.email_updates) == (True, True)
    assert other_user.display_name == "Sam Stranger"  # the settings are another form


def test_bad_email_preferences_change_nothing(as_user, other_user):
    # A checkbox with a value that is not "on" is still "on" for Django; unknown fields are
    # ignored: whatever is posted, only the four categories can change.
    response = as_user(other_user).post(
        PROFILE, {"action": "email", "escalations": "", "digests": "on", "notices": "yes"}
    )
    assert response.status_code == 302
    other_user.refresh_from_db()
    assert other_user.email_notices is True
    assert other_user.email_reminders is False


def test_email_preferences_need_the_csrf_token(csrf_client, other_user):
    csrf_client.force_login(other_user)
    response = csrf_client.post(PROFILE, {"action": "email"})
    assert response.status_code == 403
    other_user.refresh_from_db()
    assert other_user.email_notices is True


def test_anonymous_cannot_save_email_preferences(client, other_user):
    response = client.post(PROFILE, {"action": "email"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
