"""Chat messages for an event: Slack Block Kit, a Teams Adaptive Card 1.5, and the plain text both
fall back to. Pure: the input is the Standard Webhooks event body built by
rollout.lib.webhook_events (`{"type", "timestamp", "data": {id, workflow, actor, verb, target,
summary, changes, note, url}}`), the output the JSON body to post.

A channel is read by many people, so a message carries a plain link to the page (data.url), never
anything signed or personal. Whatever the entry holds, the message stays inside the platforms'
limits: texts are cut to length with an ellipsis (counted in UTF-16 code units, the stricter of the
counts the platforms use, so an emoji never tips a text over), at most CHANGES_SHOWN changes are
listed and the rest counted, and a link too long to be a button is left out rather than cut.

People's words are text, not markup: Slack's control characters (&, <, >) are escaped, so a name
such as "<!channel>" cannot ping a channel or become a link; in a Teams card the Markdown
characters that make links and emphasis are escaped with a backslash.
"""

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

SLACK, TEAMS = "slack", "teams"

OPEN_LABEL = "Open in Rollout"
CHANGES_LABEL = "What changed"
NOTE_LABEL = "Note"
SYSTEM_ACTOR = "Rollout"  # an entry with no actor was written by Rollout itself
ARROW = "→"
ELLIPSIS = "…"
EMPTY_VALUE = "(empty)"

# Block Kit's limits (https://docs.slack.dev/reference/block-kit/blocks): a header's text 150
# characters, a section's text 3000, a field's 2000 and at most 10 fields; a button's text 75 and
# its URL 3000. A message's top-level text is cut by Slack at 40,000, but it is the notification
# preview: 3000 is plenty.
SLACK_HEADER_MAX = 150
SLACK_SECTION_MAX = 3000
SLACK_FIELD_MAX = 2000
SLACK_TEXT_MAX = 3000
URL_MAX = 3000

# Lengths of one person's words in a message, whatever the platform: enough to read, short enough
# that ten of them fit a section.
NAME_MAX = 200
SUMMARY_MAX = 300
LABEL_MAX = 80
VALUE_MAX = 120
NOTE_MAX = 1000
CHANGES_SHOWN = 10

_SLACK_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_TEAMS_MARKDOWN = re.compile(r"([\\`*_\[\]])")
_WHITESPACE = re.compile(r"\s+")


def _units(text: str) -> int:
    """Length in UTF-16 code units: what JavaScript counts, never less than Python's len()."""
    return len(text.encode("utf-16-le")) // 2


def _plain(text: str) -> str:
    return text


def _slack_escape(text: str) -> str:
    return "".join(_SLACK_ESCAPES.get(char, char) for char in text)


def _teams_escape(text: str) -> str:
    return _TEAMS_MARKDOWN.sub(r"\\\1", text)


def _fit(text: str, limit: int, escape: Callable[[str], str] = _plain) -> str:
    """`text` escaped, cut so the escaped form is at most `limit` code units, ending with an
    ellipsis when cut. Cutting before escaping never splits an escape such as "&amp;"."""
    escaped = escape(text)
    if _units(escaped) <= limit:
        return escaped
    room, kept = limit - _units(ELLIPSIS), []
    for char in text:
        piece = escape(char)
        room -= _units(piece)
        if room < 0:
            break
        kept.append(piece)
    return "".join(kept).rstrip() + ELLIPSIS


def _one_line(value: object) -> str:
    """A stored value as one line of text: None and "" read "(empty)", whitespace runs collapse."""
    if value is None:
        return EMPTY_VALUE
    text = _WHITESPACE.sub(" ", str(value)).strip()
    return text or EMPTY_VALUE


def type_label(event_type: object) -> str:
    """ "workflow.phase_changed" → "Workflow phase changed"."""
    words = re.sub(r"[._\s]+", " ", str(event_type or "")).strip() or "activity recorded"
    return words[:1].upper() + words[1:]


def _data(event: Mapping[str, Any]) -> Mapping[str, Any]:
    data = event.get("data")
    return data if isinstance(data, Mapping) else {}


def _named(value: object, *keys: str) -> str:
    """The first non-blank of `keys` in a {"name", "email"}-like mapping ("" when none)."""
    if not isinstance(value, Mapping):
        return ""
    for key in keys:
        text = _WHITESPACE.sub(" ", str(value.get(key) or "")).strip()
        if text:
            return text
    return ""


def _workflow_name(data: Mapping[str, Any]) -> str:
    return _named(data.get("workflow"), "name", "slug")


def _actor_name(data: Mapping[str, Any]) -> str:
    return _named(data.get("actor"), "name", "email") or SYSTEM_ACTOR


