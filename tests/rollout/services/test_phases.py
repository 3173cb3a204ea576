from datetime import date

import pytest

from core.errors import ApplicationError
from rollout.models import ActivityEntry, Phase, PhaseStatus
from rollout.services.phases import (
    MSG_END_BEFORE_START,
    MSG_END_REQUIRED,
    MSG_OVERLAPS_NEXT,
    MSG_OVERLAPS_PREVIOUS,
    MSG_PHASE_COMPLETED,
    MSG_PLAN_EXISTS,
    add_months,
    phase_update,
    plan_create_default,
)
from tests.factories import make_workflow

START = date(2027, 1, 4)


@pytest.fixture
def plan(workflow, ops_leader) -> list[Phase]:
    plan_create_default(workflow=workflow, start_date=START, actor=ops_leader)
    return list(Phase.objects.filter(workflow=workflow).order_by("position"))


def _edit(phase: Phase, actor, **overrides):
    values = {
        "planned_start": phase.planned_start,
        "planned_end": phase.planned_end,
        "exit_criteria": phase.exit_criteria,
        "min_duration_days": phase.min_duration_days,
    }
    values.update(overrides)
    return phase_update(phase=phase, actor=actor, **values)


def test_default_plan_dates_are_exact(plan, workflow):
    assert [(p.kind, p.planned_start, p.planned_end) for p in plan] == [
        ("audit", date(2027, 1, 4), date(2027, 1, 31)),
        ("shadow", date(2027, 2, 1), date(2027, 2, 28)),
        ("limited", date(2027, 3, 1), date(2027, 3, 28)),
        ("broad", date(2027, 3, 29), date(2027, 7, 3)),
        ("steady", date(2027, 7, 4), None),
    ]
    assert [p.min_duration_days for p in plan] == [14, 14, 14, 30, 0]
    assert all(p.exit_criteria for p in plan)
    workflow.refresh_from_db()
    assert workflow.plan_start_date == START


def test_only_the_audit_is_active_at_once(plan):
    assert [p.status for p in plan] == ["active", "planned", "planned", "planned", "planned"]
    assert plan[0].actual_start is not None
    assert all(p.actual_start is None for p in plan[1:])


def test_plan_creation_is_logged(plan, workflow, ops_leader):
    entry = ActivityEntry.objects.filter(workflow=workflow).first()
    assert (entry.verb, entry.target, entry.actor) == ("created", "roll-out plan", ops_leader)
    assert entry.changes["plan start date"] == ["—", "4 Jan 2027"]


def test_a_second_plan_is_refused(plan, workflow, ops_leader):
    with pytest.raises(ApplicationError) as exc:
        plan_create_default(workflow=workflow, start_date=START, actor=ops_leader)
    assert exc.value.message == MSG_PLAN_EXISTS.format(workflow=workflow.name)
    assert Phase.objects.filter(workflow=workflow).count() == 5


def test_workflow_create_with_a_start_date_makes_the_plan(ops_leader):
    workflow = make_workflow(actor=ops_leader, plan_start_date=START)
    assert Phase.objects.filter(workflow=workflow).count() == 5


def test_add_months_clamps_to_the_month_end():
    assert add_months(date(2027, 8, 31), 6) == date(2028, 2, 29)
    assert add_months(date(2027, 1, 31), 1) == date(2027, 2, 28)


def test_edit_records_before_and_after(plan, workflow_owner):
    shadow = plan[1]
    _edit(shadow, workflow_owner, planned_end=date(2027, 2, 20), min_duration_days=10)
    shadow.refresh_from_db()
    assert shadow.planned_end == date(2027, 2, 20)
    entry = ActivityEntry.objects.first()
    assert (entry.verb, entry.target) == ("edited", "phase Shadow mode")
    assert entry.changes == {
        "planned end": ["28 Feb 2027", "20 Feb 2027"],
        "minimum duration (days)": ["14", "10"],
    }


def test_end_before_start_is_refused(plan, workflow_owner):
    entries = ActivityEntry.objects.count()
    with pytest.raises(ApplicationError) as exc:
        _edit(
            plan[1], workflow_owner, planned_end=date(2027, 1, 31), planned_start=date(2027, 2, 5)
        )
    assert exc.value.message == MSG_END_BEFORE_START.format(
        phase="Shadow mode", start="5 Feb 2027", end="31 Jan 2027"
    )
    assert exc.value.field == "planned_end"
    assert ActivityEntry.objects.count() == entries


def test_overlapping_the_previous_phase_is_refused(plan, workflow_owner):
    with pytest.raises(ApplicationError) as exc:
        _edit(plan[1], workflow_owner, planned_start=date(2027, 1, 31))
    assert exc.value.message == MSG_OVERLAPS_PREVIOUS.format(
        phase="Shadow mode",
        start="31 Jan 2027",
        previous="Data audit",
        previous_end="31 Jan 2027",
    )
    plan[1].refresh_from_db()
    assert plan[1].planned_start == date(2027, 2, 1)


def test_overlapping_the_next_phase_is_refused(plan, workflow_owner):
    with pytest.raises(ApplicationError) as exc:
        _edit(plan[1], workflow_owner, planned_end=date(2027, 3, 1))
    assert exc.value.message == MSG_OVERLAPS_NEXT.format(
        phase="Shadow mode", end="1 Mar 2027", next="Limited roll-out", next_start="1 Mar 2027"
    )


def test_only_steady_may_be_open_ended(plan, workflow_owner):
    with pytest.raises(ApplicationError) as exc:
        _edit(plan[3], workflow_owner, planned_end=None)
    assert exc.value.message == MSG_END_REQUIRED.format(phase="Broad roll-out")
    _edit(plan[4], workflow_owner, planned_end=date(2028, 1, 1))
    _edit(plan[4], workflow_owner, planned_end=None)


def test_completed_phase_is_history(plan, workflow_owner):
    Phase.objects.filter(pk=plan[0].pk).update(status=PhaseStatus.COMPLETED)
    with pytest.raises(ApplicationError) as exc:
        _edit(plan[0], workflow_owner, exit_criteria="Rewritten")
    assert exc.value.message == MSG_PHASE_COMPLETED.format(phase="Data audit")


def test_unchanged_edit_logs_nothing(plan, workflow_owner):
    entries = ActivityEntry.objects.count()
    _edit(plan[2], workflow_owner)
    assert ActivityEntry.objects.count() == entries
