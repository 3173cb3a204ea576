"""Celery tasks: thin, safe to run twice, one service call each. Services wake them with
core.wake.wake("rollout.tasks.<name>", ...) and never import this module; the periodic schedule
is config.settings.base.CELERY_BEAT_SCHEDULE."""

from celery import shared_task
from celery.signals import task_postrun
from django.conf import settings

from rollout.services.api_tokens import api_tokens_record_expired
from rollout.services.cache_invalidations import cache_invalidations_replay
from rollout.services.escalations import escalations_advance
from rollout.services.evaluation import (
    evaluation_sweep,
    thresholds_evaluate_workflow_id,
    usage_refresh_pending,
)
from rollout.services.notice_delivery import notice_deliveries_send, notice_sweep
from rollout.services.notifications import notification_email, notifications_email_pending
from rollout.services.otlp_ingest import otlp_holds_release
from rollout.services.promotions import promotions_run_due
from rollout.services.retention import retention_apply
from rollout.services.review_reminders import review_reminders_send
from rollout.services.sweeps import sweep_run_record
from rollout.services.webhooks import webhooks_send_due


@shared_task(time_limit=300, soft_time_limit=240)
def run_due_promotions() -> int:
    """Every minute: execute scheduled promotions whose time has come. Safe to run twice: each
    promotion is re-checked under its workflow's lock."""
    return promotions_run_due()


@shared_task(time_limit=300, soft_time_limit=240)
def rollup_usage() -> int:
    """After each ingestion and every minute: rebuild the rollups of days with new events, then
    evaluate those workflows' thresholds. Safe to run concurrently (dirty days are claimed)."""
    return usage_refresh_pending()


@shared_task(time_limit=300, soft_time_limit=240)
def evaluate_thresholds() -> int:
    """Every few minutes: evaluate every threshold (windows move with the clock, not only with
    new events) and check every cohort for drift."""
    return evaluation_sweep()


@shared_task(
    time_limit=60,
    soft_time_limit=50,
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
def email_notification(notification_id: int) -> bool:
    """Email one notification; a retry after it was sent does nothing."""
    return notification_email(notification_id=notification_id)


@shared_task(time_limit=300, soft_time_limit=240)
def email_pending_notifications() -> int:
    """Every few minutes: send notification emails a lost task or a broker outage left unsent."""
    return notifications_email_pending()


@shared_task(time_limit=300, soft_time_limit=240)
def advance_escalations() -> int:
    """Every minute: notify the next level of every escalation nobody acknowledged in time,
    catching up missed steps. Safe to run twice: rows are claimed and each step notifies once."""
    return escalations_advance()


@shared_task(time_limit=300, soft_time_limit=240)
def send_review_reminders() -> int:
    """Every hour: remind owners (and, past the grace period, ops leaders) of reviews due. Safe
    to run twice: each reminder of a due date is recorded once, under the workflow's lock."""
    return review_reminders_send()


@shared_task(time_limit=120, soft_time_limit=100)
def evaluate_workflow(workflow_id: int) -> int:
    """Right after a threshold of the workflow is added, changed or deleted."""
    return thresholds_evaluate_workflow_id(workflow_id=workflow_id)


@shared_task(time_limit=300, soft_time_limit=240)
def send_webhooks() -> int:
    """Every minute, and right after activity is recorded for a workflow with webhooks: POST the
    due webhook and chat deliveries, then log and announce the endpoints turned off. Safe to run
    twice at once: each row is claimed under a lock and a delivered one is never sent again."""
    return webhooks_send_due()


@shared_task(
    time_limit=300,
    soft_time_limit=240,
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
def send_notice_deliveries() -> int:
    """Woken after a notice is published (or a delivery retried): send what is due. Safe to run
    twice at once: rows are claimed with SKIP LOCKED and a delivered row is never due again."""
    return notice_deliveries_send()


@shared_task(time_limit=300, soft_time_limit=240)
def deliver_notices() -> int:
    """Every minute: publish due notices, queue due reminders, send due deliveries — so a broker
    that was down at publish time only delays delivery."""
    return notice_sweep()


@shared_task(time_limit=60, soft_time_limit=50)
def replay_cache_invalidations() -> int:
    """Every few seconds: apply to the cache the invalidations (a revocation, a plan change) it
    missed while unreachable. Until then the API reads around them; safe to run twice."""
    return cache_invalidations_replay()


@shared_task(time_limit=3600, soft_time_limit=3500)
def apply_retention() -> int:
    """Every night: delete what is past the organisation's retention (raw usage events, feedback
    text, notice receipts). Safe to run twice; batches commit as they go, so an interrupted run
    is finished by the next."""
    run = retention_apply()
    return run.events_deleted + run.comments_deleted + run.receipts_deleted


@shared_task(time_limit=300, soft_time_limit=240)
def release_otlp_holds() -> int:
    """Every minute: count GenAI spans whose hold for their trace's person ended (as nobody's,
    unless the person came meanwhile) and forget old traces. Safe to run twice: held rows are
    claimed with SKIP LOCKED and deleted with the events they become."""
    return otlp_holds_release()


@shared_task(time_limit=60, soft_time_limit=50)
def record_expired_api_tokens() -> int:
    """Every minute: log the end of rotated tokens' grace periods (the API already refuses them
    from that moment, whether or not this runs). Safe to run twice."""
    return api_tokens_record_expired()


# Periodic sweeps record their last run for the operations metrics (/metrics), so a scheduler or
# worker that stopped shows as a timestamp falling behind.
_SWEEPS = frozenset(entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values())


@task_postrun.connect
def _record_sweep_run(sender=None, state=None, retval=None, **kwargs) -> None:
    if sender is not None and sender.name in _SWEEPS:
        failed = state != "SUCCESS"
        sweep_run_record(
            task=sender.name, succeeded=not failed, error=repr(retval) if failed else ""
        )