def _summary(event: Mapping[str, Any]) -> str:
    data = _data(event)
    summary = _WHITESPACE.sub(" ", str(data.get("summary") or "")).strip()
    if summary:
        return summary
    said = " ".join(str(data.get(key) or "").strip() for key in ("verb", "target")).strip()
    return f"{_actor_name(data)} {said}" if said else type_label(event.get("type"))


def _when(event: Mapping[str, Any]) -> datetime | None:
    try:
        when = datetime.fromisoformat(str(event.get("timestamp") or ""))
    except ValueError:
        return None
    return when.astimezone(UTC) if when.tzinfo else None


def _when_text(event: Mapping[str, Any]) -> str:
    """ "7 Dec 2026, 10:00 UTC" (the stored text as it is when it is not an aware ISO time)."""
    when = _when(event)
    if when is None:
        return _fit(_one_line(event.get("timestamp") or "—"), NAME_MAX)
    return f"{when.day} {when:%b %Y, %H:%M} UTC"


def _changes(data: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(label, before, after) of each change, in stored order, one line each and cut to length."""
    changes = data.get("changes")
    if not isinstance(changes, Mapping):
        return []
    rows = []
    for label, values in changes.items():
        pair = values if isinstance(values, list | tuple) and len(values) == 2 else (None, values)
        rows.append(
            (
                _fit(_one_line(label), LABEL_MAX),
                _fit(_one_line(pair[0]), VALUE_MAX),
                _fit(_one_line(pair[1]), VALUE_MAX),
            )
        )
    return rows


def _more(hidden: int) -> str:
    return f"{ELLIPSIS}and {hidden} more change{'s' if hidden != 1 else ''}"


def _note(data: Mapping[str, Any]) -> str:
    return _fit(str(data.get("note") or "").strip(), NOTE_MAX)


def _url(data: Mapping[str, Any]) -> str:
    """The page's absolute http(s) link, or "" when there is none fit for a button."""
    url = str(data.get("url") or "").strip()
    if not re.match(r"https?://[^\s]+$", url) or len(url) > URL_MAX:
        return ""
    return url


def _context(event: Mapping[str, Any]) -> str:
    entry = _data(event).get("id")
    parts = ["Rollout", type_label(event.get("type"))]
    if isinstance(entry, int) and not isinstance(entry, bool):
        parts.append(f"activity #{entry}")
    return " · ".join(parts)


def plain_text(event: Mapping[str, Any]) -> str:
    """The message as plain text, for a notification preview or a client without cards:

    Olivia Owner promoted Invoice triage to Limited
    Phase: Shadow → Limited
    Note: …
    https://rollout.example.com/workflows/invoice-triage/
    """
    return _fallback(event)


def _fallback(event: Mapping[str, Any], escape: Callable[[str], str] = _plain) -> str:
    """`plain_text`, each part escaped by `escape`, cut to SLACK_TEXT_MAX once escaped."""
    data = _data(event)
    lines = [_fit(_summary(event), SUMMARY_MAX)]
    rows = _changes(data)
    lines += [f"{label}: {before} {ARROW} {after}" for label, before, after in rows[:CHANGES_SHOWN]]
    if len(rows) > CHANGES_SHOWN:
        lines.append(_more(len(rows) - CHANGES_SHOWN))
    if note := _note(data):
        lines.append(f"{NOTE_LABEL}: {note}")
    url = escape(_url(data))
    # The link goes last but is never the part that is cut.
    body = _fit("\n".join(lines), SLACK_TEXT_MAX - (_units(url) + 1 if url else 0), escape)
    return f"{body}\n{url}" if url else body


# --- Slack -----------------------------------------------------------------------------------


def _slack_when(event: Mapping[str, Any]) -> str:
    """Slack's date token, shown in each reader's own time zone, with the UTC text as fallback."""
    when = _when(event)
    fallback = _slack_escape(_when_text(event))
    if when is None:
        return fallback
    return f"<!date^{int(when.timestamp())}^{{date_short_pretty}} at {{time}}|{fallback}>"


def _slack_changes(rows: list[tuple[str, str, str]]) -> str:
    """ "*What changed*" and a line per change, as many as fit the section (the rest counted)."""
    lines = [f"*{CHANGES_LABEL}*"]
    shown = 0
    for label, before, after in rows[:CHANGES_SHOWN]:
        line = f"• *{_slack_escape(label)}*: {_slack_escape(before)} {ARROW} {_slack_escape(after)}"
        # Room is kept for the "…and N more" line whenever a row might be left out.
        if _units("\n".join([*lines, line, _more(len(rows))])) > SLACK_SECTION_MAX:
            break
        lines.append(line)
        shown += 1
    if shown < len(rows):
        lines.append(_more(len(rows) - shown))
    return "\n".join(lines)


def slack_message(event: Mapping[str, Any]) -> dict[str, Any]:
    """The body for a Slack incoming webhook: `{"text": fallback, "blocks": [header, section with
    fields, (what changed), (note), context, (actions with the "Open in Rollout" button)]}`."""
    data = _data(event)
    fields = []
    if workflow := _workflow_name(data):
        fields.append(f"*Workflow*\n{_fit(workflow, NAME_MAX, _slack_escape)}")
    fields += [
        f"*By*\n{_fit(_actor_name(data), NAME_MAX, _slack_escape)}",
        f"*When*\n{_slack_when(event)}",
        f"*Event*\n{_fit(type_label(event.get('type')), NAME_MAX, _slack_escape)}",
    ]
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "text": _fit(_summary(event), SLACK_HEADER_MAX),
                "emoji": True,
            },
        },
        {"type": "section", "fields": [{"type": "mrkdwn", "text": text} for text in fields]},
    ]
    if rows := _changes(data):
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _slack_changes(rows)}})
    if note := _note(data):
        heading = f"*{NOTE_LABEL}*\n"
        # Cut again once escaped: each "&" becomes "&amp;".
        text = heading + _fit(note, SLACK_SECTION_MAX - _units(heading), _slack_escape)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
    context = {"type": "mrkdwn", "text": _slack_escape(_context(event))}
    blocks.append({"type": "context", "elements": [context]})
    if url := _url(data):
        button = {
            "type": "button",
            "text": {"type": "plain_text", "text": OPEN_LABEL},
            "url": url,
            "action_id": "open_in_rollout",
        }
        blocks.append({"type": "actions", "elements": [button]})
    return {"text": _fallback(event, _slack_escape), "blocks": blocks}


