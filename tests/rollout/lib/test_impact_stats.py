"""rollout.lib.impact_stats: arms, the Welch, sequential and relative intervals, verdicts.

Expected numbers were computed once with SciPy 1.18.1 in a throwaway virtualenv (SciPy is not a
dependency): ``r = scipy.stats.ttest_ind(AI, HOLDOUT, equal_var=False)`` then
``r.confidence_interval(0.95)``. The sequential expectations were computed with GrowthBook's
``sequential_rho`` / ``sequential_interval_halfwidth`` formula written out independently.
"""

import math
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rollout.lib.impact_stats import (
    MIN_PEOPLE_PER_ARM,
    ArmSummary,
    ImpactVerdict,
    Interval,
    IntervalMethod,
    arm_summary,
    arm_summary_from_moments,
    impact_verdict,
    relative_interval,
    sequential_interval,
    sequential_rho_squared,
    split_alpha,
    welch_interval,
)
from rollout.models.threshold import Verdict

# Per-person mean handle times (seconds): 14 people with the AI, 12 in the holdout.
AI = [412.0, 388.5, 455.2, 371.9, 402.3, 398.7, 430.1, 365.4, 389.9, 420.6, 377.2, 395.5, 441.8]
AI = [*AI, 383.0]
HOLDOUT = [452.3, 470.1, 431.7, 489.6, 445.0, 502.8, 438.4, 461.9, 477.3, 449.5, 495.2, 428.8]

# A metric that goes negative, unequal arms (11 vs 20).
AI_2 = [-1.5, 0.25, 2.0, -0.75, 1.125, 3.5, -2.25, 0.0, 1.75, -0.5, 2.25]
HOLDOUT_2 = [0.5, -3.0, 1.0, -1.25, 4.5, -0.25, 2.75, -2.5, 0.75, -1.0, 3.25, -0.5, 1.5, -4.0]
HOLDOUT_2 = [*HOLDOUT_2, 0.25, 2.0, -1.75, 0.5, 1.25, -0.75]


def _arm(people: int, mean: float, variance: float) -> ArmSummary:
    return ArmSummary(people=people, mean=mean, variance=variance)


def _interval(low: float, high: float) -> Interval:
    return Interval(
        estimate=(low + high) / 2,
        low=low,
        high=high,
        std_error=1.0,
        alpha=0.05,
        method=IntervalMethod.WELCH,
    )


# --- Arms ----------------------------------------------------------------------------------------


