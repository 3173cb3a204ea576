"""accounts.services: a reset request only counts and wakes the task (no query, no mail); the task
sends to active accounts only."""

import logging

from django.core import mail

from accounts.services import password_reset_request, password_reset_send
from accounts.tasks import send_password_reset
from tests.factories import UserFactory


def _request(email: str, ip: str = "192.0.2.1") -> bool:
    return password_reset_request(
        email=email, client_ip=ip, domain="rollout.example.org", use_https=True
    )


def test_a_request_queries_nothing_and_sends_nothing(
    workflow_owner, django_assert_num_queries, django_capture_on_commit_callbacks, monkeypatch
):
    woken = []
    monkeypatch.setattr(send_password_reset, "delay", lambda *args: woken.append(args))

    with django_capture_on_commit_callbacks(execute=True):
        with django_assert_num_queries(0):
            assert _request(" Owner@Example.com ")
        assert mail.outbox == []

    assert woken == [("owner@example.com", "rollout.example.org", True)]


def test_the_task_sends_one_link_to_an_active_account(workflow_owner):
    assert password_reset_send(email="OWNER@example.com", domain="r.example", use_https=True) == 1

    assert mail.outbox[0].to == ["owner@example.com"]
    assert mail.outbox[0].subject == "[Rollout] Reset your password"
    assert "https://r.example/accounts/password/reset/" in mail.outbox[0].body


def test_the_task_sends_nothing_for_unknown_or_deactivated_addresses(db):
    UserFactory(email="gone@example.com", is_active=False)

    assert password_reset_send(email="nobody@example.com", domain="r", use_https=False) == 0
    assert password_reset_send(email="gone@example.com", domain="r", use_https=False) == 0
    assert mail.outbox == []


def test_beyond_the_limit_nothing_is_woken_and_a_warning_is_logged(
    db, settings, caplog, django_capture_on_commit_callbacks, monkeypatch
):
    settings.ROLLOUT_PASSWORD_RESETS_PER_HOUR_PER_ADDRESS = 2
    woken = []
    monkeypatch.setattr(send_password_reset, "delay", lambda *args: woken.append(args))
    caplog.set_level(logging.WARNING, logger="accounts.services")

    with django_capture_on_commit_callbacks(execute=True):
        results = [_request("a@example.com", ip=f"192.0.2.{n}") for n in range(3)]

    assert results == [True, True, False]
    assert len(woken) == 2
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
    assert "a@example.com" not in caplog.text  # the address is not written to the log
