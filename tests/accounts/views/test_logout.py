from django.urls import reverse

LOGOUT = reverse("logout")


def test_signing_out_ends_the_session(client, other_user):
    client.force_login(other_user)

    response = client.post(LOGOUT)

    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert "_auth_user_id" not in client.session


def test_sign_out_by_get_is_refused(client, other_user):
    client.force_login(other_user)

    response = client.get(LOGOUT)

    assert response.status_code == 405
    assert client.session["_auth_user_id"] == str(other_user.pk)


def test_signing_out_when_signed_out_goes_to_sign_in(client, db):
    response = client.post(LOGOUT)

    assert response.status_code == 302
    assert response["Location"] == reverse("login")


def test_sign_out_needs_the_csrf_token(csrf_client, other_user):
    csrf_client.force_login(other_user)

    response = csrf_client.post(LOGOUT)

    assert response.status_code == 403
    assert csrf_client.session["_auth_user_id"] == str(other_user.pk)
