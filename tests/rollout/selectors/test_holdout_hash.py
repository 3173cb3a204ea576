"""The holdout slice: sticky, monotone in both percentages, and independent of the enrolment
percentage's hash (issue 18 §1)."""

from hypothesis import given, settings
from hypothesis import strategies as st

from rollout.selectors.decision import (
    BUCKETS,
    holdout_bucket,
    in_holdout,
    in_percentage,
    member_key,
    percentage_bucket,
)

workflow_pks = st.integers(min_value=1, max_value=10**9)
user_pks = st.integers(min_value=1, max_value=10**9)
percentages = st.integers(min_value=1, max_value=100)
holdouts = st.integers(min_value=0, max_value=50)


@given(workflow_pks, user_pks, holdouts, holdouts)
def test_raising_the_holdout_keeps_everyone_held_out(workflow_pk, user_pk, low, high):
    low, high = sorted((low, high))
    key = member_key(user_pk)
    if in_holdout(workflow_pk, key, low):
        assert in_holdout(workflow_pk, key, high)


@given(workflow_pks, user_pks, percentages, percentages, holdouts)
def test_raising_the_percentage_keeps_holdout_members_in_the_holdout(
    workflow_pk, user_pk, low, high, holdout
):
    """Held out = inside the enrolment percentage and inside the holdout slice; a higher
    percentage keeps them inside it, and the holdout slice does not depend on it."""
    low, high = sorted((low, high))
    key = member_key(user_pk)
    if in_percentage(workflow_pk, key, low) and in_holdout(workflow_pk, key, holdout):
        assert in_percentage(workflow_pk, key, high)
        assert in_holdout(workflow_pk, key, holdout)


@given(workflow_pks, user_pks)
def test_the_holdout_bucket_is_not_the_percentage_bucket(workflow_pk, user_pk):
    key = member_key(user_pk)
    assert 0 <= holdout_bucket(workflow_pk, key) < BUCKETS
    assert holdout_bucket(workflow_pk, key) == holdout_bucket(workflow_pk, key)  # stable


@settings(max_examples=20, deadline=None)
@given(workflow_pks, percentages, st.integers(min_value=5, max_value=50))
def test_the_holdout_is_uncorrelated_with_the_enrolment_hash(workflow_pk, percentage, holdout):
    """Among 20,000 people, the share held out is the same inside and outside the enrolment
    percentage (within sampling error), and the two buckets do not correlate."""
    keys = [member_key(pk) for pk in range(1, 20_001)]
    inside = [k for k in keys if in_percentage(workflow_pk, k, percentage)]
    outside = [k for k in keys if not in_percentage(workflow_pk, k, percentage)]
    for group in (inside, outside):
        if len(group) < 1000:
            continue
        share = sum(in_holdout(workflow_pk, k, holdout) for k in group) / len(group)
        # Binomial standard error at n ≥ 1,000 and p ≤ 0.5 is under 1.6 points: 5 of them.
        assert abs(share - holdout / 100) < 0.08
    xs = [percentage_bucket(workflow_pk, k) for k in keys]
    ys = [holdout_bucket(workflow_pk, k) for k in keys]
    n = len(keys)
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    cov = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / n
    var_x = sum((x - mean_x) ** 2 for x in xs) / n
    var_y = sum((y - mean_y) ** 2 for y in ys) / n
    # Independent uniform buckets: the correlation's standard error is 1/√n ≈ 0.007.
    assert abs(cov / (var_x * var_y) ** 0.5) < 0.04
