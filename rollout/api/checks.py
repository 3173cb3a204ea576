"""What every body of the JSON API shares: the typed request, reading JSON with limits, the checks
of a person and a time, and the wording of pydantic's errors.

Used by the endpoint modules (events, feedback, …), which never import each other.
"""

import json
import math
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from typing import Any

from django.http import HttpRequest
from ninja.parser import Parser
from pydantic import BaseModel, ValidationError

from core.text import has_line_breaks_or_controls
from rollout.models import ApiToken

MAX_FUTURE = timedelta(hours=1)
MAX_AGE = timedelta(days=400)
# Arrays and objects inside one another. A batch of events needs 4 ({"events": [{"attrs": {}}]});
# Python's json recurses per level, so without a limit 100,000 levels end in a RecursionError.
MAX_DEPTH = 32

MSG_NOT_JSON = "The body is not valid JSON."
MSG_NAIVE = "Give an ISO 8601 time with its time zone, e.g. 2026-11-30T14:05:00Z."
MSG_FUTURE = "This is more than an hour in the future: check the sender's clock."
MSG_TOO_OLD = "This is more than 400 days ago: too old to count."
MSG_BLANK_USER = "Name the person: an email or the id the AI tool knows them by."
MSG_CONTROL = "Control characters (such as NUL) are not allowed here."
MSG_NON_FINITE = (
    "Numbers must be finite: NaN, Infinity and numbers too large for JSON (such as 1e999) "
    "are not accepted."
)
MSG_TOO_DEEP = f"The JSON is nested too deep: at most {MAX_DEPTH} levels of arrays and objects."


class ApiHttpRequest(HttpRequest):
    """A request that passed ApiTokenAuth (rollout.api.auth): `auth` is its token."""

    auth: ApiToken


class NonFinite:
    """Where a body held NaN, Infinity, -Infinity or a number beyond a double (1e999, read as inf).

    Python's json reads them, but they are not JSON and PostgreSQL's jsonb refuses them: they are
    kept as this marker, so a batch can reject the one item that holds one and store the rest.
    """

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"NonFinite({self.text!r})"


class _Reading:
    """The parser's hooks for one body, noting whether any non-finite number was met, so that
    the usual body (none) is never walked again to look for one."""

    __slots__ = ("non_finite",)

    def __init__(self) -> None:
        self.non_finite = False

    def number(self, text: str) -> float | NonFinite:
        value = float(text)
        if math.isfinite(value):
            return value
        self.non_finite = True
        return NonFinite(text)

    def constant(self, text: str) -> NonFinite:
        self.non_finite = True
        return NonFinite(text)


class UnreadableBody(ValueError):
    """A body that is not JSON, or not JSON within the limits, with the reason for the client."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# A JSON string (its closing quote optional, so an unterminated one ends the text instead of
# making the scan restart at every later quote: linear time, whatever the body), and what is not a
# bracket. A bracket inside a string is no nesting.
_STRING = re.compile(r'"(?:[^"\\]++|\\.)*+"?', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]++")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def _depth(text: str) -> int:
    """How deep arrays and objects nest in `text`, read as the JSON parser reads it (a bracket
    after an error may be counted too: the parser would refuse the text anyway)."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return 0  # cannot be deeper (the usual small body: no scan)
    # Without escapes every quote opens or closes a string: splitting is 4 times faster on a batch.
    escapes = "\\" in text
    outside = _STRING.sub("", text) if escapes else "".join(text.split('"')[::2])
    brackets = _NOT_BRACKET.sub("", outside)
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def parse_json(body: bytes) -> Any:
    """The body read as JSON, non-finite numbers as NonFinite markers (see holds_non_finite).

    Raises UnreadableBody when the body is not JSON or nests deeper than MAX_DEPTH; the depth is
    measured before parsing, so the parser never recurses that deep.
    """
    return read_json(body)[0]


