"""Months of demo usage for `seed_demo`, stored through the ingestion service as the API stores it.

The usage follows each demo workflow's plan as the database has it: while in shadow mode the AI
runs beside everyone's work (cohort members and people Rollout does not know) and is compared with
what they did; once a cohort's phase has started its members get live output and accept, edit or
override it, more of them each week; nothing happens while the roll-out is paused. A workflow still
in its data audit gets none. Two stories are told on purpose (`Story.drifting` and
`Story.failing_days`): one cohort's override rate climbs in the last days, and one workflow's
error rate breaks its `pause_rollout` threshold, so the first evaluation pauses it.

Deterministic: one seeded random generator per workflow, and event ids are uuid5 of a name built
from the workflow, the person, the day and a counter.
"""

import math
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from statistics import NormalDist

from django.utils import timezone

from rollout.management.demo.costs import demo_cost_attrs
from rollout.models import (
    ActivityEntry,
    CohortMember,
    EventKind,
    Phase,
    PhaseKind,
    Threshold,
    Workflow,
)
from rollout.selectors.decision import in_percentage, member_key
from rollout.services.evaluation import usage_refresh_pending
from rollout.services.usage_ingest import EventData, usage_events_store

BATCH = 1000  # the API's largest batch
EVENT_NAMESPACE = uuid.UUID("6f1d3c2e-8a4b-5c7d-9e0f-1a2b3c4d5e6f")
LIVE_KINDS = (PhaseKind.LIMITED, PhaseKind.BROAD, PhaseKind.STEADY)
# Over this many days the drifting cohort's override rate climbs to `Story.drift_to`.
DRIFT_DAYS = 11
LATENCY_SIGMA = 0.4  # of the log-normal latencies: p95 about twice the median
GOLDEN = (math.sqrt(5) - 1) / 2


@dataclass(frozen=True)
class Story:
    """How one workflow is used. Rates are fractions; volumes are per person and weekday."""

    per_person: int  # outputs a fully adopted person handles on a weekday
    weekend: float  # Saturday and Sunday activity, relative to a weekday
    latency_ms: int  # median latency at the start; it improves by a tenth over the months
    error_rate: float
    fallback_rate: float
    accepted: float  # share of acted-on outputs accepted as they were
    overridden: tuple[float, float]  # override share at the start and at the end (the rest: edits)
    agreement: tuple[float, float]  # shadow agreement at the start and at the end of shadow mode
    strangers: tuple[str, ...]  # external ids of people Rollout does not know (shadow mode only)
    reference: str  # prefix of the business record each output was for, in the event's attrs
    drifting: str = ""  # the cohort whose override rate climbs over the last DRIFT_DAYS days
    drift_to: float = 0.0
    failing_days: int = 0  # for the last this many days the error rate is `failing_error_rate`
    failing_error_rate: float = 0.0
    # The prompt version events report (attrs.prompt_version): the declared one, then, for the
    # last `prompt_changed_days` days, one nobody announced (an unannounced change, rule 9).
    prompt: tuple[str, str] = ("", "")
    prompt_changed_days: float = 0.0


STORIES = {
    "support-reply-drafting": Story(
        per_person=40,
        weekend=0.3,
        latency_ms=900,
        error_rate=0.004,
        fallback_rate=0.008,
        accepted=0.70,
        overridden=(0.05, 0.05),
        agreement=(0.86, 0.92),
        strangers=("zd-agent-5120", "zd-agent-5127"),  # agents of the outsourcing partner
        reference="ZD-",
        drifting="EU tier-1 agents",
        drift_to=0.15,
    ),
    "invoice-coding": Story(
        per_person=60,
        weekend=0.03,
        latency_ms=1300,
        error_rate=0.008,
        fallback_rate=0.005,
        accepted=0.75,
        overridden=(0.08, 0.06),
        agreement=(0.90, 0.95),
        strangers=("sap:ap-cork-11", "sap:ap-cork-14", "sap:ap-cork-19"),  # the Cork team
        reference="INV-",
        # The vendor team shipped prompt v7 (a new VAT rule) without telling anyone.
        prompt=("v6", "v7"),
        prompt_changed_days=2.5,
    ),
    "contract-clause-review": Story(
        per_person=30,
        weekend=0.05,
        latency_ms=1500,
        error_rate=0.004,
        fallback_rate=0.01,
        accepted=0.55,
        overridden=(0.10, 0.08),
        agreement=(0.84, 0.90),
        strangers=("clm:paralegal-02",),
        reference="CLM-",
        failing_days=5,
        failing_error_rate=0.1,
    ),
}


