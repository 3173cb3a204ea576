"""Contract of POST /otlp/v1/traces (rollout.api.otlp): every status with its google.rpc.Status
body, the ExportTraceServiceResponse in the request's encoding, partialSuccess only for GenAI
spans that are invalid or another workflow's, and nothing written for a body that is refused."""

import gzip
import json
import secrets
import zlib

import pytest
from django.test import override_settings
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from rollout.api.auth import MSG_INVALID, MSG_MISSING
from rollout.api.checks import MSG_NOT_JSON, MSG_TOO_DEEP
from rollout.api.errors import MSG_RATE_LIMITED
from rollout.api.events import MSG_RETIRED
from rollout.api.limits import MAX_BODY_BYTES, MSG_BODY_TOO_LARGE
from rollout.api.otlp import MSG_CONTENT_TYPE, MSG_ENCODING, MSG_FOREIGN, MSG_INVALID_SPANS
from rollout.lib.cost_attrs import MSG_TOKENS
from rollout.lib.otlp_decode import (
    MSG_BAD_COMPRESSION,
    MSG_BAD_ID,
    MSG_BAD_PROTOBUF,
    MSG_TOO_LARGE_DECOMPRESSED,
)
from rollout.lib.otlp_genai import event_id
from rollout.models import OtlpHeldSpan, OtlpTokenCount, OtlpTrace, UsageEvent
from rollout.services.api_tokens import api_token_revoke
from rollout.services.retirement import workflow_retire
from tests.rollout.api.otlp_fixtures import (
    COMPLETION,
    PATH,
    PROMPT,
    flag_event,
    genai_attributes,
    json_export,
    json_span,
    proto_export,
    proto_span,
)

pytestmark = pytest.mark.django_db

PROTOBUF = "application/x-protobuf"
JSON = "application/json"


def tid() -> str:
    return secrets.token_hex(16)


def sid() -> str:
    return secrets.token_hex(8)


def post_proto(client, token, message_or_bytes, **headers):
    body = (
        message_or_bytes
        if isinstance(message_or_bytes, bytes)
        else message_or_bytes.SerializeToString()
    )
    return client.post(
        PATH,
        body,
        content_type=headers.pop("content_type", PROTOBUF),
        headers={**(token.headers if token else {}), **headers},
    )


def post_json(client, token, payload, **headers):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return client.post(
        PATH, body, content_type=JSON, headers={**(token.headers if token else {}), **headers}
    )


def proto_reply(response) -> ExportTraceServiceResponse:
    assert response["Content-Type"] == PROTOBUF
    reply = ExportTraceServiceResponse()
    reply.ParseFromString(response.content)
    return reply


def status_of(response) -> Status:
    """The google.rpc.Status body of an error, in the response's encoding."""
    status = Status()
    if response["Content-Type"] == PROTOBUF:
        status.ParseFromString(response.content)
    else:
        payload = response.json()
        status.code, status.message = payload["code"], payload["message"]
    return status


def nothing_written() -> bool:
    return not (
        UsageEvent.objects.exists()
        or OtlpHeldSpan.objects.exists()
        or OtlpTrace.objects.exists()
        or OtlpTokenCount.objects.exists()
    )


# --- 200 ------------------------------------------------------------------------------------------


def test_a_protobuf_export_is_counted_for_its_person(api_client, api_token, member):
    trace, span = tid(), sid()
    export = proto_export(
        proto_span(trace, span, attributes=genai_attributes(**{"user.id": "EMP-7"}))
    )
    response = post_proto(api_client, api_token, export)
    assert response.status_code == 200
    assert not proto_reply(response).HasField("partial_success")
    event = UsageEvent.objects.get()
    assert event.event_id == event_id(trace, span, "invocation")
    assert (event.user_id, event.user_ref, event.latency_ms) == (member.pk, "EMP-7", 1200)
    assert event.cohort is not None
    assert event.attrs["model_version"] == "gpt-4.1-2025-04-14"


