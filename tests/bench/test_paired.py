"""Paired rounds (bench/paired.py): every side once per round, the order alternating, and the
ratio taken per round."""

from bench import paired


def test_each_round_runs_every_side_once_in_alternating_order():
    calls = []

    def side(name, value):
        def run():
            calls.append(name)
            return {"value": value}

        return run

    results = paired.run_rounds({"a": side("a", 2.0), "b": side("b", 4.0)}, 3, lambda m: None)

    assert calls == ["a", "b", "b", "a", "a", "b"]
    assert results == [{"a": {"value": 2.0}, "b": {"value": 4.0}}] * 3


def test_warm_up_rounds_run_every_side_first_and_are_not_counted():
    calls, logged = [], []

    def side(name, cold, warm):
        def run():
            calls.append(name)
            return {"value": cold if calls.count(name) == 1 else warm}

        return run

    sides = {"a": side("a", 1.0, 2.0), "b": side("b", 10.0, 20.0)}
    results = paired.run_rounds(sides, 3, logged.append, warm_up=1)

    assert calls == ["a", "b", "a", "b", "b", "a", "a", "b"]
    assert results == [{"a": {"value": 2.0}, "b": {"value": 20.0}}] * 3  # no cold run counted
    assert [m for m in logged if "warm-up" in m] == [
        "  warm-up 1: a 1.0 (not counted)",
        "  warm-up 1: b 10.0 (not counted)",
    ]


def test_never_fewer_than_three_rounds():
    results = paired.run_rounds({"a": lambda: {"value": 1.0}}, 1, lambda m: None)

    assert len(results) == 3


def test_the_ratio_is_taken_round_by_round():
    rounds = [
        {"m": {"value": 54.0}, "b": {"value": 100.0}},
        {"m": {"value": 99.0}, "b": {"value": 100.0}},
        {"m": {"value": 80.0}, "b": {"value": 100.0}},
    ]

    assert paired.ratio(rounds, "m", "b") == {
        "min": 0.54,
        "median": 0.8,
        "max": 0.99,
        "rounds": [0.54, 0.99, 0.8],
    }


def test_a_side_keeps_its_extra_figures_per_round():
    rounds = [{"m": {"value": 10.0, "p99_ms": 3.0}}, {"m": {"value": 12.0, "p99_ms": 4.0}}]

    assert paired.side(rounds, "m", "measured") == {
        "name": "measured",
        "min": 10.0,
        "median": 11.0,
        "max": 12.0,
        "rounds": [10.0, 12.0],
        "p99_ms": [3.0, 4.0],
    }
