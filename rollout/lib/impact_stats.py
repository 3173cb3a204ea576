"""Impact of the AI on an outcome: AI arm vs holdout arm, compared on per-person means.

Pure Python (standard library only), no Django, no database.

The unit of analysis is the person, because people, not cases, are randomised into the holdout:
a person who handles 300 tickets is one observation, not 300. The caller reduces each person's
outcomes over the window to one number (their mean) and passes, per arm, those per-person
means (:func:`arm_summary`) or their count, sum and sum of squares
(:func:`arm_summary_from_moments`, what the rollups store). Every interval is for the difference
``AI - holdout``.

* :func:`welch_interval` — the fixed-sample Welch t interval (equal to SciPy's
  ``ttest_ind(ai, holdout, equal_var=False).confidence_interval()``). Valid when looked at ONCE.
* :func:`sequential_interval` — an always-valid interval (an asymptotic confidence sequence):
  its coverage holds simultaneously at every look, so a gate re-evaluated every few minutes does
  not cry wolf. Gates and pauses use this one.
* :func:`relative_interval` — ``(AI - holdout) / |holdout|`` with a delta-method interval.
* :func:`impact_verdict` — "AI better than holdout by at least X" from an interval.
* :func:`split_alpha` — Bonferroni share of α for a gate holding several impact conditions.

Degenerate inputs never raise: below :data:`MIN_PEOPLE_PER_ARM` people in either arm, or when a
result would not fit in a float, the interval functions return ``None`` ("not enough data").
When both arms have zero variance (everyone identical) the standard error is 0 and every
interval collapses to its point estimate. NaN or infinite inputs, and moments no data can have,
are programming errors and raise ``ValueError``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from statistics import NormalDist

from rollout.lib.student_t import t_upper_quantile

__all__ = [
    "MIN_PEOPLE_PER_ARM",
    "ArmSummary",
    "ImpactVerdict",
    "Interval",
    "IntervalMethod",
    "arm_summary",
    "arm_summary_from_moments",
    "impact_verdict",
    "relative_interval",
    "sequential_interval",
    "sequential_rho_squared",
    "split_alpha",
    "welch_interval",
]

#: Fewest people per arm for any interval. Ten keeps Welch's degrees of freedom at 9 or more
#: (``t_{0.975, 9} = 2.26``, within 16 % of the normal 1.96), so the sample variances are not
#: pure noise and the normal approximation behind the sequential and relative intervals has
#: something to stand on. Below it the pages say "not enough data".
MIN_PEOPLE_PER_ARM = 10

_EPSILON = 2.0**-52
# Two bounds within this (relative) of the effect X count as on it: 0.3 - 0.1 is
# 0.19999999999999998 in floating point, and "better by exactly X" must clear X.
_BOUND_TOLERANCE = 1e-12
_STANDARD_NORMAL = NormalDist()


def _finite(value: float, name: str) -> float:
    """``value`` as a float (ints, floats and Decimals from the database are fine)."""
    if type(value) is float and math.isfinite(value):  # the common case, first and fast
        return value
    if isinstance(value, bool | str | bytes):
        raise ValueError(f"{name} must be a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{name} must be a finite number, got {value!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return number


def _check_alpha(alpha: float) -> float:
    alpha = _finite(alpha, "alpha")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be between 0 and 1 (exclusive), got {alpha!r}")
    return alpha


# --- Arms ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ArmSummary:
    """One arm (AI or holdout): ``people`` per-person means, their mean and sample variance.

    ``variance`` is the unbiased sample variance (ddof = 1) of the per-person means; 0.0 when
    ``people < 2``; ``math.inf`` only when it exceeds the float range (values spread wider than
    ~1e154), and then every interval answers ``None``. Built by :func:`arm_summary` or
    :func:`arm_summary_from_moments`; building it directly is fine too (the fields are checked).
    """

    people: int
    mean: float
    variance: float

    def __post_init__(self) -> None:
        if isinstance(self.people, bool) or not isinstance(self.people, int) or self.people < 0:
            raise ValueError(f"people must be a whole number >= 0, got {self.people!r}")
        _finite(self.mean, "mean")
        if self.variance != math.inf and _finite(self.variance, "variance") < 0.0:
            raise ValueError(f"variance must be >= 0, got {self.variance!r}")

    @property
    def variance_of_mean(self) -> float:
        """``variance / people``: the squared standard error of the arm's mean."""
        return self.variance / self.people if self.people else 0.0


