from decimal import Decimal

import pytest

from rollout.lib.numbers import (
    format_count,
    format_money,
    format_number,
    format_p_value,
    format_percent,
    format_percentage,
    format_significance,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, "0"),
        (7, "7"),
        (999, "999"),
        (1000, "1,000"),
        (2340, "2,340"),
        (-12345, "-12,345"),
        (1234.5, "1,235"),  # halves round up
        (2.5, "3"),
        (10**21, "1,000,000,000,000,000,000,000"),
        (1e21, "1,000,000,000,000,000,000,000"),
        (Decimal("12345.678"), "12,346"),
        ("42", "42"),
        (None, "—"),
        (float("nan"), "—"),
        (float("inf"), "—"),
        ("abc", "—"),
        (True, "—"),
    ],
)
def test_counts_have_thousands_separators(value, expected):
    assert format_count(value) == expected


def test_a_number_can_keep_decimals():
    assert format_number(1234.56, 1) == "1,234.6"
    assert format_number(0.05, 1) == "0.1"
    assert format_number(-0.04, 1) == "0.0"  # no negative zero


@pytest.mark.parametrize(
    ("fraction", "expected"),
    [
        (0, "0.0%"),
        (0.0, "0.0%"),
        (1, "100.0%"),
        (0.625, "62.5%"),
        (0.0625, "6.3%"),  # half up on the decimal value, not the float's binary one
        (0.0005, "0.1%"),
        (0.00049, "0.0%"),
        (0.9995, "100.0%"),
        (0.123449, "12.3%"),
        (0.1, "10.0%"),
        (1 / 3, "33.3%"),
        (2 / 3, "66.7%"),
        (12.5, "1,250.0%"),
        (-0.0001, "0.0%"),
        (-0.25, "-25.0%"),
        (None, "—"),
        (float("nan"), "—"),
    ],
)
def test_a_fraction_is_a_percentage_with_one_decimal_and_no_space(fraction, expected):
    assert format_percent(fraction) == expected


def test_a_percentage_can_round_to_whole_numbers():
    assert format_percent(0.625, 0) == "63%"
    assert format_percent(0.615, 0) == "62%"  # 61.5 → 62: half up


@pytest.mark.parametrize(
    ("value", "expected"), [(50, "50.0%"), (62.45, "62.5%"), (100, "100.0%"), (None, "—")]
)
def test_a_figure_that_already_is_a_percentage(value, expected):
    assert format_percentage(value) == expected


@pytest.mark.parametrize(
    ("p", "expected"),
    [
        (8.8e-07, "p < 0.001"),
        (0, "p < 0.001"),
        (0.000999, "p < 0.001"),
        (0.001, "p = 0.001"),
        (0.0123, "p = 0.012"),
        (0.0495, "p = 0.050"),
        (0.21, "p = 0.210"),
        (1.0, "p = 1.000"),
        (1.2, "p = 1.000"),
        (None, "—"),
        (float("nan"), "—"),
    ],
)
def test_a_p_value_is_never_in_scientific_notation(p, expected):
    assert format_p_value(p) == expected


@pytest.mark.parametrize(
    ("p", "expected"),
    [
        (8.8e-07, "significant (p < 0.001)"),
        (0.0495, "significant (p = 0.050)"),  # below 0.05 although it rounds to it
        (0.05, "not significant (p = 0.050)"),
        (0.21, "not significant (p = 0.210)"),
        (None, "—"),
    ],
)
def test_significance_comes_before_the_number(p, expected):
    assert format_significance(p) == expected


@pytest.mark.parametrize(
    ("value", "currency", "text"),
    [
        (1234.5, "EUR", "€1,234.50"),
        (200, "EUR", "€200.00"),
        (0, "EUR", "€0.00"),
        (0.125, "USD", "$0.13"),
        (0.0042, "GBP", "£0.0042"),
        (0.000031, "EUR", "€0.000031"),
        (0.0000001, "EUR", "€0.000000"),
        (-2.5, "EUR", "-€2.50"),
        (12.5, "CHF", "12.50 CHF"),
        (None, "EUR", "—"),
        (float("nan"), "EUR", "—"),
        (True, "EUR", "—"),
    ],
)
def test_money_in_the_organisations_currency(value, currency, text):
    assert format_money(value, currency) == text


def test_money_with_fixed_decimals_for_an_axis():
    assert [format_money(v, "EUR", 4) for v in (0, 0.0025, 0.01)] == [
        "€0.0000",
        "€0.0025",
        "€0.0100",
    ]
