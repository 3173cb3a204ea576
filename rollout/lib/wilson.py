"""The Wilson score interval of a proportion: well-behaved at 0 %, at 100 % and with few cases,
where the normal ("Wald") interval collapses to a point or leaves [0, 1]."""

import math

Z_95 = 1.959963984540054  # the standard normal's 97.5th percentile


def wilson_interval(successes: int, n: int, *, z: float = Z_95) -> tuple[float, float] | None:
    """(low, high) of the proportion successes ÷ n at the confidence `z` stands for (95 % by
    default); None when n is 0."""
    if n <= 0:
        return None
    if not 0 <= successes <= n:
        raise ValueError("successes must be between 0 and n")
    p = successes / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    # The exact edges: 0 errors gives a low of exactly 0, n errors a high of exactly 1.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high
