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
import re
import uuid
from urllib.parse import urlsplit

BUCKETS = 10_000


def output_bucket(event_id: uuid.UUID) -> int:
    """The event's bucket in [0, 10000)."""
    return int(hashlib.sha256(str(event_id).encode()).hexdigest()[:8], 16) % BUCKETS


def output_picked(event_id: uuid.UUID, rate_percent: int) -> bool:
    """Whether the event is picked at a sample rate of `rate_percent` %."""
    return output_bucket(event_id) < rate_percent * (BUCKETS // 100)


MAX_OUTPUT = 1000
MSG_OUTPUT_KIND = (
    "attrs.output is accepted only on invocation events: it is the AI's output, sent when the "
    "event is picked for review."
)
MSG_OUTPUT_SHAPE = (
    "attrs.output must be the AI's output as text of at most 1,000 characters, or an https:// "
    "link to it."
)
MSG_OUTPUT_CONTROL = "attrs.output holds a control character: send the text without it."
_LINK = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
# As rollout.api.checks refuses in attrs: control characters other than tab and line ends.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def output_problem(kind: object, value: object) -> str | None:
    """Why `attrs.output` is refused on an event of `kind`, or None when it is acceptable: on an
    invocation only; text of 1 to MAX_OUTPUT characters, where text that starts like a link
    (scheme://) must be an https link with a host."""
    if kind != "invocation":
        return MSG_OUTPUT_KIND
    if type(value) is not str or not value.strip() or len(value) > MAX_OUTPUT:  # noqa: E721
        return MSG_OUTPUT_SHAPE
    if _CONTROL.search(value):
        return MSG_OUTPUT_CONTROL
    if _LINK.match(value):
        parts = urlsplit(value)
        if parts.scheme.lower() != "https" or not parts.hostname or any(c.isspace() for c in value):
            return MSG_OUTPUT_SHAPE
    return None
