"""Pure date helpers shared by every floor."""

from calendar import monthrange
from datetime import date, datetime, time, timedelta

from django.utils import timezone


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The [start, end) of a local calendar day as aware datetimes (23 or 25 hours across DST)."""
    tz = timezone.get_current_timezone()
    start = timezone.make_aware(datetime.combine(day, time.min), tz)
    end = timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min), tz)
    return start, end


def months_before(when: datetime, months: int) -> datetime:
    """`when`, `months` calendar months earlier: the same day of the month, or that month's last
    day when it is shorter (31 March less one month is 28 or 29 February)."""
    years, month_index = divmod(when.month - 1 - months, 12)
    year, month = when.year + years, month_index + 1
    return when.replace(year=year, month=month, day=min(when.day, monthrange(year, month)[1]))


def short_age(delta: timedelta) -> str:
    """How long ago, in the fewest characters a list column can hold: "now", "12m", "5h", "3d",
    "6w", "4mo", "2y" (whole units, rounded down; a future instant is "now")."""
    seconds = int(delta.total_seconds())
    if seconds < 60:
        return "now"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 24:
        return f"{hours}h"
    days = hours // 24
    if days < 14:
        return f"{days}d"
    if days < 60:
        return f"{days // 7}w"
    if days < 365:
        return f"{days // 30}mo"
    return f"{days // 365}y"
