"""GET /healthz: what load balancers and `make run` poll."""

import pytest
from django.db import OperationalError, connection
from django.test import Client
from django.urls import reverse

CLOSED_BROKER = "redis://127.0.0.1:1/0"  # nothing listens on port 1: a real refused connection

pytestmark = pytest.mark.django_db


def test_the_url() -> None:
    assert reverse("healthz") == "/healthz"


def test_ok_when_the_database_and_the_broker_answer(client: Client, settings) -> None:
    # The test run's own broker: filesystem:// by default, Redis when CELERY_BROKER_URL is set.
    transport = settings.CELERY_BROKER_URL.split("://", 1)[0]

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "no-cache" in response["Cache-Control"]
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "broker": "ok",
        "broker_transport": transport,
        "cache": "ok",
    }


def test_degraded_when_the_broker_is_unreachable(client: Client, settings, monkeypatch) -> None:
    settings.CELERY_BROKER_URL = CLOSED_BROKER
    # Celery read its configuration when the app was set up; the environment variable is the
    # one place it reads again on every connection (and it outranks the settings).
    monkeypatch.setenv("CELERY_BROKER_URL", CLOSED_BROKER)

    response = client.get("/healthz")

    # The sweeps catch up on lost wake-ups: a broker outage must not pull the node.
    assert response.status_code == 200
    assert response.json() == {
        "status": "degraded",
        "database": "ok",
        "broker": "unreachable",
        "broker_transport": "redis",
        "cache": "ok",
    }


def test_unavailable_when_the_database_fails(client: Client, monkeypatch) -> None:
    def broken_cursor(*args: object, **kwargs: object) -> None:
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", broken_cursor)

    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["database"] == "unreachable"
    assert body["broker"] == "ok"


def test_unavailable_when_the_database_answers_wrong(client: Client, monkeypatch) -> None:
    class WrongCursor:
        def __enter__(self) -> "WrongCursor":
            return self

        def __exit__(self, *exc: object) -> None:
            return None

        def execute(self, sql: str) -> None:
            pass

        def fetchone(self) -> tuple[int]:
            return (0,)

    monkeypatch.setattr(connection, "cursor", WrongCursor)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete", "options"])
def test_only_get_is_allowed(client: Client, method: str) -> None:
    response = getattr(client, method)("/healthz")

    assert response.status_code == 405
    assert response["Allow"] == "GET"


def test_needs_no_login_and_sets_no_session(client: Client) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert "sessionid" not in response.cookies