@dataclass(frozen=True)
class Person:
    ref: str
    cohort: str  # the cohort's name; "" for people Rollout does not know
    live_since: datetime | None  # when their cohort's phase started, if they get live output


@dataclass(frozen=True)
class Plan:
    """What the roll-out plan says about usage: when the AI ran in shadow or live, and who."""

    spans: tuple[tuple[datetime, datetime, str], ...]  # (start, end, "shadow" | "live"), in order
    people: tuple[Person, ...]

    def mode_at(self, moment: datetime) -> str:
        for start, end, mode in self.spans:
            if start <= moment < end:
                return mode
        return ""


def _pauses(workflow: Workflow, now: datetime) -> list[tuple[datetime, datetime]]:
    """The paused intervals, from the activity log (a phase keeps only its current pause)."""
    pauses, since = [], None
    entries = ActivityEntry.objects.filter(workflow=workflow, verb__in=("paused", "resumed"))
    for verb, at in entries.order_by("created_at", "pk").values_list("verb", "created_at"):
        if verb == "paused" and since is None:
            since = at
        elif verb == "resumed" and since is not None:
            pauses.append((since, at))
            since = None
    if since is not None:
        pauses.append((since, now))
    return pauses


def _minus(spans: list[tuple[datetime, datetime, str]], gaps: list[tuple[datetime, datetime]]):
    for gap_start, gap_end in gaps:
        cut = []
        for start, end, mode in spans:
            if end <= gap_start or start >= gap_end:
                cut.append((start, end, mode))
                continue
            if start < gap_start:
                cut.append((start, gap_start, mode))
            if end > gap_end:
                cut.append((gap_end, end, mode))
        spans = cut
    return spans


def _goes_live_sooner(a: Person, b: Person) -> bool:
    return a.live_since is not None and (b.live_since is None or a.live_since < b.live_since)


def usage_plan(workflow: Workflow, now: datetime) -> Plan:
    """Read the workflow's plan: its phases that ran, its pauses, its cohorts and members."""
    phases = list(
        Phase.objects.filter(workflow=workflow, actual_start__isnull=False).order_by("position")
    )
    spans = []
    for phase in phases:
        mode = "shadow" if phase.kind == PhaseKind.SHADOW else "live"
        if phase.kind == PhaseKind.AUDIT or phase.actual_start >= now:
            continue
        spans.append((phase.actual_start, min(phase.actual_end or now, now), mode))
    spans = _minus(spans, _pauses(workflow, now))
    started = {p.kind: p.actual_start for p in phases if p.kind in LIVE_KINDS}
    memberships = (
        CohortMember.objects.filter(cohort__workflow=workflow, user__is_active=True)
        .select_related("user", "cohort")
        .order_by("cohort__name", "user__email")
    )
    people: dict[str, Person] = {}
    for membership in memberships:
        cohort, user = membership.cohort, membership.user
        live_since = started.get(cohort.enrolled_phase)
        if live_since is not None and cohort.enrolled_at is not None:
            live_since = max(live_since, cohort.enrolled_at)
        if not in_percentage(workflow.pk, member_key(user.pk), cohort.percentage):
            live_since = None
        # Someone in two cohorts of the workflow counts with the one that got them live first.
        person, known = Person(user.email, cohort.name, live_since), people.get(user.email)
        if known is None or _goes_live_sooner(person, known):
            people[user.email] = person
    story = STORIES.get(workflow.slug)
    strangers = [Person(ref, "", None) for ref in (story.strangers if story else ())]
    return Plan(spans=tuple(spans), people=(*people.values(), *strangers))


def _adoption(days_live: float) -> float:
    """0 → 1 over the first weeks live: slow start, most people on board after a fortnight."""
    return 1 / (1 + math.exp(-(days_live - 7) / 3))


