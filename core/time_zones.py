"""IANA time zones: the choices people pick from, their validation, and how an instant is shown.

Pure code on the ground floor: which zone a person reads in (theirs, else the organisation's) is
decided above, in accounts; this module only knows zones."""

from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django.core.exceptions import ValidationError
from django.utils import formats, timezone

MSG_UNKNOWN_ZONE = (
    "“{zone}” is not a time zone we know. Choose one from the list, e.g. Europe/Paris."
)

# How every instant reads on a page and in an email: "13 Dec 2026, 15:17 CET" — in the reader's
# zone (activated per request and per email recipient), with its abbreviation so nobody has to
# guess which zone a time is in. templates/rollout/_time.html prints the same.
INSTANT_FORMAT = "j M Y, H:i T"

# tzdata ships these names beside the real zones; none is a place a person lives in.
_NOT_PLACES = frozenset({"Factory", "localtime", "posixrules"})


@cache
def time_zone_names() -> tuple[str, ...]:
    """Every IANA zone name this machine knows (the tzdata package), sorted."""
    return tuple(sorted(available_timezones() - _NOT_PLACES))


def time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in time_zone_names()]


def validate_time_zone(value: object) -> None:
    """The validator of a time-zone field (model or form)."""
    if not isinstance(value, str) or value not in time_zone_names():
        raise ValidationError(MSG_UNKNOWN_ZONE.format(zone=value), code="unknown_zone")


def zone(name: str) -> ZoneInfo:
    """The zone called `name`; UTC for a name this machine does not know (a zone dropped from a
    later tzdata must not break every page of the person who chose it)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def format_instant(value: datetime, tz: ZoneInfo | None = None) -> str:
    """An aware datetime as people read it: "13 Dec 2026, 15:17 CET", in `tz` (default: the
    active zone)."""
    return formats.date_format(timezone.localtime(value, tz), INSTANT_FORMAT)
