"""Drift that speaks: adoption and negative feedback are checked beside the quality rates, and a
cohort turning degrading tells the owner once per episode, can open an escalation, and its
recovery is recorded and told."""

from datetime import date

import pytest
from django.core import mail

from rollout.lib.stats import is_degrading_rate_ratio, rate_ratio_test
from rollout.models import (
    ActivityEntry,
    Cohort,
    CohortMember,
    DriftEpisode,
    DriftStatus,
    Escalation,
    EscalationSource,
    Metric,
    Notification,
    Workflow,
)
from rollout.selectors.usage import UsageCounts
from rollout.services.drift import (
    INVOCATIONS_PER_USER,
    RATE_CHECKS,
    VERB_ONSET,
    VERB_RECOVERED,
    Window,
    _rate_result,
    _use_result,
    drift_evaluate_workflow,
)
from tests.factories import UserFactory
from tests.rollout.promotion_fixtures import make_plan
from tests.rollout.usage_events_data import at_noon, days_ago, events, ingest

pytestmark = pytest.mark.django_db

BASELINE = range(19, 12, -1)
RECENT = range(6, -1, -1)
WINDOWS = ((date(2026, 11, 1), date(2026, 11, 7)), (date(2026, 11, 20), date(2026, 11, 26)))


@pytest.fixture
def people(workflow: Workflow) -> list[str]:
    cohort = Cohort.objects.create(workflow=workflow, name="Tier 1", enrolled_phase="limited")
    emails = [f"agent{i}@example.com" for i in range(10)]
    for email in emails:
        CohortMember.objects.create(cohort=cohort, user=UserFactory(email=email))
    make_plan(workflow, current="limited", days_running=20)
    return emails


def use(workflow: Workflow, who: list[str], days: range) -> None:
    batch = []
    for ago in days:
        for email in who:
            batch += events("invocation", 5, user_ref=email, at=at_noon(days_ago(ago)))
    ingest(workflow, batch)


def onset_notes(workflow):
    return Notification.objects.filter(workflow=workflow, title__contains="is degrading")


@pytest.fixture
def falling_off(workflow, people):
    """Everyone used it in the baseline week; three of ten in the last week."""
    use(workflow, people, BASELINE)
    use(workflow, people[:3], RECENT)
    return people


def test_adoption_falling_off_is_degrading_and_told_once(
    workflow, workflow_owner, falling_off, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):
            rows = drift_evaluate_workflow(workflow=workflow)
    by_metric = {r.metric: r for r in rows}
    adoption = by_metric[Metric.ADOPTION_RATE]
    assert adoption.status == DriftStatus.DEGRADING
    assert (adoption.baseline_value, adoption.current_value) == (1.0, 0.3)
    assert adoption.explanation.startswith("Adoption fell from 100.0% (10 members")
    # The three who still use it use it as much as before.
    assert by_metric[INVOCATIONS_PER_USER].status == DriftStatus.STABLE
    (note,) = onset_notes(workflow)
    assert note.recipient == workflow_owner
    assert note.title == "Support reply drafting: “Tier 1” is degrading (adoption)"
    assert note.url == "/workflows/support-reply-drafting/usage/"
    assert len([m for m in mail.outbox if "is degrading" in m.subject]) == 1
    entry = ActivityEntry.objects.get(workflow=workflow, verb=VERB_ONSET)
    assert entry.target == "cohort Tier 1"
    (episode,) = DriftEpisode.objects.filter(workflow=workflow)
    assert (episode.ended_at, episode.metrics) == (None, [Metric.ADOPTION_RATE])
    assert not Escalation.objects.filter(workflow=workflow).exists()  # the plan did not ask


def test_the_plan_may_open_an_escalation_on_drift(workflow, falling_off):
    Workflow.objects.filter(pk=workflow.pk).update(drift_opens_escalation=True)
    drift_evaluate_workflow(workflow=workflow)
    drift_evaluate_workflow(workflow=workflow)
    (escalation,) = Escalation.objects.filter(workflow=workflow)
    assert escalation.source == EscalationSource.DRIFT
    assert escalation.title == "Support reply drafting: “Tier 1” is degrading (adoption)"


