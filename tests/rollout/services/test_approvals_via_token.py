"""A personal access token never approves: an approval is a person's judgement, signed in."""

import pytest
from django.core.exceptions import PermissionDenied

from accounts.models import User
from core.acting import MSG_NOT_VIA_TOKEN, act_via_token, stop_acting_via_token
from rollout.models import PromotionStatus, Workflow
from rollout.services import promotions as svc
from tests.rollout.promotion_fixtures import make_plan, make_shadow_ready


@pytest.fixture
def pending(workflow: Workflow, workflow_owner: User, ops_leader: User):
    make_plan(workflow, current="audit")
    make_shadow_ready(workflow, ops_leader)
    return svc.promotion_request(workflow=workflow, actor=workflow_owner, note="Ready")


@pytest.fixture
def via_token():
    act_via_token("CI bot")
    yield
    stop_acting_via_token()


@pytest.mark.usefixtures("via_token")
@pytest.mark.parametrize(
    "decide",
    [
        lambda request, actor: svc.promotion_approve(request=request, actor=actor),
        lambda request, actor: svc.promotion_override(request=request, actor=actor, reason="x"),
        lambda request, actor: svc.promotion_reject(request=request, actor=actor),
    ],
    ids=["approve", "override", "reject"],
)
def test_no_decision_on_a_promotion_through_a_token(pending, ops_leader: User, decide) -> None:
    with pytest.raises(PermissionDenied, match=MSG_NOT_VIA_TOKEN):
        decide(pending, ops_leader)
    pending.refresh_from_db()
    assert pending.status == PromotionStatus.PENDING
    assert not pending.approvals.exists()


def test_the_same_ops_leader_signed_in_approves(pending, ops_leader: User) -> None:
    assert svc.promotion_approve(request=pending, actor=ops_leader).status == (
        PromotionStatus.EXECUTED
    )
