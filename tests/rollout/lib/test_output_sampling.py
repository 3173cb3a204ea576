"""The deterministic pick (rollout.lib.output_sampling): the documented formula, and its rate."""

import hashlib
import math
import uuid

import pytest

from rollout.lib.output_sampling import (
    MSG_OUTPUT_CONTROL,
    MSG_OUTPUT_KIND,
    MSG_OUTPUT_SHAPE,
    output_bucket,
    output_picked,
    output_problem,
)


def test_the_bucket_is_the_documented_formula():
    event_id = uuid.UUID("1b4e28ba-2fa1-11d2-883f-0016d3cca427")
    expected = int(hashlib.sha256(b"1b4e28ba-2fa1-11d2-883f-0016d3cca427").hexdigest()[:8], 16)
    assert output_bucket(event_id) == expected % 10000
    # Hard-coded, so a change of the formula (which tools compute themselves) fails here.
    assert output_bucket(event_id) == 2428
    # Computed with `printf … | sha256sum` too: bucket 2428 is picked from 25% up.
    assert output_picked(event_id, 25) is True
    assert output_picked(event_id, 24) is False


def test_the_pick_is_deterministic_and_grows_with_the_rate():
    ids = [uuid.UUID(int=n * 7919 + 13) for n in range(2000)]
    at_10 = {i for i in ids if output_picked(i, 10)}
    assert at_10 == {i for i in ids if output_picked(i, 10)}
    at_20 = {i for i in ids if output_picked(i, 20)}
    assert at_10 <= at_20  # raising the rate keeps every output already picked


@pytest.mark.parametrize("rate", [1, 10, 25, 50])
def test_10000_ids_are_picked_at_the_rate_within_a_binomial_tolerance(rate):
    ids = [uuid.UUID(int=(n * 2654435761) % (1 << 128)) for n in range(1, 10_001)]
    picked = sum(output_picked(i, rate) for i in ids)
    p = rate / 100
    sd = math.sqrt(10_000 * p * (1 - p))
    assert abs(picked - 10_000 * p) <= 4 * sd, (rate, picked)


@pytest.mark.parametrize(
    ("kind", "value", "problem"),
    [
        ("invocation", "A short reply.", None),
        ("invocation", "Line one\nline two\ttabbed", None),
        ("invocation", "x" * 1000, None),
        ("invocation", "https://tool.example.com/outputs/42", None),
        ("invocation", "Refund: see https://example.com/x", None),
        ("invocation", "x" * 1001, MSG_OUTPUT_SHAPE),
        ("invocation", "http://tool.example.com/outputs/42", MSG_OUTPUT_SHAPE),
        ("invocation", "ftp://tool.example.com/x", MSG_OUTPUT_SHAPE),
        ("invocation", "https://", MSG_OUTPUT_SHAPE),
        ("invocation", "https://host/with space", MSG_OUTPUT_SHAPE),
        ("invocation", "", MSG_OUTPUT_SHAPE),
        ("invocation", "   ", MSG_OUTPUT_SHAPE),
        ("invocation", 42, MSG_OUTPUT_SHAPE),
        ("invocation", None, MSG_OUTPUT_SHAPE),
        ("invocation", "bell\x07", MSG_OUTPUT_CONTROL),
        ("accepted", "A short reply.", MSG_OUTPUT_KIND),
        ("error", "A short reply.", MSG_OUTPUT_KIND),
    ],
)
def test_what_an_output_may_be(kind, value, problem):
    assert output_problem(kind, value) == problem
