"""Fixtures of the management API's area tests (data sources, cohorts, thresholds, escalation
levels, notices): a personal token of anyone, and one of each part of the example workflow. Plain
functions, called by the tests with the root fixtures (workflow, ops_leader, workflow_owner)."""

import json
from dataclasses import dataclass
from datetime import timedelta

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
from rollout.services.cohorts import cohort_create, cohort_members_add
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
