from celery import shared_task

from rollout.services.promotions import promotions_run_due


@shared_task(time_limit=300, soft_time_limit=240)
def run_due_promotions() -> int:
    """Every minute: execute scheduled promotions whose time has come. Safe to run twice: each
    promotion is re-checked under its workflow's lock."""
    return promotions_run_due()
