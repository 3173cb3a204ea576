from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import User
from core.errors import ApplicationError
from rollout.models import (
    ActivityEntry,
    ChangeNotice,
    Cohort,
    CohortMember,
    Follow,
    NoticeStatus,
    Notification,
    Workflow,
)
from rollout.services import notices as svc
from rollout.services.blackouts import blackout_create, blackout_ends_label
from tests.factories import UserFactory, executive_user, make_workflow, ops_leader_user


@pytest.fixture
def member(db) -> User:
    return UserFactory(display_name="Mia Member")


@pytest.fixture
def cohort(workflow: Workflow, member: User) -> Cohort:
    cohort = Cohort.objects.create(workflow=workflow, name="EU agents", enrolled_phase="limited")
    CohortMember.objects.create(cohort=cohort, user=member)
    return cohort


@pytest.fixture
def second_ops(db) -> User:
    return ops_leader_user(email="ops2@example.com", display_name="Pat Ops")


def fields(lead_days: float = 6, **over) -> dict:
    publish = timezone.now() + timedelta(days=1)
    values = {
        "kind": "model_change",
        "title": "New model from Monday",
        "body": "We move to **gpt-6**.\n\n<script>alert(1)</script>",
        "publish_at": publish,
        "effective_at": publish + timedelta(days=lead_days),
        "requires_ack": True,
    }
    values.update(over)
    return values


def draft(workflow, actor, cohort, **over) -> ChangeNotice:
    return svc.notice_create(workflow=workflow, actor=actor, cohorts=[cohort], **fields(**over))


def refused(fn, **kwargs) -> ApplicationError:
    with pytest.raises(ApplicationError) as exc:
        fn(**kwargs)
    return exc.value


# --- create and edit -----------------------------------------------------------------------------


def test_create_is_a_draft_with_sanitised_html_and_an_activity_entry(
    workflow, workflow_owner, cohort
):
    notice = draft(workflow, workflow_owner, cohort)
    assert notice.status == NoticeStatus.DRAFT
    assert notice.created_by == workflow_owner
    assert list(notice.cohorts.all()) == [cohort]
    assert notice.body_html == "<p>We move to <strong>gpt-6</strong>.</p>"
    entry = ActivityEntry.objects.filter(workflow=workflow).latest("pk")
    assert (entry.verb, entry.target) == ("drafted", "notice “New model from Monday”")
    assert entry.changes == {"Audience": ["—", "EU agents + followers"]}


@pytest.mark.parametrize("who", ["executive", "stranger", "member"])
def test_only_owner_or_ops_leader_may_author(workflow, cohort, member, who):
    actor = {
        "executive": executive_user(),
        "stranger": UserFactory(),
        "member": member,
    }[who]
    error = refused(svc.notice_create, workflow=workflow, actor=actor, cohorts=[cohort], **fields())
    assert error.message == svc.MSG_NOT_ALLOWED
    assert not ChangeNotice.objects.exists()


def test_ops_leader_may_author(workflow, ops_leader, cohort):
    assert draft(workflow, ops_leader, cohort).created_by == ops_leader


def test_effective_before_publish_is_refused(workflow, workflow_owner, cohort):
    error = refused(
        svc.notice_create,
        workflow=workflow,
        actor=workflow_owner,
        cohorts=[cohort],
        **fields(lead_days=-1),
    )
    assert (error.message, error.field) == (svc.MSG_EFFECTIVE_BEFORE_PUBLISH, "effective_at")
    error = refused(
        svc.notice_create,
        workflow=workflow,
        actor=workflow_owner,
        cohorts=[cohort],
        **fields(lead_days=0),
    )
    assert error.message == svc.MSG_EFFECTIVE_BEFORE_PUBLISH


