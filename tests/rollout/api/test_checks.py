"""The checks every API body shares (rollout.api.checks), on their own; the endpoint tests assert
them again inside whole responses."""

import re
from datetime import UTC, timedelta

import pytest
from django.http import HttpRequest
from django.utils import timezone

from rollout.api.checks import (
    MAX_AGE,
    MAX_FUTURE,
    MSG_BLANK_USER,
    MSG_CONTROL,
    MSG_FUTURE,
    MSG_NAIVE,
    MSG_TOO_OLD,
    ApiHttpRequest,
    check_reported_time,
    clean_user_ref,
    error_message,
    has_control_characters,
    require_iso_text,
)
from rollout.models import ApiToken


@pytest.mark.parametrize(
    ("text", "expected"),
    [("plain", False), ("tab\tnew line\ncarriage\r", False), ("nul\x00", True), ("\x1b[0m", True)],
    ids=["plain", "whitespace", "nul", "escape"],
)
def test_has_control_characters(text, expected):
    assert has_control_characters(text) is expected


def test_clean_user_ref_strips_the_spaces():
    assert clean_user_ref("  Mia@Example.com \n") == "Mia@Example.com"


@pytest.mark.parametrize(
    ("value", "message"), [("   ", MSG_BLANK_USER), ("mia\x00", MSG_CONTROL)], ids=["blank", "nul"]
)
def test_clean_user_ref_refuses(value, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        clean_user_ref(value)


@pytest.mark.parametrize("value", ["2026-11-30T14:05:00Z", None], ids=["text", "none"])
def test_require_iso_text_lets_text_and_none_through(value):
    assert require_iso_text(value) == value


@pytest.mark.parametrize("value", [1_800_000_000, 1.5, True], ids=["int", "float", "bool"])
def test_require_iso_text_refuses_numbers(value):
    with pytest.raises(ValueError, match=re.escape(MSG_NAIVE)):
        require_iso_text(value)


def test_check_reported_time_takes_a_recent_aware_time():
    now = timezone.now()
    assert check_reported_time(now) == now
    # Just inside both bounds (the minute of slack covers the time the test takes).
    assert check_reported_time(now + MAX_FUTURE - timedelta(minutes=1))
    assert check_reported_time(now - MAX_AGE + timedelta(minutes=1))


@pytest.mark.parametrize(
    ("delta", "message"),
    [
        (MAX_FUTURE + timedelta(minutes=1), MSG_FUTURE),
        (-MAX_AGE - timedelta(minutes=1), MSG_TOO_OLD),
    ],
    ids=["future", "too-old"],
)
def test_check_reported_time_refuses_out_of_range(delta, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        check_reported_time(timezone.now() + delta)


def test_check_reported_time_refuses_a_naive_time():
    naive = timezone.now().astimezone(UTC).replace(tzinfo=None)
    with pytest.raises(ValueError, match=re.escape(MSG_NAIVE)):
        check_reported_time(naive)


@pytest.mark.parametrize(
    ("error", "message"),
    [
        ({"msg": f"Value error, {MSG_NAIVE}"}, MSG_NAIVE),
        ({"msg": "Field required"}, "Field required"),
        ({}, "Invalid value."),
    ],
    ids=["custom-validator", "pydantic", "no-message"],
)
def test_error_message(error, message):
    assert error_message(error) == message


def test_api_http_request_is_a_django_request_with_its_token():
    assert issubclass(ApiHttpRequest, HttpRequest)
    assert ApiHttpRequest.__annotations__ == {"auth": ApiToken}


@pytest.mark.parametrize("value", ["mia\n@example.com", "mia\r@example.com", "mia\t@example.com"])
def test_a_user_ref_is_one_line(value):
    """Issue 13, item 1: a user reference is shown as one line; line breaks are refused too."""
    with pytest.raises(ValueError, match="Control characters"):
        clean_user_ref(value)
