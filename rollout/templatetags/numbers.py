"""Template filters for numbers people read: ``{% load numbers %}`` then ``{{ n|count }}``,
``{{ rate|percent }}``, ``{{ enrolment.percentage|percentage }}``, ``{{ p|p_value }}``,
``{{ p|significance }}``. The rule itself is rollout.lib.numbers."""

from django import template

from rollout.lib import numbers

register = template.Library()


@register.filter
def count(value: object) -> str:
    """2340 → "2,340"."""
    return numbers.format_count(value)


@register.filter
def number(value: object, decimals: int = 0) -> str:
    """1234.56|number:1 → "1,234.6"."""
    return numbers.format_number(value, int(decimals))


@register.filter
def percent(fraction: object, decimals: int = 1) -> str:
    """0.625 → "62.5%"."""
    return numbers.format_percent(fraction, int(decimals))


@register.filter
def percentage(value: object, decimals: int = 1) -> str:
    """62.5 (already a percentage) → "62.5%"."""
    return numbers.format_percentage(value, int(decimals))


@register.filter
def p_value(p: object) -> str:
    """8.8e-07 → "p < 0.001"."""
    return numbers.format_p_value(p)


@register.filter
def significance(p: object) -> str:
    """8.8e-07 → "significant (p < 0.001)"."""
    return numbers.format_significance(p)


@register.filter
def money(value: object, currency: str) -> str:
    """1234.5|money:"EUR" → "€1,234.50"."""
    return numbers.format_money(value, str(currency))