def test_foreign_cohorts_are_refused_by_name(workflow, workflow_owner, ops_leader, cohort):
    other = make_workflow(actor=ops_leader)
    foreign = Cohort.objects.create(workflow=other, name="Finance team")
    error = refused(
        svc.notice_create,
        workflow=workflow,
        actor=workflow_owner,
        cohorts=[cohort, foreign],
        **fields(),
    )
    assert error.message == svc.MSG_FOREIGN_COHORTS.format(names="“Finance team”")
    assert error.field == "cohorts"
    error = refused(
        svc.notice_create, workflow=workflow, actor=workflow_owner, cohorts=[999999], **fields()
    )
    assert error.message == svc.MSG_FOREIGN_COHORTS.format(names="some")


def test_no_audience_at_all_is_refused(workflow, workflow_owner):
    error = refused(
        svc.notice_create,
        workflow=workflow,
        actor=workflow_owner,
        **fields(include_followers=False),
    )
    assert (error.message, error.field) == (svc.MSG_NO_AUDIENCE, "cohorts")


def test_reminder_needs_acknowledgement(workflow, workflow_owner, cohort):
    error = refused(
        svc.notice_create,
        workflow=workflow,
        actor=workflow_owner,
        cohorts=[cohort],
        **fields(requires_ack=False, reminder_hours=24),
    )
    assert error.message == svc.MSG_REMINDER_NEEDS_ACK


def test_empty_audience_is_a_warning_not_an_error(workflow, workflow_owner, member):
    empty = Cohort.objects.create(workflow=workflow, name="Nobody yet")
    notice = svc.notice_create(workflow=workflow, actor=workflow_owner, cohorts=[empty], **fields())
    assert svc.notice_audience_warning(notice) == svc.MSG_AUDIENCE_EMPTY.format(
        why="the chosen cohorts have no members and nobody follows the workflow"
    )
    Follow.objects.create(workflow=workflow, user=member)
    assert svc.notice_audience_warning(notice) == ""
    everyone = svc.notice_create(
        workflow=workflow,
        actor=workflow_owner,
        **fields(audience="everyone", include_followers=False),
    )
    assert "no cohort of this workflow has members" in svc.notice_audience_warning(everyone)
    CohortMember.objects.create(cohort=empty, user=member)
    assert svc.notice_audience_warning(everyone) == ""


def test_update_a_draft_rerenders_and_logs_changes(workflow, workflow_owner, cohort):
    notice = draft(workflow, workflow_owner, cohort)
    notice = svc.notice_update(
        notice=notice, actor=workflow_owner, title="Model change", body="[x](javascript:alert(1))"
    )
    assert notice.title == "Model change"
    assert notice.body_html == '<p><a rel="noopener noreferrer">x</a></p>'
    entry = ActivityEntry.objects.filter(workflow=workflow).latest("pk")
    assert entry.verb == "edited"
    assert entry.changes == {
        "title": ["New model from Monday", "Model change"],
        "body (Markdown)": ["…", "rewritten"],
    }


def test_update_without_changes_writes_nothing(workflow, workflow_owner, cohort):
    notice = draft(workflow, workflow_owner, cohort)
    count = ActivityEntry.objects.count()
    svc.notice_update(notice=notice, actor=workflow_owner, title=notice.title)
    assert ActivityEntry.objects.count() == count


def test_editing_a_published_or_cancelled_notice_is_refused(workflow, workflow_owner, cohort):
    notice = draft(workflow, workflow_owner, cohort)
    ChangeNotice.objects.filter(pk=notice.pk).update(
        status=NoticeStatus.PUBLISHED, published_at=timezone.now()
    )
    error = refused(svc.notice_update, notice=notice, actor=workflow_owner, title="Later")
    assert error.message == svc.MSG_PUBLISHED
    assert refused(svc.notice_cancel, notice=notice, actor=workflow_owner).message == (
        svc.MSG_PUBLISHED
    )
    ChangeNotice.objects.filter(pk=notice.pk).update(status=NoticeStatus.CANCELLED)
    error = refused(svc.notice_update, notice=notice, actor=workflow_owner, title="Later")
    assert error.message == svc.MSG_CANCELLED
    assert ChangeNotice.objects.get(pk=notice.pk).title == "New model from Monday"


