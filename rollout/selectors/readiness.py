"""Readiness answered from evidence: what Rollout observes for each readiness question.

The owner's answer is a declaration; beside it stands what Rollout can see for itself (the source
kinds and their observed health, the shadow phase's dates and comparisons, events received, the
plan, briefing coverage). A declared "yes" that the observation contradicts blocks the gate as a
"partly" does (rollout.gates.planning.readiness_all_yes). Questions Rollout cannot observe (bad-
output handling, the communication plan) stay declarations, and say so.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Max
from django.utils import timezone

from rollout.lib.numbers import format_count, format_percent
from rollout.models import (
    IN_PROGRESS,
    PHASE_ORDER,
    QUALITY_METRICS,
    DataSource,
    EscalationLevel,
    Phase,
    PhaseKind,
    ReadinessAnswerValue,
    ReadinessQuestion,
    RollupPeriod,
    SourceKind,
    SourceState,
    Threshold,
    UsageRollup,
    Workflow,
)
from rollout.selectors.briefings import briefing_coverage
from rollout.selectors.source_health import source_health_at
from rollout.selectors.usage import COUNTERS, usage_window

LOGGING_DAYS = 7
YES, PARTLY, NO = ReadinessAnswerValue.YES, ReadinessAnswerValue.PARTLY, ReadinessAnswerValue.NO


@dataclass(frozen=True)
class Observation:
    """What Rollout sees for one question: `answer` yes / partly / no, or None when it cannot
    observe it at all (the declaration is then all there is)."""

    answer: str | None
    summary: str

    @property
    def label(self) -> str:
        return ReadinessAnswerValue(self.answer).label if self.answer else "Not observable"

    def contradicts(self, declared: str | None) -> bool:
        """A declared "yes" that the observation does not bear out."""
        return declared == YES and self.answer in (PARTLY, NO)


def _count(n: int, noun: str) -> str:
    return f"{format_count(n)} {noun}{'' if n == 1 else 's'}"


def _names(items: list[str]) -> str:
    return ", ".join(items[:3]) + (f" and {len(items) - 3} more" if len(items) > 3 else "")


def _live_data(workflow: Workflow, now: datetime) -> Observation:
    """From the source kinds, then from what the live ones report (rollout.selectors.
    source_health): a live connection that is stale, silent or has never reported is not yet
    live data in any sense that counts."""
    sources = list(
        DataSource.objects.filter(workflow=workflow).select_related("status").order_by("name")
    )
    if not sources:
        return Observation(NO, "No data source is declared.")
    not_live = [
        f"{s.name} ({s.get_kind_display().lower()})" for s in sources if s.kind != SourceKind.LIVE
    ]
    live = [source_health_at(s, now) for s in sources if s.kind == SourceKind.LIVE]
    if not live:
        return Observation(NO, f"No live connection: {_names(not_live)}.")
    problems = [f"Not live yet: {_names(not_live)}."] if not_live else []
    problems += [h.reason for h in live if h.flagged]
    never = [h.source.name for h in live if h.state == SourceState.NEVER_REPORTED]
    if never:
        problems.append(f"Live, but never reported what it reads: {_names(never)}.")
    if problems:
        return Observation(PARTLY, " ".join(problems))
    count = _count(len(live), "live connection")
    return Observation(YES, f"All sources are live and report fresh data: {count}.")


def _shadow_run(workflow: Workflow, now: datetime) -> Observation:
    phase = Phase.objects.filter(workflow=workflow, kind=PhaseKind.SHADOW).first()
    if phase is None:
        return Observation(NO, "There is no shadow phase in the plan yet.")
    if phase.actual_start is None:
        return Observation(NO, "The shadow phase has not started.")
    end = phase.actual_end or now
    days = (end - phase.actual_start).days
    start_day, end_day = timezone.localdate(phase.actual_start), timezone.localdate(end)
    counts = usage_window(workflow, start=start_day, end=end_day)
    ran = f"Shadow ran {_count(days, 'day')} ({start_day:%-d %b} – {end_day:%-d %b %Y})"
    if not counts.shadow_compared:
        return Observation(PARTLY, f"{ran}, but no agreed or disagreed events were reported.")
    compared = _count(counts.shadow_compared, "comparison")
    agreement = format_percent(counts.shadow_agreement_rate)
    if phase.actual_end is None and days < phase.min_duration_days:
        return Observation(
            PARTLY,
            f"Shadow has run {days} of its {phase.min_duration_days} days so far, with "
            f"{compared} ({agreement} agreed).",
        )
    return Observation(YES, f"{ran} with {compared} ({agreement} agreed).")


def _logging(workflow: Workflow, now: datetime) -> Observation:
    today = timezone.localdate(now)
    first = today - timedelta(days=LOGGING_DAYS - 1)
    rows = UsageRollup.objects.filter(workflow=workflow, period=RollupPeriod.DAY)
    counts = usage_window(workflow, start=first, end=today)
    received = sum(getattr(counts, name) for name in COUNTERS)
    last_day = rows.aggregate(last=Max("day"))["last"]
    if received:
        return Observation(
            YES,
            f"{_count(received, 'event')} received in the last {LOGGING_DAYS} days "
            f"(latest on {last_day:%-d %b}).",
        )
    if last_day is None:
        return Observation(NO, "No usage event has been received yet.")
    return Observation(
        NO, f"No events in the last {LOGGING_DAYS} days; the latest were on {last_day:%-d %b %Y}."
    )


def _named_owner(workflow: Workflow) -> Observation:
    owner = workflow.owner
    if owner.is_active:
        return Observation(YES, f"Owned by {owner}.")
    return Observation(NO, f"The owner, {owner}, is deactivated: the workflow is ownerless.")


def _escalation_path(workflow: Workflow) -> Observation:
    levels = list(
        EscalationLevel.objects.filter(workflow=workflow)
        .select_related("contact")
        .order_by("position")
    )
    if not levels:
        return Observation(NO, "No escalation level is defined.")
    inactive = [f"level {lv.position} ({lv.contact})" for lv in levels if not lv.contact.is_active]
    if inactive:
        return Observation(PARTLY, f"Deactivated contact at {_names(inactive)}.")
    contacts = _names([str(lv.contact) for lv in levels])
    return Observation(YES, f"{_count(len(levels), 'level')}: {contacts}.")


def _thresholds(workflow: Workflow) -> Observation:
    metrics = list(Threshold.objects.filter(workflow=workflow).values_list("metric", flat=True))
    if not metrics:
        return Observation(NO, "No quality threshold is defined.")
    quality = sum(1 for m in metrics if m in QUALITY_METRICS)
    defined = _count(len(metrics), "threshold")
    if not quality:
        return Observation(
            PARTLY, f"{defined}, but none on error, override or acceptance rate (rule 2)."
        )
    return Observation(YES, f"{defined}, {quality} on error, override or acceptance rate.")


def _briefing_phase(workflow: Workflow) -> str:
    """The phase whose cohorts must be briefed: the one after the phase in progress, and the
    limited roll-out (the first with cohorts) until the roll-out gets there."""
    current = Phase.objects.filter(workflow=workflow, status__in=IN_PROGRESS).first()
    if current is None or PHASE_ORDER.index(current.kind) < PHASE_ORDER.index(PhaseKind.SHADOW):
        return PhaseKind.LIMITED
    return PHASE_ORDER[min(PHASE_ORDER.index(current.kind) + 1, len(PHASE_ORDER) - 1)]


def _failure_modes(workflow: Workflow) -> Observation:
    kind = _briefing_phase(workflow)
    coverage = briefing_coverage(workflow, kind)
    phase = PhaseKind(kind).label.lower()
    if not coverage.members:
        return Observation(None, f"No cohort is live in the {phase} yet: nobody to brief.")
    if coverage.version is None:
        return Observation(
            NO,
            f"No failure-mode briefing is published: none of the {coverage.members} members "
            f"live in the {phase} has acknowledged one.",
        )
    text = (
        f"{coverage.acknowledged} of {coverage.members} members live in the {phase} "
        f"({coverage.percent}%) acknowledged briefing version {coverage.version.number}; "
        f"the plan's target is {coverage.target}%."
    )
    if coverage.meets_target:
        return Observation(YES, text)
    return Observation(PARTLY if coverage.acknowledged else NO, text)


NOT_OBSERVABLE = Observation(None, "Rollout cannot observe this: the declaration is all there is.")


def readiness_observed(
    workflow: Workflow, *, now: datetime | None = None
) -> dict[str, Observation]:
    """Question → what Rollout observes, for the nine readiness questions."""
    now = now or timezone.now()
    return {
        ReadinessQuestion.LIVE_DATA: _live_data(workflow, now),
        ReadinessQuestion.BAD_OUTPUT_HANDLING: NOT_OBSERVABLE,
        ReadinessQuestion.FAILURE_MODES: _failure_modes(workflow),
        ReadinessQuestion.NAMED_OWNER: _named_owner(workflow),
        ReadinessQuestion.ESCALATION_PATH: _escalation_path(workflow),
        ReadinessQuestion.THRESHOLDS: _thresholds(workflow),
        ReadinessQuestion.LOGGING: _logging(workflow, now),
        ReadinessQuestion.SHADOW_RUN: _shadow_run(workflow, now),
        ReadinessQuestion.COMMUNICATION_PLAN: NOT_OBSERVABLE,
    }
