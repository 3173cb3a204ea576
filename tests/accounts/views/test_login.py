from django.urls import reverse

from accounts.forms import MSG_INACTIVE_LOGIN, MSG_INVALID_LOGIN
from tests.accounts.conftest import contains, template_names
from tests.factories import PASSWORD, UserFactory

LOGIN = reverse("login")


def test_sign_in_page_asks_for_an_email_address(client, db):
    response = client.get(LOGIN)

    assert response.status_code == 200
    assert template_names(response)[0] == "accounts/login.html"
    html = response.content.decode()
    assert '<label for="id_username">Email address' in html
    assert 'type="email" name="username"' in html
    assert 'autocomplete="username"' in html
    assert 'autocomplete="current-password"' in html
    assert f'href="{reverse("password_reset")}"' in html


def test_signing_in_ignores_the_case_of_the_email(client, workflow_owner):
    response = client.post(LOGIN, {"username": " Owner@EXAMPLE.com ", "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert client.session["_auth_user_id"] == str(workflow_owner.pk)


def test_signing_in_returns_to_the_page_asked_for(client, workflow_owner):
    response = client.post(
        LOGIN,
        {"username": "owner@example.com", "password": PASSWORD, "next": reverse("profile")},
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("profile")


def test_signing_in_never_redirects_off_site(client, workflow_owner):
    response = client.post(
        LOGIN,
        {"username": "owner@example.com", "password": PASSWORD, "next": "https://evil.test/"},
    )

    assert response["Location"] == reverse("home")


def test_wrong_password_is_refused_without_saying_which_part_was_wrong(client, workflow_owner):
    response = client.post(LOGIN, {"username": "owner@example.com", "password": "wrong"})

    assert response.status_code == 200
    assert contains(response, MSG_INVALID_LOGIN)
    assert "_auth_user_id" not in client.session


def test_unknown_email_gets_the_same_answer_as_a_wrong_password(client, db):
    response = client.post(LOGIN, {"username": "nobody@example.com", "password": PASSWORD})

    assert response.status_code == 200
    assert contains(response, MSG_INVALID_LOGIN)


def test_malformed_email_is_refused_beside_the_field(client, db):
    response = client.post(LOGIN, {"username": "not-an-email", "password": PASSWORD})

    assert response.status_code == 200
    assert response.context["form"].errors["username"] == ["Enter a valid email address."]
    assert "_auth_user_id" not in client.session


def test_a_deactivated_user_is_told_so_when_the_password_is_right(client, db):
    UserFactory(email="gone@example.com", is_active=False)

    response = client.post(LOGIN, {"username": "gone@example.com", "password": PASSWORD})

    assert response.status_code == 200
    assert contains(response, MSG_INACTIVE_LOGIN)
    assert "_auth_user_id" not in client.session


def test_a_deactivated_account_is_not_revealed_to_a_wrong_password(client, db):
    UserFactory(email="gone@example.com", is_active=False)

    response = client.post(LOGIN, {"username": "gone@example.com", "password": "guess"})

    assert contains(response, MSG_INVALID_LOGIN)
    assert not contains(response, MSG_INACTIVE_LOGIN)


def test_a_signed_in_user_is_sent_home(client, other_user):
    client.force_login(other_user)

    response = client.get(LOGIN)

    assert response.status_code == 302
    assert response["Location"] == reverse("home")


def test_sign_in_needs_the_csrf_token(csrf_client, workflow_owner):
    response = csrf_client.post(LOGIN, {"username": "owner@example.com", "password": PASSWORD})

    assert response.status_code == 403
    assert "_auth_user_id" not in csrf_client.session
