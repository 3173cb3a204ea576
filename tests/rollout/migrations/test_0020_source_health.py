"""Migration 0020 gives every existing data source a key from its name, unique within its
workflow, before the unique constraint on (workflow, key) is added."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from rollout.models import DataSource
from tests.factories import make_workflow

BEFORE = [("rollout", "0019_briefings")]
AFTER = [("rollout", "0020_source_health")]


@pytest.mark.django_db(transaction=True)
def test_existing_sources_get_keys_from_their_names_unique_per_workflow(ops_leader):
    first = make_workflow(actor=ops_leader, slug="first-flow")
    second = make_workflow(actor=ops_leader, slug="second-flow")
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps.get_model("rollout", "DataSource")
    for workflow, name in [
        (first, "CRM export"),
        (first, "CRM Export!"),  # another name, the same slug
        (first, "!!!"),  # no slug at all
        (second, "CRM export"),  # another workflow: the same key is fine
    ]:
        old.objects.create(workflow_id=workflow.pk, name=name, kind="live")

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    try:
        keys = DataSource.objects.order_by("pk").values_list("workflow__slug", "name", "key")
        assert list(keys) == [
            ("first-flow", "CRM export", "crm-export"),
            ("first-flow", "CRM Export!", "crm-export-2"),
            ("first-flow", "!!!", "source"),
            ("second-flow", "CRM export", "crm-export"),
        ]
    finally:  # the next tests want the latest schema
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
