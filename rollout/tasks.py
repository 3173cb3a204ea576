from celery import shared_task

from rollout.services.promotions import promotions_run_due


@shared_task(time_limit=300, soft_time_limit=240)
def run_due_promotions() -> int:
    """Every minute: execute scheduled promotions whose time has come. Safe to run twice: each
    promotion is re-checked under its workflow's lock."""
    return promotions_run_due()


@shared_task(time_limit=300, soft_time_limit=240)
def rollup_usage() -> int:
    """After each ingestion and every minute: rebuild the rollups of days with new events, then
    evaluate those workflows' thresholds. Safe to run concurrently (dirty days are claimed)."""
    from rollout.services.usage_rollup import usage_rollup_pending

    return usage_rollup_pending()


@shared_task(time_limit=300, soft_time_limit=240)
def evaluate_thresholds() -> int:
    """Every few minutes: evaluate every threshold (windows move with the clock, not only with
    new events) and check every cohort for drift."""
    from rollout.services.drift import drift_evaluate_all
    from rollout.services.evaluation import thresholds_evaluate_all

    count = thresholds_evaluate_all()
    drift_evaluate_all()
    return count


@shared_task(
    time_limit=60,
    soft_time_limit=50,
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
def email_notification(notification_id: int) -> bool:
    """Email one notification; a retry after it was sent does nothing."""
    from rollout.services.notifications import notification_email

    return notification_email(notification_id=notification_id)


@shared_task(time_limit=300, soft_time_limit=240)
def email_pending_notifications() -> int:
    """Every few minutes: send notification emails a lost task or a broker outage left unsent."""
    from rollout.services.notifications import notifications_email_pending

    return notifications_email_pending()


@shared_task(time_limit=300, soft_time_limit=240)
def advance_escalations() -> int:
    """Every minute: notify the next level of every escalation nobody acknowledged in time,
    catching up missed steps. Safe to run twice: rows are claimed and each step notifies once."""
    from rollout.services.escalations import escalations_advance

    return escalations_advance()


@shared_task(time_limit=120, soft_time_limit=100)
def evaluate_workflow(workflow_id: int) -> int:
    """Right after a threshold of the workflow is added, changed or deleted."""
    from rollout.models import Workflow
    from rollout.services.evaluation import thresholds_evaluate_workflow

    workflow = Workflow.objects.with_owner().filter(pk=workflow_id).first()
    if workflow is None:
        return 0
    return len(thresholds_evaluate_workflow(workflow=workflow))


@shared_task(time_limit=300, soft_time_limit=240)
def send_webhooks() -> int:
    """Every minute, and right after activity is recorded for a workflow with webhooks: POST the
    due webhook deliveries. Safe to run twice at once: each row is claimed under a lock and a
    delivered one is never sent again."""
    from rollout.services.webhooks import webhook_deliveries_send_due

    return webhook_deliveries_send_due()


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
    from rollout.services.notice_delivery import notice_deliveries_send

    return notice_deliveries_send()


@shared_task(time_limit=300, soft_time_limit=240)
def deliver_notices() -> int:
    """Every minute: publish due notices, queue due reminders, send due deliveries — so a broker
    that was down at publish time only delays delivery."""
    from rollout.services.notice_delivery import (
        notice_deliveries_send,
        notice_reminders_send,
        notices_publish_due,
    )

    notices_publish_due()
    notice_reminders_send()
    return notice_deliveries_send()
