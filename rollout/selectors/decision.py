"""The rollout decision: should this user get the AI's output live, in shadow, or not at all?

See PRODUCT.md "Rollout decision". `decide` costs at most two queries; `decide_cached` costs none
when warm and is invalidated by `rollout.services.decision_cache.plan_changed`.
"""

import hashlib
import secrets
from dataclasses import dataclass, field, fields, replace
from datetime import timedelta
from enum import StrEnum
from typing import Any, Literal

from django.conf import settings
from django.core.cache import cache
from django.db.models import Exists, OuterRef, Q, Subquery
from django.urls import reverse
from django.utils import timezone

from rollout.lib import local_memo
from rollout.lib.cache import CACHE_ERRORS, cache_answered, cache_failed, cache_trusted
from rollout.models import (
    PHASE_ORDER,
    AIConfiguration,
    Briefing,
    BriefingAcknowledgement,
    BriefingRequirement,
    Cohort,
    CohortMember,
    ConfigOrigin,
    HoldoutRelease,
    Phase,
    PhaseKind,
    PhaseStatus,
    ReviewLevel,
    Workflow,
)
from rollout.selectors.cache_invalidations import plan_invalidation_pending

Mode = Literal["live", "shadow", "off"]
LIVE_PHASES = (PhaseKind.LIMITED, PhaseKind.BROAD, PhaseKind.STEADY)
BUCKETS = 10_000
DECISION_TIMEOUT = 60 * 60  # a safety net only: plan changes invalidate through the version
# How long this process keeps an answer it confirms by its plan version (decision_from_memo):
# a bound on memory churn, not on staleness, which the version's re-reading bounds.
VERSIONED_MEMO_SECONDS = 60.0


class UnknownWorkflow(Workflow.DoesNotExist):
    """No workflow has this slug (the API answers 404)."""


def plan_version_key(slug: str) -> str:
    return f"decision-plan-version:{slug}"


def new_plan_version() -> int:
    # An integer, so every backend's incr() works on it.
    return secrets.randbits(48)


def plan_version(slug: str) -> str:
    """The current plan version of the workflow `slug` (created on first use).

    Decision keys include it, so rollout.services.decision_cache.plan_changed, which bumps it,
    makes every cached decision for that workflow unreachable at once."""
    key = plan_version_key(slug)
    version = cache.get(key)
    if version is None:
        # A random start, not 0: after an eviction the version must not repeat an old one. add()
        # keeps a version another process set in the meantime; read back whichever won.
        cache.add(key, new_plan_version(), timeout=None)
        version = cache.get(key)
    return str(version)


NOT_BRIEFED = "not_briefed"
# Kept on the old process as the control group of an outcome comparison (Cohort.holdout_percentage).
HOLDOUT = "holdout"


class Basis(StrEnum):
    """How a decision was reached: what OFREP's `reason` is derived from (rollout.api.ofrep) and
    what its metadata names as Rollout's own reason. Not part of the native API's answer."""

    RETIRED = "retired"
    NOT_STARTED = "not_started"  # no phase in progress: before the plan starts, or after it
    AUDIT = "audit"
    PAUSED = "paused"
    SHADOW = "shadow"
    NOT_ENROLLED = "not_enrolled"  # in no cohort enrolled for the phase (or no one named)
    OUTSIDE_PERCENTAGE = "outside_percentage"  # in one, but outside its percentage
    HOLDOUT = HOLDOUT
    NOT_BRIEFED = NOT_BRIEFED
    ENROLLED = "enrolled"


