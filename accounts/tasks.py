"""Celery tasks of accounts: thin, one service call each. Services wake them with
core.wake.wake("accounts.tasks.<name>", ...) and never import this module."""

from celery import shared_task
from django.core.management import call_command

from accounts.services import password_reset_send


@shared_task
def clear_expired_sessions() -> None:
    """Periodic housekeeping: drop expired sessions so the table does not grow forever."""
    call_command("clearsessions")


@shared_task(time_limit=60, soft_time_limit=45)
def send_password_reset(email: str, domain: str, use_https: bool) -> int:
    """After a reset request: email a link to the active account with this address, if any."""
    return password_reset_send(email=email, domain=domain, use_https=use_https)
