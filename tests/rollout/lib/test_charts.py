"""rollout.lib.charts: server-rendered SVG line charts and sparklines (no DB)."""

import re
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
from django.utils.safestring import SafeString
from hypothesis import given, settings
from hypothesis import strategies as st

from rollout.lib.charts import (
    EMPTY_MESSAGE,
    PALETTE,
    Series,
    ThresholdLine,
    data_table,
    format_value,
    line_chart,
    nice_ticks,
    sparkline,
)

SVG = "{http://www.w3.org/2000/svg}"
DAYS = [f"{d} Nov" for d in range(1, 31)] + [f"{d} Dec" for d in range(1, 31)]  # 60 labels


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def find_all(root: ET.Element, tag: str, cls: str | None = None) -> list[ET.Element]:
    found = root.iter(f"{SVG}{tag}")
    if cls is None:
        return list(found)
    return [el for el in found if cls in el.get("class", "").split()]


def texts(root: ET.Element, cls: str) -> list[str]:
    return [el.text or "" for el in find_all(root, "text", cls)]


def chart(**overrides) -> str:
    kwargs = {
        "series": [
            Series("Pilot", [0.05, 0.06, 0.07, 0.08]),
            Series("Wave 1", [0.1, 0.12, 0.11, 0.09]),
        ],
        "x_labels": ["1 Nov", "2 Nov", "3 Nov", "4 Nov"],
        "y_format": "percent",
        "title": "Override rate",
        "description": "Override rate per cohort, daily.",
        "id_prefix": "override",
    }
    kwargs.update(overrides)
    return line_chart(**kwargs)


def polylines_of_series(root: ET.Element, index: int) -> list[ET.Element]:
    group = find_all(root, "g", f"chart-series-{index}")[0]
    return find_all(group, "polyline")


def circles_of_series(root: ET.Element, index: int) -> list[ET.Element]:
    group = find_all(root, "g", f"chart-series-{index}")[0]
    return find_all(group, "circle")


# --- line_chart structure ----------------------------------------------------------------------


