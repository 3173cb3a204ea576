"""config.settings.local: what `make run` uses — embedded defaults, or the services named in env."""

import json
import os
import sys
from pathlib import Path

from django.conf import settings

from tests.waiting import explain, run

BASE_DIR = Path(settings.BASE_DIR)
PRINT_SETTINGS = (
    "import json; from django.conf import settings as s; print(json.dumps({"
    "'engine': s.DATABASES['default']['ENGINE'], 'name': str(s.DATABASES['default']['NAME']),"
    "'host': s.DATABASES['default'].get('HOST'), 'broker': s.CELERY_BROKER_URL,"
    "'beat': s.CELERY_BEAT_SCHEDULE_FILENAME, 'mail': s.MAILERS['default'], 'debug': s.DEBUG,"
    "'site': s.SITE_URL}))"
)


def local_settings(tmp_path: Path, **env: str) -> dict:
    clean = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "ROLLOUT_", "EMAIL_"))
        and key not in {"DATABASE_URL", "CELERY_BROKER_URL"}
    }
    clean.update(
        DJANGO_SETTINGS_MODULE="config.settings.local", ROLLOUT_VAR_DIR=str(tmp_path), **env
    )
    result = run(
        [sys.executable, "manage.py", "shell", "-c", PRINT_SETTINGS], cwd=BASE_DIR, env=clean
    )
    assert result.returncode == 0, explain(result)
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_embedded_defaults_keep_everything_under_the_var_directory(tmp_path: Path) -> None:
    values = local_settings(tmp_path)

    assert values["engine"] == "django.db.backends.sqlite3"
    assert values["name"] == str(tmp_path / "db.sqlite3")
    assert values["broker"] == "filesystem://"
    assert values["beat"] == str(tmp_path / "celerybeat-schedule")
    assert values["mail"] == {
        "BACKEND": "accounts.mail.FileAndConsoleEmailBackend",
        "OPTIONS": {"file_path": str(tmp_path / "mail")},
    }
    assert values["debug"] is True
    assert values["site"] == "http://localhost:8000"
    # The folders the filesystem broker and the mail backend write to exist before they are used.
    for folder in ("mail", "broker/queue", "broker/processed", "broker/control"):
        assert (tmp_path / folder).is_dir(), folder


def test_database_url_and_broker_url_switch_to_real_services(tmp_path: Path) -> None:
    values = local_settings(
        tmp_path,
        DATABASE_URL="postgres://rollout:secret@db.internal:5432/rollout",
        CELERY_BROKER_URL="redis://cache.internal:6379/0",
        EMAIL_URL="smtp+tls://mailer:secret@smtp.example.com:587",
        ROLLOUT_SITE_URL="https://rollout.example.com",
    )

    assert values["engine"] == "django.db.backends.postgresql"
    assert (values["host"], values["name"]) == ("db.internal", "rollout")
    assert values["broker"] == "redis://cache.internal:6379/0"
    assert values["mail"]["BACKEND"] == "core.mail.SMTPBackend"
    assert values["mail"]["OPTIONS"]["host"] == "smtp.example.com"
    assert values["mail"]["OPTIONS"]["use_tls"] is True
    assert values["site"] == "https://rollout.example.com"
