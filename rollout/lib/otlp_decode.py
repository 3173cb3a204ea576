"""OTLP/HTTP trace export bodies → the few facts of each span Rollout reads (issue 19 §2).

Pure code: bytes and dicts in, `SpanFacts` out. The caller (rollout.api.otlp) checks the size on
the wire and reads JSON with the API's depth limit; this module decompresses (as a stream, never
past `max_bytes`), parses `application/x-protobuf` with the `opentelemetry-proto` package and
turns OTLP/JSON into the same message (its ids are hex there, not protobuf-JSON's base64).

Only what the mapping needs is copied out of a span: the `gen_ai.*` attributes Rollout counts, the
person (`user.id`, `enduser.id`), `error.type`, and `feature_flag.evaluation` span events. Prompt
and completion content (`gen_ai.input.messages`, `gen_ai.output.messages`, the older
`gen_ai.prompt` / `gen_ai.completion`, and every other span event) is never copied: it is dropped
with the parsed message when the request ends.
"""

import base64
import json
import zlib
from collections.abc import Iterator
from typing import Any, NamedTuple

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
CONTENT_TYPES = (PROTOBUF, JSON)
ENCODINGS = ("identity", "gzip", "deflate")

STATUS_ERROR = 2  # Status.StatusCode.STATUS_CODE_ERROR

MSG_BAD_PROTOBUF = "The body is not a protobuf-encoded ExportTraceServiceRequest."
MSG_BAD_OTLP_JSON = "The body is not an OTLP/JSON ExportTraceServiceRequest: {reason}"
MSG_BAD_ID = "{field} must be hex: {length} hex digits (OTLP/JSON), e.g. {example}."
MSG_BAD_COMPRESSION = "The body is not valid {encoding} data."
MSG_TOO_LARGE_DECOMPRESSED = (
    "The body decompresses to more than {limit:,} bytes. Send fewer spans per request "
    "(the batch span processor's max_export_batch_size)."
)

_ID_FIELDS = {"traceId": 16, "spanId": 8, "parentSpanId": 8}

# The attributes a span's events are made of (rollout.lib.otlp_genai: span_attrs, error_type).
MAPPED_ATTRIBUTES = (
    "gen_ai.operation.name",
    "gen_ai.response.model",
    "gen_ai.request.model",
    "gen_ai.provider.name",
    "gen_ai.system",
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.output_tokens",
    "error.type",
)
# Attributes copied out of a span: those, and who the person is; everything else (prompt and
# completion content first) is not.
KEPT_ATTRIBUTES = frozenset({*MAPPED_ATTRIBUTES, "user.id", "enduser.id"})
FLAG_EVENT = "feature_flag.evaluation"
KEPT_FLAG_ATTRIBUTES = frozenset(
    {
        "feature_flag.key",
        "feature_flag.result.variant",
        "feature_flag.variant",  # the older name of feature_flag.result.variant
        "feature_flag.context.id",
    }
)