class _Tally:
    """One person's picks of what followed an output, in the shares asked for (smooth weighted
    round-robin): over any run of picks each kind is within a pick or two of its share. Dice would
    let a week's override or error rate wander by chance; with this, the drift and the breach the
    stories describe show whatever day the demo is seeded, and nothing else looks like either."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.credit: dict[str, float] = {}

    def pick(self, shares: dict[str, float]) -> str:
        for kind, share in shares.items():
            if kind not in self.credit:
                self.credit[kind] = self.rng.random()  # so people's patterns differ
            self.credit[kind] += share
        chosen = max(shares, key=self.credit.__getitem__)
        self.credit[chosen] -= sum(shares.values())
        return chosen


@dataclass
class _Generator:
    slug: str
    story: Story
    plan: Plan
    now: datetime
    scale: float
    rng: random.Random

    def __post_init__(self) -> None:
        self.first = self.plan.spans[0][0]
        self.span_days = max((self.now - self.first).total_seconds() / 86400, 1.0)
        self.today = timezone.localdate(self.now)
        shadow = [(start, end) for start, end, mode in self.plan.spans if mode == "shadow"]
        self.shadow = (shadow[0][0], shadow[-1][1]) if shadow else None
        self.tallies = {person.ref: _Tally(self.rng) for person in self.plan.people}
        self.quantiles = {person.ref: self.rng.random() for person in self.plan.people}
        self.counter = 0

    def event(self, person: Person, kind: str, at: datetime, day: date, **extra) -> EventData:
        name = f"{self.slug}/{person.ref}/{day.isoformat()}/{self.counter}/{kind}"
        return EventData(
            event_id=uuid.uuid5(EVENT_NAMESPACE, name),
            user_ref=person.ref,
            kind=kind,
            occurred_at=at,
            **extra,
        )

    def progress(self, at: datetime, since: datetime, until: datetime) -> float:
        share = (at - since).total_seconds() / max((until - since).total_seconds(), 1.0)
        return min(max(share, 0.0), 1.0)

    def latency(self, person: Person, at: datetime) -> int:
        """Log-normal around a median that improves over time. The quantiles come from a
        low-discrepancy sequence rather than dice, for the reason _Tally gives: a week's latency
        is the story's, and no cohort seems to slow down by chance."""
        quantile = (self.quantiles[person.ref] + GOLDEN) % 1.0
        self.quantiles[person.ref] = quantile
        median = self.story.latency_ms * (1 - 0.1 * self.progress(at, self.first, self.now))
        spread = NormalDist().inv_cdf(min(max(quantile, 1e-4), 1 - 1e-4))
        return max(60, int(median * math.exp(LATENCY_SIGMA * spread)))

    def days(self) -> Iterator[date]:
        day = timezone.localdate(self.first)
        while day <= self.today:
            yield day
            day += timedelta(days=1)

    def person_day(self, person: Person, day: date) -> int:
        """How many outputs the person has on that day (0 when off work)."""
        noon = timezone.make_aware(datetime.combine(day, time(12)))
        if person.live_since is not None and person.live_since <= noon + timedelta(hours=12):
            uptake = _adoption((noon - person.live_since).total_seconds() / 86400)
            chance, volume = 0.3 + 0.65 * uptake, 0.5 + 0.5 * uptake
        else:
            chance, volume = 0.9, 1.0  # shadow mode runs beside everyone's normal work
        if day.weekday() >= 5:
            chance *= self.story.weekend
        if self.rng.random() >= chance:
            return 0
        mean = self.story.per_person * volume * self.scale * self.rng.uniform(0.75, 1.25)
        return max(1, round(mean))

    def moments(self, day: date, count: int) -> list[datetime]:
        opening = timezone.make_aware(datetime.combine(day, time(8)))
        # Busy mornings: most work lands between 9 and 12.
        hours = sorted(self.rng.triangular(0, 10, 2) for _ in range(count))
        return [opening + timedelta(hours=h) for h in hours]

    def override_share(self, person: Person, at: datetime) -> float:
        start, end = self.story.overridden
        share = start + (end - start) * self.progress(at, self.first, self.now)
        if self.story.drifting and person.cohort == self.story.drifting:
            days_left = (self.now - at).total_seconds() / 86400
            if days_left < DRIFT_DAYS:
                share += (self.story.drift_to - share) * (1 - days_left / DRIFT_DAYS)
        return share

    def error_share(self, at: datetime) -> float:
        if self.story.failing_days and (self.now - at) < timedelta(days=self.story.failing_days):
            return self.story.failing_error_rate
        return self.story.error_rate

    def shares(self, person: Person, at: datetime, mode: str, jitter: float) -> dict[str, float]:
        error = self.error_share(at) * jitter
        if mode == "shadow":
            start, end = self.story.agreement
            agreement = start + (end - start) * self.progress(at, *self.shadow)
            disagreement = (1 - agreement) * jitter
            return {
                EventKind.ERROR: error,
                EventKind.DISAGREED: (1 - error) * disagreement,
                EventKind.AGREED: (1 - error) * (1 - disagreement),
            }
        acted = 1 - error - self.story.fallback_rate
        overridden = self.override_share(person, at) * jitter
        return {
            EventKind.ERROR: error,
            EventKind.FALLBACK: self.story.fallback_rate,
            EventKind.ACCEPTED: acted * self.story.accepted,
            EventKind.OVERRIDDEN: acted * overridden,
            EventKind.EDITED: acted * (1 - self.story.accepted - overridden),
        }

    def outputs(self, person: Person, at: datetime, day: date, jitter: float) -> list[EventData]:
        """One output: the invocation and what followed it (what followed only if it has)."""
        mode = self.plan.mode_at(at)
        if not mode or (mode == "live" and (person.live_since is None or at < person.live_since)):
            return []
        self.counter += 1
        attrs = {"record": f"{self.story.reference}{self.rng.randrange(10_000, 99_999)}"}
        declared, unannounced = self.story.prompt
        if declared:
            changed = (self.now - at) < timedelta(days=self.story.prompt_changed_days)
            attrs["prompt_version"] = unannounced if changed else declared
        latency = self.latency(person, at)
        # Only the invocation reports what the AI call cost (tokens, or attrs.cost).
        name = f"{self.slug}/{person.ref}/{day.isoformat()}/{self.counter}"
        cost = demo_cost_attrs(self.slug, name, latency, stranger=not person.cohort)
        events = [
            self.event(
                person, EventKind.INVOCATION, at, day, latency_ms=latency, attrs={**attrs, **cost}
            )
        ]
        then = at + timedelta(seconds=self.rng.uniform(20, 900))
        if then > self.now:
            return events  # nobody has acted on it yet
        kind = self.tallies[person.ref].pick(self.shares(person, at, mode, jitter))
        events.append(self.event(person, kind, then, day, attrs=attrs))
        return events

    def __iter__(self) -> Iterator[EventData]:
        for day in self.days():
            for person in self.plan.people:
                count = self.person_day(person, day)
                # Some days go better than others: the day's bad outcomes vary by a quarter.
                jitter = self.rng.uniform(0.75, 1.25)
                for at in self.moments(day, count):
                    if at <= self.now:
                        yield from self.outputs(person, at, day, jitter)


