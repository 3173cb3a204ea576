"""Fixtures of the management API's area tests (data sources, cohorts, thresholds, escalation
levels, notices): a personal token of anyone, and one of each part of the example workflow. Plain
functions, called by the tests with the root fixtures (workflow, ops_leader, workflow_owner)."""

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.http import HttpResponse
from django.test import Client
from django.utils import timezone

from accounts.models import User
from rollout.models import (
    ChangeNotice,
    Cohort,
    DataSource,
    EscalationLevel,
    Threshold,
    Workflow,
)
from rollout.services.cohorts import cohort_create, cohort_enrol, cohort_members_add
from rollout.services.data_sources import data_source_create
from rollout.services.escalation_path import escalation_level_add
from rollout.services.notices import notice_create
from rollout.services.personal_tokens import personal_token_create
from rollout.services.thresholds import threshold_create
from tests.factories import UserFactory, make_workflow

BASE = "/api/v1/workflows/{slug}"


def token_headers(user: User, *, scope: str = "write", name: str = "CI bot") -> dict[str, str]:
    """The Authorization header of a new personal token of `user`."""
    _, plaintext = personal_token_create(
        user=user,
        actor=user,
        name=name,
        scope=scope,
        expires_on=timezone.localdate() + timedelta(days=30),
    )
    return {"Authorization": f"Bearer {plaintext}"}


@dataclass
class Parts:
    """One of each part of the example workflow, made through the services."""

    workflow: Workflow
    source: DataSource
    cohort: Cohort
    threshold: Threshold
    level: EscalationLevel
    second_level: EscalationLevel
    notice: ChangeNotice
    member: User


def make_parts(workflow: Workflow, ops_leader: User, owner: User) -> Parts:
    source = data_source_create(
        workflow=workflow, actor=ops_leader, name="Ticket export", kind="static_export"
    )
    cohort = cohort_create(workflow=workflow, name="Tier 1", actor=ops_leader)
    member = UserFactory(email="mia.member@example.com", display_name="Mia Member")
    cohort_members_add(cohort=cohort, users=[member], actor=ops_leader)
    cohort_enrol(cohort=cohort, phase="broad", percentage=100, actor=ops_leader)
    threshold = threshold_create(
        workflow=workflow,
        actor=ops_leader,
        metric="error_rate",
        comparator="lte",
        limit=0.05,
        marginal_limit=None,
        window_days=7,
        min_sample=100,
        scope="workflow",
        bad_output="A reply promising a refund we do not give.",
        action="alert",
    )
    level = escalation_level_add(
        workflow=workflow,
        actor=ops_leader,
        contact=owner,
        channel="email",
        response_target_minutes=30,
    )
    second_level = escalation_level_add(
        workflow=workflow,
        actor=ops_leader,
        contact=ops_leader,
        channel="in_app",
        response_target_minutes=120,
    )
    now = timezone.now()
    notice = notice_create(
        workflow=workflow,
        actor=owner,
        cohorts=[cohort],
        kind="other",
        title="Replies get a new signature",
        body="From next month every draft ends with the team's signature.",
        publish_at=now + timedelta(days=1),
        effective_at=now + timedelta(days=30),
    )
    return Parts(workflow, source, cohort, threshold, level, second_level, notice, member)


def make_other_owner() -> User:
    """The owner of another workflow, and nothing of the example one."""
    owner = UserFactory(email="otto.other@example.com", display_name="Otto Other")
    make_workflow(owner=owner, name="Invoice triage", slug="invoice-triage")
    return owner


