"""Reads of a workflow's failure-mode briefing: its versions, who acknowledged what, and coverage
(the share of cohort members who acknowledged the version that counts).

The version that counts is the latest *material* one: a minor correction needs no new
acknowledgement, so an acknowledgement of the latest material version or of any later one counts.
Callers have already checked the user may see the workflow (rollout.permissions.access_workflow).
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Exists, OuterRef, QuerySet
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from rollout.models import (
    PHASE_ORDER,
    Briefing,
    BriefingAcknowledgement,
    Cohort,
    CohortMember,
    EnrolmentPhase,
    Workflow,
)
from rollout.selectors.escalation_path import escalation_level_list
from rollout.selectors.thresholds import threshold_list_for_workflow


def briefing_list(workflow: Workflow) -> QuerySet[Briefing]:
    """Every published version, newest first, with who published it."""
    return Briefing.objects.filter(workflow=workflow).select_related("published_by")


def briefing_current(workflow: Workflow) -> Briefing | None:
    """The latest version, or None before the first is published."""
    return Briefing.objects.filter(workflow=workflow).order_by("-number").first()


def briefing_counting(workflow: Workflow) -> Briefing | None:
    """The version whose acknowledgement counts: the latest material one."""
    return Briefing.objects.filter(workflow=workflow, material=True).order_by("-number").first()


def briefing_get_for_workflow(workflow: Workflow, briefing_id: int) -> Briefing:
    """One version of this workflow; Briefing.DoesNotExist for another workflow's."""
    return Briefing.objects.get(workflow=workflow, pk=briefing_id)


def briefing_acknowledgement_latest(
    workflow: Workflow, user: User
) -> BriefingAcknowledgement | None:
    """The person's acknowledgement of the highest version they acknowledged, if any."""
    return (
        BriefingAcknowledgement.objects.filter(briefing__workflow=workflow, user=user)
        .select_related("briefing")
        .order_by("-briefing__number")
        .first()
    )


def briefing_is_member(workflow: Workflow, user: User) -> bool:
    """Whether the person is in a cohort of the workflow (they are asked to acknowledge)."""
    return CohortMember.objects.filter(cohort__workflow=workflow, user=user).exists()


@dataclass(frozen=True)
class MemberBriefing:
    """Where one cohort member stands with the workflow's briefing."""

    current: Briefing
    acknowledgement: BriefingAcknowledgement | None  # of the highest version they acknowledged
    needs_acknowledgement: bool  # they have not acknowledged the version that counts
    grace_until: datetime | None  # they keep their mode until then (an earlier version read)


def briefing_member_status(workflow: Workflow, user: User) -> MemberBriefing | None:
    """None unless a version is published and the person is in a cohort of the workflow."""
    current = briefing_current(workflow)
    if current is None or not briefing_is_member(workflow, user):
        return None
    mine = briefing_acknowledgement_latest(workflow, user)
    counting = briefing_counting(workflow)
    needs = mine is None or (counting is not None and mine.briefing.number < counting.number)
    grace_until = None
    if needs and mine is not None and counting is not None:
        end = counting.published_at + timedelta(days=workflow.briefing_grace_days)
        grace_until = end if end > timezone.now() else None
    return MemberBriefing(current, mine, needs, grace_until)


def briefing_member_ids(workflow: Workflow) -> list[int]:
    """The active people in any cohort of the workflow, each once (who a version is sent to)."""
    return list(
        CohortMember.objects.filter(cohort__workflow=workflow, user__is_active=True)
        .order_by("user_id")
        .values_list("user_id", flat=True)
        .distinct()
    )


def briefing_joiners_to_ask(cohort: Cohort, user_ids: list[int]) -> list[int]:
    """Of the people just added to `cohort`, those to ask to read its workflow's briefing: not
    in another of its cohorts (they were asked already) and not holding an acknowledgement that
    counts. Empty before any version is published."""
    workflow = cohort.workflow
    counting = briefing_counting(workflow)
    if counting is None:
        return []
    asked = CohortMember.objects.filter(cohort__workflow=workflow, user_id__in=user_ids).exclude(
        cohort=cohort
    )
    acked = BriefingAcknowledgement.objects.filter(
        briefing__workflow=workflow, briefing__number__gte=counting.number, user_id__in=user_ids
    )
    skip = set(asked.values_list("user_id", flat=True)) | set(
        acked.values_list("user_id", flat=True)
    )
    return [pk for pk in user_ids if pk not in skip]


def briefing_url_path(workflow: Workflow) -> str:
    return reverse("workflow_briefing", args=[workflow.slug])