def arm_summary(values: Sequence[float]) -> ArmSummary:
    """Summarise an arm from its per-person means (one value per person).

    Corrected two-pass with exactly rounded sums (``math.fsum``): ``mean = Σx / n``,
    ``variance = (Σ(x - mean)² - (Σ(x - mean))² / n) / (n - 1)``. The sums run on ``x / 2^e``,
    with ``2^e`` the power of two at or below the largest ``|x|``: dividing by a power of two is
    exact, so the result is the same as unscaled arithmetic, but nothing overflows on the way
    for values up to the float maximum. A variance that itself exceeds the float range is
    ``math.inf`` (the intervals then answer ``None``).
    """
    xs = [_finite(value, "every value") for value in values]
    people = len(xs)
    if people == 0:
        return ArmSummary(people=0, mean=0.0, variance=0.0)
    largest = max(abs(x) for x in xs)
    if largest == 0.0:
        return ArmSummary(people=people, mean=0.0, variance=0.0)
    scale = math.ldexp(1.0, math.frexp(largest)[1] - 1)  # largest / scale in [1, 2)
    ys = [x / scale for x in xs]
    mean_y = math.fsum(ys) / people
    mean = mean_y * scale
    if people < 2:
        return ArmSummary(people=people, mean=mean, variance=0.0)
    # Corrected two-pass algorithm (Chan, Golub & LeVeque 1983): the second term removes the
    # rounding error of the mean, e.g. three identical values give exactly 0.
    deviations = [y - mean_y for y in ys]
    sum_dev = math.fsum(deviations)
    sum_sq = math.fsum(d * d for d in deviations) - sum_dev * sum_dev / people
    variance_y = max(sum_sq, 0.0) / (people - 1)
    # Overflows to inf (no exception) only when the variance is beyond the float range.
    return ArmSummary(people=people, mean=mean, variance=variance_y * scale * scale)


def arm_summary_from_moments(people: int, total: float, total_sq: float) -> ArmSummary:
    """Summarise an arm from its moments: ``total = Σx``, ``total_sq = Σx²`` over ``people``.

    ``variance = (Σx² - (Σx)² / n) / (n - 1)``. The subtraction is a fused multiply-add
    (``math.fma(-total, mean, total_sq)``: one rounding instead of two). It still cancels when
    the spread is tiny next to the mean — the moments themselves carry relative rounding of about
    ``n ε`` — so a difference below ``4 n ε Σx²`` is indistinguishable from zero and reported as
    zero variance (everyone identical), and a negative one within that noise likewise.

    Moments no real data can have (``Σx² < 0``, ``(Σx)² / n`` clearly above ``Σx²``, people
    without sums) raise ``ValueError``: they mean a bug upstream, and reading them as "no
    variance" would collapse the interval into a confident verdict.
    """
    if isinstance(people, bool) or not isinstance(people, int) or people < 0:
        raise ValueError(f"people must be a whole number >= 0, got {people!r}")
    total = _finite(total, "total")
    total_sq = _finite(total_sq, "total_sq")
    if total_sq < 0.0:
        raise ValueError(f"total_sq is a sum of squares and cannot be negative, got {total_sq!r}")
    if people == 0:
        if total != 0.0 or total_sq != 0.0:
            raise ValueError("an arm with no people must have total = total_sq = 0")
        return ArmSummary(people=0, mean=0.0, variance=0.0)
    mean = total / people
    if people < 2:
        return ArmSummary(people=people, mean=mean, variance=0.0)
    if not math.isfinite(mean * total):
        # (Σx)² / n overflows while Σx² did not: impossible for real data (Σx² >= (Σx)² / n).
        raise ValueError("total and total_sq are inconsistent: total² / people exceeds total_sq")
    sum_sq_deviations = math.fma(-total, mean, total_sq)
    rounding_noise = 4.0 * people * _EPSILON * total_sq
    if sum_sq_deviations < -rounding_noise:
        raise ValueError(
            f"total and total_sq are inconsistent: total² / people exceeds total_sq "
            f"({total!r}, {total_sq!r} over {people} people)"
        )
    if sum_sq_deviations <= rounding_noise:
        return ArmSummary(people=people, mean=mean, variance=0.0)
    return ArmSummary(people=people, mean=mean, variance=sum_sq_deviations / (people - 1))