class TestLineChartStructure:
    def test_returns_safe_valid_svg(self):
        svg = chart()
        assert isinstance(svg, SafeString)
        root = parse(svg)
        assert root.tag == f"{SVG}svg"
        assert root.get("role") == "img"
        assert root.get("viewBox") == "0 0 640 220"
        assert "rollout-chart" in root.get("class")

    def test_title_and_desc_label_the_image(self):
        root = parse(chart())
        title = root.find(f"{SVG}title")
        desc = root.find(f"{SVG}desc")
        assert title.text == "Override rate"
        assert desc.text == "Override rate per cohort, daily."
        assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
        assert title.get("id") == "override-title"
        # title and desc are the first children (read first by assistive technology)
        assert [child.tag for child in root][:2] == [f"{SVG}title", f"{SVG}desc"]

    def test_blank_description_gets_a_summary(self):
        root = parse(chart(description=""))
        desc = root.find(f"{SVG}desc").text
        assert "From 1 Nov to 4 Nov" in desc
        assert "Pilot 8%" in desc and "Wave 1 9%" in desc

    def test_ids_unique_per_chart(self):
        first, second = parse(line_chart(**_no_prefix())), parse(line_chart(**_no_prefix()))
        ids_first = {el.get("id") for el in first.iter() if el.get("id")}
        ids_second = {el.get("id") for el in second.iter() if el.get("id")}
        assert ids_first and ids_second
        assert ids_first.isdisjoint(ids_second)
        # and every id reference points at an element of the same chart
        for root, ids in ((first, ids_first), (second, ids_second)):
            for ref in root.get("aria-labelledby").split():
                assert ref in ids
            for el in root.iter():
                if el.get("clip-path"):
                    assert re.fullmatch(r"url\(#(.+)\)", el.get("clip-path")).group(1) in ids

    def test_id_prefix_is_sanitised(self):
        root = parse(chart(id_prefix='1 bad"><id'))
        for el in root.iter():
            if el.get("id"):
                assert re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", el.get("id"))

    def test_one_polyline_per_series_with_a_point_per_value(self):
        root = parse(chart())
        for index in (0, 1):
            lines = polylines_of_series(root, index)
            assert len(lines) == 1
            assert len(lines[0].get("points").split()) == 4
        assert find_all(root, "g", "chart-series-0")[0].find(f"{SVG}title").text == "Pilot"

    def test_default_palette_and_custom_colour(self):
        root = parse(chart(series=[Series("A", [1, 2]), Series("B", [2, 3], colour="#123456")]))
        assert polylines_of_series(root, 0)[0].get("stroke") == PALETTE[0]
        assert polylines_of_series(root, 1)[0].get("stroke") == "#123456"

    def test_unsafe_colour_falls_back_to_palette(self):
        svg = chart(series=[Series("A", [1, 2], colour='red" onload="alert(1)')])
        root = parse(svg)
        assert polylines_of_series(root, 0)[0].get("stroke") == PALETTE[0]
        assert "onload" not in svg

    def test_legend_lists_every_series_with_its_colour(self):
        root = parse(chart())
        legend = find_all(root, "g", "chart-legend")[0]
        items = find_all(legend, "g", "chart-legend-item")
        assert [item.find(f"{SVG}text").text for item in items] == ["Pilot", "Wave 1"]
        assert [item.find(f"{SVG}line").get("stroke") for item in items] == list(PALETTE[:2])

    def test_legend_wraps_long_names_inside_the_chart(self):
        names = [f"Cohort number {i} with a rather long name" for i in range(6)]
        root = parse(chart(series=[Series(name, [0.1, 0.2]) for name in names]))
        legend_lines = find_all(find_all(root, "g", "chart-legend")[0], "line")
        rows = {line.get("y1") for line in legend_lines}
        assert len(rows) > 1
        assert all(float(line.get("x2")) < 640 for line in legend_lines)

    def test_very_long_series_name_is_ellipsized_in_legend_but_kept_in_title(self):
        name = "A" * 300
        root = parse(chart(series=[Series(name, [0.1, 0.2])]))
        legend_text = find_all(root, "g", "chart-legend-item")[0].find(f"{SVG}text").text
        assert legend_text.endswith("…") and len(legend_text) < 100
        assert find_all(root, "g", "chart-series-0")[0].find(f"{SVG}title").text == name

    def test_points_inside_viewbox(self):
        root = parse(chart(series=[Series("A", [0.0, 0.5, 1.0, 0.25])]))
        for pair in polylines_of_series(root, 0)[0].get("points").split():
            x, y = map(float, pair.split(","))
            assert 0 <= x <= 640 and 0 <= y <= 220

    def test_decimal_values_are_plotted(self):
        root = parse(chart(series=[Series("A", [Decimal("0.1"), Decimal("0.2"), None])]))
        assert len(polylines_of_series(root, 0)) == 1

    def test_single_point_chart_is_centred_dot(self):
        root = parse(chart(series=[Series("A", [0.3])], x_labels=["1 Nov"]))
        (dot,) = circles_of_series(root, 0)
        assert dot.get("cx") is not None
        assert texts(root, "chart-x-label") == ["1 Nov"]


# --- Escaping and CSP --------------------------------------------------------------------------


class TestEscapingAndCsp:
    def test_script_series_name_is_escaped(self):
        evil = '<script>alert("x")</script>'
        svg = chart(
            series=[Series(evil, [0.1, 0.2])],
            title="<b>T</b>",
            description='"D" & <i>',
            x_labels=["<img src=x onerror=alert(1)>", "2 Nov"],
            thresholds=[ThresholdLine(0.15, "<script>bad()</script>")],
        )
        assert "<script" not in svg
        assert "<img" not in svg and "<b>" not in svg and "<i>" not in svg
        assert "&lt;script&gt;" in svg
        root = parse(svg)  # still valid XML after escaping
        assert find_all(root, "g", "chart-legend-item")[0].find(f"{SVG}text").text == evil
        assert root.find(f"{SVG}title").text == "<b>T</b>"
        assert texts(root, "chart-threshold-label") == ["<script>bad()</script>"]

    @pytest.mark.parametrize(
        "svg",
        [
            pytest.param(lambda: chart(), id="line"),
            pytest.param(
                lambda: chart(
                    thresholds=[
                        ThresholdLine(0.1, "x", "fail"),
                        ThresholdLine(0.08, "y", "marginal"),
                    ]
                ),
                id="thresholds",
            ),
            pytest.param(lambda: chart(series=[]), id="empty"),
            pytest.param(lambda: sparkline([1, 2, None, 3], label="trend"), id="sparkline"),
            pytest.param(lambda: sparkline([]), id="sparkline-empty"),
        ],
    )
    def test_no_inline_styles(self, svg):
        output = svg()
        assert "style=" not in output
        assert "<style" not in output
        parse(output)


