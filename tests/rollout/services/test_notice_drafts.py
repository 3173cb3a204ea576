"""Notices the product drafts: on a promotion that enrols cohorts, on closing an incident, and on a
model change mid-phase (rule 9)."""

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from accounts.models import User
from rollout.models import ChangeNotice, NoticeAudience, NoticeKind, NoticeStatus, Phase
from rollout.selectors.notices import notice_is_short
from rollout.services import notices as svc
from rollout.services.promotions import promotion_cancel, promotion_request
from rollout.services.workflows import workflow_update
from tests.factories import UserFactory
from tests.rollout.promotion_fixtures import make_cohort, make_plan


@pytest.fixture
def member(db) -> User:
    return UserFactory(display_name="Mia Member")


def test_a_promotion_that_enrols_cohorts_drafts_a_notice_to_them(workflow, workflow_owner, member):
    phases = make_plan(workflow, current="shadow")
    Phase.objects.filter(pk=phases["limited"].pk).update(
        planned_start=timezone.localdate() + timedelta(days=30)
    )
    cohort = make_cohort(workflow, "limited", member)
    make_cohort(workflow, "broad", member)  # not enrolled by this promotion

    promotion_request(workflow=workflow, actor=workflow_owner)

    notice = ChangeNotice.objects.get()
    assert notice.kind == NoticeKind.COHORT_ENROLMENT
    assert notice.status == NoticeStatus.DRAFT
    assert list(notice.cohorts.all()) == [cohort]
    assert notice.created_by == workflow_owner
    start = timezone.make_aware(
        datetime.combine(timezone.localdate() + timedelta(days=30), time(9, 0))
    )
    assert notice.effective_at == start
    assert notice.publish_at == start - timedelta(days=workflow.lead_time_days)
    assert "Limited pilots" in notice.body and notice.body_html.startswith("<p>You are in")


def test_a_scheduled_promotion_sets_the_effective_time(workflow, workflow_owner, member):
    make_plan(workflow, current="shadow")
    make_cohort(workflow, "limited", member)
    run_at = timezone.now() + timedelta(days=12)
    promotion_request(workflow=workflow, actor=workflow_owner, scheduled_for=run_at)
    notice = ChangeNotice.objects.get()
    assert notice.effective_at == run_at
    assert not notice_is_short(notice)


def test_no_second_draft_when_one_exists(workflow, workflow_owner, member):
    make_plan(workflow, current="shadow")
    make_cohort(workflow, "limited", member)
    request = promotion_request(workflow=workflow, actor=workflow_owner)
    promotion_cancel(request=request, actor=workflow_owner)
    promotion_request(workflow=workflow, actor=workflow_owner)
    assert ChangeNotice.objects.count() == 1


def test_a_notice_to_everyone_already_reaches_them(workflow, workflow_owner, member):
    make_plan(workflow, current="shadow")
    make_cohort(workflow, "limited", member)
    now = timezone.now()
    svc.notice_create(
        workflow=workflow,
        actor=workflow_owner,
        kind="new_phase",
        title="Limited roll-out",
        body="Soon.",
        audience=NoticeAudience.EVERYONE,
        publish_at=now + timedelta(days=1),
        effective_at=now + timedelta(days=7),
    )
    promotion_request(workflow=workflow, actor=workflow_owner)
    assert ChangeNotice.objects.count() == 1


def test_no_draft_into_shadow(workflow, workflow_owner, member):
    make_plan(workflow, current="audit")
    make_cohort(workflow, "limited", member)
    promotion_request(workflow=workflow, actor=workflow_owner)
    assert not ChangeNotice.objects.exists()


def test_a_model_change_mid_phase_drafts_a_notice_to_everyone(workflow, workflow_owner):
    make_plan(workflow, current="limited")
    workflow_update(workflow=workflow, actor=workflow_owner, model_version="2026-12")
    notice = ChangeNotice.objects.get()
    assert notice.kind == NoticeKind.MODEL_CHANGE
    assert notice.audience == NoticeAudience.EVERYONE
    assert notice.title == "Now using OpenAI · gpt-5 · 2026-12"  # the subject adds nothing
    assert "limited roll-out" in notice.body


def test_no_model_change_notice_without_a_phase_in_progress(workflow, workflow_owner):
    workflow_update(workflow=workflow, actor=workflow_owner, model_version="2026-12")
    workflow_update(workflow=workflow, actor=workflow_owner, summary="Other words.")
    assert not ChangeNotice.objects.exists()
