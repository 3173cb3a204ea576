"""Student's t distribution: upper tail and quantile, for any real degrees of freedom > 0.

Pure Python (standard library only). The project has no SciPy, and the Welch interval of
:mod:`rollout.lib.impact_stats` needs ``t_{1 - alpha/2, df}`` at a fractional Welch-Satterthwaite
``df``, so the distribution is computed here from first principles:

* Upper tail (Abramowitz & Stegun 26.7.1 with 26.5.27): for ``t >= 0``

      P(T > t) = 1/2 * I_x(df/2, 1/2),        x = df / (df + t^2),

  where ``I_x(a, b)`` is the regularized incomplete beta function. Both ``x`` and ``1 - x =
  t^2 / (df + t^2)`` are formed directly, so neither loses digits to cancellation.
* ``I_x(a, b)`` by its continued fraction (A&S 26.5.8), evaluated with the modified Lentz
  algorithm (Press et al., *Numerical Recipes*, 3rd ed., §6.4), on the side of the symmetry
  ``I_x(a, b) = 1 - I_{1-x}(b, a)`` where the fraction converges fast (``x < (a+1)/(a+b+2)``).
* Quantile: the root of ``P(T > t) = q`` by Newton's method (the derivative is minus the
  density) inside a bracket that always holds the root, falling back to bisection whenever a
  Newton step would leave it. It converges to a few units in the last place; the tests pin it
  against SciPy's ``t.ppf`` to 1e-12 relative and against printed tables.

For ``df`` beyond :data:`_NORMAL_LIMIT_DF` the t distribution is the normal one to better than
double precision's resolution at the quantiles used here, and the continued fraction would need
thousands of terms, so the Cornish-Fisher expansion of A&S 26.7.5 (error O(df^-5)) is used.
"""

from __future__ import annotations

import math
from statistics import NormalDist

__all__ = ["regularized_beta", "t_quantile", "t_upper_quantile", "t_upper_tail"]

_EPSILON = 2.0**-52
_TINY = 1e-300
_MAX_TERMS = 20_000
# Above this the Cornish-Fisher series (A&S 26.7.5) is exact to double precision: its first
# omitted term is O(z^11 / df^5) < 1e-20 for the quantiles a confidence interval uses.
_NORMAL_LIMIT_DF = 1e7
_STANDARD_NORMAL = NormalDist()
# A Newton step smaller than this (relative) ends the search: the next one would be ~its square.
_NEWTON_DONE = 1e-7


def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of A&S 26.5.8 for ``I_x(a, b)``, modified Lentz evaluation.

    Converges quickly for ``x < (a + 1) / (a + b + 2)``; the caller picks the side.
    """
    qab = a + b
    qap = a + 1.0
    qam = a - 1.0
    c = 1.0
    d = 1.0 - qab * x / qap
    if abs(d) < _TINY:
        d = _TINY
    d = 1.0 / d
    h = d
    for m in range(1, _MAX_TERMS + 1):
        m2 = 2 * m
        # Even step: d_{2m} = m (b - m) x / ((a + 2m - 1)(a + 2m)).
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        if abs(d) < _TINY:
            d = _TINY
        c = 1.0 + aa / c
        if abs(c) < _TINY:
            c = _TINY
        d = 1.0 / d
        h *= d * c
        # Odd step: d_{2m+1} = -(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1)).
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        if abs(d) < _TINY:
            d = _TINY
        c = 1.0 + aa / c
        if abs(c) < _TINY:
            c = _TINY
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) <= _EPSILON:
            return h
    raise ArithmeticError(f"incomplete beta: no convergence for a={a!r}, b={b!r}, x={x!r}")


# Stirling's series for log Γ(x): (x - 1/2) log x - x + log(2π)/2 + Σ B_2k / (2k (2k - 1) x^(2k-1)).
# From x >= 30 the terms up to x^-9 leave an error below 1e-19.
_STIRLING_MIN = 30.0


def _stirling_correction(x: float) -> float:
    """Σ B_2k / (2k (2k - 1) x^(2k - 1)) for k = 1..5 (A&S 6.1.40)."""
    r = 1.0 / (x * x)
    series = 1.0 / 12.0 - r * (1.0 / 360.0 - r * (1.0 / 1260.0 - r * (1.0 / 1680.0 - r / 1188.0)))
    return series / x


def _log_beta(a: float, b: float) -> float:
    """``log B(a, b) = lgamma(a) + lgamma(b) - lgamma(a + b)``, without cancellation.

    For a large argument (the t distribution at ``df = 10^5`` has ``a = 50,000``) the three
    lgamma values are ~10^5 to 10^6 and their difference ~10, so subtracting them loses nine
    digits. There ``lgamma(big) - lgamma(big + small)`` is taken from Stirling's series instead:
    ``-(big - 1/2) log1p(small / big) - small log(big + small) + small + corr(big) -
    corr(big + small)``, every term of which is accurate to the last place.
    """
    big, small = (a, b) if a >= b else (b, a)
    if big < _STIRLING_MIN:
        return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)
    total = big + small
    ratio = (
        -(big - 0.5) * math.log1p(small / big)
        - small * math.log(total)
        + small
        + _stirling_correction(big)
        - _stirling_correction(total)
    )
    return math.lgamma(small) + ratio


def regularized_beta(a: float, b: float, x: float, y: float | None = None) -> float:
    """``I_x(a, b)``, the regularized incomplete beta function, for ``a, b > 0``, ``0 <= x <= 1``.

    ``y`` is ``1 - x`` when the caller knows it more precisely than ``1 - x`` can be computed
    (it is then used for ``log(1 - x)`` and for the symmetric side). Prefactor (A&S 26.5.8):
    ``x^a (1 - x)^b / (a B(a, b))``, taken in logarithms via ``math.lgamma``.
    """
    if not (a > 0.0 and b > 0.0):
        raise ValueError(f"incomplete beta needs a > 0 and b > 0, got a={a!r}, b={b!r}")
    if y is None:
        y = 1.0 - x
    if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
        raise ValueError(f"incomplete beta needs 0 <= x <= 1, got x={x!r}")
    if x == 0.0:
        return 0.0
    if y == 0.0:
        return 1.0
    log_x = math.log1p(-y) if y < 0.5 else math.log(x)
    log_y = math.log1p(-x) if x < 0.5 else math.log(y)
    log_front = a * log_x + b * log_y - _log_beta(a, b)
    front = math.exp(log_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_continued_fraction(a, b, x) / a
    return 1.0 - front * _beta_continued_fraction(b, a, y) / b


def _check_df(df: float) -> None:
    if not (math.isfinite(df) and df > 0.0):
        raise ValueError(f"degrees of freedom must be a finite number > 0, got {df!r}")


def t_upper_tail(t: float, df: float) -> float:
    """``P(T > t)`` for Student's t with ``df`` degrees of freedom (any real ``df > 0``)."""
    _check_df(df)
    if math.isnan(t):
        raise ValueError("t must be a number, got NaN")
    if math.isinf(t):
        return 0.0 if t > 0 else 1.0
    t2 = t * t
    if t2 == 0.0:
        return 0.5
    # x = df / (df + t^2) and 1 - x = t^2 / (df + t^2), each formed without cancellation.
    denominator = df + t2
    half = 0.5 * regularized_beta(0.5 * df, 0.5, df / denominator, t2 / denominator)
    return half if t > 0 else 1.0 - half