# --- Gaps and points ---------------------------------------------------------------------------


class TestGaps:
    def test_none_gaps_split_the_line_into_segments(self):
        values = [0.1, 0.2, None, 0.3, 0.25, None, None, 0.2, 0.22, 0.21]
        root = parse(chart(series=[Series("A", values)], x_labels=DAYS[:10]))
        segments = polylines_of_series(root, 0)
        assert [len(s.get("points").split()) for s in segments] == [2, 2, 3]
        assert circles_of_series(root, 0) == []

    def test_isolated_point_gets_a_circle(self):
        values = [0.1, 0.2, None, 0.3, None, 0.2, 0.25]
        root = parse(chart(series=[Series("A", values)], x_labels=DAYS[:7]))
        assert len(polylines_of_series(root, 0)) == 2
        assert len(circles_of_series(root, 0)) == 1

    def test_leading_and_trailing_gaps(self):
        values = [None, None, 0.1, 0.2, None]
        root = parse(chart(series=[Series("A", values)], x_labels=DAYS[:5]))
        (segment,) = polylines_of_series(root, 0)
        xs = [float(p.split(",")[0]) for p in segment.get("points").split()]
        assert len(xs) == 2 and xs[0] > 100  # starts at the third date, not at the left edge

    def test_nan_is_a_gap(self):
        root = parse(
            chart(series=[Series("A", [0.1, 0.2, float("nan"), 0.3, 0.4])], x_labels=DAYS[:5])
        )
        assert len(polylines_of_series(root, 0)) == 2

    def test_values_longer_than_labels_do_not_crash(self):
        root = parse(chart(series=[Series("A", [0.1, 0.2, 0.3])], x_labels=["1 Nov"]))
        assert len(polylines_of_series(root, 0)[0].get("points").split()) == 3


# --- Thresholds --------------------------------------------------------------------------------


class TestThresholds:
    def test_threshold_lines_and_labels(self):
        root = parse(
            chart(
                thresholds=[
                    ThresholdLine(0.10, "override ≤ 10%", "fail"),
                    ThresholdLine(0.08, "marginal ≤ 8%", "marginal"),
                ]
            )
        )
        fail = find_all(root, "line", "chart-threshold-fail")
        marginal = find_all(root, "line", "chart-threshold-marginal")
        assert len(fail) == 1 and len(marginal) == 1
        assert fail[0].get("stroke-dasharray") and marginal[0].get("stroke-dasharray")
        assert fail[0].get("stroke") != marginal[0].get("stroke")
        assert texts(root, "chart-threshold-label") == ["override ≤ 10%", "marginal ≤ 8%"]
        # labelled at the right end, on (or just by) its line
        label = find_all(root, "text", "chart-threshold-label-fail")[0]
        assert label.get("text-anchor") == "end"
        assert float(label.get("x")) > 0.8 * 640
        assert abs(float(label.get("y")) - float(fail[0].get("y1"))) < 16

    def test_threshold_above_data_extends_the_axis(self):
        root = parse(
            chart(series=[Series("A", [0.01, 0.02])], thresholds=[ThresholdLine(0.3, "max")])
        )
        assert find_all(root, "line", "chart-threshold")
        assert texts(root, "chart-y-label")[-1] == "30%"

    def test_threshold_outside_explicit_range_is_skipped(self):
        root = parse(chart(y_max=0.2, thresholds=[ThresholdLine(0.5, "way up")]))
        assert find_all(root, "line", "chart-threshold") == []

    def test_close_thresholds_labels_do_not_overlap(self):
        root = parse(
            chart(
                series=[Series("A", [0.0, 1.0])],
                thresholds=[
                    ThresholdLine(0.50, "fail ≤ 50%"),
                    ThresholdLine(0.49, "warn ≤ 49%", "marginal"),
                ],
            )
        )
        ys = sorted(float(el.get("y")) for el in find_all(root, "text", "chart-threshold-label"))
        assert ys[1] - ys[0] >= 12

    def test_label_falls_back_to_formatted_value(self):
        root = parse(chart(thresholds=[ThresholdLine(0.1, "")]))
        assert texts(root, "chart-threshold-label") == ["10%"]


