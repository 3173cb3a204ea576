"""rollout.lib.charts: the geometry of line charts, sparklines and data tables, and the templates
under rollout/charts/ that draw it (no DB)."""

import re
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
from django.template.loader import render_to_string
from django.utils.safestring import SafeString
from hypothesis import given, settings
from hypothesis import strategies as st

from rollout.lib.charts import (
    EMPTY_MESSAGE,
    PALETTE,
    THRESHOLD_COLOURS,
    DataTable,
    LineChart,
    Series,
    Sparkline,
    ThresholdLine,
    data_table,
    format_value,
    line_chart,
    nice_ticks,
    sparkline,
)

SVG = "{http://www.w3.org/2000/svg}"
DAYS = [f"{d} Nov" for d in range(1, 31)] + [f"{d} Dec" for d in range(1, 31)]  # 60 labels


def render_line_chart(chart: LineChart) -> SafeString:
    return render_to_string("rollout/charts/line_chart.svg.html", {"chart": chart})


def render_sparkline(spark: Sparkline) -> SafeString:
    return render_to_string("rollout/charts/sparkline.svg.html", {"sparkline": spark})


def render_data_table(table: DataTable) -> SafeString:
    return render_to_string("rollout/charts/data_table.html", {"table": table})


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def find_all(root: ET.Element, tag: str, cls: str | None = None) -> list[ET.Element]:
    found = root.iter(f"{SVG}{tag}")
    if cls is None:
        return list(found)
    return [el for el in found if cls in el.get("class", "").split()]


def texts(root: ET.Element, cls: str) -> list[str]:
    return [el.text or "" for el in find_all(root, "text", cls)]


def geometry(**overrides) -> LineChart:
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


def plot(**overrides):
    return geometry(**overrides).plot


def chart(**overrides) -> str:
    """The chart drawn by its template."""
    return render_line_chart(geometry(**overrides))


def polylines_of_series(root: ET.Element, index: int) -> list[ET.Element]:
    """The series' lines of data (not the dotted bridges over days without data)."""
    group = find_all(root, "g", f"chart-series-{index}")[0]
    return find_all(group, "polyline", "chart-line")


def bridges_of_series(root: ET.Element, index: int) -> list[ET.Element]:
    group = find_all(root, "g", f"chart-series-{index}")[0]
    return find_all(group, "polyline", "chart-bridge")


def circles_of_series(root: ET.Element, index: int) -> list[ET.Element]:
    group = find_all(root, "g", f"chart-series-{index}")[0]
    return find_all(group, "circle")


def run_lengths(chart: LineChart, index: int = 0) -> list[int]:
    return [len(run.points) for run in chart.plot.series[index].runs]


def y_labels(chart: LineChart) -> list[str]:
    return [tick.label for tick in chart.plot.y_ticks]


def x_labels(chart: LineChart) -> list[str]:
    return [tick.label for tick in chart.plot.x_ticks]


# --- line_chart geometry -----------------------------------------------------------------------


