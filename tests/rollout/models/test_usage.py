"""UsageEvent, the hot table: the database enforces only the unique key on it and keeps only the
indexes reads and deletions need; deletions keep their meaning through Django's collector,
although its foreign keys are not the database's."""

from datetime import UTC, datetime

import pytest
from django.db import connection

from accounts.models import User
from rollout.models import Cohort, CohortMember, UsageEvent, Workflow
from rollout.services.usage_ingest import usage_events_store
from tests.factories import UserFactory, make_workflow
from tests.rollout.usage_events_data import event

pytestmark = pytest.mark.django_db

AT = datetime(2026, 11, 30, 14, 5, tzinfo=UTC)


def _constraints() -> dict:
    with connection.cursor() as cursor:
        return connection.introspection.get_constraints(cursor, UsageEvent._meta.db_table)


def _member(workflow: Workflow, name: str, user: User) -> Cohort:
    cohort = Cohort.objects.create(workflow=workflow, name=name, enrolled_phase="limited")
    CohortMember.objects.create(cohort=cohort, user=user)
    return cohort


def _store(workflow: Workflow, *refs: str) -> None:
    usage_events_store(workflow=workflow, events=[event(user_ref=ref, at=AT) for ref in refs])


def test_the_database_checks_no_foreign_key_of_an_event():
    assert [name for name, c in _constraints().items() if c["foreign_key"]] == []


def test_the_indexes_are_those_reads_and_deletions_need():
    constraints = _constraints().values()
    # Rule 7's key is the primary key itself: no surrogate id, whose index each event would pay.
    # (SQLite's introspection lists a composite key's columns in table order: compared as a set.)
    assert [set(c["columns"]) for c in constraints if c["primary_key"]] == [
        {"workflow_id", "event_id"}
    ]
    indexed = {
        tuple(c["columns"])
        for c in constraints
        if (c["index"] or c["unique"]) and not c["primary_key"]
    }
    assert indexed == {
        ("workflow_id", "occurred_at"),  # the rollup reads a workflow's day
    }  # not user_id nor cohort_id: deleting a person or a cohort reads the table once


def test_deleting_a_workflow_deletes_its_events_and_no_others(workflow, ops_leader):
    other = make_workflow(actor=ops_leader)
    _store(workflow, "ann@example.com", "bob@example.com")
    _store(other, "ann@example.com")

    Workflow.objects.filter(pk=workflow.pk).delete()

    assert list(UsageEvent.objects.values_list("workflow_id", flat=True)) == [other.pk]


def test_deleting_a_cohort_leaves_its_events_in_no_cohort(workflow):
    ann, bob = UserFactory(email="ann@example.com"), UserFactory(email="bob@example.com")
    tier1, tier2 = _member(workflow, "Tier 1", ann), _member(workflow, "Tier 2", bob)
    _store(workflow, "ann@example.com", "bob@example.com")

    tier1.delete()

    stored = UsageEvent.objects.order_by("user_ref")
    assert [(e.user_ref, e.user_id, e.cohort_id) for e in stored] == [
        ("ann@example.com", ann.pk, None),
        ("bob@example.com", bob.pk, tier2.pk),
    ]


def test_deleting_a_person_leaves_their_events_without_them(workflow):
    ann, bob = UserFactory(email="ann@example.com"), UserFactory(email="bob@example.com")
    tier1 = _member(workflow, "Tier 1", ann)
    CohortMember.objects.create(cohort=tier1, user=bob)
    _store(workflow, "ann@example.com", "bob@example.com")

    User.objects.filter(pk=ann.pk).delete()

    stored = UsageEvent.objects.order_by("user_ref")
    assert [(e.user_ref, e.user_id, e.cohort_id) for e in stored] == [
        ("ann@example.com", None, tier1.pk),
        ("bob@example.com", bob.pk, tier1.pk),
    ]
