"""The escalation gate condition: no open critical escalation before broad and steady."""

import pytest

from rollout.gates import gate_for, registered_conditions
from rollout.gates.escalations import MSG_NONE
from rollout.models import Phase, Verdict, Workflow
from rollout.services.escalations import (
    escalation_acknowledge,
    escalation_open,
    escalation_resolve,
)
from tests.rollout.promotion_fixtures import make_plan

pytestmark = pytest.mark.django_db

KEY = "no_open_critical_escalation"


def check(workflow: Workflow, from_kind: str = "limited", to_kind: str = "broad"):
    phases = {p.kind: p for p in Phase.objects.filter(workflow=workflow)}
    gate = gate_for(from_phase=phases[from_kind], to_phase=phases[to_kind])
    return next(c for c in gate.checks if c.key == KEY)


def open_one(workflow: Workflow, severity: str = "critical", title: str = "Unsafe replies"):
    return escalation_open(workflow=workflow, title=title, source="manual", severity=severity)


def test_registered_for_broad_and_steady_only():
    for kind in ("broad", "steady"):
        assert (KEY, "No open critical escalation") in registered_conditions(kind)
    for kind in ("shadow", "limited"):
        assert KEY not in dict(registered_conditions(kind))


def test_passes_without_one_and_ignores_lower_severities(workflow):
    make_plan(workflow, current="limited")
    open_one(workflow, severity="high")
    result = check(workflow)
    assert (result.status, result.reason, result.inputs) == (Verdict.PASS, MSG_NONE, "")


def test_an_open_or_acknowledged_critical_escalation_fails_until_resolved(workflow, ops_leader):
    make_plan(workflow, current="limited")
    first = open_one(workflow)
    second = open_one(workflow, title="Leaks emails")
    escalation_acknowledge(escalation=second, actor=ops_leader)

    result = check(workflow)
    assert result.status == Verdict.FAIL
    assert result.reason == (
        "2 critical escalations open: “Unsafe replies” (open), “Leaks emails” (acknowledged). "
        "Resolve them first."
    )
    assert result.inputs == f"{first.pk}|open; {second.pk}|acknowledged"

    escalation_resolve(escalation=first, actor=ops_leader, note="Prompt fixed.")
    result = check(workflow)
    assert (
        result.reason
        == "1 critical escalation open: “Leaks emails” (acknowledged). Resolve it first."
    )
    escalation_resolve(escalation=second, actor=ops_leader, note="Filter added.")
    assert check(workflow).status == Verdict.PASS


def test_blocks_steady_too(workflow):
    make_plan(workflow, current="broad")
    open_one(workflow)
    assert check(workflow, "broad", "steady").status == Verdict.FAIL
