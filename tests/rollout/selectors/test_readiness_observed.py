"""What Rollout observes for each readiness question, and the contradictions it finds."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from rollout.models import (
    DataSource,
    EscalationLevel,
    ReadinessAnswer,
    ReadinessQuestion,
    SourceKind,
    Threshold,
    Verdict,
)
from rollout.selectors.plan import readiness_current
from rollout.selectors.readiness import readiness_observed
from rollout.services.briefings import BriefingText, briefing_acknowledge, briefing_publish
from rollout.services.evaluation import usage_refresh_pending
from rollout.services.source_health import source_heartbeat_record
from rollout.services.usage_ingest import EventData, usage_events_store
from tests.factories import UserFactory
from tests.rollout.gates.test_planning import checks
from tests.rollout.promotion_fixtures import make_cohort, make_limited_ready, make_plan


def observed(workflow, question):
    return readiness_observed(workflow)[question]


def send(workflow, kind: str, n: int, *, hours_ago: float = 1) -> None:
    at = timezone.now() - timedelta(hours=hours_ago)
    usage_events_store(
        workflow=workflow,
        events=[
            EventData(event_id=uuid.uuid4(), user_ref="a@example.com", kind=kind, occurred_at=at)
            for _ in range(n)
        ],
    )
    usage_refresh_pending()


def test_live_data_from_the_source_kinds_and_their_health(workflow):
    seen = observed(workflow, ReadinessQuestion.LIVE_DATA)
    assert (seen.answer, seen.summary) == ("no", "No data source is declared.")
    DataSource.objects.create(workflow=workflow, name="CRM export", kind=SourceKind.STATIC_EXPORT)
    seen = observed(workflow, ReadinessQuestion.LIVE_DATA)
    assert (seen.answer, seen.summary) == ("no", "No live connection: CRM export (static export).")
    tickets = DataSource.objects.create(
        workflow=workflow, name="Tickets", kind=SourceKind.LIVE, max_age_minutes=60
    )
    seen = observed(workflow, ReadinessQuestion.LIVE_DATA)
    assert (seen.answer, seen.summary) == (
        "partly",
        "Not live yet: CRM export (static export). "
        "Live, but never reported what it reads: Tickets.",
    )
    crm = DataSource.objects.get(name="CRM export")
    crm.kind = SourceKind.LIVE
    crm.save()
    seen = observed(workflow, ReadinessQuestion.LIVE_DATA)
    assert (seen.answer, seen.summary) == (
        "partly",
        "Live, but never reported what it reads: CRM export, Tickets.",
    )
    now = timezone.now()
    source_heartbeat_record(source=crm, records=10, rejected=0, data_as_of=now)
    source_heartbeat_record(
        source=tickets, records=10, rejected=0, data_as_of=now - timedelta(hours=3)
    )
    seen = observed(workflow, ReadinessQuestion.LIVE_DATA)
    assert seen.answer == "partly"
    assert seen.summary.startswith("“Tickets” is stale since ")
    source_heartbeat_record(source=tickets, records=10, rejected=0, data_as_of=now)
    seen = observed(workflow, ReadinessQuestion.LIVE_DATA)
    assert (seen.answer, seen.summary) == (
        "yes",
        "All sources are live and report fresh data: 2 live connections.",
    )


def test_logging_from_events_received_in_the_last_days(workflow):
    seen = observed(workflow, ReadinessQuestion.LOGGING)
    assert (seen.answer, seen.summary) == ("no", "No usage event has been received yet.")
    send(workflow, "invocation", 3, hours_ago=24 * 10)
    seen = observed(workflow, ReadinessQuestion.LOGGING)
    assert seen.answer == "no"
    assert seen.summary.startswith("No events in the last 7 days; the latest were on ")
    send(workflow, "invocation", 2)
    seen = observed(workflow, ReadinessQuestion.LOGGING)
    assert seen.answer == "yes"
    assert seen.summary.startswith("2 events received in the last 7 days")


def test_shadow_run_from_the_phase_dates_and_comparisons(workflow):
    seen = observed(workflow, ReadinessQuestion.SHADOW_RUN)
    assert (seen.answer, seen.summary) == ("no", "There is no shadow phase in the plan yet.")
    phases = make_plan(workflow, current="audit")
    seen = observed(workflow, ReadinessQuestion.SHADOW_RUN)
    assert (seen.answer, seen.summary) == ("no", "The shadow phase has not started.")
    shadow = phases["shadow"]
    shadow.actual_start = timezone.now() - timedelta(days=5)
    shadow.min_duration_days = 14
    shadow.save()
    seen = observed(workflow, ReadinessQuestion.SHADOW_RUN)
    assert seen.answer == "partly"
    assert seen.summary.endswith("but no agreed or disagreed events were reported.")
    send(workflow, "agreed", 3)
    send(workflow, "disagreed", 1)
    seen = observed(workflow, ReadinessQuestion.SHADOW_RUN)
    assert seen.answer == "partly"
    assert seen.summary == (
        "Shadow has run 5 of its 14 days so far, with 4 comparisons (75.0% agreed)."
    )
    shadow.actual_start = timezone.now() - timedelta(days=15)
    shadow.save()
    seen = observed(workflow, ReadinessQuestion.SHADOW_RUN)
    assert seen.answer == "yes"
    assert seen.summary.startswith("Shadow ran 15 days (")
    assert seen.summary.endswith("with 4 comparisons (75.0% agreed).")


def test_owner_escalation_path_and_thresholds_from_the_plan(workflow, ops_leader):
    assert observed(workflow, ReadinessQuestion.NAMED_OWNER).answer == "yes"
    assert observed(workflow, ReadinessQuestion.ESCALATION_PATH).answer == "no"
    contact = UserFactory(display_name="Carl Contact")
    EscalationLevel.objects.create(
        workflow=workflow, position=1, contact=contact, channel="email", response_target_minutes=30
    )
    seen = observed(workflow, ReadinessQuestion.ESCALATION_PATH)
    assert (seen.answer, seen.summary) == ("yes", "1 level: Carl Contact.")
    contact.is_active = False
    contact.save()
    seen = observed(workflow, ReadinessQuestion.ESCALATION_PATH)
    assert (seen.answer, seen.summary) == (
        "partly",
        "Deactivated contact at level 1 (Carl Contact).",
    )
    assert observed(workflow, ReadinessQuestion.THRESHOLDS).answer == "no"
    Threshold.objects.create(
        workflow=workflow, metric="p95_latency_ms", comparator="lte", limit=2000,
        bad_output="slow", action="alert",
    )  # fmt: skip
    assert observed(workflow, ReadinessQuestion.THRESHOLDS).answer == "partly"
    Threshold.objects.create(
        workflow=workflow, metric="error_rate", comparator="lte", limit=0.05,
        bad_output="wrong", action="alert",
    )  # fmt: skip
    seen = observed(workflow, ReadinessQuestion.THRESHOLDS)
    assert (seen.answer, seen.summary) == (
        "yes",
        "2 thresholds, 1 on error, override or acceptance rate.",
    )
    workflow.owner.is_active = False
    workflow.owner.save()
    workflow.refresh_from_db()
    seen = observed(workflow, ReadinessQuestion.NAMED_OWNER)
    assert seen.answer == "no" and "ownerless" in seen.summary


def test_questions_rollout_cannot_observe_say_so(workflow):
    for question in (ReadinessQuestion.BAD_OUTPUT_HANDLING, ReadinessQuestion.COMMUNICATION_PLAN):
        seen = observed(workflow, question)
        assert seen.answer is None and seen.label == "Not observable"
        assert not seen.contradicts("yes")


def test_a_declared_yes_the_observation_contradicts(workflow, workflow_owner):
    ReadinessAnswer.objects.create(
        workflow=workflow, question="logging", answer="yes", answered_by=workflow_owner
    )
    ReadinessAnswer.objects.create(
        workflow=workflow, question="thresholds", answer="no", answered_by=workflow_owner
    )
    items = {i.question: i for i in readiness_current(workflow, observe=True)}
    assert items["logging"].contradiction  # yes declared, no events observed
    assert not items["thresholds"].contradiction  # a "no" is never contradicted
    assert not items["named_owner"].contradiction  # unanswered
    assert readiness_current(workflow)[0].observed is None  # only when asked


@pytest.fixture
def member(db):
    return UserFactory(display_name="Mia Member")


def test_a_contradiction_blocks_the_gate_like_partly(workflow, ops_leader, member):
    make_plan(workflow, current="shadow")
    make_limited_ready(workflow, ops_leader, member)
    assert checks(workflow, "shadow", "limited")["readiness_all_yes"].status == Verdict.PASS
    DataSource.objects.create(workflow=workflow, name="CRM export", kind=SourceKind.STATIC_EXPORT)
    check = checks(workflow, "shadow", "limited")["readiness_all_yes"]
    assert check.status == Verdict.FAIL
    assert check.reason == (
        "Declared “yes”, contradicted by what Rollout observes: Does it run on live data rather "
        "than static exports? (observed: Not live yet: CRM export (static export).)"
    )


def test_failure_modes_from_briefing_coverage_of_the_next_phase(workflow, ops_leader):
    question = ReadinessQuestion.FAILURE_MODES
    seen = observed(workflow, question)
    assert seen.answer is None
    assert seen.summary == "No cohort is live in the limited roll-out yet: nobody to brief."
    people = [UserFactory() for _ in range(10)]
    cohort = make_cohort(workflow, "limited", people[0])
    for person in people[1:]:
        cohort.memberships.create(user=person)
    seen = observed(workflow, question)
    assert seen.answer == "no"
    assert seen.summary.startswith("No failure-mode briefing is published: none of the 10 ")
    text = BriefingText("Drafts replies.", "A wrong refund.", "", "Report it.")
    briefing = briefing_publish(
        workflow=workflow, actor=ops_leader, text=text, material=True, change_note=""
    )
    for person in people[:8]:
        briefing_acknowledge(briefing=briefing, user=person)
    seen = observed(workflow, question)
    assert (seen.answer, seen.summary) == (
        "partly",
        "8 of 10 members live in the limited roll-out (80%) acknowledged briefing version 1; "
        "the plan's target is 90%.",
    )
    briefing_acknowledge(briefing=briefing, user=people[8])
    assert observed(workflow, question).answer == "yes"  # 90 %: exactly the target
