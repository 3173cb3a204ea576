"""/api/v1/workflows/{slug}/thresholds with a personal token: the thresholds page's rules and log,
values in stored units (a rate is a fraction)."""

import pytest

from accounts.models import User
from rollout.api.manage.common import REPLAYED_HEADER
from rollout.api.manage.thresholds import MSG_UNKNOWN_SOURCE, MSG_UNKNOWN_THRESHOLD
from rollout.models import ActivityEntry, DataSource, Threshold, Workflow
from rollout.services.thresholds import (
    MSG_ADDED_AFTER_LAUNCH,
    MSG_RATE_LIMIT_RANGE,
    MSG_SOURCE_ONLY_FOR_INPUTS,
)
from tests.factories import make_workflow
from tests.rollout.api.manage.area_fixtures import BASE, Parts, make_parts, send, token_headers
from tests.rollout.promotion_fixtures import make_plan

URL = BASE.format(slug="support-reply-drafting") + "/thresholds"
NEW = {
    "metric": "override_rate",
    "limit": 0.2,
    "marginal_limit": 0.25,
    "min_sample": 50,
    "bad_output": "An agent rewrites the draft.",
    "action": "block_promotion",
}


@pytest.fixture
def parts(workflow: Workflow, ops_leader: User, workflow_owner: User) -> Parts:
    return make_parts(workflow, ops_leader, workflow_owner)


@pytest.fixture
def owner(parts: Parts, workflow_owner: User) -> dict[str, str]:
    return token_headers(workflow_owner)


def test_list(owner: dict[str, str], parts: Parts) -> None:
    response = send("GET", URL, owner)
    assert response.status_code == 200
    assert response.json() == [
        {
            "id": parts.threshold.pk,
            "metric": "error_rate",
            "comparator": "lte",
            "limit": 0.05,
            "marginal_limit": None,
            "window_days": 7,
            "min_sample": 100,
            "scope": "workflow",
            "source": None,
            "outcome_metric": None,
            "bad_output": "A reply promising a refund we do not give.",
            "action": "alert",
            "added_after_launch": False,
            "sentence": "Error rate at most 5% over 7 days, min 100 cases, whole workflow → "
            "alert the owner",
        }
    ]


def test_create_with_defaults_and_its_log(owner: dict[str, str], workflow_owner: User) -> None:
    response = send("POST", URL, owner, NEW, **{"Idempotency-Key": "override"})
    assert response.status_code == 201
    body = response.json()
    assert (body["comparator"], body["window_days"], body["scope"]) == ("lte", 7, "workflow")
    assert body["sentence"] == (
        "Override rate at most 20% (marginal to 25%) over 7 days, min 50 cases, whole workflow "
        "→ block promotion"
    )
    entry = ActivityEntry.objects.latest("pk")
    assert (entry.verb, entry.actor, entry.note) == (
        "added threshold",
        workflow_owner,
        "via token CI bot",
    )
    again = send("POST", URL, owner, NEW, **{"Idempotency-Key": "override"})
    assert again[REPLAYED_HEADER] == "true"
    assert Threshold.objects.filter(metric="override_rate").count() == 1


def test_after_launch_it_is_marked(owner: dict[str, str], parts: Parts) -> None:
    make_plan(parts.workflow, current="limited")
    response = send("POST", URL, owner, NEW)
    assert response.json()["added_after_launch"] is True
    assert ActivityEntry.objects.latest("pk").note == f"{MSG_ADDED_AFTER_LAUNCH} (via token CI bot)"


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"limit": 20}, "limit", MSG_RATE_LIMIT_RANGE),
        ({"metric": "error_rate", "source": 10**9}, "source", MSG_UNKNOWN_SOURCE),
        ({"window_days": 91}, "window_days", "Input should be less than or equal to 90"),
        (
            {"action": "panic"},
            "action",
            "Input should be 'alert', 'block_promotion' or 'pause_rollout'",
        ),
        (
            {"bad_output": None},
            "bad_output",
            "This field cannot be null (in a change, leave it out to keep its value).",
        ),
    ],
)
def test_refused_by_field_and_nothing_written(
    owner: dict[str, str], change: dict, field: str, message: str
) -> None:
    entries = ActivityEntry.objects.count()
    response = send("POST", URL, owner, NEW | change)
    assert response.status_code == 400
    assert response.json()["errors"] == [{"field": field, "message": message}]
    assert Threshold.objects.count() == 1
    assert ActivityEntry.objects.count() == entries


def test_a_source_is_this_workflows_only(
    owner: dict[str, str], parts: Parts, ops_leader: User, workflow_owner: User
) -> None:
    other = make_workflow(owner=workflow_owner, actor=ops_leader, slug="invoice-triage")
    theirs = DataSource.objects.create(workflow=other, name="Ledger", kind="live")
    body = NEW | {"metric": "input_rejection_rate", "source": theirs.pk}
    response = send("POST", URL, owner, body)
    assert response.json()["errors"] == [{"field": "source", "message": MSG_UNKNOWN_SOURCE}]
    mine = send("POST", URL, owner, body | {"source": parts.source.pk, "marginal_limit": None})
    assert mine.status_code == 201
    assert mine.json()["source"] == parts.source.pk
    wrong_metric = send("POST", URL, owner, NEW | {"source": parts.source.pk})
    assert wrong_metric.json()["errors"] == [
        {"field": "source", "message": MSG_SOURCE_ONLY_FOR_INPUTS}
    ]


def test_update_changes_what_is_sent(owner: dict[str, str], parts: Parts) -> None:
    url = f"{URL}/{parts.threshold.pk}"
    response = send("PATCH", url, owner, {"limit": 0.03, "marginal_limit": 0.04})
    assert response.status_code == 200
    assert (response.json()["limit"], response.json()["marginal_limit"]) == (0.03, 0.04)
    assert response.json()["bad_output"] == "A reply promising a refund we do not give."
    entry = ActivityEntry.objects.latest("pk")
    assert entry.verb == "changed threshold"
    assert entry.changes["limit"] == ["5%", "3%"]
    cleared = send("PATCH", url, owner, {"marginal_limit": None})
    assert cleared.json()["marginal_limit"] is None
    refused = send("PATCH", url, owner, {"limit": 1.5})
    assert refused.json()["errors"] == [{"field": "limit", "message": MSG_RATE_LIMIT_RANGE}]
    parts.threshold.refresh_from_db()
    assert parts.threshold.limit == 0.03


def test_delete(owner: dict[str, str], parts: Parts) -> None:
    url = f"{URL}/{parts.threshold.pk}"
    assert send("DELETE", url, owner).status_code == 204
    assert not Threshold.objects.exists()
    assert ActivityEntry.objects.latest("pk").verb == "deleted threshold"
    gone = send("DELETE", url, owner)
    assert (gone.status_code, gone.json()) == (404, {"detail": MSG_UNKNOWN_THRESHOLD})