def test_an_otlp_json_export_with_hex_ids_int64_text_and_integer_enums(
    api_client, api_token, member
):
    trace, span = tid(), sid()
    payload = json_export(
        json_span(
            trace, span, attributes=genai_attributes(**{"enduser.id": member.email}), error=True
        )
    )
    response = post_json(api_client, api_token, payload)
    assert response.status_code == 200
    assert response["Content-Type"] == JSON
    assert response.json() == {}
    events = dict(UsageEvent.objects.values_list("kind", "event_id"))
    # The hex ids read as the 16 and 8 bytes they are (base64-decoding them would not be).
    assert events == {
        "invocation": event_id(trace, span, "invocation"),
        "error": event_id(trace, span, "error"),
    }


def test_gzip_and_deflate_bodies_are_read(api_client, api_token, member):
    for encoding, pack in (("gzip", gzip.compress), ("deflate", zlib.compress)):
        export = proto_export(
            proto_span(tid(), sid(), attributes=genai_attributes(**{"user.id": member.email}))
        )
        response = post_proto(
            api_client,
            api_token,
            pack(export.SerializeToString()),
            **{"Content-Encoding": encoding},
        )
        assert response.status_code == 200, encoding
    assert UsageEvent.objects.count() == 2


def test_spans_of_another_workflow_are_rejected_with_partial_success(
    api_client, api_token, member, workflow
):
    trace = tid()
    parent, child, own = sid(), sid(), sid()
    export = proto_export(
        # The parent evaluated another workflow's flag: its GenAI child is that workflow's.
        proto_span(trace, parent, flags=[flag_event("invoice-triage", member.email)]),
        proto_span(trace, child, parent=parent, attributes=genai_attributes()),
        # A GenAI span that evaluated another flag itself.
        proto_span(
            tid(), own, attributes=genai_attributes(), flags=[flag_event("x", member.email)]
        ),
    )
    reply = proto_reply(post_proto(api_client, api_token, export))
    assert reply.partial_success.rejected_spans == 2
    assert reply.partial_success.error_message == MSG_FOREIGN.format(n=2, slug=workflow.slug)
    assert nothing_written() is False  # the token's counts only
    assert not UsageEvent.objects.exists() and not OtlpHeldSpan.objects.exists()


def test_invalid_genai_spans_are_rejected_and_the_valid_ones_counted(api_client, api_token, member):
    attrs = genai_attributes(**{"user.id": member.email})
    export = proto_export(
        proto_span(tid(), sid(), attributes={**attrs, "gen_ai.usage.input_tokens": -5}),
        proto_span(tid(), sid(), attributes=attrs),
    )
    reply = proto_reply(post_proto(api_client, api_token, export))
    assert reply.partial_success.rejected_spans == 1
    message = "attrs: " + MSG_TOKENS.format(name="input_tokens")
    assert reply.partial_success.error_message == MSG_INVALID_SPANS.format(n=1, message=message)
    assert UsageEvent.objects.count() == 1


def test_partial_success_in_json_too(api_client, api_token, member):
    payload = json_export(
        json_span(tid(), sid(), attributes=genai_attributes(), flags=[flag_event("x", "a")])
    )
    response = post_json(api_client, api_token, payload)
    assert response.status_code == 200
    assert response.json()["partialSuccess"]["rejectedSpans"] in ("1", 1)


def test_non_genai_spans_are_ignored_and_counted_on_the_token(
    api_client, api_token, member, client, workflow_owner, workflow
):
    trace = tid()
    export = proto_export(
        proto_span(trace, sid(), attributes={"http.request.method": "POST"}),
        proto_span(trace, sid(), attributes={"db.system.name": "postgresql"}),
        proto_span(trace, sid(), attributes=genai_attributes(**{"user.id": member.email})),
    )
    reply = proto_reply(post_proto(api_client, api_token, export))
    assert not reply.HasField("partial_success")
    assert UsageEvent.objects.count() == 1
    counts = OtlpTokenCount.objects.get(token=api_token.token)
    assert (counts.genai_spans, counts.ignored_spans) == (1, 2)

    client.force_login(workflow_owner)
    page = client.get(f"/workflows/{workflow.slug}/tokens/")
    assert page.status_code == 200
    assert "OTLP: 1 GenAI span counted, 2 other spans ignored" in page.content.decode()


