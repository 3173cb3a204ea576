"""Briefing coverage (for the cohorts page, the briefing page and the readiness observation) and
the first version's prefilled texts."""

import pytest

from accounts.models import User
from rollout.models import Workflow
from rollout.selectors.briefings import (
    briefing_counting,
    briefing_coverage,
    briefing_coverage_by_cohort,
    briefing_draft_initial,
)
from rollout.services import cohorts as cohort_svc
from rollout.services.briefings import BriefingText, briefing_acknowledge, briefing_publish
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

TEXT = BriefingText("Drafts replies.", "- A wrong refund amount.", "", "1. Do not send it.")


@pytest.fixture
def cohorts(workflow, ops_leader):
    """Limited (Ann, Ben, Cid, Dee deactivated), broad (Ann, Eve), not enrolled (Fay)."""
    people = {n: UserFactory(display_name=n) for n in ("Ann", "Ben", "Cid", "Dee", "Eve", "Fay")}
    made = {}
    for name, phase, names in (
        ("Limited", "limited", ["Ann", "Ben", "Cid", "Dee"]),
        ("Broad", "broad", ["Ann", "Eve"]),
        ("Later", "", ["Fay"]),
    ):
        cohort = cohort_svc.cohort_create(workflow=workflow, name=name, actor=ops_leader)
        cohort_svc.cohort_members_add(
            cohort=cohort, users=[people[n] for n in names], actor=ops_leader
        )
        if phase:
            cohort_svc.cohort_enrol(cohort=cohort, phase=phase, percentage=100, actor=ops_leader)
        made[name] = cohort
    User.objects.filter(pk=people["Dee"].pk).update(is_active=False)
    return people


def publish(workflow, owner, material=True):
    note = "Changed." if workflow.briefings.exists() else ""
    return briefing_publish(
        workflow=workflow, actor=owner, text=TEXT, material=material, change_note=note
    )


def rows(coverage):
    return [
        (
            c.cohort.name,
            c.members,
            c.acknowledged,
            c.percent,
            [str(u) for u in c.not_acknowledged],
        )
        for c in coverage.cohorts
    ]


def test_before_any_briefing_coverage_is_zero(workflow, cohorts):
    coverage = briefing_coverage(workflow, "limited")
    assert coverage.version is None
    assert (coverage.members, coverage.acknowledged, coverage.percent) == (3, 0, 0)
    assert coverage.meets_target is False
    assert rows(coverage) == [("Limited", 3, 0, 0, ["Ann", "Ben", "Cid"])]
    assert coverage.summary == (
        "No failure-mode briefing is published: 0 of 3 members (0%) acknowledged; "
        "the target is 90%."
    )
    assert briefing_coverage(workflow, "audit").summary == (
        "No cohort members in that phase yet: nobody to brief."
    )


def test_coverage_per_cohort_of_the_phase(workflow, workflow_owner, cohorts):
    briefing = publish(workflow, workflow_owner)
    for name in ("Ann", "Ben"):
        briefing_acknowledge(briefing=briefing, user=cohorts[name])
    limited = briefing_coverage(workflow, "limited")
    assert rows(limited) == [("Limited", 3, 2, 66, ["Cid"])]
    assert (limited.members, limited.acknowledged, limited.percent) == (3, 2, 66)
    assert limited.summary == (
        "2 of 3 members of the cohorts live in that phase (66%) acknowledged briefing "
        "version 1; the target is 90%."
    )
    # Broad: the limited cohort stays live; Ann is in both and counts once overall.
    broad = briefing_coverage(workflow, "broad")
    assert rows(broad) == [("Broad", 2, 1, 50, ["Eve"]), ("Limited", 3, 2, 66, ["Cid"])]
    assert (broad.members, broad.acknowledged, broad.percent) == (4, 2, 50)
    assert briefing_coverage(workflow, "shadow").cohorts == []
    assert briefing_coverage(workflow, "shadow").percent is None


def test_the_target(workflow, workflow_owner, cohorts):
    briefing = publish(workflow, workflow_owner)
    for name in ("Ann", "Ben", "Cid"):
        briefing_acknowledge(briefing=briefing, user=cohorts[name])
    assert briefing_coverage(workflow, "limited").meets_target is True
    Workflow.objects.filter(pk=workflow.pk).update(briefing_coverage_target=100)
    workflow.refresh_from_db()
    assert briefing_coverage(workflow, "broad").meets_target is False  # Eve has not
    assert briefing_coverage(workflow, "limited").meets_target is True  # exactly 100 %


def test_a_minor_version_keeps_coverage_and_a_material_one_resets_it(
    workflow, workflow_owner, cohorts
):
    briefing = publish(workflow, workflow_owner)
    briefing_acknowledge(briefing=briefing, user=cohorts["Ann"])
    minor = publish(workflow, workflow_owner, material=False)
    assert briefing_counting(workflow).pk == briefing.pk
    assert briefing_coverage(workflow, "limited").acknowledged == 1
    briefing_acknowledge(briefing=minor, user=cohorts["Ben"])  # a later version counts too
    assert briefing_coverage(workflow, "limited").acknowledged == 2
    publish(workflow, workflow_owner, material=True)
    assert briefing_coverage(workflow, "limited").acknowledged == 0


def test_by_cohort_includes_every_cohort(workflow, cohorts):
    assert [c.cohort.name for c in briefing_coverage_by_cohort(workflow).cohorts] == [
        "Broad",
        "Later",
        "Limited",
    ]


def test_coverage_queries_are_bounded(workflow, workflow_owner, cohorts, django_assert_num_queries):
    publish(workflow, workflow_owner)
    with django_assert_num_queries(3):
        briefing_coverage(workflow, "broad")


def test_the_first_draft_comes_from_the_thresholds_and_the_escalation_path(workflow, ops_leader):
    workflow.thresholds.create(
        metric="error_rate",
        comparator="lte",
        limit=0.02,
        bad_output="A wrong refund.",
        action="alert",
    )
    workflow.escalation_levels.create(
        position=1, contact=ops_leader, channel="email", response_target_minutes=30
    )
    initial = briefing_draft_initial(workflow)
    assert initial["bad_output"] == "- A wrong refund."
    assert "/feedback/new/?workflow=support-reply-drafting" in initial["what_to_do"]
    assert f"{ops_leader} (email, answers within 30 min)" in initial["what_to_do"]


def test_a_later_draft_starts_from_the_current_version(workflow, workflow_owner):
    publish(workflow, workflow_owner)
    assert briefing_draft_initial(workflow)["what_it_does"] == "Drafts replies."
