"""Impact as a threshold metric: validated, written as a sentence, judged by the always-valid
interval at α/k by the periodic evaluation, and able to pause like any other."""

import pytest
from django.utils import timezone

from core.errors import ApplicationError
from rollout.models import Arm, Cohort, Metric, PhaseStatus, ThresholdStatus, Verdict
from rollout.selectors.thresholds import threshold_sentence
from rollout.services.evaluation import thresholds_evaluate_workflow
from rollout.services.outcome_metrics import outcome_metric_archive
from rollout.services.thresholds import (
    MSG_IMPACT_NO_MARGINAL,
    MSG_OUTCOME_ARCHIVED,
    MSG_OUTCOME_ONLY_FOR_IMPACT,
    MSG_OUTCOME_OTHER_WORKFLOW,
    MSG_OUTCOME_REQUIRED,
    threshold_create,
)
from tests.factories import make_workflow
from tests.rollout.outcome_fixtures import handle_time, person_days
from tests.rollout.promotion_fixtures import make_plan

pytestmark = pytest.mark.django_db

FASTER = [100.0 + i for i in range(30)]  # AI: 100–129 s
SLOWER = [160.0 + i for i in range(30)]  # holdout: 160–189 s


def impact(workflow, actor, outcome, **fields):
    values = {
        "metric": Metric.IMPACT,
        "comparator": "gte",
        "limit": 10.0,
        "marginal_limit": None,
        "window_days": 14,
        "min_sample": 1,
        "scope": "workflow",
        "bad_output": "Tickets take longer with the AI than without.",
        "action": "alert",
        "outcome_metric": outcome,
    }
    values.update(fields)
    return threshold_create(workflow=workflow, actor=actor, **values)


def status(threshold) -> ThresholdStatus:
    return ThresholdStatus.objects.get(threshold=threshold)


def test_an_impact_threshold_reads_as_a_sentence(workflow, workflow_owner):
    threshold = impact(workflow, workflow_owner, handle_time(workflow), action="pause_rollout")
    assert threshold_sentence(threshold) == (
        "AI better than holdout by at least 10 s on Handle time, with 95% confidence, over "
        "14 days, whole workflow → pause the roll-out"
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"outcome_metric": None}, MSG_OUTCOME_REQUIRED),
        ({"marginal_limit": 5.0}, MSG_IMPACT_NO_MARGINAL),
        ({"metric": Metric.ERROR_RATE, "limit": 0.05}, MSG_OUTCOME_ONLY_FOR_IMPACT),
    ],
)
def test_impact_thresholds_are_validated(workflow, workflow_owner, fields, message):
    metric = handle_time(workflow)
    with pytest.raises(ApplicationError) as caught:
        impact(workflow, workflow_owner, metric, **fields)
    assert caught.value.message == message


def test_an_archived_or_foreign_outcome_metric_is_refused(workflow, workflow_owner, ops_leader):
    metric = handle_time(workflow)
    outcome_metric_archive(metric=metric, actor=workflow_owner, archived=True)
    with pytest.raises(ApplicationError) as caught:
        impact(workflow, workflow_owner, metric)
    assert caught.value.message == MSG_OUTCOME_ARCHIVED
    other = make_workflow(owner=workflow_owner, actor=ops_leader, slug="other-flow")
    with pytest.raises(ApplicationError) as caught:
        impact(workflow, workflow_owner, handle_time(other))
    assert caught.value.message == MSG_OUTCOME_OTHER_WORKFLOW


def test_a_clear_improvement_passes(workflow, workflow_owner):
    threshold = impact(workflow, workflow_owner, handle_time(workflow))
    person_days(workflow, None, Arm.AI, FASTER)
    person_days(workflow, None, Arm.HOLDOUT, SLOWER)
    thresholds_evaluate_workflow(workflow=workflow)
    found = status(threshold)
    assert found.verdict == Verdict.PASS
    assert found.observed == pytest.approx(-60.0)
    assert found.sample == 60
    assert "always-valid 95.0% interval" in found.reason