# --- Ticks -------------------------------------------------------------------------------------


class TestTicks:
    @pytest.mark.parametrize(
        ("lo", "hi", "expected"),
        [
            (0, 1, [0, 0.25, 0.5, 0.75, 1]),
            (0, 0.18, [0, 0.05, 0.1, 0.15, 0.2]),
            (0, 0.26, [0, 0.1, 0.2, 0.3]),
            (0, 2400, [0, 1000, 2000, 3000]),
            (0, 180, [0, 50, 100, 150, 200]),
            (0, 800, [0, 200, 400, 600, 800]),
            (100, 340, [100, 200, 300, 400]),
            (0, 0.03, [0, 0.01, 0.02, 0.03]),
        ],
    )
    def test_nice_ticks(self, lo, hi, expected):
        assert nice_ticks(lo, hi) == pytest.approx(expected)

    def test_integer_ticks_for_counts(self):
        assert nice_ticks(0, 3, integer=True) == [0, 1, 2, 3]
        assert all(float(t).is_integer() for t in nice_ticks(0, 7, integer=True))

    @settings(max_examples=200, deadline=None)
    @given(
        st.floats(-1e6, 1e6, allow_nan=False),
        st.floats(1e-6, 1e6, allow_nan=False),
    )
    def test_property_ticks_cover_range_with_4_to_5_ticks(self, lo, span):
        hi = lo + span
        ticks = nice_ticks(lo, hi)
        assert 3 <= len(ticks) <= 5
        tolerance = 1e-6 * span
        assert ticks[0] <= lo + tolerance and ticks[-1] >= hi - tolerance
        steps = {round(b - a, 9) for a, b in zip(ticks, ticks[1:])}
        assert len({f"{s:.6g}" for s in steps}) == 1

    def test_percent_axis_labels(self):
        root = parse(chart(series=[Series("A", [0.2, 0.9])]))
        assert texts(root, "chart-y-label") == ["0%", "25%", "50%", "75%", "100%"]

    def test_small_percent_axis_keeps_decimals(self):
        root = parse(chart(series=[Series("A", [0.001, 0.011])]))
        assert texts(root, "chart-y-label") == ["0%", "0.5%", "1.0%", "1.5%"]

    def test_ms_axis_labels(self):
        root = parse(chart(series=[Series("p95", [450, 2400])], y_format="ms"))
        assert texts(root, "chart-y-label") == ["0", "1 s", "2 s", "3 s"]
        root = parse(chart(series=[Series("p50", [120, 180])], y_format="ms"))
        assert texts(root, "chart-y-label") == ["0", "50 ms", "100 ms", "150 ms", "200 ms"]
        root = parse(chart(series=[Series("p95", [400, 1400])], y_format="ms"))
        assert texts(root, "chart-y-label") == ["0", "0.5 s", "1.0 s", "1.5 s"]

    def test_count_axis_labels(self):
        root = parse(chart(series=[Series("n", [800, 13000])], y_format="count"))
        assert texts(root, "chart-y-label") == ["0", "5k", "10k", "15k"]
        root = parse(chart(series=[Series("n", [1, 3])], y_format="count"))
        assert texts(root, "chart-y-label") == ["0", "1", "2", "3"]

    def test_callable_format(self):
        root = parse(chart(series=[Series("A", [1, 4])], y_format=lambda v: f"{v:g} pts"))
        assert texts(root, "chart-y-label")[-1] == "4 pts"

    def test_unknown_format_raises(self):
        with pytest.raises(ValueError, match="y_format"):
            chart(y_format="furlongs")

    def test_explicit_bounds(self):
        root = parse(chart(series=[Series("A", [0.1, 0.2])], y_min=0, y_max=1))
        assert texts(root, "chart-y-label") == ["0%", "25%", "50%", "75%", "100%"]

    def test_auto_y_min(self):
        root = parse(chart(series=[Series("p95", [1200, 1900])], y_format="ms", y_min=None))
        labels = texts(root, "chart-y-label")
        assert labels[0] != "0" and labels[0].endswith("s")

    def test_flat_zero_series(self):
        root = parse(chart(series=[Series("A", [0, 0, 0, 0])]))
        assert len(texts(root, "chart-y-label")) >= 3
        assert len(polylines_of_series(root, 0)) == 1

    def test_values_above_explicit_max_are_clipped(self):
        root = parse(chart(series=[Series("A", [0.1, 5.0])], y_max=1))
        group = [el for el in root.iter() if el.get("clip-path")]
        assert len(group) == 1 and find_all(group[0], "polyline")