class TestArmSummary:
    def test_values_give_mean_and_sample_variance(self):
        arm = arm_summary(AI)
        assert arm.people == 14
        assert arm.mean == pytest.approx(402.29285714285714, rel=1e-15)  # numpy.mean
        assert arm.variance == pytest.approx(711.7037912087916, rel=1e-13)  # numpy ddof=1
        assert arm_summary(HOLDOUT).variance == pytest.approx(631.34696969697, rel=1e-13)

    def test_moments_agree_with_values(self):
        from_values = arm_summary(AI)
        from_moments = arm_summary_from_moments(
            len(AI), math.fsum(AI), math.fsum(x * x for x in AI)
        )
        assert from_moments.people == from_values.people
        assert from_moments.mean == pytest.approx(from_values.mean, rel=1e-15)
        assert from_moments.variance == pytest.approx(from_values.variance, rel=1e-9)

    def test_moments_accept_decimals_from_the_database(self):
        arm = arm_summary_from_moments(3, Decimal("6"), Decimal("14"))
        assert arm == ArmSummary(people=3, mean=2.0, variance=1.0)

    def test_large_offset_keeps_its_variance(self):
        # Per-person costs around a million with a spread of ~1: the textbook one-pass
        # formula loses everything here; two-pass from values and fma from moments do not.
        values = [1e6 + d for d in (-1.5, -0.5, 0.0, 0.5, 1.5, 1.0, -1.0)]
        exact = 7.0 / 6  # Σd² / (n - 1), the deviations summing to zero
        assert arm_summary(values).variance == pytest.approx(exact, rel=1e-12)
        moments = arm_summary_from_moments(
            len(values), math.fsum(values), math.fsum(v * v for v in values)
        )
        assert moments.variance == pytest.approx(exact, rel=1e-6)

    def test_everyone_identical_has_zero_variance(self):
        assert arm_summary([0.1] * 25) == ArmSummary(people=25, mean=0.1, variance=0.0)
        # Σx and Σx² carry rounding; the leftover dust is reported as exactly zero.
        values = [0.1] * 25
        arm = arm_summary_from_moments(25, sum(values), sum(v * v for v in values))
        assert arm.variance == 0.0
        assert arm.mean == pytest.approx(0.1, rel=1e-15)

    def test_empty_and_single_person_arms(self):
        assert arm_summary([]) == ArmSummary(people=0, mean=0.0, variance=0.0)
        assert arm_summary([7.5]) == ArmSummary(people=1, mean=7.5, variance=0.0)
        assert arm_summary_from_moments(0, 0, 0) == ArmSummary(people=0, mean=0.0, variance=0.0)
        assert arm_summary_from_moments(1, -3.0, 9.0) == ArmSummary(1, -3.0, 0.0)

    def test_huge_values_do_not_overflow(self):
        arm = arm_summary([1e200, -1e200, 3e200, 1e200])
        assert arm.mean == pytest.approx(1e200, rel=1e-15)
        assert arm.variance == math.inf  # (~2.7e400): beyond the float range, said so
        arm = arm_summary([1e150, 2e150, 3e150])
        assert arm.mean == pytest.approx(2e150, rel=1e-15)
        assert arm.variance == pytest.approx(1e300, rel=1e-12)
        near_max = arm_summary([1.7e308, 1.7e308, 1.7e308])
        assert near_max.mean == pytest.approx(1.7e308) and near_max.variance == 0.0

    @pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
    def test_nan_and_inf_raise(self, bad):
        with pytest.raises(ValueError, match="finite"):
            arm_summary([1.0, bad, 2.0])
        with pytest.raises(ValueError, match="finite"):
            arm_summary_from_moments(3, bad, 5.0)
        with pytest.raises(ValueError, match="finite"):
            arm_summary_from_moments(3, 3.0, bad)
        with pytest.raises(ValueError, match="finite"):
            ArmSummary(people=3, mean=bad, variance=1.0)

    @pytest.mark.parametrize(
        "call",
        [
            lambda: arm_summary_from_moments(-1, 0.0, 0.0),
            lambda: arm_summary_from_moments(2.5, 1.0, 1.0),
            lambda: arm_summary_from_moments(True, 1.0, 1.0),
            lambda: arm_summary_from_moments(3, 1.0, -1.0),
            lambda: arm_summary_from_moments(0, 1.0, 1.0),
            lambda: arm_summary_from_moments(2, 1e300, 1.0),
            lambda: arm_summary_from_moments(2, 10.0, 1.0),  # (Σx)² / n = 50 > Σx² = 1
            lambda: arm_summary(["1.5", 2.0]),
            lambda: ArmSummary(people=3, mean=1.0, variance=-0.5),
            lambda: ArmSummary(people=-2, mean=1.0, variance=0.5),
        ],
    )
    def test_impossible_input_raises(self, call):
        with pytest.raises(ValueError):
            call()


# --- Welch ---------------------------------------------------------------------------------------


