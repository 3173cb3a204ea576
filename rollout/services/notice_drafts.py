"""Notices the product drafts for the owner, who completes and schedules them:

* a promotion into a phase with enrolled cohorts → a cohort-enrolment notice to those cohorts that
  no notice reaches yet (called from rollout.services.promotions);
* a change of the AI configuration mid-phase, declared or observed (rule 9) → a model-change
  notice to everyone in scope saying what changed (rollout.services.ai_config);
* a handover (rule 1) → a notice to everyone in scope naming the new owner
  (rollout.services.workflows);
* a completed review → its outcome to everyone in scope (rollout.services.reviews).

Each is called inside the caller's transaction and writes nothing when a draft already exists.
"""

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

from django.utils import formats, timezone

from accounts.models import User
from rollout.models import (
    ChangeNotice,
    Cohort,
    NoticeAudience,
    NoticeKind,
    NoticeStatus,
    Phase,
    PhaseKind,
    PromotionRequest,
    Review,
    Workflow,
)
from rollout.selectors.notices import notice_lead_time, notices_covering
from rollout.services.notices import notice_draft_automatic

# Any notice not cancelled counts as "one exists": the owner may still be writing it.
LIVE_STATUSES = (
    NoticeStatus.DRAFT,
    NoticeStatus.AWAITING_APPROVAL,
    NoticeStatus.SCHEDULED,
    NoticeStatus.PUBLISHED,
)
ENROLMENT_PHASES = (PhaseKind.LIMITED, PhaseKind.BROAD)
START_OF_DAY = time(9, 0)


def _next_hour(now: datetime) -> datetime:
    return timezone.localtime(now).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)


def _times(workflow: Workflow, effective: datetime | None) -> tuple[datetime, datetime]:
    """(publish, effective): published the lead time before `effective` but not in the past; when
    that is impossible the effective time is kept and scheduling will mark it urgent. Without a
    usable effective time, the lead time after the publish time."""
    publish = _next_hour(timezone.now())
    if effective is None or effective <= publish:
        return publish, publish + notice_lead_time(workflow)
    return max(publish, effective - notice_lead_time(workflow)), effective


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, START_OF_DAY))


def _when(at: datetime) -> str:
    return formats.date_format(timezone.localtime(at), "j F Y, H:i")


def notice_draft_for_promotion(
    *, request: PromotionRequest, actor: User | None
) -> ChangeNotice | None:
    """A cohort-enrolment draft to the cohorts enrolled at the promotion's target phase that no
    notice reaches yet; effective at the scheduled promotion time or the phase's planned start."""
    workflow = request.workflow
    to_phase = Phase.objects.get(pk=request.to_phase_id)
    if to_phase.kind not in ENROLMENT_PHASES:
        return None
    cohorts = list(
        Cohort.objects.filter(workflow=workflow, enrolled_phase=to_phase.kind).order_by("name")
    )
    covering = notices_covering(workflow, [c.pk for c in cohorts], LIVE_STATUSES)
    lacking = [c for c in cohorts if not covering[c.pk]]
    if not lacking:
        return None
    planned = _start_of(to_phase.planned_start) if to_phase.planned_start else None
    publish_at, effective_at = _times(workflow, request.scheduled_for or planned)
    phase = to_phase.get_kind_display()
    names = ", ".join(c.name for c in lacking)
    body = (
        f"You are in **{names}**, enrolled in the {phase.lower()} of “{workflow.name}”.\n\n"
        f"From **{_when(effective_at)}** its AI output goes live for you: "
        f"{workflow.business_action or 'see the workflow for what it drives'}.\n\n"
        "## What changes for you\n\n- …\n\n"
        f"## Questions\n\nAsk {workflow.owner}, who owns this workflow."
    )
    return notice_draft_automatic(
        workflow=workflow,
        caused_by=actor,
        reason=f"A promotion to the {phase.lower()} enrols {names}.",
        cohorts=lacking,
        kind=NoticeKind.COHORT_ENROLMENT,
        title=f"The {phase.lower()} starts for you"[:200],
        body=body,
        audience=NoticeAudience.COHORTS,
        include_followers=False,
        publish_at=publish_at,
        effective_at=effective_at,
        requires_ack=True,
    )


