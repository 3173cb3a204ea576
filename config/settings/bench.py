"""Settings for `make bench`: production-like (DEBUG off, persistent connections, shared cache)
but over plain HTTP on loopback, with the bench's bare baseline view mounted, and a rate limit
high enough not to throttle the load generator."""

from .base import *  # noqa: F403
from .base import env

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
