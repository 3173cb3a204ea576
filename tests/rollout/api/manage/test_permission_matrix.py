"""The management API's permission matrix: every operation, for every kind of person, with a
write token and with a read token. A token acts with its person's permissions and never more.

A new management operation without an entry fails `test_every_operation_has_an_entry`, so none
ships without its access rules written down and checked (as tests/test_permission_matrix.py does
for pages).
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import User
from rollout.models import Webhook, Workflow
from rollout.services import cohorts as cohort_svc
from rollout.services.api_tokens import api_token_create
from rollout.services.phases import plan_create_default
from rollout.services.webhooks import webhook_create
from tests.factories import UserFactory, executive_user, make_workflow, ops_leader_user
from tests.rollout.api.manage.area_fixtures import AREA_OPERATIONS
from tests.rollout.api.manage.conftest import issue_personal_token

ROLES = ("ops_leader", "owner", "member", "executive", "unrelated")
TAG = "Management"


@dataclass(frozen=True)
class Op:
    method: str
    path: str  # as the OpenAPI document writes it
    expect: dict[str, int]  # role → status with a write token
    body: Callable[[], dict] = dict
    writes: bool = True


def by_role(**statuses: int) -> dict[str, int]:
    assert set(statuses) == set(ROLES)
    return statuses


def _new_workflow() -> dict:
    return {
        "name": "Matrix new",
        "slug": "matrix-new",
        "owner": "matrix-owner@example.com",
        "business_action": "Something",
    }


SLUG = "/api/v1/workflows/{slug}"
OPS = {
    "manage_workflows_list": Op(
        "get", "/api/v1/workflows", by_role(**dict.fromkeys(ROLES, 200)), writes=False
    ),
    "manage_workflows_create": Op(
        "post",
        "/api/v1/workflows",
        by_role(ops_leader=201, owner=403, member=403, executive=403, unrelated=403),
        _new_workflow,
    ),
    "manage_workflows_get": Op(
        "get",
        SLUG,
        by_role(ops_leader=200, owner=200, member=200, executive=200, unrelated=404),
        writes=False,
    ),
    "manage_workflows_update": Op(
        "patch",
        SLUG,
        by_role(ops_leader=200, owner=200, member=403, executive=403, unrelated=404),
        lambda: {"summary": "Changed by the matrix."},
    ),
    "manage_plan_get": Op(
        "get",
        SLUG + "/plan",
        by_role(ops_leader=200, owner=200, member=404, executive=200, unrelated=404),
        writes=False,
    ),
    "manage_plan_create": Op(
        "post",
        "/api/v1/workflows/{bare}/plan",
        by_role(ops_leader=201, owner=201, member=404, executive=403, unrelated=404),
        lambda: {"start_date": (timezone.localdate() + timedelta(days=7)).isoformat()},
    ),
    "manage_plan_update": Op(
        "patch",
        SLUG + "/plan",
        by_role(ops_leader=200, owner=200, member=404, executive=403, unrelated=404),
        lambda: {"lead_time_days": 12},
    ),
    "manage_phases_list": Op(
        "get",
        SLUG + "/phases",
        by_role(ops_leader=200, owner=200, member=404, executive=200, unrelated=404),
        writes=False,
    ),
    "manage_phases_update": Op(
        "patch",
        SLUG + "/phases/{kind}",
        by_role(ops_leader=200, owner=200, member=404, executive=403, unrelated=404),
        lambda: {"min_duration_days": 20},
    ),
    # Webhooks and chat channels: a workflow's (as its page: owner and ops leaders; an executive
    # sees the workflow but not its addresses, 403), the organisation's (ops leaders).
    "manage_webhooks_list": Op(
        "get",
        SLUG + "/webhooks",
        by_role(ops_leader=200, owner=200, member=404, executive=403, unrelated=404),
        writes=False,
    ),
    "manage_webhooks_create": Op(
        "post",
        SLUG + "/webhooks",
        by_role(ops_leader=201, owner=201, member=404, executive=403, unrelated=404),
        lambda: {"kind": "slack", "url": "https://hooks.slack.com/services/T0/B0/new"},
    ),
    "manage_webhooks_update": Op(
        "patch",
        SLUG + "/webhooks/{webhook_id}",
        by_role(ops_leader=200, owner=200, member=404, executive=403, unrelated=404),
        lambda: {"active": False},
    ),
    "manage_webhooks_rotate": Op(
        "post",
        SLUG + "/webhooks/{webhook_id}/rotate",
        by_role(ops_leader=200, owner=200, member=404, executive=403, unrelated=404),
    ),
    "manage_webhooks_delete": Op(
        "delete",
        SLUG + "/webhooks/{webhook_id}",
        by_role(ops_leader=204, owner=204, member=404, executive=403, unrelated=404),
    ),
    "manage_org_webhooks_list": Op(
        "get",
        "/api/v1/webhooks",
        by_role(ops_leader=200, owner=403, member=403, executive=403, unrelated=403),
        writes=False,
    ),
    "manage_org_webhooks_create": Op(
        "post",
        "/api/v1/webhooks",
        by_role(ops_leader=201, owner=403, member=403, executive=403, unrelated=403),
        lambda: {"url": "https://matrix.example/new"},
    ),
    "manage_org_webhooks_update": Op(
        "patch",
        "/api/v1/webhooks/{org_webhook_id}",
        by_role(ops_leader=200, owner=403, member=403, executive=403, unrelated=403),
        lambda: {"event_types": ["incident.opened"]},
    ),
    "manage_org_webhooks_rotate": Op(
        "post",
        "/api/v1/webhooks/{org_webhook_id}/rotate",
        by_role(ops_leader=200, owner=403, member=403, executive=403, unrelated=403),
        lambda: {"grace_hours": 0},
    ),
    "manage_org_webhooks_delete": Op(
        "delete",
        "/api/v1/webhooks/{org_webhook_id}",
        by_role(ops_leader=204, owner=403, member=403, executive=403, unrelated=403),
    ),
}


@pytest.fixture
def people(db) -> dict[str, User]:
    ops = ops_leader_user(email="matrix-ops@example.com")
    owner = UserFactory(email="matrix-owner@example.com")
    member = UserFactory(email="matrix-member@example.com")
    workflow = make_workflow(owner=owner, actor=ops, name="Matrix", slug="matrix")
    make_workflow(owner=owner, actor=ops, name="Matrix bare", slug="matrix-bare")
    plan_create_default(
        workflow=workflow, start_date=timezone.localdate() + timedelta(days=7), actor=ops
    )
    cohort = cohort_svc.cohort_create(workflow=workflow, name="Matrix", actor=ops)
    cohort_svc.cohort_members_add(cohort=cohort, users=[member], actor=ops)
    webhook_create(workflow=workflow, actor=ops, url="https://matrix.example/hook")
    webhook_create(workflow=None, actor=ops, url="https://matrix.example/org-hook")
    return {
        "ops_leader": ops,
        "owner": owner,
        "member": member,
        "executive": executive_user(email="matrix-exec@example.com"),
        "unrelated": UserFactory(email="matrix-nobody@example.com"),
    }


def _webhook_ids() -> dict[str, int]:
    ids = dict(Webhook.objects.values_list("url", "pk"))
    return {
        "webhook_id": ids.get("https://matrix.example/hook", 0),
        "org_webhook_id": ids.get("https://matrix.example/org-hook", 0),
    }


def _call(client: Client, op: Op, token: str) -> int:
    path = op.path.format(slug="matrix", bare="matrix-bare", kind="audit", **_webhook_ids())
    kwargs = {"headers": {"Authorization": f"Bearer {token}"}}
    if op.method != "get":
        kwargs.update(data=json.dumps(op.body()), content_type="application/json")
    return getattr(client, op.method)(path, **kwargs).status_code


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("operation_id", sorted(OPS))
def test_write_token(people: dict[str, User], operation_id: str, role: str) -> None:
    op = OPS[operation_id]
    token = issue_personal_token(people[role], scope="write").plaintext
    assert _call(Client(), op, token) == op.expect[role]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("operation_id", sorted(OPS))
def test_read_token(people: dict[str, User], operation_id: str, role: str) -> None:
    """A read token reads what its person may read, and every write is a 403 for everyone."""
    op = OPS[operation_id]
    token = issue_personal_token(people[role], scope="read").plaintext
    assert _call(Client(), op, token) == (403 if op.writes else op.expect[role])


def test_every_operation_has_an_entry(client: Client) -> None:
    document = client.get("/api/v1/openapi.json").json()
    operations = {
        operation["operationId"]: (method, path)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if TAG in operation.get("tags", ())
    }
    # A workflow's parts (data sources, cohorts, …) have their matrix in test_area_access.py.
    assert set(operations) == set(OPS) | set(AREA_OPERATIONS)
    for operation_id, (method, path) in operations.items():
        if operation_id in AREA_OPERATIONS:
            continue
        op = OPS[operation_id]
        documented = op.path.replace("{bare}", "{slug}").replace("{org_webhook_id}", "{webhook_id}")
        assert (op.method, documented) == (method, path)


def test_no_management_operation_takes_a_workflow_token(
    client: Client, workflow: Workflow, workflow_owner: User
) -> None:
    _, plaintext = api_token_create(workflow=workflow, actor=workflow_owner, name="Tool")
    for op in OPS.values():
        path = op.path.format(
            slug=workflow.slug, bare=workflow.slug, kind="audit", webhook_id=1, org_webhook_id=1
        )
        response = getattr(client, op.method)(
            path, headers={"Authorization": f"Bearer {plaintext}"}
        )
        assert response.status_code == 401
