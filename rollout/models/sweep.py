"""The last run of each periodic sweep, so an operator sees a stuck scheduler or worker."""

from django.db import models


class SweepRun(models.Model):
    """One row per periodic task (CELERY_BEAT_SCHEDULE), overwritten at the end of each run."""

    task = models.CharField(max_length=200, unique=True)
    finished_at = models.DateTimeField()
    succeeded = models.BooleanField()
    error = models.CharField(max_length=500, blank=True)

    def __str__(self) -> str:
        return f"{self.task} at {self.finished_at:%Y-%m-%d %H:%M}"
