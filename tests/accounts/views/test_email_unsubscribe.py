"""One-click unsubscribe (RFC 8058): the signed link is the authority; GET only asks."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import EmailCategory, User
from accounts.unsubscribe import unsubscribe_token, unsubscribe_url
from tests.accounts.conftest import contains

CATEGORIES = ("email_notices", "email_reminders", "email_feedback", "email_updates")
ONE_CLICK = "List-Unsubscribe=One-Click"  # RFC 8058's body, form-encoded


def prefs(user: User) -> dict[str, bool]:
    return User.objects.values(*CATEGORIES).get(pk=user.pk)


def link(user: User, category: str = EmailCategory.NOTICES) -> str:
    return reverse("email_unsubscribe", kwargs={"token": unsubscribe_token(user, category)})


def one_click(client: Client, url: str):
    return client.post(url, ONE_CLICK, content_type="application/x-www-form-urlencoded")


@pytest.mark.parametrize("category", ["notices", "reminders", "feedback", "updates"])
def test_the_rfc_8058_post_turns_off_only_that_category(other_user, category):
    # A mail client: no session, no cookie, no CSRF token.
    response = one_click(Client(enforce_csrf_checks=True), link(other_user, category))

    assert response.status_code == 200
    assert contains(response, "Unsubscribed")
    assert prefs(other_user) == {**dict.fromkeys(CATEGORIES, True), f"email_{category}": False}


def test_a_get_only_asks_and_changes_nothing(client, other_user):
    response = client.get(link(other_user, EmailCategory.REMINDERS))

    assert response.status_code == 200
    body = response.content.decode()
    assert "Stop these emails?" in body
    assert "reminders to acknowledge a notice" in body
    assert f'<form method="post" action="{link(other_user, EmailCategory.REMINDERS)}">' in body
    assert '<input type="hidden" name="List-Unsubscribe" value="One-Click">' in body
    assert prefs(other_user) == dict.fromkeys(CATEGORIES, True)


def test_the_page_button_posts_the_same_one_click_body(client, other_user):
    response = client.post(link(other_user), {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert prefs(other_user)["email_notices"] is False


def test_a_signed_in_person_unsubscribes_the_linked_account_only(client, other_user, ops_leader):
    client.force_login(ops_leader)
    assert one_click(client, link(other_user)).status_code == 200
    assert prefs(other_user)["email_notices"] is False
    assert prefs(ops_leader)["email_notices"] is True


@pytest.mark.parametrize(
    "tamper",
    [
        lambda token: token + "x",
        lambda token: token[:-3],
        lambda token: token.replace(token.split(":")[0], "eyJ1c2VyIjoxfQ"),  # another payload
        lambda token: "not-a-token",
    ],
)
def test_a_tampered_link_answers_400_and_changes_nothing(client, other_user, tamper):
    token = tamper(unsubscribe_token(other_user, EmailCategory.NOTICES))
    url = reverse("email_unsubscribe", kwargs={"token": token})
    for response in (client.get(url), one_click(client, url)):
        assert response.status_code == 400
        assert contains(response, "This unsubscribe link does not work")
        assert contains(response, "Nothing was changed.")
    assert prefs(other_user) == dict.fromkeys(CATEGORIES, True)


def test_a_link_signed_for_another_purpose_is_refused(client, other_user):
    from django.core import signing

    token = signing.Signer().sign_object({"user": other_user.pk, "category": "notices"})
    response = one_click(client, reverse("email_unsubscribe", kwargs={"token": token}))
    assert response.status_code == 400
    assert prefs(other_user)["email_notices"] is True


@pytest.mark.parametrize("category", [EmailCategory.ESCALATIONS, EmailCategory.APPROVALS, "x"])
def test_a_link_for_an_email_that_cannot_be_turned_off_is_refused(client, other_user, category):
    response = one_click(client, link(other_user, category))
    assert response.status_code == 400
    assert prefs(other_user) == dict.fromkeys(CATEGORIES, True)


def test_a_post_without_the_one_click_body_changes_nothing(client, other_user):
    response = client.post(link(other_user), {"List-Unsubscribe": "Maybe"})
    assert response.status_code == 400
    assert contains(response, "Nothing was changed")
    assert prefs(other_user)["email_notices"] is True


def test_other_methods_are_refused(client, other_user):
    assert client.put(link(other_user)).status_code == 405
    assert prefs(other_user)["email_notices"] is True


def test_the_link_is_absolute_on_the_site(other_user, settings):
    settings.SITE_URL = "https://rollout.example.com"
    assert unsubscribe_url(other_user, EmailCategory.NOTICES).startswith(
        "https://rollout.example.com/email/unsubscribe/"
    )