@dataclass(frozen=True)
class Decision:
    mode: Mode
    phase: str | None = None
    cohort: str | None = None
    # Why the person is held back: NOT_BRIEFED (something they can fix), with the briefing's
    # address for the AI tool to show them; or HOLDOUT (in the cohort's holdout).
    reason: str | None = None
    briefing_url: str | None = None
    # When the answer stops holding by itself (a briefing grace period ending), as a POSIX
    # timestamp: caches must not serve it after that. Not part of the answer.
    valid_until: float | None = field(default=None, compare=False)
    # The declared AI configuration's number (rollout.models.AIConfiguration), so the AI tool can
    # check it runs what was announced; None before any is recorded.
    config_version: int | None = None
    # The enrolment's place on the autonomy ladder (rollout.models.ReviewLevel) for a live
    # answer, so the AI tool knows whether to route the output to a person; the sample rate
    # (whole percent) only at "sample".
    review_level: str | None = None
    review_sample_rate: int | None = None
    # How the answer was reached (Basis), whether a hash decided it (the percentage's or the
    # holdout's: OFREP's SPLIT) and the person's percentage bucket when one was consulted. Not
    # part of the native answer, nor of equality: two answers saying the same are equal.
    basis: str | None = field(default=None, compare=False)
    split: bool = field(default=False, compare=False)
    bucket: int | None = field(default=None, compare=False)

    def body(self) -> dict[str, Any]:
        """The API's JSON answer: `reason` and `briefing_url` only when they say something (a
        holdout answer has no briefing to show)."""
        answer: dict[str, Any] = {
            "mode": self.mode,
            "phase": self.phase,
            "cohort": self.cohort,
            "config_version": self.config_version,
        }
        if self.reason is not None:
            answer["reason"] = self.reason
        if self.briefing_url is not None:
            answer["briefing_url"] = self.briefing_url
        if self.review_level is not None:
            answer["review_level"] = self.review_level
            if self.review_sample_rate is not None:
                answer["review_sample_rate"] = self.review_sample_rate
        return answer

    def expired(self) -> bool:
        return self.valid_until is not None and timezone.now().timestamp() >= self.valid_until


def percentage_bucket(workflow_pk: int, key: str) -> int:
    """A stable bucket in [0, 10000) for one person on one workflow."""
    digest = hashlib.sha256(f"{workflow_pk}:{key}".encode()).hexdigest()
    return int(digest[:8], 16) % BUCKETS


