"""Building OTLP exports for the tests: with the OpenTelemetry SDK and its exporters (protobuf and
JSON), and by hand (ExportTraceServiceRequest messages and OTLP/JSON bodies with hex ids)."""

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry.exporter.otlp.json.http.trace_exporter import (
    OTLPSpanExporter as JsonSpanExporter,
)
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

PATH = "/otlp/v1/traces"
PROMPT = "Customer 4411 says: my card was charged twice, please refund"
COMPLETION = "I am sorry about the double charge; the refund is on its way."


def genai_attributes(**extra: Any) -> dict[str, Any]:
    """A chat call as the GenAI semantic conventions describe it, content included."""
    return {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4.1",
        "gen_ai.response.model": "gpt-4.1-2025-04-14",
        "gen_ai.usage.input_tokens": 812,
        "gen_ai.usage.output_tokens": 164,
        "gen_ai.input.messages": json.dumps([{"role": "user", "parts": [{"content": PROMPT}]}]),
        "gen_ai.output.messages": json.dumps(
            [{"role": "assistant", "parts": [{"content": COMPLETION}]}]
        ),
        "gen_ai.prompt": PROMPT,  # the older attributes, still sent by some instrumentations
        "gen_ai.completion": COMPLETION,
        **extra,
    }


def flag_event(slug: str, person: str, variant: str = "live") -> dict[str, Any]:
    """What OpenFeature's OpenTelemetry hook records on the span that evaluated the flag."""
    return {
        "feature_flag.key": slug,
        "feature_flag.result.variant": variant,
        "feature_flag.context.id": person,
        "feature_flag.provider.name": "ofrep",
    }


@contextmanager
def sdk_tracer(
    endpoint: str, token: str, *, as_json: bool = False, compression: Any = None
) -> Iterator[tuple[Any, InMemorySpanExporter, Any]]:
    """A tracer whose every ended span is exported at once, in its own request (the SDK's
    SimpleSpanProcessor), to `endpoint`; also kept in memory, to export again."""
    headers = {"Authorization": f"Bearer {token}"}
    if as_json:
        exporter = JsonSpanExporter(endpoint=endpoint, headers=headers, timeout=10)
    else:
        kwargs = {"compression": compression} if compression is not None else {}
        exporter = OTLPSpanExporter(endpoint=endpoint, headers=headers, timeout=10, **kwargs)
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "support-tool"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    try:
        yield provider.get_tracer("support-tool"), memory, exporter
    finally:
        provider.shutdown()


def _any(value: Any) -> AnyValue:
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    return AnyValue(string_value=str(value))


def proto_span(
    trace_id: str,
    span_id: str,
    *,
    parent: str = "",
    attributes: dict[str, Any] | None = None,
    flags: list[dict[str, Any]] | None = None,
    error: bool = False,
    start_ns: int | None = None,
    duration_ms: int = 1200,
) -> Span:
    start = start_ns if start_ns is not None else time.time_ns() - 60 * 10**9
    span = Span(
        trace_id=bytes.fromhex(trace_id),
        span_id=bytes.fromhex(span_id),
        parent_span_id=bytes.fromhex(parent) if parent else b"",
        name="chat gpt-4.1",
        kind=Span.SPAN_KIND_CLIENT,
        start_time_unix_nano=start,
        end_time_unix_nano=start + duration_ms * 10**6,
        attributes=[KeyValue(key=k, value=_any(v)) for k, v in (attributes or {}).items()],
    )
    for flag in flags or []:
        event = span.events.add(name="feature_flag.evaluation", time_unix_nano=start)
        event.attributes.extend(KeyValue(key=k, value=_any(v)) for k, v in flag.items())
    if error:
        span.status.CopyFrom(Status(code=Status.STATUS_CODE_ERROR, message="rate limited"))
    return span


def proto_export(*spans: Span) -> ExportTraceServiceRequest:
    return ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(scope_spans=[ScopeSpans(spans=list(spans))])]
    )


def _json_value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}  # int64 as text, as the OTLP/JSON encoding allows
    if isinstance(value, float):
        return {"doubleValue": value}
    return {"stringValue": str(value)}


def json_span(
    trace_id: str,
    span_id: str,
    *,
    parent: str = "",
    attributes: dict[str, Any] | None = None,
    flags: list[dict[str, Any]] | None = None,
    error: bool = False,
    duration_ms: int = 1200,
) -> dict[str, Any]:
    """A span in OTLP/JSON: hex ids, lowerCamelCase keys, enums as integers."""
    start = time.time_ns() - 60 * 10**9
    span: dict[str, Any] = {
        "traceId": trace_id,
        "spanId": span_id,
        "name": "chat gpt-4.1",
        "kind": 3,
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(start + duration_ms * 10**6),
        "attributes": [{"key": k, "value": _json_value(v)} for k, v in (attributes or {}).items()],
    }
    if parent:
        span["parentSpanId"] = parent
    if flags:
        span["events"] = [
            {
                "name": "feature_flag.evaluation",
                "timeUnixNano": str(start),
                "attributes": [{"key": k, "value": _json_value(v)} for k, v in f.items()],
            }
            for f in flags
        ]
    if error:
        span["status"] = {"code": 2, "message": "rate limited"}
    return span


def json_export(*spans: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [
                        {"key": "service.name", "value": {"stringValue": "support-tool"}}
                    ]
                },
                "scopeSpans": [{"scope": {"name": "support-tool"}, "spans": list(spans)}],
            }
        ]
    }