class TestLineChartGeometry:
    def test_the_chart_carries_its_size_ids_and_accessible_text(self):
        result = geometry()
        assert isinstance(result, LineChart)
        assert (result.width, result.height) == (640, 220)
        assert result.id_prefix == "override"
        assert result.title == "Override rate"
        assert result.description == "Override rate per cohort, daily."
        assert result.plot is not None and result.empty is None

    def test_blank_description_gets_a_summary(self):
        desc = geometry(description="").description
        assert "From 1 Nov to 4 Nov" in desc
        assert "Pilot 8.0%" in desc and "Wave 1 9.0%" in desc

    def test_id_prefix_is_sanitised_or_random(self):
        assert geometry(id_prefix='1 bad"><id').id_prefix == "chart-1-bad-id"
        first, second = geometry(id_prefix=None), geometry(id_prefix=None)
        assert re.fullmatch(r"chart-[0-9a-f]{10}", first.id_prefix)
        assert first.id_prefix != second.id_prefix

    def test_text_stays_raw_for_the_template_to_escape(self):
        evil = '<script>alert("x")</script>'
        result = geometry(series=[Series(evil, [0.1, 0.2])], x_labels=["<a>", "2 Nov"])
        assert result.plot.legend[0].name == evil
        assert result.plot.series[0].name == evil
        assert x_labels(result)[0] == "<a>"

    def test_one_run_per_series_with_a_point_per_value(self):
        result = geometry()
        assert [run_lengths(result, i) for i in (0, 1)] == [[4], [4]]
        assert [s.name for s in result.plot.series] == ["Pilot", "Wave 1"]

    def test_points_are_compact_coordinates_inside_the_chart(self):
        (run,) = plot(series=[Series("A", [0.0, 0.5, 1.0, 0.25])]).series[0].runs
        for point in run.points:
            assert re.fullmatch(r"-?\d+(\.\d)?", point.x) and re.fullmatch(r"-?\d+(\.\d)?", point.y)
            assert 0 <= float(point.x) <= 640 and 0 <= float(point.y) <= 220
        assert run.polyline == " ".join(f"{p.x},{p.y}" for p in run.points)
        xs = [float(p.x) for p in run.points]
        assert xs == sorted(xs)

    def test_default_palette_custom_colour_and_unsafe_colour(self):
        result = plot(
            series=[
                Series("A", [1, 2]),
                Series("B", [2, 3], colour="#123456"),
                Series("C", [1, 2], colour='red" onload="alert(1)'),
            ]
        )
        assert [s.colour for s in result.series] == [PALETTE[0], "#123456", PALETTE[2]]
        assert [item.colour for item in result.legend] == [PALETTE[0], "#123456", PALETTE[2]]

    def test_legend_wraps_long_names_inside_the_chart(self):
        names = [f"Cohort number {i} with a rather long name" for i in range(6)]
        legend = plot(series=[Series(name, [0.1, 0.2]) for name in names]).legend
        assert len({item.y for item in legend}) > 1
        assert all(float(item.x2) < 640 for item in legend)

    def test_very_long_series_name_is_ellipsized_in_legend_but_kept_for_the_title(self):
        name = "A" * 300
        result = plot(series=[Series(name, [0.1, 0.2])])
        assert result.legend[0].name.endswith("…") and len(result.legend[0].name) < 100
        assert result.series[0].name == name

    def test_decimal_values_are_plotted(self):
        result = geometry(series=[Series("A", [Decimal("0.1"), Decimal("0.2"), None])])
        assert run_lengths(result) == [2]

    def test_single_point_chart_is_a_centred_dot(self):
        result = geometry(series=[Series("A", [0.3])], x_labels=["1 Nov"])
        (run,) = result.plot.series[0].runs
        assert run.is_dot
        axes = result.plot.axes
        assert float(run.dot.x) == pytest.approx((float(axes.left) + float(axes.right)) / 2, 0.1)
        assert x_labels(result) == ["1 Nov"]


# --- line_chart drawn by its template ----------------------------------------------------------


