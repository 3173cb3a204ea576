"""An activity entry's changes, made readable: what each field was and became, in the words and
formats the rest of the app uses.

Entries store `{label: [before, after]}` as the services wrote them over time — some labels
capitalised, some not; times as ISO text; booleans as "True"/"False"; long texts whole. Read as
stored they looked like a database dump. Here, at display time (so every entry ever written reads
the same way): labels start with a capital, ISO times are shown like every other time on the page
(in the reader's time zone), booleans are words ("required" / "not required" for a requirement,
"yes" / "no" otherwise), and a long text is only said to have changed, its before and after shown
on demand.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from django.utils import timezone
from django.utils.dateformat import format as date_format

from core.time_zones import INSTANT_FORMAT

LONG = 80  # characters: longer, or on several lines, is "changed" with the texts on demand
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?")
_BOOLEANS = {"true": True, "false": False}


@dataclass(frozen=True)
class ChangeRow:
    label: str
    before: str
    after: str
    long: bool = False


def change_rows(changes: object) -> list[ChangeRow]:
    """The rows of an entry's `changes` ({label: [before, after]}), in their stored order."""
    if not isinstance(changes, dict):
        return []
    rows = []
    for label, values in changes.items():
        before, after = (
            values if isinstance(values, list | tuple) and len(values) == 2 else ("", values)
        )
        name = str(label)
        before_text, after_text = _text(name, before), _text(name, after)
        long = any(len(t) > LONG or "\n" in t for t in (before_text, after_text))
        rows.append(ChangeRow(name[:1].upper() + name[1:], before_text, after_text, long))
    return rows


def change_summary(changes: object) -> str:
    """One line naming what changed, for a short list of entries: "Status, severity and assignee
    changed." (empty without changes)."""
    labels = [row.label for row in change_rows(changes)]
    if not labels:
        return ""
    named = [labels[0]] + [label[:1].lower() + label[1:] for label in labels[1:]]
    listed = named[0] if len(named) == 1 else f"{', '.join(named[:-1])} and {named[-1]}"
    return f"{listed} changed."


def _text(label: str, value: object) -> str:
    if isinstance(value, bool) or (isinstance(value, str) and value.lower() in _BOOLEANS):
        truth = value if isinstance(value, bool) else _BOOLEANS[value.lower()]
        if label.lower().endswith("required"):
            return "required" if truth else "not required"
        return "yes" if truth else "no"
    text = "" if value is None else str(value)
    if _ISO.fullmatch(text.strip()):
        try:
            when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        except ValueError:
            return text
        if timezone.is_naive(when):
            when = when.replace(tzinfo=UTC)
        return date_format(timezone.localtime(when), INSTANT_FORMAT)
    return text