def in_percentage(workflow_pk: int, key: str, percentage: int) -> bool:
    """Whether the person is inside a `percentage` slice. The slice only grows with the
    percentage, so raising it keeps everyone already in."""
    return percentage_bucket(workflow_pk, key) < percentage * (BUCKETS // 100)


def holdout_bucket(workflow_pk: int, key: str) -> int:
    """A stable bucket in [0, 10000) for one person on one workflow, independent of
    `percentage_bucket` (another salt): who is held out does not depend on who is in."""
    digest = hashlib.sha256(f"holdout:{workflow_pk}:{key}".encode()).hexdigest()
    return int(digest[:8], 16) % BUCKETS


def in_holdout(workflow_pk: int, key: str, holdout_percentage: int) -> bool:
    """Whether the person falls in a `holdout_percentage` slice (before any release). Among the
    members inside the enrolment percentage; the slice only grows with its percentage, and
    raising the enrolment percentage keeps everyone held out (their bucket does not move)."""
    return holdout_bucket(workflow_pk, key) < holdout_percentage * (BUCKETS // 100)


def member_key(user_pk: int) -> str:
    """What the percentage hashes for a person: their primary key, so the tool may refer to them
    by email or by external id (or their email may change) without reshuffling who is in."""
    return str(user_pk)


def _workflow_with_phase(slug: str) -> Workflow:
    in_progress = Phase.objects.filter(
        workflow=OuterRef("pk"), status__in=[PhaseStatus.ACTIVE, PhaseStatus.PAUSED]
    )
    # The briefing version whose acknowledgement counts: the latest material one.
    counting = Briefing.objects.filter(workflow=OuterRef("pk"), material=True).order_by("-number")
    declared = AIConfiguration.objects.filter(
        workflow=OuterRef("pk"), origin=ConfigOrigin.DECLARED
    ).order_by("-version")
    try:
        return Workflow.objects.annotate(
            phase_kind=Subquery(in_progress.values("kind")[:1]),
            phase_status=Subquery(in_progress.values("status")[:1]),
            briefing_number=Subquery(counting.values("number")[:1]),
            briefing_published_at=Subquery(counting.values("published_at")[:1]),
            config_version=Subquery(declared.values("version")[:1]),
        ).get(slug=slug)
    except Workflow.DoesNotExist:
        raise UnknownWorkflow(f"No workflow has the slug {slug!r}.") from None


def _started_enrolments(phase_kind: str) -> list[str]:
    """Enrolments that are live during `phase_kind`: limited stays live in broad and steady."""
    position = PHASE_ORDER.index(phase_kind)
    return [k for k in (PhaseKind.LIMITED, PhaseKind.BROAD) if PHASE_ORDER.index(k) <= position]


def briefing_url(workflow_slug: str) -> str:
    """The briefing page's full address (the AI tool shows it to a person held back)."""
    return f"{settings.SITE_URL}{reverse('workflow_briefing', args=[workflow_slug])}"


def briefing_gates(workflow: Workflow, phase_kind: str) -> bool:
    """Whether, in `phase_kind`, a member must have acknowledged the briefing to be live: from
    the phase the owner chose on, once a version is published (`_workflow_with_phase`'s
    annotation)."""
    required = workflow.briefing_required_from
    if required == BriefingRequirement.NEVER or workflow.briefing_number is None:
        return False
    return PHASE_ORDER.index(phase_kind) >= PHASE_ORDER.index(required)


def _briefed(workflow: Workflow, kind: str, live: Decision, acknowledged: int | None) -> Decision:
    """`live`, or the workflow's fallback when the person has not acknowledged the version that
    counts (`acknowledged` is the highest version they did). Someone who acknowledged an earlier
    version keeps `live` until the grace period after the material version ends — an answer
    marked valid until then, so a cached one is recomputed at that moment."""
    counting = workflow.briefing_number
    if acknowledged is not None and acknowledged >= counting:
        return live
    if acknowledged is not None:
        grace_end = workflow.briefing_published_at + timedelta(days=workflow.briefing_grace_days)
        if timezone.now() < grace_end:
            return replace(live, valid_until=grace_end.timestamp())
    # As a paused phase answers: the fallback the owner chose (shadow or off).
    return Decision(
        workflow.fallback_mode,
        kind,
        None,
        NOT_BRIEFED,
        briefing_url(workflow.slug),
        basis=Basis.NOT_BRIEFED,
        bucket=live.bucket,
    )


def decide(workflow_slug: str, user_ref: str) -> Decision:
    """The decision for the person known to the AI tool as `user_ref` (email, any case, or
    external id). Raises UnknownWorkflow for an unknown slug. A member in their cohort's holdout
    (and not moved out of it) gets `off` with `reason` HOLDOUT, whatever the briefing; a member
    who would be live but has not acknowledged the briefing (from the phase the owner chose) gets
    the fallback with `reason` NOT_BRIEFED (see `_briefed`). The answer names the declared
    configuration's number."""
    workflow = _workflow_with_phase(workflow_slug)
    return replace(_decide_for(workflow, user_ref), config_version=workflow.config_version)


def _decide_for(workflow: Workflow, user_ref: str) -> Decision:
    kind, status = workflow.phase_kind, workflow.phase_status
    if workflow.retired_at is not None:
        # Retired: off for everyone, whatever its phases say.
        return Decision("off", basis=Basis.RETIRED)
    if kind is None:
        return Decision("off", kind, basis=Basis.NOT_STARTED)
    if kind == PhaseKind.AUDIT:
        return Decision("off", kind, basis=Basis.AUDIT)
    if status == PhaseStatus.PAUSED:
        return Decision(workflow.fallback_mode, kind, basis=Basis.PAUSED)
    if kind == PhaseKind.SHADOW:
        return Decision("shadow", kind, basis=Basis.SHADOW)
    ref = user_ref.strip()
    if not ref:
        return Decision("off", kind, basis=Basis.NOT_ENROLLED)
    memberships = (
        CohortMember.objects.filter(
            Q(user__email__iexact=ref) | Q(user__external_id=ref),
            user__is_active=True,
            cohort__workflow=workflow,
            cohort__enrolled_phase__in=_started_enrolments(kind),
        )
        .select_related("cohort")
        .annotate(
            released=Exists(
                HoldoutRelease.objects.filter(
                    cohort=OuterRef("cohort_id"), user=OuterRef("user_id")
                )
            ),
            acknowledged=Subquery(
                BriefingAcknowledgement.objects.filter(
                    user=OuterRef("user_id"), briefing__workflow=workflow
                )
                .order_by("-briefing__number")
                .values("briefing__number")[:1]
            ),
        )
        .order_by("cohort__name")
    )
    hashed_out: int | None = None  # the bucket, when a percentage left the person out
    for membership in memberships:
        cohort = membership.cohort
        key = member_key(membership.user_id)
        bucket = percentage_bucket(workflow.pk, key)
        if in_percentage(workflow.pk, key, cohort.percentage):
            # Whether the holdout's hash has a say: then it decided the answer either way.
            holdout_consulted = not membership.released and cohort.holdout_percentage > 0
            # Before the briefing: a control group must not depend on who read the briefing.
            if holdout_consulted and in_holdout(workflow.pk, key, cohort.holdout_percentage):
                return Decision(
                    "off",
                    kind,
                    cohort.name,
                    HOLDOUT,
                    basis=Basis.HOLDOUT,
                    split=True,
                    bucket=bucket,
                )
            live = Decision(
                "live",
                kind,
                cohort.name,
                **review_of(cohort),
                basis=Basis.ENROLLED,
                split=cohort.percentage < 100 or holdout_consulted,
                bucket=bucket,
            )
            if not briefing_gates(workflow, kind):
                return live
            return _briefed(workflow, kind, live, membership.acknowledged)
        hashed_out = bucket
    if hashed_out is not None:
        return Decision("off", kind, basis=Basis.OUTSIDE_PERCENTAGE, split=True, bucket=hashed_out)
    return Decision("off", kind, basis=Basis.NOT_ENROLLED)


def review_of(cohort: Cohort) -> dict[str, Any]:
    """The live answer's review fields for the person's enrolment (the autonomy ladder)."""
    sampling = cohort.review_level == ReviewLevel.SAMPLE
    return {
        "review_level": str(cohort.review_level),
        "review_sample_rate": cohort.review_sample_rate if sampling else None,
    }


def decision_memo_key(workflow_slug: str, user_ref: str) -> str:
    """Where a decision is cached (shared cache and this process's memo)."""
    # Not lowercased: external ids are matched exactly, so "AB1" and "ab1" may be two people.
    ref_hash = hashlib.sha256(user_ref.strip().encode()).hexdigest()[:32]
    return f"decision:{workflow_slug}:{ref_hash}"


def _version_memo_key(workflow_slug: str) -> str:
    # Under the workflow's decision prefix, so plan_changed's forget drops it with the answers.
    return f"decision:{workflow_slug}:plan-version"


def _confirmed_plan_version(workflow_slug: str) -> str | None:
    """The workflow's plan version as the shared cache held it at most ROLLOUT_LOCAL_MEMO_SECONDS
    ago; None while the cache may not be trusted (unreachable, just back from an outage, or a
    plan change it missed still pending). One cache round trip a second per workflow, at most."""
    key = _version_memo_key(workflow_slug)
    version = local_memo.recall(key)
    if version is not None:
        return version
    version = plan_version_now(workflow_slug)
    if version is not None:
        local_memo.remember(key, version)
    return version


def plan_version_now(workflow_slug: str) -> str | None:
    """The workflow's plan version as the shared cache holds it now (one round trip, no memo);
    None while the cache may not be trusted: unreachable, just back from an outage, or a plan
    change it missed still pending. What is computed under a version holds while it is the
    workflow's version: rollout.services.decision_cache.plan_changed bumps it after any change
    to the plan, its cohorts, their members or a member's account."""
    if plan_invalidation_pending(workflow_slug):
        return None
    try:
        version = plan_version(workflow_slug)
    except CACHE_ERRORS as exc:
        cache_failed(exc, "reading a plan version")
        return None
    cache_answered()
    if not cache_trusted():
        return None
    return version


def decision_from_memo(workflow_slug: str, user_ref: str) -> Decision | None:
    """The decision this process remembers, if it still holds; None otherwise. No query.

    An answer read from (or written to) the shared cache is remembered with the plan version it
    was computed under, for up to VERSIONED_MEMO_SECONDS, and trusted while that is still the
    workflow's version, which is re-read from the shared cache every ROLLOUT_LOCAL_MEMO_SECONDS:
    so a plan change reaches this process within that second, as it would if each answer were
    read again, but a warm process makes one round trip a second per workflow instead of one per
    person asked about. An answer computed without the cache is remembered for
    ROLLOUT_LOCAL_MEMO_SECONDS only.
    """
    entry = local_memo.recall(decision_memo_key(workflow_slug, user_ref))
    if entry is None:
        return None
    version, decision = entry
    if decision.expired():
        return None
    if version is None:
        return decision
    return decision if _confirmed_plan_version(workflow_slug) == version else None


def _decide_through_cache(
    workflow_slug: str, user_ref: str, key: str
) -> tuple[str, Decision] | None:
    """(plan version, `decide`) behind the shared cache; raises what the cache raises
    (CACHE_ERRORS). None when the cache may not be used: a plan change it missed is pending, or
    it is just back from an outage (see rollout.lib.cache)."""
    if plan_invalidation_pending(workflow_slug):
        return None
    found = cache.get_many([plan_version_key(workflow_slug), key])
    cache_answered()
    if not cache_trusted():
        return None
    version = found.get(plan_version_key(workflow_slug))
    if version is None:
        version = plan_version(workflow_slug)
    version = str(version)
    # The freshest version this process has seen: answers computed under it confirm at once.
    local_memo.remember(_version_memo_key(workflow_slug), version)
    cached = found.get(key)
    # An entry of another shape is from before a field was added: computed anew.
    if cached is not None and cached[0] == version and len(cached) == len(fields(Decision)) + 1:
        decision = Decision(*cached[1:])
        if not decision.expired():
            return version, decision
    decision = decide(workflow_slug, user_ref)
    value = (
        version,
        decision.mode,
        decision.phase,
        decision.cohort,
        decision.reason,
        decision.briefing_url,
        decision.valid_until,
        decision.config_version,
        decision.review_level,
        decision.review_sample_rate,
        decision.basis,
        decision.split,
        decision.bucket,
    )
    cache.set(key, value, DECISION_TIMEOUT)
    return version, decision


def decide_cached(workflow_slug: str, user_ref: str) -> Decision:
    """`decide`, cached until the workflow's plan changes.

    One cache round trip when warm: the entry carries the plan version it was computed under and
    is read together with the current version, so a plan change invalidates it at once. In front
    of that, this process's memo (rollout.lib.local_memo, `decision_from_memo`) serves repeat
    questions with no round trip but the plan version's, once a second. While the cache is
    unreachable, or may hold what an outage kept it from forgetting, `decide` answers from the
    database (rollout.lib.cache, rollout.selectors.cache_invalidations).
    """
    memo = decision_from_memo(workflow_slug, user_ref)
    if memo is not None:
        return memo
    key = decision_memo_key(workflow_slug, user_ref)
    try:
        through_cache = _decide_through_cache(workflow_slug, user_ref, key)
    except CACHE_ERRORS as exc:
        cache_failed(exc, "reading a rollout decision")
        through_cache = None
    if through_cache is None:
        decision = decide(workflow_slug, user_ref)
        local_memo.remember(key, (None, decision))
        return decision
    version, decision = through_cache
    local_memo.remember(key, (version, decision), VERSIONED_MEMO_SECONDS)
    return decision
