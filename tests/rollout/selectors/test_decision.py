import datetime

import pytest
from django.core.cache import cache
from hypothesis import given, settings
from hypothesis import strategies as st

from rollout.lib import local_memo
from rollout.models import CacheInvalidationKind, Phase, Workflow
from rollout.selectors.decision import (
    Decision,
    UnknownWorkflow,
    decide,
    decide_cached,
    in_percentage,
)
from rollout.services import cohorts as svc
from rollout.services.cache_invalidations import cache_invalidate
from tests.factories import UserFactory

KINDS = ["audit", "shadow", "limited", "broad", "steady"]


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()


def _phase(workflow: Workflow, kind: str, status: str = "active") -> Phase:
    return Phase.objects.create(
        workflow=workflow,
        kind=kind,
        position=KINDS.index(kind),
        planned_start=datetime.date(2026, 1, 1),
        status=status,
    )


@pytest.fixture
def member(workflow, ops_leader):
    user = UserFactory(email="Mia.Member@example.com", external_id="EMP-7")
    cohort = svc.cohort_create(workflow=workflow, name="Tier 1", actor=ops_leader)
    svc.cohort_members_add(cohort=cohort, users=[user], actor=ops_leader)
    svc.cohort_enrol(cohort=cohort, phase="limited", percentage=100, actor=ops_leader)
    return user


def test_no_phase_in_progress_is_off(workflow, member):
    _phase(workflow, "limited", "planned")
    assert decide(workflow.slug, member.email) == Decision("off", None, None, config_version=1)


def test_audit_is_off(workflow, member):
    _phase(workflow, "audit")
    assert decide(workflow.slug, member.email) == Decision("off", "audit", None, config_version=1)


def test_shadow_for_everyone(workflow, member):
    _phase(workflow, "shadow")
    assert decide(workflow.slug, "anyone@example.com") == Decision(
        "shadow", "shadow", None, config_version=1
    )


@pytest.mark.parametrize("kind", ["limited", "broad", "steady"])
def test_limited_enrolment_is_live_from_limited_on(workflow, member, kind):
    _phase(workflow, kind)
    assert decide(workflow.slug, "mia.member@EXAMPLE.com") == Decision(
        "live", kind, "Tier 1", config_version=1, review_level="every"
    )
    assert decide(workflow.slug, "EMP-7") == Decision(
        "live", kind, "Tier 1", config_version=1, review_level="every"
    )
    assert decide(workflow.slug, "someone@example.com") == Decision(
        "off", kind, None, config_version=1
    )


@pytest.mark.parametrize(("kind", "mode"), [("limited", "off"), ("broad", "live")])
def test_broad_enrolment_is_live_from_broad_on(workflow, ops_leader, kind, mode):
    user = UserFactory()
    cohort = svc.cohort_create(workflow=workflow, name="Everyone", actor=ops_leader)
    svc.cohort_members_add(cohort=cohort, users=[user], actor=ops_leader)
    svc.cohort_enrol(cohort=cohort, phase="broad", percentage=100, actor=ops_leader)
    _phase(workflow, kind)
    assert decide(workflow.slug, user.email).mode == mode


def test_member_of_unenrolled_cohort_is_off(workflow, ops_leader):
    user = UserFactory()
    cohort = svc.cohort_create(workflow=workflow, name="Later", actor=ops_leader)
    svc.cohort_members_add(cohort=cohort, users=[user], actor=ops_leader)
    _phase(workflow, "broad")
    assert decide(workflow.slug, user.email) == Decision("off", "broad", None, config_version=1)


def test_deactivated_member_is_off(workflow, member):
    _phase(workflow, "limited")
    type(member).objects.filter(pk=member.pk).update(is_active=False)
    assert decide(workflow.slug, member.email).mode == "off"


@pytest.mark.parametrize("fallback", ["shadow", "off"])
def test_paused_uses_fallback_for_everyone(workflow, member, fallback):
    Workflow.objects.filter(pk=workflow.pk).update(fallback_mode=fallback)
    _phase(workflow, "limited", "paused")
    assert decide(workflow.slug, member.email) == Decision(
        fallback, "limited", None, config_version=1
    )
    assert decide(workflow.slug, "x@example.com") == Decision(
        fallback, "limited", None, config_version=1
    )


def test_percentage_excludes_members_outside_the_slice(workflow, ops_leader):
    people = UserFactory.create_batch(40)
    cohort = svc.cohort_create(workflow=workflow, name="Half", actor=ops_leader)
    svc.cohort_members_add(cohort=cohort, users=people, actor=ops_leader)
    svc.cohort_enrol(cohort=cohort, phase="limited", percentage=50, actor=ops_leader)
    _phase(workflow, "limited")
    modes = {p.pk: decide(workflow.slug, p.email).mode for p in people}
    expected = {
        p.pk: "live" if in_percentage(workflow.pk, str(p.pk), 50) else "off" for p in people
    }
    assert modes == expected
    assert set(modes.values()) == {"live", "off"}


def test_unknown_workflow_raises(db):
    with pytest.raises(UnknownWorkflow):
        decide("no-such-workflow", "a@example.com")
    with pytest.raises(Workflow.DoesNotExist):
        decide_cached("no-such-workflow", "a@example.com")


def test_at_most_two_queries(workflow, member, django_assert_max_num_queries):
    _phase(workflow, "broad")
    with django_assert_max_num_queries(2):
        assert decide(workflow.slug, member.email).mode == "live"


