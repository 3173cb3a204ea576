from datetime import timedelta

from django.utils import timezone

from rollout.models import PhaseStatus, PromotionRequest, PromotionStatus
from rollout.services.promotions import promotion_approve, promotion_request
from rollout.tasks import run_due_promotions
from tests.rollout.promotion_fixtures import make_plan, make_shadow_ready


def test_run_due_promotions_task(workflow, workflow_owner, ops_leader):
    phases = make_plan(workflow, current="audit")
    make_shadow_ready(workflow, ops_leader)
    request = promotion_request(
        workflow=workflow, actor=workflow_owner, scheduled_for=timezone.now() + timedelta(hours=1)
    )
    promotion_approve(request=request, actor=ops_leader)
    PromotionRequest.objects.filter(pk=request.pk).update(scheduled_for=timezone.now())
    assert run_due_promotions.delay().get() == 1
    assert run_due_promotions.delay().get() == 0
    request.refresh_from_db()
    phases["shadow"].refresh_from_db()
    assert (request.status, phases["shadow"].status) == (
        PromotionStatus.EXECUTED,
        PhaseStatus.ACTIVE,
    )
