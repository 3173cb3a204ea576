"""Who may use each operation on a workflow's parts (data sources, cohorts, thresholds, escalation
levels, notices) with a personal token: the pages' rules, answered as the API answers them.

Reads: anyone who may see the workflow (ops leaders, executives, its owner); a cohort member (who
only uses it) and the owner of another workflow get 404. Writes: the owner and ops leaders; an
executive gets 403 (they see it); a read token gets 403; no token 401. A refused request changes
nothing (the activity log is the witness: every write logs).
"""

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from django.test import Client

from accounts.models import User
from rollout.api.manage.common import (
    MSG_KEY_OTHER_BODY,
    MSG_NO_WORKFLOW,
    MSG_NOT_CHANGER,
    MSG_READ_SCOPE,
    REPLAYED_HEADER,
)
from rollout.models import ActivityEntry, Workflow
from rollout.services.cohorts import cohort_create, cohort_members_add
from rollout.services.data_sources import data_source_create
from rollout.services.escalation_path import escalation_level_add
from rollout.services.notices import notice_create
from rollout.services.thresholds import threshold_create
from tests.factories import UserFactory
from tests.rollout.api.manage.area_fixtures import (
    AREA_OPERATIONS,
    THRESHOLD,
    Parts,
    make_other_owner,
    make_parts,
    token_headers,
)

# Role → the user holding the token, made from the fixtures.
ROLES: dict[str, Callable[[dict[str, User]], User]] = {
    "ops": lambda people: people["ops"],
    "owner": lambda people: people["owner"],
    "executive": lambda people: people["executive"],
    "member": lambda people: people["member"],
    "other_owner": lambda people: people["other_owner"],
}
# Authentication (the token, its person, their roles) and the workflow's permissions come first.
MAX_LIST_QUERIES = 9
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


READS = [name for name, operation in AREA_OPERATIONS.items() if not operation.writes]
WRITES = [name for name, operation in AREA_OPERATIONS.items() if operation.writes]


def _check(operation_id: str, role: str, scope: str, people: dict[str, Any]) -> None:
    operation = AREA_OPERATIONS[operation_id]
    parts = people["parts"]
    user = ROLES[role](people)
    headers = token_headers(user, scope=scope)
    entries = ActivityEntry.objects.count()
    response = operation.call(Client(), parts, headers)
    expected = EXPECTED[role][1 if operation.writes else 0]
    if expected == "ok":
        assert response.status_code == operation.ok, response.content
        if operation.writes:
            entry = ActivityEntry.objects.latest("pk")
            assert (entry.workflow_id, entry.actor) == (parts.workflow.pk, user)
            assert entry.note.endswith("via token CI bot")
        else:
            assert ActivityEntry.objects.count() == entries
        return
    assert response.status_code == expected
    message = MSG_NOT_CHANGER if expected == 403 else MSG_NO_WORKFLOW
    assert response.json() == {"detail": message}
    assert ActivityEntry.objects.count() == entries


@pytest.mark.parametrize("role", list(ROLES))
@pytest.mark.parametrize("operation_id", list(AREA_OPERATIONS))
def test_write_token(operation_id: str, role: str, people: dict[str, Any]) -> None:
    _check(operation_id, role, "write", people)


@pytest.mark.parametrize("role", list(ROLES))
@pytest.mark.parametrize("operation_id", READS)
def test_read_token_reads_what_its_person_may(
    operation_id: str, role: str, people: dict[str, Any]
) -> None:
    _check(operation_id, role, "read", people)


@pytest.mark.parametrize("role", ["ops", "owner"])
@pytest.mark.parametrize("operation_id", WRITES)
def test_a_read_token_never_writes(operation_id: str, role: str, people: dict[str, Any]) -> None:
    """Not even for the people whose write token may: the scope is checked first."""
    parts = people["parts"]
    headers = token_headers(ROLES[role](people), scope="read")
    entries = ActivityEntry.objects.count()
    response = AREA_OPERATIONS[operation_id].call(Client(), parts, headers)
    assert response.status_code == 403
    assert response.json() == {"detail": MSG_READ_SCOPE}
    assert ActivityEntry.objects.count() == entries


@pytest.mark.parametrize("operation_id", list(AREA_OPERATIONS))
def test_no_token_is_401(
    operation_id: str, workflow: Workflow, ops_leader: User, workflow_owner: User
) -> None:
    parts = make_parts(workflow, ops_leader, workflow_owner)
    response = AREA_OPERATIONS[operation_id].call(Client(), parts, {})
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_signed_in_session_is_not_a_token(
    client: Client, workflow: Workflow, ops_leader: User, workflow_owner: User
) -> None:
    """Bearer only: the browser's session cookie opens nothing (no CSRF surface)."""
    parts = make_parts(workflow, ops_leader, workflow_owner)
    client.force_login(ops_leader)
    entries = ActivityEntry.objects.count()
    response = AREA_OPERATIONS["manage_cohorts_create"].call(client, parts, {})
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
    assert response.json() == {"detail": MSG_NO_WORKFLOW}


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
    assert (
        AREA_OPERATIONS["manage_escalation_levels_list"].call(Client(), parts, headers).status_code
        == 200
    )
    refused = AREA_OPERATIONS["manage_thresholds_create"].call(Client(), parts, headers)
    assert refused.status_code == 403