# --- Intervals -----------------------------------------------------------------------------------


class IntervalMethod(StrEnum):
    """How an :class:`Interval` was computed."""

    WELCH = "welch"  # fixed-sample Welch t interval
    SEQUENTIAL = "sequential"  # always-valid asymptotic confidence sequence
    RELATIVE = "relative"  # delta-method interval of the relative difference


@dataclass(frozen=True, slots=True)
class Interval:
    """An interval for ``AI - holdout`` (or the relative difference, :func:`relative_interval`).

    ``estimate`` is the point estimate, ``[low, high]`` the interval at confidence ``1 - alpha``,
    ``std_error`` the standard error of the estimate, ``df`` the Welch-Satterthwaite degrees of
    freedom (``None`` for the normal-based intervals) and ``method`` how it was computed.
    """

    estimate: float
    low: float
    high: float
    std_error: float
    alpha: float
    method: IntervalMethod
    df: float | None = None

    @property
    def half_width(self) -> float:
        return self.high / 2.0 - self.low / 2.0  # halves first: high - low may overflow

    def excludes(self, value: float) -> bool:
        """True when ``value`` lies outside ``[low, high]``."""
        return value < self.low or value > self.high


def _enough(ai: ArmSummary, holdout: ArmSummary) -> bool:
    return min(ai.people, holdout.people) >= MIN_PEOPLE_PER_ARM


def _interval(
    estimate: float,
    half_width: float,
    std_error: float,
    alpha: float,
    method: IntervalMethod,
    df: float | None = None,
) -> Interval | None:
    """The interval ``estimate ± half_width``; ``None`` when it does not fit in a float."""
    low = estimate - half_width
    high = estimate + half_width
    if not all(math.isfinite(v) for v in (estimate, low, high, std_error)):
        return None
    return Interval(
        estimate=estimate,
        low=low,
        high=high,
        std_error=std_error,
        alpha=alpha,
        method=method,
        df=df,
    )


def _welch_df(ai: ArmSummary, holdout: ArmSummary) -> float:
    """Welch-Satterthwaite: ``(v_a + v_h)^2 / (v_a^2 / (n_a - 1) + v_h^2 / (n_h - 1))``,
    ``v = variance / n``. With both variances 0 the t quantile no longer matters (the interval
    is a point); ``n_a + n_h - 2`` (the pooled test's df, the limit of equal variances) is used."""
    v_ai = ai.variance_of_mean
    v_h = holdout.variance_of_mean
    if v_ai == 0.0 and v_h == 0.0:
        return float(ai.people + holdout.people - 2)
    # Divide through by the larger share first so the squares cannot overflow.
    big = max(v_ai, v_h)
    r_ai = v_ai / big
    r_h = v_h / big
    return (r_ai + r_h) ** 2 / (r_ai**2 / (ai.people - 1) + r_h**2 / (holdout.people - 1))


def _std_error(ai: ArmSummary, holdout: ArmSummary) -> float:
    """``sqrt(var_a / n_a + var_h / n_h)``, the standard error of the difference of means."""
    # hypot, not sqrt of the sum: two variances near the float maximum must not overflow.
    return math.hypot(math.sqrt(ai.variance_of_mean), math.sqrt(holdout.variance_of_mean))