class TestLineChartTemplate:
    def test_returns_safe_valid_svg(self):
        svg = chart()
        assert isinstance(svg, SafeString)
        root = parse(svg)
        assert root.tag == f"{SVG}svg"
        assert root.get("role") == "img"
        assert root.get("viewBox") == "0 0 640 220"
        assert (root.get("width"), root.get("height")) == ("640", "220")
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

    def test_ids_unique_per_chart(self):
        first, second = parse(chart(id_prefix=None)), parse(chart(id_prefix=None))
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

    def test_sanitised_ids_in_the_markup(self):
        root = parse(chart(id_prefix='1 bad"><id'))
        for el in root.iter():
            if el.get("id"):
                assert re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", el.get("id"))

    def test_a_polyline_per_run_titled_by_its_series(self):
        result = geometry()
        root = parse(render_line_chart(result))
        for index in (0, 1):
            (line,) = polylines_of_series(root, index)
            assert line.get("points") == result.plot.series[index].runs[0].polyline
            assert line.get("stroke") == PALETTE[index]
        assert find_all(root, "g", "chart-series-0")[0].find(f"{SVG}title").text == "Pilot"

    def test_legend_lists_every_series_with_its_colour(self):
        root = parse(chart())
        legend = find_all(root, "g", "chart-legend")[0]
        items = find_all(legend, "g", "chart-legend-item")
        assert [item.find(f"{SVG}text").text for item in items] == ["Pilot", "Wave 1"]
        assert [item.find(f"{SVG}line").get("stroke") for item in items] == list(PALETTE[:2])

    def test_axes_gridlines_and_labels(self):
        result = geometry()
        root = parse(render_line_chart(result))
        assert texts(root, "chart-y-label") == y_labels(result)
        assert texts(root, "chart-x-label") == x_labels(result)
        baseline = [
            el for el in find_all(root, "line", "chart-axis") if el.get("y1") == el.get("y2")
        ]
        assert len(baseline) == 1
        assert len(find_all(root, "line", "chart-grid")) == len(result.plot.y_ticks) - 1

    def test_isolated_point_is_a_circle(self):
        root = parse(chart(series=[Series("A", [0.1, None, 0.3, 0.2])]))
        assert len(circles_of_series(root, 0)) == 1
        assert len(polylines_of_series(root, 0)) == 1

    def test_series_are_clipped_to_the_plot(self):
        root = parse(chart(series=[Series("A", [0.1, 5.0])], y_max=1))
        group = [el for el in root.iter() if el.get("clip-path")]
        assert len(group) == 1 and find_all(group[0], "polyline")
        assert find_all(root, "clipPath")[0].get("id") == "override-clip"


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
        assert find_all(root, "g", "chart-series-0")[0].find(f"{SVG}title").text == evil
        assert root.find(f"{SVG}title").text == "<b>T</b>"
        assert root.find(f"{SVG}desc").text == '"D" & <i>'
        assert texts(root, "chart-threshold-label") == ["<script>bad()</script>"]

    def test_generated_summary_is_escaped(self):
        svg = chart(series=[Series("<script>x</script>", [0.1])], description="", x_labels=["<a>"])
        assert "<script" not in svg and "<a>" not in svg
        assert (
            parse(svg).find(f"{SVG}desc").text
            == "From <a> to <a>. Latest: <script>x</script> 10.0% (<a>)."
        )

    def test_unsafe_colour_never_reaches_the_markup(self):
        svg = chart(series=[Series("A", [1, 2], colour='red" onload="alert(1)')])
        assert "onload" not in svg
        assert polylines_of_series(parse(svg), 0)[0].get("stroke") == PALETTE[0]

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
            pytest.param(
                lambda: render_sparkline(sparkline([1, 2, None, 3], label="trend")), id="sparkline"
            ),
            pytest.param(lambda: render_sparkline(sparkline([])), id="sparkline-empty"),
        ],
    )
    def test_no_inline_styles(self, svg):
        output = svg()
        assert "style=" not in output
        assert "<style" not in output
        parse(output)


# --- Gaps and points ---------------------------------------------------------------------------


class TestGaps:
    def test_none_gaps_split_the_line_into_runs(self):
        values = [0.1, 0.2, None, 0.3, 0.25, None, None, 0.2, 0.22, 0.21]
        result = geometry(series=[Series("A", values)], x_labels=DAYS[:10])
        assert run_lengths(result) == [2, 2, 3]
        root = parse(render_line_chart(result))
        assert len(polylines_of_series(root, 0)) == 3
        assert circles_of_series(root, 0) == []
        # The gaps are bridged, dotted, from the end of one run to the start of the next.
        bridges = bridges_of_series(root, 0)
        assert len(bridges) == 2
        assert bridges[0].get("stroke-dasharray") == "1 4"
        runs = result.plot.series[0].runs
        assert bridges[0].get("points") == f"{runs[0].points[-1]} {runs[1].points[0]}"
        assert result.notes == ("Dotted where a day has no data.",)

    def test_isolated_point_is_a_dot(self):
        values = [0.1, 0.2, None, 0.3, None, 0.2, 0.25]
        runs = plot(series=[Series("A", values)], x_labels=DAYS[:7]).series[0].runs
        assert [run.is_dot for run in runs] == [False, True, False]

    def test_leading_and_trailing_gaps(self):
        values = [None, None, 0.1, 0.2, None]
        (run,) = plot(series=[Series("A", values)], x_labels=DAYS[:5]).series[0].runs
        xs = [float(p.x) for p in run.points]
        assert len(xs) == 2 and xs[0] > 100  # starts at the third date, not at the left edge

    def test_nan_is_a_gap(self):
        result = geometry(
            series=[Series("A", [0.1, 0.2, float("nan"), 0.3, 0.4])], x_labels=DAYS[:5]
        )
        assert run_lengths(result) == [2, 2]

    def test_values_longer_than_labels_do_not_crash(self):
        result = geometry(series=[Series("A", [0.1, 0.2, 0.3])], x_labels=["1 Nov"])
        assert run_lengths(result) == [3]


