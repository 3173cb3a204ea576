"""Outcome holdouts for `seed_demo` (issue 18 §1): two comparisons of the AI with a holdout.

* Support reply drafting: an "outcome study" cohort of tier-1 agents, enrolled at the limited
  roll-out with half of it held out, reports each ticket's handle time; the AI's agents handle
  tickets about a minute faster, and the interval is clear of zero. An impact threshold asks
  for at least 10 s.
* Contract clause review: a study cohort of reviewers reports each contract's review time; the
  AI makes no clear difference yet, and the interval straddles zero.

Outcome events go through the ingestion service (which stamps each with its person's arm), then
the rollups. Deterministic: one seeded random generator per workflow, uuid5 event ids. The
cohorts are back-dated to the start of their phase, so the arms hold over the weeks reported.
"""

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.utils import timezone

from accounts.models import User
from rollout.models import (
    PHASE_ORDER,
    ActivityEntry,
    BreachAction,
    Cohort,
    CohortMember,
    EnrolmentSetting,
    EventKind,
    Metric,
    OutcomeMetric,
    Phase,
    PhaseKind,
    Workflow,
)
from rollout.selectors.decision import in_holdout, member_key
from rollout.services.cohorts import cohort_create, cohort_enrol, cohort_members_add
from rollout.services.evaluation import thresholds_evaluate_workflow
from rollout.services.outcome_metrics import outcome_metric_create
from rollout.services.thresholds import threshold_create
from rollout.services.usage_ingest import EventData, usage_events_store
from rollout.services.usage_rollup import usage_rollup_pending

BATCH = 1000
EVENT_NAMESPACE = uuid.UUID("0b8f6a52-3c1d-5e7f-8a9b-0c1d2e3f4a5b")
DAYS = 28


@dataclass(frozen=True)
class OutcomeStory:
    cohort: str
    description: str
    prefix: str  # the study people's emails: <prefix>NN@example.com
    people: int
    holdout: int
    metric: str
    label: str
    unit: str
    baseline: float  # the holdout's typical case
    effect: float  # AI − holdout, per case on average
    person_sd: float  # how much people differ
    case_sd: float  # how much cases of one person differ
    cases_per_day: tuple[int, int]
    threshold: float | None = None  # an impact threshold asking for at least this much better


STORIES = {
    "support-reply-drafting": OutcomeStory(
        cohort="Tier-1 outcome study",
        description="Tier-1 agents whose handle times compare the AI with the old process: half "
        "of them are held out.",
        prefix="study.agent",
        people=40,
        holdout=50,
        metric="handle_time_s",
        label="Handle time",
        unit="s",
        baseline=420.0,
        effect=-65.0,
        # Small enough that whichever agents the hash holds out (it hangs on primary keys, which
        # differ between databases), the always-valid interval clears the threshold.
        person_sd=25.0,
        case_sd=90.0,
        cases_per_day=(4, 9),
        threshold=10.0,
    ),
    "contract-clause-review": OutcomeStory(
        cohort="Contract outcome study",
        description="Reviewers whose review times compare the AI's suggestions with none.",
        prefix="study.reviewer",
        people=24,
        holdout=50,
        metric="review_time_min",
        label="Review time",
        unit="min",
        baseline=48.0,
        effect=-1.5,
        person_sd=9.0,
        case_sd=14.0,
        cases_per_day=(1, 3),
    ),
}


def _live_since(workflow: Workflow) -> datetime | None:
    """When the workflow's live phase in progress started, if it is in one."""
    phase = (
        Phase.objects.filter(workflow=workflow, actual_start__isnull=False)
        .order_by("-actual_start")
        .first()
    )
    if phase is None or PHASE_ORDER.index(phase.kind) < PHASE_ORDER.index(PhaseKind.LIMITED):
        return None
    return phase.actual_start


# People per arm a study story needs at least: the comparison's minimum (impact_stats'
# MIN_PEOPLE_PER_ARM, 10) with a margin, whatever the hash holds out.
MIN_PER_ARM = 12


