"""POST /otlp/v1/traces driven by clients nobody on this project wrote: the OpenTelemetry SDK
with its OTLP/HTTP exporters (protobuf, and JSON), against a live server. Each span is exported
in its own request as it ends (SimpleSpanProcessor): the GenAI child first, its parent — which
evaluated the flag, as OpenFeature's OpenTelemetry hook records it — after."""

import json
import time

import pytest
from django.utils import timezone
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult

from rollout.models import OtlpHeldSpan, UsageEvent
from rollout.selectors.usage import usage_window
from tests.rollout.api.otlp_fixtures import (
    COMPLETION,
    PATH,
    PROMPT,
    flag_event,
    genai_attributes,
    sdk_tracer,
)

pytestmark = pytest.mark.django_db(transaction=True)


def _genai_call(tracer, **attributes) -> None:
    """A model call of 1,234 ms, under the current span (the SDK's clock gives its times)."""
    start = time.time_ns() - 5 * 10**9
    span = tracer.start_span(
        "chat gpt-4.1", start_time=start, attributes=genai_attributes(**attributes)
    )
    span.end(end_time=start + 1_234 * 10**6)


@pytest.mark.parametrize(
    "how",
    [{}, {"as_json": True}, {"compression": Compression.Gzip}],
    ids=["protobuf", "json", "protobuf-gzip"],
)
def test_a_parent_exported_after_its_genai_child_attributes_it(
    live_server, workflow, api_token, member, how
):
    url = live_server.url + PATH
    with sdk_tracer(url, api_token.plaintext, **how) as (tracer, memory, exporter):
        with tracer.start_as_current_span("handle ticket") as parent:
            parent.add_event("feature_flag.evaluation", flag_event(workflow.slug, member.email))
            _genai_call(tracer)
            # The child was exported, alone, when it ended: held until its trace names someone.
            assert OtlpHeldSpan.objects.count() == 1
            assert not UsageEvent.objects.exists()
        # The parent's export named the person: the held span is counted as theirs.
        assert not OtlpHeldSpan.objects.exists()
        event = UsageEvent.objects.get()
        assert (event.kind, event.user_id, event.user_ref) == (
            "invocation",
            member.pk,
            member.email,
        )
        assert event.cohort is not None
        assert event.attrs == {
            "operation": "chat",
            "model_version": "gpt-4.1-2025-04-14",
            "model_provider": "openai",
            "input_tokens": 812,
            "output_tokens": 164,
            "variant": "live",
        }
        assert event.latency_ms == 1234
        stored = json.dumps(list(UsageEvent.objects.values("attrs", "user_ref")))
        stored += json.dumps(list(OtlpHeldSpan.objects.values("events")))
        assert PROMPT not in stored and COMPLETION not in stored

        today = timezone.localdate()
        counts = usage_window(workflow, start=today, end=today, scope=event.cohort)
        assert counts.invocations == 1
        assert counts.active_users == 1

        # The same spans exported again (an exporter's retry): counted once.
        assert exporter.export(memory.get_finished_spans()) == SpanExportResult.SUCCESS
        assert UsageEvent.objects.count() == 1
        assert usage_window(workflow, start=today, end=today).invocations == 1


def test_a_failed_genai_call_is_an_invocation_and_an_error(
    live_server, workflow, api_token, member
):
    with (
        sdk_tracer(live_server.url + PATH, api_token.plaintext) as (tracer, _, _),
        tracer.start_as_current_span(
            "chat", attributes=genai_attributes(**{"user.id": member.email})
        ) as span,
    ):
        span.set_attribute("error.type", "RateLimitError")
    kinds = sorted(UsageEvent.objects.values_list("kind", flat=True))
    assert kinds == ["error", "invocation"]
    today = timezone.localdate()
    counts = usage_window(workflow, start=today, end=today)
    assert (counts.invocations, counts.errors) == (1, 1)


def test_configured_by_the_standard_environment_variables(
    live_server, workflow, api_token, member, monkeypatch
):
    """What the README tells a team to set: the base endpoint and the header, nothing else."""
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"{live_server.url}/otlp")
    monkeypatch.setenv(
        "OTEL_EXPORTER_OTLP_HEADERS", f"Authorization=Bearer%20{api_token.plaintext}"
    )
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter()))
    tracer = provider.get_tracer("support-tool")
    try:
        _genai_call(tracer, **{"user.id": member.email})
    finally:
        provider.shutdown()
    assert UsageEvent.objects.get().user_id == member.pk