# --- Thresholds --------------------------------------------------------------------------------


class TestThresholds:
    THRESHOLDS = (
        ThresholdLine(0.08, "marginal ≤ 8%", "marginal"),
        ThresholdLine(0.10, "override ≤ 10%", "fail"),
    )

    def test_threshold_marks_highest_first_with_their_colours(self):
        marks = plot(thresholds=self.THRESHOLDS).thresholds
        assert [(m.kind, m.label) for m in marks] == [
            ("fail", "override ≤ 10%"),
            ("marginal", "marginal ≤ 8%"),
        ]
        assert [(m.line_colour, m.text_colour) for m in marks] == [
            THRESHOLD_COLOURS["fail"],
            THRESHOLD_COLOURS["marginal"],
        ]
        assert float(marks[0].y) < float(marks[1].y)  # higher value, higher up
        assert all(abs(float(m.label_y) - float(m.y)) < 16 for m in marks)

    def test_threshold_lines_and_labels_are_drawn(self):
        root = parse(chart(thresholds=self.THRESHOLDS))
        fail = find_all(root, "line", "chart-threshold-fail")
        marginal = find_all(root, "line", "chart-threshold-marginal")
        assert len(fail) == 1 and len(marginal) == 1
        assert fail[0].get("stroke-dasharray") and marginal[0].get("stroke-dasharray")
        assert fail[0].get("stroke") != marginal[0].get("stroke")
        assert texts(root, "chart-threshold-label") == ["override ≤ 10%", "marginal ≤ 8%"]
        # labelled at the right end, on (or just by) its line, drawn over the data
        label = find_all(root, "text", "chart-threshold-label-fail")[0]
        assert label.get("text-anchor") == "end"
        assert float(label.get("x")) > 0.8 * 640
        assert abs(float(label.get("y")) - float(fail[0].get("y1"))) < 16
        children = list(root)
        clipped = next(el for el in children if el.get("clip-path"))
        assert children.index(label) > children.index(clipped)
        assert children.index(fail[0]) < children.index(clipped)

    def test_threshold_above_data_extends_the_axis(self):
        result = geometry(
            series=[Series("A", [0.01, 0.02])], thresholds=[ThresholdLine(0.3, "max")]
        )
        assert [m.label for m in result.plot.thresholds] == ["max"]
        assert y_labels(result)[-1] == "30%"

    def test_threshold_outside_explicit_range_is_skipped(self):
        assert plot(y_max=0.2, thresholds=[ThresholdLine(0.5, "way up")]).thresholds == ()
        root = parse(chart(y_max=0.2, thresholds=[ThresholdLine(0.5, "way up")]))
        assert find_all(root, "line", "chart-threshold") == []

    def test_close_thresholds_labels_do_not_overlap(self):
        marks = plot(
            series=[Series("A", [0.0, 1.0])],
            thresholds=[
                ThresholdLine(0.50, "fail ≤ 50%"),
                ThresholdLine(0.49, "warn ≤ 49%", "marginal"),
            ],
        ).thresholds
        ys = sorted(float(m.label_y) for m in marks)
        assert ys[1] - ys[0] >= 12

    def test_label_falls_back_to_formatted_value(self):
        assert [m.label for m in plot(thresholds=[ThresholdLine(0.1, "")]).thresholds] == ["10.0%"]


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

    def test_tick_positions_run_up_from_the_baseline(self):
        ticks = plot(series=[Series("A", [0.2, 0.9])]).y_ticks
        assert [t.value for t in ticks] == pytest.approx([0, 0.25, 0.5, 0.75, 1])
        assert [t.is_baseline for t in ticks] == [True, False, False, False, False]
        ys = [float(t.y) for t in ticks]
        assert ys == sorted(ys, reverse=True)

    def test_percent_axis_labels(self):
        assert y_labels(geometry(series=[Series("A", [0.2, 0.9])])) == [
            "0%",
            "25%",
            "50%",
            "75%",
            "100%",
        ]

    def test_small_percent_axis_keeps_decimals(self):
        result = geometry(series=[Series("A", [0.001, 0.011])])
        assert y_labels(result) == ["0%", "0.5%", "1.0%", "1.5%"]

    def test_ms_axis_labels(self):
        result = geometry(series=[Series("p95", [450, 2400])], y_format="ms")
        assert y_labels(result) == ["0", "1 s", "2 s", "3 s"]
        result = geometry(series=[Series("p50", [120, 180])], y_format="ms")
        assert y_labels(result) == ["0", "50 ms", "100 ms", "150 ms", "200 ms"]
        result = geometry(series=[Series("p95", [400, 1400])], y_format="ms")
        assert y_labels(result) == ["0", "0.5 s", "1.0 s", "1.5 s"]

    def test_count_axis_labels(self):
        result = geometry(series=[Series("n", [800, 13000])], y_format="count")
        assert y_labels(result) == ["0", "5k", "10k", "15k"]
        result = geometry(series=[Series("n", [1, 3])], y_format="count")
        assert y_labels(result) == ["0", "1", "2", "3"]

    def test_callable_format(self):
        result = geometry(series=[Series("A", [1, 4])], y_format=lambda v: f"{v:g} <pts>")
        assert y_labels(result)[-1] == "4 <pts>"
        assert texts(parse(render_line_chart(result)), "chart-y-label")[-1] == "4 <pts>"

    def test_unknown_format_raises(self):
        with pytest.raises(ValueError, match="y_format"):
            geometry(y_format="furlongs")

    def test_explicit_bounds(self):
        result = geometry(series=[Series("A", [0.1, 0.2])], y_min=0, y_max=1)
        assert y_labels(result) == ["0%", "25%", "50%", "75%", "100%"]

    def test_auto_y_min(self):
        labels = y_labels(geometry(series=[Series("p95", [1200, 1900])], y_format="ms", y_min=None))
        assert labels[0] != "0" and labels[0].endswith("s")

    def test_flat_zero_series(self):
        result = geometry(series=[Series("A", [0, 0, 0, 0])])
        assert len(y_labels(result)) >= 3
        assert run_lengths(result) == [4]


