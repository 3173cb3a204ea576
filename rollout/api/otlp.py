"""POST /otlp/v1/traces: OTLP/HTTP trace exports, whose GenAI spans are usage (issue 19 §2).

An AI tool already traced with OpenTelemetry sets `OTEL_EXPORTER_OTLP_ENDPOINT=<rollout>/otlp` and
`OTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer <token>` (its workflow's API token). Spoken as
the OTLP/HTTP specification says:

* bodies: `application/x-protobuf` or `application/json` (OTLP/JSON: hex ids, enums as integers,
  int64 as numbers or text, unknown fields ignored); any other type is 415;
* `Content-Encoding: gzip` (or `deflate`), decompressed as a stream. Limits: the body on the wire
  is held to the API's 1 MiB (rollout.api.limits; 413), and what it decompresses to to
  ROLLOUT_OTLP_MAX_DECOMPRESSED_BYTES (8 MiB by default; 413); JSON to the API's nesting depth
  (rollout.api.checks, 400). Exporters do not retry a 413: send gzip, or smaller batches;
* success: 200 with an ExportTraceServiceResponse in the request's encoding; `partialSuccess`
  (rejectedSpans, errorMessage) only when GenAI spans were invalid or another workflow's;
* failure: a google.rpc.Status in the request's encoding (JSON when the type was not one of the
  two): 400 undecodable (exporters do not retry it), 401 without a valid token, 410 for a retired
  workflow, 429 with Retry-After past the token's rate, 503 with Retry-After when the database
  connection was lost (after one more try on a new one: the export is idempotent).

Spans without `gen_ai.operation.name` (HTTP, database, …) are ignored, and counted on the token's
row of the API tokens page. GenAI spans go through the events API's own validation
(rollout.api.events) and ingestion path (rollout.services.otlp_ingest → usage_ingest).
"""

