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


OFFICE = "198.51.100.20"
PER_IP = 50  # the default per-IP limit, ten times the per-account one (config/settings/base.py)


def test_one_ip_trying_many_accounts_is_locked_after_the_per_ip_limit(client, workflow_owner):
    """One guess on each of many accounts never reaches the per-account limit; the per-IP limit
    (well above it) stops the spray across accounts."""
    per_ip = PER_IP
    for n in range(per_ip - 1):
        assert _fail(client, f"person{n}@example.com").status_code == 200
    # As for one account, the failure that reaches the limit already answers with the lockout.
    locked = _fail(client, f"person{per_ip - 1}@example.com")
    assert locked.status_code == 429
    assert contains(locked, "Too many failed sign-in attempts from your network, on several")
    assert contains(locked, "Try again in 15 minutes. If many people share this network")

    # Even the right password of an account never tried before is refused from this address.
    right = client.post(
        LOGIN, {"username": "owner@example.com", "password": PASSWORD}, REMOTE_ADDR="127.0.0.1"
    )
    assert right.status_code == 429
    assert "_auth_user_id" not in client.session
    # ... and the next ten accounts of the spray are refused without being tried.
    for n in range(per_ip, per_ip + 10):
        assert _fail(client, f"person{n}@example.com").status_code == 429
    # Another address is not affected.
    elsewhere = client.post(
        LOGIN, {"username": "owner@example.com", "password": PASSWORD}, REMOTE_ADDR=OFFICE
    )
    assert elsewhere.status_code == 302


def test_an_office_behind_one_address_does_not_lock_itself_out(client, other_user):
    """Colleagues behind one NAT address mistype their passwords: each account counts its own
    failures, and together they stay far below the per-IP limit."""
    locked = "owner@example.com"
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(LOGIN, {"username": locked, "password": "wrong"}, REMOTE_ADDR=OFFICE)
    for n in range(10):
        for _ in range(settings.AXES_FAILURE_LIMIT - 1):
            response = client.post(
                LOGIN,
                {"username": f"colleague{n}@example.com", "password": "wrong"},
                REMOTE_ADDR=OFFICE,
            )
            assert response.status_code == 200

    assert (
        client.post(LOGIN, {"username": locked, "password": PASSWORD}, REMOTE_ADDR=OFFICE)
    ).status_code == 429
    response = client.post(
        LOGIN, {"username": "stranger@example.com", "password": PASSWORD}, REMOTE_ADDR=OFFICE
    )
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(other_user.pk)


def test_signing_in_does_not_wipe_the_failures_of_the_address(client, workflow_owner, settings):
    """Only the account's own failures are forgotten: one valid account must not reset the
    address's count between two rounds of guessing on other accounts."""
    settings.ROLLOUT_SIGN_IN_FAILURES_PER_IP = 6
    for n in range(5):
        assert _fail(client, f"person{n}@example.com").status_code == 200
    right = client.post(LOGIN, {"username": "owner@example.com", "password": PASSWORD})
    assert right.status_code == 302
    client.logout()

    assert _fail(client, "person5@example.com").status_code == 429
