from axes.models import AccessAttempt
from django.conf import settings
from django.urls import reverse

from tests.accounts.conftest import contains, template_names
from tests.factories import PASSWORD

LOGIN = reverse("login")


def _fail(client, username: str = "owner@example.com"):
    return client.post(LOGIN, {"username": username, "password": "wrong-guess"})


def test_repeated_failures_lock_the_account_on_this_address(client, workflow_owner):
    assert settings.AXES_FAILURE_LIMIT == 3
    assert _fail(client).status_code == 200
    assert _fail(client).status_code == 200

    locked = _fail(client)

    assert locked.status_code == 429
    assert "accounts/lockout.html" in template_names(locked)
    html = locked.content.decode()
    assert "Too many failed sign-in attempts for <strong>owner@example.com</strong>." in html
    assert contains(locked, "Try again in 15 minutes, or reset your password now")
    assert f'href="{reverse("password_reset")}"' in html

    # Even the right password is refused until the cool-off ends.
    right = client.post(LOGIN, {"username": "owner@example.com", "password": PASSWORD})
    assert right.status_code == 429
    assert "accounts/lockout.html" in template_names(right)
    assert "_auth_user_id" not in client.session


def test_changing_the_case_of_the_email_does_not_reset_the_count(client, workflow_owner):
    _fail(client, "OWNER@example.com")
    _fail(client, "Owner@Example.com")

    locked = _fail(client, "owner@example.com")

    assert locked.status_code == 429
    assert AccessAttempt.objects.get().username == "owner@example.com"


def test_a_lockout_does_not_block_other_accounts(client, workflow_owner, other_user):
    for _ in range(3):
        _fail(client)

    response = client.post(LOGIN, {"username": "stranger@example.com", "password": PASSWORD})

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(other_user.pk)


def test_a_successful_sign_in_clears_earlier_failures(client, workflow_owner):
    _fail(client)
    _fail(client)
    assert (
        client.post(LOGIN, {"username": "owner@example.com", "password": PASSWORD}).status_code
        == 302
    )
    client.logout()

    assert _fail(client).status_code == 200
    assert _fail(client).status_code == 200
