"""Plans and gate data made straight through the ORM (test setup), for the promotion tests."""

import uuid
from datetime import date, timedelta

from django.utils import timezone

from accounts.models import User
from rollout.models import (
    PHASE_ORDER,
    Briefing,
    ChangeNotice,
    Cohort,
    CohortMember,
    DataSource,
    EscalationLevel,
    Phase,
    PhaseStatus,
    ReadinessAnswer,
    ReadinessQuestion,
    SourceKind,
    Threshold,
    Workflow,
)
from rollout.services.briefings import BriefingText, briefing_acknowledge, briefing_publish
from rollout.services.source_health import source_heartbeat_record


def make_plan(
    workflow: Workflow, *, current: str = "shadow", days_running: int = 20, min_days: int = 14
) -> dict[str, Phase]:
    """Five phases; the ones before `current` completed, `current` active for `days_running`."""
    now = timezone.now()
    current_index = PHASE_ORDER.index(current)
    phases = {}
    for index, kind in enumerate(PHASE_ORDER):
        status = (
            PhaseStatus.COMPLETED
            if index < current_index
            else PhaseStatus.ACTIVE
            if index == current_index
            else PhaseStatus.PLANNED
        )
        phases[kind] = Phase.objects.create(
            workflow=workflow,
            kind=kind,
            position=index,
            planned_start=date(2026, 1, 1) + timedelta(days=30 * index),
            status=status,
            min_duration_days=min_days,
            actual_start=now - timedelta(days=days_running) if index == current_index else None,
        )
    return phases


def make_shadow_ready(workflow: Workflow, contact: User) -> None:
    """A documented live source that has reported (fresh), and an escalation level."""
    source = DataSource.objects.create(
        workflow=workflow,
        name="Ticket history",
        kind=SourceKind.LIVE,
        freshness="updated within 15 minutes",
        validation="row counts checked hourly",
        last_verified_at=date(2026, 11, 1),
    )
    source_heartbeat_record(source=source, records=100, rejected=0, data_as_of=timezone.now())
    EscalationLevel.objects.create(
        workflow=workflow, position=1, contact=contact, channel="email", response_target_minutes=30
    )


def make_healthy_usage(workflow: Workflow, user_ref: str, *, cases: int = 120) -> None:
    """Shadow-style usage an hour ago with no errors, rolled up and evaluated: the metric gate
    conditions (usage received, thresholds met) then pass."""
    from rollout.services.evaluation import usage_refresh_pending
    from rollout.services.usage_ingest import EventData, usage_events_store

    at = timezone.now() - timedelta(hours=1)
    events = [
        EventData(event_id=uuid.uuid4(), user_ref=user_ref, kind=kind, occurred_at=at)
        for _ in range(cases)
        for kind in ("invocation", "agreed")
    ]
    usage_events_store(workflow=workflow, events=events)
    usage_refresh_pending()


def make_limited_ready(workflow: Workflow, answered_by: User, member: User) -> Cohort:
    """Everything the gate into limited asks, with the readiness answers all "yes" and borne out
    by what Rollout observes (a live source and an escalation path, if the workflow has none)."""
    if not workflow.data_sources.exists() and not workflow.escalation_levels.exists():
        make_shadow_ready(workflow, answered_by)
    Threshold.objects.create(
        workflow=workflow,
        metric="error_rate",
        comparator="lte",
        limit=0.05,
        bad_output="A reply that promises a refund we do not give.",
        action="pause_rollout",
    )
    for question in ReadinessQuestion.values:
        ReadinessAnswer.objects.create(
            workflow=workflow, question=question, answer="yes", answered_by=answered_by
        )
    cohort = make_cohort(workflow, "limited", member)
    make_briefed(workflow, answered_by, [member])
    make_healthy_usage(workflow, member.email)
    make_notice_published(workflow)
    return cohort


def make_briefed(workflow: Workflow, author: User, people: list[User]) -> Briefing:
    """A published failure-mode briefing, acknowledged by `people`."""
    briefing = briefing_publish(
        workflow=workflow,
        actor=author,
        text=BriefingText("Drafts replies.", "A wrong refund amount.", "", "Report it."),
        material=True,
        change_note="",
    )
    for person in people:
        briefing_acknowledge(briefing=briefing, user=person)
    return briefing


def make_notice_published(
    workflow: Workflow, *, cohorts: list[Cohort] | None = None, days_ago: float = 6
) -> ChangeNotice:
    """A notice published `days_ago` (to everyone in scope, or to `cohorts`): publishing is the
    delivery's job, so the row is made as it leaves it."""
    published = timezone.now() - timedelta(days=days_ago)
    notice = ChangeNotice.objects.create(
        workflow=workflow,
        kind="cohort_enrolment",
        title="The limited roll-out starts",
        body="From next week.",
        body_html="<p>From next week.</p>",
        audience="cohorts" if cohorts else "everyone",
        publish_at=published,
        effective_at=published + timedelta(days=workflow.lead_time_days),
        status="published",
        published_at=published,
    )
    notice.cohorts.set(cohorts or [])
    return notice


def make_cohort(workflow: Workflow, phase: str, member: User | None) -> Cohort:
    cohort = Cohort.objects.create(
        workflow=workflow, name=f"{phase.title()} pilots", enrolled_phase=phase
    )
    if member is not None:
        CohortMember.objects.create(cohort=cohort, user=member)
    return cohort
