"""The freshness verdict at its edges (rollout.lib.freshness)."""

from datetime import UTC, datetime, timedelta

from rollout.lib.freshness import (
    FRESH,
    NEVER_REPORTED,
    SILENT,
    STALE,
    as_of_text,
    format_age,
    format_minutes,
    freshness_at,
    silent_after,
)

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def verdict(*, seen=None, as_of=None, stale=False, max_age=HOUR, now=NOW):
    return freshness_at(
        now, last_seen_at=seen, last_data_as_of=as_of, last_report_stale=stale, max_age=max_age
    )


def test_never_reported_before_any_report():
    assert verdict().state == NEVER_REPORTED
    assert verdict(max_age=None).state == NEVER_REPORTED


def test_data_exactly_at_the_declared_maximum_age_is_fresh():
    assert verdict(seen=NOW, as_of=NOW - HOUR).state == FRESH


def test_data_one_second_over_the_maximum_age_is_stale_since_it_crossed_it():
    result = verdict(seen=NOW, as_of=NOW - HOUR - timedelta(seconds=1))
    assert result.state == STALE
    assert result.since == NOW - timedelta(seconds=1)


def test_without_data_as_of_the_time_of_the_report_is_the_data_time():
    assert verdict(seen=NOW - HOUR).state == FRESH
    assert verdict(seen=NOW - HOUR - timedelta(seconds=1)).state == STALE


def test_a_latest_report_of_stale_input_is_stale_whatever_the_age():
    result = verdict(seen=NOW - timedelta(minutes=5), as_of=NOW, stale=True)
    assert (result.state, result.since) == (STALE, NOW - timedelta(minutes=5))
    assert verdict(seen=NOW, stale=True, max_age=None).state == STALE


def test_a_stale_report_on_old_data_is_stale_since_the_data_grew_too_old():
    result = verdict(seen=NOW - timedelta(minutes=5), as_of=NOW - timedelta(days=7), stale=True)
    assert (result.state, result.since) == (STALE, NOW - timedelta(days=7) + HOUR)


def test_silent_after_24_hours_without_any_report():
    day = timedelta(hours=24)
    assert verdict(seen=NOW - day, as_of=NOW - day, max_age=2 * day).state == FRESH
    result = verdict(seen=NOW - day - timedelta(seconds=1), max_age=HOUR)
    assert (result.state, result.since) == (SILENT, NOW - timedelta(seconds=1))


def test_silent_after_the_maximum_age_when_it_is_longer_than_a_day():
    three_days = timedelta(days=3)
    assert silent_after(three_days) == three_days
    assert verdict(seen=NOW - timedelta(days=2), max_age=three_days).state == FRESH
    assert verdict(seen=NOW - three_days - timedelta(seconds=1), max_age=three_days).state == SILENT


def test_without_a_declared_maximum_age_only_silent_or_fresh():
    old_data = NOW - timedelta(days=30)
    assert verdict(seen=NOW, as_of=old_data, max_age=None).state == FRESH
    assert verdict(seen=NOW - timedelta(hours=25), max_age=None).state == SILENT
    assert silent_after(None) == timedelta(hours=24)


def test_ages_and_maximums_read_well():
    assert format_age(timedelta(minutes=45)) == "45 min"
    assert format_age(timedelta(hours=6)) == "6 h"
    assert format_age(timedelta(days=7, hours=3)) == "7 days"
    assert format_minutes(15) == "15 minutes"
    assert format_minutes(120) == "2 hours"
    assert format_minutes(1440) == "1 day"
    assert format_minutes(90) == "90 minutes"


def test_data_times_are_stored_as_utc_text_of_one_shape():
    moment = datetime(2026, 12, 1, 12, 0, 0, 500000, tzinfo=UTC)
    assert as_of_text(moment) == "2026-12-01T12:00:00.500000+00:00"