def test_editing_a_scheduled_notice_that_is_due_is_refused(workflow, workflow_owner, cohort):
    """The publisher is about to take it (or holds its lock): the edit must not slip in."""
    notice = svc.notice_schedule(
        notice=draft(workflow, workflow_owner, cohort), actor=workflow_owner
    )
    ChangeNotice.objects.filter(pk=notice.pk).update(publish_at=timezone.now())
    error = refused(svc.notice_update, notice=notice, actor=workflow_owner, title="Later")
    assert error.message == svc.MSG_BEING_PUBLISHED


def test_editing_a_scheduled_notice_checks_the_rules_again(workflow, workflow_owner, cohort):
    notice = svc.notice_schedule(
        notice=draft(workflow, workflow_owner, cohort), actor=workflow_owner
    )
    notice = svc.notice_update(notice=notice, actor=workflow_owner, body="Now with details.")
    assert notice.status == NoticeStatus.SCHEDULED
    short = notice.publish_at + timedelta(days=1)
    error = refused(svc.notice_update, notice=notice, actor=workflow_owner, effective_at=short)
    assert error.field == "urgent_reason"
    assert ChangeNotice.objects.get(pk=notice.pk).effective_at == notice.effective_at
    notice = svc.notice_update(
        notice=notice, actor=workflow_owner, effective_at=short, urgent_reason="Legal deadline."
    )
    assert (notice.status, notice.urgent) == (NoticeStatus.AWAITING_APPROVAL, True)
    entry = ActivityEntry.objects.filter(workflow=workflow).latest("pk")
    assert entry.changes["Status"] == ["Scheduled", "Waiting for approval (urgent)"]


# --- schedule: rule 5 (lead time) ----------------------------------------------------------------


def test_schedule_with_the_lead_time_exactly(workflow, workflow_owner, cohort):
    notice = draft(workflow, workflow_owner, cohort, lead_days=5)
    notice = svc.notice_schedule(notice=notice, actor=workflow_owner)
    assert (notice.status, notice.urgent) == (NoticeStatus.SCHEDULED, False)
    entry = ActivityEntry.objects.filter(workflow=workflow).latest("pk")
    assert entry.verb == "scheduled"
    assert entry.changes["Status"] == ["Draft", "Scheduled"]


def test_one_minute_short_of_the_lead_time_is_urgent(workflow, workflow_owner, cohort):
    notice = draft(workflow, workflow_owner, cohort, lead_days=5 - 1 / 1440)
    error = refused(svc.notice_schedule, notice=notice, actor=workflow_owner)
    assert error.message == svc.MSG_URGENT_REASON_REQUIRED.format(days=5)
    assert error.field == "urgent_reason"
    assert ChangeNotice.objects.get(pk=notice.pk).status == NoticeStatus.DRAFT


def test_the_workflows_own_lead_time_applies(workflow, workflow_owner, cohort):
    Workflow.objects.filter(pk=workflow.pk).update(lead_time_days=10)
    workflow.refresh_from_db()
    notice = draft(workflow, workflow_owner, cohort, lead_days=6)
    error = refused(svc.notice_schedule, notice=notice, actor=workflow_owner)
    assert error.message == svc.MSG_URGENT_REASON_REQUIRED.format(days=10)


def test_urgent_notice_waits_for_an_ops_leader(workflow, workflow_owner, ops_leader, cohort):
    notice = draft(workflow, workflow_owner, cohort, lead_days=1, urgent_reason="Security fix.")
    notice = svc.notice_schedule(notice=notice, actor=workflow_owner)
    assert (notice.status, notice.urgent) == (NoticeStatus.AWAITING_APPROVAL, True)
    assert Notification.objects.filter(recipient=ops_leader).count() == 1
    notice = svc.notice_approve_urgent(notice=notice, actor=ops_leader)
    assert (notice.status, notice.urgent) == (NoticeStatus.SCHEDULED, True)
    assert (notice.approved_by, notice.approved_at is not None) == (ops_leader, True)
    entry = ActivityEntry.objects.filter(workflow=workflow).latest("pk")
    assert (entry.verb, entry.note) == ("approved urgent", "Security fix.")