def welch_interval(ai: ArmSummary, holdout: ArmSummary, *, alpha: float = 0.05) -> Interval | None:
    """Fixed-sample Welch t interval for ``mean_ai - mean_holdout`` at confidence ``1 - alpha``.

    ``estimate ± t_{1 - α/2, ν} · SE`` with ``SE = sqrt(s_a²/n_a + s_h²/n_h)`` and the
    Welch-Satterthwaite ``ν`` (Welch 1947; Satterthwaite 1946). This is exactly
    ``scipy.stats.ttest_ind(ai, holdout, equal_var=False).confidence_interval(1 - alpha)``.

    Valid for ONE look at a sample size fixed in advance; looked at repeatedly its false-alarm
    rate grows far beyond ``alpha`` (use :func:`sequential_interval` for decisions).
    ``None`` when either arm has fewer than :data:`MIN_PEOPLE_PER_ARM` people. Zero variance in
    both arms gives ``low == estimate == high``.
    """
    alpha = _check_alpha(alpha)
    if not _enough(ai, holdout):
        return None
    estimate = ai.mean - holdout.mean
    std_error = _std_error(ai, holdout)
    if not math.isfinite(std_error):
        return None
    df = _welch_df(ai, holdout)
    half_width = t_upper_quantile(alpha / 2.0, df) * std_error
    return _interval(estimate, half_width, std_error, alpha, IntervalMethod.WELCH, df)


def sequential_rho_squared(alpha: float, tuning_people: float) -> float:
    """ρ² tuned so the confidence sequence is tightest near ``tuning_people`` people in total.

    ``ρ² = (-2 log α + log(-2 log α + 1)) / N``: Waudby-Smith et al.'s closed-form choice of
    the mixture parameter that (approximately) minimises the boundary's width at ``n = N``,
    in the standardised form GrowthBook's ``sequential_rho`` uses (ρ per unit of standard
    deviation). At α = 0.05 and N = 400 it gives ρ² = 0.01984.
    """
    minus_two_log_alpha = -2.0 * math.log(alpha)
    return (minus_two_log_alpha + math.log(minus_two_log_alpha + 1.0)) / tuning_people