class TestWelchInterval:
    def test_equals_scipy_on_a_known_data_set(self):
        interval = welch_interval(arm_summary(AI), arm_summary(HOLDOUT))
        assert interval is not None
        assert interval.estimate == pytest.approx(-59.59047619047624, rel=1e-12)
        assert interval.low == pytest.approx(-80.59359125381484, rel=1e-10)
        assert interval.high == pytest.approx(-38.58736112713764, rel=1e-10)
        assert interval.df == pytest.approx(23.758338123487007, rel=1e-12)
        assert interval.method == "welch"
        assert interval.alpha == 0.05

    def test_equals_scipy_at_99_percent(self):
        interval = welch_interval(arm_summary(AI), arm_summary(HOLDOUT), alpha=0.01)
        assert interval.low == pytest.approx(-88.06268378906816, rel=1e-10)
        assert interval.high == pytest.approx(-31.11826859188431, rel=1e-10)

    def test_equals_scipy_with_negative_values_and_unequal_arms(self):
        interval = welch_interval(arm_summary(AI_2), arm_summary(HOLDOUT_2))
        assert interval.estimate == pytest.approx(0.3715909090909091, rel=1e-12)
        assert interval.low == pytest.approx(-1.0927646880365198, rel=1e-10)
        assert interval.high == pytest.approx(1.835946506218338, rel=1e-10)
        assert interval.df == pytest.approx(24.31470699772646, rel=1e-12)

    def test_from_moments_equals_from_values(self):
        moments = [
            arm_summary_from_moments(len(xs), math.fsum(xs), math.fsum(x * x for x in xs))
            for xs in (AI, HOLDOUT)
        ]
        interval = welch_interval(*moments)
        assert interval.low == pytest.approx(-80.59359125381484, rel=1e-9)
        assert interval.high == pytest.approx(-38.58736112713764, rel=1e-9)

    def test_below_the_minimum_is_none(self):
        enough = _arm(MIN_PEOPLE_PER_ARM, 5.0, 1.0)
        short = _arm(MIN_PEOPLE_PER_ARM - 1, 5.0, 1.0)
        assert welch_interval(enough, enough) is not None
        assert welch_interval(short, enough) is None
        assert welch_interval(enough, short) is None
        assert welch_interval(_arm(0, 0.0, 0.0), enough) is None  # no holdout at all

    def test_zero_variance_collapses_to_the_estimate(self):
        interval = welch_interval(_arm(30, 12.0, 0.0), _arm(20, 15.5, 0.0))
        assert (interval.low, interval.estimate, interval.high) == (-3.5, -3.5, -3.5)
        assert interval.std_error == 0.0

    def test_one_arm_without_variance_takes_the_others_df(self):
        interval = welch_interval(_arm(30, 12.0, 0.0), _arm(20, 15.5, 4.0))
        assert interval.df == pytest.approx(19.0, rel=1e-15)

    def test_variance_beyond_the_float_range_says_nothing(self):
        wide = arm_summary([1e200, -1e200, 3e200] * 5)
        assert welch_interval(wide, wide) is None
        assert sequential_interval(wide, wide) is None
        assert relative_interval(wide, arm_summary([1e200] * 15)) is None

    def test_huge_but_representable_values(self):
        ai = _arm(50, 3e150, 1e300)  # standard deviation 1e150
        holdout = _arm(50, 1e150, 1e300)
        interval = welch_interval(ai, holdout)
        assert interval.estimate == pytest.approx(2e150)
        assert interval.low < interval.estimate < interval.high
        # the difference itself overflowing is "nothing to say", not an exception
        assert welch_interval(_arm(50, 1.7e308, 1.0), _arm(50, -1.7e308, 1.0)) is None

    @pytest.mark.parametrize("alpha", [0.0, 1.0, -0.1, math.nan, 2])
    def test_bad_alpha_raises(self, alpha):
        arm = _arm(20, 1.0, 1.0)
        with pytest.raises(ValueError, match="alpha"):
            welch_interval(arm, arm, alpha=alpha)


# --- Sequential ----------------------------------------------------------------------------------


