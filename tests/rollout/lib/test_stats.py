"""rollout.lib.stats: two-proportion z-test, Mann-Whitney U from histograms, percentiles."""

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rollout.lib.stats import (
    LATENCY_BUCKET_COUNT,
    LATENCY_EDGES_MS,
    ProportionTest,
    ShiftTest,
    histogram_from_samples,
    is_degrading_latency,
    is_degrading_rate,
    latency_bucket,
    latency_shift_test,
    merge_histograms,
    percentile_from_histogram,
    two_proportion_test,
)


def _normal_two_sided_p(z: float) -> float:
    """Independent check of the p-value: 2 * (1 - Phi(|z|)) via math.erf."""
    return 2.0 * (1.0 - 0.5 * (1.0 + math.erf(abs(z) / math.sqrt(2.0))))


def _brute_force_u(hist_a: list[int], hist_b: list[int]) -> float:
    """U for b by enumerating every (a, b) pair of bucket indices; ties count half."""
    a = [i for i, count in enumerate(hist_a) for _ in range(count)]
    b = [i for i, count in enumerate(hist_b) for _ in range(count)]
    return sum(1.0 if y > x else 0.5 if y == x else 0.0 for x in a for y in b)


def _lognormal_latencies(rng: random.Random, n: int, median_ms: float) -> list[float]:
    return [rng.lognormvariate(math.log(median_ms), 0.6) for _ in range(n)]


# --- two_proportion_test -----------------------------------------------------------------------


