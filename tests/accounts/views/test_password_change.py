from django.urls import reverse

from tests.accounts.conftest import template_names
from tests.factories import PASSWORD

CHANGE = reverse("password_change")
NEW = "another-long-passphrase-77"


def test_anonymous_is_sent_to_sign_in(client, db):
    response = client.get(CHANGE)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={CHANGE}"


def test_password_change_page(as_user, other_user):
    response = as_user(other_user).get(CHANGE)

    assert response.status_code == 200
    assert template_names(response)[0] == "accounts/password_change.html"
    assert '<label for="id_old_password">' in response.content.decode()


def test_changing_the_password(as_user, other_user):
    client = as_user(other_user)

    response = client.post(
        CHANGE, {"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("password_change_done")
    other_user.refresh_from_db()
    assert other_user.check_password(NEW)
    done = client.get(response["Location"])  # still signed in: the session hash was updated
    assert done.status_code == 200
    assert template_names(done)[0] == "accounts/password_change_done.html"


def test_wrong_old_password_changes_nothing(as_user, other_user):
    response = as_user(other_user).post(
        CHANGE, {"old_password": "not-it", "new_password1": NEW, "new_password2": NEW}
    )

    assert response.status_code == 200
    assert response.context["form"].errors["old_password"] == [
        "Your old password was entered incorrectly. Please enter it again."
    ]
    other_user.refresh_from_db()
    assert other_user.check_password(PASSWORD)


def test_password_change_needs_the_csrf_token(csrf_client, other_user):
    csrf_client.force_login(other_user)

    response = csrf_client.post(
        CHANGE, {"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW}
    )

    assert response.status_code == 403
    other_user.refresh_from_db()
    assert other_user.check_password(PASSWORD)
