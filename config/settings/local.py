"""The embedded default used by `make run`: DEBUG on, SQLite and filesystem broker under var/."""

from .base import *  # noqa: F403
from .base import VAR_DIR, env

DEBUG = env.bool("DJANGO_DEBUG", default=True)

for _sub in ("mail", "staticfiles", "broker/queue", "broker/processed", "broker/control"):
    (VAR_DIR / _sub).mkdir(parents=True, exist_ok=True)

# runserver serves static files itself with DEBUG on; the manifest needs collectstatic first.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# A webhook receiver on this machine is fine while developing.
ROLLOUT_WEBHOOKS_ALLOW_PRIVATE = env.bool("ROLLOUT_WEBHOOKS_ALLOW_PRIVATE", default=True)
