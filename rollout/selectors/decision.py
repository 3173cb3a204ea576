"""The rollout decision: should this user get the AI's output live, in shadow, or not at all?

See PRODUCT.md "Rollout decision". `decide` costs at most two queries; `decide_cached` costs none
when warm and is invalidated by `rollout.services.decision_cache.plan_changed`.
"""

import hashlib
import secrets
from dataclasses import dataclass, fields, replace
from typing import Literal

from django.core.cache import cache
from django.db.models import OuterRef, Q, Subquery

from rollout.lib import local_memo
from rollout.lib.cache import CACHE_ERRORS, cache_answered, cache_failed, cache_trusted
from rollout.models import (
    PHASE_ORDER,
    AIConfiguration,
    CohortMember,
    ConfigOrigin,
    Phase,
    PhaseKind,
    PhaseStatus,
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


@dataclass(frozen=True)
class Decision:
    mode: Mode
    phase: str | None = None
    cohort: str | None = None
    # The declared AI configuration's number (rollout.models.AIConfiguration), so the AI tool can
    # check it runs what was announced; None before any is recorded.
    config_version: int | None = None


def percentage_bucket(workflow_pk: int, key: str) -> int:
    """A stable bucket in [0, 10000) for one person on one workflow."""
    digest = hashlib.sha256(f"{workflow_pk}:{key}".encode()).hexdigest()
    return int(digest[:8], 16) % BUCKETS


def in_percentage(workflow_pk: int, key: str, percentage: int) -> bool:
    """Whether the person is inside a `percentage` slice. The slice only grows with the
    percentage, so raising it keeps everyone already in."""
    return percentage_bucket(workflow_pk, key) < percentage * (BUCKETS // 100)


def member_key(user_pk: int) -> str:
    """What the percentage hashes for a person: their primary key, so the tool may refer to them
    by email or by external id (or their email may change) without reshuffling who is in."""
    return str(user_pk)


def _workflow_with_phase(slug: str) -> Workflow:
    in_progress = Phase.objects.filter(
        workflow=OuterRef("pk"), status__in=[PhaseStatus.ACTIVE, PhaseStatus.PAUSED]
    )
    declared = AIConfiguration.objects.filter(
        workflow=OuterRef("pk"), origin=ConfigOrigin.DECLARED
    ).order_by("-version")
    try:
        return Workflow.objects.annotate(
            phase_kind=Subquery(in_progress.values("kind")[:1]),
            phase_status=Subquery(in_progress.values("status")[:1]),
            config_version=Subquery(declared.values("version")[:1]),
        ).get(slug=slug)
    except Workflow.DoesNotExist:
        raise UnknownWorkflow(f"No workflow has the slug {slug!r}.") from None


def _started_enrolments(phase_kind: str) -> list[str]:
    """Enrolments that are live during `phase_kind`: limited stays live in broad and steady."""
    position = PHASE_ORDER.index(phase_kind)
    return [k for k in (PhaseKind.LIMITED, PhaseKind.BROAD) if PHASE_ORDER.index(k) <= position]


def decide(workflow_slug: str, user_ref: str) -> Decision:
    """The decision for the person known to the AI tool as `user_ref` (email, any case, or
    external id), with the declared configuration's number. Raises UnknownWorkflow for an
    unknown slug."""
    workflow = _workflow_with_phase(workflow_slug)
    return replace(_decide_for(workflow, user_ref), config_version=workflow.config_version)


def _decide_for(workflow: Workflow, user_ref: str) -> Decision:
    kind, status = workflow.phase_kind, workflow.phase_status
    if workflow.retired_at is not None:
        return Decision("off")  # retired: off for everyone, whatever its phases say
    if kind is None or kind == PhaseKind.AUDIT:
        return Decision("off", kind)
    if status == PhaseStatus.PAUSED:
        return Decision(workflow.fallback_mode, kind)
    if kind == PhaseKind.SHADOW:
        return Decision("shadow", kind)
    ref = user_ref.strip()
    if not ref:
        return Decision("off", kind)
    memberships = (
        CohortMember.objects.filter(
            Q(user__email__iexact=ref) | Q(user__external_id=ref),
            user__is_active=True,
            cohort__workflow=workflow,
            cohort__enrolled_phase__in=_started_enrolments(kind),
        )
        .select_related("cohort")
        .order_by("cohort__name")
    )
    for membership in memberships:
        cohort = membership.cohort
        if in_percentage(workflow.pk, member_key(membership.user_id), cohort.percentage):
            return Decision("live", kind, cohort.name)
    return Decision("off", kind)


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
    local_memo.remember(key, version)
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
        return version, Decision(*cached[1:])
    decision = decide(workflow_slug, user_ref)
    value = (version, decision.mode, decision.phase, decision.cohort, decision.config_version)
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