class TestSequentialInterval:
    @pytest.mark.parametrize(
        ("ai", "holdout", "alpha", "tuning", "low", "high"),
        [
            # Expected: GrowthBook's formula evaluated independently (see the module docstring).
            (
                (200, 10.3, 1.2),
                (200, 10.0, 1.1),
                0.05,
                400,
                -0.025489902417108967,
                0.6254899024171103,
            ),
            ((35, -2.5, 16.0), (60, -1.0, 9.0), 0.05, 5000, -6.830389588111525, 3.830389588111525),
            (
                (1000, 310.0, 2500.0),
                (250, 355.0, 3600.0),
                0.0125,
                400,
                -59.64520357488209,
                -30.35479642511791,
            ),
        ],
    )
    def test_published_formula(self, ai, holdout, alpha, tuning, low, high):
        interval = sequential_interval(_arm(*ai), _arm(*holdout), alpha=alpha, tuning_people=tuning)
        assert interval.low == pytest.approx(low, rel=1e-12)
        assert interval.high == pytest.approx(high, rel=1e-12)
        assert interval.estimate == pytest.approx(ai[1] - holdout[1], rel=1e-15)
        assert interval.method == "sequential" and interval.df is None

    def test_hand_computed_rho_and_factor(self):
        # alpha = 0.05, N = 400: rho^2 = (5.991465 + log 6.991465) / 400 = 0.01984039;
        # n = 400: n rho^2 = 7.936155; 2 (n rho^2 + 1) / (n^2 rho^2) = 0.005630028;
        # log(sqrt(8.936155) / 0.05) = log(2.989340 / 0.05) = 4.090785;
        # factor = sqrt(0.005630028 * 4.090785) = 0.1517604; half width = factor * sqrt(n) * SE.
        se = math.sqrt(1.2 / 200 + 1.1 / 200)
        interval = sequential_interval(_arm(200, 10.3, 1.2), _arm(200, 10.0, 1.1))
        assert interval.half_width / (20 * se) == pytest.approx(0.1517604, rel=1e-6)

    @pytest.mark.parametrize(
        ("n_ai", "n_h", "alpha", "tuning"),
        [(200, 200, 0.05, 400), (35, 60, 0.01, 5000), (1000, 250, 0.0125, 400)],
    )
    def test_is_howards_two_sided_normal_mixture_boundary(self, n_ai, n_h, alpha, tuning):
        # The same boundary in Howard, Ramdas, McAuliffe & Sekhon (2021, eq. 14), on the scale
        # of sums in intrinsic time v = n with r = 1 / rho^2:
        #     u(v) = sqrt((v + r) log((v + r) / (r alpha^2))),   half width = sqrt(s^2) u(n) / n.
        ai, holdout = _arm(n_ai, 2.0, 3.0), _arm(n_h, 1.0, 5.0)
        interval = sequential_interval(ai, holdout, alpha=alpha, tuning_people=tuning)
        n = n_ai + n_h
        r = 1 / sequential_rho_squared(alpha, tuning)
        u = math.sqrt((n + r) * math.log((n + r) / (r * alpha**2)))
        s2 = n * (3.0 / n_ai + 5.0 / n_h)
        assert interval.half_width == pytest.approx(math.sqrt(s2) * u / n, rel=1e-13)

    @pytest.mark.parametrize("people", [10, 30, 100, 200, 1000, 10_000, 1_000_000])
    @pytest.mark.parametrize("tuning", [100, 400, 5000])
    def test_always_wider_than_the_fixed_interval(self, people, tuning):
        ai = _arm(people, 1.0, 2.0)
        holdout = _arm(people, 0.8, 1.5)
        fixed = welch_interval(ai, holdout)
        sequential = sequential_interval(ai, holdout, tuning_people=tuning)
        assert sequential.half_width > fixed.half_width
        assert sequential.estimate == fixed.estimate

    def test_never_narrower_than_welch_with_few_people_and_a_tiny_alpha(self):
        # 10 per arm, all the spread in one arm (Welch df 9), alpha 1e-10: the normal-based
        # sequence alone would be narrower than t_9 allows, so it takes the Welch width.
        ai, holdout = _arm(10, 0.0, 1.0), _arm(10, 0.0, 0.0)
        fixed = welch_interval(ai, holdout, alpha=1e-10)
        sequential = sequential_interval(ai, holdout, alpha=1e-10)
        assert fixed.df == pytest.approx(9.0)
        assert sequential.half_width == pytest.approx(fixed.half_width, rel=1e-15)
        assert sequential.method == "sequential"
        # At a gate's alpha (0.05 / 20 here) the formula rules even at the minimum of 10:
        fixed = welch_interval(ai, holdout, alpha=0.05 / 20)
        assert sequential_interval(ai, holdout, alpha=0.05 / 20).half_width > fixed.half_width

    def test_shrinks_as_people_grow(self):
        widths = [
            sequential_interval(_arm(n, 1.0, 2.0), _arm(n, 0.8, 1.5)).half_width
            for n in (10, 20, 50, 100, 200, 500, 1000, 5000, 100_000)
        ]
        assert widths == sorted(widths, reverse=True)
        assert len(set(widths)) == len(widths)

    def test_below_the_minimum_is_none(self):
        enough = _arm(MIN_PEOPLE_PER_ARM, 5.0, 1.0)
        assert sequential_interval(_arm(MIN_PEOPLE_PER_ARM - 1, 5.0, 1.0), enough) is None
        assert sequential_interval(enough, _arm(0, 0.0, 0.0)) is None
        assert sequential_interval(enough, enough) is not None

    def test_zero_variance_collapses_to_the_estimate(self):
        interval = sequential_interval(_arm(40, -2.0, 0.0), _arm(40, -2.5, 0.0))
        assert (interval.low, interval.estimate, interval.high) == (0.5, 0.5, 0.5)

    @pytest.mark.parametrize("tuning", [0, -5, 2.5, True])
    def test_bad_tuning_raises(self, tuning):
        arm = _arm(20, 1.0, 1.0)
        with pytest.raises(ValueError, match="tuning_people"):
            sequential_interval(arm, arm, tuning_people=tuning)


