"""How the kinds write dates and people."""

from datetime import date, datetime

from django.utils import timezone
from django.utils.dateformat import format as date_format

NOBODY = "—"


def day_text(value: date | datetime | None) -> str:
    if value is None:
        return NOBODY
    if isinstance(value, datetime):
        value = timezone.localtime(value).date()
    return date_format(value, "j M Y")


def person_text(user: object) -> str:
    return str(user) if user is not None else NOBODY
