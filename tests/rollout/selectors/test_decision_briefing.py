"""The briefing gate in `decide()`: a member who would be live but has not acknowledged the
briefing version that counts gets the fallback with reason not_briefed — from the phase the owner
chose, after the grace period of a material change — and the cached answer follows at once."""

import datetime
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from rollout.models import Briefing, Phase, Workflow
from rollout.selectors.decision import NOT_BRIEFED, Decision, decide, decide_cached
from rollout.services import cohorts as cohort_svc
from rollout.services.briefings import BriefingText, briefing_acknowledge, briefing_publish
from tests.factories import UserFactory

KINDS = ["audit", "shadow", "limited", "broad", "steady"]
TEXT = BriefingText("Drafts replies.", "- A wrong refund amount.", "", "1. Do not send it.")
URL = f"{settings.SITE_URL}/workflows/support-reply-drafting/briefing/"


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
    user = UserFactory(email="mia.member@example.com", external_id="EMP-7")
    cohort = cohort_svc.cohort_create(workflow=workflow, name="Tier 1", actor=ops_leader)
    cohort_svc.cohort_members_add(cohort=cohort, users=[user], actor=ops_leader)
    cohort_svc.cohort_enrol(cohort=cohort, phase="limited", percentage=100, actor=ops_leader)
    return user


@pytest.fixture
def publish(workflow, workflow_owner, django_capture_on_commit_callbacks):
    def publish(material: bool = True, days_ago: float = 0) -> Briefing:
        with django_capture_on_commit_callbacks(execute=True):
            briefing = briefing_publish(
                workflow=workflow,
                actor=workflow_owner,
                text=TEXT,
                material=material,
                change_note="" if not workflow.briefings.exists() else "Changed.",
            )
        if days_ago:
            Briefing.objects.filter(pk=briefing.pk).update(
                published_at=timezone.now() - timedelta(days=days_ago)
            )
        return briefing

    return publish


@pytest.fixture
def acknowledge(django_capture_on_commit_callbacks):
    def acknowledge(briefing: Briefing, user) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            briefing_acknowledge(briefing=briefing, user=user)

    return acknowledge


def held_back(kind: str, mode: str = "shadow") -> Decision:
    return Decision(mode, kind, None, NOT_BRIEFED, URL, config_version=1)


def test_nobody_is_gated_before_a_briefing_is_published(workflow, member):
    _phase(workflow, "limited")
    assert decide(workflow.slug, member.email) == Decision(
        "live", "limited", "Tier 1", config_version=1, review_level="every"
    )


def test_an_unbriefed_member_gets_the_fallback_with_the_reason(workflow, member, publish):
    _phase(workflow, "limited")
    publish()
    assert decide(workflow.slug, member.email) == held_back("limited")
    Workflow.objects.filter(pk=workflow.pk).update(fallback_mode="off")
    assert decide(workflow.slug, "EMP-7") == held_back("limited", "off")


def test_acknowledging_puts_them_live(workflow, member, publish, acknowledge):
    _phase(workflow, "limited")
    acknowledge(publish(), member)
    assert decide(workflow.slug, member.email) == Decision(
        "live", "limited", "Tier 1", config_version=1, review_level="every"
    )


def test_someone_outside_the_cohorts_is_off_without_a_reason(workflow, member, publish):
    _phase(workflow, "limited")
    publish()
    assert decide(workflow.slug, "nobody@example.com") == Decision(
        "off", "limited", None, config_version=1
    )


def test_shadow_phase_is_not_gated(workflow, member, publish):
    _phase(workflow, "shadow")
    publish()
    assert decide(workflow.slug, member.email) == Decision(
        "shadow", "shadow", None, config_version=1
    )


@pytest.mark.parametrize(
    ("required", "kind", "gated"),
    [
        ("limited", "limited", True),
        ("limited", "steady", True),
        ("broad", "limited", False),
        ("broad", "broad", True),
        ("steady", "broad", False),
        ("steady", "steady", True),
        ("never", "steady", False),
    ],
)
def test_gated_from_the_phase_the_owner_chose(workflow, member, publish, required, kind, gated):
    Workflow.objects.filter(pk=workflow.pk).update(briefing_required_from=required)
    _phase(workflow, kind)
    publish()
    expected = (
        held_back(kind)
        if gated
        else Decision("live", kind, "Tier 1", config_version=1, review_level="every")
    )
    assert decide(workflow.slug, member.email) == expected


