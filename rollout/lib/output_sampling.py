"""Which AI outputs are picked for review at a cohort's `sample` level (issue 18 §2).

The pick is deterministic, so the AI tool computes it itself and sends `attrs.output` only for
picked events:

    bucket = int(sha256(str(event_id)).hexdigest()[:8], 16) % 10000
    picked = bucket < review_sample_rate * 100        # review_sample_rate: whole percent, 1–50

where `str(event_id)` is the UUID's canonical text (lowercase, with hyphens, e.g.
"1b4e28ba-2fa1-11d2-883f-0016d3cca427") and the hash is of its UTF-8 bytes. The same formula is
in the README and the events API's documentation.
"""

import hashlib
import uuid

BUCKETS = 10_000


def output_bucket(event_id: uuid.UUID) -> int:
    """The event's bucket in [0, 10000)."""
    return int(hashlib.sha256(str(event_id).encode()).hexdigest()[:8], 16) % BUCKETS


def output_picked(event_id: uuid.UUID, rate_percent: int) -> bool:
    """Whether the event is picked at a sample rate of `rate_percent` %."""
    return output_bucket(event_id) < rate_percent * (BUCKETS // 100)