def _people(workflow: Workflow, story: OutcomeStory) -> list[User]:
    """The story's study people: `story.people` of them, and more while either arm has fewer
    than MIN_PER_ARM (at most three times as many). Who is held out hangs on primary keys, which
    differ between databases and runs (PostgreSQL's sequences are not reset by a rolled-back
    test), so a fixed number can leave an arm too small to compare; the same users, found again
    by email, give the same list on every call."""
    people: list[User] = []
    arms = {"ai": 0, "holdout": 0}
    while len(people) < story.people or (
        min(arms.values()) < MIN_PER_ARM and len(people) < 3 * story.people
    ):
        n = len(people) + 1
        email = f"{story.prefix}{n:02d}@example.com"
        user = User.objects.filter(email=email).first()
        if user is None:
            # Accounts, not domain records (as seed_demo's logins): no password, no invitation.
            user = User.objects.create_user(email, None, display_name=f"Study member {n:02d}")
        people.append(user)
        arms[_held_out_or_ai(workflow, user, story)] += 1
    return people


def _cohort(workflow: Workflow, story: OutcomeStory, since: datetime) -> Cohort:
    owner = workflow.owner
    cohort = cohort_create(
        workflow=workflow, name=story.cohort, description=story.description, actor=owner
    )
    cohort_members_add(cohort=cohort, users=_people(workflow, story), actor=owner)
    cohort_enrol(
        cohort=cohort,
        phase=PhaseKind.LIMITED,
        percentage=100,
        holdout_percentage=story.holdout,
        actor=owner,
    )
    # Demo history: the study started with the phase (the services stamp the real clock).
    start = since + timedelta(hours=1)
    Cohort.objects.filter(pk=cohort.pk).update(created_at=start, enrolled_at=start)
    CohortMember.objects.filter(cohort=cohort).update(added_at=start)
    EnrolmentSetting.objects.filter(cohort=cohort).update(effective_at=start)
    return cohort


def _events(workflow: Workflow, story: OutcomeStory, since: datetime) -> list[EventData]:
    rng = random.Random(f"outcomes:{workflow.slug}")  # noqa: S311 — demo data, seeded on purpose
    # The AI arm's use draws from its own generator: the outcomes stay what they were without it.
    use = random.Random(f"outcomes-use:{workflow.slug}")  # noqa: S311 — demo data, seeded
    now = timezone.now()
    tz = timezone.get_current_timezone()
    first = max(since + timedelta(days=1), now - timedelta(days=DAYS))
    people = _people(workflow, story)
    paused = _paused(workflow)
    events = []
    for person in people:
        # Who is held out is the ingestion's business (it stamps the arm): here, only the
        # effect each person gets follows from what the decision would answer them.
        from_ai = _held_out_or_ai(workflow, person, story) == "ai"
        mean = story.baseline + rng.gauss(0, story.person_sd)
        mean += story.effect if from_ai else 0.0
        day = first.astimezone(tz).date()
        while True:
            if day.weekday() < 5:
                for case in range(rng.randint(*story.cases_per_day)):
                    at = timezone.make_aware(
                        datetime.combine(day, time(9)) + timedelta(minutes=rng.randint(0, 480)),
                        tz,
                    )
                    if at >= now:
                        continue
                    name = f"{workflow.slug}:{person.email}:{day}:{case}"
                    if from_ai and not any(start <= at < end for start, end in paused):
                        events.extend(_ai_use(use, name, person.email, at))
                    events.append(
                        EventData(
                            event_id=uuid.uuid5(EVENT_NAMESPACE, name),
                            user_ref=person.email,
                            kind=EventKind.OUTCOME,
                            occurred_at=at,
                            attrs={"metric": story.metric},
                            value=round(max(1.0, rng.gauss(mean, story.case_sd)), 1),
                        )
                    )
            if day >= now.astimezone(tz).date():
                break
            day += timedelta(days=1)
    return events