# --- Relative ------------------------------------------------------------------------------------


class TestRelativeInterval:
    def test_delta_method(self):
        ai = _arm(100, 90.0, 400.0)  # SE of the mean 2
        holdout = _arm(100, 120.0, 900.0)  # SE of the mean 3
        interval = relative_interval(ai, holdout)
        # estimate = 90 / 120 - 1 = -0.25; Var = 4 / 120² + 0.75² * 9 / 120²
        se = math.sqrt(4 / 120**2 + 0.75**2 * 9 / 120**2)
        z = 1.959963984540054
        assert interval.estimate == pytest.approx(-0.25, rel=1e-15)
        assert interval.std_error == pytest.approx(se, rel=1e-14)
        assert interval.low == pytest.approx(-0.25 - z * se, rel=1e-13)
        assert interval.high == pytest.approx(-0.25 + z * se, rel=1e-13)
        assert interval.method == "relative"

    def test_negative_holdout_mean_keeps_the_direction(self):
        # AI -50 vs holdout -100: AI is higher, so the relative difference is +50 %.
        interval = relative_interval(_arm(50, -50.0, 25.0), _arm(50, -100.0, 25.0))
        assert interval.estimate == pytest.approx(0.5, rel=1e-15)

    def test_holdout_mean_at_or_near_zero_is_none(self):
        ai = _arm(100, 5.0, 1.0)
        assert relative_interval(ai, _arm(100, 0.0, 1.0)) is None
        assert relative_interval(ai, _arm(100, 0.0, 0.0)) is None
        # SE of the holdout mean = 0.1: a mean of 0.19 is within 1.96 SE of zero.
        assert relative_interval(ai, _arm(100, 0.19, 1.0)) is None
        assert relative_interval(ai, _arm(100, 0.2, 1.0)) is not None

    def test_below_the_minimum_is_none(self):
        assert relative_interval(_arm(9, 5.0, 1.0), _arm(100, 4.0, 1.0)) is None

    def test_zero_variance_collapses(self):
        interval = relative_interval(_arm(20, 3.0, 0.0), _arm(20, 2.0, 0.0))
        assert (interval.low, interval.estimate, interval.high) == (0.5, 0.5, 0.5)