def test_the_table_lists_every_area_operation_as_the_schema_does(client: Client) -> None:
    """tests/rollout/api/manage/test_permission_matrix.py counts on this table for these."""
    document = client.get("/api/v1/openapi.json").json()
    listed = {
        operation["operationId"]: (method.upper(), path)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if operation["operationId"] in AREA_OPERATIONS
    }
    assert listed == {
        name: (operation.method, "/api/v1/workflows/{slug}" + operation.path)
        for name, operation in AREA_OPERATIONS.items()
    }


def _grow(parts: Parts, ops_leader: User, workflow_owner: User) -> None:
    """Ten more of each part, so a query per row would show."""
    workflow = parts.workflow
    for n in range(10):
        data_source_create(workflow=workflow, actor=ops_leader, name=f"Source {n}", kind="live")
        cohort = cohort_create(workflow=workflow, name=f"Cohort {n}", actor=ops_leader)
        cohort_members_add(
            cohort=parts.cohort, users=[UserFactory(email=f"m{n}@example.com")], actor=ops_leader
        )
        notice_create(
            workflow=workflow,
            actor=workflow_owner,
            cohorts=[cohort, parts.cohort],
            kind="other",
            title=f"Notice {n}",
            body="Body.",
            publish_at=parts.notice.publish_at,
            effective_at=parts.notice.effective_at,
        )
        threshold_create(
            workflow=workflow,
            actor=ops_leader,
            metric="daily_cost",
            comparator="lte",
            limit=100 + n,
            marginal_limit=None,
            window_days=7,
            min_sample=1,
            scope="workflow",
            bad_output="Spend runs away.",
            action="alert",
        )
    for n in range(7):
        escalation_level_add(
            workflow=workflow,
            actor=ops_leader,
            contact=UserFactory(email=f"c{n}@example.com"),
            channel="email",
            response_target_minutes=10,
        )


@pytest.mark.parametrize("operation_id", READS)
def test_lists_take_a_bounded_number_of_queries(
    operation_id: str,
    workflow: Workflow,
    ops_leader: User,
    workflow_owner: User,
    django_assert_max_num_queries,
) -> None:
    parts = make_parts(workflow, ops_leader, workflow_owner)
    _grow(parts, ops_leader, workflow_owner)
    headers = token_headers(workflow_owner)
    with django_assert_max_num_queries(MAX_LIST_QUERIES):
        response = AREA_OPERATIONS[operation_id].call(Client(), parts, headers)
    assert response.status_code == 200
    assert len(response.content) > 200


# Another body for each create that takes an Idempotency-Key.
OTHER_BODIES = {
    "manage_data_sources_create": {"name": "ERP", "kind": "live"},
    "manage_cohorts_create": {"name": "Tier 3"},
    "manage_cohort_members_add": {"emails": ["ops@example.com"]},
    "manage_thresholds_create": THRESHOLD | {"limit": 0.1},
    "manage_escalation_levels_create": {
        "contact": "ops@example.com",
        "channel": "in_app",
        "response_target_minutes": 60,
    },
    "manage_notices_create": AREA_OPERATIONS["manage_notices_create"].body | {"title": "Other"},
}


@pytest.mark.parametrize("operation_id", list(OTHER_BODIES))
def test_creates_are_idempotent_with_a_key(operation_id: str, people: dict[str, Any]) -> None:
    operation = AREA_OPERATIONS[operation_id]
    parts = people["parts"]
    headers = token_headers(people["owner"]) | {"Idempotency-Key": f"{operation_id}-1"}
    first = operation.call(Client(), parts, headers)
    entries = ActivityEntry.objects.count()
    again = operation.call(Client(), parts, headers)
    assert (first.status_code, again.status_code) == (operation.ok, operation.ok)
    assert again.json() == first.json()
    assert again[REPLAYED_HEADER] == "true"
    assert ActivityEntry.objects.count() == entries  # nothing made twice
    other = replace(operation, body=OTHER_BODIES[operation_id]).call(Client(), parts, headers)
    assert (other.status_code, other.json()) == (422, {"detail": MSG_KEY_OTHER_BODY})
    assert ActivityEntry.objects.count() == entries
