"""Figure: GenAI spans/s through POST /otlp/v1/traces (protobuf) against PostgreSQL's own COPY of
the events they become.

The OTLP side: CLIENTS clients post ExportTraceServiceRequests of BATCH GenAI spans each (fresh
trace and span ids each round; each span names its person by `user.id`, as an instrumented tool
does; each span has its own token counts, as a tool's calls do; no prompt content, which
instrumentations leave off by default) to gunicorn, without compression (the exporters'
default). Each span becomes one `invocation` event. The baseline: the same events, attributed
beforehand, COPYed by as many connections into `bench_copy_target_otlp` (the columns of
rollout_usageevent, only the unique key), one COPY and commit per batch — as bench/ingest.py
does for the events API. So the ratio is the endpoint's cost (protobuf decoding,
the GenAI mapping, the events API's validation, ingestion) over the least a database must do to
keep the same rows once each.
"""

import http.client
import json
import secrets
import time

from bench import paired
from bench.ingest import CLIENTS, Copy, _in_parallel
from bench.report import emit, log

BATCH = 1000
TARGET = 0.30
TABLE = "bench_copy_target_otlp"


def _create_copy_target() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE {TABLE}"  # noqa: S608 — our own table name
            " (LIKE rollout_usageevent INCLUDING DEFAULTS INCLUDING IDENTITY);"
            f" ALTER TABLE {TABLE} ADD UNIQUE (workflow_id, event_id)"
        )


def input_tokens(i: int) -> int:
    """The i-th span's prompt size: each span of an export its own, as a tool's calls are."""
    return 800 + i


def output_tokens(i: int) -> int:
    return 150 + (i * 7) % 400


def _export(users: list[str], now_ns: int):
    """One export of BATCH GenAI spans; (trace, span, user, start ns, latency ms, i) of each."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
    from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

    def kv(key: str, value) -> KeyValue:
        if isinstance(value, int):
            return KeyValue(key=key, value=AnyValue(int_value=value))
        return KeyValue(key=key, value=AnyValue(string_value=value))

    spans, facts = [], []
    for i in range(BATCH):
        trace, span_id = secrets.token_bytes(16), secrets.token_bytes(8)
        start = now_ns - i * 10**9
        latency = 400 + (i * 37) % 1500
        user = users[i % len(users)]
        spans.append(
            Span(
                trace_id=trace,
                span_id=span_id,
                name="chat gpt-4.1",
                kind=Span.SPAN_KIND_CLIENT,
                start_time_unix_nano=start,
                end_time_unix_nano=start + latency * 10**6,
                attributes=[
                    kv("gen_ai.operation.name", "chat"),
                    kv("gen_ai.provider.name", "openai"),
                    kv("gen_ai.request.model", "gpt-4.1"),
                    kv("gen_ai.response.model", "gpt-4.1-2025-04-14"),
                    kv("gen_ai.usage.input_tokens", input_tokens(i)),
                    kv("gen_ai.usage.output_tokens", output_tokens(i)),
                    kv("server.address", "api.openai.com"),
                    kv("user.id", user),
                ],
            )
        )
        facts.append((trace.hex(), span_id.hex(), user, start, latency, i))
    resource = ResourceSpans(
        resource={"attributes": [kv("service.name", "support-tool")]},
        scope_spans=[ScopeSpans(scope={"name": "openai-instrumentation"}, spans=spans)],
    )
    body = ExportTraceServiceRequest(resource_spans=[resource]).SerializeToString()
    return body, facts


class _Post:
    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/x-protobuf",
        }

    def open(self):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)

    def __call__(self, conn, body: bytes) -> None:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceResponse,
        )

        conn.request("POST", "/otlp/v1/traces", body=body, headers=self.headers)
        response = conn.getresponse()
        payload = response.read()
        reply = ExportTraceServiceResponse()
        if response.status == 200:
            reply.ParseFromString(payload)
        if response.status != 200 or reply.HasField("partial_success"):
            raise RuntimeError(f"POST /otlp/v1/traces: {response.status} {payload[:300]!r}")

    def close(self, conn) -> None:
        conn.close()


def bench_otlp(world: dict, port: int, db_url: str, rounds: int, batches: int) -> None:
    from datetime import UTC, datetime

    from django.utils import timezone

    from rollout.lib.otlp_genai import event_id
    from rollout.models import UsageEvent, Workflow
    from rollout.services.usage_ingest import attribute_people

    users = world["users"]
    workflow = Workflow.objects.get(pk=world["workflow_id"])
    attribution = attribute_people(workflow, set(users))
    _create_copy_target()
    post, copy = _Post(port, world["token"]), Copy(db_url, TABLE)
    work: dict[str, list] = {}

    def prepare() -> None:
        """A round's exports (fresh ids), as request bodies and as the COPY's rows."""
        now = timezone.now()
        now_ns = time.time_ns() - 60 * 10**9
        exports = [_export(users, now_ns) for _ in range(batches)]
        work["bodies"] = [body for body, _ in exports]
        work["rows"] = [
            [
                (
                    workflow.pk,
                    str(event_id(trace, span, "invocation")),
                    user,
                    *attribution.get(user, (None, None)),
                    "invocation",
                    latency,
                    5,
                    datetime.fromtimestamp(start / 1e9, tz=UTC).isoformat(),
                    now,
                    json.dumps(
                        {
                            "operation": "chat",
                            "model_version": "gpt-4.1-2025-04-14",
                            "model_provider": "openai",
                            "input_tokens": input_tokens(i),
                            "output_tokens": output_tokens(i),
                        }
                    ),
                )
                for trace, span, user, start, latency, i in facts
            ]
            for _, facts in exports
        ]

    def otlp_side() -> dict:
        if "bodies" not in work:
            prepare()
        before = UsageEvent.objects.filter(workflow=workflow).count()
        rate = batches * BATCH / _in_parallel(work.pop("bodies"), post)
        stored = UsageEvent.objects.filter(workflow=workflow).count() - before
        if stored != batches * BATCH:
            raise SystemExit(f"OTLP: {stored:,} events stored of {batches * BATCH:,} spans sent")
        return {"value": rate}

    def copy_side() -> dict:
        if "rows" not in work:
            prepare()
        rate = batches * BATCH / _in_parallel(work.pop("rows"), copy)
        return {"value": rate}

    log(f"OTLP: {batches} exports of {BATCH:,} GenAI spans by {CLIENTS} clients vs COPY")
    results = paired.run_rounds({"otlp": otlp_side, "copy": copy_side}, rounds, log, warm_up=1)
    ratio = paired.ratio(results, "otlp", "copy")
    emit(
        {
            "figure": "otlp",
            "title": f"OTLP ingestion through `POST /otlp/v1/traces` (protobuf, {CLIENTS} clients,"
            f" {BATCH:,} GenAI spans per export)",
            "unit": "events/s",
            "measured": paired.side(results, "otlp", "OTLP/HTTP protobuf", digits=0),
            "baseline": paired.side(
                results,
                "copy",
                f"psycopg COPY of the same events by {CLIENTS} connections into a table with only"
                " the unique key",
                digits=0,
            ),
            "events_per_round": batches * BATCH,
            "ratio": ratio,
            "target": f"median ratio >= {TARGET:.2f}",
            "met": ratio["median"] >= TARGET,
        }
    )
