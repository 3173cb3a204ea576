"""RolloutAPI and json_response (rollout.api.base)."""

import uuid
from datetime import UTC, date, datetime

from django.test import RequestFactory
from django.urls import reverse

from rollout.api import api
from rollout.api.base import json_response


def test_json_response_is_what_the_api_answers():
    request = RequestFactory().post("/api/v1/events")
    body = {"id": uuid.UUID(int=7), "at": datetime(2026, 11, 30, 14, 5, tzinfo=UTC), "n": [1.5]}
    for status in (200, 201, 400):
        ours = json_response(request, body, status=status)
        theirs = api.create_response(request, body, status=status)
        assert ours.status_code == theirs.status_code == status
        assert ours.content == theirs.content
        assert ours["Content-Type"] == theirs["Content-Type"] == "application/json; charset=utf-8"
    assert json_response(request, {"d": date(2026, 11, 30)}, status=200).content == (
        b'{"d": "2026-11-30"}'
    )


def test_every_endpoint_module_is_routed():
    assert reverse("api:decision") == "/api/v1/decision"
    assert reverse("api:events") == "/api/v1/events"
    assert reverse("api:feedback") == "/api/v1/feedback"
    assert reverse("api:metrics", kwargs={"slug": "x"}) == "/api/v1/workflows/x/metrics"