# --- X labels ----------------------------------------------------------------------------------


def _x_label_boxes(root: ET.Element) -> list[tuple[float, float]]:
    boxes = []
    for el in find_all(root, "text", "chart-x-label"):
        x, half = float(el.get("x")), len(el.text) * 3.6  # ~7.2 px per character at 12 px
        boxes.append((x - half, x + half))
    return boxes


class TestXLabels:
    def test_60_days_thinned_to_at_most_8_without_overlap(self):
        root = parse(chart(series=[Series("A", [0.1] * 60)], x_labels=DAYS))
        labels = texts(root, "chart-x-label")
        assert 3 <= len(labels) <= 8
        assert labels[-1] == "30 Dec"  # the latest date is always labelled
        boxes = _x_label_boxes(root)
        assert all(a[1] < b[0] for a, b in zip(boxes, boxes[1:]))
        assert all(left >= 0 and right <= 640 for left, right in boxes)

    def test_few_labels_are_all_shown(self):
        root = parse(chart())
        assert texts(root, "chart-x-label") == ["1 Nov", "2 Nov", "3 Nov", "4 Nov"]

    def test_narrow_chart_shows_fewer_labels(self):
        wide = parse(chart(series=[Series("A", [0.1] * 60)], x_labels=DAYS, width=900))
        narrow = parse(chart(series=[Series("A", [0.1] * 60)], x_labels=DAYS, width=320))
        assert len(texts(narrow, "chart-x-label")) < len(texts(wide, "chart-x-label"))
        boxes = _x_label_boxes(narrow)
        assert all(a[1] < b[0] for a, b in zip(boxes, boxes[1:]))

    def test_long_labels_stay_inside_the_chart(self):
        labels = [f"Week of {d} November 2024" for d in range(1, 13)]
        root = parse(chart(series=[Series("A", [0.1] * 12)], x_labels=labels))
        boxes = _x_label_boxes(root)
        assert boxes and all(left >= 0 and right <= 640 for left, right in boxes)
        assert all(a[1] < b[0] for a, b in zip(boxes, boxes[1:]))

    @settings(max_examples=60, deadline=None)
    @given(st.integers(1, 400), st.integers(240, 1200))
    def test_property_labels_never_overlap(self, n, width):
        labels = [f"{(i % 28) + 1} Nov" for i in range(n)]
        root = parse(chart(series=[Series("A", [0.1] * n)], x_labels=labels, width=width))
        shown = texts(root, "chart-x-label")
        assert 1 <= len(shown) <= 8
        boxes = _x_label_boxes(root)
        assert all(a[1] < b[0] for a, b in zip(boxes, boxes[1:]))


# --- Empty data --------------------------------------------------------------------------------


