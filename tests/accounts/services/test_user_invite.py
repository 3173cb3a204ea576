import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.urls import reverse

from accounts.models import User
from accounts.roles import EXECUTIVES, OPS_LEADERS
from accounts.services import MSG_EMAIL_TAKEN, MSG_UNKNOWN_ROLE, user_invite
from core.errors import ApplicationError
from rollout.models import ActivityEntry
from tests.accounts.conftest import contains, last_mail_link, template_names

NEW_PASSWORD = "a-fresh-long-passphrase-42"


def _invite(actor: User, **overrides: object) -> User:
    values: dict[str, object] = {
        "email": "  Nia.New@Example.COM ",
        "display_name": " Nia New ",
        "roles": [EXECUTIVES],
        "base_url": "http://testserver/",
    }
    values.update(overrides)
    return user_invite(actor=actor, **values)


def test_invite_creates_an_account_without_password_and_records_it(
    ops_leader, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        user = _invite(ops_leader)

    user.refresh_from_db()
    assert user.email == "nia.new@example.com"
    assert user.display_name == "Nia New"
    assert user.is_active
    assert not user.has_usable_password()
    assert list(user.groups.values_list("name", flat=True)) == [EXECUTIVES]
    entry = ActivityEntry.objects.get(verb="invited")
    assert entry.workflow is None
    assert entry.actor == ops_leader
    assert entry.target == "user nia.new@example.com"
    assert entry.changes == {"roles": ["—", EXECUTIVES]}


def test_invite_sends_one_email_after_commit_only(ops_leader, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        _invite(ops_leader)
    assert mail.outbox == []  # nothing leaves before the transaction commits
    assert len(callbacks) == 1

    callbacks[0]()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["nia.new@example.com"]
    assert message.subject == "[Rollout] You have been invited"
    assert "Hello Nia New," in message.body
    assert "Olivia Ops has invited you to Rollout" in message.body
    assert "sign in with this email address: nia.new@example.com" in message.body


def test_invitation_link_lets_the_person_choose_a_password_and_sign_in(
    client, ops_leader, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        user = _invite(ops_leader, display_name="Nia & Co")
    link = last_mail_link()
    assert link.startswith("http://testserver/accounts/password/reset/")
    assert "Hello Nia & Co," in mail.outbox[0].body  # plain text: not HTML-escaped

    landing = client.get(link, follow=True)
    assert landing.status_code == 200
    assert "accounts/password_reset_confirm.html" in template_names(landing)
    assert contains(landing, "Welcome to Rollout, Nia & Co.")
    set_password_url = landing.redirect_chain[-1][0]

    done = client.post(
        set_password_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert done.status_code == 302
    assert done["Location"] == reverse("password_reset_complete")
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)

    # The link works once.
    again = client.get(link, follow=True)
    assert contains(again, "This link has expired or has already been used.")

    signed_in = client.post(
        reverse("login"), {"username": "NIA.NEW@example.com", "password": NEW_PASSWORD}
    )
    assert signed_in.status_code == 302
    assert signed_in["Location"] == reverse("home")
    assert client.session["_auth_user_id"] == str(user.pk)


def test_invite_refuses_an_email_already_in_use_whatever_its_case(
    ops_leader, workflow_owner, django_capture_on_commit_callbacks
):
    users_before = User.objects.count()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ApplicationError) as exc:
        _invite(ops_leader, email="OWNER@example.com")
    assert exc.value.message == MSG_EMAIL_TAKEN.format(email="owner@example.com")
    assert exc.value.field == "email"
    assert User.objects.count() == users_before
    assert mail.outbox == []
    assert not ActivityEntry.objects.filter(verb="invited").exists()


def test_invite_refuses_an_unknown_role_and_creates_nothing(
    ops_leader, django_capture_on_commit_callbacks
):
    users_before = User.objects.count()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ApplicationError) as exc:
        _invite(ops_leader, roles=[OPS_LEADERS, "Admins"])
    assert exc.value.message == MSG_UNKNOWN_ROLE.format(role="Admins")
    assert User.objects.count() == users_before
    assert not Group.objects.get(name=OPS_LEADERS).user_set.filter(email__startswith="nia").exists()
    assert mail.outbox == []
