"""Recording each periodic sweep's last run (read by the operations metrics)."""

from django.utils import timezone

from rollout.models import SweepRun

ERROR_MAX_LENGTH = SweepRun._meta.get_field("error").max_length


def sweep_run_record(*, task: str, succeeded: bool, error: str = "") -> SweepRun:
    """Overwrite `task`'s last run. One upsert: sweeps run every minute, history is not kept."""
    run, _ = SweepRun.objects.update_or_create(
        task=task,
        defaults={
            "finished_at": timezone.now(),
            "succeeded": succeeded,
            "error": " ".join(error.split())[:ERROR_MAX_LENGTH],
        },
    )
    return run