def sequential_interval(
    ai: ArmSummary,
    holdout: ArmSummary,
    *,
    alpha: float = 0.05,
    tuning_people: int = 400,
) -> Interval | None:
    """Always-valid interval (asymptotic confidence sequence) for ``mean_ai - mean_holdout``.

    Waudby-Smith, Arbour, Sinha, Kennedy & Ramdas, "Time-uniform central limit theory and
    asymptotic confidence sequences" (arXiv:2103.06476; Annals of Statistics, 2024): the
    two-sided asymptotic confidence sequence built on Robbins' Gaussian-mixture boundary,
    ``mean ± σ̂ · sqrt(2 (tρ² + 1) / (t² ρ²) · log(sqrt(tρ² + 1) / α))`` after ``t`` units (ρ per
    unit of standard deviation), applied to a difference of means as GrowthBook (``gbstats``:
    ``sequential_rho``, ``sequential_interval_halfwidth``, ``SequentialTwoSidedTTest``) and Eppo
    do — the units are the people of both arms and ``σ̂²`` is ``n`` times the squared standard
    error of the difference. On the scale of sums it is the two-sided normal-mixture boundary
    ``sqrt((v + r) log((v + r) / (r α²)))`` of Howard, Ramdas, McAuliffe & Sekhon (2021, eq. 14)
    at ``v = n``, ``r = 1 / ρ²``::

        n    = n_ai + n_holdout                          (people in both arms)
        s²   = n · (s_ai² / n_ai + s_h² / n_h)           (n times the squared standard error)
        ρ²   = (-2 log α + log(-2 log α + 1)) / N        (N = tuning_people)
        half = sqrt(s²) · sqrt( 2 (n ρ² + 1) / (n² ρ²) · log( sqrt(n ρ² + 1) / α ) )

    With probability ≥ 1 - α (asymptotically), the true difference lies inside the interval at
    EVERY look simultaneously, so the interval may be recomputed as often as wanted and a
    decision taken whenever it excludes a value. The price is width: wider than the fixed
    :func:`welch_interval` at every ``n`` (narrowest relative to it near ``n = N``).
    ``tuning_people`` is the total number of people (both arms) at which the sequence should be
    tightest — the expected size of a cohort's test, not a stopping rule.

    One safeguard beyond the formula: the half-width is never less than the Welch interval's
    (``t_{1-α/2, ν} · SE``). The sequence rests on the normal approximation, and with few people
    and an extreme α the exact t interval of a single look can be the wider of the two (10
    people per arm at α = 1e-10, or ``tuning_people = 20`` at α = 0.05 / 20). Widening an
    interval only adds coverage, so the result is still a confidence sequence. For α from 0.05
    down to 0.05 / 20 with ``tuning_people`` ≥ 100 the sequence is the wider from the minimum of
    10 people per arm on, and the formula applies unchanged.

    ``None`` when either arm has fewer than :data:`MIN_PEOPLE_PER_ARM` people. Zero variance in
    both arms collapses the interval to the estimate.
    """
    alpha = _check_alpha(alpha)
    if isinstance(tuning_people, bool) or not isinstance(tuning_people, int) or tuning_people < 1:
        raise ValueError(f"tuning_people must be a whole number >= 1, got {tuning_people!r}")
    if not _enough(ai, holdout):
        return None
    estimate = ai.mean - holdout.mean
    std_error = _std_error(ai, holdout)
    if not math.isfinite(std_error):
        return None
    n = ai.people + holdout.people
    rho2 = sequential_rho_squared(alpha, tuning_people)
    n_rho2_1 = n * rho2 + 1.0
    # sqrt(s²) = sqrt(n) · SE; half = SE · sqrt(n · 2 (nρ²+1) / (n² ρ²) · log(sqrt(nρ²+1) / α)).
    factor = math.sqrt(2.0 * n_rho2_1 / (n * rho2) * math.log(math.sqrt(n_rho2_1) / alpha))
    # Never narrower than the Welch t factor. t quantiles fall as df grows, so the one at the
    # whole part of df (memoised: few distinct values) bounds it from above and the exact one is
    # needed only when the sequence might be the narrower.
    df = _welch_df(ai, holdout)
    if factor < _t_factor_at_most(alpha / 2.0, math.floor(df)):
        factor = max(factor, t_upper_quantile(alpha / 2.0, df))
    return _interval(estimate, factor * std_error, std_error, alpha, IntervalMethod.SEQUENTIAL)


@functools.lru_cache(maxsize=4096)
def _t_factor_at_most(tail: float, whole_df: int) -> float:
    """``t_{1 - tail, whole_df}``: at least the t quantile for any ``df >= whole_df``."""
    return t_upper_quantile(tail, whole_df)


