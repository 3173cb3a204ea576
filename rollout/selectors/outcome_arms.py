"""The arm a person was in at a past moment: the AI, the holdout, or neither (issue 18 §1).

Outcomes are compared by *assigned* arm (intention to treat): each outcome event is stamped at
ingestion with the arm its person was in at `occurred_at`, read from the history, never from
today's settings: the phase in progress then (Phase.actual_start/actual_end) and whether it was
paused (the activity log's pause and resume entries), the cohort's enrolment settings then
(EnrolmentSetting), when the person joined the cohort (CohortMember.added_at) and whether they
had been moved out of the holdout by then (HoldoutRelease). People outside the enrolment
percentage, in no enrolled cohort, or acting while the phase was paused (or not live) are in
neither arm: they are no control group.

`arm_timeline` reads all of it for one workflow in a fixed number of queries (five, six when a
cohort has no recorded settings), whatever the size of the batch; `ArmTimeline.arm_at` then
answers per event with no query.
"""

import bisect
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from rollout.models import (
    PHASE_ORDER,
    ActivityEntry,
    Arm,
    Cohort,
    CohortMember,
    EnrolmentSetting,
    HoldoutRelease,
    Phase,
    PhaseKind,
)
from rollout.selectors.decision import in_holdout, in_percentage, member_key

LIVE_PHASES = (PhaseKind.LIMITED, PhaseKind.BROAD, PhaseKind.STEADY)
# The activity-log verbs of rollout.services.phase_control and promotions: a pause starts with
# PAUSED and ends with the next of the others.
PAUSED = "paused"
PAUSE_ENDS = ("resumed", "rolled back", "promoted")


@dataclass(frozen=True)
class _Setting:
    effective_at: datetime
    enrolled_phase: str
    percentage: int
    holdout_percentage: int


@dataclass
class ArmTimeline:
    """What decides a person's arm at any moment, for one workflow."""

    workflow_id: int
    # (actual start, actual end or None, kind) of every phase that started.
    phases: list[tuple[datetime, datetime | None, str]] = field(default_factory=list)
    # (start, end or None) of every pause.
    pauses: list[tuple[datetime, datetime | None]] = field(default_factory=list)
    # cohort id → its settings, oldest first, and their times (for bisect).
    settings: dict[int, list[_Setting]] = field(default_factory=dict)
    setting_times: dict[int, list[datetime]] = field(default_factory=dict)
    # (cohort id, user id) → when they joined; → when they were moved out of the holdout.
    joined: dict[tuple[int, int], datetime] = field(default_factory=dict)
    released: dict[tuple[int, int], datetime] = field(default_factory=dict)
    # What was read: the cohorts whose settings, and the (user id, cohort id) pairs whose
    # membership (arm_timeline's `known`).
    read_cohorts: set[int] = field(default_factory=set)
    read_pairs: set[tuple[int, int]] = field(default_factory=set)

    def live_phase_at(self, moment: datetime) -> str | None:
        """The phase in progress at `moment` if it was a live one and not paused, else None.
        After a roll-back two phases may claim the moment: the one started last held it."""
        current = None
        for start, end, kind in self.phases:
            covers = start <= moment and (end is None or moment < end)
            if covers and (current is None or start > current[0]):
                current = (start, kind)
        if current is None or current[1] not in LIVE_PHASES:
            return None
        for start, end in self.pauses:
            if start <= moment and (end is None or moment < end):
                return None
        return current[1]

    def setting_at(self, cohort_id: int, moment: datetime) -> _Setting | None:
        times = self.setting_times.get(cohort_id, [])
        position = bisect.bisect_right(times, moment)
        return self.settings[cohort_id][position - 1] if position else None

    def arm_at(self, user_id: int | None, cohort_id: int | None, moment: datetime) -> str | None:
        """Arm.AI, Arm.HOLDOUT or None (in neither) for the person in the cohort at `moment`."""
        if user_id is None or cohort_id is None:
            return None
        kind = self.live_phase_at(moment)
        if kind is None:
            return None
        setting = self.setting_at(cohort_id, moment)
        if setting is None or not setting.enrolled_phase:
            return None
        if PHASE_ORDER.index(setting.enrolled_phase) > PHASE_ORDER.index(kind):
            return None  # enrolled at a phase that had not started
        joined = self.joined.get((cohort_id, user_id))
        if joined is None or joined > moment:
            return None
        key = member_key(user_id)
        if not in_percentage(self.workflow_id, key, setting.percentage):
            return None
        released = self.released.get((cohort_id, user_id))
        if in_holdout(self.workflow_id, key, setting.holdout_percentage) and (
            released is None or released > moment
        ):
            return Arm.HOLDOUT
        return Arm.AI