def _paused(workflow: Workflow) -> list[tuple[datetime, datetime]]:
    """When the roll-out was paused (the activity log's demo history): nobody used the AI then."""
    entries = ActivityEntry.objects.filter(
        workflow=workflow, verb__in=["paused", "resumed"], actor__isnull=False
    ).order_by("created_at")
    windows, since = [], None
    for entry in entries:
        if entry.verb == "paused":
            since = entry.created_at
        elif since is not None:
            windows.append((since, entry.created_at))
            since = None
    if since is not None:
        windows.append((since, timezone.now()))
    return windows


def _ai_use(rng: random.Random, name: str, user_ref: str, at: datetime) -> list[EventData]:
    """What a case handled with the AI also reports: the AI's draft (with its tokens) a few
    minutes before the case closes, and what the agent did with it. Held-out people get `off`
    from the decision API, so their cases report the outcome only."""
    drafted = at - timedelta(minutes=rng.randint(2, 6))
    decided = rng.choices(
        (EventKind.ACCEPTED, EventKind.EDITED, EventKind.OVERRIDDEN), weights=(78, 17, 5)
    )[0]
    tokens = {"input_tokens": rng.randint(900, 1600), "output_tokens": rng.randint(150, 320)}
    return [
        EventData(
            event_id=uuid.uuid5(EVENT_NAMESPACE, f"{name}:invocation"),
            user_ref=user_ref,
            kind=EventKind.INVOCATION,
            occurred_at=drafted,
            latency_ms=rng.randint(700, 2400),
            attrs=tokens,
        ),
        EventData(
            event_id=uuid.uuid5(EVENT_NAMESPACE, f"{name}:decision"),
            user_ref=user_ref,
            kind=decided,
            occurred_at=drafted + timedelta(seconds=rng.randint(20, 90)),
        ),
    ]


def _held_out_or_ai(workflow: Workflow, person: User, story: OutcomeStory) -> str:
    return "holdout" if in_holdout(workflow.pk, member_key(person.pk), story.holdout) else "ai"


@dataclass(frozen=True)
class OutcomesSeeded:
    workflows: list[str]
    events: int


def demo_outcomes_seed(*, workflows: list[Workflow]) -> OutcomesSeeded:
    """The outcome stories of the demo workflows that are live and have no outcome metric yet:
    the metric, the study cohort with its holdout, four weeks of outcome events (and the AI
    arm's use of the AI) through the ingestion service, the rollups, and (for one) an impact
    threshold."""
    told, stored = [], 0
    for workflow in workflows:
        story = STORIES.get(workflow.slug)
        since = _live_since(workflow) if story else None
        if story is None or since is None:
            continue
        if OutcomeMetric.objects.filter(workflow=workflow).exists():
            continue
        owner = workflow.owner
        written_from = timezone.now()
        metric = outcome_metric_create(
            workflow=workflow,
            actor=owner,
            name=story.metric,
            label=story.label,
            unit=story.unit,
            higher_is_better=False,
        )
        _cohort(workflow, story, since)
        events = _events(workflow, story, since)
        for start in range(0, len(events), BATCH):
            usage_events_store(workflow=workflow, events=events[start : start + BATCH])
        stored += sum(1 for e in events if e.kind == EventKind.OUTCOME)
        if story.threshold is not None:
            threshold_create(
                workflow=workflow,
                actor=owner,
                metric=Metric.IMPACT,
                comparator="gte",
                limit=story.threshold,
                marginal_limit=None,
                window_days=DAYS,
                min_sample=1,
                scope="workflow",
                bad_output="Tickets take as long with the AI's drafts as without them.",
                action=BreachAction.ALERT,
                outcome_metric=metric,
            )
        # Demo history: the log says the study was set up when its cohort was enrolled.
        ActivityEntry.objects.filter(workflow=workflow, created_at__gte=written_from).update(
            created_at=since + timedelta(hours=1)
        )
        told.append(workflow)
    usage_rollup_pending()
    for workflow in told:
        thresholds_evaluate_workflow(workflow=workflow)
    return OutcomesSeeded([w.name for w in told], stored)
