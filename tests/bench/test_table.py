"""The README table from a bench run's JSON lines (bench/table.py)."""

from bench.report import summary
from bench.table import table

RUN = {
    "run": "abc123",
    "date": "2026-12-06 12:00 UTC",
    "machine": "x86_64",
    "cores": 2,
    "load_1_5_15": [0.3, 0.5, 0.6],
    "rounds": 3,
}
DECISION = {
    "figure": "decision",
    "title": "`GET /api/v1/decision`, warm",
    "unit": "requests/s",
    "measured": {"name": "decision", "median": 3444.0, "rounds": [1, 2, 3], "p99_ms": [9, 8, 7]},
    "baseline": {"name": "bare view", "median": 3800.0, "rounds": [1, 2, 3], "p99_ms": [5, 6, 7]},
    "ratio": {"min": 0.85, "median": 0.906, "max": 0.95, "rounds": [0.85, 0.906, 0.95]},
    "target": "median ratio >= 0.90",
    "met": True,
}
PAGE = {
    "figure": "usage_page_30_days",
    "title": "usage page, 30 days",
    "unit": "ms",
    "p95_ms": 38.8,
    "median_ms": 20.1,
    "events_in_table": 10_020_000,
    "queries": 16,
    "queries_with_fewer_events": 16,
    "fewer_events": 20_000,
    "machine": {"idle": False, "load_1m": 1.7},
    "target": "p95 < 30 ms and the same queries at both sizes",
    "met": False,
}


def test_the_table_names_the_run_and_the_machine_then_a_row_per_figure():
    lines = table([RUN, DECISION, PAGE]).splitlines()

    assert lines[0] == (
        "Run abc123, 2026-12-06 12:00 UTC: x86_64, 2 cores, load average 0.3, 0.5, 0.6 at the"
        " start; 3 paired rounds per ratio (median, min–max); page timings wait for an idle"
        " machine."
    )
    assert lines[2:4] == [
        "| figure | measured | baseline (same run) | ratio | target |",
        "|---|---|---|---|---|",
    ]
    assert lines[4] == (
        "| `GET /api/v1/decision`, warm | decision: 3,444 requests/s, p99 8 ms |"
        " bare view: 3,800 requests/s, p99 6 ms | 0.91 (0.85–0.95) | ≥ 0.90 ✓ |"
    )
    assert lines[5] == (
        "| usage page, 30 days | p95 38.8 ms (median 20.1 ms), 16 queries, 10,020,000 events;"
        " load 1.7, machine busy | 16 queries with 20,000 events | — | < 30 ms, same queries ✗ |"
    )


def test_the_decision_row_also_shows_server_cpu_and_the_page_url_view():
    line = {
        **DECISION,
        "measured": {**DECISION["measured"], "server_cpu_us_per_request": [300, 310, 320]},
        "baseline": {**DECISION["baseline"], "server_cpu_us_per_request": [280, 290, 300]},
        "bare_at_a_page_url": {
            "name": "page view",
            "median": 3000.0,
            "rounds": [1, 2, 3],
            "server_cpu_us_per_request": [330, 340, 350],
        },
        "ratio_to_bare_at_a_page_url": {"min": 1.0, "median": 1.1, "max": 1.2, "rounds": []},
        "cpu_ratio": {"min": 0.9, "median": 0.93, "max": 0.95, "rounds": []},
    }

    row = table([RUN, line]).splitlines()[-1]

    assert row == (
        "| `GET /api/v1/decision`, warm | decision: 3,444 requests/s, p99 8 ms, server CPU 310"
        " µs/request | bare view: 3,800 requests/s, p99 6 ms, server CPU 290 µs/request; page"
        " view: 3,000 requests/s, server CPU 340 µs/request | 0.91 (0.85–0.95); by server CPU"
        " 0.93 (0.90–0.95); to the page-URL view 1.10 (1.00–1.20) | ≥ 0.90 ✓ |"
    )


def test_a_list_page_row_shows_its_p95_queries_and_size():
    row = {
        "figure": "list_page_feedback",
        "title": "list page: feedback, 10,000 rows",
        "unit": "ms",
        "p95_ms": 3120.5,
        "median_ms": 3001.0,
        "rows": 10_000,
        "queries": 12,
        "bytes": 675_000,
        "machine": {"idle": True, "load_1m": 0.4},
        "target": "reported (the interface issue paginates list pages)",
        "met": None,
    }
    assert table([RUN, row]).splitlines()[4] == (
        "| list page: feedback, 10,000 rows | p95 3,120.5 ms (median 3,001.0 ms), 12 queries,"
        " 675,000 bytes; load 0.4 | — | — | reported (the interface issue paginates list pages) |"
    )


FIRST_VIEW = {
    "figure": "usage_page_30_days_first_view",
    "title": "usage page, 30 days, a first view (nothing kept: after the data shown changed)",
    "unit": "ms",
    "p95_ms": 71.0,
    "median_ms": 57.5,
    "requests": 20,
    "events_in_table": 10_020_000,
    "queries": 23,
    "machine": {"idle": False, "load_1m": 1.2},
    "first_view": True,
    "target": "reported (each on a new connection)",
    "met": None,
}


def test_a_first_view_row_shows_its_p95_and_queries_and_is_reported_only():
    assert summary(FIRST_VIEW) == (
        "usage_page_30_days_first_view: p95 71.0 ms, median 57.5 ms, 23 queries; load 1.2 —"
        " machine busy; reported (each on a new connection)"
    )
    assert table([RUN, FIRST_VIEW]).splitlines()[4] == (
        "| usage page, 30 days, a first view (nothing kept: after the data shown changed) |"
        " p95 71.0 ms (median 57.5 ms), 23 queries, 10,020,000 events; load 1.2, machine busy"
        " | — | — | reported (each on a new connection) |"
    )