def test_approval_is_for_ops_leaders_only(workflow, workflow_owner, cohort):
    notice = draft(workflow, workflow_owner, cohort, lead_days=1, urgent_reason="Fix.")
    notice = svc.notice_schedule(notice=notice, actor=workflow_owner)
    for actor in (workflow_owner, executive_user()):
        error = refused(svc.notice_approve_urgent, notice=notice, actor=actor)
        assert error.message == svc.MSG_APPROVE_OPS_ONLY


def test_an_ops_leader_cannot_approve_their_own_urgent_notice(
    workflow, ops_leader, second_ops, cohort
):
    notice = draft(workflow, ops_leader, cohort, lead_days=1, urgent_reason="Fix.")
    notice = svc.notice_schedule(notice=notice, actor=ops_leader)
    # The author is not asked to approve their own notice; the other ops leader is.
    assert not Notification.objects.filter(recipient=ops_leader).exists()
    assert Notification.objects.filter(recipient=second_ops).exists()
    error = refused(svc.notice_approve_urgent, notice=notice, actor=ops_leader)
    assert error.message == svc.MSG_OWN_NOTICE
    assert svc.notice_approve_urgent(notice=notice, actor=second_ops).status == "scheduled"


def test_approving_a_notice_not_waiting_is_refused(workflow, workflow_owner, ops_leader, cohort):
    notice = draft(workflow, workflow_owner, cohort)
    error = refused(svc.notice_approve_urgent, notice=notice, actor=ops_leader)
    assert error.message == svc.MSG_NOT_AWAITING


def test_editing_an_approved_urgent_notice_needs_approval_again(
    workflow, workflow_owner, ops_leader, cohort
):
    notice = draft(workflow, workflow_owner, cohort, lead_days=1, urgent_reason="Fix.")
    notice = svc.notice_schedule(notice=notice, actor=workflow_owner)
    notice = svc.notice_approve_urgent(notice=notice, actor=ops_leader)
    notice = svc.notice_update(notice=notice, actor=workflow_owner, body="Changed text.")
    assert notice.status == NoticeStatus.AWAITING_APPROVAL
    assert notice.approved_by is None


def test_publish_in_the_past_is_refused(workflow, workflow_owner, cohort):
    notice = draft(
        workflow,
        workflow_owner,
        cohort,
        publish_at=timezone.now() - timedelta(hours=1),
        effective_at=timezone.now() + timedelta(days=9),
    )
    error = refused(svc.notice_schedule, notice=notice, actor=workflow_owner)
    assert (error.message, error.field) == (svc.MSG_PUBLISH_IN_PAST, "publish_at")


def test_only_a_draft_is_scheduled(workflow, workflow_owner, cohort):
    notice = svc.notice_schedule(
        notice=draft(workflow, workflow_owner, cohort), actor=workflow_owner
    )
    error = refused(svc.notice_schedule, notice=notice, actor=workflow_owner)
    assert error.message == svc.MSG_NOT_DRAFT.format(status="scheduled")


def test_create_scheduled_saves_nothing_when_refused(workflow, workflow_owner, cohort):
    with pytest.raises(ApplicationError):
        svc.notice_create_scheduled(
            workflow=workflow, actor=workflow_owner, cohorts=[cohort], **fields(lead_days=1)
        )
    assert not ChangeNotice.objects.exists()
    notice = svc.notice_create_scheduled(
        workflow=workflow, actor=workflow_owner, cohorts=[cohort], **fields()
    )
    assert notice.status == NoticeStatus.SCHEDULED


# --- publish now ---------------------------------------------------------------------------------


def test_publish_now_with_enough_lead_time(workflow, workflow_owner, cohort):
    notice = draft(workflow, workflow_owner, cohort)
    Workflow.objects.filter(pk=workflow.pk).update(lead_time_days=2)
    notice = svc.notice_publish_now(notice=notice, actor=workflow_owner)
    assert notice.status == NoticeStatus.SCHEDULED
    assert notice.publish_at <= timezone.now()