# --- Verdicts ------------------------------------------------------------------------------------


class TestImpactVerdict:
    def test_values_equal_the_threshold_verdicts(self):
        assert ImpactVerdict.PASS == Verdict.PASS
        assert ImpactVerdict.MARGINAL == Verdict.MARGINAL
        assert ImpactVerdict.FAIL == Verdict.FAIL
        assert ImpactVerdict.INSUFFICIENT == Verdict.INSUFFICIENT_DATA

    @pytest.mark.parametrize(
        ("low", "high", "expected"),
        [
            (0.6, 0.9, ImpactVerdict.PASS),
            (0.5, 0.9, ImpactVerdict.PASS),  # low exactly on X clears it
            (0.4999, 0.9, ImpactVerdict.MARGINAL),
            (0.1, 0.5, ImpactVerdict.MARGINAL),  # high exactly on X: not wholly short of X
            (0.1, 0.4999, ImpactVerdict.FAIL),
            (-0.5, -0.1, ImpactVerdict.FAIL),
            (0.5, 0.5, ImpactVerdict.PASS),  # a collapsed interval on X
        ],
    )
    def test_higher_is_better(self, low, high, expected):
        verdict = impact_verdict(_interval(low, high), min_effect=0.5, higher_is_better=True)
        assert verdict == expected

    @pytest.mark.parametrize(
        ("low", "high", "expected"),
        [
            # handle time: better by 30 s means AI - holdout <= -30
            (-80.0, -40.0, ImpactVerdict.PASS),
            (-80.0, -30.0, ImpactVerdict.PASS),  # high exactly on -X clears it
            (-80.0, -29.9, ImpactVerdict.MARGINAL),
            (-30.0, 10.0, ImpactVerdict.MARGINAL),
            (-29.9, 10.0, ImpactVerdict.FAIL),
            (5.0, 40.0, ImpactVerdict.FAIL),
        ],
    )
    def test_lower_is_better(self, low, high, expected):
        verdict = impact_verdict(_interval(low, high), min_effect=30.0, higher_is_better=False)
        assert verdict == expected

    def test_floating_point_dust_on_the_bound_still_clears(self):
        # 0.3 - 0.1 = 0.19999999999999998
        interval = _interval(0.3 - 0.1, 0.5)
        assert impact_verdict(interval, min_effect=0.2, higher_is_better=True) == "pass"

    def test_zero_and_negative_effects(self):
        straddles_zero = _interval(-0.1, 0.3)
        assert impact_verdict(straddles_zero, min_effect=0.0, higher_is_better=True) == "marginal"
        # non-inferiority: "not worse by more than 0.2"
        assert impact_verdict(straddles_zero, min_effect=-0.2, higher_is_better=True) == "pass"

    def test_none_is_insufficient(self):
        for higher in (True, False):
            verdict = impact_verdict(None, min_effect=1.0, higher_is_better=higher)
            assert verdict == ImpactVerdict.INSUFFICIENT

    def test_end_to_end_from_the_data(self):
        # AI handles tickets ~60 s faster; the 95 % interval is [-80.6, -38.6].
        interval = welch_interval(arm_summary(AI), arm_summary(HOLDOUT))
        faster_by = {30: "pass", 38: "pass", 50: "marginal", 80: "marginal", 81: "fail"}
        for seconds, expected in faster_by.items():
            verdict = impact_verdict(interval, min_effect=seconds, higher_is_better=False)
            assert verdict == expected, seconds
        # No holdout yet: not enough data.
        no_holdout = welch_interval(arm_summary(AI), arm_summary([]))
        verdict = impact_verdict(no_holdout, min_effect=30, higher_is_better=False)
        assert verdict == "insufficient_data"

    @pytest.mark.parametrize("bad", [math.nan, math.inf])
    def test_bad_effect_raises(self, bad):
        with pytest.raises(ValueError, match="min_effect"):
            impact_verdict(_interval(0.0, 1.0), min_effect=bad, higher_is_better=True)