def demo_usage_events(
    *, workflow: Workflow, now: datetime, scale: float = 1.0
) -> Iterator[EventData]:
    """The workflow's demo events up to `now`, oldest first (none without a story or usage)."""
    story = STORIES.get(workflow.slug)
    if story is None:
        return iter(())
    plan = usage_plan(workflow, now)
    if not plan.spans:
        return iter(())
    rng = random.Random(workflow.slug)  # noqa: S311 — demo data, not security
    return iter(_Generator(workflow.slug, story, plan, now, scale, rng))


@dataclass(frozen=True)
class SeededUsage:
    events: int
    days: int


def _store(workflow: Workflow, events: list[EventData]) -> int:
    stored = 0
    for first in range(0, len(events), BATCH):
        batch = events[first : first + BATCH]
        stored += usage_events_store(workflow=workflow, events=batch).accepted
    return stored


def demo_usage_seed(*, workflow: Workflow, now: datetime, scale: float = 1.0) -> SeededUsage:
    """Store the workflow's demo usage through the ingestion service, in the API's batches, and
    roll it up as the task after ingestion does (which evaluates the workflow's thresholds).

    The latest weeks go first: months arriving at once are rolled up a batch of days at a time,
    each batch followed by an evaluation, and windows whose days were not rolled up yet would be
    judged ("insufficient data" in every threshold's history, a breach quoting half a window).
    Rolled up first, the recent days make every evaluation see whole windows.
    """
    events = list(demo_usage_events(workflow=workflow, now=now, scale=scale))
    windows = Threshold.objects.filter(workflow=workflow).values_list("window_days", flat=True)
    recent = timezone.localdate(now) - timedelta(days=max(windows, default=1) - 1)
    latest = [e for e in events if timezone.localdate(e.occurred_at) >= recent]
    stored = _store(workflow, latest)
    usage_refresh_pending()
    stored += _store(workflow, [e for e in events if timezone.localdate(e.occurred_at) < recent])
    usage_refresh_pending()
    days = {timezone.localdate(e.occurred_at) for e in events}
    return SeededUsage(events=stored, days=len(days))
