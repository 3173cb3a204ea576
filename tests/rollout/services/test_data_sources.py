from datetime import date, timedelta

import pytest
from django.utils import timezone

from core.errors import ApplicationError
from rollout.models import ActivityEntry, DataSource
from rollout.services.data_sources import (
    MSG_KEY_FIXED,
    MSG_KEY_INVALID,
    MSG_KEY_TAKEN,
    MSG_MAX_AGE_ZERO,
    MSG_NAME_TAKEN,
    MSG_VERIFIED_IN_FUTURE,
    VERB_CHANGED_AI_INPUT,
    data_source_create,
    data_source_delete,
    data_source_update,
)
from rollout.services.phases import plan_create_default
from rollout.services.source_health import source_heartbeat_record


def _create(workflow, actor, **overrides):
    values = {
        "name": "Ticket export",
        "kind": "static_export",
        "live_equivalent": "",
        "freshness": "Daily",
        "validation": "Row counts checked",
        "last_verified_at": date(2026, 1, 5),
        "version": "v1",
    }
    values.update(overrides)
    return data_source_create(workflow=workflow, actor=actor, **values)


def test_create_logs_and_flags_an_unmapped_export(workflow, workflow_owner):
    source = _create(workflow, workflow_owner, name="  Ticket export ")
    assert source.name == "Ticket export"
    assert source.is_unmapped_export
    entry = ActivityEntry.objects.filter(target__startswith="data source").first()
    assert (entry.verb, entry.target) == ("added", "data source Ticket export")
    assert entry.changes == {"kind": ["—", "Static export"]}


def test_last_verified_in_the_future_is_refused(workflow, workflow_owner):
    tomorrow = timezone.localdate() + timedelta(days=1)
    with pytest.raises(ApplicationError) as exc:
        _create(workflow, workflow_owner, last_verified_at=tomorrow)
    assert exc.value.message == MSG_VERIFIED_IN_FUTURE.format(
        today=timezone.localdate().isoformat()
    )
    assert exc.value.field == "last_verified_at"
    assert DataSource.objects.count() == 0


def test_duplicate_name_is_refused(workflow, workflow_owner):
    _create(workflow, workflow_owner)
    with pytest.raises(ApplicationError) as exc:
        _create(workflow, workflow_owner, name="ticket EXPORT")
    assert exc.value.message == MSG_NAME_TAKEN.format(name="ticket EXPORT")


def test_update_records_before_and_after(workflow, workflow_owner):
    source = _create(workflow, workflow_owner)
    data_source_update(source=source, actor=workflow_owner, live_equivalent="Zendesk API")
    entry = ActivityEntry.objects.first()
    assert entry.verb == "edited"
    assert entry.changes == {"live equivalent": ["—", "Zendesk API"]}


def test_version_change_without_a_phase_in_progress_is_an_edit(workflow, workflow_owner):
    source = _create(workflow, workflow_owner)
    data_source_update(source=source, actor=workflow_owner, version="v2")
    entry = ActivityEntry.objects.filter(target__startswith="data source").first()
    assert entry.verb == "edited"


def test_version_change_mid_phase_is_a_change_of_ai_input(workflow, workflow_owner):
    source = _create(workflow, workflow_owner)
    plan_create_default(workflow=workflow, start_date=date(2027, 1, 4), actor=workflow_owner)
    data_source_update(source=source, actor=workflow_owner, version="v2")
    entry = ActivityEntry.objects.filter(target__startswith="data source").first()
    assert entry.verb == VERB_CHANGED_AI_INPUT == "changed AI input"
    assert entry.changes == {"version": ["v1", "v2"]}


def test_delete_is_logged(workflow, workflow_owner):
    source = _create(workflow, workflow_owner)
    data_source_delete(source=source, actor=workflow_owner)
    assert DataSource.objects.count() == 0
    entry = ActivityEntry.objects.filter(target__startswith="data source").first()
    assert (entry.verb, entry.target) == ("removed", "data source Ticket export")


# --- keys and the measurable freshness (issue 17 §1) --------------------------------------------


def test_a_new_source_gets_a_key_from_its_name_unique_in_the_workflow(workflow, workflow_owner):
    first = _create(workflow, workflow_owner, name="CRM export")
    second = _create(workflow, workflow_owner, name="CRM Export!")  # another name, same slug
    assert (first.key, second.key) == ("crm-export", "crm-export-2")


def test_a_chosen_key_is_kept_and_checked(workflow, workflow_owner):
    source = _create(workflow, workflow_owner, name="CRM export", key="crm")
    assert source.key == "crm"
    with pytest.raises(ApplicationError) as exc:
        _create(workflow, workflow_owner, name="Other", key="crm")
    assert (exc.value.message, exc.value.field) == (MSG_KEY_TAKEN.format(key="crm"), "key")
    with pytest.raises(ApplicationError) as exc:
        _create(workflow, workflow_owner, name="Other", key="not a slug")
    assert (exc.value.message, exc.value.field) == (MSG_KEY_INVALID, "key")
    assert DataSource.objects.count() == 1


def test_the_key_is_editable_only_until_something_was_reported(workflow, workflow_owner):
    source = _create(workflow, workflow_owner, name="CRM export")
    source = data_source_update(source=source, actor=workflow_owner, key="crm")
    assert source.key == "crm"
    source_heartbeat_record(source=source, records=1, rejected=0)
    with pytest.raises(ApplicationError) as exc:
        data_source_update(source=source, actor=workflow_owner, key="crm-2")
    assert exc.value.message == MSG_KEY_FIXED.format(key="crm")
    source.refresh_from_db()
    assert source.key == "crm"
    # An edit that leaves the key empty keeps it.
    assert (
        data_source_update(source=source, actor=workflow_owner, key="", version="v2").key == "crm"
    )


def test_a_maximum_age_of_zero_is_refused(workflow, workflow_owner):
    with pytest.raises(ApplicationError) as exc:
        _create(workflow, workflow_owner, max_age_minutes=0)
    assert (exc.value.message, exc.value.field) == (MSG_MAX_AGE_ZERO, "max_age_minutes")
    assert _create(workflow, workflow_owner, max_age_minutes=90).max_age_minutes == 90
