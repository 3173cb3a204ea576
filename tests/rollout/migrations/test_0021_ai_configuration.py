"""Migration 0021 records version 1 of every workflow's AI configuration from what its fields and
its versioned data sources say, in effect since the workflow was created."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from rollout.models import AIConfiguration, Workflow
from tests.factories import make_workflow

BEFORE = [("rollout", "0020_source_health")]
AFTER = [("rollout", "0021_ai_configuration")]


@pytest.mark.django_db(transaction=True)
def test_version_1_is_what_each_workflow_declares(ops_leader):
    workflow = make_workflow(actor=ops_leader, model_version="2026-09")
    bare = make_workflow(actor=ops_leader, slug="bare", name="Bare")
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps.get_model("rollout", "DataSource")
    crm = old.objects.create(
        workflow_id=workflow.pk, name="CRM", key="crm", kind="live", version="v3"
    )
    old.objects.create(
        workflow_id=workflow.pk, name="Macros", key="macros", kind="live", version=""
    )

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    try:
        (first,) = AIConfiguration.objects.filter(workflow=workflow)
        assert (first.version, first.origin, first.model_version) == (1, "declared", "2026-09")
        assert first.sources == {str(crm.pk): {"name": "CRM", "version": "v3"}}
        assert first.effective_at == Workflow.objects.get(pk=workflow.pk).created_at
        assert AIConfiguration.objects.get(workflow=bare).sources == {}
    finally:  # the next tests want the latest schema
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
