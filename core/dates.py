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
