"""Settings for `make chaos` (chaos/run.py): production's settings, but over plain HTTP on
loopback (production redirects every request to HTTPS, which the harness's clients on 127.0.0.1
cannot follow), plain static storage (no collectstatic for a throw-away run), a rate limit above the
harness's load, and the notice sweep every CHAOS_SWEEP_SECONDS (default 10) instead of every minute
so that a run that waits for the sweep fits in ten minutes. Everything else — secrets, hosts,
cache, broker, email — comes from the environment the harness sets, as in production."""

from datetime import timedelta

from .base import env
from .production import *  # noqa: F403
from .production import CELERY_BEAT_SCHEDULE

SECURE_SSL_REDIRECT = False
SECURE_HSTS_SECONDS = 0
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
ROLLOUT_API_RATE_PER_MINUTE = 10_000_000
CELERY_BEAT_SCHEDULE = {
    **CELERY_BEAT_SCHEDULE,
    "deliver-notices": {
        "task": "rollout.tasks.deliver_notices",
        "schedule": timedelta(seconds=env.int("CHAOS_SWEEP_SECONDS", default=10)),
    },
}