def test_prompt_and_completion_content_is_never_stored(api_client, api_token):
    # No person: the span is held, as a row — without its content.
    export = proto_export(proto_span(tid(), sid(), attributes=genai_attributes()))
    assert post_proto(api_client, api_token, export).status_code == 200
    held = OtlpHeldSpan.objects.get()
    stored = json.dumps(held.events)
    assert PROMPT not in stored and COMPLETION not in stored
    assert "gen_ai.input.messages" not in stored


def test_a_batch_of_more_than_a_thousand_spans_is_stored_in_chunks(api_client, api_token, member):
    attrs = genai_attributes(**{"user.id": member.email})
    export = proto_export(*[proto_span(tid(), sid(), attributes=attrs) for _ in range(1500)])
    packed = gzip.compress(export.SerializeToString())  # over 1 MiB before: gzip, as documented
    response = post_proto(api_client, api_token, packed, **{"Content-Encoding": "gzip"})
    assert response.status_code == 200
    assert UsageEvent.objects.count() == 1500


# --- 4xx and 5xx: a google.rpc.Status, nothing written ----------------------------------------


@pytest.mark.parametrize(
    ("body", "media", "message"),
    [
        (b"not protobuf", PROTOBUF, MSG_BAD_PROTOBUF),
        (b"{not json", JSON, MSG_NOT_JSON),
        (b"[" * 100 + b"]" * 100, JSON, MSG_TOO_DEEP),
        (
            json.dumps(json_export(json_span("qg==" * 8, sid()))).encode(),  # base64, not hex
            JSON,
            MSG_BAD_ID.format(field="traceId", length=32, example="0" * 31 + "1"),
        ),
    ],
    ids=["protobuf", "json", "too-deep", "base64-id"],
)
def test_an_undecodable_body_is_400(api_client, api_token, body, media, message):
    response = post_proto(api_client, api_token, body, content_type=media)
    assert response.status_code == 400
    assert response["Content-Type"] == media
    assert (status_of(response).code, status_of(response).message) == (3, message)
    assert nothing_written()


def test_a_json_body_that_is_not_an_export_is_400(api_client, api_token):
    response = post_json(api_client, api_token, {"resourceSpans": "many"})
    assert response.status_code == 400
    assert status_of(response).message.startswith("The body is not an OTLP/JSON")
    assert nothing_written()


def test_bad_gzip_is_400(api_client, api_token):
    response = post_proto(
        api_client, api_token, b"\x1f\x8b garbage", **{"Content-Encoding": "gzip"}
    )
    assert response.status_code == 400
    assert status_of(response).message == MSG_BAD_COMPRESSION.format(encoding="gzip")
    assert nothing_written()


@override_settings(ROLLOUT_OTLP_MAX_DECOMPRESSED_BYTES=64 * 1024)
def test_a_body_decompressing_past_the_cap_is_413(api_client, api_token, member):
    attrs = genai_attributes(**{"user.id": member.email})
    export = proto_export(*[proto_span(tid(), sid(), attributes=attrs) for _ in range(200)])
    packed = gzip.compress(export.SerializeToString())
    assert len(packed) < 64 * 1024 < len(export.SerializeToString())
    response = post_proto(api_client, api_token, packed, **{"Content-Encoding": "gzip"})
    assert response.status_code == 413
    assert status_of(response).message == MSG_TOO_LARGE_DECOMPRESSED.format(limit=64 * 1024)
    assert nothing_written()


def test_a_body_over_a_mebibyte_on_the_wire_is_413_as_a_status(api_client, api_token):
    response = post_proto(api_client, api_token, b"\x00" * (MAX_BODY_BYTES + 1))
    assert response.status_code == 413
    assert response["Content-Type"] == PROTOBUF
    assert status_of(response).message == MSG_BODY_TOO_LARGE
    assert nothing_written()


def test_another_content_type_or_encoding_is_415(api_client, api_token):
    response = api_client.post(PATH, b"x", content_type="text/plain", headers=api_token.headers)
    assert response.status_code == 415
    assert response["Content-Type"] == JSON
    assert status_of(response).message == MSG_CONTENT_TYPE.format(media="text/plain")
    response = post_proto(api_client, api_token, b"x", **{"Content-Encoding": "br"})
    assert response.status_code == 415
    assert status_of(response).message == MSG_ENCODING.format(encoding="br")
    assert nothing_written()


