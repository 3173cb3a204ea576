from datetime import date, timedelta

import pytest
from django.utils import timezone

from core.dates import day_bounds, short_age


def test_a_day_is_local_midnight_to_midnight(settings):
    settings.TIME_ZONE = "Europe/Berlin"
    with timezone.override("Europe/Berlin"):
        start, end = day_bounds(date(2026, 6, 1))
        assert start.isoformat() == "2026-06-01T00:00:00+02:00"
        assert end.timestamp() - start.timestamp() == 24 * 3600


def test_a_dst_day_has_23_or_25_hours():
    with timezone.override("Europe/Berlin"):
        spring = day_bounds(date(2026, 3, 29))
        autumn = day_bounds(date(2026, 10, 25))
    # (Subtracting aware datetimes of one zone ignores the offsets: compare instants.)
    assert spring[1].timestamp() - spring[0].timestamp() == 23 * 3600
    assert autumn[1].timestamp() - autumn[0].timestamp() == 25 * 3600


@pytest.mark.parametrize(
    ("delta", "words"),
    [
        (timedelta(seconds=-5), "now"),
        (timedelta(seconds=59), "now"),
        (timedelta(minutes=12), "12m"),
        (timedelta(hours=5, minutes=59), "5h"),
        (timedelta(days=3, hours=23), "3d"),
        (timedelta(days=13), "13d"),
        (timedelta(days=20), "2w"),
        (timedelta(days=120), "4mo"),
        (timedelta(days=800), "2y"),
    ],
)
def test_short_age(delta, words):
    assert short_age(delta) == words
