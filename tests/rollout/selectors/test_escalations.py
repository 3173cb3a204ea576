"""Escalation reads: a contact's own open escalations (for the home page)."""

import pytest

from rollout.selectors.escalations import escalation_list_for_contact
from rollout.services.escalation_path import escalation_level_add
from rollout.services.escalations import escalation_open, escalation_resolve
from tests.factories import UserFactory

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
