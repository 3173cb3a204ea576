"""Escalation path reads: the levels in order, and one level only within its workflow."""

import pytest

from rollout.models import EscalationLevel
from rollout.selectors.escalation_path import escalation_level_get, escalation_level_list
from rollout.services.escalation_path import escalation_level_add, escalation_level_move
from tests.factories import UserFactory, make_workflow

pytestmark = pytest.mark.django_db


def add(workflow, actor, name: str) -> EscalationLevel:
    contact = UserFactory(display_name=name)
    return escalation_level_add(
        workflow=workflow, actor=actor, contact=contact, channel="email", response_target_minutes=30
    )


def test_levels_in_order_with_their_contacts_in_one_query(
    workflow, ops_leader, django_assert_num_queries
):
    first, second = add(workflow, ops_leader, "Cara"), add(workflow, ops_leader, "Dan")
    escalation_level_move(level=second, actor=ops_leader, direction="up")
    with django_assert_num_queries(1):
        levels = escalation_level_list(workflow)
        assert [(lv.position, lv.contact.display_name) for lv in levels] == [
            (1, "Dan"),
            (2, "Cara"),
        ]
        assert {lv.workflow for lv in levels} == {workflow}
    assert escalation_level_list(make_workflow(actor=ops_leader, slug="quiet")) == []
    assert first in levels


def test_one_level_only_within_its_workflow(workflow, ops_leader):
    level = add(workflow, ops_leader, "Cara")
    other = make_workflow(actor=ops_leader, slug="other-flow")
    assert escalation_level_get(workflow, level.pk) == level
    with pytest.raises(EscalationLevel.DoesNotExist):
        escalation_level_get(other, level.pk)
