"""Paths under /ofrep/ and /otlp/ that Rollout does not serve answer in that standard's terms:
an SDK pointed at Rollout (OTEL_EXPORTER_OTLP_ENDPOINT=<rollout>/otlp also sends metrics and logs;
an older OFREP provider asks for /ofrep/v1/configuration) reads a body it understands, saying what
to change, instead of the site's HTML page."""

import json

import pytest
from google.rpc.status_pb2 import Status
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, MetricExportResult

from rollout.api.ofrep.views import MSG_UNKNOWN_PATH as MSG_OFREP
from rollout.api.otlp import MSG_UNKNOWN_PATH as MSG_OTLP
from rollout.models import UsageEvent

OTLP_NOT_FOUND = 5  # google.rpc.Code.NOT_FOUND


@pytest.mark.parametrize("path", ["/ofrep/v1/configuration", "/ofrep/v2/evaluate/flags", "/ofrep/"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_an_unknown_ofrep_path_is_the_protocols_json_404(client, path, method):
    response = getattr(client, method)(path, headers={"X-API-Key": "ro_anything"})

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content) == {"errorCode": "GENERAL", "errorDetails": MSG_OFREP}


def test_an_unknown_ofrep_path_says_the_same_to_a_valid_token(client, api_token):
    response = client.post("/ofrep/v1/configuration", headers=api_token.headers)
    assert (response.status_code, json.loads(response.content)["errorDetails"]) == (404, MSG_OFREP)


@pytest.mark.parametrize("path", ["/otlp/v1/metrics", "/otlp/v1/logs", "/otlp/v1/trace"])
def test_an_unknown_otlp_path_is_a_status_in_protobuf(client, path):
    response = client.post(path, b"\x0a\x00", content_type="application/x-protobuf")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/x-protobuf"
    status = Status()
    status.ParseFromString(response.content)
    assert (status.code, status.message) == (OTLP_NOT_FOUND, MSG_OTLP)


def test_an_unknown_otlp_path_is_a_status_in_json_when_sent_json(client):
    response = client.post("/otlp/v1/logs", {}, content_type="application/json")

    assert response.status_code == 404
    assert json.loads(response.content) == {"code": OTLP_NOT_FOUND, "message": MSG_OTLP}


@pytest.mark.django_db(transaction=True)
def test_the_sdks_metric_exporter_is_told_no_and_nothing_is_stored(live_server, api_token):
    # The OpenTelemetry SDK's own OTLP/HTTP metric exporter, as a tool configured with
    # OTEL_EXPORTER_OTLP_ENDPOINT=<rollout>/otlp would run it next to its trace exporter.
    exporter = OTLPMetricExporter(
        endpoint=live_server.url + "/otlp/v1/metrics",
        headers={"Authorization": api_token.headers["Authorization"]},
        timeout=30,
    )
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    provider.get_meter("support-tool").create_counter("gen_ai.calls").add(3)
    try:
        result = exporter.export(reader.get_metrics_data())
    finally:
        exporter.shutdown()
        provider.shutdown()

    assert result is MetricExportResult.FAILURE  # a 404 is not retried: one request, refused
    assert not UsageEvent.objects.exists()