def briefing_draft_initial(workflow: Workflow) -> dict[str, str]:
    """What a new version's form starts from: the current version's texts; before the first, the
    thresholds' bad-output contracts and the feedback form with the escalation path."""
    current = briefing_current(workflow)
    if current is not None:
        return {
            "what_it_does": current.what_it_does,
            "bad_output": current.bad_output,
            "wrong_examples": current.wrong_examples,
            "what_to_do": current.what_to_do,
        }
    bad = [t.bad_output.strip() for t in threshold_list_for_workflow(workflow)]
    feedback = f"{reverse('feedback_new')}?workflow={workflow.slug}"
    what_to_do = [
        "Do not act on it: correct or discard the output, as you would a colleague's mistake.",
        f"Tell the owner with [the feedback form]({feedback}) (category “Wrong output”), so it "
        "counts toward the quality thresholds.",
    ]
    levels = escalation_level_list(workflow)
    if levels:
        path = "; then ".join(
            f"{level.contact} ({level.get_channel_display().lower()}, answers within "
            f"{level.response_target_minutes} min)"
            for level in levels
        )
        what_to_do.append(f"If it harmed a customer or cannot wait, escalate: {path}.")
    return {
        "what_it_does": workflow.summary
        or f"The AI drafts what drives: {workflow.business_action}.",
        "bad_output": "\n".join(f"- {text}" for text in dict.fromkeys(bad) if text),
        "wrong_examples": "",
        "what_to_do": "\n".join(f"{n}. {step}" for n, step in enumerate(what_to_do, 1)),
    }


@dataclass
class CohortCoverage:
    """One cohort's acknowledgements of the version that counts (active members only)."""

    cohort: Cohort
    members: int = 0
    acknowledged: int = 0
    not_acknowledged: list[User] = field(default_factory=list)

    @property
    def percent(self) -> int | None:
        """Whole percent acknowledged, rounded down (90 means at least 90 %); None: no members."""
        return self.acknowledged * 100 // self.members if self.members else None


@dataclass
class BriefingCoverage:
    """Coverage of the version that counts (`version`; None before the first is published: then
    nobody has acknowledged, and coverage is 0 of the members)."""

    version: Briefing | None
    target: int
    cohorts: list[CohortCoverage]
    members: int  # distinct people: someone in two cohorts counts once
    acknowledged: int

    @property
    def percent(self) -> int | None:
        return self.acknowledged * 100 // self.members if self.members else None

    @property
    def summary(self) -> str:
        """One sentence for the readiness observation, e.g. "5 of 8 members of the cohorts live
        in that phase (62 %) acknowledged briefing version 1; the target is 90 %."."""
        if not self.members:
            return "No cohort members in that phase yet: nobody to brief."
        if self.version is None:
            return (
                f"No failure-mode briefing is published: 0 of {self.members} members (0%) "
                f"acknowledged; the target is {self.target}%."
            )
        return (
            f"{self.acknowledged} of {self.members} members of the cohorts live in that phase "
            f"({self.percent}%) acknowledged briefing version {self.version.number}; the target "
            f"is {self.target}%."
        )

    @property
    def meets_target(self) -> bool:
        """At least the target share acknowledged (no members: nothing to cover, so False — the
        readiness observation has nothing to show)."""
        return self.members > 0 and self.acknowledged * 100 >= self.target * self.members


def _coverage(workflow: Workflow, cohorts: list[Cohort]) -> BriefingCoverage:
    counting = briefing_counting(workflow)
    by_cohort = {cohort.pk: CohortCoverage(cohort) for cohort in cohorts}
    people: dict[int, bool] = {}
    if by_cohort:
        # Two queries in all (the version, then every member with a flag), whatever the sizes.
        acked = BriefingAcknowledgement.objects.filter(
            user=OuterRef("user_id"),
            briefing__workflow=workflow,
            briefing__number__gte=counting.number if counting else 0,
        )
        rows = (
            CohortMember.objects.filter(cohort_id__in=list(by_cohort), user__is_active=True)
            .select_related("user")
            .annotate(acked=Exists(acked))
            .order_by("user__display_name", "user__email")
        )
        for row in rows:
            done = counting is not None and row.acked
            entry = by_cohort[row.cohort_id]
            entry.members += 1
            if done:
                entry.acknowledged += 1
            else:
                entry.not_acknowledged.append(row.user)
            people[row.user_id] = done
    return BriefingCoverage(
        version=counting,
        target=workflow.briefing_coverage_target,
        cohorts=list(by_cohort.values()),
        members=len(people),
        acknowledged=sum(people.values()),
    )


def briefing_coverage(workflow: Workflow, phase_kind: str) -> BriefingCoverage:
    """Coverage among the cohorts live during `phase_kind` (a limited enrolment stays live in
    broad and steady; none are in audit or shadow), per cohort and overall against the plan's
    target. For the readiness observation "the team understands the failure modes"."""
    position = PHASE_ORDER.index(phase_kind)
    live = [k for k in EnrolmentPhase.values if PHASE_ORDER.index(k) <= position]
    cohorts = list(
        Cohort.objects.filter(workflow=workflow, enrolled_phase__in=live).order_by("name")
    )
    return _coverage(workflow, cohorts)


def briefing_coverage_by_cohort(workflow: Workflow) -> BriefingCoverage:
    """Coverage among every cohort of the workflow, enrolled or not (cohorts and briefing pages)."""
    return _coverage(workflow, list(Cohort.objects.filter(workflow=workflow).order_by("name")))
