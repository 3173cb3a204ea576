"""Paired rounds: every ratio compares two sides measured next to each other in time.

A 2-core machine shared with other work is noisy over minutes. Taking the best of three of each
side separately hides that (a 0.79 "best of" once stood for paired rounds between 0.54 and 0.99).
So each round measures every side once, in alternating order (forwards in even rounds, backwards in
odd ones, so neither side always goes first), a ratio is taken per round, and a figure reports the
min / median / max of those per-round ratios with each side's own figures.
"""

import statistics
from collections.abc import Callable

ROUNDS_MINIMUM = 3


def run_rounds(
    sides: dict[str, Callable[[], dict]], rounds: int, log, *, warm_up: int = 0
) -> list[dict[str, dict]]:
    """Runs every side once per round, alternating the order. Each side returns a dict with at
    least "value" (a rate: higher is better). Returns, per round, {side: its result}.

    `warm_up` rounds run first and are not returned (logged as such): for sides whose first run
    pays what a running server has paid long before (its workers' first requests, their
    connections' first statements, the per-process memos), which is not what is measured."""
    names = list(sides)
    for i in range(warm_up):
        for name in names:
            log(f"  warm-up {i + 1}: {name} {sides[name]()['value']:,.1f} (not counted)")
    results = []
    for i in range(max(rounds, ROUNDS_MINIMUM)):
        order = names if i % 2 == 0 else names[::-1]
        round_results = {}
        for name in order:
            round_results[name] = sides[name]()
            log(f"  round {i + 1}: {name} {round_results[name]['value']:,.1f}")
        results.append({name: round_results[name] for name in names})
    return results


def spread(values: list[float], digits: int = 3) -> dict:
    """{"min", "median", "max", "rounds"} of per-round values."""
    return {
        "min": round(min(values), digits),
        "median": round(statistics.median(values), digits),
        "max": round(max(values), digits),
        "rounds": [round(v, digits) for v in values],
    }


def side(rounds: list[dict[str, dict]], name: str, label: str, digits: int = 1) -> dict:
    """One side's figures over the rounds: its values' spread and any extra per-round figures."""
    values = [r[name]["value"] for r in rounds]
    summary = {"name": label, **spread(values, digits)}
    extras = sorted({k for r in rounds for k in r[name] if k != "value"})
    for key in extras:
        summary[key] = [r[name].get(key) for r in rounds]
    return summary


def ratio(rounds: list[dict[str, dict]], measured: str, baseline: str) -> dict:
    """Per-round ratio of `measured`'s rate to `baseline`'s, with min / median / max."""
    return spread([r[measured]["value"] / r[baseline]["value"] for r in rounds])