# --- Microsoft Teams -------------------------------------------------------------------------

ADAPTIVE_CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
ADAPTIVE_CARD_VERSION = "1.5"
ADAPTIVE_CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"


def _fact(title: str, value: str) -> dict[str, str]:
    return {"title": _teams_escape(title), "value": _teams_escape(value)}


def _text_block(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def teams_card(event: Mapping[str, Any]) -> dict[str, Any]:
    """The Adaptive Card 1.5: a heading, a FactSet (workflow, by, when, event), "What changed"
    as facts "before → after", the note, a subtle context line and Action.OpenUrl to the page."""
    data = _data(event)
    facts = []
    if workflow := _workflow_name(data):
        facts.append(_fact("Workflow", _fit(workflow, NAME_MAX)))
    facts += [
        _fact("By", _fit(_actor_name(data), NAME_MAX)),
        _fact("When", _when_text(event)),
        _fact("Event", type_label(event.get("type"))),
    ]
    body: list[dict[str, Any]] = [
        _text_block(
            _teams_escape(_fit(_summary(event), SUMMARY_MAX)),
            style="heading",
            size="Medium",
            weight="Bolder",
        ),
        {"type": "FactSet", "facts": facts},
    ]
    if rows := _changes(data):
        body.append(_text_block(CHANGES_LABEL, weight="Bolder", spacing="Medium"))
        changed = [_fact(label, f"{b} {ARROW} {a}") for label, b, a in rows[:CHANGES_SHOWN]]
        body.append({"type": "FactSet", "facts": changed})
        if len(rows) > CHANGES_SHOWN:
            body.append(_text_block(_more(len(rows) - CHANGES_SHOWN), isSubtle=True))
    if note := _note(data):
        body.append(_text_block(NOTE_LABEL, weight="Bolder", spacing="Medium"))
        # Markdown needs a blank line for a line break.
        body.append(_text_block(_teams_escape(note).replace("\n", "\n\n")))
    body.append(_text_block(_context(event), isSubtle=True, size="Small", spacing="Medium"))
    card: dict[str, Any] = {
        "type": "AdaptiveCard",
        "$schema": ADAPTIVE_CARD_SCHEMA,
        "version": ADAPTIVE_CARD_VERSION,
        "fallbackText": plain_text(event),
        "body": body,
    }
    if url := _url(data):
        card["actions"] = [{"type": "Action.OpenUrl", "title": OPEN_LABEL, "url": url}]
    return card


def teams_message(event: Mapping[str, Any]) -> dict[str, Any]:
    """The body for a Teams Workflows webhook ("When a Teams webhook request is received"): a
    message with the card as its one attachment."""
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": ADAPTIVE_CARD_CONTENT_TYPE,
                "contentUrl": None,
                "content": teams_card(event),
            }
        ],
    }


_RENDERERS: dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {
    SLACK: slack_message,
    TEAMS: teams_message,
}


def chat_message(kind: str, event: Mapping[str, Any]) -> dict[str, Any]:
    """The body to post for a channel of `kind` ("slack" or "teams"; a str enum's value works)."""
    try:
        render = _RENDERERS[str(kind.value if hasattr(kind, "value") else kind)]
    except KeyError:
        raise ValueError(f"Unknown chat kind: {kind!r}") from None
    return render(event)
