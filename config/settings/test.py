"""Settings for the test suite: fast hashing, in-memory mail, eager Celery, plain static storage."""

from .base import *  # noqa: F403
from .base import DATABASES

DEBUG = False
SECRET_KEY = "test-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
ALLOWED_HOSTS = ["*"]

# Tests don't need a broker: tasks run in-process when enqueued.
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True

# The manifest needs collectstatic; tests use plain storage ("Missing staticfiles manifest entry").
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Per-process memory cache: tests running in parallel never see each other's entries.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Persistent connections would hold test databases open between tests.
DATABASES["default"]["CONN_MAX_AGE"] = 0
AXES_FAILURE_LIMIT = 3

# No collectstatic in tests: whitenoise serves straight from the finders (also for live_server).
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# The webhook tests receive on 127.0.0.1.
ROLLOUT_WEBHOOKS_ALLOW_PRIVATE = True

# GET /metrics is on in the tests (tests/rollout/views/test_metrics.py scrapes it).
ROLLOUT_METRICS_TOKEN = "test-metrics-token"