# --- X labels ----------------------------------------------------------------------------------


def _x_label_boxes(chart: LineChart) -> list[tuple[float, float]]:
    boxes = []
    for tick in chart.plot.x_ticks:
        x, half = float(tick.x), len(tick.label) * 3.6  # ~7.2 px per character at 12 px
        boxes.append((x - half, x + half))
    return boxes


class TestXLabels:
    def test_60_days_thinned_to_at_most_8_without_overlap(self):
        result = geometry(series=[Series("A", [0.1] * 60)], x_labels=DAYS)
        labels = x_labels(result)
        assert 3 <= len(labels) <= 8
        assert labels[-1] == "30 Dec"  # the latest date is always labelled
        boxes = _x_label_boxes(result)
        assert all(a[1] < b[0] for a, b in zip(boxes, boxes[1:]))
        assert all(left >= 0 and right <= 640 for left, right in boxes)

    def test_few_labels_are_all_shown(self):
        assert x_labels(geometry()) == ["1 Nov", "2 Nov", "3 Nov", "4 Nov"]

    def test_narrow_chart_shows_fewer_labels(self):
        wide = geometry(series=[Series("A", [0.1] * 60)], x_labels=DAYS, width=900)
        narrow = geometry(series=[Series("A", [0.1] * 60)], x_labels=DAYS, width=320)
        assert len(x_labels(narrow)) < len(x_labels(wide))
        boxes = _x_label_boxes(narrow)
        assert all(a[1] < b[0] for a, b in zip(boxes, boxes[1:]))

    def test_long_labels_stay_inside_the_chart(self):
        labels = [f"Week of {d} November 2024" for d in range(1, 13)]
        boxes = _x_label_boxes(geometry(series=[Series("A", [0.1] * 12)], x_labels=labels))
        assert boxes and all(left >= 0 and right <= 640 for left, right in boxes)
        assert all(a[1] < b[0] for a, b in zip(boxes, boxes[1:]))

    @settings(max_examples=60, deadline=None)
    @given(st.integers(1, 400), st.integers(240, 1200))
    def test_property_labels_never_overlap(self, n, width):
        labels = [f"{(i % 28) + 1} Nov" for i in range(n)]
        result = geometry(series=[Series("A", [0.1] * n)], x_labels=labels, width=width)
        assert 1 <= len(x_labels(result)) <= 8
        boxes = _x_label_boxes(result)
        assert all(a[1] < b[0] for a, b in zip(boxes, boxes[1:]))


