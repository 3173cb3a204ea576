import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from accounts.models import User
from core.errors import ApplicationError
from rollout.models import (
    ActivityEntry,
    BlackoutWindow,
    DataSource,
    Phase,
    PhaseStatus,
    PromotionApproval,
    PromotionRequest,
    PromotionStatus,
    Workflow,
)
from rollout.services import promotions as svc
from rollout.services.blackouts import MSG_IN_BLACKOUT, blackout_ends_label
from tests.factories import ops_leader_user
from tests.rollout.promotion_fixtures import make_plan, make_shadow_ready


@pytest.fixture
def second_ops(db) -> User:
    return ops_leader_user(email="ops2@example.com", display_name="Pat Ops")


@pytest.fixture
def ready(workflow: Workflow, ops_leader: User) -> dict[str, Phase]:
    """Audit in progress; the shadow gate passes."""
    phases = make_plan(workflow, current="audit")
    make_shadow_ready(workflow, ops_leader)
    return phases


def status_of(phase: Phase) -> str:
    phase.refresh_from_db()
    return phase.status


def test_request_approve_execute(workflow, workflow_owner, ops_leader, ready):
    request = svc.promotion_request(workflow=workflow, actor=workflow_owner, note="Ready")
    assert request.status == PromotionStatus.PENDING
    assert [c["key"] for c in request.gate_snapshot][:3] == [
        "sources_documented",
        "no_unmapped_exports",
        "escalation_path",
    ]
    request = svc.promotion_approve(request=request, actor=ops_leader)
    assert request.status == PromotionStatus.EXECUTED
    assert status_of(ready["audit"]) == PhaseStatus.COMPLETED
    assert status_of(ready["shadow"]) == PhaseStatus.ACTIVE
    ready["shadow"].refresh_from_db()
    assert ready["shadow"].actual_start is not None
    verbs = list(ActivityEntry.objects.filter(workflow=workflow).values_list("verb", flat=True))
    assert {"requested a promotion", "approved a promotion", "promoted"} <= set(verbs)


def test_two_approvals_needed(workflow, workflow_owner, ops_leader, second_ops, ready):
    Workflow.objects.filter(pk=workflow.pk).update(required_approvals=2)
    request = svc.promotion_request(workflow=workflow, actor=workflow_owner)
    request = svc.promotion_approve(request=request, actor=ops_leader)
    assert request.status == PromotionStatus.PENDING
    with pytest.raises(ApplicationError) as exc:
        svc.promotion_approve(request=request, actor=ops_leader)
    assert exc.value.message == svc.MSG_ALREADY_APPROVED
    request = svc.promotion_approve(request=request, actor=second_ops)
    assert request.status == PromotionStatus.EXECUTED


def test_cannot_approve_own_request(workflow, ops_leader, ready):
    request = svc.promotion_request(workflow=workflow, actor=ops_leader)
    with pytest.raises(ApplicationError) as exc:
        svc.promotion_approve(request=request, actor=ops_leader)
    assert exc.value.message == svc.MSG_OWN_REQUEST
    assert PromotionApproval.objects.count() == 0


def test_owner_cannot_approve(workflow, workflow_owner, ops_leader, ready):
    request = svc.promotion_request(workflow=workflow, actor=ops_leader)
    with pytest.raises(ApplicationError) as exc:
        svc.promotion_approve(request=request, actor=workflow_owner)
    assert exc.value.message == svc.MSG_OPS_ONLY


def test_stale_approval_lapses(workflow, workflow_owner, ops_leader, ready):
    request = svc.promotion_request(workflow=workflow, actor=workflow_owner)
    DataSource.objects.filter(workflow=workflow).update(freshness="daily")
    with pytest.raises(svc.PromotionLapsed) as exc:
        svc.promotion_approve(request=request, actor=ops_leader)
    expected = svc.MSG_LAPSED.format(changed="Data sources documented")
    assert exc.value.message == expected
    request.refresh_from_db()
    assert (request.status, request.outcome) == (PromotionStatus.LAPSED, expected)
    assert PromotionApproval.objects.count() == 0
    assert ActivityEntry.objects.filter(verb="promotion request lapsed").count() == 1
    assert status_of(ready["audit"]) == PhaseStatus.ACTIVE


def test_paused_workflow_cannot_be_promoted(workflow, workflow_owner, ready):
    Phase.objects.filter(pk=ready["audit"].pk).update(status=PhaseStatus.PAUSED)
    with pytest.raises(ApplicationError) as exc:
        svc.promotion_request(workflow=workflow, actor=workflow_owner)
    assert exc.value.message == svc.MSG_PAUSED
    assert PromotionRequest.objects.count() == 0


