"""The JSON text of a small flat object — an event's `attrs` — remembered.

A batch of usage events mostly carries the same few `attrs` ({"model_version": "2026-09",
"channel": "email"} on every event of a tool), and both checking a batch (its size in JSON) and
storing it (jsonb) need their JSON text: encoding each one twice cost more than the database
took to store it. The text is remembered per distinct object, keyed by its names, values and the
types of its values (True and 1 are equal in Python, not in JSON).
"""

import functools
import json
from typing import Any


@functools.lru_cache(maxsize=1024)
def _remembered(key: tuple[tuple[str, type, Any], ...]) -> str:
    return json.dumps({name: value for name, _, value in key})


def flat_json(value: dict[str, Any]) -> str:
    """`json.dumps(value)`, remembered when every value is a scalar (hashable); anything else
    (a nested object or list) is encoded afresh."""
    try:
        return _remembered(tuple((name, type(item), item) for name, item in value.items()))
    except TypeError:  # an unhashable value: nested
        return json.dumps(value)
