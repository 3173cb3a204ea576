"""GET /metrics: operations figures, parsed with prometheus_client's own parsers (Prometheus text
0.0.4 and OpenMetrics 1.0), behind the scraper's bearer token."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families

from rollout.models import (
    DeliveryChannel,
    DeliveryStatus,
    NoticeDelivery,
    SweepRun,
    UsageDirtyDay,
)
from rollout.tasks import deliver_notices
from tests.rollout.notice_fixtures import make_notice, make_scene

TOKEN = "test-metrics-token"
AUTH = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}


def _samples(text: str, parse=text_string_to_metric_families) -> dict[tuple, float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in parse(text)
        for sample in family.samples
    }


def test_without_the_token_it_is_401_for_everyone_even_signed_in(db, ops_leader):
    client = Client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    client.force_login(ops_leader)
    response = client.get("/metrics")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'


def test_off_without_the_setting(db, settings):
    settings.ROLLOUT_METRICS_TOKEN = ""
    assert Client().get("/metrics", **AUTH).status_code == 404


def test_an_empty_installation_reports_zeros(db):
    response = Client().get("/metrics", **AUTH)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    assert response["Cache-Control"].startswith("max-age=0")
    samples = _samples(response.content.decode())
    for status in ("pending", "sending", "failed"):
        assert samples[("rollout_notice_deliveries", (("status", status),))] == 0
        assert samples[("rollout_webhook_deliveries", (("status", status),))] == 0
    assert samples[("rollout_notice_oldest_pending_age_seconds", ())] == 0
    assert samples[("rollout_ingestion_dirty_days", ())] == 0
    assert samples[("rollout_ingestion_lag_seconds", ())] == 0
    assert samples[("rollout_notification_emails_pending", ())] == 0


def test_backlogs_and_lag_are_counted(db):
    scene = make_scene()
    notice = make_notice(scene)
    now = timezone.now()
    for user, status in (
        (scene.amy, DeliveryStatus.PENDING),
        (scene.cat, DeliveryStatus.PENDING),
        (scene.ben, DeliveryStatus.FAILED),
        (scene.owner, DeliveryStatus.SENT),
    ):
        NoticeDelivery.objects.create(
            notice=notice, recipient=user, channel=DeliveryChannel.EMAIL, status=status
        )
    NoticeDelivery.objects.filter(recipient=scene.amy).update(
        created_at=now - timedelta(minutes=30)
    )
    UsageDirtyDay.objects.create(workflow=scene.workflow, day=now.date())
    UsageDirtyDay.objects.update(marked_at=now - timedelta(minutes=5))

    samples = _samples(Client().get("/metrics", **AUTH).content.decode())

    assert samples[("rollout_notice_deliveries", (("status", "pending"),))] == 2
    assert samples[("rollout_notice_deliveries", (("status", "failed"),))] == 1
    assert samples[("rollout_notice_deliveries", (("status", "sending"),))] == 0
    assert samples[("rollout_notice_oldest_pending_age_seconds", ())] >= 30 * 60
    assert samples[("rollout_ingestion_dirty_days", ())] == 1
    assert samples[("rollout_ingestion_lag_seconds", ())] >= 5 * 60


def test_a_sweep_records_its_last_run(db):
    before = timezone.now()
    deliver_notices.delay()

    run = SweepRun.objects.get(task="rollout.tasks.deliver_notices")
    assert run.succeeded and run.finished_at >= before
    samples = _samples(Client().get("/metrics", **AUTH).content.decode())
    key = (("task", "rollout.tasks.deliver_notices"),)
    assert samples[("rollout_sweep_last_run_succeeded", key)] == 1
    assert samples[("rollout_sweep_last_run_timestamp_seconds", key)] == pytest.approx(
        run.finished_at.timestamp()
    )


def test_openmetrics_when_the_scraper_asks(db):
    response = Client().get(
        "/metrics", HTTP_ACCEPT="application/openmetrics-text; version=1.0.0", **AUTH
    )
    assert response["Content-Type"].startswith("application/openmetrics-text; version=1.0.0")
    text = response.content.decode()
    assert text.endswith("# EOF\n")
    samples = _samples(text, parse=openmetrics_families)
    assert samples[("rollout_ingestion_dirty_days", ())] == 0
