from datetime import timedelta

import pytest
from django.utils import formats, timezone

from accounts.models import User
from rollout.gates import gate_for, registered_conditions
from rollout.gates.notices import HOW_NONE, HOW_SCHEDULED, MSG_LACKING
from rollout.models import ChangeNotice, Verdict, Workflow
from tests.factories import UserFactory
from tests.rollout.promotion_fixtures import make_cohort, make_notice_published, make_plan


@pytest.fixture
def member(db) -> User:
    return UserFactory(display_name="Mia Member")


def check(workflow: Workflow, from_kind: str, to_kind: str, now=None):
    phases = {p.kind: p for p in workflow.phases.all()}
    gate = gate_for(from_phase=phases[from_kind], to_phase=phases[to_kind], now=now)
    key = "notice_published" if to_kind == "limited" else "notice_published_broad"
    return next(c for c in gate.checks if c.key == key)


def label(at) -> str:
    return formats.date_format(timezone.localtime(at), "j M Y, H:i T")


def test_registered_into_limited_and_broad():
    assert ("notice_published", "Change notice published in time") in registered_conditions(
        "limited"
    )
    assert ("notice_published_broad", "Change notice published in time") in (
        registered_conditions("broad")
    )


def test_no_enrolled_cohort_needs_no_notice(workflow):
    make_plan(workflow, current="shadow")
    result = check(workflow, "shadow", "limited")
    assert result.status == Verdict.PASS
    assert (
        result.reason
        == "No cohort is enrolled at the limited roll-out, so nobody needs a notice yet."
    )


def test_no_notice_fails_naming_the_cohort_and_the_earliest_date(workflow, member):
    make_plan(workflow, current="shadow")
    make_cohort(workflow, "limited", member)
    now = timezone.now()
    result = check(workflow, "shadow", "limited", now=now)
    assert result.status == Verdict.FAIL
    assert result.reason == MSG_LACKING.format(
        days=5, names="“Limited pilots”", earliest=label(now + timedelta(days=5)), how=HOW_NONE
    )
    assert result.inputs == ""


def test_lead_time_edges(workflow, member):
    make_plan(workflow, current="shadow")
    cohort = make_cohort(workflow, "limited", member)
    notice = make_notice_published(workflow, cohorts=[cohort], days_ago=5)
    published = notice.published_at
    exactly = check(workflow, "shadow", "limited", now=published + timedelta(days=5))
    assert exactly.status == Verdict.PASS
    assert exactly.reason == "Notices published in time for “Limited pilots”."
    early = check(
        workflow, "shadow", "limited", now=published + timedelta(days=5) - timedelta(minutes=1)
    )
    assert early.status == Verdict.FAIL
    assert early.reason == MSG_LACKING.format(
        days=5,
        names="“Limited pilots”",
        earliest=label(published + timedelta(days=5)),
        how=HOW_SCHEDULED,
    )
    # The clock is not an input: the approval lapses when notices change, not as time passes.
    assert exactly.inputs == early.inputs == f"{notice.pk}|published"


def test_a_scheduled_notice_gives_its_date(workflow, member, workflow_owner):
    make_plan(workflow, current="shadow")
    cohort = make_cohort(workflow, "limited", member)
    now = timezone.now()
    publish = now + timedelta(days=2)
    ChangeNotice.objects.create(
        workflow=workflow,
        kind="new_phase",
        title="Soon",
        body="Soon",
        publish_at=publish,
        effective_at=publish + timedelta(days=5),
        status="scheduled",
    ).cohorts.set([cohort])
    result = check(workflow, "shadow", "limited", now=now)
    assert result.reason.endswith(f"{label(publish + timedelta(days=5))}{HOW_SCHEDULED}.")


def test_a_notice_to_everyone_counts_and_one_to_another_cohort_does_not(workflow, member):
    make_plan(workflow, current="shadow")
    make_cohort(workflow, "limited", member)
    other = make_cohort(workflow, "broad", member)
    make_notice_published(workflow, cohorts=[other])
    assert check(workflow, "shadow", "limited").status == Verdict.FAIL
    make_notice_published(workflow)
    assert check(workflow, "shadow", "limited").status == Verdict.PASS


def test_drafts_and_cancelled_notices_do_not_count_or_change_inputs(workflow, member):
    make_plan(workflow, current="shadow")
    make_cohort(workflow, "limited", member)
    before = check(workflow, "shadow", "limited")
    notice = make_notice_published(workflow)
    ChangeNotice.objects.filter(pk=notice.pk).update(status="draft", published_at=None)
    after = check(workflow, "shadow", "limited")
    assert (after.status, after.inputs) == (Verdict.FAIL, before.inputs)


def test_an_approved_urgent_notice_counts_once_effective(workflow, member, ops_leader):
    make_plan(workflow, current="shadow")
    make_cohort(workflow, "limited", member)
    notice = make_notice_published(workflow, days_ago=2)
    ChangeNotice.objects.filter(pk=notice.pk).update(
        urgent=True,
        approved_by=ops_leader,
        approved_at=notice.published_at,
        effective_at=notice.published_at + timedelta(days=1),
    )
    assert check(workflow, "shadow", "limited").status == Verdict.PASS


def test_into_broad_judges_the_cohorts_newly_enrolled_at_broad(workflow, member):
    make_plan(workflow, current="limited", days_running=30)
    limited = make_cohort(workflow, "limited", member)
    broad = make_cohort(workflow, "broad", member)
    make_notice_published(workflow, cohorts=[limited])
    result = check(workflow, "limited", "broad")
    assert result.status == Verdict.FAIL
    assert "“Broad pilots”" in result.reason and "Limited" not in result.reason
    make_notice_published(workflow, cohorts=[broad])
    assert check(workflow, "limited", "broad").status == Verdict.PASS
