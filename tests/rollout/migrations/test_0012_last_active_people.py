"""Migration 0012 fills each person's latest day from the days already rolled up, so the usage
page counts the same people the day it is deployed."""

from datetime import date

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from rollout.models import Cohort, UsageLastActive
from tests.factories import make_workflow

BEFORE = [("rollout", "0011_usage_event_lean_writes")]
AFTER = [("rollout", "0012_last_active_people")]


@pytest.mark.django_db(transaction=True)
def test_each_persons_latest_day_comes_from_the_days_rolled_up(ops_leader):
    workflow = make_workflow(actor=ops_leader)
    tier1 = Cohort.objects.create(workflow=workflow, name="Tier 1", enrolled_phase="limited")
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps.get_model("rollout", "UsageActiveUser")
    for cohort_id, ref, day in [
        (tier1.pk, "#1", date(2026, 11, 3)),
        (tier1.pk, "#1", date(2026, 11, 20)),
        (None, "#1", date(2026, 11, 5)),  # the same person, in no cohort back then
        (None, "zed@example.com", date(2026, 10, 1)),
    ]:
        old.objects.create(workflow_id=workflow.pk, cohort_id=cohort_id, user_ref=ref, day=day)

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    try:
        rows = UsageLastActive.objects.filter(workflow=workflow)
        assert {(r.cohort_id, r.user_ref): r.day for r in rows} == {
            (tier1.pk, "#1"): date(2026, 11, 20),
            (None, "#1"): date(2026, 11, 5),
            (None, "zed@example.com"): date(2026, 10, 1),
        }
    finally:  # the next tests want the latest schema
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
