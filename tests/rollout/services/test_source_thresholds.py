"""The input rejection rate and stale input rate thresholds: judged from SourceHealthDay and
heartbeats over the window, per source or over all sources (rollout.services.evaluation)."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from core.errors import ApplicationError
from rollout.models import SourceKind, ThresholdStatus, Verdict
from rollout.services.data_sources import data_source_create
from rollout.services.evaluation import thresholds_evaluate_workflow, usage_refresh_pending
from rollout.services.source_health import source_heartbeat_record
from rollout.services.thresholds import (
    MSG_SOURCE_ONLY_FOR_INPUTS,
    MSG_SOURCE_OTHER_WORKFLOW,
    MSG_SOURCE_PER_COHORT,
    threshold_create,
)
from rollout.services.usage_ingest import EventData, usage_events_store
from tests.factories import make_workflow

pytestmark = pytest.mark.django_db


@pytest.fixture
def crm(workflow, ops_leader):
    return data_source_create(
        workflow=workflow, actor=ops_leader, name="CRM export", kind=SourceKind.LIVE
    )


@pytest.fixture
def orders(workflow, ops_leader):
    return data_source_create(
        workflow=workflow, actor=ops_leader, name="Orders API", kind=SourceKind.LIVE
    )


def inputs(workflow, key, *, ok=0, rejected=0, stale=0, days_ago=0):
    at = timezone.now() - timedelta(days=days_ago, minutes=5)
    kinds = ["input_ok"] * ok + ["input_rejected"] * rejected + ["input_stale"] * stale
    usage_events_store(
        workflow=workflow,
        events=[EventData(uuid.uuid4(), "", k, at, None, {"source": key}) for k in kinds],
    )
    usage_refresh_pending()


def rule(workflow, actor, **fields):
    values = {
        "metric": "input_rejection_rate",
        "comparator": "lte",
        "limit": 0.05,
        "marginal_limit": None,
        "window_days": 7,
        "min_sample": 20,
        "scope": "workflow",
        "bad_output": "Inputs the model never sees.",
        "action": "block_promotion",
    }
    values.update(fields)
    return threshold_create(workflow=workflow, actor=actor, **values)


def verdict(threshold):
    thresholds_evaluate_workflow(workflow=threshold.workflow)
    status = ThresholdStatus.objects.get(threshold=threshold)
    return status.verdict, status.sample, status.observed


def test_rejection_rate_passes_at_the_limit_and_counts_heartbeat_records(workflow, ops_leader, crm):
    threshold = rule(workflow, ops_leader, source=crm)
    inputs(workflow, "crm-export", ok=9, rejected=1)
    source_heartbeat_record(source=crm, records=10, rejected=0)
    assert verdict(threshold) == (Verdict.PASS, 20, 0.05)  # 1 of 20: exactly at 5% passes


def test_rejection_rate_fails_past_the_limit(workflow, ops_leader, crm):
    threshold = rule(workflow, ops_leader, source=crm)
    inputs(workflow, "crm-export", ok=15, rejected=3)
    source_heartbeat_record(source=crm, records=10, rejected=2)
    v, sample, observed = verdict(threshold)
    assert (v, sample) == (Verdict.FAIL, 28)
    assert observed == pytest.approx(5 / 28)


def test_too_few_reports_is_insufficient_data_never_a_pass(workflow, ops_leader, crm):
    threshold = rule(workflow, ops_leader, source=crm)
    inputs(workflow, "crm-export", ok=10)
    assert verdict(threshold)[0] == Verdict.INSUFFICIENT_DATA
    status = ThresholdStatus.objects.get(threshold=threshold)
    assert status.reason == "10 of the 20 cases needed in the last 7 days."


def test_no_reports_at_all_is_insufficient_data(workflow, ops_leader, crm):
    threshold = rule(workflow, ops_leader, source=crm)
    assert verdict(threshold) == (Verdict.INSUFFICIENT_DATA, 0, None)


def test_one_source_or_all_sources(workflow, ops_leader, crm, orders):
    only_crm = rule(workflow, ops_leader, source=crm)
    everything = rule(workflow, ops_leader, source=None)
    inputs(workflow, "crm-export", ok=20)
    inputs(workflow, "orders-api", ok=10, rejected=10)
    inputs(workflow, "not-declared", rejected=50)  # a key no source has: not counted
    assert verdict(only_crm)[0] == Verdict.PASS
    assert verdict(everything)[:2] == (Verdict.FAIL, 40)


def test_stale_input_rate_and_the_window(workflow, ops_leader, crm):
    threshold = rule(workflow, ops_leader, metric="stale_input_rate", limit=0.1, window_days=3)
    inputs(workflow, "crm-export", ok=18, stale=2)
    inputs(workflow, "crm-export", stale=50, days_ago=5)  # before the window
    assert verdict(threshold) == (Verdict.PASS, 20, 0.1)


def test_a_source_only_for_input_metrics_and_never_per_cohort(workflow, ops_leader, crm):
    with pytest.raises(ApplicationError) as exc:
        rule(workflow, ops_leader, metric="error_rate", source=crm)
    assert (exc.value.message, exc.value.field) == (MSG_SOURCE_ONLY_FOR_INPUTS, "source")
    with pytest.raises(ApplicationError) as exc:
        rule(workflow, ops_leader, scope="per_cohort")
    assert exc.value.message == MSG_SOURCE_PER_COHORT
    other = make_workflow(actor=ops_leader, slug="other-flow")
    elsewhere = data_source_create(
        workflow=other, actor=ops_leader, name="ERP", kind=SourceKind.LIVE
    )
    with pytest.raises(ApplicationError) as exc:
        rule(workflow, ops_leader, source=elsewhere)
    assert exc.value.message == MSG_SOURCE_OTHER_WORKFLOW
    assert not workflow.thresholds.exists()