import json
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from rollout.api.auth import MSG_MISSING
from rollout.api.checks import MSG_NON_FINITE, UnreadableBody, read_json
from rollout.api.edge import guarded
from rollout.api.errors import MSG_RATE_LIMITED, WWW_AUTHENTICATE
from rollout.api.events import MSG_RETIRED
from rollout.api.otlp_events import genai_events
from rollout.api.throttling import TokenRateThrottle
from rollout.lib.otlp_decode import (
    CONTENT_TYPES,
    ENCODINGS,
    JSON,
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
from rollout.lib.otlp_genai import export_people
from rollout.selectors.retention import retention_cutoffs
from rollout.selectors.workflows import workflow_is_retired
from rollout.services.api_tokens import api_token_authenticate, api_token_refusal
from rollout.services.otlp_ingest import PendingSpan, otlp_spans_ingest
from rollout.services.usage_ingest import EventData

DEFAULT_MAX_DECOMPRESSED_BYTES = 8 * 1024 * 1024

MSG_CONTENT_TYPE = (
    "Send the export as application/x-protobuf or application/json (OTLP/HTTP), not “{media}”."
)
MSG_ENCODING = "Content-Encoding “{encoding}” is not supported: send gzip, deflate or none."
MSG_FOREIGN = (
    "{n} GenAI span(s) belong to another workflow: the flag their trace evaluated "
    "(feature_flag.key) is not “{slug}”, the workflow of this token. Send them with that "
    "workflow's token."
)
MSG_INVALID_SPANS = "{n} GenAI span(s) are invalid and were not counted. The first: {message}"

# HTTP status → the google.rpc.Code its Status body carries.
GRPC_CODES = {400: 3, 401: 16, 404: 5, 405: 12, 410: 9, 413: 8, 415: 3, 429: 8, 500: 13, 503: 14}

_THROTTLE = TokenRateThrottle()


def max_decompressed_bytes() -> int:
    return int(
        getattr(settings, "ROLLOUT_OTLP_MAX_DECOMPRESSED_BYTES", DEFAULT_MAX_DECOMPRESSED_BYTES)
    )


def _reply_media(request: HttpRequest) -> str:
    media = media_type(request.headers.get("Content-Type", ""))
    return media if media in CONTENT_TYPES else JSON


def _status(request: HttpRequest, status: int, message: str) -> HttpResponse:
    media = _reply_media(request)
    response = HttpResponse(
        status_body(media, GRPC_CODES.get(status, 2), message), status=status, content_type=media
    )
    response.otlp = True  # answered in OTLP's terms: the edge leaves it alone
    return response


def _authenticate(request: HttpRequest) -> tuple[Any, HttpResponse | None]:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        response = _status(request, 401, MSG_MISSING)
    else:
        api_token = api_token_authenticate(token.strip())
        if api_token is not None:
            return api_token, None
        response = _status(request, 401, api_token_refusal(token.strip()))
    response["WWW-Authenticate"] = WWW_AUTHENTICATE
    return None, response


def _read(request: HttpRequest, media: str) -> Any:
    """The export as an ExportTraceServiceRequest; OtlpBodyError when it cannot be read."""
    encoding = request.headers.get("Content-Encoding", "identity")
    body = decompress(request.body, encoding, max_bytes=max_decompressed_bytes())
    if media == PROTOBUF:
        return request_from_protobuf(body)
    try:
        payload, non_finite = read_json(body)
    except UnreadableBody as exc:
        raise OtlpBodyError(400, exc.message) from exc
    if non_finite:
        raise OtlpBodyError(400, MSG_NON_FINITE)
    return request_from_json(payload)


def _traces(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        response = _status(request, 405, "Send trace exports with POST.")
        response["Allow"] = "POST"
        return response
    token, refused = _authenticate(request)
    if refused is not None:
        return refused
    request.auth = token
    if not _THROTTLE.allow_request(request):
        response = _status(request, 429, MSG_RATE_LIMITED)
        response["Retry-After"] = str(int(_THROTTLE.wait()))
        return response
    media = media_type(request.headers.get("Content-Type", ""))
    if media not in CONTENT_TYPES:
        return _status(request, 415, MSG_CONTENT_TYPE.format(media=media[:60] or "none"))
    encoding = request.headers.get("Content-Encoding", "identity").strip().lower() or "identity"
    if encoding not in ENCODINGS:
        return _status(request, 415, MSG_ENCODING.format(encoding=encoding[:40]))
    if workflow_is_retired(token.workflow_id):
        return _status(request, 410, MSG_RETIRED)
    try:
        message = _read(request, media)
    except OtlpBodyError as exc:
        return _status(request, exc.status, exc.message)
    facts = list(spans(message))
    del message  # the parsed export, prompts and completions with it, is not kept
    slug = token.workflow.slug
    found = export_people(facts, slug)
    genai, people = found.genai, found.by_trace
    mapped = genai_events(found, facts, slug, retention=retention_cutoffs())
    by_span, persons, foreign, rejected_spans, errors = mapped
    attributed: list[EventData] = []
    pending: list[PendingSpan] = []
    for index, events in by_span.items():
        if persons[index] is not None:
            attributed.extend(events)
        else:
            pending.append(PendingSpan(trace_id=genai[index].trace_id, events=tuple(events)))
    otlp_spans_ingest(
        workflow=token.workflow,
        token_id=token.pk,
        attributed=attributed,
        pending=pending,
        people={t: (p.user_ref, p.variant) for t, p in people.items()},
        remember=found.remember,
        genai_spans=len(by_span),
        ignored_spans=len(facts) - len(genai),
    )
    messages = []
    if foreign:
        messages.append(MSG_FOREIGN.format(n=foreign, slug=slug))
    if rejected_spans:
        first = errors[0]
        text = f"{first['field']}: {first['message']}" if first.get("field") else first["message"]
        messages.append(MSG_INVALID_SPANS.format(n=len(rejected_spans), message=text))
    response = HttpResponse(
        response_body(media, rejected=foreign + len(rejected_spans), message=" ".join(messages)),
        status=200,
        content_type=media,
    )
    response.otlp = True
    return response


def _in_otlp_terms(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """The API edge's own answers (its 413 for a body over 1 MiB, 503 for a lost connection,
    500) are JSON `{"detail"}`; OTLP's are google.rpc.Status bodies: rewritten, headers kept."""

    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponseBase:
        response = view(request, *args, **kwargs)
        if getattr(response, "otlp", False) or not isinstance(response, JsonResponse):
            return response
        try:
            detail = str(json.loads(response.content).get("detail", ""))
        except (ValueError, AttributeError):
            detail = response.content.decode(errors="replace")
        converted = _status(request, response.status_code, detail)
        for header in ("Retry-After", "Allow", "WWW-Authenticate"):
            if header in response:
                converted[header] = response[header]
        return converted

    return wrapper


MSG_UNKNOWN_PATH = (
    "Rollout collects traces only, at /otlp/v1/traces; metrics and logs are not collected"
    " (set OTEL_METRICS_EXPORTER=none and OTEL_LOGS_EXPORTER=none, or send them elsewhere)."
)


def _unknown_path(request: HttpRequest, rest: str = "") -> HttpResponse:
    """Any other path under /otlp/ (an SDK pointed at OTEL_EXPORTER_OTLP_ENDPOINT=<rollout>/otlp
    also exports metrics and logs to /otlp/v1/metrics and /otlp/v1/logs): OTLP's 404, a
    google.rpc.Status in the request's encoding saying what to change, not the site's HTML."""
    return _status(request, 404, MSG_UNKNOWN_PATH)


otlp_unknown_path = csrf_exempt(login_not_required(_unknown_path))

# Idempotent (event ids derive from trace and span ids), so answered again on a new connection
# when the database connection is lost under it.
otlp_traces = csrf_exempt(login_not_required(_in_otlp_terms(guarded(_traces, repeatable=True))))


def _status_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "description": "google.rpc.Status: the gRPC status code and a message.",
        "properties": {"code": {"type": "integer"}, "message": {"type": "string"}},
        "required": ["code", "message"],
    }


def _both(json_schema: dict[str, Any]) -> dict[str, Any]:
    binary = {"type": "string", "format": "binary"}
    return {PROTOBUF: {"schema": binary}, JSON: {"schema": json_schema}}


RULES = (
    "\n\nRules beyond the schema: the body is an ExportTraceServiceRequest as the OTLP "
    "specification (opentelemetry-proto) defines it, which this document does not repeat; one that "
    "is not is refused with 400."
)


def openapi_paths(schema: dict[str, Any]) -> None:
    """Adds POST /otlp/v1/traces to the API's OpenAPI document (RolloutAPI.extra_openapi)."""
    retry_after = {
        "Retry-After": {
            "description": "Seconds to wait before the next export.",
            "schema": {"type": "integer", "minimum": 1},
        }
    }

    def failure(description: str, **extra: Any) -> dict[str, Any]:
        return {"description": description, "content": _both(_status_schema()), **extra}

    export_response = {
        "type": "object",
        "description": "ExportTraceServiceResponse (OTLP/JSON).",
        "properties": {
            "partialSuccess": {
                "type": "object",
                "properties": {
                    "rejectedSpans": {"type": ["string", "integer"]},
                    "errorMessage": {"type": "string"},
                },
            }
        },
    }
    export_request = {
        "type": "object",
        "description": "ExportTraceServiceRequest in OTLP/JSON: resourceSpans → scopeSpans → "
        "spans, trace and span ids as hex.",
        # null is any field's default in the protobuf JSON mapping.
        "properties": {"resourceSpans": {"type": ["array", "null"], "items": {"type": "object"}}},
    }
    schema.setdefault("paths", {})["/otlp/v1/traces"] = {
        "post": {
            "operationId": "otlp_traces",
            "summary": "Export OpenTelemetry traces (OTLP/HTTP); GenAI spans count as usage",
            "description": (__doc__ or "").split("\n\n", 1)[1] + RULES,
            "tags": ["OTLP"],
            "security": [{"ApiTokenAuth": []}],
            "requestBody": {"required": True, "content": _both(export_request)},
            "responses": {
                200: {
                    "description": "Exported. partialSuccess counts GenAI spans not taken.",
                    "content": _both(export_response),
                },
                400: failure("The body is not an ExportTraceServiceRequest"),
                401: failure("Missing, unknown or revoked API token"),
                405: failure("Only POST"),
                410: failure("The token's workflow is retired"),
                413: failure("Over 1 MiB on the wire, or over the decompressed limit"),
                415: failure("Another content type or content encoding"),
                429: failure("Rate limited", headers=retry_after),
                503: failure("The database connection was lost: export again", headers=retry_after),
            },
        }
    }
