"""config.settings.production: refuses to start half-configured; passes the deploy checks."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from tests.waiting import explain, run

BASE_DIR = Path(settings.BASE_DIR)
HOST = "rollout.example.com"


def manage(*args: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("DJANGO_") and key not in {"DATABASE_URL", "CELERY_BROKER_URL"}
    }
    clean.update(
        DJANGO_SETTINGS_MODULE="config.settings.production", ROLLOUT_VAR_DIR=str(tmp_path), **env
    )
    return run([sys.executable, "manage.py", *args], cwd=BASE_DIR, env=clean)


def strong_key() -> str:
    return secrets.token_urlsafe(50)


def test_the_deploy_checks_pass_with_a_secret_key_and_hosts(tmp_path: Path) -> None:
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        tmp_path=tmp_path,
        DJANGO_SECRET_KEY=strong_key(),
        DJANGO_ALLOWED_HOSTS=HOST,
    )

    assert result.returncode == 0, explain(result)
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_refuses_to_start_without_a_secret_key(tmp_path: Path) -> None:
    result = manage("check", tmp_path=tmp_path, DJANGO_ALLOWED_HOSTS=HOST)

    assert result.returncode != 0
    assert "ImproperlyConfigured: DJANGO_SECRET_KEY must be set in production." in result.stderr


def test_refuses_to_start_with_an_empty_secret_key(tmp_path: Path) -> None:
    result = manage("check", tmp_path=tmp_path, DJANGO_SECRET_KEY="", DJANGO_ALLOWED_HOSTS=HOST)

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set in production." in result.stderr


def test_refuses_to_start_without_allowed_hosts(tmp_path: Path) -> None:
    result = manage("check", tmp_path=tmp_path, DJANGO_SECRET_KEY=strong_key())

    assert result.returncode != 0
    assert "ImproperlyConfigured: DJANGO_ALLOWED_HOSTS must be set in production." in result.stderr


@pytest.mark.parametrize(
    "key",
    [
        "insecure-local-only-key-change-me-0123456789abcdef",  # base.py's public local default
        "django-insecure-" + "x7" * 30,  # the placeholder startproject writes
    ],
)
def test_refuses_to_start_with_a_development_key(tmp_path: Path, key: str) -> None:
    result = manage("check", tmp_path=tmp_path, DJANGO_SECRET_KEY=key, DJANGO_ALLOWED_HOSTS=HOST)

    assert result.returncode != 0
    assert "ImproperlyConfigured: DJANGO_SECRET_KEY is a development key." in result.stderr


def test_the_deploy_checks_fail_on_a_short_secret_key(tmp_path: Path) -> None:
    key = "too-short-to-be-a-secret"
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        tmp_path=tmp_path,
        DJANGO_SECRET_KEY=key,
        DJANGO_ALLOWED_HOSTS=HOST,
    )

    assert result.returncode == 1, explain(result)
    assert "security.W009" in result.stderr


def test_debug_stays_off_whatever_the_environment_says(tmp_path: Path) -> None:
    result = manage(
        "shell",
        "-c",
        "from django.conf import settings; "
        "print(settings.DEBUG, settings.ALLOWED_HOSTS, settings.SECURE_SSL_REDIRECT, "
        "settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE)",
        tmp_path=tmp_path,
        DJANGO_SECRET_KEY=strong_key(),
        DJANGO_ALLOWED_HOSTS=f"{HOST},www.{HOST}",
        DJANGO_DEBUG="true",
    )

    assert result.returncode == 0, explain(result)
    assert result.stdout.strip().splitlines()[-1] == (
        f"False ['{HOST}', 'www.{HOST}'] True True True"
    )
