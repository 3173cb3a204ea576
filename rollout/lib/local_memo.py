"""A per-process memo with a short time-to-live, in front of the shared cache on the API's hot
path (the decision endpoint).

Why: a shared-cache read is a network round trip, and on the decision endpoint those round trips
were most of its cost (`make bench`). What it costs: another web process may answer from its memo
for up to ROLLOUT_LOCAL_MEMO_SECONDS (default 1 s) after a plan change or a token revocation made
elsewhere; the process that made the change forgets at once (see `forget`). Feature-flag SDKs
accept far longer staleness; a second keeps "pause" and "revoke" effectively immediate. A caller
may keep an entry longer (`remember(..., seconds)`) when it re-checks it against the shared cache
within that second by other means (decision answers, by their plan version).
"""

import threading
import time
from typing import Any

from django.conf import settings

MAX_ENTRIES = 50_000
_lock = threading.Lock()
_entries: dict[str, tuple[float, Any]] = {}


def ttl() -> float:
    return float(getattr(settings, "ROLLOUT_LOCAL_MEMO_SECONDS", 1.0))


def recall(key: str) -> Any | None:
    entry = _entries.get(key)
    if entry is None:
        return None
    expires, value = entry
    if time.monotonic() >= expires:
        _entries.pop(key, None)
        return None
    return value


def remember(key: str, value: Any, seconds: float | None = None) -> None:
    """Keeps `value` for `seconds` (default: ttl()); nothing when memos are off (ttl() <= 0)."""
    if ttl() <= 0:
        return
    seconds = ttl() if seconds is None else seconds
    with _lock:
        if len(_entries) >= MAX_ENTRIES:
            _entries.clear()  # bounded memory; a cold second costs only round trips
        _entries[key] = (time.monotonic() + seconds, value)


def forget(prefix: str) -> None:
    """Drop every entry whose key starts with `prefix` (this process only)."""
    with _lock:
        for key in [k for k in _entries if k.startswith(prefix)]:
            _entries.pop(key, None)


def forget_all() -> None:
    with _lock:
        _entries.clear()