# --- Empty data --------------------------------------------------------------------------------


class TestEmpty:
    @pytest.mark.parametrize(
        "series",
        [[], [Series("A", [])], [Series("A", [None, None]), Series("B", [None])]],
        ids=["no-series", "no-values", "all-none"],
    )
    def test_empty_data_is_an_empty_frame(self, series):
        result = geometry(series=series)
        assert result.plot is None
        assert result.empty.message == EMPTY_MESSAGE
        assert (result.empty.width, result.empty.height) == (639, 219)
        assert result.empty.message_x == "320"

    @pytest.mark.parametrize(
        "series",
        [[], [Series("A", [None, None]), Series("B", [None])]],
        ids=["no-series", "all-none"],
    )
    def test_empty_data_shows_message(self, series):
        root = parse(chart(series=series))
        assert texts(root, "chart-empty") == [EMPTY_MESSAGE]
        message = find_all(root, "text", "chart-empty")[0]
        assert message.get("text-anchor") == "middle"
        assert float(message.get("x")) == 320
        assert find_all(root, "rect", "chart-frame")
        assert find_all(root, "polyline") == []
        assert find_all(root, "g") == []
        # still a labelled image
        assert root.get("role") == "img"
        assert root.find(f"{SVG}title").text == "Override rate"

    def test_empty_message_is_customisable_and_escaped(self):
        svg = chart(series=[], empty_message="Nothing <yet>", description="")
        assert "<yet>" not in svg
        root = parse(svg)
        assert texts(root, "chart-empty") == ["Nothing <yet>"]
        assert root.find(f"{SVG}desc").text == "From 1 Nov to 4 Nov. Nothing <yet>"


# --- Sparkline ---------------------------------------------------------------------------------


class TestSparkline:
    def test_geometry(self):
        spark = sparkline([0.1, 0.2, 0.15, 0.4], label="Adoption 10% to 40%")
        assert (spark.width, spark.height, spark.colour) == (100, 24, PALETTE[0])
        assert len(spark.lines) == 1 and len(spark.lines[0].split()) == 4
        (last_dot,) = spark.dots
        assert float(last_dot.x) > 90 and last_dot.r == "2.5"
        assert spark.empty_y is None

    def test_basic(self):
        root = parse(
            render_sparkline(sparkline([0.1, 0.2, 0.15, 0.4], label="Adoption 10% to 40%"))
        )
        assert root.get("class") == "sparkline"
        assert root.get("viewBox") == "0 0 100 24"
        assert root.get("role") == "img"
        assert root.get("aria-label") == "Adoption 10% to 40%"
        assert root.find(f"{SVG}title").text == "Adoption 10% to 40%"
        assert len(find_all(root, "polyline")) == 1
        (last_dot,) = find_all(root, "circle")
        assert float(last_dot.get("cx")) > 90
        assert find_all(root, "text") == []  # no axes, no labels

    def test_without_label_is_decorative(self):
        for label in (None, ""):
            root = parse(render_sparkline(sparkline([1, 2, 3], label=label)))
            assert root.get("aria-hidden") == "true"
            assert root.get("role") is None
            assert root.find(f"{SVG}title") is None

    def test_gaps_and_isolated_points(self):
        spark = sparkline([1, 2, None, 3, None, 4, 5], width=120, height=30)
        assert len(spark.lines) == 2
        assert [dot.r for dot in spark.dots] == ["1.75", "2.5"]  # the isolated 3, the latest
        root = parse(render_sparkline(spark))
        assert len(find_all(root, "polyline")) == 2
        assert len(find_all(root, "circle")) == 2

    def test_empty(self):
        for values in ([], [None, None]):
            spark = sparkline(values, label="No data")
            assert spark.lines == () and spark.dots == ()
            root = parse(render_sparkline(spark))
            assert find_all(root, "line", "sparkline-empty")
            assert find_all(root, "polyline") == []

    def test_label_escaped(self):
        svg = render_sparkline(sparkline([1, 2], label='<script>"x"</script>'))
        assert "<script" not in svg
        assert parse(svg).get("aria-label") == '<script>"x"</script>'

    def test_unsafe_colour_falls_back(self):
        spark = sparkline([1, 2], colour='x" onload="y')
        assert spark.colour == PALETTE[0]
        assert "onload" not in render_sparkline(spark)

    def test_points_stay_inside(self):
        (points,) = sparkline([-5, 0, 100, 3], y_min=0).lines
        for pair in points.split():
            x, y = map(float, pair.split(","))
            assert 0 <= x <= 100 and 0 <= y <= 24

    def test_single_value(self):
        assert len(sparkline([0.4]).dots) == 1