def test_one_open_request(workflow, workflow_owner, ready):
    svc.promotion_request(workflow=workflow, actor=workflow_owner)
    with pytest.raises(ApplicationError) as exc:
        svc.promotion_request(workflow=workflow, actor=workflow_owner)
    assert exc.value.message == svc.MSG_ALREADY_OPEN


def test_unrelated_user_cannot_request(workflow, other_user, ready):
    with pytest.raises(ApplicationError) as exc:
        svc.promotion_request(workflow=workflow, actor=other_user)
    assert exc.value.message == svc.MSG_NOT_ALLOWED


def test_failing_gate_needs_override_with_reason(workflow, workflow_owner, ops_leader):
    phases = make_plan(workflow, current="audit")  # nothing documented: the gate fails
    request = svc.promotion_request(workflow=workflow, actor=workflow_owner)
    with pytest.raises(ApplicationError) as exc:
        svc.promotion_approve(request=request, actor=ops_leader)
    assert exc.value.message.startswith("The gate is not passing (Data sources documented")
    with pytest.raises(ApplicationError) as exc:
        svc.promotion_override(request=request, actor=ops_leader, reason="  ")
    assert exc.value.message == svc.MSG_OVERRIDE_REASON_REQUIRED
    assert PromotionApproval.objects.count() == 0
    request = svc.promotion_override(request=request, actor=ops_leader, reason="Audit signed off")
    assert request.status == PromotionStatus.EXECUTED
    assert (request.override_reason, request.overridden_by) == ("Audit signed off", ops_leader)
    assert status_of(phases["shadow"]) == PhaseStatus.ACTIVE


def test_schedule_in_blackout_is_refused(workflow, workflow_owner, ops_leader, ready):
    now = timezone.now()
    window = BlackoutWindow.objects.create(
        name="Year-end freeze",
        starts_at=now + timedelta(days=1),
        ends_at=now + timedelta(days=3),
        created_by=ops_leader,
    )
    with pytest.raises(ApplicationError) as exc:
        svc.promotion_request(
            workflow=workflow, actor=workflow_owner, scheduled_for=now + timedelta(days=2)
        )
    assert exc.value.message == MSG_IN_BLACKOUT.format(
        name="Year-end freeze", ends=blackout_ends_label(window)
    )
    assert exc.value.field == "scheduled_for"
    assert PromotionRequest.objects.count() == 0


def test_schedule_in_past_is_refused(workflow, workflow_owner, ready):
    with pytest.raises(ApplicationError) as exc:
        svc.promotion_request(workflow=workflow, actor=workflow_owner, scheduled_for=timezone.now())
    assert exc.value.message == svc.MSG_SCHEDULE_IN_PAST


def test_blackout_blocks_execution(workflow, workflow_owner, ops_leader, ready):
    request = svc.promotion_request(workflow=workflow, actor=workflow_owner)
    now = timezone.now()
    window = BlackoutWindow.objects.create(
        workflow=workflow,
        name="Launch week",
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=1),
        created_by=ops_leader,
    )
    with pytest.raises(ApplicationError) as exc:
        svc.promotion_approve(request=request, actor=ops_leader)
    assert exc.value.message == MSG_IN_BLACKOUT.format(
        name="Launch week", ends=blackout_ends_label(window)
    )
    request.refresh_from_db()
    assert request.status == PromotionStatus.PENDING
    assert PromotionApproval.objects.count() == 0


def test_scheduled_promotion_runs_when_due(workflow, workflow_owner, ops_leader, ready):
    when = timezone.now() + timedelta(hours=2)
    request = svc.promotion_request(workflow=workflow, actor=workflow_owner, scheduled_for=when)
    request = svc.promotion_approve(request=request, actor=ops_leader)
    assert request.status == PromotionStatus.APPROVED
    assert svc.promotions_run_due(timezone.now()) == 0
    assert status_of(ready["audit"]) == PhaseStatus.ACTIVE
    PromotionRequest.objects.filter(pk=request.pk).update(scheduled_for=timezone.now())
    assert svc.promotions_run_due(timezone.now()) == 1
    assert svc.promotions_run_due(timezone.now()) == 0  # running twice is harmless
    request.refresh_from_db()
    assert request.status == PromotionStatus.EXECUTED
    assert status_of(ready["shadow"]) == PhaseStatus.ACTIVE


