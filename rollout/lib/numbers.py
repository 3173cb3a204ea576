"""How Rollout writes a number for people: the one rule, used by every page and message.

* counts get thousands separators: ``12,345``;
* percentages have one decimal and no space before the sign: ``62.5%`` (``100.0%``, ``0.0%``);
  a rate is stored as a fraction (0.625) and written with :func:`format_percent`; a figure that
  already is a percentage (a cohort's enrolment percentage, 50) with :func:`format_percentage`;
* halves round up (``0.0625`` is ``6.3%``), on the decimal value people see, not on the float's
  binary approximation;
* a p-value is never written in scientific notation: below 0.001 it is ``p < 0.001``, else three
  decimals; a result says whether it is significant before it gives the number;
* nothing to show (None, NaN, infinity) is an em dash, never "None" or "nan".

CSV and JSON exports keep raw numbers: this module is for text people read.
Pure Python, no Django.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

__all__ = [
    "MISSING",
    "P_FLOOR",
    "format_count",
    "format_money",
    "format_number",
    "format_p_value",
    "format_percent",
    "format_percentage",
    "format_significance",
]

MISSING = "—"
# Below this a p-value is written as "p < 0.001": more digits say nothing to a reader.
P_FLOOR = 0.001
SIGNIFICANCE_LEVEL = 0.05


def _decimal(value: object) -> Decimal | None:
    """The value as a Decimal of its shortest decimal spelling (0.1 stays 0.1), None if it is not
    a finite number. Booleans are not numbers here."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        value = repr(value)
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _rounded(number: Decimal, decimals: int) -> str:
    quantum = Decimal(1).scaleb(-decimals)
    text = f"{number.quantize(quantum, rounding=ROUND_HALF_UP):,.{decimals}f}"
    # -0.0 rounds to "-0.0": there is no negative zero for people.
    return text[1:] if text.startswith("-") and not any(c in "123456789" for c in text) else text


def format_number(value: object, decimals: int = 0) -> str:
    """``1234.5`` → ``1,235`` (``decimals=1``: ``1,234.5``); a missing value → ``—``."""
    number = _decimal(value)
    return MISSING if number is None else _rounded(number, decimals)


def format_count(value: object) -> str:
    """A count with thousands separators: ``2340`` → ``2,340``."""
    return format_number(value, 0)


def format_people(count: int) -> str:
    """A number of people in words a message can use: ``1`` → ``1 person``, ``3`` → ``3 people``."""
    return f"{format_count(count)} {'person' if count == 1 else 'people'}"


def format_percent(fraction: object, decimals: int = 1) -> str:
    """A fraction as a percentage: ``0.625`` → ``62.5%``, ``1`` → ``100.0%``."""
    number = _decimal(fraction)
    return MISSING if number is None else _rounded(number * 100, decimals) + "%"


def format_percentage(value: object, decimals: int = 1) -> str:
    """A figure that already is a percentage: ``62.5`` → ``62.5%``, ``50`` → ``50.0%``."""
    number = _decimal(value)
    return MISSING if number is None else _rounded(number, decimals) + "%"


def format_p_value(p: object) -> str:
    """``p < 0.001`` below :data:`P_FLOOR`, else ``p = 0.012`` (three decimals)."""
    number = _decimal(p)
    if number is None:
        return MISSING
    if number < Decimal(str(P_FLOOR)):
        return f"p < {P_FLOOR}"
    return f"p = {_rounded(min(number, Decimal(1)), 3)}"


def format_significance(p: object, level: float = SIGNIFICANCE_LEVEL) -> str:
    """``significant (p < 0.001)`` or ``not significant (p = 0.210)`` at the given level."""
    number = _decimal(p)
    if number is None:
        return MISSING
    verdict = "significant" if number < Decimal(str(level)) else "not significant"
    return f"{verdict} ({format_p_value(number)})"


# Written before the amount; any other currency is written after it by its ISO 4217 code.
CURRENCY_SYMBOLS = {"EUR": "€", "GBP": "£", "USD": "$", "JPY": "¥"}


def money_decimals(value: float) -> int:
    """Two decimals, more for amounts under one unit so two significant digits show: a cost per
    invocation of 0.0042 is ``0.0042``, not ``0.00``. At most six."""
    size = abs(value)
    if size == 0 or size >= 1:
        return 2
    return max(2, min(6, 1 - math.floor(math.log10(size))))


def format_money(value: object, currency: str, decimals: int | None = None) -> str:
    """An amount in `currency`: ``1234.5, "EUR"`` → ``€1,234.50``; ``0.0042, "CHF"`` →
    ``0.0042 CHF``; a missing value → ``—``. `decimals` fixes the places (a chart's axis)."""
    number = _decimal(value)
    if number is None:
        return MISSING
    places = money_decimals(float(number)) if decimals is None else decimals
    text = _rounded(number, places)
    symbol = CURRENCY_SYMBOLS.get(currency)
    if symbol is None:
        return f"{text} {currency}"
    return f"-{symbol}{text[1:]}" if text.startswith("-") else f"{symbol}{text}"