def send(
    method: str, url: str, headers: dict[str, str], body: object = None, **more: str
) -> HttpResponse:
    """One request as a script sends it: no cookies, JSON body, the token's headers."""
    return Client().generic(
        method,
        url,
        data="" if body is None else json.dumps(body),
        content_type="application/json",
        headers={**headers, **more},
    )


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # after /api/v1/workflows/{slug}, as the OpenAPI document writes it
    body: dict[str, Any] | None
    ok: int

    @property
    def writes(self) -> bool:
        return self.method != "GET"

    def url(self, parts: Parts) -> str:
        return (BASE + self.path).format(
            slug=parts.workflow.slug,
            source_id=parts.source.pk,
            cohort_id=parts.cohort.pk,
            threshold_id=parts.threshold.pk,
            level_id=parts.level.pk,
            notice_id=parts.notice.pk,
        )

    def call(self, client: Client, parts: Parts, headers: dict[str, str]) -> HttpResponse:
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
# Every operation on a workflow's parts, with a body that succeeds for someone allowed.
AREA_OPERATIONS = {
    "manage_data_sources_list": Operation("GET", "/data-sources", None, 200),
    "manage_data_sources_create": Operation(
        "POST", "/data-sources", {"name": "CRM", "kind": "live"}, 201
    ),
    "manage_data_sources_update": Operation(
        "PATCH", "/data-sources/{source_id}", {"version": "v2"}, 200
    ),
    "manage_data_sources_delete": Operation("DELETE", "/data-sources/{source_id}", None, 204),
    "manage_cohorts_list": Operation("GET", "/cohorts", None, 200),
    "manage_cohorts_create": Operation("POST", "/cohorts", {"name": "Tier 2"}, 201),
    "manage_cohorts_update": Operation(
        "PATCH", "/cohorts/{cohort_id}", {"description": "EMEA"}, 200
    ),
    "manage_cohorts_delete": Operation("DELETE", "/cohorts/{cohort_id}", None, 204),
    "manage_cohorts_enrol": Operation(
        "PUT", "/cohorts/{cohort_id}/enrolment", {"phase": "limited", "percentage": 50}, 200
    ),
    "manage_cohorts_unenrol": Operation("DELETE", "/cohorts/{cohort_id}/enrolment", None, 200),
    "manage_cohort_members_list": Operation("GET", "/cohorts/{cohort_id}/members", None, 200),
    "manage_cohort_members_add": Operation(
        "POST", "/cohorts/{cohort_id}/members", {"emails": ["exec@example.com"]}, 200
    ),
    "manage_cohort_members_remove": Operation(
        "POST", "/cohorts/{cohort_id}/members/remove", {"emails": ["mia.member@example.com"]}, 200
    ),
    "manage_thresholds_list": Operation("GET", "/thresholds", None, 200),
    "manage_thresholds_create": Operation("POST", "/thresholds", THRESHOLD, 201),
    "manage_thresholds_update": Operation(
        "PATCH", "/thresholds/{threshold_id}", {"limit": 0.04}, 200
    ),
    "manage_thresholds_delete": Operation("DELETE", "/thresholds/{threshold_id}", None, 204),
    "manage_escalation_levels_list": Operation("GET", "/escalation-levels", None, 200),
    "manage_escalation_levels_create": Operation(
        "POST",
        "/escalation-levels",
        {"contact": "exec@example.com", "channel": "email", "response_target_minutes": 60},
        201,
    ),
    "manage_escalation_levels_update": Operation(
        "PATCH", "/escalation-levels/{level_id}", {"response_target_minutes": 45}, 200
    ),
    "manage_escalation_levels_move": Operation(
        "POST", "/escalation-levels/{level_id}/move", {"direction": "down"}, 200
    ),
    "manage_escalation_levels_delete": Operation(
        "DELETE", "/escalation-levels/{level_id}", None, 204
    ),
    "manage_notices_list": Operation("GET", "/notices", None, 200),
    "manage_notices_create": Operation(
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
    "manage_notices_update": Operation(
        "PATCH", "/notices/{notice_id}", {"title": "New signature"}, 200
    ),
    "manage_notices_schedule": Operation("POST", "/notices/{notice_id}/schedule", None, 200),
}
