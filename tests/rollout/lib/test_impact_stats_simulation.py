"""Seeded simulation of the impact intervals under repeated looks (issue 18, "Done when").

The model, stated plainly:

* Two arms (AI and holdout) of 200 people each, all present from the first look.
* Person ``i`` has a fixed effect ``u_i ~ N(0, τ²)``; each of their cases has outcome
  ``μ_arm + u_i + ε``, with case noise ``ε ~ N(0, σ²)`` independent of everything else.
  ``τ² + σ² = 1`` (one outcome has standard deviation 1) and the intra-person correlation is
  ``ICC = τ² / (τ² + σ²) = 0.5``: two cases of the same person correlate 0.5.
* At every look each person has reported one more outcome: at look ``k`` person ``i``'s mean is
  ``μ_arm + u_i + (ε_i1 + … + ε_ik) / k``. The statistics are computed on these per-person means,
  as Rollout does (count, sum and sum of squares per arm → :func:`arm_summary_from_moments`).
* 50 looks. A/A runs: ``μ_AI = μ_holdout``. Effect runs: ``μ_AI - μ_holdout = 0.3``, i.e. 0.3
  standard deviations of a single outcome.
* The sequential interval is tuned for 400 people (both arms), the size simulated.
* A false alarm: some look's interval excludes 0. A detection: some look's interval lies wholly
  above 0 (the right direction). A run ends at its first one.
* Runs: 2,000 A/A for the sequential false-alarm rate (≤ 6 %) and 2,000 for its power (≥ 70 %);
  600 A/A for the fixed interval looked at 50 times and 1,000 for it looked at once, 400 for the
  merely wide interval's power (the t quantile makes those slower; the margins are wide).
  With these seeds: 0.75 %, 91.9 %, 13.7 %, 7.3 % (wide). The power depends on the correlation:
  about 68 % at ICC 0.8 and 58 % at 0.95, where more cases per person add little.

How it is simulated exactly without 40 million normal draws. The per-arm statistics need only
``Σv`` and ``Σv²`` of ``v_i = u_i + S_i / k`` (``S_i`` = person ``i``'s running noise sum), i.e.
the Gram matrix ``G = XᵀX`` of ``X = [1, u, S]`` (``n``, ``Σu``, ``Σu²``, ``ΣS``, ``ΣuS``, ``ΣS²``).
One look adds ``e ~ N(0, σ² I_n)`` to ``S``, which changes ``G`` only through ``w = Xᵀe`` and
``eᵀe``. Given ``X``, ``w ~ N(0, σ² G)``, and ``eᵀe = ‖P e‖² + ‖(I - P) e‖²`` splits into the
projection on the columns of ``X`` — ``wᵀ G⁻¹ w`` — plus an independent ``σ² χ²_{n - rank X}``.
Drawing ``w = σ L z`` (``G = L Lᵀ``, ``z`` standard normal in 3 dimensions) gives
``wᵀ G⁻¹ w = σ² ‖z‖²``. So each look per arm costs three normal draws and one χ² draw, and has
exactly the distribution of drawing the 200 outcomes one by one. The person effects enter only
through ``Σu`` and ``Σu²``, drawn the same way (:meth:`_Arm.draw`).
:func:`test_shortcut_matches_person_by_person_simulation` checks both shortcuts against the
person-by-person simulation.
"""

import math
import random
from dataclasses import dataclass

from rollout.lib.impact_stats import (
    Interval,
    arm_summary_from_moments,
    sequential_interval,
    welch_interval,
)

PEOPLE_PER_ARM = 200
LOOKS = 50
ICC = 0.5
PERSON_SD = math.sqrt(ICC)  # τ
CASE_SD = math.sqrt(1.0 - ICC)  # σ
EFFECT = 0.3  # in standard deviations of one outcome (τ² + σ² = 1)
TUNING_PEOPLE = 2 * PEOPLE_PER_ARM