def notice_draft_for_model_change(
    *,
    workflow: Workflow,
    actor: User | None,
    phase: Phase,
    changes: str = "",
    lines: Sequence[str] = (),
    observed: str = "",
) -> ChangeNotice:
    """Rule 9: the AI changed mid-phase, so everyone in scope needs a notice. `lines` say what
    changed ("Prompt version: v6 → v7"); `observed`, when Rollout detected the change in the
    events rather than someone declaring it, says what it saw (an unannounced change)."""
    publish_at, effective_at = _times(workflow, None)
    model = workflow.model_label or "a new model"
    phase_name = phase.get_kind_display().lower()
    listed = "".join(f"- {line}\n" for line in lines)
    if observed:
        title = f"“{workflow.name}”: its AI changed without notice"
        opening = (
            f"On {_when(timezone.now())} Rollout noticed that “{workflow.name}” runs an AI "
            f"configuration nobody announced, during the {phase_name}. {observed}\n\n"
            f"## What changed\n\n{listed}\n"
            f"{workflow.owner} is checking the change with the team that runs the AI.\n\n"
        )
        reason = "Events report an AI configuration nobody declared (rule 9)."
    elif lines and not all(line.startswith("Model") for line in lines):
        title = f"“{workflow.name}”: its AI configuration changed"
        opening = (
            f"On {_when(timezone.now())} “{workflow.name}” changed its AI configuration during "
            f"the {phase_name}:\n\n{listed}\n"
        )
        reason = "The AI configuration changed mid-phase (rule 9)."
    else:
        title = f"Now using {model}"
        opening = (
            f"On {_when(timezone.now())} “{workflow.name}” changed its model to **{model}** "
            f"during the {phase_name}.{f' ({changes})' if changes else ''}\n\n{listed}"
        )
        reason = "The model changed mid-phase (rule 9)."
    body = (
        f"{opening}## What changes for you\n\n- …\n\n"
        "Its quality is measured against a new baseline from the change, and the thresholds "
        "count only what happened since.\n\n"
        f"## Questions\n\nAsk {workflow.owner}, who owns this workflow."
    )
    return notice_draft_automatic(
        workflow=workflow,
        caused_by=actor,
        reason=reason,
        kind=NoticeKind.MODEL_CHANGE,
        title=title[:200],
        body=body,
        audience=NoticeAudience.EVERYONE,
        include_followers=True,
        publish_at=publish_at,
        effective_at=effective_at,
        requires_ack=True,
    )


def notice_draft_for_handover(
    *, workflow: Workflow, actor: User | None, old_owner: User, new_owner: User
) -> ChangeNotice | None:
    """Rule 1: a handover is announced. A draft to the workflow's cohorts (everyone in scope)
    that the new owner completes and publishes; none when the workflow has no cohort yet, since
    nobody would receive it."""
    if not Cohort.objects.filter(workflow=workflow).exists():
        return None
    publish_at, effective_at = _times(workflow, None)
    body = (
        f"From **{_when(effective_at)}** {new_owner} owns “{workflow.name}”, taking over from "
        f"{old_owner}.\n\nNothing changes in how you use it. Send questions, feedback and "
        f"problems with its output to {new_owner} from now on.\n\n## What changes for you\n\n"
        "- Nothing in the tool itself.\n"
    )
    return notice_draft_automatic(
        workflow=workflow,
        caused_by=actor,
        reason=f"{workflow.name} was handed over from {old_owner} to {new_owner} (rule 1).",
        kind=NoticeKind.OTHER,
        title=f"{new_owner} now owns {workflow.name}"[:200],
        body=body,
        audience=NoticeAudience.EVERYONE,
        include_followers=False,  # followers are told of the handover directly
        publish_at=publish_at,
        effective_at=effective_at,
        requires_ack=False,
    )


def notice_draft_for_review(*, review: Review, actor: User | None) -> ChangeNotice:
    """A completed review's outcome to everyone in scope: its decisions with their rationale,
    and when the next review is due. The owner edits and schedules it."""
    workflow = review.workflow
    publish_at, effective_at = _times(workflow, None)
    decisions = "\n".join(
        f"- **{d.get_kind_display()}**: {d.rationale}" for d in review.decisions.all()
    )
    next_due = (
        f"The next review is due on {formats.date_format(review.next_due, 'j F Y')}."
        if review.next_due
        else "There is no next review: the workflow is retired."
    )
    body = (
        f"{workflow.owner} reviewed “{workflow.name}”: its quality thresholds, adoption, "
        "feedback, escalations and incidents since the last review.\n\n"
        f"## What was decided\n\n{decisions}\n\n## What changes for you\n\n- …\n\n"
        f"{next_due}\n\n## Questions\n\nAsk {workflow.owner}, who owns this workflow."
    )
    return notice_draft_automatic(
        workflow=workflow,
        caused_by=actor,
        reason="A review was completed.",
        kind=NoticeKind.REVIEW_OUTCOME,
        title=f"Review of “{workflow.name}”: the outcome"[:200],
        body=body,
        audience=NoticeAudience.EVERYONE,
        include_followers=True,
        publish_at=publish_at,
        effective_at=effective_at,
        requires_ack=False,
    )
