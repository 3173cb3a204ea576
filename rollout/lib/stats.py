"""Drift tests for cohort metrics: is a cohort's current window worse than its baseline window?

Pure Python (standard library only), no Django, no database. Two tests:

* rates (override rate, error rate, ...): a pooled two-proportion z-test,
  :func:`two_proportion_test`;
* latencies, stored as bucketed histograms (:data:`LATENCY_EDGES_MS`): a Mann-Whitney U test
  computed straight from two histograms over the same buckets, :func:`latency_shift_test`.

Convention everywhere: ``a`` is the baseline (reference) window, ``b`` the window under test.
A positive ``diff`` / ``direction`` means ``b`` is higher / slower than ``a``.

:func:`is_degrading_rate` and :func:`is_degrading_latency` turn a test result into the yes/no
"flag this cohort as degrading" verdict, requiring both statistical significance and (for rates)
a minimum practical effect so that huge samples don't flag trivial changes.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "RateRatioTest",
    "is_degrading_rate_ratio",
    "rate_ratio_test",
    "LATENCY_BUCKET_COUNT",
    "LATENCY_EDGES_MS",
    "ProportionTest",
    "ShiftTest",
    "histogram_from_samples",
    "is_degrading_latency",
    "is_degrading_rate",
    "latency_bucket",
    "latency_shift_test",
    "merge_histograms",
    "percentile_from_histogram",
    "two_proportion_test",
]

#: Upper bounds (inclusive, in milliseconds) of the latency buckets. Bucket 0 covers [0, 25],
#: bucket i covers (EDGES[i-1], EDGES[i]], and one final overflow bucket holds everything above
#: 60 s, so a latency histogram has ``len(LATENCY_EDGES_MS) + 1`` counts.
LATENCY_EDGES_MS: tuple[int, ...] = (
    25,
    50,
    75,
    100,
    150,
    200,
    300,
    400,
    500,
    750,
    1000,
    1500,
    2000,
    3000,
    5000,
    7500,
    10000,
    20000,
    30000,
    60000,
)

#: Number of counts in a latency histogram (the buckets plus the overflow bucket).
LATENCY_BUCKET_COUNT: int = len(LATENCY_EDGES_MS) + 1


def latency_bucket(ms: float, edges: Sequence[float] = LATENCY_EDGES_MS) -> int:
    """Index into a latency histogram for a latency of ``ms`` milliseconds.

    A value exactly on an edge belongs to the bucket that edge closes (25 ms -> bucket 0,
    26 ms -> bucket 1); anything above the last edge goes to the overflow bucket
    ``len(edges)``. Negative values (clock skew) count as bucket 0.
    """
    return bisect_left(edges, ms)


def histogram_from_samples(
    samples_ms: Iterable[float], edges: Sequence[float] = LATENCY_EDGES_MS
) -> list[int]:
    """Bucket raw latencies (ms) into a histogram of ``len(edges) + 1`` counts."""
    hist = [0] * (len(edges) + 1)
    for ms in samples_ms:
        hist[latency_bucket(ms, edges)] += 1
    return hist


def merge_histograms(*hists: Sequence[int]) -> list[int]:
    """Bucket-wise sum of histograms of equal length (e.g. daily rows into a window)."""
    if not hists:
        return []
    length = len(hists[0])
    if any(len(h) != length for h in hists):
        raise ValueError("histograms must have the same number of buckets")
    return [sum(column) for column in zip(*hists, strict=True)]


_EFFECT_TOLERANCE = 1e-9


def _two_sided_p(z: float) -> float:
    """Two-sided p-value of a standard normal statistic: P(|Z| >= |z|) = erfc(|z| / sqrt 2)."""
    return min(1.0, max(0.0, math.erfc(abs(z) / math.sqrt(2.0))))


# --- Rates -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProportionTest:
    """Result of :func:`two_proportion_test`. ``a`` is the baseline, ``b`` the window under test.

    ``p_a``/``p_b`` are 0.0 when the matching ``n`` is 0 (check ``n_a``/``n_b`` before showing
    them). ``z`` is positive when ``b``'s rate is higher. ``p_value`` is two-sided.
    """

    successes_a: int
    n_a: int
    successes_b: int
    n_b: int
    p_a: float
    p_b: float
    diff: float
    z: float
    p_value: float

    @property
    def testable(self) -> bool:
        """False when the test could not say anything (an empty side, or all/no successes)."""
        pooled_successes = self.successes_a + self.successes_b
        pooled_n = self.n_a + self.n_b
        return self.n_a > 0 and self.n_b > 0 and 0 < pooled_successes < pooled_n


def two_proportion_test(successes_a: int, n_a: int, successes_b: int, n_b: int) -> ProportionTest:
    """Pooled two-proportion z-test of H0: rate_a == rate_b (two-sided).

    ``z = (p_b - p_a) / sqrt(p (1 - p) (1/n_a + 1/n_b))`` with ``p`` the pooled rate. When either
    side is empty, or the pooled rate is exactly 0 or 1 (no variance), the test is inconclusive:
    ``z = 0`` and ``p_value = 1.0`` (never an exception). Negative counts or more successes than
    trials are programming errors and raise ``ValueError``.
    """
    for successes, n, side in ((successes_a, n_a, "a"), (successes_b, n_b, "b")):
        if n < 0 or successes < 0 or successes > n:
            raise ValueError(f"side {side}: need 0 <= successes <= n, got {successes}/{n}")
    p_a = successes_a / n_a if n_a else 0.0
    p_b = successes_b / n_b if n_b else 0.0
    diff = p_b - p_a
    z = 0.0
    p_value = 1.0
    if n_a and n_b:
        pooled = (successes_a + successes_b) / (n_a + n_b)
        variance = pooled * (1.0 - pooled) * (1.0 / n_a + 1.0 / n_b)
        if 0.0 < pooled < 1.0 and variance > 0.0:
            z = diff / math.sqrt(variance)
            p_value = _two_sided_p(z)
    return ProportionTest(
        successes_a=successes_a,
        n_a=n_a,
        successes_b=successes_b,
        n_b=n_b,
        p_a=p_a,
        p_b=p_b,
        diff=diff,
        z=z,
        p_value=p_value,
    )


def is_degrading_rate(
    test: ProportionTest,
    *,
    higher_is_worse: bool,
    alpha: float = 0.01,
    min_effect: float = 0.02,
) -> bool:
    """True when ``b``'s rate is significantly AND materially worse than ``a``'s.

    Significant: ``p_value < alpha``. Material: the rate moved by at least ``min_effect``
    (absolute, e.g. 0.02 = two percentage points) in the bad direction (up when
    ``higher_is_worse``, e.g. override or error rates; down otherwise, e.g. acceptance rates).
    """
    if test.p_value >= alpha:
        return False
    worsening = test.diff if higher_is_worse else -test.diff
    # Tolerance: 0.105 - 0.1 is 0.00499999... in floating point, and "moved by exactly
    # min_effect" should count.
    return worsening > 0 and worsening >= min_effect - _EFFECT_TOLERANCE


# --- Rates per unit (events per person) ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RateRatioTest:
    """Result of :func:`rate_ratio_test`: ``count`` events over ``exposure`` units (e.g.
    invocations over active people) in ``a`` (baseline) and ``b``. Rates are 0.0 without
    exposure; ``p_value`` is two-sided and 1.0 when the test cannot say anything."""

    count_a: int
    exposure_a: int
    count_b: int
    exposure_b: int
    rate_a: float
    rate_b: float
    z: float
    p_value: float


def rate_ratio_test(count_a: int, exposure_a: int, count_b: int, exposure_b: int) -> RateRatioTest:
    """Conditional test of H0: rate_a == rate_b for two Poisson counts. Given the ``n`` events of
    both sides, under H0 ``count_b`` is Binomial(n, exposure_b / (exposure_a + exposure_b));
    normal approximation. Per-person use varies more than Poisson, so the p-value is optimistic:
    callers pair it with a strict alpha and a material change (:func:`is_degrading_rate_ratio`).
    Negative inputs raise ``ValueError``."""
    if min(count_a, exposure_a, count_b, exposure_b) < 0:
        raise ValueError("counts and exposures must be >= 0")
    rate_a = count_a / exposure_a if exposure_a else 0.0
    rate_b = count_b / exposure_b if exposure_b else 0.0
    n = count_a + count_b
    z, p_value = 0.0, 1.0
    if n and exposure_a and exposure_b:
        share = exposure_b / (exposure_a + exposure_b)
        z = (count_b - n * share) / math.sqrt(n * share * (1.0 - share))
        p_value = _two_sided_p(z)
    return RateRatioTest(count_a, exposure_a, count_b, exposure_b, rate_a, rate_b, z, p_value)


def is_degrading_rate_ratio(
    test: RateRatioTest, *, alpha: float = 0.01, min_drop: float = 0.2
) -> bool:
    """True when ``b``'s rate fell significantly AND by at least ``min_drop`` of ``a``'s
    (relative: 0.2 = a fifth fewer events per unit)."""
    if test.p_value >= alpha or test.rate_a <= 0:
        return False
    return test.rate_b <= test.rate_a * (1.0 - min_drop) + _EFFECT_TOLERANCE


# --- Latencies ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ShiftTest:
    """Result of :func:`latency_shift_test`. ``a`` is the baseline, ``b`` the window under test.

    * ``u`` is U for ``b``: the number of (a, b) pairs with b in a higher bucket than a, plus
      half the pairs in the same bucket. Under H0 its mean is ``n_a * n_b / 2``.
    * ``z`` is the normal approximation of ``u`` (tie-corrected, with continuity correction);
      positive when ``b`` tends to be slower. ``p_value`` is two-sided.
    * ``direction`` is +1 when ``b`` tends to be larger (slower), -1 when smaller, 0 when
      ``u`` is exactly at its null mean or a side is empty.
    * ``prob_b_greater`` = ``u / (n_a * n_b)``: the probability that a random ``b`` is slower
      than a random ``a`` (ties counted half). 0.5 means no shift; 0.5 for empty inputs.
    """

    n_a: int
    n_b: int
    u: float
    z: float
    p_value: float
    direction: int
    prob_b_greater: float


def _check_histogram(hist: Sequence[int], name: str) -> None:
    if any(count < 0 for count in hist):
        raise ValueError(f"{name}: bucket counts must be >= 0")


def latency_shift_test(hist_a: Sequence[int], hist_b: Sequence[int]) -> ShiftTest:
    """Mann-Whitney U test of H0 "a and b come from the same distribution", from histograms.

    Both histograms count observations per bucket over the SAME ordered bucket list (e.g.
    :data:`LATENCY_EDGES_MS`); observations in the same bucket are treated as ties. Uses the
    normal approximation with the tie correction

        var(U) = n_a n_b / 12 * ((N + 1) - sum(t^3 - t) / (N (N - 1)))

    (``t`` = observations in a bucket, ``N = n_a + n_b``) and a 0.5 continuity correction, i.e.
    what ``scipy.stats.mannwhitneyu(a, b, method="asymptotic")`` reports for the raw samples.
    Empty histograms (or everything in one bucket) give ``z = 0``, ``p_value = 1.0``.
    """
    if len(hist_a) != len(hist_b):
        raise ValueError(
            f"histograms must share the same buckets ({len(hist_a)} != {len(hist_b)} counts)"
        )
    _check_histogram(hist_a, "hist_a")
    _check_histogram(hist_b, "hist_b")
    n_a = sum(hist_a)
    n_b = sum(hist_b)
    if n_a == 0 or n_b == 0:
        return ShiftTest(
            n_a=n_a, n_b=n_b, u=0.0, z=0.0, p_value=1.0, direction=0, prob_b_greater=0.5
        )

    # U_b = sum over buckets of b_k * (a's strictly below bucket k + half of a's in bucket k).
    u = 0.0
    a_below = 0
    tie_term = 0
    for count_a, count_b in zip(hist_a, hist_b, strict=True):
        u += count_b * (a_below + count_a / 2.0)
        a_below += count_a
        t = count_a + count_b
        tie_term += t * t * t - t

    n_pairs = n_a * n_b
    mean = n_pairs / 2.0
    total = n_a + n_b
    variance = n_pairs / 12.0 * ((total + 1) - tie_term / (total * (total - 1)))
    delta = u - mean
    direction = (delta > 0) - (delta < 0)
    z = 0.0
    p_value = 1.0
    if variance > 0.0:
        z = direction * max(abs(delta) - 0.5, 0.0) / math.sqrt(variance)
        p_value = _two_sided_p(z)
    return ShiftTest(
        n_a=n_a,
        n_b=n_b,
        u=u,
        z=z,
        p_value=p_value,
        direction=direction,
        prob_b_greater=u / n_pairs,
    )


def is_degrading_latency(test: ShiftTest, *, alpha: float = 0.01, min_effect: float = 0.0) -> bool:
    """True when ``b``'s latencies are significantly higher (slower) than ``a``'s.

    Significant: ``p_value < alpha`` and ``direction == +1``. ``min_effect`` (default 0, off)
    additionally requires ``prob_b_greater - 0.5 >= min_effect``, e.g. 0.05 means "a random
    request is slower than a baseline one at least 55% of the time".
    """
    if test.p_value >= alpha or test.direction <= 0:
        return False
    return test.prob_b_greater - 0.5 >= min_effect - _EFFECT_TOLERANCE


def percentile_from_histogram(
    hist: Sequence[int], edges: Sequence[float], q: float
) -> float | None:
    """The ``q`` quantile (0 <= q <= 1, e.g. 0.95 for p95) of a bucketed histogram, in ms.

    ``edges`` are the bucket upper bounds: bucket 0 covers [0, edges[0]], bucket i covers
    (edges[i-1], edges[i]], and the final bucket ``len(edges)`` is the overflow above
    edges[-1], so ``len(hist) == len(edges) + 1``. Within a bucket observations are assumed
    evenly spread, so the value is linearly interpolated between the bucket's bounds.

    The overflow bucket has no upper bound: a quantile falling in it is reported as
    ``edges[-1]`` (a lower bound on the true value: "at least 60 s").
    Returns ``None`` for an empty histogram.
    """
    if len(hist) != len(edges) + 1:
        raise ValueError(f"need len(hist) == len(edges) + 1, got {len(hist)} and {len(edges)}")
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"q must be between 0 and 1, got {q!r}")
    _check_histogram(hist, "hist")
    total = sum(hist)
    if total == 0:
        return None
    target = q * total
    cumulative = 0
    for index, count in enumerate(hist):
        if count == 0:
            continue
        if cumulative + count >= target:
            if index == len(edges):
                return float(edges[-1])
            lower = float(edges[index - 1]) if index > 0 else 0.0
            upper = float(edges[index])
            fraction = (target - cumulative) / count
            return lower + max(0.0, fraction) * (upper - lower)
        cumulative += count
    # Floating-point slack only: q == 1 lands in the last non-empty bucket above.
    last = max(i for i, count in enumerate(hist) if count)
    return float(edges[min(last, len(edges) - 1)])
