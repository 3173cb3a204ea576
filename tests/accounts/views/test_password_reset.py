from django.core import mail
from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.accounts.conftest import contains, last_mail_link, template_names
from tests.factories import PASSWORD, UserFactory

RESET = reverse("password_reset")
NEW = "a-brand-new-passphrase-31"


def _request_reset(client, email: str, **extra):
    """Ask for a reset and run what waits for the commit (the task that sends the email)."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(RESET, {"email": email}, **extra)


def test_reset_page(client, db):
    response = client.get(RESET)

    assert response.status_code == 200
    assert template_names(response)[0] == "accounts/password_reset.html"
    assert '<label for="id_email">Email address' in response.content.decode()


def test_reset_emails_a_link_built_from_the_request_host(client, workflow_owner):
    response = _request_reset(client, "Owner@Example.com", HTTP_HOST="rollout.example.org")

    assert response.status_code == 302
    assert response["Location"] == reverse("password_reset_done")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["owner@example.com"]
    assert message.subject == "[Rollout] Reset your password"
    assert "Hello Owen Owner," in message.body
    assert last_mail_link().startswith("http://rollout.example.org/accounts/password/reset/")


def test_following_the_link_sets_a_new_password(client, workflow_owner):
    _request_reset(client, "owner@example.com")

    page = client.get(last_mail_link(), follow=True)
    assert page.status_code == 200
    assert template_names(page)[0] == "accounts/password_reset_confirm.html"
    assert contains(page, "Choose a new password for owner@example.com.")
    response = client.post(
        page.redirect_chain[-1][0], {"new_password1": NEW, "new_password2": NEW}, follow=True
    )

    assert response.redirect_chain[-1][0] == reverse("password_reset_complete")
    assert template_names(response)[0] == "accounts/password_reset_complete.html"
    workflow_owner.refresh_from_db()
    assert workflow_owner.check_password(NEW)
    signed_in = client.post(reverse("login"), {"username": "owner@example.com", "password": NEW})
    assert signed_in.status_code == 302


def test_mismatched_passwords_change_nothing(client, workflow_owner):
    _request_reset(client, "owner@example.com")
    page = client.get(last_mail_link(), follow=True)

    response = client.post(
        page.redirect_chain[-1][0], {"new_password1": NEW, "new_password2": NEW + "x"}
    )

    assert response.status_code == 200
    assert response.context["form"].errors["new_password2"] == [
        "The two password fields didn’t match."
    ]
    workflow_owner.refresh_from_db()
    assert workflow_owner.check_password(PASSWORD)


def test_unknown_email_looks_the_same_and_sends_nothing(client, workflow_owner):
    response = _request_reset(client, "nobody@example.com")

    assert response.status_code == 302
    assert response["Location"] == reverse("password_reset_done")
    assert mail.outbox == []
    done = client.get(response["Location"])
    assert contains(done, "If an account uses that address, a link to choose a new password")


def test_deactivated_users_get_no_reset_email(client, db):
    UserFactory(email="gone@example.com", is_active=False)

    response = _request_reset(client, "gone@example.com")

    assert response["Location"] == reverse("password_reset_done")
    assert mail.outbox == []


def test_an_invited_user_without_a_password_gets_a_fresh_link(client, db):
    invited = UserFactory(email="invited@example.com", display_name="Ivy Invited", password=None)
    invited.set_unusable_password()
    invited.save()

    _request_reset(client, "invited@example.com")

    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject == "[Rollout] Choose your password"
    page = client.get(last_mail_link(), follow=True)
    assert contains(page, "Welcome to Rollout, Ivy Invited.")


def test_a_bad_link_says_so_and_offers_a_new_one(client, workflow_owner):
    url = reverse("password_reset_confirm", kwargs={"uidb64": "MQ", "token": "bad-token"})

    response = client.get(url)

    assert response.status_code == 200
    assert contains(response, "This link has expired or has already been used.")
    assert f'href="{RESET}"' in response.content.decode()
    assert "new_password1" not in response.content.decode()


def test_reset_needs_the_csrf_token(csrf_client, workflow_owner):
    response = csrf_client.post(RESET, {"email": "owner@example.com"})

    assert response.status_code == 403
    assert mail.outbox == []


def _reset_queries(client, email: str) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.post(RESET, {"email": email})
    assert response["Location"] == reverse("password_reset_done")
    return [query["sql"] for query in queries.captured_queries]


def test_the_request_never_sends_the_email(
    client, workflow_owner, django_capture_on_commit_callbacks
):
    """A known address must not take longer to answer than an unknown one: the email is built
    and sent by a task after the response, never inside the request."""
    with django_capture_on_commit_callbacks(execute=False) as after_commit:
        client.post(RESET, {"email": "owner@example.com"})

    assert mail.outbox == []
    for callback in after_commit:
        callback()
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["owner@example.com"]


def test_known_and_unknown_addresses_do_the_same_work(client, workflow_owner, monkeypatch):
    def no_mail_server(*args, **kwargs):
        raise AssertionError("the request opened the mail server")

    monkeypatch.setattr(
        "django.core.mail.backends.locmem.EmailBackend.send_messages", no_mail_server
    )

    known = _reset_queries(client, "owner@example.com")
    unknown = _reset_queries(client, "nobody@example.com")

    assert known == unknown
    assert not any("accounts_user" in sql for sql in known)


def test_resets_for_one_address_are_throttled(client, workflow_owner, settings, caplog):
    settings.ROLLOUT_PASSWORD_RESETS_PER_HOUR_PER_ADDRESS = 10
    for _ in range(10):
        _request_reset(client, "owner@example.com")
    assert len(mail.outbox) == 10

    # The 11th, from another address too, reads the same as success but sends nothing.
    eleventh = _request_reset(client, "Owner@Example.com", REMOTE_ADDR="198.51.100.7")

    assert eleventh["Location"] == reverse("password_reset_done")
    assert len(mail.outbox) == 10
    assert "Password reset throttled" in caplog.text


def test_resets_from_one_ip_are_throttled_across_addresses(client, db, settings, caplog):
    settings.ROLLOUT_PASSWORD_RESETS_PER_HOUR_PER_IP = 3
    for n in range(4):
        UserFactory(email=f"person{n}@example.com")
    for n in range(3):
        _request_reset(client, f"person{n}@example.com", REMOTE_ADDR="203.0.113.9")
    assert len(mail.outbox) == 3

    fourth = _request_reset(client, "person3@example.com", REMOTE_ADDR="203.0.113.9")

    assert fourth["Location"] == reverse("password_reset_done")
    assert len(mail.outbox) == 3
    assert "Password reset throttled" in caplog.text
    # Another network is not held back by this one.
    _request_reset(client, "person3@example.com", REMOTE_ADDR="192.0.2.44")
    assert len(mail.outbox) == 4


def test_resets_are_throttled_locally_while_the_cache_is_down(client, db, settings, redis_cache):
    """A closed cache port neither breaks the reset page nor lifts the throttle."""
    settings.ROLLOUT_PASSWORD_RESETS_PER_HOUR_PER_ADDRESS = 2
    UserFactory(email="person@example.com")
    redis_cache.stop()

    responses = [_request_reset(client, "person@example.com") for _ in range(3)]

    assert [r.status_code for r in responses] == [302, 302, 302]
    assert {r["Location"] for r in responses} == {reverse("password_reset_done")}
    assert len(mail.outbox) == 2