class TestEmpty:
    @pytest.mark.parametrize(
        "series",
        [[], [Series("A", [])], [Series("A", [None, None]), Series("B", [None])]],
        ids=["no-series", "no-values", "all-none"],
    )
    def test_empty_data_shows_message(self, series):
        root = parse(chart(series=series))
        assert texts(root, "chart-empty") == [EMPTY_MESSAGE]
        message = find_all(root, "text", "chart-empty")[0]
        assert message.get("text-anchor") == "middle"
        assert float(message.get("x")) == 320
        assert find_all(root, "rect", "chart-frame")
        assert find_all(root, "polyline") == []
        assert root.find(f"{SVG}title").text == "Override rate"

    def test_empty_message_is_customisable(self):
        root = parse(chart(series=[], empty_message="Nothing <yet>", description=""))
        assert texts(root, "chart-empty") == ["Nothing <yet>"]
        assert root.find(f"{SVG}desc").text == "From 1 Nov to 4 Nov. Nothing <yet>"


# --- Sparkline ---------------------------------------------------------------------------------


class TestSparkline:
    def test_basic(self):
        svg = sparkline([0.1, 0.2, 0.15, 0.4], label="Adoption 10% to 40%")
        root = parse(svg)
        assert root.get("class") == "sparkline"
        assert root.get("viewBox") == "0 0 100 24"
        assert root.get("role") == "img"
        assert root.get("aria-label") == "Adoption 10% to 40%"
        assert len(find_all(root, "polyline")) == 1
        (last_dot,) = find_all(root, "circle")
        assert float(last_dot.get("cx")) > 90
        assert find_all(root, "text") == []  # no axes, no labels

    def test_without_label_is_decorative(self):
        root = parse(sparkline([1, 2, 3]))
        assert root.get("aria-hidden") == "true"
        assert root.get("role") is None

    def test_gaps_and_isolated_points(self):
        root = parse(sparkline([1, 2, None, 3, None, 4, 5], width=120, height=30))
        assert len(find_all(root, "polyline")) == 2
        circles = find_all(root, "circle")
        assert len(circles) == 2  # the isolated 3 and the latest value

    def test_empty(self):
        for values in ([], [None, None]):
            root = parse(sparkline(values, label="No data"))
            assert find_all(root, "line", "sparkline-empty")
            assert find_all(root, "polyline") == []

    def test_label_escaped(self):
        svg = sparkline([1, 2], label='<script>"x"</script>')
        assert "<script" not in svg
        assert parse(svg).get("aria-label") == '<script>"x"</script>'

    def test_points_stay_inside(self):
        root = parse(sparkline([-5, 0, 100, 3], y_min=0))
        for pair in find_all(root, "polyline")[0].get("points").split():
            x, y = map(float, pair.split(","))
            assert 0 <= x <= 100 and 0 <= y <= 24

    def test_single_value(self):
        root = parse(sparkline([0.4]))
        assert len(find_all(root, "circle")) == 1


# --- Formatting and data table -----------------------------------------------------------------


class TestFormatAndTable:
    @pytest.mark.parametrize(
        ("value", "fmt", "expected"),
        [
            (0.1, "percent", "10%"),
            (0.123, "percent", "12.3%"),
            (0, "percent", "0%"),
            (850, "ms", "850 ms"),
            (1500, "ms", "1.5 s"),
            (2000, "ms", "2 s"),
            (12000, "count", "12,000"),
            (3, "count", "3"),
        ],
    )
    def test_format_value(self, value, fmt, expected):
        assert format_value(value, fmt) == expected

    def test_data_table(self):
        html = data_table(
            series=[Series("<b>Pilot</b>", [0.1, None]), Series("Wave 1", [0.2, 0.25])],
            x_labels=["1 Nov", "2 Nov"],
            y_format="percent",
            caption="Override rate",
        )
        root = ET.fromstring(html)
        assert root.tag == "table"
        headers = [th.text for th in root.iter("th")]
        assert headers == ["Date", "<b>Pilot</b>", "Wave 1", "1 Nov", "2 Nov"]
        assert [td.text for td in root.iter("td")] == ["10%", "20%", "–", "25%"]
        assert "<b>" not in html


def _no_prefix() -> dict:
    return {
        "series": [Series("A", [0.1, 0.2])],
        "x_labels": ["1 Nov", "2 Nov"],
        "y_format": "percent",
        "title": "T",
        "description": "D",
    }