def read_json(body: bytes) -> tuple[Any, bool]:
    """parse_json's value, and whether it holds a non-finite number anywhere (when it does not,
    nothing needs walking for one)."""
    try:
        text = body.decode(json.detect_encoding(body), "surrogatepass")
    except UnicodeDecodeError as exc:
        raise UnreadableBody(MSG_NOT_JSON) from exc
    if _depth(text) > MAX_DEPTH:
        raise UnreadableBody(MSG_TOO_DEEP)
    reading = _Reading()
    try:
        value = json.loads(text, parse_float=reading.number, parse_constant=reading.constant)
    except ValueError as exc:
        raise UnreadableBody(MSG_NOT_JSON) from exc
    return value, reading.non_finite


def holds_non_finite(value: Any) -> bool:
    """Whether a value read by parse_json holds a non-finite number anywhere inside."""
    if isinstance(value, NonFinite):
        return True
    if isinstance(value, dict):
        return any(holds_non_finite(v) for v in value.values())
    if isinstance(value, list):
        return any(holds_non_finite(v) for v in value)
    return False


def non_finite_fields(item: dict[str, Any]) -> list[str]:
    """The fields of a JSON object that hold a non-finite number."""
    return [field[:100] for field, value in item.items() if holds_non_finite(value)]


class JsonParser(Parser):
    """ninja's body parser with parse_json's limits, for operations that bind a body schema.

    ninja answers any parser error with "Cannot parse request body"; RolloutAPI's handler gives
    the UnreadableBody's message instead.
    """

    def parse_body(self, request: HttpRequest) -> Any:
        data, non_finite = read_json(request.body)
        if non_finite:
            raise UnreadableBody(MSG_NON_FINITE)
        return data


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def has_control_characters(text: str) -> bool:
    """Whether `text` holds a control character other than tab and line ends."""
    return _CONTROL.search(text) is not None


def clean_user_ref(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError(MSG_BLANK_USER)
    if has_line_breaks_or_controls(value):  # one line: shown as a name, never a paragraph
        raise ValueError(MSG_CONTROL)
    return value


def require_iso_text(value: Any) -> Any:
    # pydantic would read a number as a Unix timestamp; the contract is ISO 8601 text.
    if value is not None and not isinstance(value, str):
        raise ValueError(MSG_NAIVE)
    return value


def check_reported_time(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(MSG_NAIVE)
    now = datetime.now(UTC)  # timezone.now() asks the settings each time: per event, it shows
    if value > now + MAX_FUTURE:
        raise ValueError(MSG_FUTURE)
    if value < now - MAX_AGE:
        raise ValueError(MSG_TOO_OLD)
    return value


def error_message(error: dict[str, Any]) -> str:
    """The message of one pydantic error, as the person sending the body should read it."""
    message = error.get("msg", "Invalid value.")
    # pydantic prefixes messages of custom validators with "Value error, ".
    return message.removeprefix("Value error, ")


def validate_body[M: BaseModel](
    body: bytes,
    model: type[M],
    *,
    not_an_object: str,
    message: Callable[[dict[str, Any]], str],
    field_chars: int | None = None,
) -> tuple[M | None, list[dict[str, str]]]:
    """A body holding one JSON object, validated by `model`: (the model, []) or (None, every
    error as {"field", "message"}). Unreadable JSON, another JSON value than an object and
    non-finite numbers are errors too; `message` words each pydantic error, and `field_chars`
    cuts a field's name (an unknown field may be any length)."""
    try:
        payload = parse_json(body)
    except UnreadableBody as exc:
        return None, [{"field": "", "message": exc.message}]
    if not isinstance(payload, dict):
        return None, [{"field": "", "message": not_an_object}]
    non_finite = non_finite_fields(payload)
    if non_finite:
        return None, [{"field": f, "message": MSG_NON_FINITE} for f in non_finite]
    try:
        return model.model_validate(payload), []
    except ValidationError as exc:
        return None, [
            {
                "field": str(e["loc"][0])[:field_chars] if e.get("loc") else "",
                "message": message(e),
            }
            for e in exc.errors()
        ]