class OtlpBodyError(ValueError):
    """A body that cannot be read: `status` is 400 (undecodable) or 413 (too large)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class FlagEvaluation(NamedTuple):
    key: str
    variant: str
    context_id: str


class SpanFacts(NamedTuple):
    """What Rollout reads of one span. Ids are lowercase hex ("" when absent)."""

    trace_id: str
    span_id: str
    parent_span_id: str
    start_ns: int
    end_ns: int
    status_error: bool
    attributes: dict[str, Any]
    flags: tuple[FlagEvaluation, ...]

    @property
    def is_genai(self) -> bool:
        return "gen_ai.operation.name" in self.attributes


def media_type(content_type: str) -> str:
    """The media type of a Content-Type header, lowercased, without parameters."""
    return content_type.partition(";")[0].strip().lower()


def decompress(body: bytes, encoding: str, *, max_bytes: int) -> bytes:
    """The body decoded per its Content-Encoding (identity, gzip or deflate), read as a stream
    that stops as soon as the output passes `max_bytes` (a small body may expand a thousandfold).

    Raises OtlpBodyError: 413 past max_bytes, 400 for data that is not of its encoding."""
    encoding = encoding.strip().lower() or "identity"
    if encoding == "identity":
        if len(body) > max_bytes:
            raise OtlpBodyError(413, MSG_TOO_LARGE_DECOMPRESSED.format(limit=max_bytes))
        return body
    # gzip: a gzip header (wbits 16+); deflate: zlib-wrapped, as HTTP means it (wbits 15).
    wbits = 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS
    out = bytearray()
    data = body
    try:
        while data:
            stream = zlib.decompressobj(wbits)
            while data:
                out += stream.decompress(data, max_bytes + 1 - len(out))
                if len(out) > max_bytes:
                    raise OtlpBodyError(413, MSG_TOO_LARGE_DECOMPRESSED.format(limit=max_bytes))
                data = stream.unconsumed_tail
            if not stream.eof:
                raise OtlpBodyError(400, MSG_BAD_COMPRESSION.format(encoding=encoding))
            # gzip allows several members one after another (RFC 1952 §2.2).
            data = stream.unused_data if encoding == "gzip" else b""
    except zlib.error as exc:
        raise OtlpBodyError(400, MSG_BAD_COMPRESSION.format(encoding=encoding)) from exc
    return bytes(out)


def request_from_protobuf(body: bytes) -> ExportTraceServiceRequest:
    message = ExportTraceServiceRequest()
    try:
        message.ParseFromString(body)
    except (DecodeError, RecursionError, ValueError) as exc:
        raise OtlpBodyError(400, MSG_BAD_PROTOBUF) from exc
    return message


def _hex_to_base64(value: Any, field: str, length: int) -> Any:
    if not isinstance(value, str) or value == "":
        return value  # json_format says what is wrong with a non-text; "" is "no id"
    example = "0" * (length * 2 - 1) + "1"
    if len(value) != length * 2:
        raise OtlpBodyError(400, MSG_BAD_ID.format(field=field, length=length * 2, example=example))
    try:
        raw = bytes.fromhex(value)
    except ValueError as exc:
        message = MSG_BAD_ID.format(field=field, length=length * 2, example=example)
        raise OtlpBodyError(400, message) from exc
    return base64.b64encode(raw).decode()


def _ids_to_base64(node: Any) -> None:
    """OTLP/JSON's hex trace and span ids, rewritten in place as the base64 json_format reads
    (given hex, it would decode it as base64 and make 24- and 12-byte ids without a word)."""
    if isinstance(node, dict):
        for key, value in node.items():
            length = _ID_FIELDS.get(key)
            if length is not None:
                node[key] = _hex_to_base64(value, key, length)
            elif isinstance(value, dict | list):
                _ids_to_base64(value)
    elif isinstance(node, list):
        for item in node:
            if isinstance(item, dict | list):
                _ids_to_base64(item)


def _fields(descriptor: Any) -> dict[str, Any]:
    fields = _FIELDS_BY_NAME.get(descriptor.full_name)
    if fields is None:
        fields = {f.json_name: f for f in descriptor.fields}
        fields.update({f.name: f for f in descriptor.fields})
        _FIELDS_BY_NAME[descriptor.full_name] = fields
    return fields


_FIELDS_BY_NAME: dict[str, dict[str, Any]] = {}


def _check_shape(node: dict, descriptor: Any, path: str) -> None:
    """Every message of the body is a JSON object and every repeated field an array. json_format
    is lax there: it reads the text "AAA" where a message belongs as a message with no fields."""
    fields = _fields(descriptor)
    for key, value in node.items():
        field = fields.get(key)
        if field is None or field.message_type is None or value is None:
            continue  # unknown fields are ignored; json_format checks scalars itself
        where = f"{path}.{key}" if path else key
        if field.is_repeated:
            if not isinstance(value, list):
                raise OtlpBodyError(400, MSG_BAD_OTLP_JSON.format(reason=f"{where} is a list."))
            items = value
        else:
            items = [value]
        for item in items:
            if not isinstance(item, dict):
                reason = f"{where} holds objects, not {type(item).__name__} values."
                raise OtlpBodyError(400, MSG_BAD_OTLP_JSON.format(reason=reason))
            _check_shape(item, field.message_type, where)


def request_from_json(payload: Any) -> ExportTraceServiceRequest:
    """An OTLP/JSON body, already read as JSON, as the protobuf message. Unknown fields are
    ignored (OTLP/JSON receivers must), enums may be integers, int64 may be text."""
    if not isinstance(payload, dict):
        raise OtlpBodyError(400, MSG_BAD_OTLP_JSON.format(reason="send a JSON object."))
    _check_shape(payload, ExportTraceServiceRequest.DESCRIPTOR, "")
    _ids_to_base64(payload)
    message = ExportTraceServiceRequest()
    try:
        json_format.ParseDict(payload, message, ignore_unknown_fields=True)
    except (json_format.ParseError, RecursionError, ValueError, TypeError) as exc:
        reason = str(exc)[:300] or "unreadable."
        raise OtlpBodyError(400, MSG_BAD_OTLP_JSON.format(reason=reason)) from exc
    return message


_PRIMITIVES = frozenset({"string_value", "int_value", "double_value", "bool_value"})


def _value(any_value: Any) -> Any:
    """An AnyValue's primitive (arrays, maps and bytes are nothing Rollout reads: None)."""
    kind = any_value.WhichOneof("value")
    if kind in _PRIMITIVES:
        return getattr(any_value, kind)
    return None


