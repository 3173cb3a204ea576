"""The freshness verdict of a data source at a given time: pure, so its edges are testable.

States are SourceState's values (rollout.models.source_health), spelled here as text: lib sits
below the models floor.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

NEVER_REPORTED, FRESH, STALE, SILENT = "never_reported", "fresh", "stale", "silent"

# A source that reports nothing for this long (or for its maximum age, if longer) is silent:
# whatever its data's age, nobody is checking it any more.
SILENT_AFTER = timedelta(hours=24)


@dataclass(frozen=True)
class Freshness:
    """`state`, and `since`: when it began as far as the reports tell (None for fresh and never
    reported, whose start only the stored status knows)."""

    state: str
    since: datetime | None = None


def silent_after(max_age: timedelta | None) -> timedelta:
    """How long without any report makes a source silent: max(its maximum age, 24 hours)."""
    return max(max_age, SILENT_AFTER) if max_age is not None else SILENT_AFTER


def freshness_at(
    now: datetime,
    *,
    last_seen_at: datetime | None,
    last_data_as_of: datetime | None,
    last_report_stale: bool,
    max_age: timedelta | None,
) -> Freshness:
    """The verdict at `now`.

    never reported: no report yet. silent: no report for longer than silent_after(max_age).
    stale (only with a declared max age, or when the latest report said so): the data is older
    than max_age — exactly max_age old is still fresh — or the latest report was `input_stale`.
    fresh otherwise. Without a declared max age a source is judged only silent or fresh."""
    if last_seen_at is None:
        return Freshness(NEVER_REPORTED)
    quiet_limit = silent_after(max_age)
    if now - last_seen_at > quiet_limit:
        return Freshness(SILENT, last_seen_at + quiet_limit)
    if last_report_stale:
        # Since the data grew too old, if the reports tell; else since the stale report.
        since = last_seen_at
        if max_age is not None and last_data_as_of is not None:
            since = min(since, last_data_as_of + max_age)
        return Freshness(STALE, since)
    if max_age is not None:
        as_of = last_data_as_of or last_seen_at
        if now - as_of > max_age:
            return Freshness(STALE, as_of + max_age)
    return Freshness(FRESH)


def as_of_text(moment: datetime) -> str:
    """A reported data time as stored in an event's attrs.data_as_of: UTC ISO 8601 of one shape,
    so the newest is the largest text (rollout.services.source_rollup compares them so)."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def format_age(age: timedelta) -> str:
    """A data age in the largest whole unit that reads well: “45 min”, “6 h”, “3 days”."""
    minutes = max(int(age.total_seconds() // 60), 0)
    if minutes < 120:
        return f"{minutes} min"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} h"
    days = hours // 24
    return f"{days} day{'s' if days != 1 else ''}"


def format_minutes(minutes: int) -> str:
    """A declared maximum age: “15 minutes”, “2 hours”, “1 day” (the unit it divides into)."""
    for size, unit in ((1440, "day"), (60, "hour")):
        if minutes % size == 0:
            count = minutes // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{minutes} minute{'s' if minutes != 1 else ''}"
