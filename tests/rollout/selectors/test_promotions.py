"""Promotion request reads: the open one of a workflow, one by id within a workflow, the approvals
queue and the pending count."""

import pytest

from rollout.models import PromotionRequest
from rollout.selectors.promotions import (
    promotion_count_pending,
    promotion_get_for_workflow,
    promotion_get_open,
    promotion_list_open,
)
from rollout.services.promotions import promotion_cancel, promotion_request
from tests.factories import make_workflow
from tests.rollout.promotion_fixtures import make_plan, make_shadow_ready

pytestmark = pytest.mark.django_db


@pytest.fixture
def ready(workflow, ops_leader):
    make_plan(workflow, current="audit")
    make_shadow_ready(workflow, ops_leader)


def test_the_open_request_with_what_the_card_shows(
    workflow, ready, ops_leader, django_assert_num_queries
):
    assert promotion_get_open(workflow) is None
    request = promotion_request(workflow=workflow, actor=workflow.owner)
    with django_assert_num_queries(2):  # the request with its people and phases, its approvals
        found = promotion_get_open(workflow)
        assert (found, found.requested_by, found.to_phase.kind) == (
            request,
            workflow.owner,
            "shadow",
        )
        assert list(found.approvals.all()) == []
    promotion_cancel(request=request, actor=workflow.owner)
    assert promotion_get_open(workflow) is None


def test_one_request_by_id_only_within_its_workflow(workflow, ready, ops_leader):
    request = promotion_request(workflow=workflow, actor=workflow.owner)
    other = make_workflow(actor=ops_leader, slug="other-flow")
    assert promotion_get_for_workflow(workflow, request.pk) == request
    with pytest.raises(PromotionRequest.DoesNotExist):
        promotion_get_for_workflow(other, request.pk)


def test_the_approvals_queue_and_the_pending_count(workflow, ready, ops_leader):
    assert promotion_count_pending() == 0
    request = promotion_request(workflow=workflow, actor=workflow.owner)
    assert list(promotion_list_open()) == [request]
    assert promotion_count_pending() == 1
    promotion_cancel(request=request, actor=workflow.owner)
    assert list(promotion_list_open()) == []
    assert promotion_count_pending() == 0