def _flags(span: Any) -> tuple[FlagEvaluation, ...]:
    found = []
    for event in span.events:
        if event.name != FLAG_EVENT:
            continue
        attrs = {a.key: _value(a.value) for a in event.attributes if a.key in KEPT_FLAG_ATTRIBUTES}
        key = attrs.get("feature_flag.key")
        if not isinstance(key, str):
            continue
        variant = attrs.get("feature_flag.result.variant", attrs.get("feature_flag.variant"))
        context_id = attrs.get("feature_flag.context.id")
        found.append(
            FlagEvaluation(
                key=key,
                variant=variant if isinstance(variant, str) else "",
                context_id=context_id if isinstance(context_id, str) else "",
            )
        )
    return tuple(found)


def spans(message: ExportTraceServiceRequest) -> Iterator[SpanFacts]:
    """Every span of the request, as SpanFacts, in the order sent."""
    kept = KEPT_ATTRIBUTES
    primitives = _PRIMITIVES
    for resource_spans in message.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                # _value, inlined: this runs for every attribute of every span of an export.
                attributes = {}
                for attribute in span.attributes:
                    key = attribute.key
                    if key in kept:
                        value = attribute.value
                        kind = value.WhichOneof("value")
                        attributes[key] = getattr(value, kind) if kind in primitives else None
                yield SpanFacts(
                    trace_id=span.trace_id.hex(),
                    span_id=span.span_id.hex(),
                    parent_span_id=span.parent_span_id.hex(),
                    start_ns=span.start_time_unix_nano,
                    end_ns=span.end_time_unix_nano,
                    status_error=span.status.code == STATUS_ERROR,
                    attributes=attributes,
                    flags=_flags(span) if span.events else (),
                )


def response_body(media: str, *, rejected: int = 0, message: str = "") -> bytes:
    """An ExportTraceServiceResponse in the request's encoding; partial_success only when some
    span was rejected (the spec: unset on full success)."""
    response = ExportTraceServiceResponse()
    if rejected or message:
        response.partial_success.rejected_spans = rejected
        response.partial_success.error_message = message
    if media == JSON:
        return json_format.MessageToJson(response, indent=None).encode()
    return response.SerializeToString()


def status_body(media: str, code: int, message: str) -> bytes:
    """A google.rpc.Status (the body OTLP/HTTP gives every 4xx and 5xx), in `media`'s encoding:
    field 1 the gRPC code, field 2 the message (hand-encoded: two fields need no package)."""
    if media == JSON:
        return json.dumps({"code": code, "message": message}).encode()
    text = message.encode()
    return b"\x08" + _varint(code) + b"\x12" + _varint(len(text)) + text


def _varint(number: int) -> bytes:
    out = bytearray()
    while True:
        byte = number & 0x7F
        number >>= 7
        if number:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)
