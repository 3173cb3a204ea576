"""core.client_ip: REMOTE_ADDR unless told how many proxies of ours stand in front."""

import pytest
from django.test import RequestFactory

from core.client_ip import client_ip


def _request(forwarded: str | None = None, remote: str = "10.0.0.5"):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


def test_by_default_x_forwarded_for_is_never_trusted(settings):
    assert settings.ROLLOUT_TRUSTED_PROXY_COUNT == 0

    assert client_ip(_request("203.0.113.9")) == "10.0.0.5"


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (1, "203.0.113.9", "203.0.113.9"),
        # The client's own claim (left) is ignored: our proxy appended what it saw.
        (1, "6.6.6.6, 203.0.113.9", "203.0.113.9"),
        (2, "6.6.6.6, 203.0.113.9, 10.0.0.2", "203.0.113.9"),
        (2, "2001:db8::1, 10.0.0.2", "2001:db8::1"),
        # Fewer hops than proxies, or garbage: the peer is the only address known to be real.
        (2, "203.0.113.9", "10.0.0.5"),
        (1, "not-an-address", "10.0.0.5"),
        (1, None, "10.0.0.5"),
    ],
)
def test_behind_proxies_the_client_is_counted_from_the_right(
    settings, proxies, forwarded, expected
):
    settings.ROLLOUT_TRUSTED_PROXY_COUNT = proxies

    assert client_ip(_request(forwarded)) == expected


def test_the_header_is_configurable(settings):
    settings.ROLLOUT_TRUSTED_PROXY_COUNT = 1
    settings.ROLLOUT_CLIENT_IP_HEADER = "HTTP_X_REAL_IP"

    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.5", HTTP_X_REAL_IP="203.0.113.9")

    assert client_ip(request) == "203.0.113.9"