def test_recovery_is_recorded_and_told_once(workflow, falling_off):
    drift_evaluate_workflow(workflow=workflow)
    use(workflow, falling_off[3:], RECENT)  # the others came back
    drift_evaluate_workflow(workflow=workflow)
    drift_evaluate_workflow(workflow=workflow)
    (episode,) = DriftEpisode.objects.filter(workflow=workflow)
    assert episode.ended_at is not None
    assert episode.recovery.startswith("Adoption held at 100.0%")
    assert ActivityEntry.objects.filter(workflow=workflow, verb=VERB_RECOVERED).count() == 1
    recovered = Notification.objects.filter(workflow=workflow, title__contains="no longer")
    assert recovered.count() == 1
    assert onset_notes(workflow).count() == 1


def test_a_stable_cohort_tells_nobody(workflow, people):
    use(workflow, people, BASELINE)
    use(workflow, people, RECENT)
    drift_evaluate_workflow(workflow=workflow)
    assert not onset_notes(workflow).exists()
    assert not DriftEpisode.objects.exists()


def test_the_phase_ending_closes_an_episode_quietly(workflow, falling_off):
    drift_evaluate_workflow(workflow=workflow)
    workflow.phases.update(status="completed")
    assert drift_evaluate_workflow(workflow=workflow) == []
    (episode,) = DriftEpisode.objects.filter(workflow=workflow)
    assert episode.ended_at is not None
    assert not ActivityEntry.objects.filter(workflow=workflow, verb=VERB_RECOVERED).exists()


# --- The new checks, on their numbers ----------------------------------------------------------

NEGATIVE = next(c for c in RATE_CHECKS if c.metric == Metric.NEGATIVE_FEEDBACK_SHARE)


def test_a_rising_negative_feedback_share_is_degrading():
    base = Window(UsageCounts(), (4, 80))
    cur = Window(UsageCounts(), (30, 80))
    result = _rate_result(NEGATIVE, base, cur, WINDOWS)
    assert result.status == DriftStatus.DEGRADING
    assert result.explanation.startswith(
        "Negative-feedback share rose from 5.0% (80 feedback reports, 1–7 Nov)"
    )


def test_too_little_feedback_is_not_enough_data():
    result = _rate_result(
        NEGATIVE, Window(UsageCounts(), (1, 19)), Window(UsageCounts(), (9, 40)), WINDOWS
    )
    assert result.status == DriftStatus.INSUFFICIENT_DATA
    assert result.explanation == (
        "Negative-feedback share: 19 baseline and 40 recent feedback reports; "
        "20 of each are needed."
    )


def test_fewer_invocations_per_active_person_is_degrading():
    base = UsageCounts(invocations=400, active_users=10)
    cur = UsageCounts(invocations=150, active_users=10)
    result = _use_result(base, cur, WINDOWS)
    assert result.status == DriftStatus.DEGRADING
    assert (result.baseline_value, result.current_value) == (40.0, 15.0)


def test_the_rate_ratio_test():
    same = rate_ratio_test(400, 10, 200, 5)
    assert (same.rate_a, same.rate_b, same.p_value) == (40.0, 40.0, 1.0)
    assert not is_degrading_rate_ratio(same)
    fell = rate_ratio_test(400, 10, 300, 10)
    assert fell.p_value < 0.01
    assert is_degrading_rate_ratio(fell)  # 25 % fewer
    assert not is_degrading_rate_ratio(rate_ratio_test(4000, 10, 3400, 10))  # 15 %: not material
    assert rate_ratio_test(0, 0, 5, 1).p_value == 1.0
    with pytest.raises(ValueError):
        rate_ratio_test(-1, 1, 1, 1)
