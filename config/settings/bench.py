"""Settings for `make bench`: production-like (DEBUG off, persistent connections, shared cache)
but over plain HTTP on loopback, with the bench's bare baseline view mounted, and a rate limit
high enough not to throttle the load generator.

Everything the run puts in Redis is under `bench-<BENCH_RUN_ID>:` (bench/resources.py): the cache's
keys, the broker's queue, bindings and control exchange, so the run can delete exactly its own keys
at the end and never meets another run, a test suite or an app on the same Redis."""

from .base import *  # noqa: F403
from .base import CACHES, CELERY_BROKER_URL, env

DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
ROOT_URLCONF = "bench.urls"
ROLLOUT_API_RATE_PER_MINUTE = 10_000_000
# Static files are not what is measured; plain storage needs no collectstatic.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="WARNING")},
}

# --- The run's own Redis keys ---------------------------------------------------------------------
# https://docs.djangoproject.com/en/6.1/topics/cache/#cache-key-prefixing
# https://docs.celeryq.dev/projects/kombu/en/stable/reference/kombu.transport.redis.html
# (global_keyprefix: every key kombu writes, the queue's list included)
BENCH_PREFIX = f"bench-{env.str('BENCH_RUN_ID', default='manual')}"
CACHES["default"]["KEY_PREFIX"] = BENCH_PREFIX
CELERY_TASK_DEFAULT_QUEUE = BENCH_PREFIX
CELERY_CONTROL_EXCHANGE = BENCH_PREFIX
CELERY_EVENT_EXCHANGE = f"{BENCH_PREFIX}-events"
if CELERY_BROKER_URL.startswith("redis"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {"global_keyprefix": f"{BENCH_PREFIX}:"}
