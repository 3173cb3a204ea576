"""Who may use each operation on a workflow's parts (data sources, cohorts, thresholds, escalation
levels, notices) with a personal token: the pages' rules, answered as the API answers them.

Reads: anyone who may see the workflow (ops leaders, executives, its owner); a cohort member (who
only uses it) and the owner of another workflow get 404. Writes: the owner and ops leaders; an
executive gets 403 (they see it); a read token gets 403; no token 401. A refused request changes
nothing (the activity log is the witness: every write logs).
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from accounts.models import User
from rollout.api.manage.answers import MSG_MAY_NOT_CHANGE, MSG_UNKNOWN_WORKFLOW
from rollout.api.manage.common import MSG_READ_SCOPE
from rollout.models import ActivityEntry, Workflow
from rollout.services.escalation_path import escalation_level_add
from tests.factories import UserFactory
from tests.rollout.api.manage.area_fixtures import (
    BASE,
    Parts,
    make_other_owner,
    make_parts,
    token_headers,
)


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # formatted with the Parts' ids
    body: dict[str, Any] | None
    ok: int

    @property
    def writes(self) -> bool:
        return self.method != "GET"

    def url(self, parts: Parts) -> str:
        return (BASE + self.path).format(
            slug=parts.workflow.slug,
            source=parts.source.pk,
            cohort=parts.cohort.pk,
            threshold=parts.threshold.pk,
            level=parts.level.pk,
            notice=parts.notice.pk,
        )

    def call(self, client: Client, parts: Parts, headers: dict[str, str]) -> Any:
        return client.generic(
            self.method,
            self.url(parts),
            data="" if self.body is None else json.dumps(self.body),
            content_type="application/json",
            headers=headers,
        )


THRESHOLD = {
    "metric": "override_rate",
    "comparator": "lte",
    "limit": 0.2,
    "bad_output": "An agent rewrites the draft.",
    "action": "block_promotion",
}
OPERATIONS = {
    "data_source_list": Operation("GET", "/data-sources", None, 200),
    "data_source_create": Operation("POST", "/data-sources", {"name": "CRM", "kind": "live"}, 201),
    "data_source_update": Operation("PATCH", "/data-sources/{source}", {"version": "v2"}, 200),
    "data_source_delete": Operation("DELETE", "/data-sources/{source}", None, 204),
    "cohort_list": Operation("GET", "/cohorts", None, 200),
    "cohort_create": Operation("POST", "/cohorts", {"name": "Tier 2"}, 201),
    "cohort_update": Operation("PATCH", "/cohorts/{cohort}", {"description": "EMEA"}, 200),
    "cohort_delete": Operation("DELETE", "/cohorts/{cohort}", None, 204),
    "cohort_member_list": Operation("GET", "/cohorts/{cohort}/members", None, 200),
    "cohort_members_add": Operation(
        "POST", "/cohorts/{cohort}/members", {"emails": ["exec@example.com"]}, 200
    ),
    "cohort_members_remove": Operation(
        "POST", "/cohorts/{cohort}/members/remove", {"emails": ["mia.member@example.com"]}, 200
    ),
    "threshold_list": Operation("GET", "/thresholds", None, 200),
    "threshold_create": Operation("POST", "/thresholds", THRESHOLD, 201),
    "threshold_update": Operation("PATCH", "/thresholds/{threshold}", {"limit": 0.04}, 200),
    "threshold_delete": Operation("DELETE", "/thresholds/{threshold}", None, 204),
    "escalation_level_list": Operation("GET", "/escalation-levels", None, 200),
    "escalation_level_create": Operation(
        "POST",
        "/escalation-levels",
        {"contact": "exec@example.com", "channel": "email", "response_target_minutes": 60},
        201,
    ),
    "escalation_level_update": Operation(
        "PATCH", "/escalation-levels/{level}", {"response_target_minutes": 45}, 200
    ),
    "escalation_level_move": Operation(
        "POST", "/escalation-levels/{level}/move", {"direction": "down"}, 200
    ),
    "escalation_level_delete": Operation("DELETE", "/escalation-levels/{level}", None, 204),
    "notice_list": Operation("GET", "/notices", None, 200),
    "notice_create": Operation(
        "POST",
        "/notices",
        {
            "kind": "other",
            "title": "Shorter drafts",
            "body": "Drafts get shorter.",
            "audience": "everyone",
            "publish_at": "2099-01-04T09:00:00+00:00",
            "effective_at": "2099-02-04T09:00:00+00:00",
        },
        201,
    ),
    "notice_update": Operation("PATCH", "/notices/{notice}", {"title": "New signature"}, 200),
    "notice_schedule": Operation("POST", "/notices/{notice}/schedule", None, 200),
}

# Role → the user holding the token, made from the fixtures.
ROLES: dict[str, Callable[[dict[str, User]], User]] = {
    "ops": lambda people: people["ops"],
    "owner": lambda people: people["owner"],
    "executive": lambda people: people["executive"],
    "member": lambda people: people["member"],
    "other_owner": lambda people: people["other_owner"],
}
# What each role gets: reads, writes.
EXPECTED = {
    "ops": ("ok", "ok"),
    "owner": ("ok", "ok"),
    "executive": ("ok", 403),
    "member": (404, 404),
    "other_owner": (404, 404),
}


@pytest.fixture
def people(
    workflow: Workflow, ops_leader: User, workflow_owner: User, executive: User
) -> dict[str, Any]:
    parts = make_parts(workflow, ops_leader, workflow_owner)
    return {
        "parts": parts,
        "ops": ops_leader,
        "owner": workflow_owner,
        "executive": executive,
        "member": parts.member,
        "other_owner": make_other_owner(),
    }


@pytest.mark.parametrize("role", list(ROLES))
@pytest.mark.parametrize("operation_id", list(OPERATIONS))
def test_roles(operation_id: str, role: str, people: dict[str, Any]) -> None:
    operation = OPERATIONS[operation_id]
    parts = people["parts"]
    headers = token_headers(ROLES[role](people))
    entries = ActivityEntry.objects.count()
    response = operation.call(Client(), parts, headers)
    expected = EXPECTED[role][1 if operation.writes else 0]
    if expected == "ok":
        assert response.status_code == operation.ok, response.content
        if operation.writes:
            entry = ActivityEntry.objects.latest("pk")
            assert entry.workflow_id == parts.workflow.pk
            assert entry.actor == ROLES[role](people)
            assert entry.note.endswith("via token CI bot")
        return
    assert response.status_code == expected
    message = MSG_MAY_NOT_CHANGE if expected == 403 else MSG_UNKNOWN_WORKFLOW
    assert response.json() == {"detail": message}
    assert ActivityEntry.objects.count() == entries


@pytest.mark.parametrize(
    "operation_id", [name for name, operation in OPERATIONS.items() if operation.writes]
)
def test_a_read_token_never_writes(
    operation_id: str, workflow: Workflow, ops_leader: User, workflow_owner: User
) -> None:
    parts = make_parts(workflow, ops_leader, workflow_owner)
    headers = token_headers(workflow_owner, scope="read")
    entries = ActivityEntry.objects.count()
    response = OPERATIONS[operation_id].call(Client(), parts, headers)
    assert response.status_code == 403
    assert response.json() == {"detail": MSG_READ_SCOPE}
    assert ActivityEntry.objects.count() == entries


@pytest.mark.parametrize("operation_id", list(OPERATIONS))
def test_no_token_is_401(
    operation_id: str, workflow: Workflow, ops_leader: User, workflow_owner: User
) -> None:
    parts = make_parts(workflow, ops_leader, workflow_owner)
    response = OPERATIONS[operation_id].call(Client(), parts, {})
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_signed_in_session_is_not_a_token(
    client: Client, workflow: Workflow, ops_leader: User, workflow_owner: User
) -> None:
    """Bearer only: the browser's session cookie opens nothing (no CSRF surface)."""
    parts = make_parts(workflow, ops_leader, workflow_owner)
    client.force_login(ops_leader)
    entries = ActivityEntry.objects.count()
    response = OPERATIONS["cohort_create"].call(client, parts, {})
    assert response.status_code == 401
    assert ActivityEntry.objects.count() == entries


def test_an_unknown_slug_is_404_like_a_hidden_one(
    workflow: Workflow, ops_leader: User, workflow_owner: User
) -> None:
    make_parts(workflow, ops_leader, workflow_owner)
    response = Client().get(
        "/api/v1/workflows/no-such-workflow/cohorts", headers=token_headers(ops_leader)
    )
    assert response.status_code == 404
    assert response.json() == {"detail": MSG_UNKNOWN_WORKFLOW}


def test_an_escalation_contact_reads_but_does_not_write(
    workflow: Workflow, ops_leader: User, workflow_owner: User
) -> None:
    """A contact sees the workflow (as on its pages) without owning it."""
    parts = make_parts(workflow, ops_leader, workflow_owner)
    contact = UserFactory(email="carl.contact@example.com")
    escalation_level_add(
        workflow=workflow,
        actor=ops_leader,
        contact=contact,
        channel="email",
        response_target_minutes=15,
    )
    headers = token_headers(contact)
    assert OPERATIONS["escalation_level_list"].call(Client(), parts, headers).status_code == 200
    refused = OPERATIONS["threshold_create"].call(Client(), parts, headers)
    assert refused.status_code == 403
