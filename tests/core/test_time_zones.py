from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.template.loader import render_to_string
from django.utils import timezone

from core.time_zones import (
    MSG_UNKNOWN_ZONE,
    format_instant,
    time_zone_choices,
    time_zone_names,
    validate_time_zone,
    zone,
)

WINTER = datetime(2026, 12, 13, 14, 17, tzinfo=UTC)
SUMMER = datetime(2026, 7, 1, 9, 5, tzinfo=UTC)


def test_the_choices_are_the_iana_zones_without_the_pseudo_zones():
    names = time_zone_names()
    assert {"Europe/Paris", "America/New_York", "Asia/Kolkata", "UTC"} <= set(names)
    assert not {"Factory", "localtime", "posixrules"} & set(names)
    assert list(names) == sorted(names)
    assert ("America/New_York", "America/New York") in time_zone_choices()


@pytest.mark.parametrize("name", ["Europe/Paris", "UTC", "Pacific/Chatham"])
def test_known_zones_are_valid(name):
    validate_time_zone(name)


@pytest.mark.parametrize("name", ["Mars/Olympus_Mons", "europe/paris", "", "../etc/passwd", None])
def test_unknown_zones_are_refused_with_a_clear_message(name):
    with pytest.raises(ValidationError) as exc:
        validate_time_zone(name)
    assert exc.value.messages == [MSG_UNKNOWN_ZONE.format(zone=name)]


def test_a_zone_this_machine_does_not_know_reads_as_utc():
    assert zone("Europe/Paris") == ZoneInfo("Europe/Paris")
    assert zone("Atlantis/Capital") == ZoneInfo("UTC")
    assert zone("") == ZoneInfo("UTC")


@pytest.mark.parametrize(
    ("name", "when", "expected"),
    [
        ("Europe/Paris", WINTER, "13 Dec 2026, 15:17 CET"),
        ("Europe/Paris", SUMMER, "1 Jul 2026, 11:05 CEST"),
        ("America/New_York", WINTER, "13 Dec 2026, 09:17 EST"),
        ("UTC", WINTER, "13 Dec 2026, 14:17 UTC"),
        ("Asia/Tokyo", WINTER, "13 Dec 2026, 23:17 JST"),
    ],
)
def test_an_instant_reads_in_the_active_zone_with_its_abbreviation(name, when, expected):
    with timezone.override(ZoneInfo(name)):
        assert format_instant(when) == expected
        page = render_to_string("rollout/_time.html", {"when": when})
    assert (
        page.strip()
        == f'<time datetime="{when.astimezone(ZoneInfo(name)).isoformat()}">{expected}</time>'
    )


def test_an_explicit_zone_wins_over_the_active_one():
    with timezone.override(ZoneInfo("Asia/Tokyo")):
        assert format_instant(WINTER, ZoneInfo("Europe/Paris")) == "13 Dec 2026, 15:17 CET"
