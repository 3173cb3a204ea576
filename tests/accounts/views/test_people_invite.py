import pytest
from django.contrib.messages import get_messages
from django.core import mail
from django.urls import reverse

from accounts.models import User
from accounts.roles import EXECUTIVES, OPS_LEADERS
from accounts.services import MSG_EMAIL_TAKEN
from accounts.views.people import MSG_INVITED
from rollout.models import ActivityEntry
from tests.accounts.conftest import contains, last_mail_link, template_names

INVITE = reverse("people_invite")
VALID = {"email": "Nia.New@Example.com", "display_name": "Nia New", "roles": [EXECUTIVES]}


def test_anonymous_is_sent_to_sign_in(client, db):
    response = client.get(INVITE)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={INVITE}"


@pytest.mark.parametrize("fixture", ["executive", "workflow_owner", "other_user"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_only_ops_leaders_invite(request, as_user, fixture, method, workflow):
    client = as_user(request.getfixturevalue(fixture))
    users_before = User.objects.count()

    response = getattr(client, method)(INVITE, VALID)

    assert response.status_code == 403
    assert User.objects.count() == users_before
    assert mail.outbox == []


def test_invite_form(as_user, ops_leader):
    response = as_user(ops_leader).get(INVITE)

    assert response.status_code == 200
    assert template_names(response)[0] == "accounts/people_invite.html"
    html = response.content.decode()
    for label in ("Email address", "Display name", OPS_LEADERS, EXECUTIVES):
        assert f">{label}" in html
    assert 'type="checkbox" name="roles" value="Executives"' in html


def test_inviting_someone(as_user, ops_leader, django_capture_on_commit_callbacks):
    client = as_user(ops_leader)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(INVITE, VALID, HTTP_HOST="rollout.example.org")

    assert response.status_code == 302
    assert response["Location"] == reverse("people_list")
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        MSG_INVITED.format(email="nia.new@example.com")
    ]
    invited = User.objects.get(email="nia.new@example.com")
    assert invited.display_name == "Nia New"
    assert list(invited.groups.values_list("name", flat=True)) == [EXECUTIVES]
    assert not invited.has_usable_password()
    assert len(mail.outbox) == 1
    assert last_mail_link().startswith("http://rollout.example.org/accounts/password/reset/")
    assert ActivityEntry.objects.filter(verb="invited", actor=ops_leader).count() == 1


def _assert_nothing_invited(users_before: int) -> None:
    assert User.objects.count() == users_before
    assert mail.outbox == []
    assert not ActivityEntry.objects.filter(verb="invited").exists()


def test_duplicate_email_is_refused_beside_the_field(
    as_user, ops_leader, workflow_owner, django_capture_on_commit_callbacks
):
    users_before = User.objects.count()

    with django_capture_on_commit_callbacks(execute=True):
        response = as_user(ops_leader).post(INVITE, {**VALID, "email": "OWNER@example.com"})

    assert response.status_code == 200
    message = MSG_EMAIL_TAKEN.format(email="owner@example.com")
    assert response.context["form"].errors["email"] == [message]
    assert contains(response, message)
    _assert_nothing_invited(users_before)


def test_unknown_role_is_refused(as_user, ops_leader, django_capture_on_commit_callbacks):
    users_before = User.objects.count()

    with django_capture_on_commit_callbacks(execute=True):
        response = as_user(ops_leader).post(INVITE, {**VALID, "roles": ["Admins"]})

    assert response.status_code == 200
    assert response.context["form"].errors["roles"] == [
        "Select a valid choice. Admins is not one of the available choices."
    ]
    _assert_nothing_invited(users_before)


@pytest.mark.parametrize("email", ["not-an-email", "nia@", "", "a b@example.com"])
def test_malformed_email_is_refused(as_user, ops_leader, email):
    users_before = User.objects.count()

    response = as_user(ops_leader).post(INVITE, {**VALID, "email": email})

    assert response.status_code == 200
    assert response.context["form"].errors["email"]
    _assert_nothing_invited(users_before)


def test_an_empty_post_shows_what_is_missing(as_user, ops_leader):
    users_before = User.objects.count()

    response = as_user(ops_leader).post(INVITE, {})

    assert response.status_code == 200
    assert response.context["form"].errors == {
        "email": ["This field is required."],
        "display_name": ["This field is required."],
    }
    _assert_nothing_invited(users_before)


def test_invite_needs_the_csrf_token(csrf_client, ops_leader):
    csrf_client.force_login(ops_leader)
    users_before = User.objects.count()

    response = csrf_client.post(INVITE, VALID)

    assert response.status_code == 403
    _assert_nothing_invited(users_before)
