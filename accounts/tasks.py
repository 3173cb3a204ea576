from celery import shared_task
from django.core.management import call_command


@shared_task
def clear_expired_sessions() -> None:
    """Periodic housekeeping: drop expired sessions so the table does not grow forever."""
    call_command("clearsessions")