def test_an_interval_straddling_the_limit_is_marginal_and_short_of_it_fails(
    workflow, workflow_owner
):
    threshold = impact(workflow, workflow_owner, handle_time(workflow), limit=60.0)
    person_days(workflow, None, Arm.AI, FASTER)
    person_days(workflow, None, Arm.HOLDOUT, SLOWER)
    thresholds_evaluate_workflow(workflow=workflow)
    assert status(threshold).verdict == Verdict.MARGINAL
    threshold.limit = 100.0
    threshold.save()
    thresholds_evaluate_workflow(workflow=workflow)
    assert status(threshold).verdict == Verdict.FAIL


def test_without_a_holdout_it_is_insufficient_data_never_a_pass(workflow, workflow_owner):
    threshold = impact(workflow, workflow_owner, handle_time(workflow))
    person_days(workflow, None, Arm.AI, FASTER)
    thresholds_evaluate_workflow(workflow=workflow)
    found = status(threshold)
    assert found.verdict == Verdict.INSUFFICIENT_DATA
    assert found.reason == (
        "Not enough data: 30 people with the AI, 0 in the holdout over the window; "
        "10 per arm needed."
    )


def test_two_impact_conditions_are_each_judged_at_half_alpha(workflow, workflow_owner):
    metric = handle_time(workflow)
    first = impact(workflow, workflow_owner, metric)
    impact(workflow, workflow_owner, metric, limit=5.0)
    person_days(workflow, None, Arm.AI, FASTER)
    person_days(workflow, None, Arm.HOLDOUT, SLOWER)
    thresholds_evaluate_workflow(workflow=workflow)
    assert "always-valid 97.5% interval" in status(first).reason


def test_per_cohort_scope_judges_each_cohort(workflow, workflow_owner):
    metric = handle_time(workflow)
    threshold = impact(workflow, workflow_owner, metric, scope="per_cohort")
    fast = Cohort.objects.create(workflow=workflow, name="Fast")
    small = Cohort.objects.create(workflow=workflow, name="Small")
    person_days(workflow, fast, Arm.AI, FASTER, prefix="f")
    person_days(workflow, fast, Arm.HOLDOUT, SLOWER, prefix="f")
    person_days(workflow, small, Arm.AI, FASTER[:3], prefix="s")
    thresholds_evaluate_workflow(workflow=workflow)
    verdicts = {
        s.cohort.name: s.verdict for s in ThresholdStatus.objects.filter(threshold=threshold)
    }
    assert verdicts == {"Fast": Verdict.PASS, "Small": Verdict.INSUFFICIENT_DATA}


def test_a_failing_pause_rollout_impact_threshold_pauses(workflow, workflow_owner):
    make_plan(workflow, current="limited")
    threshold = impact(
        workflow, workflow_owner, handle_time(workflow), action="pause_rollout", limit=10.0
    )
    person_days(workflow, None, Arm.AI, SLOWER)  # the AI is slower
    person_days(workflow, None, Arm.HOLDOUT, FASTER)
    thresholds_evaluate_workflow(workflow=workflow, now=timezone.now())
    assert status(threshold).verdict == Verdict.FAIL
    assert workflow.phases.get(kind="limited").status == PhaseStatus.PAUSED


def test_the_gate_and_the_thresholds_page_say_the_alpha_each_is_judged_at(
    workflow, workflow_owner, client
):
    from rollout.gates.metrics import thresholds_met
    from rollout.gates.registry import GateContext

    metric = handle_time(workflow)
    impact(workflow, workflow_owner, metric)
    impact(workflow, workflow_owner, metric, limit=5.0)
    thresholds_evaluate_workflow(workflow=workflow)
    note = (
        "Each impact condition is judged at α = 2.5% because the gate holds 2 (α = 5% split "
        "between them), with always-valid intervals."
    )
    phases = make_plan(workflow, current="shadow")
    context = GateContext(workflow, phases["shadow"], phases["limited"], timezone.now())
    outcome = thresholds_met(context)
    assert outcome.reason.endswith(note)
    client.force_login(workflow_owner)
    page = client.get(f"/workflows/{workflow.slug}/thresholds/")
    assert note in page.content.decode()