@dataclass
class _Arm:
    """Gram matrix of [1, u, S] for one arm, advanced one look at a time (see the docstring)."""

    people: int
    sum_u: float
    sum_u2: float
    sum_s: float = 0.0
    sum_us: float = 0.0
    sum_s2: float = 0.0
    looks: int = 0

    @classmethod
    def draw(cls, rng: random.Random, people: int, person_sd: float) -> "_Arm":
        """The person effects, through Σu and Σu² only: for u_i ~ N(0, τ²) independent,
        Σu ~ N(0, n τ²) and Σu² - (Σu)² / n ~ τ² χ²_{n-1}, independent (Cochran's theorem)."""
        sum_u = rng.gauss(0.0, person_sd * math.sqrt(people))
        spread = person_sd * person_sd * rng.gammavariate((people - 1) / 2.0, 2.0)
        return cls(people=people, sum_u=sum_u, sum_u2=sum_u * sum_u / people + spread)

    def add_one_outcome_each(self, rng: random.Random, case_sd: float) -> None:
        n = self.people
        gauss = rng.gauss
        # Cholesky factor of G's leading block [[n, Σu], [Σu, Σu²]].
        l11 = math.sqrt(n)
        l21 = self.sum_u / l11
        l22 = math.sqrt(self.sum_u2 - l21 * l21)
        z1, z2 = gauss(0.0, 1.0), gauss(0.0, 1.0)
        w1 = case_sd * l11 * z1  # Σ e_i
        w2 = case_sd * (l21 * z1 + l22 * z2)  # Σ u_i e_i
        if self.looks == 0:
            # S = 0: X = [1, u] has rank 2 and Σ S_i e_i = 0.
            w3 = 0.0
            projected = z1 * z1 + z2 * z2
            rank = 2
        else:
            l31 = self.sum_s / l11
            l32 = (self.sum_us - l31 * l21) / l22
            l33 = math.sqrt(self.sum_s2 - l31 * l31 - l32 * l32)
            z3 = gauss(0.0, 1.0)
            w3 = case_sd * (l31 * z1 + l32 * z2 + l33 * z3)  # Σ S_i e_i
            projected = z1 * z1 + z2 * z2 + z3 * z3
            rank = 3
        residual = rng.gammavariate((n - rank) / 2.0, 2.0)  # χ²_{n - rank}
        sum_e2 = case_sd * case_sd * (projected + residual)  # Σ e_i²
        self.sum_s += w1
        self.sum_us += w2
        self.sum_s2 += 2.0 * w3 + sum_e2
        self.looks += 1

    def moments(self, arm_mean: float) -> tuple[float, float]:
        """(Σm, Σm²) of the per-person means m_i = arm_mean + u_i + S_i / k at this look."""
        k = self.looks
        sum_v = self.sum_u + self.sum_s / k
        sum_v2 = self.sum_u2 + 2.0 * self.sum_us / k + self.sum_s2 / (k * k)
        n = self.people
        return n * arm_mean + sum_v, n * arm_mean * arm_mean + 2.0 * arm_mean * sum_v + sum_v2


def _looks(rng: random.Random, effect: float, icc: float = ICC):
    """Yield (ai, holdout) ArmSummary pairs at looks 1..LOOKS of one simulated run."""
    person_sd, case_sd = math.sqrt(icc), math.sqrt(1.0 - icc)
    ai = _Arm.draw(rng, PEOPLE_PER_ARM, person_sd)
    holdout = _Arm.draw(rng, PEOPLE_PER_ARM, person_sd)
    for _ in range(LOOKS):
        ai.add_one_outcome_each(rng, case_sd)
        holdout.add_one_outcome_each(rng, case_sd)
        yield (
            arm_summary_from_moments(PEOPLE_PER_ARM, *ai.moments(effect)),
            arm_summary_from_moments(PEOPLE_PER_ARM, *holdout.moments(0.0)),
        )


def _sequential(ai, holdout) -> Interval:
    return sequential_interval(ai, holdout, tuning_people=TUNING_PEOPLE)


def _wide_fixed(ai, holdout) -> Interval:
    """A merely wide interval: the fixed Welch interval with three times its half-width."""
    fixed = welch_interval(ai, holdout)
    return Interval(
        estimate=fixed.estimate,
        low=fixed.estimate - 3 * fixed.half_width,
        high=fixed.estimate + 3 * fixed.half_width,
        std_error=fixed.std_error,
        alpha=fixed.alpha,
        method=fixed.method,
    )


def _rate(seed: int, runs: int, effect: float, hit, interval_of, icc: float = ICC) -> float:
    """Share of runs where ``hit(interval)`` holds at some look (a run stops at its first hit)."""
    rng = random.Random(seed)
    hits = 0
    for _ in range(runs):
        for ai, holdout in _looks(rng, effect, icc):
            if hit(interval_of(ai, holdout)):
                hits += 1
                break
    return hits / runs


def _excludes_zero(interval: Interval) -> bool:
    return interval.excludes(0.0)


def _detects_improvement(interval: Interval) -> bool:
    return interval.low > 0.0


def test_sequential_false_alarm_rate_over_50_looks_is_at_most_6_percent():
    rate = _rate(seed=18_001, runs=2000, effect=0.0, hit=_excludes_zero, interval_of=_sequential)
    assert rate <= 0.06, rate


def test_fixed_interval_looked_at_50_times_cries_wolf():
    # The reason the sequential interval exists. 600 runs (the t quantile is the slow part):
    # the rate is ~0.2 here, so "above 0.10" is ~6 standard errors clear of chance.
    rate = _rate(seed=18_002, runs=600, effect=0.0, hit=_excludes_zero, interval_of=welch_interval)
    assert rate > 0.10, rate