def test_warm_cache_makes_no_queries(workflow, member, django_assert_num_queries):
    _phase(workflow, "limited")
    assert decide_cached(workflow.slug, member.email).mode == "live"
    with django_assert_num_queries(0):
        assert decide_cached(workflow.slug, member.email) == Decision(
            "live", "limited", "Tier 1", config_version=1, review_level="every"
        )


def test_cache_invalidated_by_unenrol(
    workflow, member, ops_leader, django_capture_on_commit_callbacks
):
    _phase(workflow, "limited")
    assert decide_cached(workflow.slug, member.email).mode == "live"
    cohort = workflow.cohorts.get()
    with django_capture_on_commit_callbacks(execute=True):
        svc.cohort_unenrol(cohort=cohort, actor=ops_leader)
    assert decide_cached(workflow.slug, member.email).mode == "off"


def test_cache_invalidated_by_phase_change(workflow, member, django_capture_on_commit_callbacks):
    from rollout.services.decision_cache import plan_changed

    phase = _phase(workflow, "limited")
    assert decide_cached(workflow.slug, member.email).mode == "live"
    Phase.objects.filter(pk=phase.pk).update(status="paused")
    Workflow.objects.filter(pk=workflow.pk).update(fallback_mode="off")
    with django_capture_on_commit_callbacks(execute=True):
        plan_changed(workflow)
    assert decide_cached(workflow.slug, member.email) == Decision(
        "off", "limited", None, config_version=1
    )


# --- This process's memo --------------------------------------------------------------------


@pytest.fixture
def memo_clock(monkeypatch):
    """The memo's clock, moved by hand: `memo_clock[0] += seconds`."""
    now = [1000.0]
    monkeypatch.setattr(local_memo.time, "monotonic", lambda: now[0])
    return now


@pytest.fixture
def cache_reads(monkeypatch):
    """The cache reads made, as round trips: get_many counts once (LocMem's calls get inside)."""
    reads: list[str] = []
    depth = [0]
    for name in ("get", "get_many"):
        original = getattr(cache, name)

        def counted(*args, _original=original, _name=name, **kwargs):
            if not depth[0]:
                reads.append(_name)
            depth[0] += 1
            try:
                return _original(*args, **kwargs)
            finally:
                depth[0] -= 1

        monkeypatch.setattr(cache, name, counted)
    return reads


def test_a_warm_process_asks_the_cache_for_the_plan_version_only(
    workflow, member, ops_leader, memo_clock, cache_reads, settings
):
    _phase(workflow, "limited")
    people = [member.email, "someone@example.com", "EMP-7"]
    answers = [decide_cached(workflow.slug, p) for p in people]
    memo_clock[0] += settings.ROLLOUT_LOCAL_MEMO_SECONDS + 0.5
    cache_reads.clear()

    again = [decide_cached(workflow.slug, p) for p in people]

    assert again == answers
    assert cache_reads == ["get"]  # the plan version, once for everyone


def test_a_plan_change_made_elsewhere_is_seen_within_the_memo_seconds(
    workflow, member, memo_clock, settings, django_capture_on_commit_callbacks
):
    phase = _phase(workflow, "limited")
    assert decide_cached(workflow.slug, member.email).mode == "live"
    # Another web process pauses the workflow: the database and the shared cache change, this
    # process's memo does not.
    Phase.objects.filter(pk=phase.pk).update(status="paused")
    Workflow.objects.filter(pk=workflow.pk).update(fallback_mode="off")
    with django_capture_on_commit_callbacks(execute=True):
        cache_invalidate(CacheInvalidationKind.PLAN, workflow.slug)

    memo_clock[0] += settings.ROLLOUT_LOCAL_MEMO_SECONDS - 0.1
    assert decide_cached(workflow.slug, member.email).mode == "live"  # the bound, not beyond
    memo_clock[0] += 0.2
    assert decide_cached(workflow.slug, member.email) == Decision(
        "off", "limited", None, config_version=1
    )


def test_a_remembered_answer_is_dropped_after_a_minute_even_if_the_plan_stands(
    workflow, member, memo_clock, cache_reads
):
    _phase(workflow, "limited")
    decide_cached(workflow.slug, member.email)
    memo_clock[0] += 61
    cache_reads.clear()

    assert decide_cached(workflow.slug, member.email).mode == "live"
    assert cache_reads == ["get_many"]  # the answer with the version


# --- The percentage slice -------------------------------------------------------------------

refs = st.text(min_size=1, max_size=40)
percentages = st.integers(min_value=1, max_value=100)


@given(workflow_pk=st.integers(1, 10**6), key=refs, percentage=percentages)
def test_sticky(workflow_pk, key, percentage):
    first = in_percentage(workflow_pk, key, percentage)
    assert all(in_percentage(workflow_pk, key, percentage) == first for _ in range(3))


@given(workflow_pk=st.integers(1, 10**6), key=refs, p=percentages, q=percentages)
def test_monotonic(workflow_pk, key, p, q):
    low, high = sorted((p, q))
    if in_percentage(workflow_pk, key, low):
        assert in_percentage(workflow_pk, key, high)


def test_hundred_percent_is_everyone():
    assert all(in_percentage(7, str(n), 100) for n in range(2000))


@settings(max_examples=25, deadline=None)
@given(workflow_pk=st.integers(1, 10**6), percentage=percentages)
def test_roughly_p_percent_are_in(workflow_pk, percentage):
    n = 4000
    inside = sum(in_percentage(workflow_pk, f"user-{i}@example.com", percentage) for i in range(n))
    # Binomial standard deviation is at most 0.5/sqrt(4000) ≈ 0.8%: 5 points is far outside it.
    assert abs(inside / n * 100 - percentage) < 5
