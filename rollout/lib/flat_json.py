"""The JSON text of a small flat object — an event's `attrs` — remembered.

A batch of usage events mostly carries the same few `attrs` ({"model_version": "2026-09",
"channel": "email"} on every event of a tool), and both checking a batch (its size in JSON) and
storing it (jsonb) need their JSON text: encoding each one twice cost more than the database
took to store it. The text is remembered per distinct object, keyed by its names, values and the
types of its values (True and 1 are equal in Python, not in JSON).
"""

import functools
import json
from collections.abc import Mapping
from typing import Any


@functools.lru_cache(maxsize=1024)
def _remembered(items: tuple[tuple[str, Any], ...], types: tuple[type, ...]) -> str:
    # `types` is part of the key only: True == 1 in Python, but not in JSON.
    return json.dumps(dict(items))


def flat_json(value: Mapping[str, Any]) -> str:
    """`json.dumps(value)`, remembered when every value is a scalar (hashable); anything else
    (a nested object or list) is encoded afresh. (The key is built by C-level calls only: this
    runs twice per stored event.)"""
    try:
        return _remembered(tuple(value.items()), tuple(map(type, value.values())))
    except TypeError:  # an unhashable value: nested
        return json.dumps(value)