def _t_density(t: float, df: float) -> float:
    """Density of Student's t: (1 + t²/ν)^(−(ν+1)/2) / (√ν B(ν/2, 1/2))."""
    log_norm = -_log_beta(0.5 * df, 0.5) - 0.5 * math.log(df)
    return math.exp(log_norm - 0.5 * (df + 1.0) * math.log1p(t * t / df))


def _cornish_fisher(z: float, df: float) -> float:
    """A&S 26.7.5: the t quantile as a series in 1/df around the normal quantile ``z``."""
    z2 = z * z
    g1 = (z2 + 1.0) * z / 4.0
    g2 = ((5.0 * z2 + 16.0) * z2 + 3.0) * z / 96.0
    g3 = (((3.0 * z2 + 19.0) * z2 + 17.0) * z2 - 15.0) * z / 384.0
    g4 = ((((79.0 * z2 + 776.0) * z2 + 1482.0) * z2 - 1920.0) * z2 - 945.0) * z / 92160.0
    return z + (g1 + (g2 + (g3 + g4 / df) / df) / df) / df


def t_quantile(p: float, df: float) -> float:
    """The ``p`` quantile of Student's t with ``df`` degrees of freedom: ``P(T <= t) = p``.

    ``0 < p < 1`` and any real ``df > 0`` (Welch's ``df`` is fractional). Symmetric:
    ``t_quantile(1 - p, df) == -t_quantile(p, df)``. Examples (two-sided 95 %):
    ``t_quantile(0.975, 1) = 12.7062``, ``t_quantile(0.975, 10) = 2.2281``.
    """
    if not 0.0 < p < 1.0:
        raise ValueError(f"a quantile needs 0 < p < 1, got {p!r}")
    if p < 0.5:
        return -t_upper_quantile(p, df)
    return t_upper_quantile(1.0 - p, df)


def t_upper_quantile(q: float, df: float) -> float:
    """The ``t`` with ``P(T > t) = q`` (``0 < q < 1``): ``t_quantile(1 - q, df)``, but taking the
    tail probability itself, so a tiny ``q`` (a Bonferroni-split α) keeps all its digits."""
    _check_df(df)
    if not 0.0 < q < 1.0:
        raise ValueError(f"a tail probability needs 0 < q < 1, got {q!r}")
    if q == 0.5:
        return 0.0
    if q > 0.5:
        return -t_upper_quantile(1.0 - q, df)
    z = -_STANDARD_NORMAL.inv_cdf(q)
    if df >= _NORMAL_LIMIT_DF:
        return _cornish_fisher(z, df)
    # Newton from the Cornish-Fisher guess, kept inside a bracket [low, high] that always holds
    # the root (P(T > low) >= q >= P(T > high)); a step that would leave it bisects instead.
    low, high = 0.0, math.inf
    t = _cornish_fisher(z, df) if df >= 1.0 else 2.0 * max(1.0, z)
    for _ in range(400):
        excess = t_upper_tail(t, df) - q
        if excess == 0.0:
            return t
        if excess > 0.0:
            low = t
        else:
            high = t
        step = excess / _t_density(t, df)
        candidate = t + step
        if not low < candidate < high:
            candidate = 2.0 * t if math.isinf(high) else 0.5 * (low + high)
        elif abs(step) <= _NEWTON_DONE * t:
            # Newton's error after this step is about (f''/2f') step^2 ~ t step^2 (relative
            # ~1e-14 here), below what one more evaluation of the tail could resolve.
            return candidate
        if math.isfinite(high) and high - low <= 4.0 * _EPSILON * high:
            return candidate
        t = candidate
    return t
