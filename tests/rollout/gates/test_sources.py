"""The data-source gate conditions (rollout.gates.sources)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from rollout.gates import gate_for
from rollout.gates.sources import MSG_NO_LIVE
from rollout.models import SourceKind, SourceStatus, Verdict, Workflow
from rollout.services.data_sources import data_source_create
from rollout.services.source_health import source_heartbeat_record
from tests.rollout.promotion_fixtures import make_plan

pytestmark = pytest.mark.django_db


def checks(workflow: Workflow, from_kind: str, to_kind: str, now=None) -> dict:
    phases = {p.kind: p for p in workflow.phases.all()}
    gate = gate_for(from_phase=phases[from_kind], to_phase=phases[to_kind], now=now)
    return {c.key: c for c in gate.checks}


@pytest.fixture
def crm(workflow, ops_leader):
    return data_source_create(
        workflow=workflow, actor=ops_leader, name="CRM export", kind=SourceKind.LIVE,
        max_age_minutes=60,
    )  # fmt: skip


def test_into_shadow_every_live_source_must_have_reported_once(workflow, ops_leader, crm):
    make_plan(workflow, current="audit")
    data_source_create(
        workflow=workflow, actor=ops_leader, name="Old CSV", kind=SourceKind.STATIC_EXPORT
    )
    check = checks(workflow, "audit", "shadow")["live_sources_reported"]
    assert check.status == Verdict.FAIL
    assert check.reason == (
        "“CRM export” has never reported: call POST /api/v1/sources/<key>/heartbeat "
        "(key: crm-export) or send input_ok events. A heartbeat is enough."
    )
    source_heartbeat_record(source=crm, records=0, rejected=0)
    check = checks(workflow, "audit", "shadow")["live_sources_reported"]
    assert (check.status, check.reason) == (
        Verdict.PASS,
        "Every live data source has reported (1).",
    )


def test_a_stale_source_that_reported_still_passes_into_shadow(workflow, crm):
    make_plan(workflow, current="audit")
    source_heartbeat_record(
        source=crm, records=1, rejected=0, data_as_of=timezone.now() - timedelta(days=1)
    )
    assert checks(workflow, "audit", "shadow")["live_sources_reported"].passed


def test_without_live_sources_nothing_to_wait_for(workflow):
    make_plan(workflow, current="audit")
    check = checks(workflow, "audit", "shadow")["live_sources_reported"]
    assert (check.status, check.reason) == (Verdict.PASS, MSG_NO_LIVE)


@pytest.mark.parametrize(
    ("current", "following"), [("shadow", "limited"), ("limited", "broad"), ("broad", "steady")]
)
def test_a_stale_live_source_fails_every_gate_from_shadow_on(workflow, crm, current, following):
    make_plan(workflow, current=current)
    source_heartbeat_record(
        source=crm, records=1, rejected=0, data_as_of=timezone.now() - timedelta(hours=3)
    )
    check = checks(workflow, current, following)["live_sources_fresh"]
    assert check.status == Verdict.FAIL
    assert check.reason.startswith("“CRM export” is stale since ")
    assert check.reason.endswith("(data 3 h old; expected within 1 hour).")


def test_a_silent_source_fails_with_its_reason_and_passes_once_it_reports(workflow, crm):
    make_plan(workflow, current="shadow")
    source_heartbeat_record(source=crm, records=1, rejected=0)
    later = timezone.now() + timedelta(hours=30)  # nothing reported meanwhile
    check = checks(workflow, "shadow", "limited", now=later)["live_sources_fresh"]
    assert check.status == Verdict.FAIL
    assert "“CRM export” is silent since " in check.reason
    assert check.reason.endswith("nothing reported for over 24 hours.")
    source_heartbeat_record(source=crm, records=1, rejected=0)
    check = checks(workflow, "shadow", "limited")["live_sources_fresh"]
    assert (check.status, check.reason) == (
        Verdict.PASS,
        "No live data source is stale or silent (1 checked).",
    )


def test_a_static_export_never_blocks(workflow, ops_leader):
    make_plan(workflow, current="shadow")
    export = data_source_create(
        workflow=workflow, actor=ops_leader, name="Old CSV", kind=SourceKind.STATIC_EXPORT,
        max_age_minutes=60,
    )  # fmt: skip
    source_heartbeat_record(
        source=export, records=1, rejected=0, data_as_of=timezone.now() - timedelta(days=1)
    )
    assert checks(workflow, "shadow", "limited")["live_sources_fresh"].passed


def test_the_inputs_change_with_the_state_not_with_the_clock(workflow, crm):
    make_plan(workflow, current="shadow")
    source_heartbeat_record(source=crm, records=1, rejected=0)
    first = checks(workflow, "shadow", "limited")["live_sources_fresh"].inputs
    assert (
        checks(workflow, "shadow", "limited", now=timezone.now() + timedelta(minutes=5))[
            "live_sources_fresh"
        ].inputs
        == first
    )
    SourceStatus.objects.filter(source=crm).update(last_report_stale=True)
    assert checks(workflow, "shadow", "limited")["live_sources_fresh"].inputs != first
