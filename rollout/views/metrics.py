"""GET /metrics: the operations figures for Prometheus (text format 0.0.4, or OpenMetrics 1.0
when the scraper asks for it), so an operator sees a stuck sender before users do.

Authenticated by `Authorization: Bearer <ROLLOUT_METRICS_TOKEN>` (a deployment setting, not a
person's sign-in). Without the setting the endpoint does not exist (404)."""

import hmac
from collections.abc import Iterator

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client.core import CollectorRegistry, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder

from rollout.selectors.operations import Operations, operations_snapshot


class _OperationsCollector:
    """Builds the metric families from one snapshot (prometheus_client's custom-collector API)."""

    def __init__(self, snapshot: Operations) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        s = self.snapshot
        notices = GaugeMetricFamily(
            "rollout_notice_deliveries",
            "Change-notice deliveries not yet finished, by status.",
            labels=["status"],
        )
        for status, count in s.notice_deliveries.items():
            notices.add_metric([status], count)
        yield notices
        yield GaugeMetricFamily(
            "rollout_notice_oldest_pending_age_seconds",
            "Age of the oldest pending change-notice delivery (0 when none is pending).",
            value=s.oldest_pending_notice_seconds,
        )
        webhooks = GaugeMetricFamily(
            "rollout_webhook_deliveries",
            "Webhook outbox rows not yet delivered, by status.",
            labels=["status"],
        )
        for status, count in s.webhook_deliveries.items():
            webhooks.add_metric([status], count)
        yield webhooks
        yield GaugeMetricFamily(
            "rollout_notification_emails_pending",
            "Notifications whose email (chosen by the recipient) is not sent yet.",
            value=s.notification_emails_pending,
        )
        yield GaugeMetricFamily(
            "rollout_ingestion_dirty_days",
            "Days of ingested usage whose rollups are behind their raw events.",
            value=s.dirty_days,
        )
        yield GaugeMetricFamily(
            "rollout_ingestion_lag_seconds",
            "How long the oldest day behind its raw events has waited (0 when none).",
            value=s.oldest_dirty_day_seconds,
        )
        finished = GaugeMetricFamily(
            "rollout_sweep_last_run_timestamp_seconds",
            "When each periodic sweep last finished (Unix time).",
            labels=["task"],
        )
        succeeded = GaugeMetricFamily(
            "rollout_sweep_last_run_succeeded",
            "Whether each periodic sweep's last run succeeded (1) or failed (0).",
            labels=["task"],
        )
        for sweep in s.sweeps:
            finished.add_metric([sweep.task], sweep.finished_at.timestamp())
            succeeded.add_metric([sweep.task], 1 if sweep.succeeded else 0)
        yield finished
        yield succeeded


def _authorized(request: HttpRequest, token: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token)


@login_not_required  # a scraper, not a person: the bearer token below is its authentication
@require_GET
@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    token = settings.ROLLOUT_METRICS_TOKEN
    if not token:
        raise Http404("Metrics are off: set ROLLOUT_METRICS_TOKEN.")
    if not _authorized(request, token):
        response = HttpResponse("Unauthorized: send Authorization: Bearer <token>.\n", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        response["Content-Type"] = "text/plain; charset=utf-8"
        return response
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_OperationsCollector(operations_snapshot(now=timezone.now())))
    encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
    return HttpResponse(encoder(registry), content_type=content_type)