def relative_interval(
    ai: ArmSummary, holdout: ArmSummary, *, alpha: float = 0.05
) -> Interval | None:
    """Relative difference ``(mean_ai - mean_h) / |mean_h|`` with its delta-method interval.

    For a positive holdout mean this is ``mean_ai / mean_h - 1`` (+0.25 = "25 % higher with
    AI"); dividing by ``|mean_h|`` keeps "positive means AI is higher" for negative metrics too.
    Delta method (first-order Taylor expansion of the ratio, arms independent):

        Var ≈ var(m_a) / m_h² + m_a² · var(m_h) / m_h⁴,     var(m) = s² / n
        interval = estimate ± z_{1 - α/2} · sqrt(Var)

    ``None`` below :data:`MIN_PEOPLE_PER_ARM`, and when the holdout mean is not clearly away from
    zero: ``|m_h| <= z_{1-α/2} · SE(m_h)`` (or exactly 0). There the ratio's sampling distribution
    has no finite variance and the exact (Fieller 1954) confidence set is unbounded, so no
    delta-method figure would mean anything.
    """
    alpha = _check_alpha(alpha)
    if not _enough(ai, holdout):
        return None
    m_a = ai.mean
    m_h = holdout.mean
    z = -_STANDARD_NORMAL.inv_cdf(alpha / 2.0)
    se_a = math.sqrt(ai.variance_of_mean)
    se_h = math.sqrt(holdout.variance_of_mean)
    if m_h == 0.0 or not math.isfinite(se_h) or abs(m_h) <= z * se_h:
        return None
    abs_h = abs(m_h)
    estimate = (m_a - m_h) / abs_h
    # sqrt(Var) = hypot(se_a / |m_h|, |m_a / m_h| · se_h / |m_h|): no squares to overflow.
    std_error = math.hypot(se_a / abs_h, abs(m_a / m_h) * (se_h / abs_h))
    return _interval(estimate, z * std_error, std_error, alpha, IntervalMethod.RELATIVE)


# --- Verdicts ------------------------------------------------------------------------------------


class ImpactVerdict(StrEnum):
    """The verdict of an impact condition; values equal ``rollout.models.threshold.Verdict``'s."""

    PASS = "pass"
    MARGINAL = "marginal"
    FAIL = "fail"
    INSUFFICIENT = "insufficient_data"


def _at_least(value: float, bound: float) -> bool:
    return value >= bound - _BOUND_TOLERANCE * max(1.0, abs(bound))


def impact_verdict(
    interval: Interval | None, *, min_effect: float, higher_is_better: bool
) -> ImpactVerdict:
    """Is the AI better than the holdout by at least ``min_effect`` (X), with the interval's
    confidence?

    Higher is better ("better by X" means ``AI - holdout >= X``):

    * ``low >= X``  → PASS (the whole interval clears X);
    * ``high < X``  → FAIL (the whole interval is short of X);
    * otherwise     → MARGINAL (the interval straddles X).

    Lower is better (handle time, cost): "better by X" means ``AI - holdout <= -X``, the mirror
    image: ``high <= -X`` → PASS, ``low > -X`` → FAIL, otherwise MARGINAL.

    A bound exactly on X counts as clearing it (to within 1e-12 relative, so floating-point
    dust such as 0.19999999999999998 for 0.2 does not flip a verdict). ``min_effect`` may be 0
    ("AI at least as good") or negative ("not worse by more than |X|", a non-inferiority
    margin). X is in the interval's units: the metric's own for :func:`welch_interval` and
    :func:`sequential_interval`, a fraction (0.1 = 10 %) for :func:`relative_interval`.
    ``None`` (not enough data) → INSUFFICIENT.
    """
    min_effect = _finite(min_effect, "min_effect")
    if interval is None:
        return ImpactVerdict.INSUFFICIENT
    if higher_is_better:
        low, high, bound = interval.low, interval.high, min_effect
    else:
        # Mirror: AI - holdout <= -X  ⇔  -(AI - holdout) >= X, and -[low, high] = [-high, -low].
        low, high, bound = -interval.high, -interval.low, min_effect
    if _at_least(low, bound):
        return ImpactVerdict.PASS
    if not _at_least(high, bound):
        return ImpactVerdict.FAIL
    return ImpactVerdict.MARGINAL


def split_alpha(alpha: float, conditions: int) -> float:
    """Bonferroni: each of ``conditions`` (k >= 1) impact conditions of one gate gets ``α / k``,
    so the chance that ANY of them passes or pauses by luck stays at most ``α``."""
    alpha = _check_alpha(alpha)
    if isinstance(conditions, bool) or not isinstance(conditions, int) or conditions < 1:
        raise ValueError(f"conditions must be a whole number >= 1, got {conditions!r}")
    return alpha / conditions
