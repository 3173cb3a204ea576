"""Reading OTLP/HTTP trace bodies (rollout.lib.otlp_decode)."""

import gzip
import json
import zlib

import pytest
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from rollout.lib.otlp_decode import (
    JSON,
    MSG_BAD_COMPRESSION,
    MSG_TOO_LARGE_DECOMPRESSED,
    PROTOBUF,
    OtlpBodyError,
    decompress,
    media_type,
    request_from_json,
    request_from_protobuf,
    response_body,
    spans,
    status_body,
)
from tests.rollout.api.otlp_fixtures import (
    PROMPT,
    flag_event,
    genai_attributes,
    json_export,
    json_span,
    proto_export,
    proto_span,
)

TRACE = "5b8efff798038103d269b633813fc60c"
SPAN = "eee19b7ec3c1b174"
PARENT = "eee19b7ec3c1b173"


def test_a_gzip_bomb_stops_at_the_cap_without_inflating_it_all():
    bomb = gzip.compress(b"\0" * (64 * 1024 * 1024))  # 64 MiB of zeros in ~64 KiB
    with pytest.raises(OtlpBodyError) as caught:
        decompress(bomb, "gzip", max_bytes=1024 * 1024)
    assert caught.value.status == 413
    assert caught.value.message == MSG_TOO_LARGE_DECOMPRESSED.format(limit=1024 * 1024)


def test_gzip_members_one_after_another_and_deflate_are_read():
    assert decompress(gzip.compress(b"ab") + gzip.compress(b"cd"), "gzip", max_bytes=10) == b"abcd"
    assert decompress(zlib.compress(b"abcd"), "Deflate", max_bytes=4) == b"abcd"
    assert decompress(b"abcd", "", max_bytes=4) == b"abcd"


@pytest.mark.parametrize(
    ("body", "encoding"),
    [(b"\x1f\x8bnot gzip", "gzip"), (gzip.compress(b"abcdef")[:-6], "gzip"), (b"xx", "deflate")],
    ids=["garbage", "truncated", "deflate"],
)
def test_data_not_of_its_encoding_is_400(body, encoding):
    with pytest.raises(OtlpBodyError) as caught:
        decompress(body, encoding, max_bytes=100)
    assert (caught.value.status, caught.value.message) == (
        400,
        MSG_BAD_COMPRESSION.format(encoding=encoding),
    )


def test_an_identity_body_over_the_cap_is_413():
    with pytest.raises(OtlpBodyError) as caught:
        decompress(b"x" * 11, "identity", max_bytes=10)
    assert caught.value.status == 413


def test_media_type_ignores_parameters_and_case():
    assert media_type("Application/JSON; charset=utf-8") == JSON
    assert media_type("application/x-protobuf") == PROTOBUF


def test_otlp_json_ids_are_hex_and_read_as_their_bytes():
    payload = json_export(json_span(TRACE, SPAN, parent=PARENT, attributes=genai_attributes()))
    payload["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["links"] = [
        {"traceId": TRACE, "spanId": PARENT}
    ]
    message = request_from_json(payload)
    span = message.resource_spans[0].scope_spans[0].spans[0]
    assert (span.trace_id.hex(), span.span_id.hex(), span.parent_span_id.hex()) == (
        TRACE,
        SPAN,
        PARENT,
    )
    assert span.links[0].span_id.hex() == PARENT
    [facts] = spans(message)
    assert (facts.trace_id, facts.span_id, facts.parent_span_id) == (TRACE, SPAN, PARENT)


def test_otlp_json_takes_integer_enums_int64_as_numbers_or_text_and_unknown_fields():
    span = json_span(TRACE, SPAN, attributes={"gen_ai.operation.name": "chat"}, error=True)
    span["startTimeUnixNano"] = int(span["startTimeUnixNano"])  # a number this time
    span["somethingNew"] = {"x": 1}
    [facts] = spans(request_from_json(json_export(span)))
    assert facts.status_error is True
    assert facts.end_ns - facts.start_ns == 1200 * 10**6


def test_content_attributes_and_other_events_are_never_copied_out():
    span = proto_span(
        TRACE, SPAN, attributes=genai_attributes(**{"user.id": "u1"}), flags=[flag_event("w", "u1")]
    )
    span.events.add(name="gen_ai.content.prompt").attributes.add(
        key="gen_ai.prompt"
    ).value.string_value = PROMPT
    [facts] = spans(request_from_protobuf(proto_export(span).SerializeToString()))
    assert PROMPT not in repr(facts)
    assert set(facts.attributes) == {
        "gen_ai.operation.name",
        "gen_ai.provider.name",
        "gen_ai.request.model",
        "gen_ai.response.model",
        "gen_ai.usage.input_tokens",
        "gen_ai.usage.output_tokens",
        "user.id",
    }
    assert [f.key for f in facts.flags] == ["w"]


def test_the_response_and_the_status_decode_with_the_standard_messages():
    reply = ExportTraceServiceResponse()
    reply.ParseFromString(response_body(PROTOBUF, rejected=2, message="why"))
    assert (reply.partial_success.rejected_spans, reply.partial_success.error_message) == (2, "why")
    empty = ExportTraceServiceResponse()
    empty.ParseFromString(response_body(PROTOBUF))
    assert not empty.HasField("partial_success")
    assert json.loads(response_body(JSON)) == {}
    status = Status()
    status.ParseFromString(status_body(PROTOBUF, 3, "é" * 200))
    assert (status.code, status.message) == (3, "é" * 200)
    assert json.loads(status_body(JSON, 8, "slow down")) == {"code": 8, "message": "slow down"}