def test_publish_now_too_close_to_effective_is_urgent(workflow, workflow_owner, cohort):
    soon = timezone.now() + timedelta(days=2)
    notice = draft(
        workflow,
        workflow_owner,
        cohort,
        publish_at=timezone.now() + timedelta(hours=1),
        effective_at=soon,
    )
    error = refused(svc.notice_publish_now, notice=notice, actor=workflow_owner)
    assert error.field == "urgent_reason"
    svc.notice_update(notice=notice, actor=workflow_owner, urgent_reason="Outage fix.")
    notice = svc.notice_publish_now(notice=notice, actor=workflow_owner)
    assert (notice.status, notice.urgent) == (NoticeStatus.AWAITING_APPROVAL, True)


# --- rule 10: blackout windows -------------------------------------------------------------------


def test_effective_inside_a_blackout_is_refused_naming_the_window(
    workflow, workflow_owner, ops_leader, cohort
):
    notice = draft(workflow, workflow_owner, cohort)
    window = blackout_create(
        actor=ops_leader,
        name="Year-end freeze",
        starts_at=notice.effective_at - timedelta(hours=1),
        ends_at=notice.effective_at + timedelta(days=2),
    )
    error = refused(svc.notice_schedule, notice=notice, actor=workflow_owner)
    assert error.message == svc.MSG_EFFECTIVE_IN_BLACKOUT.format(
        name="Year-end freeze", ends=blackout_ends_label(window)
    )
    assert error.field == "effective_at"
    assert "Year-end freeze" in error.message and blackout_ends_label(window) in error.message


def test_publish_inside_a_workflow_blackout_is_refused(workflow, workflow_owner, cohort):
    notice = draft(workflow, workflow_owner, cohort)
    window = blackout_create(
        workflow=workflow,
        actor=workflow_owner,
        name="Support peak",
        starts_at=notice.publish_at - timedelta(hours=1),
        ends_at=notice.publish_at + timedelta(hours=2),
    )
    error = refused(svc.notice_schedule, notice=notice, actor=workflow_owner)
    assert error.message == svc.MSG_PUBLISH_IN_BLACKOUT.format(
        name="Support peak", ends=blackout_ends_label(window)
    )


def test_a_blackout_added_before_approval_stops_it(workflow, workflow_owner, ops_leader, cohort):
    notice = draft(workflow, workflow_owner, cohort, lead_days=1, urgent_reason="Fix.")
    notice = svc.notice_schedule(notice=notice, actor=workflow_owner)
    blackout_create(
        actor=ops_leader,
        name="Freeze",
        starts_at=notice.effective_at - timedelta(hours=1),
        ends_at=notice.effective_at + timedelta(hours=1),
    )
    error = refused(
        svc.notice_approve_urgent, notice=notice, actor=UserFactory(roles=["Ops leaders"])
    )
    assert error.field == "effective_at"


# --- cancel --------------------------------------------------------------------------------------


@pytest.mark.parametrize("scheduled", [False, True])
def test_cancel_before_publishing(workflow, workflow_owner, cohort, scheduled):
    notice = draft(workflow, workflow_owner, cohort)
    if scheduled:
        notice = svc.notice_schedule(notice=notice, actor=workflow_owner)
    notice = svc.notice_cancel(notice=notice, actor=workflow_owner)
    assert notice.status == NoticeStatus.CANCELLED
    entry = ActivityEntry.objects.filter(workflow=workflow).latest("pk")
    assert entry.verb == "cancelled"
    error = refused(svc.notice_cancel, notice=notice, actor=workflow_owner)
    assert error.message == svc.MSG_CANCELLED


def test_cancel_by_someone_else_is_refused(workflow, workflow_owner, cohort):
    notice = draft(workflow, workflow_owner, cohort)
    error = refused(svc.notice_cancel, notice=notice, actor=executive_user())
    assert error.message == svc.MSG_NOT_ALLOWED