class TestTwoProportion:
    def test_hand_computed_example(self):
        # Baseline 45/500 = 9 % overrides, current 60/500 = 12 %.
        # pooled p = 105/1000 = 0.105; SE = sqrt(0.105 * 0.895 * (1/500 + 1/500)) = 0.0193882
        # z = 0.03 / 0.0193882 = 1.54734; two-sided p = 0.12178
        result = two_proportion_test(45, 500, 60, 500)
        assert result.p_a == pytest.approx(0.09)
        assert result.p_b == pytest.approx(0.12)
        assert result.diff == pytest.approx(0.03)
        assert result.z == pytest.approx(1.54734, abs=1e-5)
        assert result.p_value == pytest.approx(0.12178, abs=1e-5)
        assert result.testable

    def test_textbook_unequal_samples(self):
        # 30/200 = 15 % vs 60/250 = 24 %: pooled 90/450 = 0.2;
        # SE = sqrt(0.2 * 0.8 * (1/200 + 1/250)) = sqrt(0.00144) = 0.0379473; z = 0.09 / SE
        result = two_proportion_test(30, 200, 60, 250)
        assert result.z == pytest.approx(0.09 / 0.0379473, rel=1e-5)
        assert result.z == pytest.approx(2.37171, abs=1e-5)
        assert result.p_value == pytest.approx(_normal_two_sided_p(result.z), abs=1e-12)
        assert result.p_value == pytest.approx(0.017706, abs=1e-5)

    def test_lower_rate_gives_negative_z(self):
        result = two_proportion_test(60, 250, 30, 200)
        assert result.diff == pytest.approx(-0.09)
        assert result.z == pytest.approx(-2.37171, abs=1e-5)

    def test_identical_rates(self):
        result = two_proportion_test(10, 100, 20, 200)
        assert result.diff == 0.0
        assert result.z == 0.0
        assert result.p_value == pytest.approx(1.0)

    @pytest.mark.parametrize(
        ("args", "p_a", "p_b"),
        [
            ((0, 0, 0, 0), 0.0, 0.0),  # nothing at all
            ((0, 0, 5, 50), 0.0, 0.1),  # empty baseline
            ((5, 50, 0, 0), 0.1, 0.0),  # empty current window
            ((0, 100, 0, 80), 0.0, 0.0),  # pooled rate 0: no variance
            ((100, 100, 80, 80), 1.0, 1.0),  # pooled rate 1: no variance
        ],
    )
    def test_degenerate_inputs_are_inconclusive(self, args, p_a, p_b):
        result = two_proportion_test(*args)
        assert result.z == 0.0
        assert result.p_value == 1.0
        assert result.p_a == p_a
        assert result.p_b == p_b
        assert not result.testable
        assert not is_degrading_rate(result, higher_is_worse=True)
        assert not is_degrading_rate(result, higher_is_worse=False)

    def test_one_sided_all_or_nothing_is_still_testable(self):
        # Baseline never overridden, current always overridden: maximal evidence.
        result = two_proportion_test(0, 50, 50, 50)
        assert result.testable
        assert result.z == pytest.approx(10.0)  # pooled 0.5: SE = sqrt(0.25 * 0.04) = 0.1
        assert result.p_value < 1e-20
        assert is_degrading_rate(result, higher_is_worse=True)

    @pytest.mark.parametrize(
        "args", [(-1, 10, 0, 10), (11, 10, 0, 10), (0, 10, 3, 2), (0, -1, 0, 1)]
    )
    def test_invalid_counts_raise(self, args):
        with pytest.raises(ValueError):
            two_proportion_test(*args)

    def test_is_degrading_rate_needs_significance_direction_and_effect(self):
        worse = two_proportion_test(100, 2000, 200, 2000)  # 5 % -> 10 %, p << 0.01
        assert worse.p_value < 1e-6
        assert is_degrading_rate(worse, higher_is_worse=True)
        assert not is_degrading_rate(worse, higher_is_worse=False)  # it improved, for that metric
        assert not is_degrading_rate(worse, higher_is_worse=True, min_effect=0.06)
        better = two_proportion_test(200, 2000, 100, 2000)
        assert is_degrading_rate(better, higher_is_worse=False)
        assert not is_degrading_rate(better, higher_is_worse=True)

    def test_huge_samples_trivial_effect_is_not_degrading(self):
        # 10.0 % -> 10.5 %: highly significant on a million items, but under min_effect.
        result = two_proportion_test(100_000, 1_000_000, 105_000, 1_000_000)
        assert result.p_value < 1e-10
        assert not is_degrading_rate(result, higher_is_worse=True)
        assert is_degrading_rate(result, higher_is_worse=True, min_effect=0.005)

    def test_effect_exactly_at_min_effect_counts(self):
        result = two_proportion_test(1000, 10_000, 1200, 10_000)  # 10 % -> 12 %
        assert is_degrading_rate(result, higher_is_worse=True, min_effect=0.02)

    def test_small_samples_large_effect_is_not_significant(self):
        result = two_proportion_test(1, 10, 3, 10)  # 10 % -> 30 %, but only ten items each
        assert result.p_value > 0.01
        assert not is_degrading_rate(result, higher_is_worse=True)

    def test_seeded_synthetic_rates(self):
        rng = random.Random(20240611)

        def draw(rate: float, n: int) -> int:
            return sum(rng.random() < rate for _ in range(n))

        n = 3000
        shifted = two_proportion_test(draw(0.08, n), n, draw(0.12, n), n)
        assert is_degrading_rate(shifted, higher_is_worse=True)
        flagged = sum(
            is_degrading_rate(
                two_proportion_test(draw(0.08, n), n, draw(0.08, n), n), higher_is_worse=True
            )
            for _ in range(20)
        )
        assert flagged == 0

    @settings(max_examples=200, deadline=None)
    @given(
        st.integers(0, 10_000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
        st.integers(0, 10_000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
    )
    def test_property_p_value_in_unit_interval_and_swap_symmetry(self, side_a, side_b):
        result = two_proportion_test(*side_a, *side_b)
        assert isinstance(result, ProportionTest)
        assert 0.0 <= result.p_value <= 1.0
        assert math.isfinite(result.z)
        swapped = two_proportion_test(*side_b, *side_a)
        assert swapped.z == pytest.approx(-result.z, abs=1e-9)
        assert swapped.p_value == pytest.approx(result.p_value, abs=1e-12)


# --- latency_shift_test ------------------------------------------------------------------------


class TestLatencyShift:
    def test_hand_computed_example_with_ties(self):
        # Buckets 0, 1, 2. a = {0, 0, 1}, b = {1, 1, 2}.
        # U_b: each b=1 beats both 0s and ties the 1 -> 2.5, twice = 5; b=2 beats all three -> 3.
        # U_b = 8, mean = 9/2 = 4.5. Tie sizes per bucket t = 2, 3, 1 -> sum(t^3 - t) = 6 + 24 = 30
        # var = 3*3/12 * ((6 + 1) - 30 / (6 * 5)) = 0.75 * 6 = 4.5
        # z = (|8 - 4.5| - 0.5) / sqrt(4.5) = 3 / 2.12132 = 1.41421; p = 0.157299
        result = latency_shift_test([2, 1, 0], [0, 2, 1])
        assert result == ShiftTest(
            n_a=3,
            n_b=3,
            u=8.0,
            z=pytest.approx(math.sqrt(2.0)),
            p_value=pytest.approx(0.157299, abs=1e-6),
            direction=1,
            prob_b_greater=pytest.approx(8 / 9),
        )

    def test_second_hand_computed_example(self):
        # a = {0, 1, 1, 2, 3}, b = {1, 2, 2, 3, 3, 3}. Counting per b:
        #   b=1: beats one 0, ties two 1s -> 2.0
        #   b=2 (x2): beats 0, 1, 1, ties one 2 -> 3.5 each = 7.0
        #   b=3 (x3): beats 0, 1, 1, 2, ties one 3 -> 4.5 each = 13.5
        # U_b = 22.5, mean = 15. Ties t = 1, 3, 3, 4 -> 0 + 24 + 24 + 60 = 108
        # var = 30/12 * (12 - 108/110) = 2.5 * 11.018182 = 27.545455
        # z = (7.5 - 0.5) / 5.248376 = 1.333746
        result = latency_shift_test([1, 2, 1, 1], [0, 1, 2, 3])
        assert result.u == 22.5
        assert result.z == pytest.approx(7.0 / math.sqrt(2.5 * (12 - 108 / 110)))
        assert result.z == pytest.approx(1.333746, abs=1e-6)
        assert result.p_value == pytest.approx(_normal_two_sided_p(result.z))
        assert result.direction == 1
        assert result.prob_b_greater == pytest.approx(0.75)

    def test_no_difference(self):
        result = latency_shift_test([5, 10, 5], [5, 10, 5])
        assert result.u == 200.0  # exactly n_a * n_b / 2
        assert result.direction == 0
        assert result.z == 0.0
        assert result.p_value == 1.0
        assert result.prob_b_greater == 0.5

    @pytest.mark.parametrize(
        ("hist_a", "hist_b"),
        [([0, 0, 0], [0, 0, 0]), ([0, 0, 0], [1, 2, 3]), ([1, 2, 3], [0, 0, 0]), ([], [])],
    )
    def test_empty_histograms_are_inconclusive(self, hist_a, hist_b):
        result = latency_shift_test(hist_a, hist_b)
        assert result.p_value == 1.0
        assert result.z == 0.0
        assert result.direction == 0
        assert result.prob_b_greater == 0.5
        assert not is_degrading_latency(result)

    def test_everything_in_one_bucket_has_no_variance(self):
        result = latency_shift_test([0, 40, 0], [0, 25, 0])
        assert result.p_value == 1.0
        assert result.z == 0.0
        assert result.direction == 0

    def test_complete_separation_one_observation_each(self):
        result = latency_shift_test([1, 0], [0, 1])
        assert result.u == 1.0
        assert result.direction == 1
        assert result.prob_b_greater == 1.0
        # var = 1/12 * 3 = 0.25 -> z = (0.5 - 0.5) / 0.5 = 0: one pair proves nothing.
        assert result.z == 0.0
        assert result.p_value == 1.0

    def test_mismatched_buckets_raise(self):
        with pytest.raises(ValueError, match="same buckets"):
            latency_shift_test([1, 2], [1, 2, 3])

    def test_negative_counts_raise(self):
        with pytest.raises(ValueError):
            latency_shift_test([1, -1], [1, 1])

    def test_seeded_synthetic_slowdown_is_flagged(self):
        rng = random.Random(7)
        baseline = histogram_from_samples(_lognormal_latencies(rng, 2000, 400))
        slower = histogram_from_samples(_lognormal_latencies(rng, 1500, 480))  # +20 % median
        result = latency_shift_test(baseline, slower)
        assert result.direction == 1
        assert result.p_value < 1e-6
        assert result.prob_b_greater > 0.55
        assert is_degrading_latency(result)
        assert is_degrading_latency(result, min_effect=0.05)
        assert not is_degrading_latency(result, min_effect=0.3)

    def test_seeded_synthetic_speedup_is_not_degrading(self):
        rng = random.Random(8)
        baseline = histogram_from_samples(_lognormal_latencies(rng, 2000, 400))
        faster = histogram_from_samples(_lognormal_latencies(rng, 1500, 300))
        result = latency_shift_test(baseline, faster)
        assert result.direction == -1
        assert result.p_value < 1e-6
        assert result.prob_b_greater < 0.45
        assert not is_degrading_latency(result)

    def test_seeded_synthetic_no_shift_is_not_flagged(self):
        rng = random.Random(9)
        flagged = 0
        for _ in range(20):
            baseline = histogram_from_samples(_lognormal_latencies(rng, 800, 400))
            same = histogram_from_samples(_lognormal_latencies(rng, 600, 400))
            result = latency_shift_test(baseline, same)
            assert 0.35 < result.prob_b_greater < 0.65
            flagged += is_degrading_latency(result)
        assert flagged == 0

    @settings(max_examples=150, deadline=None)
    @given(
        st.integers(1, 6).flatmap(
            lambda k: st.tuples(
                st.lists(st.integers(0, 6), min_size=k, max_size=k),
                st.lists(st.integers(0, 6), min_size=k, max_size=k),
            )
        )
    )
    def test_property_matches_brute_force_and_swap_flips_direction(self, hists):
        hist_a, hist_b = hists
        result = latency_shift_test(hist_a, hist_b)
        assert 0.0 <= result.p_value <= 1.0
        assert 0.0 <= result.prob_b_greater <= 1.0
        assert result.u == pytest.approx(_brute_force_u(hist_a, hist_b))
        swapped = latency_shift_test(hist_b, hist_a)
        assert swapped.direction == -result.direction
        assert swapped.z == pytest.approx(-result.z, abs=1e-12)
        assert swapped.p_value == pytest.approx(result.p_value, abs=1e-12)
        if result.n_a and result.n_b:
            assert swapped.prob_b_greater == pytest.approx(1.0 - result.prob_b_greater)

    @settings(max_examples=100, deadline=None)
    @given(
        st.lists(
            st.integers(0, 10_000), min_size=LATENCY_BUCKET_COUNT, max_size=LATENCY_BUCKET_COUNT
        ),
        st.lists(
            st.integers(0, 10_000), min_size=LATENCY_BUCKET_COUNT, max_size=LATENCY_BUCKET_COUNT
        ),
    )
    def test_property_large_counts_stay_finite(self, hist_a, hist_b):
        result = latency_shift_test(hist_a, hist_b)
        assert 0.0 <= result.p_value <= 1.0
        assert math.isfinite(result.z)


# --- Buckets and percentiles -------------------------------------------------------------------


class TestBuckets:
    def test_edges_constant(self):
        assert LATENCY_EDGES_MS[0] == 25
        assert LATENCY_EDGES_MS[-1] == 60000
        assert list(LATENCY_EDGES_MS) == sorted(set(LATENCY_EDGES_MS))
        assert LATENCY_BUCKET_COUNT == len(LATENCY_EDGES_MS) + 1 == 21

    @pytest.mark.parametrize(
        ("ms", "bucket"),
        [
            (-3, 0),  # clock skew
            (0, 0),
            (25, 0),  # on an edge: the bucket that edge closes
            (25.5, 1),
            (26, 1),
            (50, 1),
            (51, 2),
            (999, 10),
            (1000, 10),
            (1001, 11),
            (60000, 19),
            (60001, 20),  # overflow
            (10**9, 20),
        ],
    )
    def test_latency_bucket(self, ms, bucket):
        assert latency_bucket(ms) == bucket

    def test_histogram_from_samples_and_merge(self):
        hist = histogram_from_samples([0, 25, 26, 70000])
        assert len(hist) == LATENCY_BUCKET_COUNT
        assert hist[0] == 2 and hist[1] == 1 and hist[-1] == 1 and sum(hist) == 4
        assert merge_histograms(hist, hist)[0] == 4
        assert merge_histograms() == []
        with pytest.raises(ValueError):
            merge_histograms([1, 2], [1])


class TestPercentile:
    EDGES = (25, 50, 100)  # buckets: [0,25], (25,50], (50,100], overflow

    def test_empty_is_none(self):
        assert percentile_from_histogram([0, 0, 0, 0], self.EDGES, 0.5) is None
        assert percentile_from_histogram([0] * LATENCY_BUCKET_COUNT, LATENCY_EDGES_MS, 0.95) is None

    def test_single_bucket_interpolates_linearly(self):
        hist = [0, 0, 4, 0]  # four observations in (50, 100]
        assert percentile_from_histogram(hist, self.EDGES, 0.0) == 50.0
        assert percentile_from_histogram(hist, self.EDGES, 0.25) == 62.5
        assert percentile_from_histogram(hist, self.EDGES, 0.5) == 75.0
        assert percentile_from_histogram(hist, self.EDGES, 1.0) == 100.0

    def test_first_bucket_starts_at_zero(self):
        hist = [10, 0, 0, 0]
        assert percentile_from_histogram(hist, self.EDGES, 0.0) == 0.0
        assert percentile_from_histogram(hist, self.EDGES, 0.5) == 12.5
        assert percentile_from_histogram(hist, self.EDGES, 0.9) == pytest.approx(22.5)

    def test_exactly_on_edges(self):
        hist = [10, 10, 0, 0]
        assert percentile_from_histogram(hist, self.EDGES, 0.5) == 25.0  # boundary of bucket 0
        assert percentile_from_histogram(hist, self.EDGES, 0.75) == 37.5
        assert percentile_from_histogram(hist, self.EDGES, 1.0) == 50.0

    def test_empty_buckets_between(self):
        hist = [5, 0, 5, 0]
        assert percentile_from_histogram(hist, self.EDGES, 0.5) == 25.0
        # Just past the middle jumps over the empty bucket into (50, 100].
        assert percentile_from_histogram(hist, self.EDGES, 0.6) == pytest.approx(60.0)

    def test_overflow_returns_last_edge(self):
        assert percentile_from_histogram([0, 0, 0, 7], self.EDGES, 0.5) == 100.0
        assert percentile_from_histogram([9, 0, 0, 1], self.EDGES, 0.95) == 100.0
        assert percentile_from_histogram([9, 0, 0, 1], self.EDGES, 0.5) == pytest.approx(25 * 5 / 9)

    def test_realistic_p50_p95(self):
        samples = [120] * 50 + [450] * 45 + [2500] * 5
        hist = histogram_from_samples(samples)
        p50 = percentile_from_histogram(hist, LATENCY_EDGES_MS, 0.5)
        p95 = percentile_from_histogram(hist, LATENCY_EDGES_MS, 0.95)
        assert p50 == 150.0  # all 50 fast ones are in (100, 150]
        assert p95 == 500.0  # the 95th observation closes the (400, 500] bucket
        assert percentile_from_histogram(hist, LATENCY_EDGES_MS, 0.99) == pytest.approx(2800.0)

    @pytest.mark.parametrize("q", [-0.01, 1.01, 95])
    def test_q_out_of_range_raises(self, q):
        with pytest.raises(ValueError):
            percentile_from_histogram([1, 0, 0, 0], self.EDGES, q)

    def test_length_mismatch_raises(self):
        with pytest.raises(ValueError, match="len"):
            percentile_from_histogram([1, 0, 0], self.EDGES, 0.5)

    @settings(max_examples=150, deadline=None)
    @given(
        st.lists(st.integers(0, 50), min_size=4, max_size=4),
        st.floats(0, 1),
        st.floats(0, 1),
    )
    def test_property_monotone_and_bounded(self, hist, q1, q2):
        low, high = sorted((q1, q2))
        p_low = percentile_from_histogram(hist, self.EDGES, low)
        p_high = percentile_from_histogram(hist, self.EDGES, high)
        if sum(hist) == 0:
            assert p_low is None and p_high is None
            return
        assert 0.0 <= p_low <= p_high <= self.EDGES[-1]
