"""Escalation reads: a contact's own open escalations (for the home page), and the open ones
counted per workflow (for the portfolio)."""

import pytest

from rollout.selectors.escalations import (
    escalation_get_or_none,
    escalation_list_for_contact,
    escalation_origin_get,
    open_escalation_counts,
)
from rollout.services.escalation_path import escalation_level_add
from rollout.services.escalations import escalation_open, escalation_resolve
from tests.factories import UserFactory, make_workflow

pytestmark = pytest.mark.django_db


def test_a_contact_sees_the_open_ones_they_currently_hold(workflow, ops_leader, other_user):
    contact = UserFactory(display_name="Cara Contact")
    escalation_level_add(
        workflow=workflow,
        actor=ops_leader,
        contact=contact,
        channel="in_app",
        response_target_minutes=30,
    )
    first = escalation_open(workflow=workflow, title="First", source="manual")
    second = escalation_open(workflow=workflow, title="Second", source="manual")
    done = escalation_open(workflow=workflow, title="Done", source="manual")
    escalation_resolve(escalation=done, actor=contact, note="Fixed")

    assert list(escalation_list_for_contact(contact)) == [first, second]
    assert list(escalation_list_for_contact(other_user)) == []


def test_open_escalations_are_counted_per_workflow_in_one_query(
    workflow, ops_leader, django_assert_num_queries
):
    other = make_workflow(actor=ops_leader, slug="other-flow")
    quiet = make_workflow(actor=ops_leader, slug="quiet-flow")
    for severity in ("critical", "critical", "low"):
        escalation_open(workflow=workflow, title="Refunds", source="manual", severity=severity)
    done = escalation_open(workflow=other, title="Done", source="manual", severity="critical")
    escalation_resolve(escalation=done, actor=ops_leader, note="Fixed")
    escalation_open(workflow=other, title="Slow", source="manual", severity="medium")

    with django_assert_num_queries(1):
        counts = open_escalation_counts([workflow.pk, other.pk, quiet.pk])

    assert counts == {workflow.pk: (3, 2), other.pk: (1, 0)}
    assert open_escalation_counts([]) == {}


def test_one_escalation_or_none_only_within_its_workflow(workflow, ops_leader):
    escalation = escalation_open(workflow=workflow, title="Refunds", source="manual")
    other = make_workflow(actor=ops_leader, slug="other-flow")
    assert escalation_get_or_none(workflow, escalation.pk) == escalation
    assert escalation_get_or_none(other, escalation.pk) is None


def test_an_origin_item_only_within_its_workflow(workflow, ops_leader):
    feedback = workflow.feedback.create(rating="not_helpful", category="wrong_output", text="Off")
    other = make_workflow(actor=ops_leader, slug="other-flow")
    assert escalation_origin_get(workflow, "feedback", feedback.pk) == feedback
    assert escalation_origin_get(other, "feedback", feedback.pk) is None
    assert escalation_origin_get(workflow, "incident", feedback.pk) is None
