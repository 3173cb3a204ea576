"""The cost an event may report in its attrs (issue 18 §3), checked the same way by every way in.

`attrs.input_tokens` and `attrs.output_tokens` are whole numbers from 0 to MAX_TOKENS;
`attrs.cost` is a number from 0 to MAX_EVENT_COST in the organisation's currency. Booleans are
not numbers (JSON's true is no count), nor is text. Pure Python: the events API calls
`cost_attrs_error` only for an event whose attrs hold one of the keys.
"""

import math
from collections.abc import Mapping
from typing import Any

COST_ATTRS = ("cost", "input_tokens", "output_tokens")
TOKEN_ATTRS = ("input_tokens", "output_tokens")
MAX_TOKENS = 100_000_000
MAX_EVENT_COST = 1_000_000

MSG_TOKENS = "attrs.{name} must be a whole number of tokens from 0 to " + f"{MAX_TOKENS:,}" + "."
MSG_COST = (
    "attrs.cost must be a number from 0 to "
    + f"{MAX_EVENT_COST:,}"
    + ", in the organisation's currency."
)


def reports_cost(attrs: Mapping[str, Any]) -> bool:
    return "cost" in attrs or "input_tokens" in attrs or "output_tokens" in attrs


def cost_attrs_error(attrs: Mapping[str, Any]) -> str | None:
    """What is wrong with the attrs' cost and tokens, or None when they are fine (or absent)."""
    for name in TOKEN_ATTRS:
        if name in attrs:
            value = attrs[name]
            if type(value) is not int or not 0 <= value <= MAX_TOKENS:  # noqa: E721 — no bool
                return MSG_TOKENS.format(name=name)
    if "cost" in attrs:
        value = attrs["cost"]
        if (
            type(value) not in (int, float)
            or not math.isfinite(value)
            or not 0 <= value <= MAX_EVENT_COST
        ):
            return MSG_COST
    return None