def test_without_a_token_or_with_a_revoked_one_it_is_401(api_client, api_token, workflow_owner):
    export = proto_export(proto_span(tid(), sid(), attributes=genai_attributes()))
    response = post_proto(api_client, None, export)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="rollout"'
    assert (status_of(response).code, status_of(response).message) == (16, MSG_MISSING)
    api_token_revoke(token=api_token.token, actor=workflow_owner)
    response = post_proto(api_client, api_token, export)
    assert response.status_code == 401
    assert status_of(response).message == MSG_INVALID
    assert nothing_written()


@override_settings(ROLLOUT_API_RATE_PER_MINUTE=1)
def test_past_the_rate_it_is_429_with_retry_after(api_client, api_token, member):
    export = proto_export(proto_span(tid(), sid(), attributes=genai_attributes()))
    assert post_proto(api_client, api_token, export).status_code == 200
    response = post_proto(api_client, api_token, export)
    assert response.status_code == 429
    assert response["Retry-After"].isdigit() and int(response["Retry-After"]) >= 1
    assert (status_of(response).code, status_of(response).message) == (8, MSG_RATE_LIMITED)


def test_a_retired_workflow_is_410(api_client, api_token, workflow, ops_leader):
    workflow_retire(workflow=workflow, actor=ops_leader, reason="Replaced by the new tool.")
    export = proto_export(proto_span(tid(), sid(), attributes=genai_attributes()))
    response = post_proto(api_client, api_token, export)
    assert response.status_code == 410
    assert status_of(response).message == MSG_RETIRED
    assert nothing_written()


def test_only_post(api_client, api_token):
    response = api_client.get(PATH, headers=api_token.headers)
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert status_of(response).code == 12


def test_the_api_documentation_lists_it_with_both_content_types(api_client):
    document = api_client.get("/api/v1/openapi.json").json()
    operation = document["paths"]["/otlp/v1/traces"]["post"]
    assert set(operation["requestBody"]["content"]) == {PROTOBUF, JSON}
    assert set(operation["responses"]["200"]["content"]) == {PROTOBUF, JSON}
    assert {"400", "401", "413", "415", "429", "503"} <= set(operation["responses"])
    assert operation["security"] == [{"ApiTokenAuth": []}]


# Transactional: the edge closes the connection it believes lost, which the test's own transaction
# would not survive on PostgreSQL.
@pytest.mark.django_db(transaction=True)
def test_a_connection_lost_twice_is_503_with_retry_after(api_client, api_token, monkeypatch):
    from django.db import InterfaceError

    def lost(**kwargs):
        raise InterfaceError("connection already closed")

    monkeypatch.setattr("rollout.api.otlp.otlp_spans_ingest", lost)
    export = proto_export(proto_span(tid(), sid(), attributes=genai_attributes()))
    response = post_proto(api_client, api_token, export)
    assert response.status_code == 503
    assert response["Content-Type"] == PROTOBUF
    assert int(response["Retry-After"]) >= 1
    assert status_of(response).code == 14
    assert nothing_written()


def test_a_later_child_finds_the_person_its_parent_named(api_client, api_token, member):
    trace, root = tid(), sid()
    # The request's root span names the person; a child GenAI span comes in a later export.
    first = proto_export(proto_span(trace, root, attributes={"user.id": member.email}))
    assert post_proto(api_client, api_token, first).status_code == 200
    late = proto_export(proto_span(trace, sid(), parent=root, attributes=genai_attributes()))
    assert post_proto(api_client, api_token, late).status_code == 200
    assert UsageEvent.objects.get().user_id == member.pk
    assert not OtlpHeldSpan.objects.exists()


def test_traces_of_only_self_named_genai_spans_are_not_remembered(api_client, api_token, member):
    attrs = genai_attributes(**{"user.id": member.email})
    export = proto_export(proto_span(tid(), sid(), attributes=attrs))
    assert post_proto(api_client, api_token, export).status_code == 200
    assert UsageEvent.objects.count() == 1
    assert not OtlpTrace.objects.exists()
