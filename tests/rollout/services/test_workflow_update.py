import pytest

from core.errors import ApplicationError
from rollout.models import ActivityEntry, Workflow
from rollout.services.workflows import workflow_update


def test_changes_are_saved_and_logged_before_to_after(ops_leader, workflow):
    workflow_update(
        workflow=workflow,
        actor=ops_leader,
        name="  Support replies  ",
        model_provider="",
        model_version="2026-11",
    )

    workflow.refresh_from_db()
    assert (workflow.name, workflow.model_provider, workflow.model_version) == (
        "Support replies",
        "",
        "2026-11",
    )
    entry = ActivityEntry.objects.filter(workflow=workflow, verb="edited").first()
    assert (entry.actor, entry.verb, entry.target) == (
        ops_leader,
        "edited",
        "workflow Support replies",
    )
    assert entry.changes == {
        "name": ["Support reply drafting", "Support replies"],
        "model provider": ["OpenAI", "—"],
        "model version": ["2026-09", "2026-11"],
    }
    # The model fields changed: the configuration's new version is the latest entry (rule 9).
    latest = ActivityEntry.objects.filter(workflow=workflow).first()
    assert latest.verb == "changed the AI configuration"
    assert workflow.last_activity_at == latest.created_at


def test_nothing_changed_writes_no_entry(ops_leader, workflow):
    entries = ActivityEntry.objects.count()
    updated_at = workflow.updated_at

    workflow_update(workflow=workflow, actor=ops_leader, name=" Support reply drafting ")

    workflow.refresh_from_db()
    assert workflow.updated_at == updated_at
    assert ActivityEntry.objects.count() == entries


def test_an_invalid_value_is_refused_and_nothing_is_saved(ops_leader, workflow):
    entries = ActivityEntry.objects.count()

    with pytest.raises(ApplicationError) as exc:
        workflow_update(workflow=workflow, actor=ops_leader, name="", summary="Changed")

    assert exc.value.field == "name"
    workflow.refresh_from_db()
    assert (workflow.name, workflow.summary) == (
        "Support reply drafting",
        "Drafts replies to tier-1 support tickets.",
    )
    assert ActivityEntry.objects.count() == entries


@pytest.mark.parametrize("field", ["slug", "owner", "last_activity_at"])
def test_slug_owner_and_bookkeeping_are_not_editable_here(ops_leader, workflow, field):
    with pytest.raises(ValueError, match=field):
        workflow_update(workflow=workflow, actor=ops_leader, **{field: "x"})

    assert Workflow.objects.get(pk=workflow.pk).slug == "support-reply-drafting"


def test_update_works_from_a_stale_instance(ops_leader, workflow):
    stale = Workflow.objects.get(pk=workflow.pk)
    workflow_update(workflow=workflow, actor=ops_leader, summary="First edit")

    workflow_update(workflow=stale, actor=ops_leader, model_name="gpt-6")

    workflow.refresh_from_db()
    assert (workflow.summary, workflow.model_name) == ("First edit", "gpt-6")
    latest = ActivityEntry.objects.filter(workflow=workflow, verb="edited").first()
    assert latest.changes == {"model": ["gpt-5", "gpt-6"]}