def test_scheduled_promotion_fails_when_gate_broke(
    workflow, workflow_owner, ops_leader, ready, django_capture_on_commit_callbacks
):
    when = timezone.now() + timedelta(hours=2)
    request = svc.promotion_request(workflow=workflow, actor=workflow_owner, scheduled_for=when)
    svc.promotion_approve(request=request, actor=ops_leader)
    # The gate breaks without its inputs changing: the audit phase is no longer active.
    Phase.objects.filter(pk=ready["audit"].pk).update(status=PhaseStatus.PAUSED)
    PromotionRequest.objects.filter(pk=request.pk).update(scheduled_for=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        assert svc.promotions_run_due(timezone.now()) == 0
    request.refresh_from_db()
    assert (request.status, request.outcome) == (PromotionStatus.FAILED, svc.MSG_PAUSED)
    assert ActivityEntry.objects.filter(verb="scheduled promotion did not run").count() == 1
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [workflow_owner.email]
    assert svc.MSG_PAUSED in mail.outbox[0].body
    # The subject says what happened; the workflow is named in the body, not the subject.
    assert mail.outbox[0].subject == (
        "[Rollout] A scheduled promotion did not run: Data audit → Shadow mode"
    )
    assert "“Support reply drafting”" in mail.outbox[0].body
    assert "List-Unsubscribe" in mail.outbox[0].extra_headers


def test_scheduled_promotion_lapses_when_data_changed(
    workflow, workflow_owner, ops_leader, ready, django_capture_on_commit_callbacks
):
    when = timezone.now() + timedelta(hours=2)
    request = svc.promotion_request(workflow=workflow, actor=workflow_owner, scheduled_for=when)
    svc.promotion_approve(request=request, actor=ops_leader)
    DataSource.objects.filter(workflow=workflow).update(last_verified_at=None)
    PromotionRequest.objects.filter(pk=request.pk).update(scheduled_for=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        svc.promotions_run_due(timezone.now())
    request.refresh_from_db()
    assert request.status == PromotionStatus.LAPSED
    assert len(mail.outbox) == 1


def test_reject_and_cancel(workflow, workflow_owner, ops_leader, other_user, ready):
    request = svc.promotion_request(workflow=workflow, actor=workflow_owner)
    with pytest.raises(ApplicationError) as exc:
        svc.promotion_cancel(request=request, actor=other_user)
    assert exc.value.message == svc.MSG_CANCEL_NOT_ALLOWED
    request = svc.promotion_reject(request=request, actor=ops_leader, note="Not yet")
    assert (request.status, request.outcome) == (PromotionStatus.REJECTED, "Not yet")
    request = svc.promotion_request(workflow=workflow, actor=workflow_owner)
    request = svc.promotion_cancel(request=request, actor=workflow_owner)
    assert request.status == PromotionStatus.CANCELLED
    with pytest.raises(ApplicationError) as exc:
        svc.promotion_cancel(request=request, actor=workflow_owner)
    assert exc.value.message == svc.MSG_NOT_OPEN


def test_second_execution_is_refused(workflow, workflow_owner, ops_leader, ready):
    request = svc.promotion_request(workflow=workflow, actor=workflow_owner)
    svc.promotion_approve(request=request, actor=ops_leader)
    with pytest.raises(ApplicationError) as exc:
        svc.promotion_execute(request=request)
    assert exc.value.message == svc.MSG_NOT_OPEN
    assert Phase.objects.filter(workflow=workflow, status=PhaseStatus.ACTIVE).count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_concurrent_executions_exactly_one_wins(workflow, workflow_owner, ops_leader):
    make_plan(workflow, current="audit")
    make_shadow_ready(workflow, ops_leader)
    request = svc.promotion_request(
        workflow=workflow, actor=workflow_owner, scheduled_for=timezone.now() + timedelta(hours=1)
    )
    svc.promotion_approve(request=request, actor=ops_leader)
    PromotionRequest.objects.filter(pk=request.pk).update(scheduled_for=timezone.now())
    results: list[str] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        barrier.wait()
        try:
            svc.promotion_execute(request=request)
            results.append("ok")
        except ApplicationError as exc:
            results.append(exc.message)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == sorted(["ok", svc.MSG_NOT_OPEN])
    assert Phase.objects.filter(workflow=workflow, status=PhaseStatus.ACTIVE).count() == 1


def test_an_override_cannot_waive_rule_2(workflow, workflow_owner, ops_leader):
    """Without a threshold on error, override or acceptance rate, no way leads into limited."""
    phases = make_plan(workflow, current="shadow")
    request = svc.promotion_request(workflow=workflow, actor=workflow_owner)

    with pytest.raises(ApplicationError) as exc:
        svc.promotion_override(request=request, actor=ops_leader, reason="We are in a hurry")

    assert exc.value.message == svc.MSG_RULE_2
    assert PromotionApproval.objects.count() == 0
    assert status_of(phases["shadow"]) == PhaseStatus.ACTIVE
    assert status_of(phases["limited"]) == PhaseStatus.PLANNED
