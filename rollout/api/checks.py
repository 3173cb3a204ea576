"""What every body of the JSON API shares: the typed request, the checks of a person and a time,
and the wording of pydantic's errors.

Used by the endpoint modules (events, feedback, …), which never import each other.
"""

from datetime import datetime, timedelta
from typing import Any

from django.http import HttpRequest
from django.utils import timezone

from core.text import has_line_breaks_or_controls
from rollout.models import ApiToken

MAX_FUTURE = timedelta(hours=1)
MAX_AGE = timedelta(days=400)

MSG_NOT_JSON = "The body is not valid JSON."
MSG_NAIVE = "Give an ISO 8601 time with its time zone, e.g. 2026-11-30T14:05:00Z."
MSG_FUTURE = "This is more than an hour in the future: check the sender's clock."
MSG_TOO_OLD = "This is more than 400 days ago: too old to count."
MSG_BLANK_USER = "Name the person: an email or the id the AI tool knows them by."
MSG_CONTROL = "Control characters (such as NUL) are not allowed here."


class ApiHttpRequest(HttpRequest):
    """A request that passed ApiTokenAuth (rollout.api.auth): `auth` is its token."""

    auth: ApiToken


def has_control_characters(text: str) -> bool:
    return any(ord(ch) < 32 and ch not in "\t\n\r" for ch in text)


def clean_user_ref(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError(MSG_BLANK_USER)
    if has_line_breaks_or_controls(value):  # one line: shown as a name, never a paragraph
        raise ValueError(MSG_CONTROL)
    return value


def require_iso_text(value: Any) -> Any:
    # pydantic would read a number as a Unix timestamp; the contract is ISO 8601 text.
    if value is not None and not isinstance(value, str):
        raise ValueError(MSG_NAIVE)
    return value


def check_reported_time(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(MSG_NAIVE)
    now = timezone.now()
    if value > now + MAX_FUTURE:
        raise ValueError(MSG_FUTURE)
    if value < now - MAX_AGE:
        raise ValueError(MSG_TOO_OLD)
    return value


def error_message(error: dict[str, Any]) -> str:
    """The message of one pydantic error, as the person sending the body should read it."""
    message = error.get("msg", "Invalid value.")
    # pydantic prefixes messages of custom validators with "Value error, ".
    return message.removeprefix("Value error, ")