# --- Formatting and data table -----------------------------------------------------------------


class TestFormatAndTable:
    @pytest.mark.parametrize(
        ("value", "fmt", "expected"),
        [
            (0.1, "percent", "10.0%"),
            (0.123, "percent", "12.3%"),
            (0, "percent", "0.0%"),
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
        table = data_table(
            series=[Series("<b>Pilot</b>", [0.1, None]), Series("Wave 1", [0.2, 0.25])],
            x_labels=["1 Nov", "2 Nov"],
            y_format="percent",
            caption="Override rate",
        )
        assert table.headers == ("<b>Pilot</b>", "Wave 1")
        assert table.rows == (("1 Nov", ("10.0%", "20.0%")), ("2 Nov", ("–", "25.0%")))
        html = render_data_table(table)
        root = ET.fromstring(html)
        assert root.tag == "table"
        assert root.find("caption").text == "Override rate"
        headers = [th.text for th in root.iter("th")]
        assert headers == ["Date", "<b>Pilot</b>", "Wave 1", "1 Nov", "2 Nov"]
        assert [td.text for td in root.iter("td")] == ["10.0%", "20.0%", "–", "25.0%"]
        assert "<b>" not in html


class TestLegendsAndBands:
    def test_a_series_without_data_is_left_out_of_the_legend_and_named_in_a_note(self):
        result = geometry(
            series=[Series("EU", [0.1, 0.2, 0.3]), Series("US", [None, None, None])],
            x_labels=DAYS[:3],
        )
        assert [item.name for item in result.plot.legend] == ["EU"]
        assert result.notes == ("No data in this period for US.",)

    def test_the_marginal_band_is_shaded_and_labelled(self):
        result = geometry(
            series=[Series("EU", [0.01, 0.015, 0.04])],
            x_labels=DAYS[:3],
            thresholds=[
                ThresholdLine(0.02, "limit 2%", "marginal"),
                ThresholdLine(0.03, "fails > 3%"),
            ],
            y_max=0.05,
        )
        (band,) = result.plot.bands
        marginal, fail = sorted(result.plot.thresholds, key=lambda mark: mark.kind)
        assert band.label == "marginal"
        assert float(band.rect.y) == min(float(marginal.y), float(fail.y))
        assert float(band.rect.height) == pytest.approx(abs(float(marginal.y) - float(fail.y)))
        root = parse(render_line_chart(result))
        assert texts(root, "chart-band-label") == ["marginal"]

    def test_no_band_without_a_marginal_limit(self):
        result = geometry(
            series=[Series("EU", [0.01, 0.04])],
            x_labels=DAYS[:2],
            thresholds=[ThresholdLine(0.03, "limit 3%")],
        )
        assert result.plot.bands == ()