def test_fixed_interval_looked_at_once_is_calibrated():
    # The model and the Welch interval together: looked at only once (the 50th look), the
    # fixed 95 % interval excludes a zero difference in about 5 % of A/A runs.
    rng = random.Random(18_005)
    runs = 1000
    alarms = 0
    for _ in range(runs):
        *_, (ai, holdout) = _looks(rng, 0.0)
        alarms += welch_interval(ai, holdout).excludes(0.0)
    assert 0.03 <= alarms / runs <= 0.07, alarms / runs


def test_sequential_detects_a_03_sd_effect_with_200_people_per_arm():
    rate = _rate(
        seed=18_003, runs=2000, effect=EFFECT, hit=_detects_improvement, interval_of=_sequential
    )
    assert rate >= 0.70, rate


def test_a_merely_wide_interval_fails_the_power_requirement():
    # Proves the power test can fail: three times the fixed interval is "safe" but blind.
    rate = _rate(
        seed=18_004, runs=400, effect=EFFECT, hit=_detects_improvement, interval_of=_wide_fixed
    )
    assert rate < 0.70, rate


def test_shortcut_matches_person_by_person_simulation():
    """The Gram-matrix shortcut against drawing every outcome, on a small case (12 people,
    6 looks, ICC 0.3): at looks 1, 3 and 6 the arm mean and the arm variance have the same
    means, spreads and look-to-look correlations within sampling error."""
    people, looks, reps = 12, 6, 4000
    person_sd, case_sd = math.sqrt(0.3), math.sqrt(0.7)

    def brute(rng: random.Random) -> list[tuple[float, float]]:
        u = [rng.gauss(0.0, person_sd) for _ in range(people)]
        s = [0.0] * people
        out = []
        for k in range(1, looks + 1):
            s = [x + rng.gauss(0.0, case_sd) for x in s]
            arm = arm_summary_from_moments(
                people,
                math.fsum(ui + si / k for ui, si in zip(u, s, strict=True)),
                math.fsum((ui + si / k) ** 2 for ui, si in zip(u, s, strict=True)),
            )
            out.append((arm.mean, arm.variance))
        return out

    def shortcut(rng: random.Random) -> list[tuple[float, float]]:
        arm = _Arm.draw(rng, people, person_sd)
        out = []
        for _ in range(looks):
            arm.add_one_outcome_each(rng, case_sd)
            summary = arm_summary_from_moments(people, *arm.moments(0.0))
            out.append((summary.mean, summary.variance))
        return out

    def describe(paths: list[list[tuple[float, float]]]) -> dict[str, float]:
        stats = {}
        for stat in (0, 1):
            columns = {k: [path[k][stat] for path in paths] for k in (0, 2, 5)}
            for k, column in columns.items():
                mean = math.fsum(column) / len(column)
                sd = math.sqrt(math.fsum((x - mean) ** 2 for x in column) / (len(column) - 1))
                stats[f"{stat}:{k}:mean"] = mean
                stats[f"{stat}:{k}:sd"] = sd
            stats[f"{stat}:corr"] = _correlation(columns[0], columns[5])
        return stats

    rng_brute, rng_short = random.Random(7), random.Random(8)
    by_person = describe([brute(rng_brute) for _ in range(reps)])
    by_shortcut = describe([shortcut(rng_short) for _ in range(reps)])
    for key, value in by_person.items():
        # ~3 standard errors of the difference of two 4,000-run estimates.
        assert abs(by_shortcut[key] - value) < 0.015 + 0.04 * abs(value), key
    # And against theory: E[mean] = 0, E[variance at look k] = 0.3 + 0.7 / k, SD of the mean
    # sqrt((0.3 + 0.7 / k) / 12).
    for k, look in ((0, 1), (2, 3), (5, 6)):
        expected_variance = 0.3 + 0.7 / look
        # The sample variance is expected_variance · χ²_11 / 11: its mean over the runs has a
        # standard error of expected_variance · sqrt(2 / 11) / sqrt(reps); allow 4 of them.
        standard_error = expected_variance * math.sqrt(2 / (people - 1)) / math.sqrt(reps)
        assert abs(by_shortcut[f"1:{k}:mean"] - expected_variance) < 4 * standard_error
        expected_sd_of_mean = math.sqrt(expected_variance / people)
        assert abs(by_shortcut[f"0:{k}:sd"] / expected_sd_of_mean - 1) < 0.05


def _correlation(xs: list[float], ys: list[float]) -> float:
    mx, my = math.fsum(xs) / len(xs), math.fsum(ys) / len(ys)
    sxy = math.fsum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    sxx = math.fsum((x - mx) ** 2 for x in xs)
    syy = math.fsum((y - my) ** 2 for y in ys)
    return sxy / math.sqrt(sxx * syy)