def test_split_alpha():
    assert split_alpha(0.05, 1) == 0.05
    assert split_alpha(0.05, 4) == 0.0125
    assert split_alpha(0.1, 3) == pytest.approx(0.1 / 3, rel=1e-15)
    for conditions in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="conditions"):
            split_alpha(0.05, conditions)
    for alpha in (0.0, 1.0, math.nan):
        with pytest.raises(ValueError, match="alpha"):
            split_alpha(alpha, 2)


# --- Properties over any finite input ------------------------------------------------------------

_finite_floats = st.floats(allow_nan=False, allow_infinity=False)
_arms = st.builds(
    ArmSummary,
    people=st.integers(min_value=0, max_value=10**9),
    mean=_finite_floats,
    variance=st.floats(min_value=0.0, allow_infinity=False),
)


@settings(max_examples=300, deadline=None)
@given(values=st.lists(_finite_floats, max_size=40))
def test_arm_summary_never_raises_on_finite_values(values):
    arm = arm_summary(values)
    assert arm.people == len(values)
    assert arm.variance >= 0.0


@settings(max_examples=300, deadline=None)
@given(ai=_arms, holdout=_arms, alpha=st.floats(min_value=1e-10, max_value=0.5))
def test_intervals_are_none_or_finite_and_ordered(ai, holdout, alpha):
    welch = welch_interval(ai, holdout, alpha=alpha)
    sequential = sequential_interval(ai, holdout, alpha=alpha)
    relative = relative_interval(ai, holdout, alpha=alpha)
    for interval in (welch, sequential, relative):
        if interval is not None:
            assert all(math.isfinite(v) for v in (interval.low, interval.estimate, interval.high))
            assert interval.low <= interval.estimate <= interval.high
    if min(ai.people, holdout.people) < MIN_PEOPLE_PER_ARM:
        assert welch is None and sequential is None and relative is None
    if welch is not None and sequential is not None:
        # the always-valid interval is never the narrower one
        assert sequential.low <= welch.low and welch.high <= sequential.high


@settings(max_examples=300, deadline=None)
@given(
    low=st.floats(min_value=-1e6, max_value=1e6),
    width=st.floats(min_value=0.0, max_value=1e6),
    min_effect=st.floats(min_value=-1e6, max_value=1e6),
)
def test_lower_is_better_mirrors_higher_is_better(low, width, min_effect):
    interval = _interval(low, low + width)
    mirrored = _interval(-(low + width), -low)
    assert impact_verdict(
        interval, min_effect=min_effect, higher_is_better=False
    ) == impact_verdict(mirrored, min_effect=min_effect, higher_is_better=True)


@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.floats(min_value=-1e6, max_value=1e6), min_size=2, max_size=40))
def test_moments_agree_with_values_for_any_data(values):
    from_values = arm_summary(values)
    from_moments = arm_summary_from_moments(
        len(values), math.fsum(values), math.fsum(v * v for v in values)
    )
    assert from_moments.mean == pytest.approx(from_values.mean, rel=1e-12, abs=1e-9)
    # From moments, the variance is only as good as Σx² allows (rounding ~ n ε Σx²).
    slack = 8 * len(values) * 2.0**-52 * math.fsum(v * v for v in values) / (len(values) - 1)
    assert abs(from_moments.variance - from_values.variance) <= slack + 1e-12