def test_a_minor_version_needs_no_new_acknowledgement(workflow, member, publish, acknowledge):
    _phase(workflow, "limited")
    acknowledge(publish(), member)
    publish(material=False)
    assert decide(workflow.slug, member.email).mode == "live"


def test_a_minor_first_version_is_material(workflow, member, publish):
    _phase(workflow, "limited")
    assert publish(material=False).material is True
    assert decide(workflow.slug, member.email).reason == NOT_BRIEFED


def test_after_a_material_version_earlier_readers_keep_their_mode_for_the_grace_period(
    workflow, member, publish, acknowledge
):
    _phase(workflow, "limited")
    acknowledge(publish(days_ago=30), member)
    publish(days_ago=6)  # grace 7 days: one day left
    decision = decide(workflow.slug, member.email)
    assert decision == Decision("live", "limited", "Tier 1", config_version=1, review_level="every")
    grace_end = workflow.briefings.get(number=2).published_at + timedelta(days=7)
    assert decision.valid_until == pytest.approx(grace_end.timestamp())


def test_after_the_grace_period_earlier_readers_are_held_back(
    workflow, member, publish, acknowledge
):
    _phase(workflow, "limited")
    acknowledge(publish(days_ago=30), member)
    publish(days_ago=8)
    assert decide(workflow.slug, member.email) == held_back("limited")


def test_no_grace_for_someone_who_never_acknowledged(workflow, member, publish):
    _phase(workflow, "limited")
    publish(days_ago=30)
    publish()
    assert decide(workflow.slug, member.email) == held_back("limited")


def test_zero_grace_days_holds_back_at_once(workflow, member, publish, acknowledge):
    Workflow.objects.filter(pk=workflow.pk).update(briefing_grace_days=0)
    _phase(workflow, "limited")
    acknowledge(publish(days_ago=30), member)
    publish()
    assert decide(workflow.slug, member.email) == held_back("limited")


def test_still_at_most_two_queries(workflow, member, publish, django_assert_max_num_queries):
    _phase(workflow, "broad")
    publish()
    with django_assert_max_num_queries(2):
        assert decide(workflow.slug, member.email).reason == NOT_BRIEFED


# --- The cache -----------------------------------------------------------------------------------


def test_warm_cache_makes_no_queries_for_a_held_back_member(
    workflow, member, publish, django_assert_num_queries
):
    _phase(workflow, "limited")
    publish()
    assert decide_cached(workflow.slug, member.email) == held_back("limited")
    with django_assert_num_queries(0):
        assert decide_cached(workflow.slug, member.email) == held_back("limited")


def test_acknowledging_changes_the_cached_answer_at_once(workflow, member, publish, acknowledge):
    _phase(workflow, "limited")
    briefing = publish()
    assert decide_cached(workflow.slug, member.email).reason == NOT_BRIEFED
    acknowledge(briefing, member)
    assert decide_cached(workflow.slug, member.email) == Decision(
        "live", "limited", "Tier 1", config_version=1, review_level="every"
    )


def test_publishing_a_material_version_changes_the_cached_answer_at_once(
    workflow, member, publish, acknowledge
):
    Workflow.objects.filter(pk=workflow.pk).update(briefing_grace_days=0)
    _phase(workflow, "limited")
    acknowledge(publish(), member)
    assert decide_cached(workflow.slug, member.email).mode == "live"
    publish()
    assert decide_cached(workflow.slug, member.email) == held_back("limited")


@pytest.mark.parametrize("through_memo", [True, False])
def test_the_cached_answer_expires_when_the_grace_period_ends(
    workflow, member, publish, acknowledge, monkeypatch, through_memo
):
    """Cached during the grace period, the answer is recomputed once it has ended: no plan
    change happens then, so the answer itself carries its end."""
    _phase(workflow, "limited")
    acknowledge(publish(days_ago=30), member)
    publish(days_ago=6)
    assert decide_cached(workflow.slug, member.email).mode == "live"
    assert decide_cached(workflow.slug, member.email).mode == "live"  # from the cache
    if not through_memo:
        from rollout.lib import local_memo

        local_memo.forget_all()  # the shared cache's entry must expire by itself too
    later = timezone.now() + timedelta(days=1, minutes=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    assert decide_cached(workflow.slug, member.email) == held_back("limited")