def _pauses(workflow_id: int) -> list[tuple[datetime, datetime | None]]:
    entries = (
        ActivityEntry.objects.filter(workflow_id=workflow_id, verb__in=[PAUSED, *PAUSE_ENDS])
        .order_by("created_at", "id")
        .values_list("verb", "created_at")
    )
    pauses: list[tuple[datetime, datetime | None]] = []
    started = None
    for verb, at in entries:
        if verb == PAUSED:
            started = started or at
        elif started is not None:
            pauses.append((started, at))
            started = None
    if started is not None:
        pauses.append((started, None))
    return pauses


def arm_timeline(
    workflow_id: int, pairs: Iterable[tuple[int, int]], *, known: ArmTimeline | None = None
) -> ArmTimeline:
    """The timeline of one workflow for the (user id, cohort id) pairs asked about. Five
    queries, six when a cohort has no recorded settings (enrolled before the history began, or
    by a fixture): it counts as enrolled as it is now since it was enrolled.

    With `known`, a timeline of the same workflow read while nothing it holds has changed
    (rollout.services.usage_ingest keeps one per plan version), only what it lacks is read — the
    settings of cohorts and the membership of pairs not asked about before, none when there are
    none — into `known`, which is returned."""
    pairs = set(pairs)
    timeline = known if known is not None else ArmTimeline(workflow_id)
    if known is None:
        timeline.phases = list(
            Phase.objects.filter(workflow_id=workflow_id, actual_start__isnull=False).values_list(
                "actual_start", "actual_end", "kind"
            )
        )
        timeline.pauses = _pauses(workflow_id)
    pairs = {pair for pair in pairs if pair not in timeline.read_pairs}  # not -=: walks them all
    cohort_ids = {c for _, c in pairs} - timeline.read_cohorts
    user_ids = {u for u, _ in pairs}
    if cohort_ids:
        _read_settings(timeline, cohort_ids)
    if pairs:
        _read_membership(timeline, {c for _, c in pairs}, user_ids, pairs)
    return timeline


def _read_settings(timeline: ArmTimeline, cohort_ids: set[int]) -> None:
    settings: dict[int, list[_Setting]] = defaultdict(list)
    for row in (
        EnrolmentSetting.objects.filter(workflow_id=timeline.workflow_id, cohort_id__in=cohort_ids)
        .order_by("effective_at", "id")
        .values_list(
            "cohort_id", "effective_at", "enrolled_phase", "percentage", "holdout_percentage"
        )
    ):
        settings[row[0]].append(_Setting(*row[1:]))
    for cohort in Cohort.objects.filter(pk__in=cohort_ids - set(settings)):
        if cohort.enrolled_phase:
            since = cohort.enrolled_at or cohort.created_at
            settings[cohort.pk] = [
                _Setting(since, cohort.enrolled_phase, cohort.percentage, cohort.holdout_percentage)
            ]
    timeline.settings.update(settings)
    timeline.setting_times.update(
        {c: [s.effective_at for s in rows] for c, rows in settings.items()}
    )
    timeline.read_cohorts |= cohort_ids


def _read_membership(
    timeline: ArmTimeline,
    cohort_ids: set[int],
    user_ids: set[int],
    pairs: set[tuple[int, int]],
) -> None:
    members = CohortMember.objects.filter(cohort_id__in=cohort_ids, user_id__in=user_ids)
    for cohort_id, user_id, added_at in members.values_list("cohort_id", "user_id", "added_at"):
        timeline.joined[(cohort_id, user_id)] = added_at
    releases = HoldoutRelease.objects.filter(cohort_id__in=cohort_ids, user_id__in=user_ids)
    for cohort_id, user_id, at in releases.values_list("cohort_id", "user_id", "released_at"):
        timeline.released[(cohort_id, user_id)] = at
    timeline.read_pairs |= pairs
